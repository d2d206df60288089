import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { glusterMountOf } from './gluster.js';
import { NfsBackend } from './nfs-backend.js';

let dir: string;
let mnt: string;
let root: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'fanout-gluster-'));
  mnt = join(dir, 'mnt gl');
  root = join(mnt, 'spools', 'out');
  await fsp.mkdir(root, { recursive: true });
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A mount table in which `mnt` is a GlusterFS FUSE mount (or `fsType`), beside the real root. */
async function mountTable(fsType = 'fuse.glusterfs'): Promise<string> {
  const path = join(dir, 'mountinfo');
  const escaped = mnt.replaceAll(' ', '\\040');
  await fsp.writeFile(
    path,
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n' +
      `57 22 0:41 / ${escaped} rw,relatime - ${fsType} 198.51.100.1:/fanout rw,user_id=0,allow_other\n`,
  );
  return path;
}

/** The client graph GlusterFS shows under `.meta`: a DHT translator over `subvolumes` subvolumes. */
async function graph(subvolumes: number): Promise<void> {
  const active = join(mnt, '.meta/graphs/active');
  for (const [xlator, type, subs] of [
    ['fanout-dht', 'cluster/distribute', subvolumes],
    ['fanout-replicate-0', 'cluster/replicate', 2],
    ['fanout-client-0', 'protocol/client', 0],
  ] as const) {
    await fsp.mkdir(join(active, xlator, 'subvolumes'), { recursive: true });
    await fsp.writeFile(join(active, xlator, 'type'), `${type}\n`);
    for (let i = 0; i < subs; i++) await fsp.writeFile(join(active, xlator, 'subvolumes', String(i)), '');
  }
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('fs-nfs on GlusterFS', () => {
  it('reads mount points with escaped spaces, and the mount a path lies on', async () => {
    await mountTable();
    await graph(3);
    expect(glusterMountOf(root, join(dir, 'mountinfo'))).toEqual({
      mountPoint: mnt,
      source: '198.51.100.1:/fanout',
      distributeSubvolumes: 3,
    });
    expect(glusterMountOf(dir, join(dir, 'mountinfo'))).toBeUndefined();
  });

  it('refuses create, publish and link with ENOTSUP on a volume distributed over several subvolumes, making nothing', async () => {
    await graph(3);
    const spool = new NfsBackend({ root, location: 'nfs:///gl/out', mountInfo: await mountTable() });
    await fsp.writeFile(join(root, 'w1.tx'), 'staged');
    for (const attempt of [
      () => spool.createExclusive('s1', bytes('message')),
      () => spool.publish('w1.tx', 'd1'),
      () => spool.link('w1.tx', 'l1'),
    ]) {
      await expect(attempt()).rejects.toMatchObject({
        code: 'ENOTSUP',
        spool: 'nfs:///gl/out',
        message: expect.stringMatching(/distributed over 3 subvolumes: there link\(\) is not exclusive/),
      });
    }
    expect((await fsp.readdir(root)).sort()).toEqual(['w1.tx']);
    // What needs no exclusive link still works: reading, listing, the fence's rename.
    await spool.rename('w1.tx', 'k1.tx');
    expect((await fsp.readdir(root)).sort()).toEqual(['k1.tx']);
  });

  it('refuses also when the mount does not show its layout (no .meta): it cannot tell', async () => {
    const spool = new NfsBackend({ root, mountInfo: await mountTable() });
    await expect(spool.createExclusive('s1', bytes('message'))).rejects.toMatchObject({
      code: 'ENOTSUP',
      message: expect.stringMatching(/cannot tell whether GlusterFS volume 198\.51\.100\.1:\/fanout/),
    });
  });

  it('serves a volume of one subvolume (a replica set or one brick) and any other filesystem as before', async () => {
    await graph(1);
    const replica = new NfsBackend({ root, mountInfo: await mountTable() });
    await replica.createExclusive('s1', bytes('message'));
    await replica.publish('s1', 's2');
    await replica.link('s2', 's3');
    expect((await fsp.readdir(root)).sort()).toEqual(['s2', 's3']);
    const nfs = new NfsBackend({ root, mountInfo: await mountTable('nfs4') });
    await nfs.createExclusive('s4', bytes('message'));
    expect(await fsp.readFile(join(root, 's4'), 'utf8')).toBe('message');
  });
});
