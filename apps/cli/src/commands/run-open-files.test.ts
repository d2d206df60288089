/**
 * `fanout run` when a copy fails for want of a file descriptor (EMFILE that
 * escaped fs-posix's wait): exit status 6 and a one-line "too many open
 * files" naming the file; under `--watch` the message is not failed, it stays
 * in the source and a later pass delivers it (defect of issue 19: counted as
 * failed, status 1).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { enqueue, FanoutError, initSpool, overrideBackend, type SpoolBackend } from '@fanout/core';
import { PosixBackend } from '@fanout/fs-posix';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliContext } from '../cli-context.js';
import { runCommand } from './run.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-run-emfile-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

/** A context whose spool `A` refuses its first `failures` staged copies with EMFILE, as fs-posix reports one. */
class OutOfFilesContext extends CliContext {
  failures: number;
  constructor(failures: number, stderr: PassThrough) {
    super({ stdin: Readable.from([]), stdout: new PassThrough(), stderr, env: {} }, false, undefined);
    this.failures = failures;
  }

  override async open(ref: string): Promise<SpoolBackend> {
    const real = await super.open(ref);
    if (!ref.endsWith('/A')) return real;
    return overrideBackend(real, {
      createExclusive: async (name, content, options) => {
        if (name.startsWith('w') && this.failures > 0) {
          this.failures--;
          throw new FanoutError('EMFILE', `open failed: EMFILE: too many open files, open '${ref}/${name}'`, {
            spool: real.location,
            file: name,
          });
        }
        return real.createExclusive(name, content, options);
      },
    });
  }
}

async function spoolsWith(messages: number): Promise<string[]> {
  const ids: string[] = [];
  for (const s of ['S', 'A', 'B']) await initSpool(new PosixBackend({ root: join(dir, s) }));
  const source = new PosixBackend({ root: join(dir, 'S') });
  for (let i = 0; i < messages; i++) ids.push(await enqueue(source, Buffer.from(`m${i}`)));
  return ids;
}

const waiting = async () => (await readdir(join(dir, 'S'))).filter((n) => n.startsWith('s'));
const delivered = async (s: string) => (await readdir(join(dir, s))).filter((n) => n.startsWith('d'));

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.setEncoding('utf8').on('data', (s: string) => (text += s));
  return () => text;
}

describe('a message that failed with too many open files', () => {
  it('makes fanout run exit 6 with a one-line error naming the file; the message stays in the source', async () => {
    await spoolsWith(3);
    const stderr = new PassThrough();
    const text = collect(stderr);
    const status = await runCommand.handler(new OutOfFilesContext(1, stderr), {
      from: join(dir, 'S'),
      to: [join(dir, 'A'), join(dir, 'B')],
      batch: 1,
    });
    expect(status).toBe(6);
    const line = text()
      .split('\n')
      .find((l) => l.includes('EMFILE'))!;
    expect(line).toMatch(
      new RegExp(
        `^fanout: ${dir}/A: w[0-9A-Z]+\\.[0-9A-Z]+: open failed: EMFILE: too many open files, open '.*' \\(EMFILE\\)$`,
      ),
    );
    expect(text()).toMatch(/2 messages fanned out to 2 spools, 1 failed/);
    expect(await waiting()).toHaveLength(1);
    expect(await delivered('B')).toHaveLength(2); // the failed message's copy in B was rolled back
  });

  it('under --watch is not a failure: it stays in the source, a later pass delivers it, and the run ends with 0', async () => {
    await spoolsWith(3);
    const stderr = new PassThrough();
    const text = collect(stderr);
    const ctx = new OutOfFilesContext(2, stderr);
    const running = runCommand.handler(ctx, {
      from: join(dir, 'S'),
      to: [join(dir, 'A'), join(dir, 'B')],
      batch: 1,
      watch: true,
      interval: 20,
    });
    const deadline = Date.now() + 20_000;
    while ((await delivered('A')).length < 3 || (await delivered('B')).length < 3) {
      if (Date.now() > deadline) throw new Error(`not delivered: ${text()}`);
      await sleep(20);
    }
    process.emit('SIGTERM');
    const status = await running;
    expect(ctx.failures).toBe(0);
    expect(text()).toMatch(/too many open files, open '.*' \(EMFILE\) \[left in the source; retried on a later pass\]/);
    expect(text()).toMatch(/3 messages fanned out to 2 spools, 0 failed/);
    expect(status).toBe(0);
    expect(await waiting()).toEqual([]);
  });
});
