/**
 * Family "paused-owner": an owner that stops for longer than its lease (a GC
 * pause, SIGSTOP, a VM migration, a hung NFS call) and then carries on.
 *
 * Worker W1 runs `fanOut` on "host A" with a long lease (so the real-time
 * renewal timer never fires during a run) and a virtual clock. It is paused
 * at step k, for every k of a clean run: either between two operations (its
 * `beforeOp` hook awaits a gate), or inside one — the operation took effect
 * but W1 has not seen its result (a backend wrapper blocks after the call).
 * While W1 is paused the clock moves past its lease, and from "another host"
 * (an owner probe that cannot tell, so leases decide) a recoverer runs, then
 * optionally a second worker W2 and a consumer, all to completion. Then W1
 * resumes and finishes (its errors are fine). A final recovery (everyone is
 * dead by then), fan-out and drain must leave every message consumed exactly
 * once from every destination, nothing in the source and nothing else
 * anywhere. Variants put the others' clock ahead of W1's by just under a
 * third of the lease, the skew docs/MULTI-WORKER.md allows.
 *
 * No crash here: every run is one schedule ending in one state, which is what
 * `states` counts (as the interleaving mode counts its end states).
 */
import {
  fanOut,
  type FanOutOptions,
  type OwnerInfo,
  overrideBackend,
  type ProtocolName,
  recover,
  type RecoverOptions,
  type SpoolBackend,
} from '@fanout/core';
import { type Op } from '@fanout/core/internal';
import { encodeOwnerTag } from '@fanout/core/internal';
import type { CrashSimulator } from '@fanout/crashfs';
import {
  allDead,
  checkDrained,
  consumerPass,
  type FamilyResult,
  type FamilyViolation,
  listing,
  nobodyKnows,
  opLine,
  Tally,
} from './family.js';
import { messagesOf, simTempName, simTx } from './scenario.js';
import { type BackendKind, cloneMachine, setUpMachine, type Spools, spoolsOn } from './world.js';

/** One line of the paused-owner family. */
export interface PausedOwnerScenario {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly messages: number;
  readonly batch: number;
  /** `between`: W1 stops before an operation; `inside`: after an operation took effect, before W1 sees its result. */
  readonly stall: 'between' | 'inside';
  /** Only every n-th pause point (the quick slice); default 1. */
  readonly stride?: number;
  /** Pass the core's internal `dropFence: true` option (to show what the fence prevents, once the core has one). */
  readonly dropFence?: boolean;
  /**
   * W1 is killed (SIGKILL: nothing more of it happens) after this many operations once it resumed; default never.
   * A real owner cut off by a partition longer than its lease carries on when the network heals, and may be killed
   * before it has cleaned up what it made after the takeover (real NFS v3, multi-host: staged copies of a taken-over
   * attempt were left in the destinations).
   */
  readonly killAfterResume?: number;
}

/** Who runs while W1 is paused. */
type Others = 'recoverer' | 'recoverer+W2' | 'recoverer+W2+consumer';
const OTHERS: readonly Others[] = ['recoverer', 'recoverer+W2', 'recoverer+W2+consumer'];

/** The lease of every worker: long enough that the renewal timer (a third of it, real time) never fires in a run. */
export const PAUSED_LEASE_MS = 60_000;
/**
 * The virtual clock's start: an hour after the simulator's file times begin
 * (2024-01-01), so that recovery's 36-hour rule for temp files of writers it
 * cannot probe never fires during a run.
 */
const BASE_MS = Date.UTC(2024, 0, 1, 1);
/** Others' clock ahead of W1's: none, and just under the third of the lease the protocol tolerates. */
const SKEWS = [0, Math.floor(PAUSED_LEASE_MS / 3) - 1];

const W1: OwnerInfo = { host: 'host-a', bootId: '', pidNamespace: '', pid: 1111, startTime: '' };
const W2: OwnerInfo = { host: 'host-b', bootId: '', pidNamespace: '', pid: 2222, startTime: '' };

export function pausedOwnerName(s: PausedOwnerScenario): string {
  return (
    `paused-owner ${s.protocol} ${s.backend} dests=${s.dests} msgs=${s.messages} batch=${s.batch} ` +
    `stall ${s.stall === 'between' ? 'between operations' : 'inside an operation'}` +
    `${s.killAfterResume !== undefined ? `, killed ${s.killAfterResume} operations after it resumed` : ''}` +
    `${(s.stride ?? 1) > 1 ? ` stride=${s.stride}` : ''}${s.dropFence ? ' drop-fence' : ''}`
  );
}

/** A gate W1 waits at: `reached` resolves once W1 stopped there, `open()` lets it go on. */
class Gate {
  private opened = false;
  private readonly waiters: (() => void)[] = [];
  private onReach: () => void = () => undefined;
  readonly reached = new Promise<void>((resolve) => {
    this.onReach = resolve;
  });

  get isOpen(): boolean {
    return this.opened;
  }
  reach(): void {
    this.onReach();
  }
  wait(): Promise<void> {
    return this.opened ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * W1's backends for the `inside` stall: each call that changes or inspects a
 * name is counted; call k is performed, and then W1 waits at the gate before
 * it sees the outcome; later calls wait before they start.
 */
function stallingInside(
  b: SpoolBackend,
  at: number,
  counter: { calls: number },
  gate: Gate,
  trace: string[],
): SpoolBackend {
  const stall = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    const i = counter.calls++;
    if (i > at) await gate.wait();
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await run() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (i === at) {
      trace.push(
        `W1: ${what} in ${b.location} took effect (${outcome.ok ? 'succeeded' : 'failed'}); ` +
          `W1 stalls before it sees the result`,
      );
      gate.reach();
      await gate.wait();
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  };
  return overrideBackend(b, {
    createExclusive: (name, content, options) =>
      stall(`create ${name}`, () => b.createExclusive(name, content, options)),
    publish: (from, to) => stall(`publish ${from} -> ${to}`, () => b.publish(from, to)),
    rename: (from, to) => stall(`rename ${from} -> ${to}`, () => b.rename(from, to)),
    remove: (name) => stall(`remove ${name}`, () => b.remove(name)),
    stat: (name) => stall(`stat ${name}`, () => b.stat(name)),
    syncDir: () => stall('syncDir', () => b.syncDir()),
    ...(b.link ? { link: (from: string, to: string) => stall(`link ${from} -> ${to}`, () => b.link!(from, to)) } : {}),
  });
}

/** What W1's hooks throw once it is killed: every operation it would still make is refused. */
class W1Killed extends Error {
  constructor() {
    super('W1 was killed');
  }
}

/** Sets the core's internal `dropFence` option (honoured by the rewritten core; ignored before). */
function fenced<T extends object>(options: T, dropFence: boolean | undefined): T {
  return dropFence ? Object.assign(options, { dropFence: true }) : options;
}

/** Run one scenario of the family, stopping after `maxViolations` violations. */
export async function runPausedOwner(
  s: PausedOwnerScenario,
  onViolation: (v: FamilyViolation) => void = () => undefined,
  maxViolations = 1,
): Promise<FamilyResult> {
  const name = pausedOwnerName(s);
  const messages = messagesOf({ messages: s.messages, transform: false });
  const start = await setUpMachine(s.backend, s.dests, messages);
  const violations: FamilyViolation[] = [];
  let runs = 0;
  let recoveries = 0;

  /** W1's fan-out on `sim`, paused at point `at` (never if Infinity); counts its pause points in `counter`. */
  const w1 = (
    sim: CrashSimulator,
    at: number,
    gate: Gate,
    counter: { calls: number },
    trace: string[],
    now: () => number,
  ) => {
    const inside = s.stall === 'inside';
    const sp = spoolsOn(
      sim,
      s.backend,
      s.dests,
      inside ? (b) => stallingInside(b, at, counter, gate, trace) : undefined,
    );
    let txs = 0;
    let temps = 0;
    let sinceResume = 0;
    const options: FanOutOptions = {
      source: sp.source,
      destinations: sp.dests.map((spool) => ({ spool })),
      protocol: s.protocol,
      batchSize: s.batch,
      recoverFirst: false,
      owner: W1,
      ownerProbe: nobodyKnows,
      leaseMs: PAUSED_LEASE_MS,
      now,
      newTx: () => simTx('A', ++txs),
      tempName: () => simTempName(++temps, encodeOwnerTag(W1)),
      hooks: {
        beforeOp: async (op) => {
          if (s.killAfterResume !== undefined && gate.isOpen && sinceResume >= s.killAfterResume) {
            if (sinceResume++ === s.killAfterResume) trace.push('W1 is killed (SIGKILL)');
            throw new W1Killed();
          }
          if (op.type === 'all') return;
          if (s.killAfterResume !== undefined && gate.isOpen) sinceResume++;
          if (!inside) {
            const i = counter.calls++;
            if (i === at) {
              trace.push('W1 pauses before its next operation');
              gate.reach();
            }
            if (i >= at) await gate.wait();
          }
          trace.push(opLine('W1', op));
        },
      },
    };
    return fanOut(fenced(options, s.dropFence));
  };

  // The pause points of a clean run.
  let points = 0;
  {
    const counter = { calls: 0 };
    const sim = cloneMachine(start);
    const r = await w1(sim, Infinity, new Gate(), counter, [], () => BASE_MS);
    if (r.committed !== s.messages) throw new Error(`${name}: the clean run committed ${r.committed} of ${s.messages}`);
    points = counter.calls;
  }

  const others = (sim: CrashSimulator, trace: string[], now: () => number, who: Others, t: Tally) => {
    const sp: Spools = spoolsOn(sim, s.backend, s.dests);
    const traced = (actor: string) => ({
      beforeOp: (op: Op) => void (op.type !== 'all' && trace.push(opLine(actor, op))),
    });
    return (async () => {
      const rec: RecoverOptions = {
        spool: sp.source,
        open: sp.open,
        ownerProbe: nobodyKnows,
        now,
        hooks: traced('recoverer'),
      };
      const summary = await recover(fenced(rec, s.dropFence));
      recoveries++;
      trace.push(
        `recoverer: rolled back ${summary.rolledBack}, ` +
          `rolled forward ${summary.rolledForward}, in flight ${summary.inFlight}`,
      );
      if (who === 'recoverer') return;
      let txs = 0;
      let temps = 0;
      const w2: FanOutOptions = {
        source: sp.source,
        destinations: sp.dests.map((spool) => ({ spool })),
        protocol: s.protocol,
        batchSize: s.batch,
        owner: W2,
        ownerProbe: nobodyKnows,
        leaseMs: PAUSED_LEASE_MS,
        now,
        newTx: () => simTx('B', ++txs),
        tempName: () => simTempName(5000 + ++temps, encodeOwnerTag(W2)),
        hooks: traced('W2'),
      };
      const r = await fanOut(fenced(w2, s.dropFence));
      recoveries++;
      trace.push(
        `W2: committed ${r.committed}${r.failed.map((f) => `; ${f.id} failed: ${f.error.oneLine()}`).join('')}`,
      );
      if (who === 'recoverer+W2+consumer')
        await consumerPass(sim, sp.dests, messages, t, { release: true, label: 'consumer (while W1 is paused)' });
    })();
  };

  outer: for (let at = 0; at < points; at += s.stride ?? 1) {
    for (const skew of SKEWS) {
      for (const who of OTHERS) {
        runs++;
        const sim = cloneMachine(start);
        const t = new Tally();
        const trace = t.trace;
        let elapsed = 0;
        const ownerNow = () => BASE_MS + elapsed;
        const otherNow = () => BASE_MS + elapsed + skew;
        const gate = new Gate();
        const setting =
          `W1 paused at ${s.stall === 'between' ? 'operation' : 'backend call'} ${at} of ${points}; ${who} ran ` +
          `meanwhile${skew ? `, their clock ${skew} ms ahead of W1's` : ''}`;
        let bad: string | undefined;
        try {
          const run = w1(sim, at, gate, { calls: 0 }, trace, ownerNow).then(
            (r) =>
              trace.push(
                `W1: committed ${r.committed}${r.failed.map((f) => `; ${f.id} failed: ${f.error.oneLine()}`).join('')}`,
              ),
            (err: unknown) => trace.push(`W1 failed: ${err instanceof Error ? err.message : String(err)}`),
          );
          const paused = await Promise.race([gate.reached.then(() => true), run.then(() => false)]);
          if (!paused) throw new Error(`W1 finished before its pause point ${at}`);
          // Past W1's lease on the others' clock (the protocol's worst case), W1's clock behind by the skew.
          elapsed = PAUSED_LEASE_MS + 1 - skew;
          trace.push(
            `clock: ${elapsed} ms pass on W1's clock; the others' clock ` +
              `reads ${elapsed + skew} ms after W1 began (lease ${PAUSED_LEASE_MS} ms)`,
          );
          await others(sim, trace, otherNow, who, t);
          trace.push(`W1 resumes; ${listing(sim, s.dests)}`);
          gate.open();
          await run;
          // Everyone is gone now: a last recovery, the fan-out of whatever is left, and a consumer drains it all.
          const sp = spoolsOn(sim, s.backend, s.dests);
          await recover({
            spool: sp.source,
            open: sp.open,
            ownerProbe: allDead,
            hooks: { beforeOp: (op) => void (op.type !== 'all' && trace.push(opLine('final recovery', op))) },
          });
          recoveries++;
          const r = await fanOut({
            source: sp.source,
            destinations: sp.dests.map((spool) => ({ spool })),
            protocol: s.protocol,
            ownerProbe: allDead,
            hooks: { beforeOp: (op) => void (op.type !== 'all' && trace.push(opLine('final fan-out', op))) },
          });
          recoveries++;
          for (const f of r.failed) trace.push(`final fan-out: ${f.id} failed: ${f.error.oneLine()}`);
          await consumerPass(sim, sp.dests, messages, t, { release: true, label: 'consumer (drain)' });
          trace.push(`end: ${listing(sim, s.dests)}`);
          bad = checkDrained(sim, s.dests, messages, t);
        } catch (err) {
          gate.open();
          bad = `failed: ${err instanceof Error ? err.message : String(err)}`;
        }
        if (bad) {
          const v: FamilyViolation = { scenario: name, invariant: bad, setting, trace };
          violations.push(v);
          onViolation(v);
          // One counterexample per scenario is usually the point; the rest of the sweep is time.
          if (violations.length >= maxViolations) break outer;
        }
      }
    }
  }
  return { name, runs, states: runs, recoveries, violations };
}
