/**
 * The `fanout` entry point sizes libuv's thread pool (16 unless
 * UV_THREADPOOL_SIZE says otherwise) before the pool starts: fsyncs hold a
 * pool thread each, and the default 4 caps them in flight (docs/BENCHMARKS.md).
 */
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fanout, spawnFanout, tempDir } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** Threads of a `fanout run --watch` once it has done file work, with one message to fan out. */
async function threadsOfWatchingRun(env: NodeJS.ProcessEnv): Promise<number> {
  await fanout(['enqueue', 'S', '-'], { cwd: dir, input: 'x' });
  const { child, done } = spawnFanout(['run', '--from', 'S', '--to', 'A', '--watch', '--interval', '50', '--json'], {
    cwd: dir,
    env,
  });
  let out = '';
  child.stdout!.on('data', (s: string) => (out += s));
  try {
    const deadline = Date.now() + 20_000;
    // The message's first event: by then the pool has run recovery's listing and the claim.
    while (!out.includes('\n')) {
      if (Date.now() > deadline) throw new Error(`no output from fanout run --watch: ${out}`);
      await sleep(20);
    }
    return (await readdir(`/proc/${child.pid}/task`)).length;
  } finally {
    child.kill('SIGTERM');
    await done;
  }
}

describe.runIf(process.platform === 'linux')('thread pool of the fanout command', () => {
  it('has 12 more threads than with UV_THREADPOOL_SIZE=4, and obeys an explicit size', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const four = await threadsOfWatchingRun({ UV_THREADPOOL_SIZE: '4' });
    const byDefault = await threadsOfWatchingRun({ UV_THREADPOOL_SIZE: undefined });
    const six = await threadsOfWatchingRun({ UV_THREADPOOL_SIZE: '6' });
    expect(byDefault - four).toBe(12);
    expect(six - four).toBe(2);
  });
});
