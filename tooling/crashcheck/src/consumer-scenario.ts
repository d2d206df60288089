/**
 * The consumer scenario: a consumer of the destinations runs while the
 * fan-out is live, at every point of it, then the machine crashes, recovers,
 * finishes the fan-out and the consumer drains what is left. Each message
 * must be consumed exactly once per destination, and never before its commit.
 *
 * With the seed protocol and a consumer that ignores the lock files this
 * fails — the weakness the seed post itself points out — and the checker
 * prints the counterexample; honouring the locks (or using the staged
 * protocol) it holds.
 */
import { consume, fanOut, recover, type ProtocolName, type SpoolBackend } from '@fanout/core';
import { names } from '@fanout/core/internal';
import type { CrashSimulator } from '@fanout/crashfs';
import { uncommittedName } from './invariants.js';
import { messagesOf, type Violation } from './scenario.js';
import { type BackendKind, cloneMachine, setUpMachine, SOURCE, spoolsOn } from './world.js';

export interface ConsumerScenario {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly messages: number;
  /** A consumer that honours seed lock files (`l<id>`), as `consume()` does. */
  readonly honourLock: boolean;
}

export function consumerScenarioName(s: ConsumerScenario): string {
  return (
    `${s.protocol} ${s.backend} dests=${s.dests} msgs=${s.messages} ` +
    `consumer ${s.honourLock ? 'honours' : 'ignores'} locks`
  );
}

const dead = async () => 'dead' as const;

/**
 * Consume everything visible in `dest` once; returns the ids consumed and a note for each consumed before its commit.
 */
async function consumeOnce(
  sim: CrashSimulator,
  dest: SpoolBackend,
  honourLock: boolean,
  log: string[],
): Promise<{ ids: string[]; early: string[] }> {
  const ids: string[] = [];
  const early: string[] = [];
  const took = (id: string) => {
    ids.push(id);
    const held = uncommittedName(sim.list(SOURCE), id);
    if (held) early.push(id);
    log.push(
      `consumer takes ${dest.location}/d${id}${held ? ` while ${SOURCE}/${held} still exists (not committed)` : ''}`,
    );
  };
  if (honourLock) {
    await consume({ spool: dest, ownerProbe: dead, handler: async (m) => took(m.id) });
  } else {
    for await (const e of dest.list()) {
      if (!/^d/.test(e.name)) continue;
      took(e.name.slice(1));
      await dest.remove(e.name);
      await dest.syncDir();
    }
  }
  return { ids, early };
}

export async function runConsumerScenario(
  s: ConsumerScenario,
  onViolation: (v: Violation) => void = () => undefined,
): Promise<{ name: string; states: number; recoveries: number; violations: Violation[] }> {
  const name = consumerScenarioName(s);
  const messages = messagesOf({ messages: s.messages, transform: false });
  const start = await setUpMachine(s.backend, s.dests, messages);
  // Count the machine's operations in a clean run.
  let total = 0;
  {
    const sim = cloneMachine(start);
    const sp = spoolsOn(sim, s.backend, s.dests);
    await fanOut({
      source: sp.source,
      destinations: sp.dests.map((spool) => ({ spool })),
      protocol: s.protocol,
      recoverFirst: false,
      hooks: { beforeOp: (op) => void (op.type !== 'all' && total++) },
    });
  }
  const violations: Violation[] = [];
  let states = 0;
  let recoveries = 0;
  for (let k = 0; k <= total && violations.length === 0; k++) {
    const sim = cloneMachine(start);
    const sp = spoolsOn(sim, s.backend, s.dests);
    const counts = new Map<string, number>();
    const log: string[] = [];
    const early: string[] = [];
    const drain = async (on: CrashSimulator, dests: SpoolBackend[]) => {
      for (const [d, dest] of dests.entries()) {
        const r = await consumeOnce(on, dest, s.honourLock, log);
        for (const id of r.ids) counts.set(`${d}:${id}`, (counts.get(`${d}:${id}`) ?? 0) + 1);
        early.push(...r.early.map((id) => `D${d}:${id}`));
      }
    };
    let ops = 0;
    let opsAtCrash = 0;
    await fanOut({
      source: sp.source,
      destinations: sp.dests.map((spool) => ({ spool })),
      protocol: s.protocol,
      recoverFirst: false,
      hooks: {
        beforeOp: async (op) => {
          if (op.type === 'all' || ops++ !== k) return;
          await drain(sim, sp.dests); // the consumer runs between two steps of the live fan-out
          opsAtCrash = sim.opCount;
          sim.crashAfter(sim.opCount); // … and then the machine crashes
        },
      },
    }).catch(() => undefined);
    const before = [...counts];
    for (const state of sim.crashStates({ maxStates: 16 })) {
      states++;
      counts.clear();
      for (const [key, n] of before) counts.set(key, n);
      const after = spoolsOn(state.sim, s.backend, s.dests);
      await recover({ spool: after.source, open: after.open, ownerProbe: dead });
      recoveries++;
      await fanOut({
        source: after.source,
        destinations: after.dests.map((spool) => ({ spool })),
        protocol: s.protocol,
        ownerProbe: dead,
      });
      await drain(state.sim, after.dests);
      const wrong = messages.flatMap((m) =>
        Array.from({ length: s.dests }, (_, d) => [d, counts.get(`${d}:${m.id}`) ?? 0] as const)
          .filter(([, n]) => n !== 1)
          .map(([d, n]) => `${m.id} consumed ${n} times from /D${d}`),
      );
      const invariant = wrong.length
        ? `duplicate or loss: ${wrong.join(', ')}`
        : early.length
          ? `consumed before its commit: ${early.join(', ')}`
          : undefined;
      if (invariant) {
        const v: Violation = {
          scenario: name,
          invariant,
          crashAfter: opsAtCrash,
          opsBeforeCrash: [...sim.describeOps(0, opsAtCrash), ...log.map((l) => `   ${l}`)],
          lostAtCrash: state.lost,
        };
        violations.push(v);
        onViolation(v);
        break;
      }
    }
  }
  return { name, states, recoveries, violations };
}
