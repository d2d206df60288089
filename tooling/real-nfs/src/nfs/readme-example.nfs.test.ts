/**
 * fs-nfs's README example "Two hosts sharing a spool", run as it stands on the two kernel NFS
 * clients of the VM: each `hostN$ cmd` line runs as a process of host N, a trailing `&` leaves it
 * running until the end.
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { outcomeOf, sleep, spawnOn, vm, type Client } from './vm-env.js';

const README = fileURLToPath(new URL('../../../../packages/fs-nfs/README.md', import.meta.url));
const FANOUT = fileURLToPath(new URL('../../../../apps/cli/bin/fanout.cjs', import.meta.url));

it(`fs-nfs's README example of two hosts sharing a spool runs on NFS v${vm.vers}: each message consumed once in each destination`, async () => {
  const readme = await readFile(README, 'utf8');
  const section = readme.slice(readme.indexOf('### Two hosts sharing a spool'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const lines = block.split('\n').filter((l) => l.trim() !== '');
  expect(lines.length).toBeGreaterThan(0);
  // `fanout` on PATH, as an installed CLI would be.
  const bin = await mkdtemp('/tmp/fanout-bin-');
  await writeFile(join(bin, 'fanout'), `#!/bin/sh\nexec ${process.execPath} ${FANOUT} "$@"\n`);
  await chmod(join(bin, 'fanout'), 0o755);
  const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
  await rm('/tmp/archive.mbox', { force: true });
  await rm('/tmp/index.mbox', { force: true });
  // The example names /mnt/nfs/mail: start from an empty one.
  await rm(join(vm.server, 'mail'), { recursive: true, force: true });
  const background: { line: string; child: ChildProcess; done: Promise<unknown> }[] = [];
  const started = Date.now();
  const stuck: string[] = [];
  try {
    for (const line of lines) {
      // A process start costs seconds inside UML: the times say where a slow run went.
      console.log(`${((Date.now() - started) / 1000).toFixed(1)} s: ${line}`);
      const m = /^host([12])\$ (.*?)( &)?$/.exec(line);
      expect(m, `example line: ${line}`).not.toBeNull();
      const host: Client = m![1] === '1' ? 'c1' : 'c2';
      const inBackground = m![3] !== undefined;
      // A command left running is exec'd by its shell, so that a signal to the child reaches fanout itself, as it
      // would under a service manager (a shell that forks it gets the SIGTERM and leaves fanout running).
      const child = spawnOn(host, 'sh', ['-c', inBackground ? `exec ${m![2]!}` : m![2]!], env);
      if (inBackground) {
        background.push({ line, child, done: outcomeOf(child) });
        continue;
      }
      const o = await outcomeOf(child);
      expect({ line, code: o.code, stderr: o.stderr }).toEqual({ line, code: 0, stderr: '' });
    }
    const read = (f: string) => readFile(f, 'utf8').catch(() => '');
    for (let i = 0; i < 240; i++) {
      if ((await read('/tmp/archive.mbox')).length >= 13 && (await read('/tmp/index.mbox')).length >= 13) break;
      await sleep(250);
    }
    await sleep(1_000);
    const sorted = (text: string) => text.split('\n').filter(Boolean).sort();
    expect(sorted(await read('/tmp/archive.mbox'))).toEqual(['first', 'second']);
    expect(sorted(await read('/tmp/index.mbox'))).toEqual(['first', 'second']);
    console.log(`${((Date.now() - started) / 1000).toFixed(1)} s: both mailboxes hold both messages`);
  } finally {
    // SIGTERM, as a service manager stops them; one that has not stopped 20 s later is killed, and named below.
    await Promise.all(
      background.map(async (b) => {
        b.child.kill('SIGTERM');
        if (await Promise.race([b.done.then(() => true), sleep(20_000).then(() => false)])) return;
        stuck.push(b.line);
        b.child.kill('SIGKILL');
        await Promise.race([b.done, sleep(5_000)]);
      }),
    );
    await rm(bin, { recursive: true, force: true });
  }
  expect(stuck, 'not stopped 20 s after SIGTERM').toEqual([]);
});
