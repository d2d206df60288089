/**
 * One scenario of the crash checker: run the protocol once on a simulated
 * machine, then for every crash point and every state the persistence model
 * allows there, reboot, check what a consumer could see, recover, check the
 * invariants, recover again (idempotence), crash the recovery itself at every
 * point and recover again, and finally finish the fan-out.
 */
import { Transform } from 'node:stream';
import {
  fanOut,
  overrideBackend,
  recover,
  type FanOutDestination,
  type ProtocolName,
  type SpoolBackend,
} from '@fanout/core';
import { encodeOwnerTag, type ExecutorHooks, type Op, type StepName } from '@fanout/core/internal';
import type { CrashSimulator } from '@fanout/crashfs';
import { checkRecovered, checkVisibleCopies, type ExpectedMessage } from './invariants.js';
import { type BackendKind, setUpMachine, type Spools, spoolsOn } from './world.js';

/** One line of the matrix. */
export interface Scenario {
  readonly protocol: ProtocolName;
  /** The backend code; `memory` runs MemoryBackend with the process-crash model (memory-scenario.ts). */
  readonly backend: BackendKind | 'memory';
  readonly dests: number;
  readonly messages: number;
  readonly batch: number;
  /**
   * Messages of a batch copied at once (the library's default when absent); 1 makes the seed protocol lock the next
   * message while it copies one.
   */
  readonly copyWindow?: number;
  /** Transactions copying at once (the library's default when absent). */
  readonly concurrency?: number;
  readonly transform: boolean;
  /** Drop every directory sync of this step (to show the checker catches it). */
  readonly dropSync?: StepName;
  /** States built per crash point at most (the model's bound). */
  readonly maxStates: number;
  /** Also crash each recovery at every point, with at most this many states per point (0: no nesting). */
  readonly nestedMaxStates: number;
  /** `prefix` (ext4-like, default) or the more pessimistic `subset`. */
  readonly entryOrder?: 'prefix' | 'subset';
}

/** A broken invariant with the trace that leads to it. */
export interface Violation {
  readonly scenario: string;
  readonly invariant: string;
  readonly crashAfter: number;
  readonly opsBeforeCrash: readonly string[];
  readonly lostAtCrash: readonly string[];
  readonly recoveryCrashAfter?: number;
  readonly recoveryOps?: readonly string[];
  readonly lostAtRecoveryCrash?: readonly string[];
}

export interface ScenarioResult {
  readonly name: string;
  readonly crashPoints: number;
  /** Distinct crash states explored (of the run and of the recoveries). */
  readonly states: number;
  readonly recoveries: number;
  readonly violations: Violation[];
  /** Whether every crash point was enumerated exhaustively under its bound. */
  readonly exhaustive: boolean;
}

/** Reproducible temp names of exactly the shape of tempName() (`t<ULID>.<owner tag>`): recovery removes only those. */
export function simTempName(n: number, tag: string = SIM_WRITER_TAG): string {
  return `t${String(n).padStart(26, '0')}.${tag}`;
}

/**
 * The simulation's attempt id number `n` with a readable `label` (`TX`, `A`,
 * `B` …): ULID-shaped as recovery requires (`isValidTx`), e.g.
 * `000000000000000000000TX1`-style, with the label and number at the end so
 * traces stay readable.
 */
export function simTx(label: string, n: number): string {
  const tail = `${label}${n}`;
  return `0${tail.padStart(25, '0')}`;
}

/** The scenario's scheduling as {@link fanOut} options: every run of a scenario uses the same. */
export function scheduleOf(s: Pick<Scenario, 'batch' | 'copyWindow' | 'concurrency'>): {
  batchSize: number;
  copyWindow?: number;
  concurrency?: number;
} {
  return {
    batchSize: s.batch,
    ...(s.copyWindow !== undefined ? { copyWindow: s.copyWindow } : {}),
    ...(s.concurrency !== undefined ? { concurrency: s.concurrency } : {}),
  };
}

export function scenarioName(s: Scenario): string {
  return (
    `${s.protocol} ${s.backend} dests=${s.dests} msgs=${s.messages} ` +
    `batch=${s.batch}${s.copyWindow !== undefined ? ` window=${s.copyWindow}` : ''}` +
    `${s.concurrency !== undefined ? ` concurrency=${s.concurrency}` : ''}${s.transform ? ' transform' : ''}` +
    `${s.dropSync ? ` drop-sync=${s.dropSync}` : ''}${s.entryOrder === 'subset' ? ' subset' : ''}`
  );
}

const upper = (b: Uint8Array) => Buffer.from(Buffer.from(b).toString('latin1').toUpperCase(), 'latin1');

export function messagesOf(s: Pick<Scenario, 'messages' | 'transform'>): ExpectedMessage[] {
  return Array.from({ length: s.messages }, (_, i) => {
    const content = Buffer.from(`message ${i} of the crash checker\n`);
    return { id: `M${i}`, content, expected: (d: number) => (s.transform && d === 0 ? upper(content) : content) };
  });
}

function upperTransform() {
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      done(null, upper(chunk));
    },
  });
}

/** Executor hooks that remember the current step, and backends that skip the syncs of a dropped step. */
function stepTracker(drop: StepName | undefined): { hooks: ExecutorHooks; wrap: (b: SpoolBackend) => SpoolBackend } {
  let step: StepName | undefined;
  const hooks: ExecutorHooks = {
    beforeOp(op: Op) {
      step = op.step;
    },
  };
  const wrap = (b: SpoolBackend): SpoolBackend =>
    drop === undefined ? b : overrideBackend(b, { syncDir: async () => (step === drop ? undefined : b.syncDir()) });
  return { hooks, wrap };
}

function destinationsOf(s: Scenario, spools: Spools): FanOutDestination[] {
  return spools.dests.map((spool, i) => (s.transform && i === 0 ? { spool, transform: upperTransform } : { spool }));
}

const dead = async () => 'dead' as const;

/** The writer the simulated runs name in their temp files: a process of a simulated host. */
/** The owner tag of the simulated writer of the checker's temp files. */
export const SIM_WRITER_TAG = encodeOwnerTag({ host: 'simhost', bootId: '', pidNamespace: '', pid: 1, startTime: '' });

async function recoverOn(s: Scenario, sim: CrashSimulator) {
  const t = stepTracker(s.dropSync);
  const spools = spoolsOn(sim, s.backend as BackendKind, s.dests, t.wrap);
  return recover({ spool: spools.source, open: spools.open, ownerProbe: dead, hooks: t.hooks });
}

/** Run a scenario; `onViolation` sees each violation as it is found. */
export async function runScenario(
  s: Scenario,
  onViolation: (v: Violation) => void = () => undefined,
  maxViolations = 5,
): Promise<ScenarioResult> {
  const name = scenarioName(s);
  const messages = messagesOf(s);
  if (s.backend === 'memory') throw new Error('memory scenarios run through runMemoryScenario');
  const backend: BackendKind = s.backend;
  const sim = await setUpMachine(backend, s.dests, messages);
  const t = stepTracker(s.dropSync);
  const spools = spoolsOn(sim, backend, s.dests, t.wrap);
  let txs = 0;
  let temps = 0;
  const clean = await fanOut({
    source: spools.source,
    destinations: destinationsOf(s, spools),
    protocol: s.protocol,
    ...scheduleOf(s),
    recoverFirst: false,
    hooks: t.hooks,
    ownerProbe: dead,
    newTx: () => simTx('TX', ++txs),
    // Reproducible, and exactly the shape of tempName() (t<ULID>.<owner tag>), else recovery would never remove them.
    tempName: () => `t${String(++temps).padStart(26, '0')}.${SIM_WRITER_TAG}`,
  });
  if (clean.committed !== s.messages)
    throw new Error(
      `${name}: the clean run committed ${clean.committed} ` +
        `of ${s.messages}: ${clean.failed.map((f) => f.error.oneLine()).join('; ')}`,
    );

  const violations: Violation[] = [];
  const seen = new Set<string>();
  const seenNested = new Set<string>();
  let states = 0;
  let recoveries = 0;
  let exhaustive = true;
  const report = (v: Violation) => {
    violations.push(v);
    onViolation(v);
  };
  const total = sim.opCount;
  for (let k = 0; k <= total && violations.length < maxViolations; k++) {
    const crash = sim.crashStates({ after: k, maxStates: s.maxStates, entryOrder: s.entryOrder ?? 'prefix' });
    for (const state of crash) {
      if (seen.has(state.key)) continue;
      seen.add(state.key);
      states++;
      const base = { scenario: name, crashAfter: k, opsBeforeCrash: sim.describeOps(0, k), lostAtCrash: state.lost };
      const visible = checkVisibleCopies(state.sim, s.dests, messages, s.protocol);
      if (visible) {
        report({ ...base, invariant: visible });
        continue;
      }
      const rsim = state.sim;
      let first;
      try {
        first = await recoverOn(s, rsim);
      } catch (err) {
        report({ ...base, invariant: `recovery failed: ${String(err)}`, recoveryOps: rsim.describeOps() });
        continue;
      }
      recoveries++;
      const recoveryOps = rsim.describeOps();
      const fail = (invariant: string) => report({ ...base, invariant, recoveryOps });
      if (first.refused.length) {
        fail(`recovery refused: ${first.refused.map((e) => e.oneLine()).join('; ')}`);
        continue;
      }
      const after = checkRecovered(rsim, s.dests, messages);
      if (typeof after === 'string') {
        fail(after);
        continue;
      }
      // Invariant 4: recovery is idempotent.
      const keyBefore = rsim.key();
      const second = await recoverOn(s, rsim);
      recoveries++;
      if (second.rolledBack + second.rolledForward + second.refused.length > 0 || rsim.key() !== keyBefore) {
        fail('recovery is not idempotent: a second run changed the spools');
        continue;
      }
      // Invariant 4: a recovery crashed at any point, then recovered again, ends the same way.
      const recoveryLength = recoveryOps.length;
      if (s.nestedMaxStates > 0) {
        for (let j = 0; j <= recoveryLength; j++) {
          const nested = rsim.crashStates({
            after: j,
            maxStates: s.nestedMaxStates,
            entryOrder: s.entryOrder ?? 'prefix',
          });
          if (!nested.space.exhaustive) exhaustive = false;
          for (const n of nested) {
            if (seenNested.has(n.key)) continue;
            seenNested.add(n.key);
            states++;
            let again;
            try {
              again = await recoverOn(s, n.sim);
            } catch (err) {
              report({
                ...base,
                invariant: `recovery after a crashed recovery failed: ${String(err)}`,
                recoveryCrashAfter: j,
                recoveryOps: recoveryOps.slice(0, j),
                lostAtRecoveryCrash: n.lost,
              });
              continue;
            }
            recoveries++;
            const ok = again.refused.length
              ? `recovery refused: ${again.refused.map((e) => e.oneLine()).join('; ')}`
              : checkRecovered(n.sim, s.dests, messages);
            if (typeof ok === 'string') {
              report({
                ...base,
                invariant: `after a recovery crashed: ${ok}`,
                recoveryCrashAfter: j,
                recoveryOps: recoveryOps.slice(0, j),
                lostAtRecoveryCrash: n.lost,
              });
            }
          }
        }
      }
      // Whatever was rolled back must fan out again, exactly once.
      const finish = spoolsOn(rsim, backend, s.dests);
      const rerun = await fanOut({
        source: finish.source,
        destinations: destinationsOf(s, finish),
        protocol: s.protocol,
        ...scheduleOf(s),
        ownerProbe: dead,
      });
      const end = checkRecovered(rsim, s.dests, messages);
      if (rerun.failed.length)
        fail(`the fan-out after recovery failed: ${rerun.failed.map((f) => f.error.oneLine()).join('; ')}`);
      else if (typeof end === 'string') fail(`after the next fan-out: ${end}`);
      else if (end.inSource !== 0) fail(`after the next fan-out ${end.inSource} message(s) are still in the source`);
    }
    if (!crash.space.exhaustive) exhaustive = false;
  }
  return { name, crashPoints: total + 1, states, recoveries, violations, exhaustive };
}

/** A violation as a readable, minimal trace. */
export function formatViolation(v: Violation): string {
  const lines = [
    `VIOLATION in [${v.scenario}]: ${v.invariant}`,
    `  crash after ${v.crashAfter} operations of the fan-out:`,
    ...v.opsBeforeCrash.slice(-25).map((l) => `    ${l}`),
    v.opsBeforeCrash.length > 25 ? `    (… ${v.opsBeforeCrash.length - 25} earlier operations not shown)` : '',
    `  lost in the crash (not durable): ${v.lostAtCrash.length ? '' : 'nothing'}`,
    ...v.lostAtCrash.map((l) => `    ${l}`),
  ];
  if (v.recoveryOps) {
    lines.push(
      v.recoveryCrashAfter === undefined
        ? '  recovery did:'
        : `  recovery crashed after ${v.recoveryCrashAfter} operations, having done:`,
    );
    lines.push(...v.recoveryOps.map((l) => `    ${l}`));
    if (v.lostAtRecoveryCrash)
      lines.push(`  lost in the recovery's crash: ${v.lostAtRecoveryCrash.join('; ') || 'nothing'}`);
  }
  lines.push(`  reproduce: pnpm crashcheck --only '${v.scenario}'`);
  return lines.filter((l) => l !== '').join('\n');
}
