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
  const background: { child: ChildProcess; done: Promise<unknown> }[] = [];
  try {
    for (const line of lines) {
      const m = /^host([12])\$ (.*?)( &)?$/.exec(line);
      expect(m, `example line: ${line}`).not.toBeNull();
      const host: Client = m![1] === '1' ? 'c1' : 'c2';
      const child = spawnOn(host, 'sh', ['-c', m![2]!], env);
      if (m![3] !== undefined) {
        background.push({ child, done: outcomeOf(child) });
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
  } finally {
    for (const { child } of background) child.kill('SIGTERM');
    await Promise.all(background.map((b) => b.done));
    await rm(bin, { recursive: true, force: true });
  }
});
