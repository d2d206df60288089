/**
 * Who owns what (defect 3): liveness must not be judged by a pid alone, nor by a host name cut
 * short. Each case runs real `fanout` processes in Linux namespaces — a PID namespace on this
 * very host (same host name, same boot id, pids of its own), or a UTS namespace standing for
 * another host — and judges only by what consumers accept and what the spools hold at the end
 * (see fault-harness.ts). Needs root and util-linux (unshare, nsenter).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  drain,
  endWithin,
  enqueueAll,
  entriesOf,
  fanoutArgv,
  freeHostPid,
  initSpools,
  insideOf,
  judgeEnd,
  type Layout,
  logOf,
  namespace,
  pause,
  recordingExec,
  requireTools,
  resume,
  runArgs,
  runToEnd,
  scratch,
  start,
  stopEverything,
  waitFor,
} from './fault-harness.js';
import { lines } from './cli-harness.js';

afterEach(stopEverything);

/** S → destinations in a fresh directory, `contents` enqueued; with `deliver`, already fanned out. */
async function prepare(
  destinations: readonly string[],
  contents: readonly string[],
  deliver: boolean,
): Promise<{ layout: Layout; expected: Map<string, string>; gate: string }> {
  const dir = await scratch();
  await initSpools(dir, ['S', ...destinations]);
  const expected = await enqueueAll(dir, 'S', contents);
  const layout: Layout = { dir, source: 'S', destinations };
  if (deliver) {
    const r = await runToEnd(fanoutArgv(runArgs(layout)), { cwd: dir });
    if (r.status !== 0) throw new Error(`fan-out failed: ${r.stderr}`);
  }
  const gate = join(dir, 'gate');
  await mkdir(gate);
  return { layout, expected, gate };
}

/**
 * A transform that holds every copy at its first chunk until `$GATE/open` exists, after
 * creating `$GATE/entered-<id>`: the worker is then in the middle of its transaction.
 */
const GATED_TRANSFORM = `import { Transform } from 'node:stream';
import { existsSync, writeFileSync } from 'node:fs';
export default ({ id }) => {
  let through = false;
  return new Transform({
    transform(chunk, _enc, cb) {
      if (through) return cb(null, chunk);
      writeFileSync(process.env.GATE + '/entered-' + id, '');
      const t = setInterval(() => {
        if (!existsSync(process.env.GATE + '/open')) return;
        clearInterval(t);
        through = true;
        cb(null, chunk);
      }, 20);
    },
  });
};
`;

async function entered(gate: string): Promise<boolean> {
  return (await entriesOf(gate)).some((n) => n.startsWith('entered-'));
}

describe('defect 3a: a live worker in another PID namespace of this host', () => {
  it('is not taken over by fanout recover in the host namespace; its messages are delivered exactly once', async () => {
    requireTools(['unshare', 'nsenter', 'od']);
    const { layout, expected, gate } = await prepare(
      ['A', 'B'],
      ['held in flight one\n', 'held in flight two\n'],
      false,
    );
    await writeFile(join(layout.dir, 'gated.mjs'), GATED_TRANSFORM);
    const ns = await namespace({ pid: true });
    // Its pid inside is one no process of the host namespace has: a pid-only probe finds it "dead".
    await ns.nextPid(freeHostPid());
    // The default lease (10 min): nobody may take its messages over on lease grounds.
    const worker = start(ns.wrap(fanoutArgv(runArgs(layout, ['--transform', './gated.mjs'])), layout.dir), {
      cwd: layout.dir,
      env: { GATE: gate },
    });
    const inside = await insideOf(worker);
    await waitFor('the worker to be inside its transaction', () => entered(gate));
    pause(inside);
    const rec = await runToEnd(fanoutArgv(['recover', layout.source, '--json']), { cwd: layout.dir });
    resume(worker, inside);
    await writeFile(join(gate, 'open'), '');
    const w = await endWithin(worker, 30_000, 'the worker in the PID namespace');
    const problems: string[] = [];
    if (rec.status !== 0) problems.push(`host recover exited ${rec.status}: ${rec.stderr}`);
    if (w.status !== 0)
      problems.push(`the worker (pid ${inside.nsPid} in its namespace) exited ${w.status}: ${w.stderr.trim()}`);
    problems.push(...(await drain(layout)), ...(await judgeEnd(layout, expected)));
    expect(problems, `host recover printed: ${rec.stdout}`).toEqual([]);
  }, 60_000);
});

describe('defect 3b: a live consumer in another PID namespace of this host', () => {
  it('keeps its claim when fanout consume runs in the host namespace; no message is consumed twice', async () => {
    requireTools(['unshare', 'nsenter', 'od']);
    const { layout, expected, gate } = await prepare(['A'], ['claimed by the namespaced consumer\n'], true);
    const ns = await namespace({ pid: true });
    await ns.nextPid(freeHostPid());
    const slow = start(
      ns.wrap(fanoutArgv(['consume', 'A', '--exec', recordingExec(logOf(layout, 'A'), gate)]), layout.dir),
      { cwd: layout.dir },
    );
    const inside = await insideOf(slow);
    await waitFor('the namespaced consumer to hold the message', () => entered(gate));
    const host = await runToEnd(fanoutArgv(['consume', 'A', '--exec', recordingExec(logOf(layout, 'A'))]), {
      cwd: layout.dir,
    });
    await writeFile(join(gate, 'open'), '');
    const s = await endWithin(slow, 30_000, 'the namespaced consumer');
    const problems: string[] = [];
    if (host.status !== 0) problems.push(`host consume exited ${host.status}: ${host.stderr}`);
    if (s.status !== 0)
      problems.push(`namespaced consumer (pid ${inside.nsPid} inside) exited ${s.status}: ${s.stderr}`);
    problems.push(...(await drain(layout)), ...(await judgeEnd(layout, expected)));
    expect(problems, `host consume said: ${host.stderr.trim()}`).toEqual([]);
  }, 60_000);
});

describe('defect 3c: a dead consumer whose pid now belongs to a live process', () => {
  it('has its claim released: the message is consumed, exactly once', async () => {
    requireTools(['unshare', 'nsenter', 'od', 'sleep']);
    const { layout, expected, gate } = await prepare(['A'], ['claimed by a consumer that died\n'], true);
    const ns = await namespace({ pid: true });
    // A pid that is alive in the host namespace as well (this test's own process), so that no
    // namespace's view of it says "gone".
    const P = process.pid;
    await ns.nextPid(P);
    const doomed = start(
      ns.wrap(
        fanoutArgv([
          'consume',
          'A',
          '--exec',
          `cat > /dev/null; : > '${gate}/entered-x'; exec sleep 1000 > /dev/null 2>&1`,
        ]),
        layout.dir,
      ),
      { cwd: layout.dir },
    );
    const first = await insideOf(doomed);
    expect(first.nsPid, 'the first consumer did not get the chosen pid').toBe(P);
    await waitFor('the first consumer to hold the message', () => entered(gate));
    process.kill(first.hostPid, 'SIGKILL');
    await endWithin(doomed, 10_000, 'the killed consumer');
    // Its pid is reused: a live, unrelated process of the same namespace, same host, same boot.
    await ns.nextPid(P);
    const squatter = start(ns.wrap(['sleep', '1000'], layout.dir), { cwd: layout.dir });
    const reuse = await insideOf(squatter);
    expect(reuse.nsPid, "the squatter did not get the dead consumer's pid").toBe(P);
    const again = await runToEnd(
      ns.wrap(fanoutArgv(['consume', 'A', '--exec', recordingExec(logOf(layout, 'A'))]), layout.dir),
      { cwd: layout.dir },
    );
    const problems: string[] = [];
    if (again.status !== 0) problems.push(`consume in the namespace exited ${again.status}: ${again.stderr}`);
    problems.push(...(await drain(layout)), ...(await judgeEnd(layout, expected)));
    expect(problems, `consume beside the squatter said: ${again.stderr.trim()}`).toEqual([]);
  }, 60_000);
});

/**
 * Two hosts (UTS namespaces, each with its own PID namespace as real hosts have) whose names
 * are alike up to a point. The pair from the report differs at its 27th character (24th letter
 * or digit); the second pair only after 24 letters and digits.
 */
const HOST_PAIRS = [
  ['build-worker-pool-1a2b3c4d-aaaa', 'build-worker-pool-1a2b3c4d-bbbb'],
  ['build-worker-pool-1a2b3c4d5e6f-aaaa', 'build-worker-pool-1a2b3c4d5e6f-bbbb'],
] as const;

describe('defect 3d: two hosts whose names differ late', () => {
  for (const [X, Y] of HOST_PAIRS) {
    it(`${X} / ${Y}: a consumer on one never releases the other's live claim`, async () => {
      requireTools(['unshare', 'nsenter', 'od']);
      const { layout, expected, gate } = await prepare(['A'], ['claimed on host x\n'], true);
      const hostX = await namespace({ hostname: X, pid: true });
      const hostY = await namespace({ hostname: Y, pid: true });
      // X's pids are ones that host Y's (small) pid space does not have.
      await hostX.nextPid(700);
      const slow = start(
        hostX.wrap(fanoutArgv(['consume', 'A', '--exec', recordingExec(logOf(layout, 'A'), gate)]), layout.dir),
        { cwd: layout.dir },
      );
      await insideOf(slow);
      await waitFor(`the consumer on ${X} to hold the message`, () => entered(gate));
      const other = await runToEnd(
        hostY.wrap(fanoutArgv(['consume', 'A', '--exec', recordingExec(logOf(layout, 'A'))]), layout.dir),
        { cwd: layout.dir },
      );
      await writeFile(join(gate, 'open'), '');
      const s = await endWithin(slow, 30_000, `the consumer on ${X}`);
      const problems: string[] = [];
      if (other.status !== 0) problems.push(`consume on ${Y} exited ${other.status}: ${other.stderr}`);
      if (s.status !== 0) problems.push(`consume on ${X} exited ${s.status}: ${s.stderr}`);
      problems.push(...(await drain(layout)), ...(await judgeEnd(layout, expected)));
      expect(problems, `consume on ${Y} said: ${other.stderr.trim()}`).toEqual([]);
    }, 60_000);

    it(`${X} / ${Y}: recover and run on one never delete the other's file being enqueued`, async () => {
      requireTools(['unshare', 'nsenter', 'od']);
      const { layout } = await prepare(['A'], [], false);
      const hostX = await namespace({ hostname: X, pid: true });
      const hostY = await namespace({ hostname: Y, pid: true });
      await hostX.nextPid(700);
      const before = new Set(await entriesOf(join(layout.dir, 'S')));
      // A writer on X, mid-write: its input is still coming.
      const writer = start(hostX.wrap(fanoutArgv(['enqueue', 'S']), layout.dir), { cwd: layout.dir, input: 'open' });
      const inside = await insideOf(writer);
      writer.child.stdin!.write('first half of a message written on host x, ');
      await waitFor(`the writer on ${X} to have its file in S`, async () =>
        (await entriesOf(join(layout.dir, 'S'))).some((n) => !before.has(n)),
      );
      pause(inside);
      const rec = await runToEnd(hostY.wrap(fanoutArgv(['recover', 'S']), layout.dir), { cwd: layout.dir });
      const run = await runToEnd(hostY.wrap(fanoutArgv(runArgs(layout)), layout.dir), { cwd: layout.dir });
      resume(writer, inside);
      writer.child.stdin!.end('second half\n');
      const w = await endWithin(writer, 30_000, `the writer on ${X}`);
      const problems: string[] = [];
      if (rec.status !== 0) problems.push(`recover on ${Y} exited ${rec.status}: ${rec.stderr}`);
      if (run.status !== 0) problems.push(`run on ${Y} exited ${run.status}: ${run.stderr}`);
      if (w.status !== 0) problems.push(`enqueue on ${X} exited ${w.status}: ${w.stderr.trim()}`);
      const ids = lines(w.stdout);
      const expected = new Map(ids.map((id) => [id, 'first half of a message written on host x, second half\n']));
      if (ids.length !== 1) problems.push(`enqueue on ${X} printed ${ids.length} ids`);
      problems.push(...(await drain(layout)), ...(await judgeEnd(layout, expected)));
      expect(problems, `recover on ${Y} said: ${rec.stderr.trim()}`).toEqual([]);
    }, 60_000);
  }
});
