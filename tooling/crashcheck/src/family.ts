/**
 * What the newer scenario families (consumer-recovery, paused-owner,
 * failing-removals) share: a consumer that counts what it is handed, the
 * final "drained" invariant, and violations that carry a readable trace.
 *
 * These families judge outcomes only by what a user can see — `s<id>` in the
 * source, `d<id>` in the destinations, `.fanout-spool`, and what consumers
 * received — so that they stay valid while the protocol's internal names
 * (markers, staged copies, claims, locks) change: any other name left after
 * the final recovery is a leftover.
 */
import { uncommittedName } from './invariants.js';
import {
  type ClaimedMessage,
  consume,
  consumePass,
  consumerName,
  type ExecutorHooks,
  type FanoutEvent,
  fanOut,
  type Op,
  type OwnerProbe,
  processOwner,
  type ProtocolName,
  recover,
  releaseStaleClaims,
  type SpoolBackend,
} from '@fanout/core/internal';
import type { CrashSimulator } from '@fanout/crashfs';
import type { ExpectedMessage } from './invariants.js';
import { simTempName, simTx } from './scenario.js';
import { type BackendKind, destPath, SOURCE, spoolsOn } from './world.js';

const IDENTITY = '.fanout-spool';

/** A broken invariant of a family, with the steps that led to it. */
export interface FamilyViolation {
  readonly scenario: string;
  readonly invariant: string;
  /** The point of the sweep (crash point, pause point, failing call …) in words. */
  readonly setting: string;
  /** What happened, in order: file system operations, protocol operations, consumer actions. */
  readonly trace: readonly string[];
}

/** What one scenario of a family explored. */
export interface FamilyResult {
  readonly name: string;
  /** Runs of the scenario's workload (one per point of its sweep and state). */
  readonly runs: number;
  /** Distinct crash states explored (0 where the family does not crash the machine). */
  readonly states: number;
  readonly recoveries: number;
  readonly violations: FamilyViolation[];
}

/** A violation as a readable trace; long traces keep their end, where the damage is done. */
export function formatFamilyViolation(v: FamilyViolation, maxLines = 60): string {
  const shown = v.trace.length > maxLines ? v.trace.slice(-maxLines) : v.trace;
  return [
    `VIOLATION in [${v.scenario}]: ${v.invariant}`,
    `  ${v.setting}`,
    ...(v.trace.length > maxLines ? [`    (… ${v.trace.length - maxLines} earlier lines not shown)`] : []),
    ...shown.map((l) => `    ${l}`),
    `  reproduce: pnpm crashcheck --only '${v.scenario}' --jobs 1`,
  ].join('\n');
}

/** One protocol operation as a trace line (our own rendering: only the public `Op` fields). */
export function opLine(actor: string, op: Op): string {
  const where = 'spool' in op ? ` in ${op.spool.location}` : '';
  const what = 'name' in op ? ` ${op.name}` : 'from' in op ? ` ${op.from} -> ${op.to}` : '';
  return `${actor}: ${op.step} ${op.type}${what}${where}`;
}

/** Every owner, recoverer and consumer is dead (after a reboot). */
export const allDead: OwnerProbe = async () => 'dead';
/** Nobody can tell: owners on another host, judged by their leases only. */
export const nobodyKnows: OwnerProbe = async () => 'unknown';

/** The pid of the consumer that runs after a reboot; every other consumer is dead. */
export const LIVE_CONSUMER_PID = 1002;
/** The pid of a consumer that crashes with the machine. */
export const CRASHING_CONSUMER_PID = 1001;
/** The probe of the live consumer: itself alive, every other consumer (and owner) dead. */
export const consumerProbe: OwnerProbe = async (o) => (o.pid === LIVE_CONSUMER_PID ? 'alive' : 'dead');

/**
 * What consumers were handed, per destination and message. A message is
 * `confirmed` once its acknowledgement completed (the `consumed` event), and
 * `tentative` while its handler ran but the consumer crashed before the
 * acknowledgement returned: at-least-once is all a crashing consumer can
 * have, so one tentative hand-out may be followed by a confirmed one.
 */
export class Tally {
  readonly confirmed = new Map<string, number>();
  readonly tentative = new Map<string, number>();
  /** Hand-outs while the message was still in the source (not committed). */
  readonly early: string[] = [];
  /** Hand-outs whose bytes were not the expected ones. */
  readonly wrong: string[] = [];
  /** The run's trace: consumer actions, and whatever else the scenario adds, in order. */
  readonly trace: string[] = [];

  /** An independent copy, for the next state of a sweep. */
  copy(): Tally {
    const t = new Tally();
    for (const [k, n] of this.confirmed) t.confirmed.set(k, n);
    for (const [k, n] of this.tentative) t.tentative.set(k, n);
    t.early.push(...this.early);
    t.wrong.push(...this.wrong);
    t.trace.push(...this.trace);
    return t;
  }
}

const bump = (m: Map<string, number>, k: string, by: number) => m.set(k, (m.get(k) ?? 0) + by);

async function bytesOf(message: ClaimedMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of message.read()) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Options of {@link consumerPass}. */
export interface ConsumerPassOptions {
  /** The consumer's pid, in its name `<host>-<pid>` (default: the live consumer's). */
  readonly pid?: number;
  /** Release dead consumers' claims first (`consume()`), or only run `consumePass()`. */
  readonly release: boolean;
  /** Label in the trace. */
  readonly label: string;
  /** Stand between the consumer's machines (claim, acknowledge, release, temp clean-up) and the spools. */
  readonly hooks?: ExecutorHooks;
  /**
   * Handler failures to simulate: the first `failFirst` hand-outs of each destination throw (the claim is released).
   */
  readonly failFirst?: number;
  /** Count handler failures and hold after this many (see `consumePass`'s `maxAttempts`). */
  readonly maxAttempts?: number;
}

/**
 * One consumer pass over every destination with the real consume API,
 * recording in `tally` what was handed out, whether it was committed then
 * (`s<id>` gone from the source), and whether its bytes were right. A crash
 * of the machine (a `SimulatedCrash`) propagates; what was handed out by then
 * stays tentative.
 */
export async function consumerPass(
  sim: CrashSimulator,
  dests: readonly SpoolBackend[],
  messages: readonly ExpectedMessage[],
  tally: Tally,
  o: ConsumerPassOptions,
): Promise<void> {
  const who = consumerName({ ...processOwner(), pid: o.pid ?? LIVE_CONSUMER_PID });
  for (const [d, spool] of dests.entries()) {
    let failures = 0;
    const handler = async (message: ClaimedMessage) => {
      if (failures < (o.failFirst ?? 0)) {
        failures++;
        tally.trace.push(`${o.label}: handler fails on ${destPath(d)}/d${message.id} (as ${message.file})`);
        throw new Error('the handler failed (simulated)');
      }
      const key = `${d}:${message.id}`;
      bump(tally.tentative, key, 1);
      const uncommitted = uncommittedName(sim.list(SOURCE), message.id) !== undefined;
      if (uncommitted) tally.early.push(`${destPath(d)}/d${message.id}`);
      const expected = messages.find((m) => m.id === message.id);
      const got = await bytesOf(message);
      if (!expected || !got.equals(Buffer.from(expected.expected(d))))
        tally.wrong.push(`${destPath(d)}/d${message.id}`);
      tally.trace.push(
        `${o.label}: handed ${destPath(d)}/d${message.id} ` +
          `(as ${message.file})${uncommitted ? ` while ${SOURCE}/s${message.id} exists` : ''}`,
      );
    };
    const onEvent = (e: FanoutEvent) => {
      if (e.type !== 'consumed') return;
      const key = `${d}:${e.id}`;
      bump(tally.tentative, key, -1);
      bump(tally.confirmed, key, 1);
      tally.trace.push(`${o.label}: acknowledged ${destPath(d)}/d${e.id}`);
    };
    const extra = {
      ...(o.hooks ? { hooks: o.hooks } : {}),
      ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
    };
    if (o.release) await consume({ spool, who, ownerProbe: consumerProbe, handler, onEvent, ...extra });
    else await consumePass(spool, handler, { who, onEvent, ...extra });
  }
}

/**
 * The end state after the final recovery, fan-out and drain: every message
 * was consumed exactly once from every destination (a tentative hand-out by
 * a crashed consumer may stand for it, or precede it), never before its
 * commit, with its exact bytes; nothing is left in the source; no other name
 * than `.fanout-spool` remains anywhere.
 */
export function checkDrained(
  sim: CrashSimulator,
  dests: number,
  messages: readonly ExpectedMessage[],
  tally: Tally,
  ignore: ReadonlySet<string> = new Set(),
): string | undefined {
  const wrongCounts: string[] = [];
  for (const m of messages) {
    for (let d = 0; d < dests; d++) {
      const n = tally.confirmed.get(`${d}:${m.id}`) ?? 0;
      const t = tally.tentative.get(`${d}:${m.id}`) ?? 0;
      if (n > 1) wrongCounts.push(`${m.id} consumed ${n} times from ${destPath(d)}`);
      else if (n + t < 1) wrongCounts.push(`${m.id} never consumed from ${destPath(d)}`);
    }
  }
  if (wrongCounts.length) return `duplicate or loss: ${wrongCounts.join(', ')}`;
  if (tally.early.length) return `consumed before its commit: ${tally.early.join(', ')}`;
  if (tally.wrong.length) return `consumed with wrong or partial content: ${tally.wrong.join(', ')}`;
  return leftoverNames(sim, dests, messages, ignore);
}

/**
 * After everything was consumed: the names left anywhere except `.fanout-spool`
 * (a message still in the source is reported as such), or `undefined`.
 */
export function leftoverNames(
  sim: CrashSimulator,
  dests: number,
  messages: readonly ExpectedMessage[],
  ignore: ReadonlySet<string> = new Set(),
): string | undefined {
  const source = sim.list(SOURCE).filter((n) => n !== IDENTITY && !ignore.has(n));
  const stuck = messages.filter((m) => source.includes(`s${m.id}`)).map((m) => m.id);
  if (stuck.length) return `not delivered: ${stuck.join(' ')} still in ${SOURCE} after the final fan-out`;
  if (source.length) return `leftovers in ${SOURCE}: ${source.join(' ')}`;
  for (let d = 0; d < dests; d++) {
    const names = sim.list(destPath(d)).filter((n) => n !== IDENTITY && !ignore.has(n));
    if (names.length) return `leftovers in ${destPath(d)}: ${names.join(' ')}`;
  }
  return undefined;
}

/** The names of every spool, for a trace line. */
export function listing(sim: CrashSimulator, dests: number): string {
  return [SOURCE, ...Array.from({ length: dests }, (_, d) => destPath(d))]
    .map(
      (p) =>
        `${p}: ${
          sim
            .list(p)
            .filter((n) => n !== IDENTITY)
            .join(' ') || '(empty)'
        }`,
    )
    .join('; ');
}

/** Stops the sweep of a scenario once it has found enough violations. */
export class Found extends Error {}

/**
 * The bookkeeping of one scenario's sweep: its counters, its violations, and
 * the stop after `maxViolations` of them (one counterexample per scenario is
 * usually the point; the rest of the sweep is time).
 */
export class Sweep {
  runs = 0;
  states = 0;
  recoveries = 0;
  readonly violations: FamilyViolation[] = [];
  constructor(
    readonly name: string,
    private readonly onViolation: (v: FamilyViolation) => void = () => undefined,
    private readonly maxViolations = 1,
  ) {}

  /** Record a violation; throws {@link Found} once there are enough. */
  report(setting: string, invariant: string, trace: readonly string[]): void {
    const v: FamilyViolation = { scenario: this.name, invariant, setting, trace };
    this.violations.push(v);
    this.onViolation(v);
    if (this.violations.length >= this.maxViolations) throw new Found();
  }

  /** Run one case; an unexpected error of the code under test is a violation too. */
  async guard(setting: () => string, trace: () => readonly string[], body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      if (err instanceof Found) throw err;
      this.report(setting(), `failed: ${err instanceof Error ? err.message : String(err)}`, trace());
    }
  }

  /** Run the whole sweep (stopping quietly at {@link Found}) and return its result. */
  async run(body: () => Promise<void>): Promise<FamilyResult> {
    try {
      await body();
    } catch (err) {
      if (!(err instanceof Found)) throw err;
    }
    return {
      name: this.name,
      runs: this.runs,
      states: this.states,
      recoveries: this.recoveries,
      violations: this.violations,
    };
  }
}

/** The machine a family's scenario runs on. */
export interface FamilyWorld {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  /** The fan-out's batch size (default: every message in one batch). */
  readonly batch?: number;
}

/** Options of {@link finishAndCheck}. */
export interface FinishOptions {
  /** Run `recover()` first (as `fanout recover` does), traced. */
  readonly recover?: boolean;
  /** Then release dead consumers' claims in every destination (`releaseStaleClaims`). */
  readonly releaseClaims?: boolean;
  /** Recovery's stale-temp age (default the core's). */
  readonly staleTempMs?: number;
  /** Names that are not leftovers (an operator's files). */
  readonly ignore?: ReadonlySet<string>;
  /**
   * The drain counts failures as the consumer before it did (it then also removes the counts of what it acknowledges).
   */
  readonly maxAttempts?: number;
}

/**
 * The end of every family's run on machine `sim`: optionally a recovery and
 * the release of dead consumers' claims, then the final fan-out (which
 * recovers first; its attempts `TXF<n>`, its temps numbered from 1000), a
 * draining consumer, and the "drained" invariant ({@link checkDrained}).
 * @returns the broken invariant, if any.
 */
export async function finishAndCheck(
  sim: CrashSimulator,
  w: FamilyWorld,
  messages: readonly ExpectedMessage[],
  t: Tally,
  sweep: Sweep,
  o: FinishOptions = {},
): Promise<string | undefined> {
  const sp = spoolsOn(sim, w.backend, w.dests);
  if (o.recover) {
    const r = await recover({
      spool: sp.source,
      open: sp.open,
      ownerProbe: allDead,
      ...(o.staleTempMs !== undefined ? { staleTempMs: o.staleTempMs } : {}),
      hooks: { beforeOp: (op) => void (op.type !== 'all' && t.trace.push(opLine('recovery', op))) },
    });
    sweep.recoveries++;
    for (const e of [...r.refused, ...r.failed]) t.trace.push(`recovery: ${e.oneLine()}`);
  }
  if (o.releaseClaims) {
    for (const [d, dest] of sp.dests.entries()) {
      const n = await releaseStaleClaims(dest, consumerProbe);
      if (n) t.trace.push(`releaseStaleClaims: ${n} claim(s) of dead consumers put back in ${destPath(d)}`);
    }
  }
  let txs = 0;
  let temps = 0;
  const f = await fanOut({
    source: sp.source,
    destinations: sp.dests.map((spool) => ({ spool })),
    protocol: w.protocol,
    ...(w.batch !== undefined ? { batchSize: w.batch } : {}),
    ownerProbe: allDead,
    newTx: () => simTx('TXF', ++txs),
    tempName: () => simTempName(1000 + ++temps),
    hooks: { beforeOp: (op) => void (op.type !== 'all' && t.trace.push(opLine('final fan-out', op))) },
  });
  sweep.recoveries++;
  for (const x of f.failed) t.trace.push(`final fan-out: ${x.id} failed: ${x.error.oneLine()}`);
  await consumerPass(sim, sp.dests, messages, t, {
    release: true,
    label: 'consumer (drain)',
    ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
  });
  t.trace.push(`end: ${listing(sim, w.dests)}`);
  return checkDrained(sim, w.dests, messages, t, o.ignore);
}
