import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fanOut,
  FanoutError,
  initSpool,
  type OwnerInfo,
  overrideBackend,
  recover,
  spoolStatus,
  consume,
  tempName,
  type ContentSource,
  type SpoolBackend,
} from '@fanout/core';
import { encodeMarker, makeOwnerProbe } from '@fanout/core/internal';
import { PosixBackend } from '@fanout/fs-posix';
import { checkInvariants, entries, plantAttempt, posixWorld, type PosixWorld } from './harness.js';

let world: PosixWorld | undefined;
afterEach(() => world?.dispose());

const upper = () =>
  new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1'));
    },
  });

/** A backend that fails createExclusive of copies with `code` after `after` bytes. */
function failingCopies(inner: SpoolBackend, code: 'ENOSPC' | 'EIO'): SpoolBackend {
  return overrideBackend(inner, {
    async createExclusive(name: string, content: ContentSource) {
      if (!name.startsWith('w') && !name.startsWith('d')) return inner.createExclusive(name, content);
      async function* failing() {
        for await (const chunk of content as AsyncIterable<Uint8Array>) {
          yield chunk;
          throw new FanoutError(code, code === 'ENOSPC' ? 'no space left on device' : 'i/o error', {
            spool: inner.location,
            file: name,
          });
        }
      }
      return inner.createExclusive(name, failing());
    },
  });
}

describe('fanOut', () => {
  it('delivers 1,000 messages to 3 destinations with exact contents and leaves the source empty', async () => {
    world = await posixWorld(3, 1000, (i) => 1 + ((i * 7919) % 5000));
    const summary = await fanOut({
      source: world.source,
      destinations: world.dests.map((spool) => ({ spool })),
      batchSize: 32,
      concurrency: 4,
    });
    expect(summary.committed).toBe(1000);
    expect(summary.failed).toEqual([]);
    expect(checkInvariants(world, 3)).toEqual({ inSource: 0, delivered: 1000 });
    expect(entries(join(world.root, 'S'))).toEqual([]);
  });

  it('applies a per-destination transform while streaming, and plain-copies elsewhere', async () => {
    world = await posixWorld(2, 5);
    await fanOut({
      source: world.source,
      destinations: [{ spool: world.dests[0]!, transform: upper }, { spool: world.dests[1]! }],
    });
    checkInvariants(world, 2, (_id, d, original) =>
      d === 0 ? Buffer.from(original.toString('latin1').toUpperCase(), 'latin1') : original,
    );
  });

  it.each(['staged', 'seed'] as const)(
    'rolls back a message whose copy fails mid-stream (%s): it stays in S, the error is reported',
    async (protocol) => {
      world = await posixWorld(2, 3);
      const bad = failingCopies(world.dests[1]!, 'EIO');
      const summary = await fanOut({
        source: world.source,
        destinations: [{ spool: world.dests[0]! }, { spool: bad }],
        protocol,
      });
      expect(summary.committed).toBe(0);
      expect(summary.failed).toHaveLength(3);
      expect(summary.failed.every((f) => f.error.code === 'EIO' && !f.committed)).toBe(true);
      expect(checkInvariants(world, 2)).toEqual({ inSource: 3, delivered: 0 });
    },
  );

  it('reports ENOSPC in one destination as a failure naming the spool and file, and loses nothing', async () => {
    world = await posixWorld(2, 2);
    const full = failingCopies(world.dests[0]!, 'ENOSPC');
    const events: string[] = [];
    const summary = await fanOut({
      source: world.source,
      destinations: [{ spool: full }, { spool: world.dests[1]! }],
      onEvent: (e) => events.push(e.type),
    });
    expect(summary.failed.map((f) => f.error.code)).toEqual(['ENOSPC', 'ENOSPC']);
    expect(summary.failed[0]!.error.oneLine()).toMatch(/D0: w.*no space left on device \(ENOSPC\)/);
    expect(events.filter((e) => e === 'message-failed')).toHaveLength(2);
    expect(checkInvariants(world, 2)).toEqual({ inSource: 2, delivered: 0 });
    await fanOut({ source: world.source, destinations: world.dests.map((spool) => ({ spool })) });
    expect(checkInvariants(world, 2)).toEqual({ inSource: 0, delivered: 2 });
  });

  it('refuses a route whose destination is the source or is given twice', async () => {
    world = await posixWorld(1, 0);
    await expect(fanOut({ source: world.source, destinations: [{ spool: world.source }] })).rejects.toMatchObject({
      code: 'EUSAGE',
    });
    await expect(
      fanOut({ source: world.source, destinations: [{ spool: world.dests[0]! }, { spool: world.dests[0]! }] }),
    ).rejects.toMatchObject({ code: 'EUSAGE' });
  });

  it('refuses a directory that is not a spool with ENOTSPOOL', async () => {
    world = await posixWorld(1, 1);
    const stranger = new PosixBackend({ root: join(world.root, 'not-a-spool') });
    await stranger.ensureContainer();
    await expect(fanOut({ source: world.source, destinations: [{ spool: stranger }] })).rejects.toMatchObject({
      code: 'ENOTSPOOL',
    });
    expect(checkInvariants(world, 1)).toEqual({ inSource: 1, delivered: 0 });
  });

  it('skips a message another worker took between the listing and the take, and never opens a symlink named like a message', async () => {
    world = await posixWorld(1, 2);
    const w = world;
    const [held, free] = [...w.messages.keys()];
    const { renameSync, symlinkSync } = await import('node:fs');
    symlinkSync('/etc/passwd', join(w.root, 'S', 'sLINK'));
    let first = true;
    const unknown: string[] = [];
    const summary = await fanOut({
      source: w.source,
      destinations: [{ spool: w.dests[0]! }],
      recoverFirst: false,
      batchSize: 1,
      onEvent: (e) => {
        if (e.type === 'unknown-entry') unknown.push(`${e.name} ${e.kind}`);
      },
      hooks: {
        beforeOp: (op) => {
          // The other worker's take wins the race for `held`.
          if (first && op.type === 'rename' && op.from === `s${held}`) {
            first = false;
            renameSync(join(w.root, 'S', `s${held}`), join(w.root, 'S', `p${held}.OTHER`));
          }
        },
      },
    });
    expect(summary.committed).toBe(1);
    expect(summary.skipped).toBe(1);
    // Issue 16: a symlink named like a message was a failure (EBADENTRY) of every run; it is an unknown entry, reported
    // once.
    expect(summary.failed).toEqual([]);
    expect(unknown).toEqual(['sLINK symlink']);
    expect(entries(join(w.root, 'D0'))).toEqual([`d${free}`]);
    expect(entries(join(w.root, 'S')).sort()).toEqual([`p${held}.OTHER`, 'sLINK'].sort());
  });
});

describe('recover', () => {
  it('quarantines a corrupt record: reported, left in place, the message untouched', async () => {
    world = await posixWorld(2, 1);
    const { id, tx } = await plantAttempt(world);
    writeFileSync(join(world.root, 'S', `m${tx}`), 'fanout-marker 2\nids: garbage');
    const summary = await recover({ spool: world.source, open: world.open, ownerProbe: async () => 'dead' });
    expect(summary.refused).toHaveLength(1);
    expect(summary.refused[0]!.code).toBe('ECORRUPT');
    expect(summary.refused[0]!.oneLine()).toContain(`m${tx}`);
    expect(entries(join(world.root, 'S')).sort()).toEqual([`m${tx}`, `p${id}.${tx}`].sort());
    expect(entries(join(world.root, 'D0'))).toContain(`w${id}.${tx}`);
  });

  it('quarantines a record naming a spool whose identity does not match (foreign spool), deleting nothing', async () => {
    world = await posixWorld(2, 1);
    const w = world;
    const impostor = new PosixBackend({ root: join(w.root, 'impostor') });
    await initSpool(impostor);
    const { id, tx, record } = await plantAttempt(w, { protocol: 'seed' });
    writeFileSync(join(w.root, 'impostor', `d${id}`), 'not ours');
    writeFileSync(
      join(w.root, 'S', `m${tx}`),
      encodeMarker({ ...record, destinations: [{ uuid: record.destinations[0]!.uuid, location: impostor.location }] }),
    );
    const summary = await recover({
      spool: w.source,
      open: async (loc) => (loc === impostor.location ? impostor : w.open(loc)),
      ownerProbe: async () => 'dead',
    });
    expect(summary.refused.map((e) => e.code)).toEqual(['EFOREIGN']);
    expect(readdirSync(join(w.root, 'impostor'))).toContain(`d${id}`);
    expect(readdirSync(join(w.root, 'S'))).toContain(`p${id}.${tx}`);
  });

  it('leaves the attempt of a live owner alone and reports it in flight', async () => {
    world = await posixWorld(2, 1);
    const { id, tx } = await plantAttempt(world);
    const summary = await recover({ spool: world.source, open: world.open, ownerProbe: async () => 'alive' });
    expect(summary.inFlight).toBe(1);
    expect(readdirSync(join(world.root, 'D0'))).toContain(`w${id}.${tx}`);
    const again = await recover({ spool: world.source, open: world.open, ownerProbe: async () => 'dead' });
    expect(again.rolledBack).toBe(1);
    expect(readdirSync(join(world.root, 'D0'))).not.toContain(`w${id}.${tx}`);
    expect(checkInvariants(world, 2)).toEqual({ inSource: 1, delivered: 0 });
  });

  it('rolls a committed attempt forward: publishes its staged copies, forgets the commit and the record', async () => {
    world = await posixWorld(2, 1);
    await plantAttempt(world, { state: 'committed' });
    const summary = await recover({ spool: world.source, open: world.open, ownerProbe: async () => 'dead' });
    expect(summary).toMatchObject({ rolledForward: 1, rolledBack: 0, refused: [], failed: [] });
    expect(checkInvariants(world, 2)).toEqual({ inSource: 0, delivered: 1 });
  });

  it('removes temp files of dead writers and keeps those of live ones, of other hosts, and every name not exactly a temp', async () => {
    world = await posixWorld(1, 0);
    const { hostname } = await import('node:os');
    // This process as a probe of this host would see it: pid 4242 is gone from its pid namespace.
    const self: OwnerInfo = {
      host: hostname(),
      bootId: 'boot',
      pidNamespace: '4026531836',
      pid: process.pid,
      startTime: '1',
    };
    const probe = makeOwnerProbe(self, (pid) =>
      pid === process.pid ? { state: 'present', startTime: '1' } : { state: 'absent' },
    );
    const elsewhere = tempName({ ...self, host: 'deadhost', pid: 999_999 });
    const otherNamespace = tempName({ ...self, pidNamespace: '4026532179', pid: 4242 });
    const dead = tempName({ ...self, pid: 4242 });
    const alive = tempName(self);
    const notOurs = ['t01ABC.999999.deadhost', 'todo.txt', 'tags', 'test.log'];
    for (const name of [elsewhere, otherNamespace, dead, alive, ...notOurs])
      writeFileSync(join(world.root, 'S', name), 'x');
    const summary = await recover({ spool: world.source, open: world.open, ownerProbe: probe });
    expect(summary.tempsRemoved).toBe(1);
    expect(summary.unknown).toBe(notOurs.length);
    expect(entries(join(world.root, 'S')).sort()).toEqual([elsewhere, otherNamespace, alive, ...notOurs].sort());
  });

  it('reports entries that are not protocol files and never touches them', async () => {
    world = await posixWorld(1, 0);
    writeFileSync(join(world.root, 'S', 'README'), 'hello');
    writeFileSync(join(world.root, 'S', '.nfs000123'), 'silly');
    const summary = await recover({ spool: world.source, open: world.open });
    expect(summary.unknown).toBe(2);
    expect(entries(join(world.root, 'S')).sort()).toEqual(['.nfs000123', 'README']);
  });
  it("does not report the NFS client's silly-renamed .nfs… files as unknown on every pass (issue 15), and never touches them", async () => {
    world = await posixWorld(1, 0);
    const silly = '.nfs00000000000a1b2c00000004'; // as the Linux client names them (seen on real NFS)
    writeFileSync(join(world.root, 'S', silly), 'open elsewhere');
    const events: string[] = [];
    const summary = await recover({ spool: world.source, open: world.open, onEvent: (e) => void events.push(e.type) });
    expect(summary.unknown).toBe(0);
    expect(events).not.toContain('unknown-entry');
    expect(entries(join(world.root, 'S'))).toEqual([silly]);
  });
});

describe('status and consume', () => {
  it("counts the NFS client's .nfs… files on their own, not as unknown entries (issue 15)", async () => {
    world = await posixWorld(1, 1);
    for (const n of ['.nfs00000000000a1b2c00000004', '.nfs00000000000a1b2d00000005'])
      writeFileSync(join(world.root, 'S', n), '');
    writeFileSync(join(world.root, 'S', '.nfs-but-not-the-shape'), '');
    const st = await spoolStatus(world.source);
    expect(st.nfsSilly).toBe(2);
    expect(st.counts.unknown).toBe(1);
    expect(st.unknown).toEqual([{ name: '.nfs-but-not-the-shape', kind: 'file' }]);
  });

  it('counts entries by role and lists unknown ones', async () => {
    world = await posixWorld(1, 3);
    writeFileSync(join(world.root, 'S', 'odd name'), '');
    const st = await spoolStatus(world.source);
    expect(st.counts.source).toBe(3);
    expect(st.counts.unknown).toBe(1);
    expect(st.unknown).toEqual([{ name: 'odd name', kind: 'file' }]);
  });

  it('hands each delivered message to the handler once, deletes it on success and releases it on failure', async () => {
    world = await posixWorld(1, 4);
    await fanOut({ source: world.source, destinations: [{ spool: world.dests[0]! }] });
    const ids = [...world.messages.keys()];
    const seen: string[] = [];
    const summary = await consume({
      spool: world.dests[0]!,
      handler: async (m) => {
        const chunks: Buffer[] = [];
        for await (const c of m.read()) chunks.push(Buffer.from(c));
        expect(Buffer.concat(chunks).equals(world!.messages.get(m.id)!)).toBe(true);
        seen.push(m.id);
        if (m.id === ids[0]) throw new Error('handler failed');
      },
    });
    expect(summary).toMatchObject({ consumed: 3, failed: 1 });
    expect(seen.sort()).toEqual([...ids].sort());
    expect(entries(join(world.root, 'D0'))).toEqual([`d${ids[0]}`]);
  });
});
