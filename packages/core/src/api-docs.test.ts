import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

// `pnpm docs` as CI runs it: typedoc.json treats warnings as errors (an export whose
// types name something the public entry does not export, a dead {@link}, a malformed @example).
it('generates the API docs of the public entries without a warning', async () => {
  const out = mkdtempSync(join(tmpdir(), 'fanout-typedoc-'));
  try {
    const typedoc = join(dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin', 'typedoc');
    const run = await promisify(execFile)(process.execPath, [typedoc, '--out', out], { cwd: PACKAGE_DIR }).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
    );
    expect(run.output).not.toMatch(/\[warning\]|\[error\]/);
    expect(run.code).toBe(0);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 180_000);
