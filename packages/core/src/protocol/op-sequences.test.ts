/**
 * The order of operations of `transaction()` and `recoverAttempt()`, pinned
 * per protocol, destination count and batch size. The machines run by hand
 * against a scripted executor (a set of names per spool, no backend is
 * called), so any reordering, added or dropped step fails here before the
 * crash checker has to find out why.
 */
import { describe, expect, it } from 'vitest';
import type { SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError } from '../errors/fanout-error.js';
import type { ProtocolName } from '../marker/marker-codec.js';
import { recoverAttempt } from '../recovery/recovery-machine.js';
import type { Machine, Op, Settled } from './ops.js';
import { markerFor, transaction } from './transaction.js';
import type { TransactionPlan } from './transaction-plan.js';

/**
 * A spool the machines can name; the executor below answers for it (a copy's content may open `read`, never consumed).
 */
function spool(location: string): SpoolBackend {
  const never = (): never => {
    throw new Error(`${location}: the scripted executor answers every op; no backend call is expected`);
  };
  return {
    location,
    ensureContainer: never,
    createExclusive: never,
    publish: never,
    rename: never,
    link: never,
    remove: never,
    list: never,
    stat: never,
    read: async function* () {},
    syncDir: never,
    close: never,
  };
}

/** The names in each spool, with the content of small files (locks) where the machine gave bytes. */
type World = Map<SpoolBackend, Map<string, string>>;

function fail(code: 'EEXIST' | 'ENOENT', s: SpoolBackend, file: string): FanoutError {
  return new FanoutError(code, `scripted ${code}`, { spool: s.location, file });
}

/** What the scripted executor answers `op` with; throws what a backend would. */
function answer(world: World, op: Exclude<Op, { type: 'all' }>): unknown {
  const files = world.get(op.spool)!;
  switch (op.type) {
    case 'create': {
      if (files.has(op.name)) throw fail('EEXIST', op.spool, op.name);
      const content = op.content();
      files.set(op.name, content instanceof Uint8Array ? new TextDecoder().decode(content) : 'copy');
      return 5;
    }
    case 'publish':
    case 'rename': {
      const content = files.get(op.from);
      if (content === undefined) throw fail('ENOENT', op.spool, op.from);
      if (files.has(op.to)) throw fail('EEXIST', op.spool, op.to);
      files.delete(op.from);
      files.set(op.to, content);
      return undefined;
    }
    case 'link': {
      const content = files.get(op.from);
      if (content === undefined) throw fail('ENOENT', op.spool, op.from);
      files.set(op.to, content);
      return undefined;
    }
    case 'remove':
      return files.delete(op.name);
    case 'stat':
      return files.has(op.name)
        ? { kind: 'file', size: 5, mtimeMs: 0, fileId: `${op.spool.location}/${op.name}`, nlink: 1 }
        : undefined;
    case 'syncDir':
      return undefined;
    case 'readSmall':
      return files.get(op.name);
    case 'twins':
      return [];
  }
}

/** One trace line: step, op and names, spools by location; an `all` lists its members below it. */
function describe1(op: Op): string[] {
  switch (op.type) {
    case 'all':
      return [`${op.step} all`, ...op.ops.flatMap(describe1).map((line) => `  ${line}`)];
    case 'create':
    case 'remove':
    case 'stat':
    case 'readSmall':
      return [`${op.step} ${op.type} ${op.spool.location} ${op.name}`];
    case 'publish':
    case 'rename':
    case 'link':
      return [`${op.step} ${op.type} ${op.spool.location} ${op.from} -> ${op.to}`];
    case 'twins':
      return [`${op.step} twins ${op.spool.location} ${op.except}`];
    case 'syncDir':
      return [`${op.step} syncDir ${op.spool.location}`];
  }
}

/**
 * Run `machine` by hand: answer each yielded op from `world`, record it, and
 * stop (returning `undefined`) before the first op `stopAt` accepts.
 */
function drive<T>(
  machine: Machine<T>,
  world: World,
  trace: string[],
  stopAt?: (op: Op) => boolean,
  failing?: (op: Op) => FanoutError | undefined,
): T | undefined {
  const perform = (member: Op): unknown => {
    const injected = failing?.(member);
    if (injected) throw injected;
    return answer(world, member as Exclude<Op, { type: 'all' }>);
  };
  let next = machine.next();
  while (!next.done) {
    const op = next.value;
    if (stopAt?.(op)) return undefined;
    trace.push(...describe1(op));
    let result: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      result = {
        ok: true,
        value:
          op.type === 'all'
            ? op.ops.map((member): Settled => {
                try {
                  return { ok: true, value: perform(member) };
                } catch (error) {
                  return { ok: false, error };
                }
              })
            : perform(op),
      };
    } catch (error) {
      result = { ok: false, error };
    }
    next = result.ok ? machine.next(result.value) : machine.throw(result.error);
  }
  return next.value;
}

const OWNER = { host: 'host-a', bootId: 'boot-a', pidNamespace: '4026531836', pid: 100, startTime: '5000' };

function setting(protocol: ProtocolName, destinations: number, batch: number) {
  const S = spool('S');
  const dests = Array.from({ length: destinations }, (_, d) => spool(`D${d}`));
  const ids = Array.from({ length: batch }, (_, i) => `M${i + 1}`);
  const world: World = new Map([
    [S, new Map(ids.map((id) => [`s${id}`, 'message']))],
    ...dests.map((d) => [d, new Map()] as [SpoolBackend, Map<string, string>]),
  ]);
  let temp = 0;
  const plan: TransactionPlan = {
    tx: 'T1',
    ids,
    protocol,
    source: { backend: S, identity: { uuid: '00000000-0000-4000-8000-000000000000', format: 1 } },
    destinations: dests.map((d, k) => ({
      spool: { backend: d, identity: { uuid: `00000000-0000-4000-8000-00000000000${k + 1}`, format: 1 } },
    })),
    owner: OWNER,
    leaseMs: 60_000,
    now: () => 1_000,
    tempName: () => `t${++temp}`,
  };
  return { S, dests, world, plan };
}

const CASES = (['staged', 'seed'] as const).flatMap((protocol) =>
  [1, 3].flatMap((d) => [1, 4].map((b) => [protocol, d, b] as const)),
);

describe('transaction() op sequence', () => {
  it.each(CASES)('%s, %i destination(s), batch %i: commits every message, in the pinned order', (protocol, d, b) => {
    const { world, plan, S, dests } = setting(protocol, d, b);
    const trace: string[] = [];
    const outcome = drive(transaction(plan), world, trace)!;
    expect(outcome.failed.map((f) => f.error.message)).toEqual([]);
    expect(outcome.committed).toEqual(plan.ids);
    expect([...world.get(S)!.keys()]).toEqual([]);
    for (const dest of dests) expect([...world.get(dest)!.keys()].sort()).toEqual(plan.ids.map((id) => `d${id}`));
    expect(trace).toMatchSnapshot();
  });
});

/** An injected storage failure of the op on `name` in `spool` (by location) of type `type`. */
function failOn(type: Op['type'], location: string, name: string, code: 'EIO' | 'ENOENT' = 'EIO') {
  return (op: Op): FanoutError | undefined =>
    op.type === 'all'
      ? undefined
      : op.type === type && op.spool.location === location && 'name' in op && op.name === name
        ? new FanoutError(code, `scripted ${code}`, { spool: location, file: name })
        : op.type === type && op.spool.location === location && 'from' in op && op.from === name
          ? new FanoutError(code, `scripted ${code}`, { spool: location, file: name })
          : undefined;
}

describe('transaction() op sequence when something fails', () => {
  it.each(CASES)(
    '%s, %i destination(s), batch %i: a copy of M1 fails in the last destination: M1 is backed out, the rest commit',
    (protocol, d, b) => {
      const { world, plan, S, dests } = setting(protocol, d, b);
      const copy = protocol === 'staged' ? 'wM1.T1' : 'dM1';
      const trace: string[] = [];
      const outcome = drive(transaction(plan), world, trace, undefined, failOn('create', `D${d - 1}`, copy))!;
      expect(outcome.failed.map((f) => f.id)).toEqual(['M1']);
      expect(outcome.committed).toEqual(plan.ids.slice(1));
      expect([...world.get(S)!.keys()]).toEqual(['sM1']);
      for (const dest of dests)
        expect([...world.get(dest)!.keys()].sort()).toEqual(plan.ids.slice(1).map((id) => `d${id}`));
      expect(trace).toMatchSnapshot();
    },
  );

  it.each(CASES)(
    '%s, %i destination(s), batch %i: the lease is lost before the commit: every message is backed out',
    (protocol, d, b) => {
      const { world, plan, S, dests } = setting(protocol, d, b);
      const trace: string[] = [];
      const lost = { ...plan, lease: { renewedMs: 1_000, generation: 1, lost: true, owned: new Set<string>() } };
      const outcome = drive(transaction(lost), world, trace)!;
      expect(outcome.leaseRanOut).toEqual(plan.ids);
      expect([...world.get(S)!.keys()].sort()).toEqual(plan.ids.map((id) => `s${id}`));
      for (const dest of dests) expect([...world.get(dest)!.keys()]).toEqual([]);
      expect(trace).toMatchSnapshot();
    },
  );

  it.each(CASES)(
    '%s, %i destination(s), batch %i: a recoverer won the fence on M1 at the commit: the rest commit, the record stays',
    (protocol, d, b) => {
      const { world, plan, S } = setting(protocol, d, b);
      const trace: string[] = [];
      const outcome = drive(transaction(plan), world, trace, undefined, (op) =>
        op.type === 'rename' && op.step === 'C5' && op.from === 'pM1.T1'
          ? new FanoutError('ENOENT', 'scripted: a recoverer renamed it first', { spool: 'S', file: op.from })
          : undefined,
      )!;
      expect(outcome.failed.map((f) => [f.id, f.error.code])).toEqual([['M1', 'EABORTED']]);
      expect(outcome.committed).toEqual(plan.ids.slice(1));
      expect(world.get(S)!.has('mT1')).toBe(true);
      expect(trace).toMatchSnapshot();
    },
  );
});

describe('recoverAttempt() op sequence', () => {
  it.each(CASES)(
    '%s, %i destination(s), batch %i: the attempt holds no name of its messages: its leftovers go',
    (protocol, d, b) => {
      const { world, plan, S, dests } = setting(protocol, d, b);
      drive(transaction(plan), world, [], (op) => op.step === 'C5');
      // As if a rollback had given every message back but could not remove its copies (and seed locks).
      const files = world.get(S)!;
      for (const id of plan.ids) {
        files.delete(`p${id}.T1`);
        files.set(`s${id}`, 'message');
      }
      const trace: string[] = [];
      const outcome = drive(recoverAttempt(S, markerFor(plan), dests), world, trace)!;
      expect(outcome).toMatchObject({ rolledBack: 0, rolledForward: 0, problems: [], retired: true });
      expect([...world.get(S)!.keys()].sort()).toEqual(plan.ids.map((id) => `s${id}`));
      for (const dest of dests) expect([...world.get(dest)!.keys()]).toEqual([]);
      expect(trace).toMatchSnapshot();
    },
  );

  it.each(CASES)(
    '%s, %i destination(s), batch %i: rolls back an attempt that crashed before its commit',
    (protocol, d, b) => {
      const { world, plan, S, dests } = setting(protocol, d, b);
      drive(transaction(plan), world, [], (op) => op.step === 'C5');
      const trace: string[] = [];
      const outcome = drive(recoverAttempt(S, markerFor(plan), dests), world, trace)!;
      expect(outcome).toMatchObject({ rolledBack: b, rolledForward: 0, problems: [], retired: true });
      expect([...world.get(S)!.keys()].sort()).toEqual(plan.ids.map((id) => `s${id}`));
      for (const dest of dests) expect([...world.get(dest)!.keys()]).toEqual([]);
      expect(trace).toMatchSnapshot();
    },
  );

  it.each(CASES)(
    '%s, %i destination(s), batch %i: rolls forward an attempt that crashed after its commit',
    (protocol, d, b) => {
      const { world, plan, S, dests } = setting(protocol, d, b);
      drive(transaction(plan), world, [], (op) => op.step === 'P' || op.step === 'U');
      const trace: string[] = [];
      const outcome = drive(recoverAttempt(S, markerFor(plan), dests), world, trace)!;
      expect(outcome).toMatchObject({ rolledBack: 0, rolledForward: b, problems: [], retired: true });
      expect([...world.get(S)!.keys()]).toEqual([]);
      for (const dest of dests) expect([...world.get(dest)!.keys()].sort()).toEqual(plan.ids.map((id) => `d${id}`));
      expect(trace).toMatchSnapshot();
    },
  );
});
