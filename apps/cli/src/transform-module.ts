/**
 * `--transform <module>`: a JavaScript module whose default export is a
 * `TransformFactory` — `({ id, destination }) => Transform | undefined`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FanoutError, type TransformFactory } from '@fanout/core';

/**
 * Import the module (a path, relative to the working directory) and return its
 * default export.
 * @throws `EUSAGE` when it cannot be imported or its default export is not a function.
 */
export async function loadTransform(path: string): Promise<TransformFactory> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (cause) {
    throw new FanoutError(
      'EUSAGE',
      `cannot load transform module: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`,
      { file: path, cause },
    );
  }
  if (typeof mod.default !== 'function') {
    throw new FanoutError(
      'EUSAGE',
      'transform module must export a function ({ id, destination }) => Transform | undefined as default',
      { file: path },
    );
  }
  return mod.default as TransformFactory;
}
