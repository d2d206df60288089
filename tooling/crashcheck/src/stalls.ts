/**
 * Family "stalls": a copy that stops making progress — a transform that
 * never calls back, a source whose read never yields, a destination whose
 * write never returns (a hung NFS server, a wedged FUSE daemon) — for message
 * M0, then either never resumes or resumes late, after the worker gave up.
 *
 * Invariants:
 * - the fan-out ends (a watchdog far above the stall timeout): a run that
 *   hangs, or ends "done", with work undone is the defect this family pins;
 * - it says so: every message is either committed or reported failed, and
 *   the stalled one is reported with `ETIMEDOUT`;
 * - the stalled message is back in the source — or, while a destination's
 *   call is still in the air, held backed out (`b<id>.<tx>`) under its
 *   attempt's record until the call returns, when the owner gives it back —
 *   and nothing of it is visible in any destination (a late write included);
 * - then a crash at every point of that run (every state up to a bound),
 *   recovery, the fan-out and consumers deliver every message exactly once
 *   per destination and leave nothing else behind.
 */
import { Transform } from 'node:stream';
import {
  type ContentSource,
  type CreateOptions,
  fanOut,
  type FanOutDestination,
  overrideBackend,
  type ProtocolName,
  type SpoolBackend,
  type TransformFactory,
} from '@fanout/core';
import { type Op } from '@fanout/core/internal';
import {
  allDead,
  type FamilyResult,
  type FamilyViolation,
  finishAndCheck,
  Found,
  listing,
  opLine,
  Sweep,
  Tally,
} from './family.js';
import { messagesOf, simTempName, simTx } from './scenario.js';
import { type BackendKind, cloneMachine, setUpMachine, SOURCE, spoolsOn } from './world.js';

/** Where the copy of M0 stalls. */
export type StallPoint = 'transform' | 'source-read' | 'destination-write';

/** One line of the stalls family. */
export interface StallsScenario {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly messages: number;
  readonly batch: number;
  readonly stall: StallPoint;
  /** `never`: the stalled call never returns; `late`: it returns after the worker has given up on it. */
  readonly resumes: 'never' | 'late';
  /** Crash states per crash point of the stalled run, at most. */
  readonly maxStates: number;
  /** Only every n-th crash point (the quick slice); default 1. */
  readonly stride?: number;
}

/** The stall timeout the worker runs with, and how long the watchdog waits for the run to end. */
const STALL_MS = 40;
const WATCHDOG_MS = 4000;

export function stallsName(s: StallsScenario): string {
  return (
    `stalls ${s.protocol} ${s.backend} dests=${s.dests} msgs=${s.messages} batch=${s.batch} ${s.stall} stalls, ` +
    `resumes ${s.resumes}${(s.stride ?? 1) > 1 ? ` stride=${s.stride}` : ''}`
  );
}

/** A gate the stalled call waits at; `open()` lets it go on (mode `late`). */
class Gate {
  private release!: () => void;
  readonly passed = new Promise<void>((resolve) => (this.release = resolve));
  open(): void {
    this.release();
  }
}

/** An async iterable that waits at `gate` before yielding anything of `inner`. */
async function* after(gate: Gate, inner: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  await gate.passed;
  yield* inner;
}

/** The stalled run's transform: M0's copy to the last destination never calls back until the gate opens. */
function stallingTransform(gate: Gate, trace: string[]): TransformFactory {
  return ({ id }) =>
    id === 'M0'
      ? new Transform({
          transform(chunk: Buffer, _e, done) {
            trace.push('stall: the transform of M0 stops calling back');
            void gate.passed.then(() => done(null, chunk));
          },
        })
      : undefined;
}

/** Backends whose read of M0 (source) or first copy write (last destination) waits at the gate. */
function stallingBackend(
  b: SpoolBackend,
  s: StallsScenario,
  gate: Gate,
  trace: string[],
  isLastDest: boolean,
): SpoolBackend {
  let stalledOnce = false;
  if (s.stall === 'source-read' && b.location === SOURCE) {
    return overrideBackend(b, {
      read: (name: string) => {
        if (stalledOnce || !name.includes('M0')) return b.read(name);
        stalledOnce = true;
        trace.push(`stall: the read of ${SOURCE}/${name} yields nothing`);
        return after(gate, b.read(name));
      },
    });
  }
  if (s.stall === 'destination-write' && isLastDest) {
    return overrideBackend(b, {
      createExclusive: async (name: string, content: ContentSource, options?: CreateOptions) => {
        if (!stalledOnce && name.includes('M0')) {
          stalledOnce = true;
          trace.push(`stall: the write of ${b.location}/${name} does not return`);
          await gate.passed;
          trace.push(`the stalled write of ${b.location}/${name} goes on, late`);
        }
        return b.createExclusive(name, content, options);
      },
    });
  }
  return b;
}

const settleWithin = <T>(p: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> =>
  Promise.race([
    p.then((value) => ({ done: true as const, value })),
    new Promise<{ done: false }>((resolve) => setTimeout(() => resolve({ done: false }), ms)),
  ]);

/** Run one scenario of the family, stopping after `maxViolations` violations. */
export async function runStalls(
  s: StallsScenario,
  onViolation: (v: FamilyViolation) => void = () => undefined,
  maxViolations = 1,
): Promise<FamilyResult> {
  const name = stallsName(s);
  const messages = messagesOf({ messages: s.messages, transform: false });
  const start = await setUpMachine(s.backend, s.dests, messages);
  const sweep = new Sweep(name, onViolation, maxViolations);
  const report = sweep.report.bind(sweep);
  const world = { protocol: s.protocol, backend: s.backend, dests: s.dests, batch: s.batch };

  const sim = cloneMachine(start);
  const trace: string[] = [];
  const gate = new Gate();
  const setting =
    `the copy of M0 stalls (${s.stall}) ` +
    `for good${s.resumes === 'late' ? ', then goes on after the worker gave up' : ''}; ` +
    `stall timeout ${STALL_MS} ms`;
  try {
    sweep.runs++;
    const sp = spoolsOn(sim, s.backend, s.dests);
    const source = stallingBackend(sp.source, s, gate, trace, false);
    const destinations: FanOutDestination[] = sp.dests.map((spool, d) => {
      const last = d === sp.dests.length - 1;
      const b = stallingBackend(spool, s, gate, trace, last);
      return s.stall === 'transform' && last ? { spool: b, transform: stallingTransform(gate, trace) } : { spool: b };
    });
    let txs = 0;
    let temps = 0;
    const run = fanOut({
      source,
      destinations,
      protocol: s.protocol,
      batchSize: s.batch,
      recoverFirst: false,
      ownerProbe: allDead,
      stallTimeoutMs: STALL_MS,
      newTx: () => simTx('TX', ++txs),
      tempName: () => simTempName(++temps),
      hooks: { beforeOp: (op: Op) => void (op.type !== 'all' && trace.push(opLine('worker', op))) },
    });
    const outcome = await settleWithin(run, WATCHDOG_MS);
    if (!outcome.done) {
      report(
        setting,
        `the fan-out neither finished nor failed within ${WATCHDOG_MS} ms: a stalled copy hangs the run`,
        trace,
      );
      return sweep.run(async () => undefined);
    }
    const r = outcome.value;
    for (const f of r.failed) trace.push(`worker: ${f.id} failed: ${f.error.oneLine()}`);
    trace.push(`worker: ${r.committed} committed, ${r.failed.length} failed`);
    trace.push(`after the run: ${listing(sim, s.dests)}`);
    if (s.resumes === 'late') {
      gate.open();
      // The late call lands, then its owner finishes the back-out (its effects are part of the run the crashes
      // are taken from); wait until the message is back, or give up and report what is left.
      for (let i = 0; i < 100 && !sim.list(SOURCE).includes('sM0'); i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      trace.push(`after the stalled call returned: ${listing(sim, s.dests)}`);
      if (!sim.list(SOURCE).includes('sM0'))
        report(setting, 'the stalled message M0 is not back in the source after the stalled call returned', trace);
    }
    const listed = sim.list(SOURCE);
    // A message whose call is still in the air is held backed out (b<id>.<tx>) under its record until the call returns.
    const held = (id: string) =>
      listed.some((n) => n.startsWith(`b${id}.`) && listed.includes(`m${n.slice(n.indexOf('.') + 1)}`));
    const inSource = new Set(
      messages.map((m) => m.id).filter((id) => listed.includes(`s${id}`) || (s.resumes === 'never' && held(id))),
    );
    const failed = new Set(r.failed.map((f) => f.id));
    const m0 = r.failed.find((f) => f.id === 'M0');
    if (m0 === undefined)
      report(setting, 'the stalled message M0 was not reported failed: the run ended "done" with work undone', trace);
    else if (m0.error.code !== 'ETIMEDOUT')
      report(setting, `the stalled message M0 was reported as ${m0.error.code}, not ETIMEDOUT`, trace);
    for (const m of messages) {
      if (inSource.has(m.id) && !failed.has(m.id))
        report(setting, `${m.id} is still in ${SOURCE} but the run did not report it failed`, trace);
      if (!inSource.has(m.id) && failed.has(m.id))
        report(setting, `${m.id} was reported failed but is no longer waiting in ${SOURCE}`, trace);
    }
    if (r.committed + r.failed.length !== s.messages)
      report(setting, `${r.committed} committed + ${r.failed.length} failed ≠ ${s.messages} messages`, trace);
    for (let d = 0; d < s.dests; d++) {
      const there = sim.list(`/D${d}`);
      if (held('M0') && s.resumes === 'never') {
        // Held under its record while a call is in the air: its copies may wait there, but none a consumer can take.
        if (there.includes('dM0') && !there.includes('lM0'))
          report(setting, `the stalled message M0, held while a call is in the air, is visible in /D${d}`, trace);
      } else if (there.some((n) => n === 'dM0' || n.startsWith('wM0.') || n === 'lM0'))
        report(setting, `the stalled message M0 left a copy in /D${d} after the worker gave up on it`, trace);
    }
  } catch (err) {
    if (err instanceof Found) return sweep.run(async () => undefined);
    throw err;
  }

  // A crash at every point of that run, then recovery, the fan-out and the consumers.
  const seen = new Set<string>();
  return sweep.run(async () => {
    for (let k = 0; k <= sim.opCount; k += s.stride ?? 1) {
      for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
        if (seen.has(state.key)) continue;
        seen.add(state.key);
        sweep.states++;
        sweep.runs++;
        const m = state.sim;
        const t = new Tally();
        const crashSetting = `${setting}; the machine crashes after ${k} operations of that run`;
        t.trace.push(
          ...trace.slice(0, 400),
          `machine crashes after ${k} operations; not durable: ${state.lost.join('; ') || 'nothing'}`,
          `after reboot: ${listing(m, s.dests)}`,
        );
        await sweep.guard(
          () => crashSetting,
          () => t.trace,
          async () => {
            const bad = await finishAndCheck(m, world, messages, t, sweep, { recover: true });
            if (bad) report(crashSetting, bad, t.trace);
          },
        );
      }
    }
  });
}
