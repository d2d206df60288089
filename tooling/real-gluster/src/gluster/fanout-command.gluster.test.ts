/**
 * The `fanout` command on GlusterFS, end to end: on a replica volume messages enqueued on both clients are fanned out
 * and consumed through the other client's mount, each once per destination; on a distribute volume `fanout init`
 * refuses, saying why.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freshDir, gl } from './env.js';

const FANOUT = fileURLToPath(new URL('../../../../apps/cli/bin/fanout.cjs', import.meta.url));
const run = promisify(execFile);

/** Run `fanout args…` (stdin `input` if given); resolves with its exit status and output, never rejects. */
async function fanout(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(process.execPath, [FANOUT, ...args], { timeout: 60_000 });
  if (input !== undefined) child.child.stdin?.end(input);
  return child.then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }),
  );
}

describe(`the fanout command on a GlusterFS ${gl.type} volume`, () => {
  // Each volume type gets the test that applies to it (a plain if: the other is not a skipped test but absent).
  if (gl.type === 'replica')
    it('enqueue on both clients, run on each, consume through the other mount: every message once per destination', async () => {
      const dir = await freshDir('cli');
      const [inA, inB] = [`nfs://${dir.a}/in`, `nfs://${dir.b}/in`];
      const out = (m: string, d: string) => `nfs://${m}/${d}`;
      expect((await fanout(['init', inA, out(dir.a, 'out1'), out(dir.a, 'out2')])).code).toBe(0);
      for (let i = 0; i < 4; i++) {
        expect((await fanout(['enqueue', inA, '-'], `a ${i}\n`)).code).toBe(0);
        expect((await fanout(['enqueue', inB, '-'], `b ${i}\n`)).code).toBe(0);
      }
      for (const [source, m] of [
        [inA, dir.a],
        [inB, dir.b],
      ] as const) {
        const r = await fanout(['run', '--from', source, '--to', out(m, 'out1'), '--to', out(m, 'out2')]);
        expect(r.code, r.stderr).toBe(0);
      }
      const got = join(dir.a, '..', `got-${dir.rel}`);
      for (const [m, d] of [
        [dir.b, 'out1'],
        [dir.a, 'out2'],
      ] as const) {
        const r = await fanout(['consume', out(m, d), '--exec', `cat >> ${got}-${d}`]);
        expect(r.code, r.stderr).toBe(0);
      }
      const expected = ['a 0', 'a 1', 'a 2', 'a 3', 'b 0', 'b 1', 'b 2', 'b 3'];
      for (const d of ['out1', 'out2']) {
        expect((await readFile(`${got}-${d}`, 'utf8')).trim().split('\n').sort()).toEqual(expected);
      }
    });

  if (gl.type === 'distribute')
    it('fanout init refuses, naming the volume and why (ENOTSUP)', async () => {
      const dir = await freshDir('cli-refused');
      const r = await fanout(['init', `nfs://${dir.a}/in`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/is distributed over \d+ subvolumes: there link\(\) is not exclusive.*\(ENOTSUP\)/);
    });
});
