import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nfsImplementation } from './nfs-implementation.js';
import {
  lookupCacheAdvice,
  mountOf,
  nfsFactsOf,
  nfsMountFactsOf,
  parseMountInfo,
  warnAboutNfsMount,
} from './nfs-mount.js';

// Lines as a Linux 6.1 kernel writes them (the v3 line from the real-NFS VM, lookupcache unset and set).
const V3_DEFAULT =
  '40 25 0:41 / /mnt/spool rw,relatime shared:20 - nfs 198.51.100.1:/srv/nfs ' +
  'rw,vers=3,rsize=262144,wsize=262144,namlen=255,hard,nolock,proto=tcp,timeo=600,retrans=2,sec=sys,local_lock=all';
const V3_POSITIVE =
  '41 25 0:42 / /mnt/pos rw,relatime shared:21 - nfs 198.51.100.1:/srv/nfs ' +
  'rw,vers=3,hard,nolock,proto=tcp,lookupcache=pos,local_lock=all';
const V42 = '42 25 0:43 / /mnt/four rw,relatime shared:22 - nfs4 198.51.100.1:/ rw,vers=4.2,hard,proto=tcp,sec=sys';
const SPACED = '43 25 0:44 / /mnt/with\\040space rw - nfs 10.0.0.1:/x rw,vers=3,hard';
const ROOT = '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw';
const MOUNTINFO = [ROOT, V3_DEFAULT, V3_POSITIVE, V42, SPACED].join('\n') + '\n';

describe('the NFS mount a spool lives on (/proc/self/mountinfo)', () => {
  const entries = parseMountInfo(MOUNTINFO);

  it('reads the mount point, the type and the superblock options of each line', () => {
    expect(entries.map((e) => [e.mountPoint, e.fsType])).toEqual([
      ['/', 'ext4'],
      ['/mnt/spool', 'nfs'],
      ['/mnt/pos', 'nfs'],
      ['/mnt/four', 'nfs4'],
      ['/mnt/with space', 'nfs'],
    ]);
    expect(entries[1]!.superOptions).toContain('vers=3');
    expect(entries[1]!.source).toBe('198.51.100.1:/srv/nfs');
  });

  it('finds the innermost mount holding a path, never a sibling that shares a prefix', () => {
    expect(mountOf('/mnt/spool/outgoing', entries)?.mountPoint).toBe('/mnt/spool');
    expect(mountOf('/mnt/spool', entries)?.mountPoint).toBe('/mnt/spool');
    expect(mountOf('/mnt/spoolish/x', entries)?.mountPoint).toBe('/');
    expect(mountOf('/mnt/with space/a', entries)?.mountPoint).toBe('/mnt/with space');
  });

  it('advises lookupcache=positive for NFSv3 with the default lookup cache, and only there', () => {
    const advice = (point: string) => {
      const facts = nfsFactsOf(mountOf(point, entries)!);
      return facts === undefined ? 'not nfs' : (lookupCacheAdvice(facts) ?? 'none');
    };
    expect(advice('/mnt/spool/a')).toMatch(
      /^\/mnt\/spool is mounted NFSv3 with lookupcache=all: .*lookupcache=positive/,
    );
    expect(advice('/mnt/pos/a')).toBe('none');
    expect(advice('/mnt/four/a')).toBe('none');
    expect(advice('/srv/a')).toBe('not nfs');
    expect(nfsFactsOf(mountOf('/mnt/pos', entries)!)).toEqual({
      mountPoint: '/mnt/pos',
      version: '3',
      lookupCache: 'pos',
    });
  });
});

describe('warnAboutNfsMount', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    vi.restoreAllMocks();
  });
  /** A mountinfo file that declares a fresh directory an NFS mount with these options; returns both. */
  const mountInfoFor = (options: string) => {
    const point = mkdtempSync(join(tmpdir(), 'fanout-mountinfo-'));
    dirs.push(point);
    const file = join(point, 'mountinfo');
    writeFileSync(file, `${ROOT}\n40 25 0:41 / ${point} rw - nfs 10.0.0.1:/e rw,${options}\n`);
    return { point, file };
  };

  it('warns once per mount point, naming the mount and the option, for a spool not yet created', () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { point, file } = mountInfoFor('vers=3,hard');
    expect(warnAboutNfsMount(`${point}/not/there/yet`, file)).toMatch(/lookupcache=positive/);
    warnAboutNfsMount(`${point}/other`, file);
    expect(emit).toHaveBeenCalledTimes(1);
    expect(String(emit.mock.calls[0]![0])).toContain(`${point} is mounted NFSv3 with lookupcache=all`);
    expect(emit.mock.calls[0]![1]).toEqual({ code: 'FANOUT_NFS_LOOKUPCACHE' });
  });

  it('says nothing for lookupcache=positive, for a local disk, or without mountinfo', () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const quiet = mountInfoFor('vers=3,lookupcache=pos');
    expect(warnAboutNfsMount(`${quiet.point}/s`, quiet.file)).toBeUndefined();
    const elsewhere = mountInfoFor('vers=3');
    expect(warnAboutNfsMount('/var/spool/s', elsewhere.file)).toBeUndefined();
    expect(nfsMountFactsOf('/mnt/x', '/nonexistent/mountinfo')).toBeUndefined();
    expect(emit).not.toHaveBeenCalled();
  });

  it('is what opening an nfs: URL through the registry does (a local directory: no warning)', async () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const dir = mkdtempSync(join(tmpdir(), 'fanout-nfs-open-'));
    dirs.push(dir);
    const spool = await nfsImplementation.open(`nfs://${dir}/s`, {});
    expect(spool.location).toContain(dir);
    expect(emit).not.toHaveBeenCalled();
  });
});
