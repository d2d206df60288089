/**
 * Family "failing-removals": removals that fail — a spool remounted
 * read-only (EROFS), a permission change (EPERM), a disk or server error
 * (EIO) — while the protocol cleans up after itself.
 *
 * - phase `rollback`: a worker's own rollback, forced by a transform that
 *   throws for message M0 on the last destination (C3's failure case);
 * - phase `recovery`: recovery after a crash at every point of a clean
 *   fan-out (every state up to a bound), rolling back or forward.
 *
 * The backends are wrapped (`overrideBackend`) so that `remove` fails with a
 * `FanoutError` for: the n-th removal of the faulty phase (for every n), every
 * removal in one spool, or every removal. The faults are chosen by position
 * and spool, never by name, so they stay meaningful whatever the protocol's
 * internal names become. While faults last, anything may be left behind;
 * what counts is that once they stop, a recovery can still find it all: after
 * the faulty phase (and, in phase `rollback`, a crash right then), a recovery
 * without faults and the fan-out must leave every message in every
 * destination exactly once, nothing in the source and no other name anywhere
 * (`checkRecovered`).
 *
 * The core has no EROFS or EPERM error code: `@fanout/fs-posix` maps both to
 * `EACCES` (packages/fs-posix/src/errno.ts), so that is what is thrown for
 * them, with the errno named in the message.
 */
import { Transform } from 'node:stream';
import {
  FanoutError,
  fanOut,
  type FanOutDestination,
  overrideBackend,
  type ProtocolName,
  recover,
  type SpoolBackend,
  type TransformFactory,
} from '@fanout/core';
import { type Op } from '@fanout/core/internal';
import type { CrashSimulator } from '@fanout/crashfs';
import { allDead, type FamilyResult, type FamilyViolation, Found, listing, opLine, Sweep } from './family.js';
import { checkRecovered } from './invariants.js';
import { messagesOf, simTempName, simTx } from './scenario.js';
import { type BackendKind, cloneMachine, destPath, setUpMachine, SOURCE, spoolsOn } from './world.js';

/** One line of the failing-removals family. */
export interface FailingRemovalsScenario {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly messages: number;
  readonly batch: number;
  readonly phase: 'rollback' | 'recovery';
  /**
   * Crash states per crash point, at most (the fan-out's in phase `recovery`, the faulty phase's end in `rollback`).
   */
  readonly maxStates: number;
  /** Only every n-th crash point of the fan-out (phase `recovery`, the quick slice); default 1. */
  readonly stride?: number;
}

/** The errno a failing removal stands for. */
export type RemovalErrno = 'EROFS' | 'EPERM' | 'EIO';
const ERRNOS: readonly RemovalErrno[] = ['EROFS', 'EPERM', 'EIO'];

/** Which removals fail while the faults last. */
type Fault =
  | { readonly kind: 'nth'; readonly n: number; readonly errno: RemovalErrno }
  | { readonly kind: 'spool'; readonly location: string; readonly errno: RemovalErrno }
  | { readonly kind: 'every'; readonly errno: RemovalErrno };

function describeFault(f: Fault): string {
  return f.kind === 'nth'
    ? `removal #${f.n} of the faulty phase fails (${f.errno})`
    : f.kind === 'spool'
      ? `every removal in ${f.location} fails (${f.errno})`
      : `every removal fails (${f.errno})`;
}

/** The error a real backend would throw for `errno` (see the module comment for EROFS and EPERM). */
export function removalError(errno: RemovalErrno, spool: string, file: string): FanoutError {
  if (errno === 'EIO') return new FanoutError('EIO', 'input/output error (injected EIO)', { spool, file });
  return new FanoutError(
    'EACCES',
    `${errno === 'EROFS' ? 'read-only file system' : 'operation not permitted'} (injected ${errno})`,
    { spool, file },
  );
}

/** Faults stay on until `on` is cleared; `removes` numbers every removal meanwhile. */
interface FaultState {
  on: boolean;
  removes: number;
}

function faulty(b: SpoolBackend, fault: Fault | undefined, state: FaultState, trace: string[]): SpoolBackend {
  return overrideBackend(b, {
    remove: async (name: string) => {
      if (!state.on) return b.remove(name);
      const i = state.removes++;
      const hit =
        fault !== undefined &&
        (fault.kind === 'every' ||
          (fault.kind === 'nth' && fault.n === i) ||
          (fault.kind === 'spool' && fault.location === b.location));
      if (!hit) return b.remove(name);
      trace.push(`fault: remove ${name} in ${b.location} fails with ${fault.errno}`);
      throw removalError(fault.errno, b.location, name);
    },
  });
}

/**
 * A transform that fails the copy of message M0 (forcing the worker's rollback), once: only the faulty phase uses it.
 */
const failM0: TransformFactory = ({ id }) =>
  id === 'M0'
    ? new Transform({
        transform(_chunk, _encoding, done) {
          done(new Error('transform failed (injected, to force a rollback)'));
        },
      })
    : undefined;

export function failingRemovalsName(s: FailingRemovalsScenario): string {
  return (
    `failing-removals ${s.protocol} ${s.backend} dests=${s.dests} msgs=${s.messages} ` +
    `batch=${s.batch} during ${s.phase === 'rollback' ? 'a rollback by the worker' : 'recovery after a crash'}` +
    `${(s.stride ?? 1) > 1 ? ` stride=${s.stride}` : ''}`
  );
}

/** Run one scenario of the family, stopping after `maxViolations` violations. */
export async function runFailingRemovals(
  s: FailingRemovalsScenario,
  onViolation: (v: FamilyViolation) => void = () => undefined,
  maxViolations = 1,
): Promise<FamilyResult> {
  const name = failingRemovalsName(s);
  const messages = messagesOf({ messages: s.messages, transform: false });
  const start = await setUpMachine(s.backend, s.dests, messages);
  const sweep = new Sweep(name, onViolation, maxViolations);
  const report = sweep.report.bind(sweep);
  const traced = (actor: string, trace: string[]) => ({
    beforeOp: (op: Op) => void (op.type !== 'all' && trace.push(opLine(actor, op))),
  });
  const destinationsOf = (dests: SpoolBackend[], failing: boolean): FanOutDestination[] =>
    dests.map((spool, d) => (failing && d === dests.length - 1 ? { spool, transform: failM0 } : { spool }));

  /** The faults stopped: a recovery without them, the fan-out, and the invariant. */
  const afterFaults = async (sim: CrashSimulator, setting: string, trace: string[]) => {
    sweep.runs++;
    try {
      const sp = spoolsOn(sim, s.backend, s.dests);
      trace.push(`faults stop; ${listing(sim, s.dests)}`);
      const r = await recover({
        spool: sp.source,
        open: sp.open,
        ownerProbe: allDead,
        hooks: traced('recovery', trace),
      });
      sweep.recoveries++;
      for (const e of r.refused) trace.push(`recovery refused: ${e.oneLine()}`);
      const f = await fanOut({
        source: sp.source,
        destinations: destinationsOf(sp.dests, false),
        protocol: s.protocol,
        batchSize: s.batch,
        ownerProbe: allDead,
        hooks: traced('fan-out', trace),
      });
      sweep.recoveries++;
      for (const x of f.failed) trace.push(`fan-out: ${x.id} failed: ${x.error.oneLine()}`);
      trace.push(`end: ${listing(sim, s.dests)}`);
      const end = checkRecovered(sim, s.dests, messages);
      if (typeof end === 'string') report(setting, end, trace);
      else if (end.inSource > 0)
        report(
          setting,
          `${end.inSource} message(s) still in ${SOURCE} after the faults stopped, a recovery and the fan-out`,
          trace,
        );
    } catch (err) {
      if (err instanceof Found) throw err;
      report(setting, `failed: ${err instanceof Error ? err.message : String(err)}`, trace);
    }
  };

  /** The faults to try in a phase that removes `removals` names. */
  const faultsFor = (removals: number, everyErrno: boolean): Fault[] => [
    // For every removal, each errno (phase rollback) or one errno in turn (recovery, which has many more states).
    ...Array.from({ length: removals }, (_, n) =>
      everyErrno
        ? ERRNOS.map((errno) => ({ kind: 'nth', n, errno }) as const)
        : [{ kind: 'nth', n, errno: ERRNOS[n % ERRNOS.length]! } as const],
    ).flat(),
    ...[SOURCE, ...Array.from({ length: s.dests }, (_, d) => destPath(d))].map(
      (location, i) => ({ kind: 'spool', location, errno: ERRNOS[i % ERRNOS.length]! }) as const,
    ),
    { kind: 'every', errno: 'EIO' },
  ];

  /** Phase `rollback`: the worker's run with the failing transform (and a recovery) while removals fail. */
  const rollbackPhase = async () => {
    const faultyPhase = async (sim: CrashSimulator, fault: Fault | undefined, trace: string[]) => {
      const state: FaultState = { on: true, removes: 0 };
      const sp = spoolsOn(sim, s.backend, s.dests, (b) => faulty(b, fault, state, trace));
      let txs = 0;
      let temps = 0;
      const r = await fanOut({
        source: sp.source,
        destinations: destinationsOf(sp.dests, true),
        protocol: s.protocol,
        batchSize: s.batch,
        recoverFirst: false,
        ownerProbe: allDead,
        newTx: () => simTx('TX', ++txs),
        tempName: () => simTempName(++temps),
        hooks: traced('worker', trace),
      }).catch((err: unknown) => {
        trace.push(`worker failed: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
      for (const f of r?.failed ?? []) trace.push(`worker: ${f.id} failed: ${f.error.oneLine()}`);
      // The recovery a watching worker runs next, while the faults still last.
      trace.push(`recovery while the faults last; ${listing(sim, s.dests)}`);
      await recover({
        spool: sp.source,
        open: sp.open,
        ownerProbe: allDead,
        hooks: traced('recovery (faulty)', trace),
      }).catch((err: unknown) => trace.push(`recovery failed: ${err instanceof Error ? err.message : String(err)}`));
      sweep.recoveries++;
      state.on = false;
      return state.removes;
    };
    const removals = await faultyPhase(cloneMachine(start), undefined, []);
    for (const fault of faultsFor(removals, true)) {
      const sim = cloneMachine(start);
      const trace: string[] = [];
      await faultyPhase(sim, fault, trace);
      const setting = `${describeFault(fault)}; a copy of M0 failed (transform), so the worker rolls it back`;
      const at = sim.opCount;
      // The faults stop with no crash …
      sweep.states++;
      await afterFaults(sim, setting, [...trace]);
      // … or the machine crashes right then, before they stop (each state its own machine, from the log up to `at`).
      for (const state of sim.crashStates({ after: at, maxStates: s.maxStates })) {
        sweep.states++;
        await afterFaults(
          state.sim,
          `${setting}; then the machine crashes (not durable: ${state.lost.join('; ') || 'nothing'})`,
          [...trace],
        );
      }
    }
  };

  /** Phase `recovery`: a crash at every point of a clean fan-out, then a recovery while removals fail. */
  const recoveryPhase = async () => {
    const sim = cloneMachine(start);
    {
      const sp = spoolsOn(sim, s.backend, s.dests);
      let txs = 0;
      let temps = 0;
      const r = await fanOut({
        source: sp.source,
        destinations: destinationsOf(sp.dests, false),
        protocol: s.protocol,
        batchSize: s.batch,
        recoverFirst: false,
        ownerProbe: allDead,
        newTx: () => simTx('TX', ++txs),
        tempName: () => simTempName(++temps),
      });
      if (r.committed !== s.messages)
        throw new Error(`${name}: the clean run committed ${r.committed} of ${s.messages}`);
    }
    const seen = new Set<string>();
    const total = sim.opCount;
    for (let k = 0; k <= total; k += s.stride ?? 1) {
      for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
        if (seen.has(state.key)) continue;
        seen.add(state.key);
        sweep.states++;
        const faultyRecovery = async (m: CrashSimulator, fault: Fault | undefined, trace: string[]) => {
          const fs: FaultState = { on: true, removes: 0 };
          const sp = spoolsOn(m, s.backend, s.dests, (b) => faulty(b, fault, fs, trace));
          await recover({
            spool: sp.source,
            open: sp.open,
            ownerProbe: allDead,
            hooks: traced('recovery (faulty)', trace),
          }).catch((err: unknown) =>
            trace.push(`recovery failed: ${err instanceof Error ? err.message : String(err)}`),
          );
          sweep.recoveries++;
          fs.on = false;
          return fs.removes;
        };
        const removals = await faultyRecovery(cloneMachine(state.sim), undefined, []);
        if (removals === 0) continue;
        for (const fault of faultsFor(removals, false)) {
          const m = cloneMachine(state.sim);
          const trace = [
            ...sim.describeOps(0, k).map((l) => `fan-out: ${l}`),
            `machine crashes after ${k} operations; not durable: ${state.lost.join('; ') || 'nothing'}`,
            `after reboot: ${listing(m, s.dests)}`,
          ];
          await faultyRecovery(m, fault, trace);
          await afterFaults(
            m,
            `fan-out crashed after ${k} operations; ${describeFault(fault)} in the recovery after the reboot`,
            trace,
          );
        }
      }
    }
  };

  return sweep.run(() => (s.phase === 'rollback' ? rollbackPhase() : recoveryPhase()));
}
