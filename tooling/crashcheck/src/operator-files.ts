/**
 * Family "operator-files": files an operator keeps beside the messages —
 * `report.pdf`, `run.sh`, `todo.txt`, `kernel.log`, `photo.jpg`, a directory
 * of notes — in every spool, across a crash at every point of a fan-out and
 * the recovery, temp clean-up, consumer claims and claim release after it.
 *
 * The names are chosen to look like the protocol's to a careless parser: one
 * protocol letter and one dot (`photo.jpg` would be a taken message `p<ID>.<TX>`,
 * `kernel.log` a committed one, `backup.tar` a back-out, `world.txt` a staged
 * copy, `rnotes.1` a claim, `mail` a record, `cnotes.txt` a consumer's claim),
 * a claim name with a real attempt-id shape but other content, and `t…` names
 * (`todo.txt`, `tags`, `test.log`, an old-style `t0.1.host`). The simulated
 * disk's mtimes are of 2024 and the clock is today's, so every one of them is
 * far older than any stale-temp threshold.
 *
 * Invariant: every operator file is still there, with its exact bytes, after
 * everything; and the messages are delivered exactly once as in every other
 * family (nothing else left anywhere, the operator files apart).
 */
import { fanOut, type ProtocolName } from '@fanout/core';
import type { CrashSimulator } from '@fanout/crashfs';
import { allDead, type FamilyResult, type FamilyViolation, finishAndCheck, listing, Sweep, Tally } from './family.js';
import { messagesOf, simTempName, simTx } from './scenario.js';
import { type BackendKind, cloneMachine, destPath, setUpMachine, SOURCE, spoolsOn } from './world.js';

/** One line of the operator-files family. */
export interface OperatorFilesScenario {
  readonly protocol: ProtocolName;
  readonly backend: BackendKind;
  readonly dests: number;
  readonly messages: number;
  /** Crash states per crash point of the fan-out, at most. */
  readonly maxStates: number;
  /** Only every n-th crash point of the fan-out (the quick slice); default 1. */
  readonly stride?: number;
}

/** The operator's files, by name, with their content; each is planted in every spool. */
export const OPERATOR_FILES: ReadonlyMap<string, string> = new Map([
  ['report.pdf', '%PDF-1.7 quarterly report'],
  ['run.sh', '#!/bin/sh\nexec fanout run --from S --to A\n'],
  ['readme.txt', 'do not touch the spool by hand\n'],
  ['results.csv', 'a,b\n1,2\n'],
  ['todo.txt', 'rotate the logs\n'],
  ['tags', 'spool\tS\n'],
  ['test.log', 'ok\n'],
  ['t0.1.host', 'an old-style temp name, not one fanout writes now'],
  ['photo.jpg', 'JFIF'],
  ['kernel.log', 'oops\n'],
  ['backup.tar', 'ustar'],
  ['world.txt', 'hello world\n'],
  ['mail', 'From: operator\n'],
  ['xmas', 'tree\n'],
  ['rnotes.1', 'notes, take 1\n'],
  ['cnotes.txt', 'consumer notes\n'],
  ['lnotes', 'not a lock\n'],
  // Shaped like a held message, one being deleted, attempt counts: recovery acts on those only as twins of a message.
  ['hello.s', 'not a held message\n'],
  ['zip', 'PK'],
  ['abc.0', 'not an attempt count\n'],
  ['abc.1', 'nor this\n'],
  // A claim's exact name on an attempt that has no record, with content that is no claim: never deleted.
  [`r${simTx('OP', 1)}.1`, 'operator notes in a claim-shaped name\n'],
]);

export function operatorFilesName(s: OperatorFilesScenario): string {
  return (
    `operator-files ${s.protocol} ${s.backend} dests=${s.dests} ` +
    `msgs=${s.messages}${(s.stride ?? 1) > 1 ? ` stride=${s.stride}` : ''}`
  );
}

function spoolPaths(dests: number): string[] {
  return [SOURCE, ...Array.from({ length: dests }, (_, d) => destPath(d))];
}

/** The operator files missing or changed, as `spool/name: what`. */
function damagedOperatorFiles(sim: CrashSimulator, dests: number): string[] {
  const damaged: string[] = [];
  for (const p of spoolPaths(dests)) {
    for (const [name, content] of OPERATOR_FILES) {
      const bytes = sim.readFile(`${p}/${name}`);
      if (bytes === undefined) damaged.push(`${p}/${name}: gone`);
      else if (Buffer.from(bytes).toString('utf8') !== content) damaged.push(`${p}/${name}: content changed`);
    }
  }
  return damaged;
}

/** Run one scenario of the family, stopping after `maxViolations` violations. */
export async function runOperatorFiles(
  s: OperatorFilesScenario,
  onViolation: (v: FamilyViolation) => void = () => undefined,
  maxViolations = 1,
): Promise<FamilyResult> {
  const name = operatorFilesName(s);
  const messages = messagesOf({ messages: s.messages, transform: false });
  const start = await setUpMachine(s.backend, s.dests, messages);
  for (const p of spoolPaths(s.dests))
    for (const [file, content] of OPERATOR_FILES) start.writeFileDurable(`${p}/${file}`, content);
  start.checkpoint();
  const ignore = new Set(OPERATOR_FILES.keys());

  const sim = cloneMachine(start);
  {
    const sp = spoolsOn(sim, s.backend, s.dests);
    let txs = 0;
    let temps = 0;
    const r = await fanOut({
      source: sp.source,
      destinations: sp.dests.map((spool) => ({ spool })),
      protocol: s.protocol,
      batchSize: s.messages,
      recoverFirst: false,
      ownerProbe: allDead,
      newTx: () => simTx('TX', ++txs),
      tempName: () => simTempName(++temps),
    });
    if (r.committed !== s.messages) throw new Error(`${name}: the clean run committed ${r.committed} of ${s.messages}`);
  }
  const total = sim.opCount;
  const sweep = new Sweep(name, onViolation, maxViolations);
  const seen = new Set<string>();
  const world = { protocol: s.protocol, backend: s.backend, dests: s.dests, batch: s.messages };
  return sweep.run(async () => {
    for (let k = 0; k <= total; k += s.stride ?? 1) {
      for (const state of sim.crashStates({ after: k, maxStates: s.maxStates })) {
        if (seen.has(state.key)) continue;
        seen.add(state.key);
        sweep.states++;
        sweep.runs++;
        const m = state.sim;
        const t = new Tally();
        const setting =
          `fan-out crashed after ${k} operations; recovery, temp clean-up, ` +
          `consumers and claim release ran beside the operator's files`;
        t.trace.push(
          ...sim.describeOps(0, k).map((l) => `fan-out: ${l}`),
          `machine crashes after ${k} operations; not durable: ${state.lost.join('; ') || 'nothing'}`,
          `after reboot: ${listing(m, s.dests)}`,
        );
        await sweep.guard(
          () => setting,
          () => t.trace,
          async () => {
            // What `fanout recover` does: every record, orphan, claim and dead temp; a 1 ms stale-temp age and
            // today's clock make every file on the 2024 disk "old".
            const bad = await finishAndCheck(m, world, messages, t, sweep, {
              recover: true,
              releaseClaims: true,
              staleTempMs: 1,
              ignore,
            });
            const damaged = damagedOperatorFiles(m, s.dests);
            if (damaged.length) sweep.report(setting, `operator files touched: ${damaged.join(', ')}`, t.trace);
            if (bad) sweep.report(setting, bad, t.trace);
          },
        );
      }
    }
  });
}
