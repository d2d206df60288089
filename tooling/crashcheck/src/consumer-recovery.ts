/**
 * Family "consumer-recovery": consumers of the destinations across a crash
 * and the recovery after it. consumer-scenario.ts lets a consumer run while
 * the fan-out is live; here the machine crashes at every point of a clean
 * fan-out (every state the persistence model allows there, up to a bound) and
 * then, on the rebooted machine:
 *
 * - mode `recovery`: (a) a consumer claims and acknowledges whatever `d<id>`
 *   it can see *before* recovery has run (nothing stops a consumer process
 *   from starting first); (b) recovery runs with a consumer pass before its
 *   operation j, for every j, each on a fresh copy of that state; then the
 *   fan-out is finished and the consumer drains the destinations.
 * - mode `consumer-crash`: recovery runs first (the documented order), then
 *   a consumer runs and the machine crashes inside the consumer's own
 *   operations (mid-claim, mid-acknowledge), for each of them; after that
 *   reboot a live consumer takes what it sees, recovery runs, the dead
 *   consumer's claims are released (`releaseStaleClaims`), the fan-out is
 *   finished and the destinations drained.
 *
 * Invariant: each message is consumed exactly once from each destination
 * (a crashed consumer's unacknowledged hand-out may be repeated), never
 * before its commit (`s<id>` still in the source), with its exact bytes, and
 * nothing is left anywhere (see family.ts). Consumers are the real
 * `consume()`/`consumePass()`, which honour seed locks.
 */
import { fanOut, type ProtocolName, recover } from '@fanout/core';
import { type CrashSimulator, isSimulatedCrash } from '@fanout/crashfs';
import {
  allDead,
  consumerPass,
  CRASHING_CONSUMER_PID,
  type FamilyResult,
  type FamilyViolation,
  finishAndCheck,
  listing,
  opLine,
  Sweep,
  Tally,
} from './family.js';
import { messagesOf, simTempName, simTx } from './scenario.js';
import { type BackendKind, cloneMachine, destPath, setUpMachine, spoolsOn } from './world.js';

/** One line of the consumer-recovery family. */
export interface ConsumerRecoveryScenario {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly messages: number;
  readonly mode: 'recovery' | 'consumer-crash';
  /** Crash states per crash point of the fan-out, at most. */
  readonly maxStates: number;
  /** Crash states per crash point of the crashing consumer, at most (mode `consumer-crash`). */
  readonly consumerMaxStates?: number;
  /** Only every n-th crash point of the fan-out (the quick slice); default 1. */
  readonly stride?: number;
}

export function consumerRecoveryName(s: ConsumerRecoveryScenario): string {
  const mode = s.mode === 'recovery' ? 'consumer before and during recovery' : 'consumer crashes mid-claim';
  return (
    `consumer-recovery ${s.protocol} ${s.backend} dests=${s.dests} ` +
    `msgs=${s.messages} ${mode}${(s.stride ?? 1) > 1 ? ` stride=${s.stride}` : ''}`
  );
}

/** The first fan-out of the scenario; deterministic names so that traces repeat. */
function fanOutOn(s: ConsumerRecoveryScenario, sim: CrashSimulator) {
  const sp = spoolsOn(sim, s.backend, s.dests);
  let txs = 0;
  let temps = 0;
  return fanOut({
    source: sp.source,
    destinations: sp.dests.map((spool) => ({ spool })),
    protocol: s.protocol,
    batchSize: s.messages,
    ownerProbe: allDead,
    recoverFirst: false,
    newTx: () => simTx('TX', ++txs),
    tempName: () => simTempName(++temps),
  });
}

/** Run one scenario of the family, stopping after `maxViolations` violations. */
export async function runConsumerRecovery(
  s: ConsumerRecoveryScenario,
  onViolation: (v: FamilyViolation) => void = () => undefined,
  maxViolations = 1,
): Promise<FamilyResult> {
  const name = consumerRecoveryName(s);
  const messages = messagesOf({ messages: s.messages, transform: false });
  const start = await setUpMachine(s.backend, s.dests, messages);
  const sim = cloneMachine(start);
  const clean = await fanOutOn(s, sim);
  if (clean.committed !== s.messages)
    throw new Error(`${name}: the clean run committed ${clean.committed} of ${s.messages}`);
  const total = sim.opCount;
  const sweep = new Sweep(name, onViolation, maxViolations);
  const world = { protocol: s.protocol, backend: s.backend, dests: s.dests, batch: s.messages };
  const seen = new Set<string>();
  /** Mode `consumer-crash`: the states after the first recovery, explored once each. */
  const recovered = new Set<string>();
  const guard = sweep.guard.bind(sweep);
  // A crash of the fan-out after k operations, as trace lines.
  const crashLines = (k: number, lost: readonly string[]) => [
    ...sim.describeOps(0, k).map((l) => `fan-out: ${l}`),
    `machine crashes after ${k} operations of the fan-out; not durable: ${lost.join('; ') || 'nothing'}`,
    ...(s.mode === 'consumer-crash' ? ['after reboot: recovery'] : []),
  ];

  /** Mode `recovery`: a consumer before recovery, then before recovery's operation j, for every j. */
  const beforeAndDuring = async (k: number, rebooted: CrashSimulator, lost: readonly string[]) => {
    const t = new Tally();
    t.trace.push(...crashLines(k, lost), `after reboot: ${listing(rebooted, s.dests)}`);
    await guard(
      () => `fan-out crashed after ${k} operations; a consumer ran after the reboot`,
      () => t.trace,
      () =>
        consumerPass(rebooted, spoolsOn(rebooted, s.backend, s.dests).dests, messages, t, {
          release: true,
          label: 'consumer (after reboot, before recovery)',
        }),
    );
    // Make the consumer's work the start of every copy below (a copy of the live state, not of a crash).
    rebooted.checkpoint();
    let ops = 0;
    {
      const probe = cloneMachine(rebooted);
      const sp = spoolsOn(probe, s.backend, s.dests);
      await recover({
        spool: sp.source,
        open: sp.open,
        ownerProbe: allDead,
        hooks: { beforeOp: (op) => void (op.type !== 'all' && ops++) },
      });
      sweep.recoveries++;
    }
    for (let j = 0; j < Math.max(1, ops); j++) {
      sweep.runs++;
      const m = cloneMachine(rebooted);
      const tj = t.copy();
      const setting =
        `fan-out crashed after ${k} operations; a consumer ran after ` +
        `the reboot and again before recovery operation ${j} of ${ops}`;
      await guard(
        () => setting,
        () => tj.trace,
        async () => {
          const sp = spoolsOn(m, s.backend, s.dests);
          let i = 0;
          await recover({
            spool: sp.source,
            open: sp.open,
            ownerProbe: allDead,
            hooks: {
              beforeOp: async (op) => {
                if (op.type === 'all') return;
                if (i++ === j)
                  await consumerPass(m, sp.dests, messages, tj, {
                    release: true,
                    label: `consumer (before recovery operation ${j})`,
                  });
                tj.trace.push(opLine('recovery', op));
              },
            },
          });
          sweep.recoveries++;
          const bad = await finishAndCheck(m, world, messages, tj, sweep);
          if (bad) sweep.report(setting, bad, tj.trace);
        },
      );
    }
  };

  /** Mode `consumer-crash`: the machine crashes inside a consumer's operations, for every one of them. */
  const consumerCrashes = async (k: number, rebooted: CrashSimulator, lost: readonly string[]) => {
    let ops = 0;
    {
      const probe = cloneMachine(rebooted);
      await consumerPass(probe, spoolsOn(probe, s.backend, s.dests).dests, messages, new Tally(), {
        pid: CRASHING_CONSUMER_PID,
        release: false,
        label: 'consumer A',
      });
      ops = probe.opCount;
    }
    const seenHere = new Set<string>();
    for (let c = 0; c < ops; c++) {
      const m = cloneMachine(rebooted);
      const t = new Tally();
      t.trace.push(...crashLines(k, lost), `after recovery: ${listing(m, s.dests)}`);
      m.crashAfter(c);
      try {
        await consumerPass(m, spoolsOn(m, s.backend, s.dests).dests, messages, t, {
          pid: CRASHING_CONSUMER_PID,
          release: false,
          label: 'consumer A',
        });
      } catch (err) {
        if (!isSimulatedCrash(err)) throw err;
      }
      t.trace.push(...m.describeOps(0, c).map((l) => `consumer A: ${l}`));
      for (const state of m.crashStates({ maxStates: s.consumerMaxStates ?? 8 })) {
        const key = `${state.key}|${[...t.confirmed, ...t.tentative].join()}`;
        if (seenHere.has(key)) continue;
        seenHere.add(key);
        sweep.states++;
        sweep.runs++;
        const r = state.sim;
        const tc = t.copy();
        const setting =
          `fan-out crashed after ${k} operations; after the reboot and a recovery, ` +
          `consumer A ran and the machine crashed again after ${c} of its operations`;
        await guard(
          () => setting,
          () => tc.trace,
          async () => {
            tc.trace.push(
              `machine crashes after consumer A's operation ${c}; not durable: ${state.lost.join('; ') || 'nothing'}`,
              `after reboot: ${listing(r, s.dests)}`,
            );
            const sp = spoolsOn(r, s.backend, s.dests);
            // A second consumer may start before anyone has cleaned up after the first (consume --watch does this at
            // any time).
            await consumerPass(r, sp.dests, messages, tc, { release: false, label: 'consumer B (after reboot)' });
            const bad = await finishAndCheck(r, world, messages, tc, sweep, { recover: true, releaseClaims: true });
            if (bad) sweep.report(setting, bad, tc.trace);
          },
        );
      }
    }
  };

  return sweep.run(async () => {
    for (let k = 0; k <= total; k += s.stride ?? 1) {
      for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
        if (seen.has(state.key)) continue;
        seen.add(state.key);
        if (s.mode === 'consumer-crash') {
          // The documented order: recovery first, so that what follows is the consumer's own doing
          // (mode `recovery` covers consumers that start before it). Many crash states recover alike.
          const r = state.sim;
          const sp = spoolsOn(r, s.backend, s.dests);
          await recover({ spool: sp.source, open: sp.open, ownerProbe: allDead });
          sweep.recoveries++;
          r.checkpoint();
          if (recovered.has(r.key())) continue;
          recovered.add(r.key());
          // Nothing visible: the consumer does nothing.
          if (
            !Array.from({ length: s.dests }, (_, d) => r.list(destPath(d))).some((n) =>
              n.some((x) => x.startsWith('d')),
            )
          )
            continue;
          sweep.states++;
          await consumerCrashes(k, r, state.lost);
        } else {
          sweep.states++;
          await beforeAndDuring(k, state.sim, state.lost);
        }
      }
    }
  });
}
