import { FanoutError } from '../errors/fanout-error.js';

/**
 * Throw `EUSAGE` unless `name` is a plain file name: non-empty, at most 255
 * bytes, no `/`, `\`, NUL, and not `.` or `..`. Every backend calls this before
 * touching storage, so a crafted name can never escape its spool.
 *
 * @example
 * ```ts
 * import { assertPlainName } from '@fanout/core';
 *
 * // In a backend, before a name becomes a path or URL.
 * assertPlainName('s01J9Z', location); // fine
 * assertPlainName('../passwd', location); // throws EBADENTRY
 * ```
 */
export function assertPlainName(name: string, spool?: string): void {
  if (
    typeof name !== 'string' ||
    name === '' ||
    name === '.' ||
    name === '..' ||
    /[/\\\0]/.test(name) ||
    Buffer.byteLength(name) > 255
  ) {
    throw new FanoutError('EUSAGE', `not a plain file name: ${JSON.stringify(name)}`, { spool, file: String(name) });
  }
}
