/**
 * Interleaving mode: two workers and a recoverer on one source spool, their
 * machines interleaved at every backend operation by a seeded scheduler,
 * starting from a spool that a dead worker left mid-transaction, optionally
 * crashing the whole machine at a random point of the interleaving. After all
 * actors finish (or the crash and a recovery), the fan-out is finished and
 * each message must be in every destination exactly once; at every step no
 * uncommitted copy may be visible (staged).
 */
import { fanOut, recover, type ProtocolName } from '@fanout/core';
import { type ExecutorHooks, type Op } from '@fanout/core/internal';
import type { CrashSimulator } from '@fanout/crashfs';
import { checkRecovered, checkVisibleCopies } from './invariants.js';
import { messagesOf, type Violation } from './scenario.js';
import { type BackendKind, cloneMachine, setUpMachine, spoolsOn } from './world.js';

export interface InterleavingOptions {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly messages: number;
  /** Number of seeded schedules to explore. */
  readonly schedules: number;
  /** Also crash the machine at a random point of each schedule. */
  readonly crash: boolean;
  /** A broken recoverer that takes live owners for dead (to show the checker catches it). */
  readonly brokenRecoverer?: boolean;
}

/** A tiny seeded PRNG (mulberry32): the same seed, the same schedule. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lets exactly one actor perform its next operation at a time, chosen at random among those waiting. */
class Scheduler {
  private waiting: { actor: string; go: () => void }[] = [];
  private running = 0;
  readonly trace: string[] = [];
  constructor(
    private readonly random: () => number,
    private readonly onStep: (op: Op) => void,
  ) {}

  hooks(actor: string): ExecutorHooks {
    return {
      beforeOp: (op) =>
        new Promise<void>((go) => {
          this.waiting.push({
            actor,
            go: () => {
              const names = 'name' in op ? ` ${op.name}` : 'from' in op ? ` ${op.from} -> ${op.to}` : '';
              this.trace.push(`${actor}: ${op.step} ${op.type}${names} (${'spool' in op ? op.spool.location : ''})`);
              this.onStep(op);
              go();
            },
          });
          this.kick();
        }),
    };
  }

  actorStarted() {
    this.running++;
  }
  actorDone() {
    this.running--;
    this.kick();
  }

  private pending = false;
  private kick() {
    if (this.pending) return;
    this.pending = true;
    // Let every actor reach its next operation (the simulator answers within a few ticks) before choosing.
    let ticks = 0;
    const settle = () => {
      if (this.waiting.length < this.running && ticks++ < 50) return void setImmediate(settle);
      this.pending = false;
      if (this.waiting.length === 0) return;
      const i = Math.floor(this.random() * this.waiting.length);
      const [next] = this.waiting.splice(i, 1);
      next!.go();
      // Members of an `all` wait side by side: keep choosing until every actor has moved on.
      if (this.waiting.length > 0) this.kick();
    };
    setImmediate(settle);
  }
}

const deadOwner = { host: 'crashed-host', bootId: '', pidNamespace: '', pid: 999_999, startTime: '' };

export interface InterleavingResult {
  readonly name: string;
  readonly schedules: number;
  readonly states: number;
  /** Schedules in which the actors' operations alternated at least 10 times. */
  readonly interleaved: number;
  readonly violations: Violation[];
}

export async function runInterleavings(
  o: InterleavingOptions,
  onViolation: (v: Violation) => void = () => undefined,
): Promise<InterleavingResult> {
  const name =
    `interleave ${o.protocol} ${o.backend} dests=${o.dests} msgs=${o.messages} two ` +
    `workers + recoverer${o.crash ? ' + crash' : ''}`;
  const messages = messagesOf({ messages: o.messages, transform: false });
  const start = await setUpMachine(o.backend, o.dests, messages);
  // A dead worker's run, stopped mid-way: its markers are stale (owner on a host that is gone, lease expired).
  const left = cloneMachine(start);
  {
    const sp = spoolsOn(left, o.backend, o.dests);
    let n = 0;
    await fanOut({
      source: sp.source,
      destinations: sp.dests.map((spool) => ({ spool })),
      protocol: o.protocol,
      batchSize: o.messages,
      recoverFirst: false,
      owner: deadOwner,
      leaseMs: 1,
      now: () => 0,
      hooks: {
        beforeOp: (op) => {
          if (op.type !== 'all' && n++ >= 12) throw new Error('stop');
        },
      },
    }).catch(() => undefined);
    left.checkpoint(); // the dead worker's process crash: what it did stays
  }
  const probe = async (owner: { pid: number }) => (owner.pid === process.pid ? ('alive' as const) : ('dead' as const));
  const violations: Violation[] = [];
  let states = 0;
  let interleaved = 0;
  for (let seed = 1; seed <= o.schedules && violations.length === 0; seed++) {
    const random = prng(seed);
    const sim = cloneMachine(left);
    const sp = spoolsOn(sim, o.backend, o.dests);
    let visible: string | undefined;
    const crashAt = o.crash ? Math.floor(random() * 60) : Infinity;
    let steps = 0;
    const scheduler = new Scheduler(random, () => {
      visible ??= checkVisibleCopies(sim, o.dests, messages, o.protocol);
      if (++steps === crashAt) sim.crashAfter(sim.opCount);
    });
    const actor = async (label: string, run: (hooks: ExecutorHooks) => Promise<unknown>) => {
      scheduler.actorStarted();
      try {
        await run(scheduler.hooks(label));
      } catch {
        // a simulated crash ends every actor
      } finally {
        scheduler.actorDone();
      }
    };
    const worker = (label: string) => (hooks: ExecutorHooks) =>
      fanOut({
        source: sp.source,
        destinations: sp.dests.map((spool) => ({ spool })),
        protocol: o.protocol,
        ownerProbe: probe,
        hooks,
        open: sp.open,
      });
    let workersDone = 0;
    const untilDone = (run: (hooks: ExecutorHooks) => Promise<unknown>) => async (hooks: ExecutorHooks) => {
      try {
        await run(hooks);
      } finally {
        workersDone++;
      }
    };
    await Promise.all([
      actor('W1', untilDone(worker('W1'))),
      actor('W2', untilDone(worker('W2'))),
      // The recoverer runs again and again beside the live workers, as `run --watch` does.
      actor('R', async (hooks) => {
        for (let i = 0; i < 20 && workersDone < 2 && !sim.crashed; i++) {
          await recover({
            spool: sp.source,
            open: sp.open,
            ownerProbe: o.brokenRecoverer ? async () => 'dead' : probe,
            hooks,
          });
          await new Promise((r) => setImmediate(r));
        }
      }),
    ]);
    const switches = scheduler.trace.filter(
      (line, i, all) => i > 0 && line.split(':')[0] !== all[i - 1]!.split(':')[0],
    ).length;
    if (switches >= 10) interleaved++;
    const report = (invariant: string, lost: readonly string[] = []) => {
      const v: Violation = {
        scenario: `${name} seed=${seed}`,
        invariant,
        crashAfter: sim.opCount,
        opsBeforeCrash: scheduler.trace,
        lostAtCrash: lost,
      };
      violations.push(v);
      onViolation(v);
    };
    if (visible) {
      report(visible);
      break;
    }
    const outcomes: { sim: CrashSimulator; lost: readonly string[] }[] = sim.crashed
      ? [...sim.crashStates({ maxStates: 16 })].map((s) => ({ sim: s.sim, lost: s.lost }))
      : [{ sim, lost: [] }];
    for (const out of outcomes) {
      states++;
      const after = spoolsOn(out.sim, o.backend, o.dests);
      const dead = async () => 'dead' as const;
      const r = await recover({ spool: after.source, open: after.open, ownerProbe: dead });
      if (r.refused.length) {
        report(`recovery refused: ${r.refused.map((e) => e.oneLine()).join('; ')}`, out.lost);
        break;
      }
      await fanOut({
        source: after.source,
        destinations: after.dests.map((spool) => ({ spool })),
        protocol: o.protocol,
        ownerProbe: dead,
      });
      const end = checkRecovered(out.sim, o.dests, messages);
      if (typeof end === 'string') report(end, out.lost);
      else if (end.inSource > 0)
        report(`${end.inSource} message(s) still in the source after the final fan-out`, out.lost);
      if (violations.length) break;
    }
  }
  return { name, schedules: o.schedules, states, interleaved, violations };
}
