/**
 * Family "poison-and-hold": the durable per-message state of poison messages
 * and queue commands (docs/PROTOCOL.md, "Poison messages", "Queue
 * commands") — attempt counts `a<id>.0`/`a<id>.1`, held `h<id>.s`, deleting
 * `z<id>` — crashed at every step, with workers, recoverers and consumers.
 *
 * - workload `poison`: M0's transform always throws (ETRANSFORM) on the last
 *   destination, M1 is good, M2 fails in the first run only; limit 2 attempts.
 *   A script runs on one machine: run (M0 and M2 counted once, M1
 *   delivered), a consumer, run (M2 delivered and its count removed), run (M0 counted twice:
 *   held), run (M0 not offered), release M0, hold M0, release M0, run (M0
 *   counted once), delete M0. The machine crashes after every operation of
 *   the script (every state up to a bound); after the reboot a recovery runs
 *   and the invariants are read from the simulated disk.
 * - workloads `race-…`: a worker fans out M0 and M1 while a command (hold M0,
 *   delete M0, or release M0 held beforehand) runs to completion at each
 *   point of the worker's run; then the machine crashes at every point from
 *   the command's start on.
 * - workload `consume-poison`: M0 and M1 delivered; a consumer whose handler
 *   always fails on M0 in /D0 (limit 2) runs until M0 is held there
 *   (`h<id>.d`), once more (M0 not handed out), M0 is released in /D0, and a
 *   consumer that succeeds runs; crashed after every operation.
 * - workload `discard-record`: a worker stopped after its copies were written
 *   (M0 and M1 taken, staged copies in every destination), its record then
 *   corrupted; `recover --discard-record` runs and is crashed after every
 *   operation. Its staged copies stay (invisible; the record that named their
 *   spools is gone): the only names allowed to remain at the end.
 *
 * Invariants, after each reboot and recovery:
 * - a message poisoned never reaches a destination;
 * - a waiting `s<id>` never has as many counted failures as the limit (the
 *   next failure would hold it without a full set of attempts; recovery
 *   holds such a message when it gives it back);
 * - what a returned command promised holds: a hold leaves `h<id>.s`, a
 *   release `s<id>` with no count, a delete nothing anywhere;
 * - then, once the held are released and a clean fan-out and consumers
 *   drain everything: every message not deleted was consumed exactly once
 *   from every destination, a deleted one never (an interrupted delete: at
 *   most once), and no name but `.fanout-spool` is left anywhere.
 *
 * `--drop-sync Q` drops the queue commands' syncs (a hold or delete that
 * returned is undone by a crash); `--drop-order` makes release rename before
 * it removes the count (a released message waits with its old count).
 */
import { Transform } from 'node:stream';
import {
  type ClaimedMessage,
  consume,
  consumerName,
  deleteMessage,
  discardRecord,
  fanOut,
  type FanoutEvent,
  holdMessage,
  isFanoutError,
  overrideBackend,
  processOwner,
  type ProtocolName,
  recover,
  releaseMessage,
  type SpoolBackend,
  type TransformFactory,
} from '@fanout/core';
import { type ExecutorHooks, type Op, type StepName } from '@fanout/core/internal';
import type { CrashSimulator } from '@fanout/crashfs';
import {
  allDead,
  consumerProbe,
  CRASHING_CONSUMER_PID,
  type FamilyResult,
  type FamilyViolation,
  listing,
  LIVE_CONSUMER_PID,
  opLine,
  Sweep,
} from './family.js';
import { simTempName, simTx } from './scenario.js';
import { type BackendKind, cloneMachine, destPath, setUpMachine, SOURCE, type Spools, spoolsOn } from './world.js';

/** One line of the poison-and-hold family. */
export interface PoisonScenario {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly workload: 'poison' | 'race-hold' | 'race-delete' | 'race-release' | 'consume-poison' | 'discard-record';
  /** Crash states per crash point, at most. */
  readonly maxStates: number;
  /** Only every n-th crash point (and, in the race workloads, pause point); default 1. */
  readonly stride?: number;
  /** Drop the syncs of the queue commands (step Q), to show the checker catches it. */
  readonly dropSync?: boolean;
  /** Release renames the held message before it removes its count (the core's internal `dropOrder`). */
  readonly dropOrder?: boolean;
}

/** The attempt limit of the family: small, so that holds happen within a short script. */
export const POISON_MAX_ATTEMPTS = 2;
const IDENTITY = '.fanout-spool';

export function poisonName(s: PoisonScenario): string {
  return (
    `poison-and-hold ${s.protocol} ${s.backend} dests=${s.dests} ${s.workload}` +
    `${(s.stride ?? 1) > 1 ? ` stride=${s.stride}` : ''}` +
    `${s.dropSync ? ' drop-sync=Q' : ''}${s.dropOrder ? ' drop-order' : ''}`
  );
}

const content = (id: string) => Buffer.from(`message ${id} of the poison checker\n`);

/** M0's transform throws, always, on the last destination: the message's own failure (ETRANSFORM). */
const poisonM0: TransformFactory = ({ id }) => (id === 'M0' ? failing() : undefined);
/** Run 1 of the poison script: M2 fails too, once (it is delivered by run 2, its count removed with its commit). */
const poisonM0M2: TransformFactory = ({ id }) => (id === 'M0' || id === 'M2' ? failing() : undefined);
function failing(): Transform {
  return new Transform({
    transform(_chunk, _encoding, done) {
      done(new Error('poison message (injected)'));
    },
  });
}

/** The count in `a<id>.0`/`a<id>.1`, read from the simulated disk (not through the code under test). */
function countOnDisk(sim: CrashSimulator, id: string): number {
  let max = 0;
  for (const slot of [0, 1]) {
    const bytes = sim.readFile(`${SOURCE}/a${id}.${slot}`);
    const m = bytes === undefined ? null : /"count":(\d+)/.exec(Buffer.from(bytes).toString('utf8'));
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

/** Every name message `id` has in any spool of `sim` (attempt counts aside). */
function namesOf(sim: CrashSimulator, dests: number, id: string): string[] {
  const out: string[] = [];
  for (const dir of [SOURCE, ...Array.from({ length: dests }, (_, d) => destPath(d))]) {
    for (const n of sim.list(dir)) {
      if (n === IDENTITY || n[0] === 'a') continue;
      const rest = n.slice(1);
      if (rest === id || rest.startsWith(`${id}.`)) out.push(`${dir}/${n}`);
    }
  }
  return out;
}

/** What consumers were handed, with the operation counts at which each hand-out and acknowledgement happened. */
interface HandOut {
  readonly key: string;
  readonly at: number;
  acked?: number;
  readonly wrong: boolean;
}

/** One actor's view of a machine: spools, hooks that trace and drop syncs as the scenario says. */
function actorOn(sim: CrashSimulator, s: PoisonScenario, trace: string[], counters = { tx: 0, temp: 0 }) {
  let step: StepName | undefined;
  let actor = '';
  const hooks: ExecutorHooks = {
    beforeOp(op: Op) {
      step = op.step;
      if (op.type !== 'all') trace.push(opLine(actor, op));
    },
  };
  const wrap = (b: SpoolBackend): SpoolBackend =>
    s.dropSync ? overrideBackend(b, { syncDir: async () => (step === 'Q' ? undefined : b.syncDir()) }) : b;
  const sp = spoolsOn(sim, s.backend, s.dests, wrap);
  return {
    sp,
    hooks,
    as(name: string) {
      actor = name;
      step = undefined;
      return hooks;
    },
    run: (poison: boolean, extraHooks?: ExecutorHooks, transform: TransformFactory = poisonM0) =>
      fanOut({
        source: sp.source,
        destinations: sp.dests.map((spool, d) =>
          poison && d === sp.dests.length - 1 ? { spool, transform } : { spool },
        ),
        protocol: s.protocol,
        batchSize: 2,
        recoverFirst: false,
        ownerProbe: allDead,
        maxAttempts: POISON_MAX_ATTEMPTS,
        newTx: () => simTx('TX', ++counters.tx),
        tempName: () => simTempName(++counters.temp),
        hooks: extraHooks ?? hooks,
      }),
  };
}

/** A consumer pass over every destination, logging hand-outs against the machine's operation count. */
async function consumeAll(
  sim: CrashSimulator,
  sp: Spools,
  log: HandOut[],
  pid: number,
  trace: string[],
): Promise<void> {
  const who = consumerName({ ...processOwner(), pid });
  for (const [d, spool] of sp.dests.entries()) {
    const handler = async (m: ClaimedMessage) => {
      const chunks: Buffer[] = [];
      for await (const c of m.read()) chunks.push(Buffer.from(c));
      log.push({ key: `${d}:${m.id}`, at: sim.opCount, wrong: !Buffer.concat(chunks).equals(content(m.id)) });
      trace.push(`consumer ${pid}: handed ${destPath(d)}/d${m.id}`);
    };
    const onEvent = (e: FanoutEvent) => {
      if (e.type !== 'consumed') return;
      const h = [...log].reverse().find((x) => x.key === `${d}:${e.id}` && x.acked === undefined);
      if (h) h.acked = sim.opCount;
    };
    await consume({ spool, who, owner: { ...processOwner(), pid }, ownerProbe: consumerProbe, handler, onEvent });
  }
}

type Command = 'hold' | 'release' | 'delete';

/** Run one scenario of the family, stopping after `maxViolations` violations. */
export async function runPoisonAndHold(
  s: PoisonScenario,
  onViolation: (v: FamilyViolation) => void = () => undefined,
  maxViolations = 1,
): Promise<FamilyResult> {
  const name = poisonName(s);
  // M2 only in the poison script: it fails once, then is delivered with its count.
  const ids = s.workload === 'poison' ? ['M0', 'M1', 'M2'] : ['M0', 'M1'];
  const start = await setUpMachine(
    s.backend,
    s.dests,
    ids.map((id) => ({ id, content: content(id) })),
  );
  const sweep = new Sweep(name, onViolation, maxViolations);
  const report = sweep.report.bind(sweep);

  const command = (a: ReturnType<typeof actorOn>, c: Command, hooks: ExecutorHooks) =>
    c === 'hold'
      ? holdMessage(a.sp.source, 'M0', { hooks })
      : c === 'release'
        ? releaseMessage(a.sp.source, 'M0', { hooks, ...(s.dropOrder ? { dropOrder: true } : {}) })
        : deleteMessage(a.sp.source, 'M0', { hooks });

  /**
   * After a reboot: recovery, the invariants of what returned before the
   * crash, then release whatever is held, finish an interrupted delete, fan
   * out cleanly, drain with a live consumer, and check exactly-once.
   */
  const afterCrash = async (
    m: CrashSimulator,
    setting: string,
    trace: string[],
    promised: {
      command?: Command;
      deleteBegun: boolean;
      deleted: boolean;
      consumed: readonly HandOut[];
      poisoned: boolean;
    },
  ) => {
    sweep.runs++;
    const a = actorOn(m, { ...s, dropSync: false, dropOrder: false }, trace, { tx: 100, temp: 100 });
    const r = await recover({
      spool: a.sp.source,
      open: a.sp.open,
      ownerProbe: allDead,
      maxAttempts: POISON_MAX_ATTEMPTS,
      hooks: a.as('recovery'),
    });
    sweep.recoveries++;
    for (const e of r.refused) trace.push(`recovery refused: ${e.oneLine()}`);
    const source = m.list(SOURCE);
    trace.push(`after recovery: ${listing(m, s.dests)}`);
    if (promised.poisoned && namesOf(m, s.dests, 'M0').some((n) => !n.startsWith(SOURCE)))
      report(setting, `poison message M0 reached a destination: ${namesOf(m, s.dests, 'M0').join(' ')}`, trace);
    if (source.includes('sM0') && countOnDisk(m, 'M0') >= POISON_MAX_ATTEMPTS)
      report(
        setting,
        `M0 waits as sM0 with ${countOnDisk(m, 'M0')} counted failures (limit ${POISON_MAX_ATTEMPTS}): ` +
          `its next failure holds it without a full set of attempts`,
        trace,
      );
    if (promised.command === 'hold' && !source.includes('hM0.s'))
      report(
        setting,
        `hold M0 returned, but after the crash M0 is not held: ${namesOf(m, s.dests, 'M0').join(' ') || 'nowhere'}`,
        trace,
      );
    if (promised.command === 'release' && (!source.includes('sM0') || countOnDisk(m, 'M0') > 0))
      report(
        setting,
        `release M0 returned, but after the crash M0 ` +
          `is ${namesOf(m, s.dests, 'M0').join(' ') || 'nowhere'} with ${countOnDisk(m, 'M0')} counted failures`,
        trace,
      );
    if (promised.deleted && namesOf(m, s.dests, 'M0').length > 0)
      report(
        setting,
        `delete M0 returned, but after the crash it is back: ${namesOf(m, s.dests, 'M0').join(' ')}`,
        trace,
      );
    if (!promised.deleteBegun && namesOf(m, s.dests, 'M0').length === 0)
      report(setting, 'lost: M0 is nowhere although nobody deleted it', trace);

    // The way back to a clean state: finish a delete, release what is held, fan out, drain.
    if (source.includes('zM0'))
      await deleteMessage(a.sp.source, 'M0', { hooks: a.as('delete (again)') }).catch((e: unknown) =>
        trace.push(`delete again: ${String(e)}`),
      );
    for (const id of ids)
      if (m.list(SOURCE).includes(`h${id}.s`))
        await releaseMessage(a.sp.source, id, { hooks: a.as('release (final)') });
    const f = await fanOut({
      source: a.sp.source,
      destinations: a.sp.dests.map((spool) => ({ spool })),
      protocol: s.protocol,
      ownerProbe: allDead,
      maxAttempts: POISON_MAX_ATTEMPTS,
      hooks: a.as('fan-out (final)'),
    });
    sweep.recoveries++;
    for (const x of f.failed) trace.push(`final fan-out: ${x.id} failed: ${x.error.oneLine()}`);
    const log: HandOut[] = [];
    await consumeAll(m, a.sp, log, LIVE_CONSUMER_PID, trace);
    trace.push(`end: ${listing(m, s.dests)}`);
    const problems: string[] = [];
    for (const id of ids) {
      for (let d = 0; d < s.dests; d++) {
        const key = `${d}:${id}`;
        const before = promised.consumed.filter((h) => h.key === key);
        const confirmed = before.filter((h) => h.acked !== undefined).length + log.filter((h) => h.key === key).length;
        const tentative = before.filter((h) => h.acked === undefined).length;
        const gone = id === 'M0' && promised.deleted;
        const maybeGone = id === 'M0' && promised.deleteBegun;
        if (gone && confirmed + tentative > 0) problems.push(`${id} was deleted but consumed from ${destPath(d)}`);
        else if (confirmed > 1) problems.push(`${id} consumed ${confirmed} times from ${destPath(d)}`);
        else if (!maybeGone && confirmed + tentative < 1) problems.push(`${id} never consumed from ${destPath(d)}`);
      }
    }
    if ([...promised.consumed, ...log].some((h) => h.wrong)) problems.push('a consumer was handed wrong content');
    if (problems.length) report(setting, `duplicate or loss: ${problems.join(', ')}`, trace);
    for (const dir of [SOURCE, ...Array.from({ length: s.dests }, (_, d) => destPath(d))]) {
      const left = m.list(dir).filter((n) => n !== IDENTITY);
      if (left.length) report(setting, `leftovers in ${dir}: ${left.join(' ')}`, trace);
    }
  };

  const poisonWorkload = async () => {
    type Step = {
      name: string;
      run: (a: ReturnType<typeof actorOn>, sim: CrashSimulator, log: HandOut[], trace: string[]) => Promise<unknown>;
      command?: Command;
      then?: (sim: CrashSimulator) => string | undefined;
    };
    const m0Is = (expected: string, count: number) => (sim: CrashSimulator) => {
      const got = namesOf(sim, s.dests, 'M0').join(' ');
      return got === `${SOURCE}/${expected}` && countOnDisk(sim, 'M0') === count
        ? undefined
        : `M0 should be ${expected} with ${count} counted failures, ` +
            `is ${got || 'nowhere'} with ${countOnDisk(sim, 'M0')}`;
    };
    const steps: Step[] = [
      { name: 'run 1', run: (a) => a.run(true, a.as('run 1'), poisonM0M2), then: m0Is('sM0', 1) },
      { name: 'consumer', run: (a, sim, log, trace) => consumeAll(sim, a.sp, log, CRASHING_CONSUMER_PID, trace) },
      { name: 'run 2', run: (a) => a.run(true, a.as('run 2')), then: m0Is('hM0.s', 2) },
      { name: 'run 3', run: (a) => a.run(true, a.as('run 3')), then: m0Is('hM0.s', 2) },
      {
        name: 'release M0',
        command: 'release',
        run: (a) => command(a, 'release', a.as('release M0')),
        then: m0Is('sM0', 0),
      },
      { name: 'hold M0', command: 'hold', run: (a) => command(a, 'hold', a.as('hold M0')), then: m0Is('hM0.s', 0) },
      {
        name: 'release M0',
        command: 'release',
        run: (a) => command(a, 'release', a.as('release M0')),
        then: m0Is('sM0', 0),
      },
      { name: 'run 4', run: (a) => a.run(true, a.as('run 4')), then: m0Is('sM0', 1) },
      { name: 'delete M0', command: 'delete', run: (a) => command(a, 'delete', a.as('delete M0')) },
    ];
    const sim = cloneMachine(start);
    const trace: string[] = [];
    const a = actorOn(sim, s, trace);
    const log: HandOut[] = [];
    const spans: { from: number; to: number }[] = [];
    for (const step of steps) {
      const from = sim.opCount;
      await step.run(a, sim, log, trace);
      spans.push({ from, to: sim.opCount });
      // The script does what it says on a machine that does not crash.
      const wrong = step.then?.(sim);
      if (wrong !== undefined) report(`no crash, after "${step.name}"`, wrong, trace);
    }
    if (countOnDisk(sim, 'M0') !== 0 || namesOf(sim, s.dests, 'M0').length > 0)
      report('no crash', `the script did not delete M0: ${namesOf(sim, s.dests, 'M0').join(' ')}`, trace);
    const total = sim.opCount;
    for (let k = 0; k <= total; k += s.stride ?? 1) {
      const returned = spans.map((sp, i) => ({ ...sp, i })).filter((sp) => sp.to <= k);
      const last = returned[returned.length - 1];
      const laterBegun = last !== undefined && spans.slice(last.i + 1).some((sp) => sp.from < k);
      const cmd = last !== undefined && !laterBegun ? steps[last.i]!.command : undefined;
      const deleteBegun = spans[8]!.from < k;
      const deleted = spans[8]!.to <= k;
      for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
        sweep.states++;
        const t = [
          ...sim.describeOps(0, k).map((l) => `op: ${l}`),
          `machine crashes after ${k} operations; not durable: ${state.lost.join('; ') || 'nothing'}`,
          `after reboot: ${listing(state.sim, s.dests)}`,
        ];
        await afterCrash(
          state.sim,
          `script crashed after ${k} operations ` +
            `(${last ? `"${steps[last.i]!.name}" had returned` : 'nothing had returned'})`,
          t,
          {
            ...(cmd ? { command: cmd } : {}),
            deleteBegun,
            deleted,
            consumed: log
              .filter((h) => h.at <= k)
              .map((h) => ({ ...h, ...(h.acked !== undefined && h.acked <= k ? {} : { acked: undefined }) })),
            poisoned: true,
          },
        );
      }
    }
  };

  const raceWorkload = async (c: Command) => {
    let base = start;
    if (c === 'release') {
      base = cloneMachine(start);
      await holdMessage(spoolsOn(base, s.backend, s.dests).source, 'M0');
      base.checkpoint();
    }
    // How many operations the worker's run has, alone.
    const probe = cloneMachine(base);
    let workerOps = 0;
    await actorOn(probe, s, []).run(false, { beforeOp: (op) => void (op.type !== 'all' && workerOps++) });
    for (let j = 0; j <= workerOps; j += s.stride ?? 1) {
      const sim = cloneMachine(base);
      const trace: string[] = [];
      const a = actorOn(sim, s, trace);
      const w = a.as('worker');
      let seen = 0;
      let result: string | undefined;
      let span = { from: -1, to: -1 };
      const runCommand = async () => {
        span = { from: sim.opCount, to: -1 };
        const cmdTrace = actorOn(sim, s, trace);
        result = await command(cmdTrace, c, cmdTrace.as(`${c} M0`)).then(
          (r) => r.outcome,
          (e: unknown) => (isFanoutError(e) ? e.code : `error ${String(e)}`),
        );
        span.to = sim.opCount;
        trace.push(`${c} M0: ${result}`);
      };
      const hooks: ExecutorHooks = {
        async beforeOp(op) {
          if (op.type !== 'all' && seen++ === j) await runCommand();
          await w.beforeOp?.(op);
        },
      };
      await a.run(false, hooks);
      if (result === undefined) await runCommand();
      const setting = `${c} M0 runs before operation ${j} of the worker's run (it answered ${result})`;
      sweep.runs++;
      sweep.states++;
      const where = namesOf(sim, s.dests, 'M0');
      const ok = result === 'held' || result === 'deleted' || result === 'released' || result === 'already-held';
      if (!ok && result !== 'EINFLIGHT' && result !== 'ENOENT' && !(c === 'release' && result === 'EUSAGE'))
        report(setting, `unexpected answer ${result}`, trace);
      if (result === 'held' && !where.includes(`${SOURCE}/hM0.s`))
        report(setting, `hold answered held, but M0 is ${where.join(' ')}`, trace);
      if (result === 'deleted' && where.length > 0)
        report(setting, `delete answered deleted, but M0 is ${where.join(' ')}`, trace);
      const total = sim.opCount;
      for (let k = Math.max(0, span.from); k <= total; k += s.stride ?? 1) {
        for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
          sweep.states++;
          const t = [
            ...trace,
            `machine crashes after ${k} operations; not durable: ${state.lost.join('; ') || 'nothing'}`,
            `after reboot: ${listing(state.sim, s.dests)}`,
          ];
          const returned = span.to <= k;
          // A hold that returned must survive (no worker takes a held message); a release promises nothing the worker
          // may not change.
          const promisedCommand = returned && result === 'held' ? ('hold' as const) : undefined;
          await afterCrash(state.sim, `${setting}; the machine crashes after ${k} operations`, t, {
            ...(promisedCommand ? { command: promisedCommand } : {}),
            deleteBegun: c === 'delete' && span.from < k,
            deleted: c === 'delete' && returned && result === 'deleted',
            consumed: [],
            poisoned: false,
          });
        }
      }
    }
  };

  /** The consumer side: counting and holding in a destination, and a release there. */
  const consumePoisonWorkload = async () => {
    const base = cloneMachine(start);
    const r = await actorOn(base, s, []).run(false);
    if (r.committed !== 2) throw new Error(`${name}: the clean fan-out committed ${r.committed} of 2`);
    base.checkpoint();
    const sim = cloneMachine(base);
    const trace: string[] = [];
    const a = actorOn(sim, s, trace);
    const log: HandOut[] = [];
    const who = consumerName({ ...processOwner(), pid: CRASHING_CONSUMER_PID });
    const pass = async (label: string, failM0: boolean) => {
      for (const [d, spool] of a.sp.dests.entries()) {
        await consume({
          spool,
          who,
          owner: { ...processOwner(), pid: CRASHING_CONSUMER_PID },
          ownerProbe: consumerProbe,
          maxAttempts: POISON_MAX_ATTEMPTS,
          handler: async (m) => {
            if (failM0 && d === 0 && m.id === 'M0') {
              trace.push(`${label}: handler fails on ${destPath(d)}/${m.file}`);
              throw new Error('the command failed (injected)');
            }
            const chunks: Buffer[] = [];
            for await (const c of m.read()) chunks.push(Buffer.from(c));
            log.push({ key: `${d}:${m.id}`, at: sim.opCount, wrong: !Buffer.concat(chunks).equals(content(m.id)) });
            trace.push(`${label}: handed ${destPath(d)}/d${m.id}`);
          },
          onEvent: (e) => {
            if (e.type !== 'consumed') return;
            const h = [...log].reverse().find((x) => x.key === `${d}:${e.id}` && x.acked === undefined);
            if (h) h.acked = sim.opCount;
          },
        });
      }
    };
    const d0 = () => sim.list(destPath(0)).filter((n) => n !== IDENTITY);
    const steps: { name: string; run: () => Promise<unknown>; then?: () => string | undefined }[] = [
      {
        name: 'consume 1',
        run: () => pass('consume 1', true),
        then: () => (d0().includes('dM0') ? undefined : `M0 should wait in /D0, /D0 is ${d0().join(' ')}`),
      },
      {
        name: 'consume 2',
        run: () => pass('consume 2', true),
        then: () => (d0().includes('hM0.d') ? undefined : `M0 should be held in /D0, /D0 is ${d0().join(' ')}`),
      },
      { name: 'consume 3', run: () => pass('consume 3', true) },
      {
        name: 'release M0 in /D0',
        run: () => releaseMessage(a.sp.dests[0]!, 'M0', { hooks: a.as('release M0 in /D0') }),
        then: () => (d0().join(' ') === 'dM0' ? undefined : `/D0 should hold only dM0, is ${d0().join(' ')}`),
      },
      { name: 'consume 4', run: () => pass('consume 4', false) },
    ];
    const spans: { from: number; to: number }[] = [];
    for (const step of steps) {
      const from = sim.opCount;
      await step.run();
      spans.push({ from, to: sim.opCount });
      const wrong = step.then?.();
      if (wrong !== undefined) report(`no crash, after "${step.name}"`, wrong, trace);
    }
    const total = sim.opCount;
    for (let k = 0; k <= total; k += s.stride ?? 1) {
      const last = [...spans.keys()].filter((i) => spans[i]!.to <= k).pop();
      const laterBegun = last !== undefined && spans.slice(last + 1).some((sp) => sp.from < k);
      for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
        sweep.states++;
        sweep.runs++;
        const m = state.sim;
        const t = [
          ...sim.describeOps(0, k).map((l) => `op: ${l}`),
          `machine crashes after ${k} operations; not durable: ${state.lost.join('; ') || 'nothing'}`,
          `after reboot: ${listing(m, s.dests)}`,
        ];
        const setting =
          `consumers crashed after ${k} operations ` +
          `(${last !== undefined ? `"${steps[last]!.name}" had returned` : 'nothing had returned'})`;
        const b = actorOn(m, { ...s, dropSync: false, dropOrder: false }, t, { tx: 100, temp: 100 });
        const D0 = m.list(destPath(0)).filter((n) => n !== IDENTITY);
        if (last === 1 && !laterBegun && !D0.includes('hM0.d'))
          report(setting, `M0 was held in /D0 (the consumer returned), but after the crash /D0 is ${D0.join(' ')}`, t);
        if (last === 3 && !laterBegun && D0.join(' ') !== 'dM0')
          report(setting, `release of M0 in /D0 returned, but after the crash /D0 is ${D0.join(' ')}`, t);
        // The way back: release what is held, drain with a live consumer that succeeds.
        for (const [d, spool] of b.sp.dests.entries())
          if (m.list(destPath(d)).includes('hM0.d'))
            await releaseMessage(spool, 'M0', { hooks: b.as('release (final)') });
        const final: HandOut[] = [];
        const who2 = consumerName({ ...processOwner(), pid: LIVE_CONSUMER_PID });
        for (const [d, spool] of b.sp.dests.entries()) {
          await consume({
            spool,
            who: who2,
            owner: { ...processOwner(), pid: LIVE_CONSUMER_PID },
            ownerProbe: consumerProbe,
            maxAttempts: POISON_MAX_ATTEMPTS,
            handler: async (msg) => void final.push({ key: `${d}:${msg.id}`, at: m.opCount, wrong: false }),
          });
        }
        sweep.recoveries++;
        t.push(`end: ${listing(m, s.dests)}`);
        const problems: string[] = [];
        for (const id of ids) {
          for (let d = 0; d < s.dests; d++) {
            const key = `${d}:${id}`;
            const before = log.filter((h) => h.key === key && h.at <= k);
            const confirmed =
              before.filter((h) => h.acked !== undefined && h.acked <= k).length +
              final.filter((h) => h.key === key).length;
            const tentative = before.filter((h) => !(h.acked !== undefined && h.acked <= k)).length;
            if (confirmed > 1) problems.push(`${id} consumed ${confirmed} times from ${destPath(d)}`);
            else if (confirmed + tentative < 1) problems.push(`${id} never consumed from ${destPath(d)}`);
          }
        }
        if (problems.length) report(setting, `duplicate or loss: ${problems.join(', ')}`, t);
        for (const dir of [SOURCE, ...Array.from({ length: s.dests }, (_, d) => destPath(d))]) {
          const left = m.list(dir).filter((n) => n !== IDENTITY);
          if (left.length) report(setting, `leftovers in ${dir}: ${left.join(' ')}`, t);
        }
      }
    }
  };

  /** The way out of a quarantined record, crashed at every step. */
  const discardWorkload = async () => {
    const base = cloneMachine(start);
    const stop = new Error('the worker stops here (its process is killed)');
    await actorOn(base, s, [])
      .run(false, {
        beforeOp: (op) => {
          if (op.step === 'C3') throw stop;
        },
      })
      .catch((err: unknown) => {
        if (err !== stop) throw err;
      });
    base.checkpoint();
    const tx = simTx('TX', 1);
    base.writeFileDurable(`${SOURCE}/m${tx}`, 'fanout-marker 2\ntx: torn by a disk fault\n');
    base.checkpoint();
    const sim = cloneMachine(base);
    const trace: string[] = [`set up: ${listing(sim, s.dests)}`];
    const a = actorOn(sim, s, trace);
    const r = await discardRecord(a.sp.source, `m${tx}`, { maxAttempts: POISON_MAX_ATTEMPTS, hooks: a.as('discard') });
    if (r.givenBack.length !== 2) report('no crash', `discard gave back ${r.givenBack.join(' ')}, not sM0 sM1`, trace);
    const total = sim.opCount;
    for (let k = 0; k <= total; k += s.stride ?? 1) {
      for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
        sweep.states++;
        sweep.runs++;
        const m = state.sim;
        const t = [
          ...trace.slice(0, 1),
          ...sim.describeOps(0, k).map((l) => `op: ${l}`),
          `machine crashes after ${k} operations; not durable: ${state.lost.join('; ') || 'nothing'}`,
          `after reboot: ${listing(m, s.dests)}`,
        ];
        const setting = `discard of the quarantined m${tx} crashed after ${k} operations`;
        const b = actorOn(m, { ...s, dropSync: false, dropOrder: false }, t, { tx: 100, temp: 100 });
        if (k >= total && m.list(SOURCE).includes(`m${tx}`))
          report(setting, `discard returned, but after the crash m${tx} is back`, t);
        await recover({
          spool: b.sp.source,
          open: b.sp.open,
          ownerProbe: allDead,
          maxAttempts: POISON_MAX_ATTEMPTS,
          hooks: b.as('recovery'),
        });
        // Still quarantined (the discard did not get far): discard it again, the documented way out.
        if (m.list(SOURCE).includes(`m${tx}`))
          await discardRecord(b.sp.source, `m${tx}`, { hooks: b.as('discard (again)') });
        // Seed: the lost attempt's locks and copies are cleared one destination per fan-out call (orphan-locks.ts), so
        // a run per destination may be needed, as a watching worker's next passes do.
        for (let pass = 0; pass <= s.dests && m.list(SOURCE).some((n) => n.startsWith('s')); pass++) {
          await fanOut({
            source: b.sp.source,
            destinations: b.sp.dests.map((spool) => ({ spool })),
            protocol: s.protocol,
            ownerProbe: allDead,
            hooks: b.as('fan-out (final)'),
          });
        }
        sweep.recoveries += 2;
        const log: HandOut[] = [];
        await consumeAll(m, b.sp, log, LIVE_CONSUMER_PID, t);
        t.push(`end: ${listing(m, s.dests)}`);
        const problems: string[] = [];
        for (const id of ids)
          for (let d = 0; d < s.dests; d++) {
            const n = log.filter((h) => h.key === `${d}:${id}`).length;
            if (n !== 1) problems.push(`${id} consumed ${n} times from ${destPath(d)}`);
          }
        if (problems.length) report(setting, `duplicate or loss: ${problems.join(', ')}`, t);
        const orphan = new RegExp(`^w(M0|M1)\\.${tx}$`);
        for (const dir of [SOURCE, ...Array.from({ length: s.dests }, (_, d) => destPath(d))]) {
          const left = m.list(dir).filter((n) => n !== IDENTITY && !(dir !== SOURCE && orphan.test(n)));
          if (left.length) report(setting, `leftovers in ${dir}: ${left.join(' ')}`, t);
        }
      }
    }
  };

  return sweep.run(async () => {
    if (s.workload === 'discard-record') await discardWorkload();
    else if (s.workload === 'consume-poison') await consumePoisonWorkload();
    else if (s.workload === 'poison') await poisonWorkload();
    else await raceWorkload(s.workload === 'race-hold' ? 'hold' : s.workload === 'race-delete' ? 'delete' : 'release');
  });
}
