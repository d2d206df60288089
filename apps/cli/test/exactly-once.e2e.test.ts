/**
 * Exactly once, end to end, through faults injected into the real `fanout` process: a SIGKILL
 * at every name change of a run while a consumer keeps consuming, an owner paused past its lease
 * right before its commit, removals that fail during a rollback, a transform that stalls.
 *
 * The tests judge only by what an operator or a consumer sees (see fault-harness.ts): `s<id>` in
 * the source, `d<id>` in destinations, what `fanout consume --exec` accepted, exit statuses, and
 * that nothing but `.fanout-spool` is left in any spool at the end. They do not depend on the
 * names of the protocol's own files. Needs root, strace and util-linux (unshare, nsenter).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  atCleanup,
  consumeAll,
  consumedBy,
  copyTree,
  deliveredIds,
  drain,
  endWithin,
  enqueueAll,
  fanoutArgv,
  inParallel,
  initSpools,
  judgeEnd,
  type Layout,
  logOf,
  namespace,
  parseTrace,
  requireTools,
  runArgs,
  runToEnd,
  scratch,
  start,
  stopEverything,
  tracedArgv,
  TRACED_ENV,
  type TracedCall,
  tracerOf,
  waitFor,
  waiting,
} from './fault-harness.js';

afterEach(stopEverything);

/** A fresh S → A, B layout with `contents` enqueued, in `dir/name`. */
async function prepare(
  dir: string,
  name: string,
  contents: readonly string[],
): Promise<{ layout: Layout; expected: Map<string, string> }> {
  const at = join(dir, name);
  await mkdir(at);
  await initSpools(at, ['S', 'A', 'B']);
  const expected = await enqueueAll(at, 'S', contents);
  return { layout: { dir: at, source: 'S', destinations: ['A', 'B'] }, expected };
}

/** Relocate a layout copied to another directory. */
function at(layout: Layout, dir: string): Layout {
  return { ...layout, dir };
}

/**
 * Every name change a plain `fanout run` of the template makes, counted under strace without
 * injecting anything (on a copy of the template).
 */
async function countNameChanges(
  template: Layout,
  copyDir: string,
  extra: readonly string[] = [],
): Promise<TracedCall[]> {
  const layout = at(template, await copyTree(template.dir, copyDir));
  const log = join(copyDir, 'strace.log');
  const r = await runToEnd(tracedArgv(fanoutArgv(runArgs(layout, extra)), log), { cwd: layout.dir, env: TRACED_ENV });
  expect(r.status, `counting run: ${r.stderr}`).toBe(0);
  const calls = parseTrace(await readFile(log, 'utf8'), copyDir);
  expect(calls.length, 'the counting run made no name change at all').toBeGreaterThan(0);
  // strace counts when= per system call and per thread; with one pool thread (TRACED_ENV) every
  // name change is on it. Should some come from another thread, calls with the same kind and
  // number are one injection point (it fires at whichever comes first).
  const seen = new Set<string>();
  return calls.filter((c) => {
    const key = `${c.syscall}#${c.nth}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

describe('defect 1: SIGKILL of fanout run at every name change, with a consumer before recovery', () => {
  it('every destination consumes every message exactly once, whichever name change the kill preceded', async () => {
    requireTools(['strace', 'od']);
    const dir = await scratch();
    // Small on purpose: 2 messages × 2 destinations, one transaction (batch default) — every point is swept.
    const { layout: template, expected } = await prepare(dir, 'template', ['first message\n', 'second message\n']);
    const points = await countNameChanges(template, join(dir, 'count'));

    const outcomes = await inParallel(points, 4, async (point, k) => {
      const where = `kill before #${k + 1}/${points.length} ${point.text}`;
      const layout = at(template, await copyTree(template.dir, join(dir, `kill${k}`)));
      const log = join(layout.dir, 'strace.log');
      const killed = await runToEnd(
        tracedArgv(fanoutArgv(runArgs(layout)), log, `${point.syscall}:signal=SIGKILL:when=${point.nth}`),
        { cwd: layout.dir, env: TRACED_ENV },
      );
      const problems: string[] = [];
      if (killed.signal !== 'SIGKILL')
        problems.push(`the run was not killed (status ${killed.status}): the point was not reached`);
      const last = parseTrace(await readFile(log, 'utf8'), layout.dir).at(-1);
      // What an operator sees at the moment of the crash: some messages already delivered?
      const visible = (await Promise.all(layout.destinations.map((d) => deliveredIds(join(layout.dir, d))))).flat()
        .length;
      // A consumer running before anyone recovers: it takes whatever is delivered.
      for (const [i, r] of (await consumeAll(layout)).entries())
        if (r.status !== 0)
          problems.push(`consume ${layout.destinations[i]} before recovery exited ${r.status}: ${r.stderr}`);
      // Then the operator recovers, runs again and consumes again (drain).
      problems.push(...(await drain(layout)), ...(await judgeEnd(layout, expected)));
      return { where, killedAt: last?.text, visible, problems };
    });

    // The sweep did reach points where delivered copies were already visible (inside the publish).
    expect(
      outcomes.filter((o) => o.visible > 0).length,
      'no kill landed after a first delivery became visible',
    ).toBeGreaterThan(0);
    const failures = outcomes
      .filter((o) => o.problems.length > 0)
      .map(
        (o) => `${o.where} (died at ${o.killedAt}, ${o.visible} delivered visible):\n    ${o.problems.join('\n    ')}`,
      );
    expect(failures, `${failures.length} of ${outcomes.length} kill points broke exactly-once`).toEqual([]);
  }, 150_000);
});

describe('defect 2: an owner paused after its last lease check, past its lease, while another host rolls it back', () => {
  it('never loses the message, wherever the pause falls', async () => {
    requireTools(['strace', 'unshare', 'nsenter', 'od']);
    const dir = await scratch();
    // short, yet long enough for the owner to reach its commit (before 2/3 of it) under strace on a busy machine
    const LEASE = 3000;
    const other = await namespace({ hostname: 'other-host' });
    const { layout: template, expected } = await prepare(dir, 'template', ['the only message\n']);
    const points = await countNameChanges(template, join(dir, 'count'), ['--lease', String(LEASE)]);

    const outcomes = await inParallel(points, 4, async (point, k) => {
      const where = `pause before #${k + 1}/${points.length} ${point.text}`;
      const layout = at(template, await copyTree(template.dir, join(dir, `pause${k}`)));
      const log = join(layout.dir, 'strace.log');
      // delay_enter holds the thread at the call's entry: the call has not happened yet. (A
      // SIGSTOP injected by strace only takes effect once the call has returned.)
      const owner = start(
        tracedArgv(
          fanoutArgv(runArgs(layout, ['--lease', String(LEASE)])),
          log,
          `${point.syscall}:delay_enter=100s:when=${point.nth}`,
        ),
        { cwd: layout.dir, env: TRACED_ENV },
      );
      const problems: string[] = [];
      let paused = false;
      await waitFor(
        where,
        async () => {
          if (owner.exited) return true;
          const calls = parseTrace(await readFile(log, 'utf8').catch(() => ''), layout.dir);
          const last = calls.at(-1);
          paused = last !== undefined && !last.finished && last.syscall === point.syscall && last.nth === point.nth;
          return paused;
        },
        20_000,
      );
      if (!paused)
        problems.push(
          `the point was never reached (the run ended with ${owner.exited ? (await owner.done).status : '?'})`,
        );
      else {
        // Freeze the whole owner (its timers too), as a SIGSTOP or a long GC or VM pause would.
        process.kill(owner.pid, 'SIGSTOP');
        await sleep(LEASE + 600);
        // Another host: the owner cannot be probed, its lease has run out.
        const rec = await runToEnd(other.wrap(fanoutArgv(['recover', layout.source]), layout.dir), { cwd: layout.dir });
        if (rec.status !== 0) problems.push(`recover on other-host exited ${rec.status}: ${rec.stderr}`);
        process.kill(owner.pid, 'SIGCONT');
        const tracer = tracerOf(owner.pid);
        if (tracer !== undefined) process.kill(tracer, 'SIGKILL'); // lets the held call go on
      }
      await endWithin(owner, 20_000, 'the resumed owner');
      const second = await runToEnd(other.wrap(fanoutArgv(runArgs(layout, ['--lease', String(LEASE)])), layout.dir), {
        cwd: layout.dir,
      });
      if (second.status !== 0)
        problems.push(`second run on other-host exited ${second.status}: ${second.stderr.trim()}`);
      problems.push(...(await drain(layout)), ...(await judgeEnd(layout, expected)));
      return { where, problems, owner: (await owner.done).stderr.trim() };
    });

    const failures = outcomes
      .filter((o) => o.problems.length > 0)
      .map((o) => `${o.where}:\n    ${o.problems.join('\n    ')}\n    (paused owner said: ${o.owner})`);
    expect(failures, `${failures.length} of ${outcomes.length} pause points broke exactly-once`).toEqual([]);
  }, 150_000);
});

/**
 * A transform that fails the copy to destination `$FAULT_DIR`, after making removals there fail:
 * with `$FAULT=erofs` it first bind-mounts that directory read-only over itself (the run is in its
 * own mount namespace, so the fault ends with the process); with `$FAULT=none` the directory was
 * made append-only beforehand (chattr +a: creations allowed, unlink and rename fail with EPERM).
 */
const FAILING_TRANSFORM = `import { Transform } from 'node:stream';
import { execFileSync } from 'node:child_process';
let mounted = false;
export default ({ destination }) => new Transform({
  transform(chunk, _enc, cb) {
    if (destination !== process.env.FAULT_DIR) return cb(null, chunk);
    if (process.env.FAULT === 'erofs' && !mounted) {
      execFileSync('mount', ['--bind', '-o', 'ro', destination, destination]);
      mounted = true;
    }
    cb(new Error('transform failed on purpose'));
  },
});
`;

describe('defect 4: a rollback whose removals fail', () => {
  for (const { name, protocol, fault } of [
    { name: 'EROFS (read-only bind mount), staged', protocol: 'staged', fault: 'erofs' },
    { name: 'EROFS (read-only bind mount), seed', protocol: 'seed', fault: 'erofs' },
    { name: 'EPERM (append-only directory), staged', protocol: 'staged', fault: 'eperm' },
  ] as const) {
    it(`${name}: leaves nothing behind once the fault is gone; every message delivered exactly once`, async () => {
      requireTools(fault === 'erofs' ? ['unshare', 'mount', 'od'] : ['chattr', 'od']);
      const dir = await scratch();
      const { layout, expected } = await prepare(dir, 'spools', ['message one\n', 'message two\n']);
      const A = join(layout.dir, 'A');
      await writeFile(join(layout.dir, 'failing.mjs'), FAILING_TRANSFORM);
      const args = runArgs(layout, ['--protocol', protocol, '--transform', './failing.mjs']);
      const env = { FAULT_DIR: A, FAULT: fault === 'erofs' ? 'erofs' : 'none' };
      let failed;
      if (fault === 'erofs') {
        failed = await runToEnd(['unshare', '--mount', '--', ...fanoutArgv(args)], { cwd: layout.dir, env });
      } else {
        atCleanup(async () => void (await runToEnd(['chattr', '-a', A], { cwd: '/' })));
        const attr = await runToEnd(['chattr', '+a', A], { cwd: layout.dir });
        if (attr.status !== 0)
          throw new Error(
            `this test needs a filesystem with append-only directories ` +
              `(chattr +a, e.g. ext4) under the temp dir: ${attr.stderr}`,
          );
        try {
          failed = await runToEnd(fanoutArgv(args), { cwd: layout.dir, env });
        } finally {
          await runToEnd(['chattr', '-a', A], { cwd: layout.dir });
        }
      }
      // The fault is gone now (the mount namespace died with the run; the attribute is cleared).
      expect(failed.status, `the failing run: ${failed.stderr}`).not.toBe(0);
      expect((await waiting(join(layout.dir, 'S'))).sort(), 'messages still waiting after the failed run').toEqual(
        [...expected.keys()].sort(),
      );
      // Nothing was committed, so a consumer must get nothing.
      const early = await consumeAll(layout);
      for (const d of layout.destinations)
        expect([...(await consumedBy(logOf(layout, d))).keys()], `${d}: consumed before any commit`).toEqual([]);
      for (const r of early) expect(r.status).toBe(0);
      const problems = [...(await drain(layout)), ...(await judgeEnd(layout, expected))];
      expect(problems, `failing run said: ${failed.stderr.trim()}`).toEqual([]);
    }, 60_000);
  }
});

/** A transform whose stream never produces, never ends and never fails. */
const STALLED_TRANSFORM = `import { Transform } from 'node:stream';
export default () => new Transform({ transform() {}, flush() {} });
`;

describe('defect 6: a transform that stalls', () => {
  it('does not end the run with status 0; the message stays in the source and is delivered later', async () => {
    requireTools(['od']);
    const dir = await scratch();
    const { layout, expected } = await prepare(dir, 'spools', ['stuck message\n']);
    await writeFile(join(layout.dir, 'stalled.mjs'), STALLED_TRANSFORM);
    // The fix is to give up on a stalled copy after a timeout; the test asks for a short one.
    const run = start(fanoutArgv(runArgs(layout, ['--transform', './stalled.mjs'])), {
      cwd: layout.dir,
      env: { FANOUT_STALL_TIMEOUT_MS: '2000' },
    });
    const r = await Promise.race([run.done, sleep(30_000).then(() => undefined)]);
    expect(r, 'fanout run with a stalled transform was still running after 30 s').toBeDefined();
    expect(r!.signal, r!.stderr).toBeNull();
    expect(
      r!.status,
      `fanout run with a stalled transform exited ${r!.status}; stderr: ${JSON.stringify(r!.stderr)}`,
    ).not.toBe(0);
    expect(r!.stderr.trim(), 'a failure must be reported').not.toBe('');
    expect(await waiting(join(layout.dir, 'S'))).toEqual([...expected.keys()]);
    const problems = [...(await drain(layout)), ...(await judgeEnd(layout, expected))];
    expect(problems).toEqual([]);
  }, 60_000);
});
