/**
 * `pnpm crashcheck`: runs the crash checker's matrix and prints one line per
 * scenario and, last, exactly one summary line
 * `crashcheck: N crash states, M recoveries, V violations`.
 * Exits 1 if V > 0 (the seed protocol's expected counterexample with a
 * consumer that ignores locks is reported separately and is required, not
 * counted as a violation).
 *
 * Options: --quick (the slice `pnpm test` runs), --only <text> (scenarios
 * whose name contains it; --family <text> is the same, e.g. `--family paused`),
 * --drop-sync <step> (remove that step's directory
 * syncs to see the checker catch it), --subset (the more pessimistic
 * any-subset ordering of directory operations), --drop-fence (pass the core's
 * internal `dropFence: true` option to the paused-owner family's fan-outs and
 * recoveries), --drop-sync Q and --drop-order (the poison-and-hold family only:
 * drop the queue commands' syncs, or make release rename before it removes
 * the attempt count), --jobs n (processes; default:
 * the number of cores), --shard i/n (run one share of the matrix), --drop-twins and
 * --drop-sync CL|CA|CR (the consumer-steps family only: a claim blind to crash twins, or the
 * consumer's syncs dropped).
 *
 * Besides the matrix, the consumer scenarios and the interleavings, three
 * families run (not with --drop-sync or --subset): consumer-recovery,
 * paused-owner and failing-removals (consumer-recovery.ts, paused-owner.ts,
 * failing-removals.ts), one line each per scenario.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { StepName } from '@fanout/core/internal';
import { consumerRecoveryName, runConsumerRecovery } from './consumer-recovery.js';
import { consumerScenarioName, runConsumerScenario } from './consumer-scenario.js';
import { CONSUMER_STEPS, consumerStepsName, runConsumerSteps } from './consumer-steps.js';
import { failingRemovalsName, runFailingRemovals } from './failing-removals.js';
import { type FamilyResult, type FamilyViolation, formatFamilyViolation } from './family.js';
import { runInterleavings } from './interleaving.js';
import {
  consumerRecoveryScenarios,
  consumerScenarios,
  consumerStepsScenarios,
  failingRemovalScenarios,
  operatorFilesScenarios,
  pausedOwnerScenarios,
  poisonScenarios,
  scenarios,
  stallsScenarios,
} from './matrix.js';
import { runStalls, stallsName } from './stalls.js';
import { operatorFilesName, runOperatorFiles } from './operator-files.js';
import { pausedOwnerName, runPausedOwner } from './paused-owner.js';
import { poisonName, runPoisonAndHold } from './poison-and-hold.js';
import { ownerProbeName, ownerProbeScenarios, runOwnerProbes } from './owner-probes.js';
import { runAnyScenario } from './memory-scenario.js';
import { formatViolation, scenarioName } from './scenario.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const quick = process.argv.includes('--quick');
  const only = arg('--only') ?? arg('--family');
  const dropSync = arg('--drop-sync') as StepName | undefined;
  const subset = process.argv.includes('--subset');
  const dropFence = process.argv.includes('--drop-fence');
  const dropOrder = process.argv.includes('--drop-order');
  const dropTwins = process.argv.includes('--drop-twins');
  const [shard, shards] = (arg('--shard') ?? '0/1').split('/').map(Number) as [number, number];
  const started = Date.now();
  let states = 0;
  let recoveries = 0;
  let violations = 0;
  let index = 0;
  const mine = () => index++ % shards === shard;
  let counterexampleFound = false;
  /** Whether a paused-owner seed scenario showed the seed protocol's weakness (only reported). */
  let pausedSeedShown = false;
  let counterexampleExpected = false;

  // The queue commands' syncs (Q) and release's order exist only in the poison-and-hold family.
  const queueOnly = dropSync === 'Q' || dropOrder;
  // The consumer's and renewal's syncs, and the claim's twin removal, only in the consumer-steps family.
  const consumerOnly = (dropSync !== undefined && CONSUMER_STEPS.includes(dropSync)) || dropTwins;
  if (consumerOnly) {
    for (const c of consumerStepsScenarios({ quick, dropTwins, ...(dropSync ? { dropSync } : {}) })) {
      if ((only && !consumerStepsName(c).includes(only)) || !mine()) continue;
      const t0 = Date.now();
      const r = await runConsumerSteps(c, (v) => console.log(formatFamilyViolation(v)));
      states += r.states;
      recoveries += r.recoveries;
      violations += r.violations.length;
      console.log(
        `${r.name}: ${r.runs} runs, ${r.states} states, ${r.recoveries} recoveries, ` +
          `${r.violations.length} violations (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      );
    }
    console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`crashcheck: ${states} crash states, ${recoveries} recoveries, ${violations} violations`);
    return violations > 0 ? 1 : 0;
  }
  for (const s of queueOnly ? [] : scenarios({ quick, ...(dropSync ? { dropSync } : {}), subset })) {
    if ((only && !scenarioName(s).includes(only)) || !mine()) continue;
    const r = await runAnyScenario(s, (v) => console.log(formatViolation(v)));
    states += r.states;
    recoveries += r.recoveries;
    violations += r.violations.length;
    console.log(
      `${r.name}: ${r.crashPoints} crash points, ${r.states} ` +
        `states${r.exhaustive ? '' : ` (sampled, bound ${s.maxStates}/${s.nestedMaxStates} per point)`}` +
        `, ${r.recoveries} recoveries, ${r.violations.length} violations`,
    );
  }
  if (!dropSync && !queueOnly) {
    for (const c of consumerScenarios({ quick })) {
      if ((only && !consumerScenarioName(c).includes(only)) || !mine()) continue;
      const expectCounterexample = c.protocol === 'seed' && !c.honourLock;
      const r = await runConsumerScenario(c, (v) =>
        console.log(
          expectCounterexample
            ? `EXPECTED COUNTEREXAMPLE (the seed protocol's known weakness):\n${formatViolation(v)}`
            : formatViolation(v),
        ),
      );
      states += r.states;
      recoveries += r.recoveries;
      if (expectCounterexample) {
        counterexampleExpected = true;
        if (r.violations.length > 0) counterexampleFound = true;
        else violations++; // the checker failed to show a known weakness: the checker itself is broken
        const found = r.violations.length > 0 ? 'found (expected)' : 'NOT FOUND (the checker missed a known weakness)';
        console.log(`${r.name}: ${r.states} states, ${r.recoveries} recoveries, counterexample ${found}`);
      } else {
        violations += r.violations.length;
        console.log(`${r.name}: ${r.states} states, ${r.recoveries} recoveries, ${r.violations.length} violations`);
      }
    }
  }
  if (!dropSync && !subset && !queueOnly) {
    for (const protocol of ['staged', 'seed'] as const) {
      for (const backend of quick ? (['posix'] as const) : (['posix', 'nfs'] as const)) {
        for (const crash of [false, true]) {
          const name = `interleave ${protocol} ${backend}${crash ? ' + crash' : ''}`;
          if ((only && !name.includes(only)) || !mine()) continue;
          const r = await runInterleavings(
            { protocol, backend, dests: 2, messages: 3, schedules: quick ? 10 : 150, crash },
            (v) => console.log(formatViolation(v)),
          );
          states += r.states;
          recoveries += r.states;
          violations += r.violations.length;
          console.log(
            `${r.name}: ${r.schedules} schedules (${r.interleaved} well ` +
              `interleaved), ${r.states} end states, ${r.violations.length} violations`,
          );
        }
      }
    }
  }
  if ((!dropSync || queueOnly) && !subset) {
    for (const c of poisonScenarios({ quick, ...(dropSync ? { dropSync } : {}), dropOrder })) {
      const n = poisonName(c);
      if ((only && !n.includes(only)) || !mine()) continue;
      const t0 = Date.now();
      const r = await runPoisonAndHold(c, (v) => console.log(formatFamilyViolation(v)));
      states += r.states;
      recoveries += r.recoveries;
      violations += r.violations.length;
      console.log(
        `${r.name}: ${r.runs} runs, ${r.states} states, ${r.recoveries} recoveries, ` +
          `${r.violations.length} violations (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      );
    }
  }
  if (!dropSync && !subset && !queueOnly) {
    // The families: one line per scenario, counted into the summary like the rest.
    const families: { name: string; run: (report: (v: FamilyViolation) => void) => Promise<FamilyResult> }[] = [
      ...consumerRecoveryScenarios({ quick }).map((c) => ({
        name: consumerRecoveryName(c),
        run: (r: (v: FamilyViolation) => void) => runConsumerRecovery(c, r),
      })),
      ...pausedOwnerScenarios({ quick, dropFence }).map((c) => ({
        name: pausedOwnerName(c),
        run: (r: (v: FamilyViolation) => void) => runPausedOwner(c, r),
      })),
      ...failingRemovalScenarios({ quick }).map((c) => ({
        name: failingRemovalsName(c),
        run: (r: (v: FamilyViolation) => void) => runFailingRemovals(c, r),
      })),
      ...ownerProbeScenarios({ quick }).map((c) => ({
        name: ownerProbeName(c),
        run: (r: (v: FamilyViolation) => void) => runOwnerProbes(c, r),
      })),
      ...operatorFilesScenarios({ quick }).map((c) => ({
        name: operatorFilesName(c),
        run: (r: (v: FamilyViolation) => void) => runOperatorFiles(c, r),
      })),
      ...stallsScenarios({ quick }).map((c) => ({
        name: stallsName(c),
        run: (r: (v: FamilyViolation) => void) => runStalls(c, r),
      })),
      ...consumerStepsScenarios({ quick }).map((c) => ({
        name: consumerStepsName(c),
        run: (r: (v: FamilyViolation) => void) => runConsumerSteps(c, r),
      })),
    ];
    for (const f of families) {
      if ((only && !f.name.includes(only)) || !mine()) continue;
      const t0 = Date.now();
      // The seed protocol writes its copies as d<id> under a lock: an owner paused past its lease can still make
      // them after a takeover (its commit is fenced, its copies cannot be). Its known weakness, shown, not counted.
      const seedPaused = f.name.startsWith('paused-owner seed') && !dropFence;
      const r = await f.run((v) =>
        console.log(
          seedPaused
            ? `EXPECTED COUNTEREXAMPLE (the seed protocol is not fenced against ` +
                `owners paused past their lease):\n${formatFamilyViolation(v)}`
            : formatFamilyViolation(v),
        ),
      );
      states += r.states;
      recoveries += r.recoveries;
      if (seedPaused) {
        if (r.violations.length > 0) pausedSeedShown = true;
        console.log(
          `${r.name}: ${r.runs} runs, ${r.states} states, ${r.recoveries} recoveries, ` +
            `${r.violations.length > 0 ? 'counterexample found (expected)' : 'no counterexample'} ` +
            `(${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        );
        continue;
      }
      violations += r.violations.length;
      console.log(
        `${r.name}: ${r.runs} runs, ${r.states} states, ${r.recoveries} recoveries, ` +
          `${r.violations.length} violations (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      );
    }
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (counterexampleExpected)
    console.log(`seed protocol without locks: counterexample ${counterexampleFound ? 'found' : 'missing'}`);
  if (pausedSeedShown) console.log('seed protocol with an owner paused past its lease: counterexample found');
  console.log(`(${secs} s)`);
  console.log(`crashcheck: ${states} crash states, ${recoveries} recoveries, ${violations} violations`);
  return violations > 0 ? 1 : 0;
}

/** Run the matrix in `jobs` child processes, each a shard, and add up their summaries. */
async function parallel(jobs: number): Promise<number> {
  const started = Date.now();
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--jobs' && all[i - 1] !== '--jobs');
  let states = 0;
  let recoveries = 0;
  let violations = 0;
  let failedChildren = 0;
  let counterexample: string | undefined;
  let pausedSeed: string | undefined;
  await Promise.all(
    Array.from({ length: jobs }, (_, i) => {
      const child = spawn(process.execPath, [process.argv[1]!, ...args, '--shard', `${i}/${jobs}`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const m = /^crashcheck: (\d+) crash states, (\d+) recoveries, (\d+) violations$/.exec(line);
        if (m) {
          states += Number(m[1]);
          recoveries += Number(m[2]);
          violations += Number(m[3]);
        } else if (line.startsWith('seed protocol without locks:')) counterexample = line;
        else if (line.startsWith('seed protocol with an owner paused')) pausedSeed = line;
        else if (!/^\(\d+(\.\d+)? s\)$/.test(line)) console.log(line);
      });
      return new Promise<void>((resolve) =>
        child.on('close', (code) => {
          if (code !== 0 && code !== 1) failedChildren++;
          resolve();
        }),
      );
    }),
  );
  if (counterexample) console.log(counterexample);
  if (pausedSeed) console.log(pausedSeed);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s, ${jobs} processes)`);
  if (failedChildren) console.log(`${failedChildren} checker process(es) died`);
  console.log(
    `crashcheck: ${states} crash states, ${recoveries} recoveries, ${violations + failedChildren} violations`,
  );
  return violations + failedChildren > 0 ? 1 : 0;
}

const jobs = Number(arg('--jobs') ?? Math.min(2, availableParallelism()));
process.exitCode = arg('--shard') === undefined && jobs > 1 ? await parallel(jobs) : await main();
