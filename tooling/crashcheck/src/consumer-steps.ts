/**
 * Family "consumer-steps": the steps that used to act outside the machines —
 * a consumer's claim, acknowledgement and release, the release of dead
 * consumers' claims, temp clean-up, lease renewal and the removal of renewal
 * claims — driven as the machines they now are, by the same executor hooks
 * as the transaction and recovery machines.
 *
 * - workload `interleaved`: the machine crashes at every point of a clean
 *   fan-out (every state the persistence model allows, up to a bound); on
 *   the rebooted machine a consumer (`consume()`: release of dead consumers'
 *   claims, temp clean-up, then claim and acknowledge each `d<id>`) and
 *   recovery run interleaved at the operation level: the consumer performs
 *   its first i operations, recovery its first j, then the consumer the rest
 *   and recovery the rest, for every i and j (i = 0: the consumer runs during
 *   recovery only; j = 0: between the crash and its recovery). Each schedule
 *   also ends in a crash at its switch point (consumer i, recovery j), after
 *   which recovery, the release of the dead consumer's claims, the final
 *   fan-out and a drain run.
 * - workload `crash-inside`: the machine crashes at every file system
 *   operation of one step on its own: claim + acknowledge, release (a handler
 *   that fails), a counted release (`maxAttempts`), `consume()` releasing a
 *   dead consumer's claim and removing a dead writer's temp, a lease renewal
 *   of an attempt in flight, and the removal of renewal claims; then
 *   recovery, claim release, the final fan-out and a drain.
 *
 * Invariant (family.ts): each message consumed exactly once per destination
 * (a crashed consumer's unacknowledged hand-out may be repeated), never
 * before its commit, with its bytes, and nothing left anywhere.
 *
 * `--drop-twins` makes the claim blind to crash twins (its stat of the new
 * claim reports one name) and `--drop-sync CA|CL|CR` drops that step's
 * directory syncs, to show what they prevent.
 */
import {
  claim,
  dropRenewalClaims,
  type ExecutorHooks,
  fanOut,
  type LeaseState,
  type ProtocolName,
  recover,
  renewLease,
  type RenewalState,
  runMachine,
  overrideBackend,
  type SpoolBackend,
  type StepName,
  consumerName,
  processOwner,
  encodeOwnerTag,
} from '@fanout/core/internal';
import { type CrashSimulator, isSimulatedCrash } from '@fanout/crashfs';
import {
  allDead,
  consumerPass,
  CRASHING_CONSUMER_PID,
  type FamilyResult,
  type FamilyViolation,
  type FamilyWorld,
  finishAndCheck,
  listing,
  opLine,
  Sweep,
  Tally,
} from './family.js';
import type { ExpectedMessage } from './invariants.js';
import { messagesOf, simTempName, simTx } from './scenario.js';
import { type BackendKind, cloneMachine, destPath, setUpMachine, spoolsOn } from './world.js';

/** The consumer steps whose syncs `--drop-sync` may drop in this family. */
export const CONSUMER_STEPS: readonly StepName[] = ['CL', 'CA', 'CR'];

/** One line of the consumer-steps family. */
export interface ConsumerStepsScenario {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly messages: number;
  readonly workload: 'interleaved' | 'crash-inside';
  /** Crash states per crash point of the fan-out (interleaved), at most. */
  readonly maxStates: number;
  /** Crash states per crash point inside a step or at a switch point, at most. */
  readonly crashStates: number;
  /** Only every n-th crash point of the fan-out (interleaved); default 1. */
  readonly stride?: number;
  /** Only every n-th i and j of the schedules (interleaved); default 1. */
  readonly scheduleStride?: number;
  /** The claim does not see crash twins (`--drop-twins`). */
  readonly dropTwins?: boolean;
  /** Drop the directory syncs of this consumer or renewal step (`--drop-sync`). */
  readonly dropSync?: StepName;
}

export function consumerStepsName(s: ConsumerStepsScenario): string {
  const slice = [
    (s.stride ?? 1) > 1 ? ` stride=${s.stride}` : '',
    (s.scheduleStride ?? 1) > 1 ? ` schedule-stride=${s.scheduleStride}` : '',
  ].join('');
  return (
    `consumer-steps ${s.protocol} ${s.backend} dests=${s.dests} msgs=${s.messages} ${s.workload}` +
    `${slice}${s.dropTwins ? ' drop-twins' : ''}${s.dropSync ? ` drop-sync=${s.dropSync}` : ''}`
  );
}

/**
 * The checker's switches as executor hooks and backend wrappers: the hooks
 * remember the step of the operation being performed, the wrapped backends
 * skip that step's syncs, or (drop-twins) report a claim's file as having one
 * name while the claim looks at it.
 */
function drops(s: ConsumerStepsScenario): {
  hooks: (inner: ExecutorHooks) => ExecutorHooks;
  wrap: (b: SpoolBackend) => SpoolBackend;
} {
  let step: StepName | undefined;
  return {
    hooks: (inner) => ({
      beforeOp: async (op) => {
        await inner.beforeOp?.(op);
        step = op.step;
      },
    }),
    wrap: (b) =>
      s.dropSync === undefined && !s.dropTwins
        ? b
        : overrideBackend(b, {
            syncDir: async () => (step !== undefined && step === s.dropSync ? undefined : b.syncDir()),
            stat: async (name) => {
              const st = await b.stat(name);
              return s.dropTwins && step === 'CL' && st !== undefined && name.startsWith('c')
                ? { ...st, nlink: 1 }
                : st;
            },
          }),
  };
}

const traced = (t: Tally, actor: string): ExecutorHooks => ({
  beforeOp: (op) => void (op.type !== 'all' && t.trace.push(opLine(actor, op))),
});

/** The scenario's first fan-out: deterministic names so that traces repeat. */
async function cleanFanOut(s: ConsumerStepsScenario, sim: CrashSimulator, hooks?: ExecutorHooks): Promise<void> {
  const sp = spoolsOn(sim, s.backend, s.dests);
  let txs = 0;
  let temps = 0;
  await fanOut({
    source: sp.source,
    destinations: sp.dests.map((spool) => ({ spool })),
    protocol: s.protocol,
    batchSize: s.messages,
    ownerProbe: allDead,
    recoverFirst: false,
    newTx: () => simTx('TX', ++txs),
    tempName: () => simTempName(++temps),
    ...(hooks ? { hooks } : {}),
  });
}

/** Run one scenario of the family, stopping after `maxViolations` violations. */
export async function runConsumerSteps(
  s: ConsumerStepsScenario,
  onViolation: (v: FamilyViolation) => void = () => undefined,
  maxViolations = 1,
): Promise<FamilyResult> {
  const sweep = new Sweep(consumerStepsName(s), onViolation, maxViolations);
  const messages = messagesOf({ messages: s.messages, transform: false });
  const start = await setUpMachine(s.backend, s.dests, messages);
  const world: FamilyWorld = { protocol: s.protocol, backend: s.backend, dests: s.dests, batch: s.messages };
  return sweep.run(() =>
    s.workload === 'interleaved'
      ? interleaved(s, sweep, world, start, messages)
      : crashInside(s, sweep, world, start, messages),
  );
}

/** Workload `interleaved`: see the module comment. */
async function interleaved(
  s: ConsumerStepsScenario,
  sweep: Sweep,
  world: FamilyWorld,
  start: CrashSimulator,
  messages: readonly ExpectedMessage[],
): Promise<void> {
  const sim = cloneMachine(start);
  await cleanFanOut(s, sim);
  const total = sim.opCount;
  const seen = new Set<string>();
  const every = s.scheduleStride ?? 1;
  for (let k = 0; k <= total; k += s.stride ?? 1) {
    for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
      if (seen.has(state.key)) continue;
      seen.add(state.key);
      sweep.states++;
      const rebooted = state.sim;
      const head = [
        ...sim.describeOps(0, k).map((l) => `fan-out: ${l}`),
        `machine crashes after ${k} operations of the fan-out; not durable: ${state.lost.join('; ') || 'nothing'}`,
        `after reboot: ${listing(rebooted, s.dests)}`,
      ];
      // How many operations each side performs alone: the range of the switch points.
      const consumerOps = await countOps((hooks) => {
        const copy = cloneMachine(rebooted);
        return consumerPass(copy, spoolsOn(copy, s.backend, s.dests).dests, messages, new Tally(), {
          pid: CRASHING_CONSUMER_PID,
          release: true,
          label: 'count',
          hooks,
        });
      });
      const recoveryOps = await countOps((hooks) => {
        const sp = spoolsOn(cloneMachine(rebooted), s.backend, s.dests);
        return recover({ spool: sp.source, open: sp.open, ownerProbe: allDead, hooks });
      });
      for (let i = 0; i <= consumerOps; i += every) {
        for (let j = 0; j <= recoveryOps; j += every) {
          for (const crash of [false, true]) await schedule(s, sweep, world, rebooted, messages, head, k, i, j, crash);
        }
      }
    }
  }
}

/** The operations a run performs (its machines' operations, `all` apart). */
async function countOps(run: (hooks: ExecutorHooks) => Promise<unknown>): Promise<number> {
  let n = 0;
  await run({ beforeOp: (op) => void (op.type !== 'all' && n++) }).catch(() => undefined);
  return n;
}

/** Stops an actor at a schedule's crash point. */
class Stop extends Error {}

/**
 * One schedule on a copy of `rebooted`: consumer A's first `i` operations,
 * recovery's first `j`, then (`crash`) the machine crashes there, or consumer
 * A finishes and then recovery does.
 */
async function schedule(
  s: ConsumerStepsScenario,
  sweep: Sweep,
  world: FamilyWorld,
  rebooted: CrashSimulator,
  messages: readonly ExpectedMessage[],
  head: readonly string[],
  k: number,
  i: number,
  j: number,
  crash: boolean,
): Promise<void> {
  sweep.runs++;
  const m = cloneMachine(rebooted);
  const t = new Tally();
  t.trace.push(...head);
  const setting =
    `fan-out crashed after ${k} operations; consumer A's first ${i} operations, then recovery's first ${j}, ` +
    `then ${crash ? 'the machine crashes' : 'consumer A and recovery finish, in that order'}`;
  const d = drops(s);
  const sp = spoolsOn(m, s.backend, s.dests, d.wrap);
  let stopped = false;
  let resume: () => void = () => undefined;
  const gate = new Promise<void>((r) => (resume = r));
  let paused: () => void = () => undefined;
  const reached = new Promise<void>((r) => (paused = r));
  let cOps = 0;
  let rOps = 0;
  await sweep.guard(
    () => setting,
    () => t.trace,
    async () => {
      const consumer = consumerPass(m, sp.dests, messages, t, {
        pid: CRASHING_CONSUMER_PID,
        release: true,
        label: 'consumer A',
        hooks: d.hooks({
          beforeOp: async (op) => {
            if (op.type === 'all') return;
            if (cOps++ === i) {
              paused();
              await gate;
            }
            if (stopped) throw new Stop();
            t.trace.push(opLine('consumer A', op));
          },
        }),
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      await Promise.race([reached, consumer]);
      let switched = false;
      const atSwitch = async () => {
        switched = true;
        if (crash) stopped = true;
        resume();
        const err = await consumer;
        if (err !== undefined && !(err instanceof Stop)) throw err;
        if (crash) throw new Stop();
      };
      try {
        await recover({
          spool: sp.source,
          open: sp.open,
          ownerProbe: allDead,
          hooks: d.hooks({
            beforeOp: async (op) => {
              if (op.type === 'all') return;
              if (rOps++ === j) await atSwitch();
              t.trace.push(opLine('recovery', op));
            },
          }),
        });
        sweep.recoveries++;
        if (!switched) await atSwitch();
      } catch (err) {
        if (!(err instanceof Stop)) throw err;
      }
      if (!crash) {
        const bad = await finishAndCheck(m, world, messages, t, sweep, { releaseClaims: true });
        if (bad) sweep.report(setting, bad, t.trace);
        return;
      }
      for (const state of m.crashStates({ maxStates: s.crashStates })) {
        sweep.states++;
        const tc = t.copy();
        tc.trace.push(
          `machine crashes here; not durable: ${state.lost.join('; ') || 'nothing'}`,
          `after reboot: ${listing(state.sim, s.dests)}`,
        );
        const bad = await finishAndCheck(state.sim, world, messages, tc, sweep, { recover: true, releaseClaims: true });
        if (bad) sweep.report(setting, bad, tc.trace);
      }
    },
  );
}

/** One step of workload `crash-inside`: its starting machine and what it runs there. */
interface Step {
  readonly name: string;
  /** The machine the step starts from (all durable). */
  readonly base: CrashSimulator;
  /** The step counts failures (`maxAttempts`): so does the drain after it. */
  readonly maxAttempts?: number;
  /** Runs the step on `sim`; hand-outs go to `t`. */
  run(sim: CrashSimulator, t: Tally, hooks: ExecutorHooks, wrap: (b: SpoolBackend) => SpoolBackend): Promise<unknown>;
}

/** A consumer that died before the step (its claim and temp are what the step cleans up). */
const EARLIER_CONSUMER_PID = 1003;
/** A lease as a renewal sees it in the middle of its attempt. */
const leaseOf = (): LeaseState => ({ renewedMs: 0, generation: 0, lost: false, owned: new Set(['M0']) });
/** The owner of the scenario's first attempts: dead after any reboot. */
const OWNER = { ...processOwner(), pid: 1 };

/** Workload `crash-inside`: see the module comment. */
async function crashInside(
  s: ConsumerStepsScenario,
  sweep: Sweep,
  world: FamilyWorld,
  start: CrashSimulator,
  messages: readonly ExpectedMessage[],
): Promise<void> {
  const delivered = cloneMachine(start);
  await cleanFanOut(s, delivered);
  delivered.checkpoint();
  const tx = simTx('TX', 1);
  const renewalPlan = (temps: { n: number }) => ({
    tx,
    leaseMs: 60_000,
    owner: OWNER,
    tempName: () => simTempName(500 + ++temps.n),
  });

  // A dead consumer's claim on M0 in D0, and a temp of a dead writer in D1 (a consumer that crashed counting a
  // failure).
  const staleClaims = cloneMachine(delivered);
  {
    const sp = spoolsOn(staleClaims, s.backend, s.dests);
    await claim(sp.dests[0]!, 'M0', consumerName({ ...processOwner(), pid: EARLIER_CONSUMER_PID }));
    staleClaims.checkpoint();
    staleClaims.writeFileDurable(
      `${destPath(s.dests - 1)}/${simTempName(900, encodeOwnerTag({ ...processOwner(), pid: EARLIER_CONSUMER_PID }))}`,
      'half a count',
    );
    staleClaims.checkpoint();
  }
  // An attempt in flight: its owner stopped after its copies (record and taken message in S, staged copies or locks in
  // D).
  const inFlight = cloneMachine(start);
  {
    let n = 0;
    await cleanFanOut(s, inFlight, {
      beforeOp: (op) => {
        if (op.type !== 'all' && op.step === 'C5' && n++ === 0) throw new Error('the owner stops before its commit');
      },
    }).catch(() => undefined);
    inFlight.checkpoint();
  }
  // The attempt over, its renewal claim r<tx>.1 still there.
  const renewed = cloneMachine(delivered);
  const renewedLease = leaseOf();
  {
    const sp = spoolsOn(renewed, s.backend, s.dests);
    await runMachine(renewLease(sp.source, renewalPlan({ n: 0 }), renewedLease, {}, 0));
    renewed.checkpoint();
  }

  const failing = { pid: CRASHING_CONSUMER_PID, release: false, failFirst: 1 } as const;
  const steps: Step[] = [
    {
      name: 'claim + acknowledge',
      base: delivered,
      run: (m, t, hooks, wrap) =>
        consumerPass(m, spoolsOn(m, s.backend, s.dests, wrap).dests, messages, t, {
          pid: CRASHING_CONSUMER_PID,
          release: false,
          label: 'consumer A',
          hooks,
        }),
    },
    {
      name: 'release (a handler that fails)',
      base: delivered,
      run: (m, t, hooks, wrap) =>
        consumerPass(m, spoolsOn(m, s.backend, s.dests, wrap).dests, messages, t, {
          ...failing,
          label: 'consumer A',
          hooks,
        }),
    },
    {
      name: 'counted release',
      base: delivered,
      maxAttempts: 5,
      run: (m, t, hooks, wrap) =>
        consumerPass(m, spoolsOn(m, s.backend, s.dests, wrap).dests, messages, t, {
          ...failing,
          maxAttempts: 5,
          label: 'consumer A',
          hooks,
        }),
    },
    {
      name: "consume() releasing a dead consumer's claim and temp",
      base: staleClaims,
      run: (m, t, hooks, wrap) =>
        consumerPass(m, spoolsOn(m, s.backend, s.dests, wrap).dests, messages, t, {
          pid: CRASHING_CONSUMER_PID,
          release: true,
          label: 'consumer A',
          hooks,
        }),
    },
    {
      name: 'lease renewal of an attempt in flight',
      base: inFlight,
      run: (m, _t, hooks, wrap) =>
        runMachine(
          renewLease(spoolsOn(m, s.backend, s.dests, wrap).source, renewalPlan({ n: 0 }), leaseOf(), {}, 0),
          hooks,
        ),
    },
    {
      name: 'removal of renewal claims',
      base: renewed,
      run: (m, _t, hooks, wrap) =>
        runMachine(
          dropRenewalClaims(
            spoolsOn(m, s.backend, s.dests, wrap).source,
            tx,
            { ...renewedLease, owned: new Set() },
            {} as RenewalState,
          ),
          hooks,
        ),
    },
  ];

  for (const step of steps) {
    let ops = 0;
    {
      const probe = cloneMachine(step.base);
      const d = drops(s);
      await step.run(probe, new Tally(), d.hooks({}), d.wrap).catch(() => undefined);
      ops = probe.opCount;
    }
    const seen = new Set<string>();
    for (let c = 0; c <= ops; c++) {
      sweep.runs++;
      const m = cloneMachine(step.base);
      const t = new Tally();
      t.trace.push(`before: ${listing(m, s.dests)}`);
      m.crashAfter(c);
      const d = drops(s);
      await sweep.guard(
        () => `${step.name}: the machine crashes after ${c} of its ${ops} operations`,
        () => t.trace,
        async () => {
          try {
            await step.run(m, t, d.hooks(traced(t, step.name)), d.wrap);
          } catch (err) {
            if (!isSimulatedCrash(err)) throw err;
          }
        },
      );
      t.trace.push(...m.describeOps(0, c).map((l) => `${step.name}: ${l}`));
      for (const state of m.crashStates({ maxStates: s.crashStates })) {
        const key = `${state.key}|${[...t.confirmed, ...t.tentative].join()}`;
        if (seen.has(key)) continue;
        seen.add(key);
        sweep.states++;
        const tc = t.copy();
        const setting = `${step.name}: the machine crashes after ${c} of its ${ops} operations`;
        tc.trace.push(
          `machine crashes; not durable: ${state.lost.join('; ') || 'nothing'}`,
          `after reboot: ${listing(state.sim, s.dests)}`,
        );
        await sweep.guard(
          () => setting,
          () => tc.trace,
          async () => {
            const bad = await finishAndCheck(state.sim, world, messages, tc, sweep, {
              recover: true,
              releaseClaims: true,
              ...(step.maxAttempts !== undefined ? { maxAttempts: step.maxAttempts } : {}),
            });
            if (bad) sweep.report(setting, bad, tc.trace);
          },
        );
      }
    }
  }
}
