import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FanoutError, type OwnerInfo } from '@fanout/core';
import { encodeOwnerTag, parseProtocolName } from '@fanout/core/internal';
import { nodePosixFs, type PosixFs } from '@fanout/fs-posix';
import { NfsBackend } from './nfs-backend.js';

let dir: string;
let root: string;
let slept: number[];

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'fanout-nfs-'));
  root = join(dir, 'spool');
  await fsp.mkdir(root);
  slept = [];
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

/** The writer the test backend names in its temp files. */
const writer: OwnerInfo = {
  host: 'mail-1.example.org',
  bootId: '0b7e6c1e-7c1a-4c59-9a3e-3f8f1b2f7d10',
  pidNamespace: '4026531836',
  pid: 7,
  startTime: '12345',
};

function backend(fs: PosixFs = nodePosixFs) {
  return new NfsBackend({
    root,
    fs,
    location: 'nfs:///test-spool',
    owner: writer,
    retry: { sleep: async (ms) => void slept.push(ms) },
  });
}

async function caught(promise: Promise<unknown>): Promise<FanoutError> {
  try {
    await promise;
  } catch (err) {
    return err as FanoutError;
  }
  throw new Error('expected a rejection');
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

const listing = async () => (await fsp.readdir(root)).sort();
const content = (name: string) => fsp.readFile(join(root, name), 'utf8');

describe('NfsBackend.createExclusive', () => {
  it('writes a temp file, links it to the name and leaves only the name', async () => {
    const links: Array<[string, string]> = [];
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async (a, b) => {
        links.push([a, b]);
        return nodePosixFs.link(a, b);
      },
    };
    expect(await backend(fs).createExclusive('m1', chunks('marker ', 'record'))).toBe(13);
    expect(await listing()).toEqual(['m1']);
    expect(await content('m1')).toBe('marker record');
    expect((await fsp.stat(join(root, 'm1'))).nlink).toBe(1);
    expect(links).toHaveLength(1);
    // The core's one temp name, t<ULID>.<owner tag>, naming the writer exactly.
    const temp = links[0]![0].slice(root.length + 1);
    expect(temp).toMatch(new RegExp(`^t[0-9A-Z]{26}\\.${encodeOwnerTag(writer)}$`));
    const parsed = parseProtocolName(temp);
    expect(parsed.kind === 'temp' && parsed.writer).toMatchObject({
      pid: 7,
      pidNamespace: '4026531836',
      startTime: '12345',
    });
    expect(links[0]![1]).toBe(join(root, 'm1'));
  });

  it('never opens the target name with O_EXCL (only the temp name is opened)', async () => {
    const opened: string[] = [];
    const fs: PosixFs = {
      ...nodePosixFs,
      open: async (p, f, m) => {
        opened.push(p);
        return nodePosixFs.open(p, f, m);
      },
    };
    await backend(fs).createExclusive('m1', chunks('x'));
    expect(opened.filter((p) => p.endsWith('/m1'))).toEqual([]);
  });

  it('refuses an existing name with EEXIST, leaves it unchanged and leaves no temp file', async () => {
    await fsp.writeFile(join(root, 'm1'), 'owner A');
    const err = await caught(backend().createExclusive('m1', chunks('owner B')));
    expect(err.code).toBe('EEXIST');
    expect(err.file).toBe('m1');
    expect(await content('m1')).toBe('owner A');
    expect(await listing()).toEqual(['m1']);
  });

  it('loses the race to a name created after its first look with EEXIST, removing its temp file', async () => {
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async (a, b) => {
        await fsp.writeFile(b, 'the other host won'); // another host's link lands first
        return nodePosixFs.link(a, b);
      },
    };
    const err = await caught(backend(fs).createExclusive('m1', chunks('mine')));
    expect(err.code).toBe('EEXIST');
    expect(await content('m1')).toBe('the other host won');
    expect(await listing()).toEqual(['m1']);
  });

  it('succeeds when a link that worked answers EEXIST (a retransmission after a lost reply)', async () => {
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async (a, b) => {
        await nodePosixFs.link(a, b);
        throw errno('EEXIST');
      },
    };
    expect(await backend(fs).createExclusive('m1', chunks('data'))).toBe(4);
    expect(await content('m1')).toBe('data');
    expect(await listing()).toEqual(['m1']);
  });

  it('does not believe a link that answers success while another file holds the name', async () => {
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async (_a, b) => {
        await fsp.writeFile(b, 'someone else'); // the link itself never happened
      },
    };
    const err = await caught(backend(fs).createExclusive('m1', chunks('mine')));
    expect(err.code).toBe('EEXIST');
    expect(await content('m1')).toBe('someone else');
    expect(await listing()).toEqual(['m1']);
  });

  it('reports EIO when a link answers success but the name never appears', async () => {
    const fs: PosixFs = { ...nodePosixFs, link: async () => undefined };
    const err = await caught(backend(fs).createExclusive('m1', chunks('mine')));
    expect(err.code).toBe('EIO');
    expect(await listing()).toEqual([]);
  });

  it('succeeds when the name a link made is taken by another host before it is looked at (real NFS under packet loss)', async () => {
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async (a, b) => {
        await nodePosixFs.link(a, b);
        await fsp.rename(b, join(root, 'pm1.taken')); // a worker on the other host takes the fresh message at once
      },
    };
    expect(await backend(fs).createExclusive('m1', chunks('data'))).toBe(4);
    expect(await content('pm1.taken')).toBe('data');
    expect(await listing()).toEqual(['pm1.taken']);
  });

  it('retries a link that fails with ESTALE twice, then succeeds', async () => {
    let failures = 0;
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async (a, b) => {
        if (failures++ < 2) throw errno('ESTALE');
        return nodePosixFs.link(a, b);
      },
    };
    await backend(fs).createExclusive('m1', chunks('data'));
    expect(await content('m1')).toBe('data');
    expect(slept).toEqual([10, 20]);
    expect(await listing()).toEqual(['m1']);
  });

  it('surfaces a persistent EIO as a FanoutError naming the spool, the file and the cause, after 5 tries', async () => {
    let calls = 0;
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async () => {
        calls++;
        throw errno('EIO');
      },
    };
    const err = await caught(backend(fs).createExclusive('m1', chunks('data')));
    expect(err.name).toBe('FanoutError');
    expect(err.code).toBe('EIO');
    expect(err.spool).toBe('nfs:///test-spool');
    expect(err.file).toBe('m1');
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.oneLine()).toMatch(/^nfs:\/\/\/test-spool: m1: link failed: .*after 5 tries.* \(EIO\)$/);
    expect(calls).toBe(5);
    expect(slept).toEqual([10, 20, 40, 80]);
    expect(await listing()).toEqual([]);
  });

  it('retries lstat through ESTALE', async () => {
    let failures = 0;
    const fs: PosixFs = {
      ...nodePosixFs,
      lstat: async (p) => {
        if (failures++ < 2) throw errno('ESTALE');
        return nodePosixFs.lstat(p);
      },
    };
    await backend(fs).createExclusive('m1', chunks('data'));
    expect(await content('m1')).toBe('data');
  });

  it('removes the temp file when the content stream throws', async () => {
    async function* broken() {
      yield Buffer.from('part');
      throw new Error('source broke');
    }
    expect((await caught(backend().createExclusive('m1', broken()))).code).toBe('EIO');
    expect(await listing()).toEqual([]);
  });

  it('reports ENOSPC naming the file and leaves nothing behind', async () => {
    const fs: PosixFs = {
      ...nodePosixFs,
      write: async () => {
        throw errno('ENOSPC');
      },
    };
    const err = await caught(backend(fs).createExclusive('m1', chunks('data')));
    expect(err.code).toBe('ENOSPC');
    expect(err.file).toBe('m1');
    expect(await listing()).toEqual([]);
  });

  it('still succeeds when the temp unlink answers ENOENT after doing its work', async () => {
    const fs: PosixFs = {
      ...nodePosixFs,
      unlink: async (p) => {
        await nodePosixFs.unlink(p);
        throw errno('ENOENT');
      },
    };
    await backend(fs).createExclusive('m1', chunks('data'));
    expect(await listing()).toEqual(['m1']);
  });
});

describe('NfsBackend.publish', () => {
  it('links, verifies and unlinks', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'msg');
    await backend().publish('w1.tx', 'd1');
    expect(await listing()).toEqual(['d1']);
    expect(await content('d1')).toBe('msg');
  });

  it('succeeds when the link worked but answered EEXIST', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'msg');
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async (a, b) => {
        await nodePosixFs.link(a, b);
        throw errno('EEXIST');
      },
    };
    await backend(fs).publish('w1.tx', 'd1');
    expect(await listing()).toEqual(['d1']);
  });

  it('succeeds when the unlink worked but answered ENOENT, having proven the publish', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'msg');
    const fs: PosixFs = {
      ...nodePosixFs,
      unlink: async (p) => {
        await nodePosixFs.unlink(p);
        throw errno('ENOENT');
      },
    };
    await backend(fs).publish('w1.tx', 'd1');
    expect(await listing()).toEqual(['d1']);
    expect(await content('d1')).toBe('msg');
  });

  it('does not accept an ENOENT from unlink while the old name still holds the file', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'msg');
    const fs: PosixFs = {
      ...nodePosixFs,
      unlink: async () => {
        throw errno('ENOENT'); // the server lies: nothing was removed
      },
    };
    const err = await caught(backend(fs).publish('w1.tx', 'd1'));
    expect(err.code).toBe('EIO');
    expect(err.file).toBe('w1.tx');
    expect(err.message).toMatch(/cannot be proven/);
    expect(await listing()).toEqual(['d1', 'w1.tx']);
  });

  it('completes a publish interrupted after its link (both names on one inode)', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'msg');
    await fsp.link(join(root, 'w1.tx'), join(root, 'd1'));
    await backend().publish('w1.tx', 'd1');
    expect(await listing()).toEqual(['d1']);
  });

  it('refuses to overwrite another file with EEXIST and changes nothing', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'new');
    await fsp.writeFile(join(root, 'd1'), 'old');
    const err = await caught(backend().publish('w1.tx', 'd1'));
    expect(err.code).toBe('EEXIST');
    expect(err.file).toBe('d1');
    expect(await content('d1')).toBe('old');
    expect(await content('w1.tx')).toBe('new');
  });

  it('reports ENOENT for a missing source and EBADENTRY for a directory', async () => {
    expect((await caught(backend().publish('w1.tx', 'd1'))).code).toBe('ENOENT');
    await fsp.mkdir(join(root, 'w2.tx'));
    expect((await caught(backend().publish('w2.tx', 'd2'))).code).toBe('EBADENTRY');
  });
});

describe('NfsBackend.remove, list and syncDir', () => {
  it('resolves true for a removed name and false for a missing one', async () => {
    await fsp.writeFile(join(root, 't1'), 'x');
    expect(await backend().remove('t1')).toBe(true);
    expect(await backend().remove('t1')).toBe(false);
  });

  it('resolves true when a retried unlink answers ENOENT because the first try removed the name', async () => {
    await fsp.writeFile(join(root, 't1'), 'x');
    let calls = 0;
    const flaky: PosixFs = {
      ...nodePosixFs,
      unlink: async (p) => {
        calls++;
        await nodePosixFs.unlink(p);
        if (calls === 1) throw errno('ETIMEDOUT'); // removed, but the reply was lost
      },
    };
    expect(await backend(flaky).remove('t1')).toBe(true);
    expect(calls).toBe(2);
    expect(await listing()).toEqual([]);
  });

  it('refuses to remove a directory with EBADENTRY', async () => {
    await fsp.mkdir(join(root, 'd1'));
    expect((await caught(backend().remove('d1'))).code).toBe('EBADENTRY');
  });

  it('lists .nfsXXXX silly-rename files like any other entry and never touches them', async () => {
    await fsp.writeFile(join(root, '.nfs0000000001234abc00000001'), 'held open elsewhere');
    await fsp.writeFile(join(root, 'd1'), 'x');
    const entries = [];
    for await (const e of backend().list()) entries.push(e);
    expect(entries.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: '.nfs0000000001234abc00000001', kind: 'file' },
      { name: 'd1', kind: 'file' },
    ]);
    expect(await content('.nfs0000000001234abc00000001')).toBe('held open elsewhere');
  });

  it.each(['EINVAL', 'ENOTSUP', 'EBADF'])(
    'treats %s from a directory fsync as the server declining it',
    async (code) => {
      const fs: PosixFs = {
        ...nodePosixFs,
        fsync: async () => {
          throw errno(code);
        },
      };
      await expect(backend(fs).syncDir()).resolves.toBeUndefined();
    },
  );

  it('reports EIO from a directory fsync, without retrying it', async () => {
    let calls = 0;
    const fs: PosixFs = {
      ...nodePosixFs,
      fsync: async () => {
        calls++;
        throw errno('EIO');
      },
    };
    const err = await caught(backend(fs).syncDir());
    expect(err.code).toBe('EIO');
    expect(calls).toBe(1);
  });

  it('still fails a file fsync that answers EINVAL: only directories may decline', async () => {
    const fs: PosixFs = {
      ...nodePosixFs,
      fsync: async () => {
        throw errno('EINVAL');
      },
    };
    expect((await caught(backend(fs).createExclusive('m1', chunks('x')))).code).toBe('EIO');
    expect(await listing()).toEqual([]);
  });

  it('has hard links: link() is there', () => {
    expect(typeof backend().link).toBe('function');
  });
});

/** A client that answers ENOENT for `name` from a stale negative lookup until the directory is opened. */
function negativeCacheOf(name: string) {
  let revalidated = false;
  let opendirs = 0;
  const fs: PosixFs = {
    ...nodePosixFs,
    // A cached negative dentry answers every lookup of the name: an lstat, an open and an unlink alike.
    lstat: async (p) => {
      if (p.endsWith(`/${name}`) && !revalidated) throw errno('ENOENT');
      return nodePosixFs.lstat(p);
    },
    open: async (p, flags, mode) => {
      if (p.endsWith(`/${name}`) && !revalidated) throw errno('ENOENT');
      return nodePosixFs.open(p, flags, mode);
    },
    unlink: async (p) => {
      if (p.endsWith(`/${name}`) && !revalidated) throw errno('ENOENT');
      return nodePosixFs.unlink(p);
    },
    opendir: async (p) => {
      opendirs++;
      revalidated = true;
      return nodePosixFs.opendir(p);
    },
  };
  return { fs, opendirs: () => opendirs };
}

describe('NfsBackend.read and cached negative lookups', () => {
  it("reads a file another host created although this client's lookup cache said it was missing (issue 15: ENOTSPOOL for an existing spool)", async () => {
    await fsp.writeFile(join(root, '.fanout-spool'), '{"fanout":"spool"}\n');
    const cache = negativeCacheOf('.fanout-spool');
    const parts: Buffer[] = [];
    for await (const chunk of backend(cache.fs).read('.fanout-spool')) parts.push(Buffer.from(chunk));
    expect(Buffer.concat(parts).toString()).toBe('{"fanout":"spool"}\n');
    expect(cache.opendirs()).toBe(1);
  });

  it('still fails with ENOENT for a file that is not there, after one look at the directory', async () => {
    const cache = negativeCacheOf('dmissing');
    const err = await caught(
      (async () => {
        for await (const _ of backend(cache.fs).read('dmissing')) void _;
      })(),
    );
    expect(err.code).toBe('ENOENT');
    expect(cache.opendirs()).toBe(1);
  });
});

describe('NfsBackend.remove and a cached negative lookup', () => {
  it("removes a copy another host made although this client's lookup cache said it was missing (a recovery removing, through the record it kept, what a partitioned owner wrote after the takeover)", async () => {
    await fsp.writeFile(join(root, 'wM1.TX1'), 'late copy');
    const cache = negativeCacheOf('wM1.TX1');
    expect(await backend(cache.fs).remove('wM1.TX1')).toBe(true);
    expect(await fsp.readdir(root)).not.toContain('wM1.TX1');
    expect(cache.opendirs()).toBe(1);
  });

  it('says a missing name was not there, after one look at the directory', async () => {
    const cache = negativeCacheOf('wMissing.TX1');
    expect(await backend(cache.fs).remove('wMissing.TX1')).toBe(false);
    expect(cache.opendirs()).toBe(1);
  });
});

describe('NfsBackend.list and a cached negative lookup of the spool directory', () => {
  it("lists a spool directory another host made although this client's lookup cache said it was missing (issue 15: consumers stopped on 'open directory failed: ENOENT')", async () => {
    await fsp.writeFile(join(root, 'd1'), 'x');
    let revalidated = false;
    const opened: string[] = [];
    const fs: PosixFs = {
      ...nodePosixFs,
      opendir: async (p) => {
        opened.push(p);
        if (p === root && !revalidated) throw errno('ENOENT');
        if (p === dir) revalidated = true;
        return nodePosixFs.opendir(p);
      },
    };
    const names: string[] = [];
    for await (const entry of backend(fs).list()) names.push(entry.name);
    expect(names).toEqual(['d1']);
    expect(opened).toEqual([root, dir, root]);
  });

  it('still fails with ENOENT for a spool directory that is gone', async () => {
    await fsp.rm(root, { recursive: true });
    const err = await caught(
      (async () => {
        for await (const _ of backend().list()) void _;
      })(),
    );
    expect(err.code).toBe('ENOENT');
  });
});

describe('NfsBackend.rename and link when the reply is lost and the new name is cached as missing', () => {
  /**
   * A client whose call does its work on the server and answers an error (the reply was lost, the server
   * rebooted, the retransmission ran again), while its lookup cache still says the new name is missing until
   * the directory is opened: what real NFS v4.2 showed for a rename.
   */
  function lostReplyBehindNegativeCache(op: 'rename' | 'link', answer: string) {
    let revalidated = false;
    const fs: PosixFs = {
      ...nodePosixFs,
      [op]: async (a: string, b: string) => {
        await nodePosixFs[op](a, b);
        revalidated = false;
        throw errno(answer);
      },
      lstat: async (p) => {
        if (p.endsWith('/target') && !revalidated) throw errno('ENOENT');
        return nodePosixFs.lstat(p);
      },
      opendir: async (p) => {
        revalidated = true;
        return nodePosixFs.opendir(p);
      },
    };
    return fs;
  }

  it('takes a rename that did its work and answered ENOENT for done, by the file in place', async () => {
    await fsp.writeFile(join(root, 'src'), 'lost reply');
    await backend(lostReplyBehindNegativeCache('rename', 'ENOENT')).rename('src', 'target');
    expect(await listing()).toEqual(['target']);
    expect(await content('target')).toBe('lost reply');
  });

  it('takes a link that did its work and answered EIO for done, by the file in place', async () => {
    await fsp.writeFile(join(root, 'src'), 'lost reply');
    await backend(lostReplyBehindNegativeCache('link', 'EIO')).link('src', 'target');
    expect(await listing()).toEqual(['src', 'target']);
    expect(await content('target')).toBe('lost reply');
  });

  it('still reports a rename whose source is really missing as ENOENT naming the source', async () => {
    const err = await caught(backend(lostReplyBehindNegativeCache('rename', 'ENOENT')).rename('nosuch', 'target'));
    expect(err.code).toBe('ENOENT');
  });
});

describe('NfsBackend.createExclusive when the new name is cached as missing after a link that worked', () => {
  it('finds its file past the lookup cache instead of reporting EIO', async () => {
    let revalidated = false;
    const fs: PosixFs = {
      ...nodePosixFs,
      link: async (a, b) => {
        await nodePosixFs.link(a, b);
        revalidated = false;
      },
      lstat: async (p) => {
        if (p.endsWith('/target') && !revalidated) throw errno('ENOENT');
        return nodePosixFs.lstat(p);
      },
      opendir: async (p) => {
        revalidated = true;
        return nodePosixFs.opendir(p);
      },
    };
    await backend(fs).createExclusive('target', new TextEncoder().encode('linked'));
    expect(await listing()).toEqual(['target']);
    expect(await content('target')).toBe('linked');
  });
});

describe('NfsBackend on a GlusterFS client cut off from its server', () => {
  it('fails with EUNAVAILABLE naming the file when the FUSE client answers ENOTCONN, without retrying it', async () => {
    let lstats = 0;
    const cutOff: PosixFs = {
      ...nodePosixFs,
      lstat: async () => {
        lstats++;
        throw Object.assign(new Error('ENOTCONN: socket is not connected, lstat'), { code: 'ENOTCONN', errno: -107 });
      },
    };
    const err = await caught(backend(cutOff).createExclusive('s-cut', Buffer.from('x')));
    expect(err).toMatchObject({ code: 'EUNAVAILABLE', file: 's-cut' });
    expect(lstats).toBe(1);
    expect(slept).toEqual([]);
    expect(await listing()).toEqual([]);
  });
});
