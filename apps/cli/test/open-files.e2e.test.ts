/**
 * `fanout run` under a small open-file limit (`ulimit -n 64`, as a service
 * manager's `LimitNOFILE=64` would set it): no message fails for want of a file
 * descriptor. Defect fixed (issue 19): with `--batch 128 --concurrency 16`, 61
 * of 400 messages failed with "open failed: EMFILE: too many open files …
 * (EIO)", reported as a storage error; with `--batch 8` (many attempts copying
 * at once) and opens merely queued, every descriptor ended up held by a copy
 * waiting to open its source: 8 minutes, 135 failed with EMFILE.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, type CliResult, delivered, fanout, lines, names, tempDir } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** Run the built `fanout` with `args` in `dir` after `ulimit -n <limit>`, the way a shell or unit file would. */
function fanoutUnderLimit(limit: number, args: readonly string[]): Promise<CliResult> {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('bash', ['-c', `ulimit -n ${limit} && exec "$0" "$1" ${quoted}`, process.execPath, BIN], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Enqueue `count` small messages into `S` (in one command, without the limit); their ids. */
async function enqueueMany(count: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `in-${i}.txt`);
    await writeFile(file, `message ${i}\n`);
    files.push(file);
  }
  const r = await fanout(['enqueue', 'S', ...files], { cwd: dir });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return lines(r.stdout);
}

describe.runIf(process.platform === 'linux')('fanout run under ulimit -n 64', () => {
  it.each([['128'], ['8']])(
    'delivers all 400 messages to 3 spools with --batch %s --concurrency 16, exit 0, nothing left in S',
    async (batch) => {
      await fanout(['init', 'S', 'A', 'B', 'C'], { cwd: dir });
      const ids = await enqueueMany(400);
      expect(ids).toHaveLength(400);

      const r = await fanoutUnderLimit(64, [
        'run',
        '--from',
        'S',
        '--to',
        'A',
        '--to',
        'B',
        '--to',
        'C',
        '--batch',
        batch,
        '--concurrency',
        '16',
      ]);

      expect(r.stderr).not.toMatch(/EMFILE|too many open files/i);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/400 messages fanned out to 3 spools, 0 failed/);
      expect(await names(join(dir, 'S'))).toEqual([]);
      for (const d of ['A', 'B', 'C']) {
        const got = await delivered(join(dir, d));
        expect([...got.keys()].sort()).toEqual([...ids].sort());
        expect(got.get(ids[7]!)).toBe('message 7\n');
      }
    },
    180_000,
  );
});
