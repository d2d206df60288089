/**
 * A GlusterFS volume distributed over several subvolumes (DHT): link() onto a new name is not exclusive there, so
 * fs-nfs refuses to create, publish or link names in it (ENOTSUP), and says why. Raced raw links show the defect.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NfsBackend } from '@fanout/fs-nfs';
import { freshDir, gl, onBricks, outcomeOf } from './env.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** One contender: links its own file onto each of `n` new names at once, then reports which names are its file. */
const CONTENDER = `
const fs = require('node:fs/promises'), { existsSync } = require('node:fs'), path = require('node:path');
const [who, dir, n, go] = process.argv.slice(1);
(async () => {
  const ino = [];
  for (let i = 0; i < +n; i++) {
    await fs.writeFile(path.join(dir, 'l' + i + '.' + who), who);
    ino.push((await fs.lstat(path.join(dir, 'l' + i + '.' + who), { bigint: true })).ino);
  }
  process.stdout.write('ready\\n');
  while (!existsSync(go)) await new Promise((r) => setTimeout(r, 2));
  const mine = await Promise.all(ino.map(async (inode, i) => {
    const from = path.join(dir, 'l' + i + '.' + who);
    const linked = await fs.link(from, path.join(dir, 'f' + i)).then(() => true, () => false);
    const st = await fs.lstat(path.join(dir, 'f' + i), { bigint: true }).catch(() => undefined);
    return linked && st !== undefined && st.ino === inode;
  }));
  process.stdout.write(JSON.stringify(mine) + '\\n');
})();
`;

describe(`fs-nfs on a GlusterFS ${gl.type} volume of ${gl.bricks.length} bricks`, () => {
  it('refuses create, publish and link with ENOTSUP, naming the volume and why; renames, reads and listings work', async () => {
    expect(gl.type).toBe('distribute');
    const dir = await freshDir('refused');
    const spool = new NfsBackend({ root: dir.a, location: `nfs://${dir.a}` });
    await writeFile(join(dir.a, 'w1.tx'), 'staged');
    for (const attempt of [
      () => spool.createExclusive('s1', bytes('message')),
      () => spool.publish('w1.tx', 'd1'),
      () => spool.link('w1.tx', 'l1'),
    ]) {
      await expect(attempt()).rejects.toMatchObject({
        code: 'ENOTSUP',
        message: expect.stringMatching(
          new RegExp(`volume 198\\.51\\.100\\.1:/fanout .* is distributed over ${gl.bricks.length} subvolumes`),
        ),
      });
    }
    expect(await readdir(dir.b)).toEqual(['w1.tx']);
    await spool.rename('w1.tx', 'k1.tx');
    expect(await readdir(dir.b)).toEqual(['k1.tx']);
    const names: string[] = [];
    for await (const entry of spool.list()) names.push(entry.name);
    expect(names).toEqual(['k1.tx']);
  });

  it('why: links of different files onto one new name, raced from the two clients, can both succeed (recorded)', async () => {
    let both = 0;
    let raced = 0;
    for (let round = 0; round < 4; round++) {
      const dir = await freshDir(`raw-link-${round}`);
      const go = `/tmp/go-gluster-link-${process.pid}-${round}`;
      const kids = (['a', 'b'] as const).map((who) =>
        spawn(process.execPath, ['-e', CONTENDER, who, dir[who], '40', go], { stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      const ready = kids.map(
        (k) =>
          new Promise<void>((resolve) => {
            k.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
          }),
      );
      const outcomes = kids.map(outcomeOf);
      await Promise.all(ready);
      writeFileSync(go, '');
      const [a, b] = (await Promise.all(outcomes)).map((o) => {
        expect(o.stderr).toBe('');
        return JSON.parse(o.stdout.trim().split('\n').at(-1) ?? '[]') as boolean[];
      });
      const bricks = await onBricks(dir.rel);
      for (let i = 0; i < 40; i++) {
        raced++;
        // Every name was made by at least one of them.
        expect({ i, made: a![i] || b![i] }).toEqual({ i, made: true });
        if (a![i] && b![i]) {
          both++;
          // Two files under one name, on two bricks: each client sees its own.
          expect(bricks.get(`f${i}`)).toBe(2);
        }
      }
    }
    console.log(`gluster: distribute: ${both} of ${raced} raced raw links onto one new name succeeded on both clients`);
  });
});
