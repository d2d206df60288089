/**
 * The operator's own files in a spool (defect 5): a report, a script, a readme, results, a todo
 * list, a tags file, a log — some of them 40 hours old — must survive every command, untouched
 * (same content, same mtime, same mode), in the source and in destinations, while the messages
 * beside them are fanned out and consumed exactly once. Only `s<id>` (source) and `d<id>`
 * (destination) names are messages; these files are not.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  consumeAll,
  consumedBy,
  deliveredIds,
  drain,
  endWithin,
  enqueueAll,
  fanoutArgv,
  initSpools,
  judgeEnd,
  type Layout,
  logOf,
  recordingExec,
  requireTools,
  runArgs,
  runToEnd,
  scratch,
  start,
  stopEverything,
  waitFor,
} from './fault-harness.js';

afterEach(stopEverything);

const HOUR = 3600_000;

/** name → [content, age]. The `t…` ones are older than the 36 h after which temp files count as abandoned. */
const OPERATOR_FILES: Record<string, { content: string; ageMs: number; mode: number }> = {
  'report.pdf': { content: '%PDF-1.4 quarterly report\n', ageMs: 2 * HOUR, mode: 0o644 },
  'run.sh': { content: '#!/bin/sh\nexec fanout run --from . --to ../out\n', ageMs: 2 * HOUR, mode: 0o755 },
  'readme.txt': { content: 'this spool feeds the printers\n', ageMs: 2 * HOUR, mode: 0o644 },
  'results.csv': { content: 'id,ok\n1,yes\n', ageMs: 2 * HOUR, mode: 0o644 },
  'todo.txt': { content: '- rotate logs\n', ageMs: 40 * HOUR, mode: 0o644 },
  tags: { content: 'main\tmain.c\t/^int main/\n', ageMs: 40 * HOUR, mode: 0o644 },
  'test.log': { content: 'all good\n', ageMs: 40 * HOUR, mode: 0o644 },
  // Alike other protocol letters; not messages either.
  'config.yaml': { content: 'spools: {}\n', ageMs: 40 * HOUR, mode: 0o644 },
  'manual.txt': { content: 'see docs\n', ageMs: 40 * HOUR, mode: 0o644 },
  'work.txt': { content: 'wip\n', ageMs: 40 * HOUR, mode: 0o644 },
  lock: { content: '', ageMs: 40 * HOUR, mode: 0o644 },
  // One protocol letter and one dot: they parsed as an attempt's taken, committed, backed-out and staged
  // names (photo.jpg and backup.tar were fanned out as messages, kernel.log removed) and `mail` as a record.
  'photo.jpg': { content: 'JFIF\n', ageMs: 40 * HOUR, mode: 0o644 },
  'kernel.log': { content: 'oops\n', ageMs: 40 * HOUR, mode: 0o644 },
  'backup.tar': { content: 'ustar\n', ageMs: 40 * HOUR, mode: 0o644 },
  'world.txt': { content: 'hello\n', ageMs: 40 * HOUR, mode: 0o644 },
  mail: { content: 'From: ops\n', ageMs: 40 * HOUR, mode: 0o644 },
};
const NAMES = Object.keys(OPERATOR_FILES);

interface Snapshot {
  content: string;
  mtimeMs: number;
  mode: number;
}

/** S → A, B with two messages waiting. */
async function prepare(): Promise<{ layout: Layout; expected: Map<string, string> }> {
  const dir = await scratch();
  await initSpools(dir, ['S', 'A', 'B']);
  const layout: Layout = { dir, source: 'S', destinations: ['A', 'B'], operatorFiles: NAMES };
  const expected = await enqueueAll(dir, 'S', ['a message beside the operator files\n', 'another one\n']);
  return { layout, expected };
}

/** Put the operator's files into every spool; returns what they are. */
async function placeOperatorFiles(layout: Layout): Promise<Map<string, Snapshot>> {
  const now = Date.now();
  const snapshot = new Map<string, Snapshot>();
  for (const spool of [layout.source, ...layout.destinations]) {
    for (const [name, f] of Object.entries(OPERATOR_FILES)) {
      const path = join(layout.dir, spool, name);
      await writeFile(path, f.content);
      await chmod(path, f.mode);
      const when = new Date(now - f.ageMs);
      await utimes(path, when, when);
      const st = await stat(path);
      snapshot.set(`${spool}/${name}`, { content: f.content, mtimeMs: st.mtimeMs, mode: st.mode });
    }
  }
  return snapshot;
}

/** The operator files that are gone or changed, as `spool/name: what`. */
async function damaged(layout: Layout, snapshot: Map<string, Snapshot>): Promise<string[]> {
  const problems: string[] = [];
  for (const [key, want] of snapshot) {
    const path = join(layout.dir, key);
    let st;
    try {
      st = await stat(path);
    } catch {
      problems.push(`${key}: deleted`);
      continue;
    }
    if ((await readFile(path, 'utf8')) !== want.content) problems.push(`${key}: content changed`);
    if (st.mtimeMs !== want.mtimeMs) problems.push(`${key}: mtime changed`);
    if (st.mode !== want.mode) problems.push(`${key}: mode changed`);
  }
  return problems;
}

/** What a command under test did: problems, and messages it enqueued itself (expected at the end too). */
interface Acted {
  readonly problems: string[];
  readonly enqueued?: Map<string, string>;
}

/**
 * Each command under test, on its own set of spools: what is done before the operator's files are placed, and the
 * command.
 */
const COMMANDS: {
  name: string;
  before?: (layout: Layout) => Promise<string[]>;
  act: (layout: Layout) => Promise<Acted>;
}[] = [
  {
    name: 'fanout recover S A B',
    act: async (layout) => {
      const r = await runToEnd(fanoutArgv(['recover', 'S', 'A', 'B']), { cwd: layout.dir });
      return { problems: r.status === 0 ? [] : [`recover exited ${r.status}: ${r.stderr}`] };
    },
  },
  {
    name: 'fanout run',
    act: async (layout) => {
      const r = await runToEnd(fanoutArgv(runArgs(layout)), { cwd: layout.dir });
      return { problems: r.status === 0 ? [] : [`run exited ${r.status}: ${r.stderr}`] };
    },
  },
  {
    name: 'fanout run after a crashed run (it recovers what the crash left, in the source and the destinations)',
    before: crashedRun,
    act: async (layout) => {
      const r = await runToEnd(fanoutArgv(runArgs(layout)), { cwd: layout.dir });
      return { problems: r.status === 0 ? [] : [`run exited ${r.status}: ${r.stderr}`] };
    },
  },
  {
    name: 'fanout consume',
    before: fanOut,
    act: async (layout) => {
      const problems: string[] = [];
      for (const c of await consumeAll(layout))
        if (c.status !== 0) problems.push(`consume exited ${c.status}: ${c.stderr}`);
      return { problems };
    },
  },
  {
    name: 'fanout run --watch (several passes and periodic recoveries)',
    act: async (layout) => {
      const problems: string[] = [];
      const watch = start(fanoutArgv(runArgs(layout, ['--watch', '--interval', '50', '--recover-interval', '100'])), {
        cwd: layout.dir,
      });
      // A message that arrives while it watches, so that it is seen working.
      const late = await enqueueAll(layout.dir, 'S', ['late arrival\n']);
      const [lateId] = [...late.keys()];
      await waitFor(
        'the watcher to deliver the late message',
        async () => (await deliveredIds(join(layout.dir, 'B'))).includes(lateId!),
        30_000,
      );
      await sleep(600); // a few more passes and recoveries
      watch.child.kill('SIGTERM');
      const r = await endWithin(watch, 20_000, 'run --watch after SIGTERM');
      if (r.status !== 0) problems.push(`run --watch exited ${r.status}: ${r.stderr}`);
      return { problems, enqueued: late };
    },
  },
  {
    name: 'fanout consume --watch (several passes and periodic releases)',
    before: fanOut,
    act: async (layout) => {
      const problems: string[] = [];
      const watch = start(
        fanoutArgv([
          'consume',
          'A',
          '--watch',
          '--interval',
          '50',
          '--release-interval',
          '100',
          '--exec',
          recordingExec(logOf(layout, 'A')),
        ]),
        { cwd: layout.dir },
      );
      await waitFor(
        'the consumer to take both messages',
        async () => (await consumedBy(logOf(layout, 'A'))).size >= 2,
        30_000,
      );
      await sleep(600);
      watch.child.kill('SIGTERM');
      const c = await endWithin(watch, 20_000, 'consume --watch after SIGTERM');
      if (c.status !== 0) problems.push(`consume --watch exited ${c.status}: ${c.stderr}`);
      return { problems };
    },
  },
];

/** A transform that holds its copy forever, after creating `$GATE/entered`. */
const HOLDING_TRANSFORM = `import { Transform } from 'node:stream';
import { writeFileSync } from 'node:fs';
export default () => new Transform({ transform() { writeFileSync(process.env.GATE + '/entered', ''); } });
`;

/** A run SIGKILLed in the middle of its transaction (its copies under way): recovery has work to do. */
async function crashedRun(layout: Layout): Promise<string[]> {
  const gate = join(layout.dir, 'gate');
  await mkdir(gate);
  await writeFile(join(layout.dir, 'holding.mjs'), HOLDING_TRANSFORM);
  const run = start(fanoutArgv(runArgs(layout, ['--transform', './holding.mjs'])), {
    cwd: layout.dir,
    env: { GATE: gate },
  });
  await waitFor('the run to be inside its transaction', () => existsSync(join(gate, 'entered')), 30_000);
  run.child.kill('SIGKILL');
  const r = await run.done;
  return r.signal === 'SIGKILL' ? [] : [`the run to crash ended by itself: ${r.status} ${r.stderr}`];
}

async function fanOut(layout: Layout): Promise<string[]> {
  const r = await runToEnd(fanoutArgv(runArgs(layout)), { cwd: layout.dir });
  return r.status === 0 ? [] : [`run exited ${r.status}: ${r.stderr}`];
}

describe("defect 5: the operator's own files in spools", () => {
  for (const command of COMMANDS) {
    it(`survive ${command.name}, untouched; the messages beside them are consumed exactly once`, async () => {
      requireTools(['od']);
      const { layout, expected } = await prepare();
      const problems = (await command.before?.(layout)) ?? [];
      const snapshot = await placeOperatorFiles(layout);
      const acted = await command.act(layout);
      problems.push(...acted.problems);
      for (const [id, c] of acted.enqueued ?? []) expected.set(id, c);
      const after = await damaged(layout, snapshot);
      // The operator's routine after it; the files must still be there at the end.
      problems.push(...(await drain(layout)), ...(await judgeEnd(layout, expected)));
      const atEnd = (await damaged(layout, snapshot)).filter((p) => !after.includes(p));
      expect({ [`after ${command.name}`]: after, 'then after recover + run + consume': atEnd, problems }).toEqual({
        [`after ${command.name}`]: [],
        'then after recover + run + consume': [],
        problems: [],
      });
    }, 60_000);
  }
});
