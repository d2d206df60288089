/**
 * Shared harness for protocol tests: spools on a real directory (fs-posix)
 * or in a memfs volume (fs-memory), an executor hook that stops a machine after N operations (a process crash:
 * everything done so far is on disk), and the invariants of docs/DESIGN.md §4
 * checked by reading the spools.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueue, initSpool, type SpoolBackend, type SpoolOpener } from '@fanout/core';
import { type ExecutorHooks } from '@fanout/core/internal';
import { PosixBackend } from '@fanout/fs-posix';
import { createMemorySpools } from '@fanout/fs-memory';

export interface PosixWorld {
  root: string;
  /** Names in spool `dir` ('S', 'D0', …), read directly from the storage. */
  list(dir: string): string[];
  /** Content of `name` in spool `dir`, read directly from the storage. */
  read(dir: string, name: string): Buffer;
  source: PosixBackend;
  dests: PosixBackend[];
  open: SpoolOpener;
  /** id -> original content */
  messages: Map<string, Buffer>;
  dispose(): void;
}

export async function posixWorld(
  destCount: number,
  messageCount: number,
  sizeOf: (i: number) => number = () => 100,
  parent: string = tmpdir(),
): Promise<PosixWorld> {
  const root = mkdtempSync(join(parent, 'fanout-proto-'));
  const source = new PosixBackend({ root: join(root, 'S') });
  const dests = Array.from({ length: destCount }, (_, i) => new PosixBackend({ root: join(root, `D${i}`) }));
  for (const b of [source, ...dests]) await initSpool(b);
  const byLocation = new Map<string, SpoolBackend>([source, ...dests].map((b) => [b.location, b]));
  const open: SpoolOpener = async (location) => {
    const b = byLocation.get(location);
    if (!b) throw new Error(`unknown spool ${location}`);
    return b;
  };
  const messages = new Map<string, Buffer>();
  for (let i = 0; i < messageCount; i++) {
    const content = Buffer.alloc(sizeOf(i), `message ${i} `);
    const id = await enqueue(source, content);
    messages.set(id, content);
  }
  return {
    root,
    source,
    dests,
    open,
    messages,
    list: (dir) => readdirSync(join(root, dir)),
    read: (dir, name) => readFileSync(join(root, dir, name)),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The same world in one memfs volume, through `@fanout/fs-memory`. */
export async function memoryWorld(
  destCount: number,
  messageCount: number,
  sizeOf: (i: number) => number = () => 100,
): Promise<PosixWorld> {
  const spools = createMemorySpools();
  const source = spools.open('memory://S');
  const dests = Array.from({ length: destCount }, (_, i) => spools.open(`memory://D${i}`));
  for (const b of [source, ...dests]) await initSpool(b);
  const byLocation = new Map<string, SpoolBackend>([source, ...dests].map((b) => [b.location, b]));
  const messages = new Map<string, Buffer>();
  for (let i = 0; i < messageCount; i++) {
    const content = Buffer.alloc(sizeOf(i), `message ${i} `);
    messages.set(await enqueue(source, content), content);
  }
  const vol = spools.volume;
  return {
    root: 'memory://',
    source: source as unknown as PosixBackend,
    dests: dests as unknown as PosixBackend[],
    open: async (location) => {
      const b = byLocation.get(location);
      if (!b) throw new Error(`unknown spool ${location}`);
      return b;
    },
    messages,
    list: (dir) => (vol.readdirSync(`/${dir}`) as string[]).map(String),
    read: (dir, name) => Buffer.from(vol.readFileSync(`/${dir}/${name}`) as Buffer),
    dispose: () => undefined,
  };
}

/** A crash of the process after `n` operations: op n+1 and every later one never happen. */
export class StopAfter extends Error {
  constructor() {
    super('simulated process crash');
  }
}

export function stopAfter(n: number): ExecutorHooks & { count: number } {
  const hooks = {
    count: 0,
    beforeOp(op: { type: string }) {
      if (op.type === 'all') return;
      if (hooks.count >= n) throw new StopAfter();
      hooks.count++;
    },
  };
  return hooks;
}

/** The names in a spool directory, without its identity file. */
export function entries(dir: string): string[] {
  return readdirSync(dir).filter((n) => n !== '.fanout-spool');
}

/** The names in spool directory `dir` of `world`, without its identity file. */
export function names(world: Pick<PosixWorld, 'list'>, dir: string): string[] {
  return world.list(dir).filter((n) => n !== '.fanout-spool');
}

/**
 * docs/DESIGN.md §4 after recovery: every message is either still in S (and in no
 * destination) or in every destination exactly once with `expected` content,
 * and no protocol leftovers (t, m, w, l) remain.
 */
export function checkInvariants(
  world: Pick<PosixWorld, 'list' | 'read' | 'messages'>,
  destCount: number,
  expected: (id: string, dest: number, original: Buffer) => Buffer = (_id, _d, original) => original,
): { inSource: number; delivered: number } {
  const sNames = names(world, 'S');
  // A waiting message may have its failed attempts counted beside it (a<id>.0, a<id>.1): that is its state, not a
  // leftover.
  const countOfWaiting = (n: string) =>
    /^a(.+)\.[01]$/.exec(n) !== null && sNames.includes(`s${/^a(.+)\.[01]$/.exec(n)![1]}`);
  const leftovers = sNames.filter((n) => !n.startsWith('s') && !countOfWaiting(n));
  if (leftovers.length) throw new Error(`leftovers in S: ${leftovers.join(' ')}`);
  let inSource = 0;
  let delivered = 0;
  for (let d = 0; d < destCount; d++) {
    const inD = names(world, `D${d}`);
    const bad = inD.filter((n) => !n.startsWith('d'));
    if (bad.length) throw new Error(`leftovers in D${d}: ${bad.join(' ')}`);
    for (const n of inD) if (!world.messages.has(n.slice(1))) throw new Error(`D${d} has unexpected ${n}`);
  }
  for (const [id, original] of world.messages) {
    const inS = sNames.includes(`s${id}`);
    const inD = Array.from({ length: destCount }, (_, d) => names(world, `D${d}`).includes(`d${id}`));
    if (inS) {
      if (inD.some(Boolean)) throw new Error(`message ${id} is in S and visible in a destination (duplicate)`);
      if (!world.read('S', `s${id}`).equals(original)) throw new Error(`s${id} content changed`);
      inSource++;
    } else {
      inD.forEach((present, d) => {
        if (!present) throw new Error(`message ${id} lost: not in S and not in D${d}`);
        const got = world.read(`D${d}`, `d${id}`);
        if (!got.equals(expected(id, d, original))) throw new Error(`d${id} in D${d} has wrong content`);
      });
      delivered++;
    }
  }
  return { inSource, delivered };
}

/**
 * A readable attempt id for tests, ULID-shaped as recovery requires
 * (`isValidTx`): `simTx('TX1')` is `0000000000000000000000TX1`-style.
 */
export function simTx(label: string): string {
  return `0${label.padStart(25, '0')}`;
}

/** What {@link plantAttempt} leaves: an attempt `tx` on message `id` as a crashed owner would. */
export interface PlantedAttempt {
  readonly id: string;
  readonly tx: string;
  readonly record: import('@fanout/core/internal').MarkerRecord;
}

/**
 * Leave spool state as a crashed attempt would: its record `m<tx>`, the
 * message taken (`s<id>` → `p<id>.<tx>`, or committed as `k<id>.<tx>`), and
 * staged copies `w<id>.<tx>` in every destination.
 */
export async function plantAttempt(
  w: PosixWorld,
  options: {
    tx?: string;
    state?: 'taken' | 'committed' | 'untaken';
    owner?: import('@fanout/core').OwnerInfo;
    protocol?: 'staged' | 'seed';
    leaseUntilMs?: number;
  } = {},
): Promise<PlantedAttempt> {
  const { encodeMarker } = await import('@fanout/core/internal');
  const { renameSync, writeFileSync } = await import('node:fs');
  const { hostname } = await import('node:os');
  const tx = options.tx ?? simTx('TX1');
  const id = [...w.messages.keys()][0]!;
  const uuidOf = (dir: string) => JSON.parse(readFileSync(join(w.root, dir, '.fanout-spool'), 'utf8')).uuid as string;
  const record = {
    tx,
    ids: [id],
    protocol: options.protocol ?? 'staged',
    source: { uuid: uuidOf('S'), location: w.source.location },
    destinations: w.dests.map((d, i) => ({ uuid: uuidOf(`D${i}`), location: d.location })),
    owner: options.owner ?? { host: hostname(), bootId: '', pidNamespace: '', pid: 999_999, startTime: '' },
    createdMs: Date.now(),
    leaseUntilMs: options.leaseUntilMs ?? Date.now() + 60_000,
  } as const;
  writeFileSync(join(w.root, 'S', `m${tx}`), encodeMarker(record));
  const state = options.state ?? 'taken';
  if (state !== 'untaken')
    renameSync(join(w.root, 'S', `s${id}`), join(w.root, 'S', `${state === 'taken' ? 'p' : 'k'}${id}.${tx}`));
  w.dests.forEach((_, d) =>
    writeFileSync(join(w.root, `D${d}`, record.protocol === 'staged' ? `w${id}.${tx}` : `d${id}`), w.messages.get(id)!),
  );
  return { id, tx, record };
}
