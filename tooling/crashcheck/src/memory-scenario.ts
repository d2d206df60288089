/**
 * The crash checker for `@fanout/fs-memory`'s MemoryBackend. A memory spool
 * lives and dies with its process, so its only crash is the process's: every
 * backend operation done is kept, nothing after it happens. The machine is
 * stopped after every operation (and its recovery after every one of its
 * operations), over the real MemoryBackend code and its memfs adapter.
 */
import { createHash } from 'node:crypto';
import { enqueue, fanOut, initSpool, recover, type SpoolBackend } from '@fanout/core';
import { type ExecutorHooks } from '@fanout/core/internal';
import { createMemorySpools, type MemorySpools } from '@fanout/fs-memory';
import { checkRecovered, type ExpectedMessage } from './invariants.js';
import {
  messagesOf,
  runScenario,
  scenarioName,
  scheduleOf,
  type Scenario,
  type ScenarioResult,
  type Violation,
} from './scenario.js';
import type { CrashSimulator } from '@fanout/crashfs';

class Stop extends Error {}

function stopAfter(n: number, trace: string[]): ExecutorHooks {
  let count = 0;
  return {
    beforeOp(op) {
      if (op.type === 'all') return;
      if (count >= n) throw new Stop();
      count++;
      trace.push(
        `${op.step} ${op.type} ${'name' in op ? op.name : 'from' in op ? `${op.from} -> ${op.to}` : ''} ` +
          `in ${op.spool.location}`,
      );
    },
  };
}

interface MemoryMachine {
  spools: MemorySpools;
  source: SpoolBackend;
  dests: SpoolBackend[];
  open: (l: string) => Promise<SpoolBackend>;
}

async function machine(s: Scenario, messages: readonly ExpectedMessage[]): Promise<MemoryMachine> {
  const spools = createMemorySpools();
  const source = spools.open('memory://S');
  const dests = Array.from({ length: s.dests }, (_, i) => spools.open(`memory://D${i}`));
  for (const b of [source, ...dests]) await initSpool(b);
  for (const m of messages) await enqueue(source, m.content, { id: m.id });
  const all = new Map([source, ...dests].map((b) => [b.location, b]));
  return { spools, source, dests, open: async (l) => all.get(l)! };
}

/** The checker's read-only view of a memfs volume, shaped like the simulator's. */
function view(spools: MemorySpools): CrashSimulator {
  const vol = spools.volume;
  return {
    list: (p: string) => (vol.existsSync(p) ? (vol.readdirSync(p) as string[]).map(String).sort() : []),
    readFile: (p: string) => (vol.existsSync(p) ? new Uint8Array(vol.readFileSync(p) as Buffer) : undefined),
    exists: (p: string) => vol.existsSync(p),
  } as unknown as CrashSimulator;
}

function key(spools: MemorySpools): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of (spools.volume.readdirSync(dir || '/') as string[]).map(String).sort()) {
      const p = `${dir}/${name}`;
      const st = spools.volume.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else h.update(`${p}\0${st.size}\0`).update(spools.volume.readFileSync(p) as Buffer);
    }
  };
  walk('');
  return h.digest('hex');
}

const dead = async () => 'dead' as const;

export async function runMemoryScenario(
  s: Scenario,
  onViolation: (v: Violation) => void = () => undefined,
): Promise<ScenarioResult> {
  const name = scenarioName(s);
  const messages = messagesOf(s);
  const destinations = (m: MemoryMachine) => m.dests.map((spool) => ({ spool }));
  let total = 0;
  {
    const m = await machine(s, messages);
    await fanOut({
      source: m.source,
      destinations: destinations(m),
      protocol: s.protocol,
      ...scheduleOf(s),
      recoverFirst: false,
      hooks: { beforeOp: (op) => void (op.type !== 'all' && total++) },
    });
  }
  const violations: Violation[] = [];
  const seen = new Set<string>();
  let states = 0;
  let recoveries = 0;
  for (let k = 0; k <= total; k++) {
    for (let j = 0; ; j++) {
      const m = await machine(s, messages);
      const trace: string[] = [];
      await fanOut({
        source: m.source,
        destinations: destinations(m),
        protocol: s.protocol,
        ...scheduleOf(s),
        recoverFirst: false,
        hooks: stopAfter(k, trace),
      }).catch((e) => {
        if (!(e instanceof Stop)) throw e;
      });
      const recoveryTrace: string[] = [];
      let stopped = false;
      try {
        await recover({ spool: m.source, open: m.open, ownerProbe: dead, hooks: stopAfter(j, recoveryTrace) });
      } catch (e) {
        if (!(e instanceof Stop)) throw e;
        stopped = true;
      }
      const k2 = key(m.spools);
      if (!seen.has(k2)) {
        seen.add(k2);
        states++;
      }
      if (stopped) {
        await recover({ spool: m.source, open: m.open, ownerProbe: dead });
        recoveries++;
      }
      recoveries++;
      let ok = checkRecovered(view(m.spools), s.dests, messages);
      if (typeof ok !== 'string') {
        // Whatever was rolled back must fan out again, exactly once.
        await fanOut({
          source: m.source,
          destinations: destinations(m),
          protocol: s.protocol,
          ...scheduleOf(s),
          ownerProbe: dead,
        });
        ok = checkRecovered(view(m.spools), s.dests, messages);
        if (typeof ok !== 'string' && ok.inSource > 0)
          ok = `after the next fan-out ${ok.inSource} message(s) are still in the source`;
      }
      if (typeof ok === 'string') {
        const v: Violation = {
          scenario: name,
          invariant: ok,
          crashAfter: k,
          opsBeforeCrash: trace,
          lostAtCrash: [],
          recoveryCrashAfter: stopped ? j : undefined,
          recoveryOps: recoveryTrace,
        };
        violations.push(v);
        onViolation(v);
      }
      if (!stopped) break;
    }
  }
  return { name, crashPoints: total + 1, states, recoveries, violations, exhaustive: true };
}

/** Run a scenario with the crash model its backend calls for. */
export function runAnyScenario(s: Scenario, onViolation?: (v: Violation) => void): Promise<ScenarioResult> {
  return s.backend === 'memory' ? runMemoryScenario(s, onViolation) : runScenario(s, onViolation);
}
