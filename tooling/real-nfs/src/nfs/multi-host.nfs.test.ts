/**
 * The multi-host end-to-end test on real NFS: two hosts × two `fanout run --watch` workers on one
 * source spool, one `fanout consume --watch` per destination on different hosts, SIGKILLs of
 * workers at random, 30% of the server's packets to one client lost, one client partitioned for
 * longer than the lease, an nfsd restart. Afterwards every message must have been consumed exactly
 * once per destination and nothing may be left in any spool. Runs inside the real-NFS VM.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { ctl, freshDir, outcomeOf, sleep, spawnOn, vm, type ChildOutcome, type Client } from './vm-env.js';

const FANOUT = fileURLToPath(new URL('../../../../apps/cli/bin/fanout.cjs', import.meta.url));
// Sized for CI on 2 cores: every process start inside UML costs seconds, the faults are what matters.
const MESSAGES = Number(process.env.FANOUT_E2E_MESSAGES ?? 80);
const LEASE_MS = 6_000;
/** How long after the last fault every message must have been consumed. */
const SETTLE_MS = Number(process.env.FANOUT_E2E_SETTLE_MS ?? 180_000);
/** `--batch`; the default (32) unless FANOUT_E2E_BATCH says otherwise. */
const BATCH = process.env.FANOUT_E2E_BATCH ? ['--batch', process.env.FANOUT_E2E_BATCH] : [];
/** Where every host sees the shared export (vm/on.sh binds the host's own client mount there). */
const SHARED = '/mnt/nfs';

/** A long-running fanout process the test may kill and restart. */
interface Daemon {
  readonly name: string;
  readonly host: Client;
  readonly args: readonly string[];
  child: ChildProcess;
  done: Promise<ChildOutcome>;
  /** Exits the test did not cause, with the end of their stderr. */
  readonly unexpected: string[];
  killedByUs: boolean;
  log: string;
  /** Every stdout line of every run (a consumer without --exec prints each message's content). */
  readonly out: string[];
  /** Every stderr line, reduced to its shape (ids and numbers replaced), with counts. */
  readonly shapes: Map<string, number>;
}

/** A stderr line without what differs between occurrences (ids, names, numbers). */
function shapeOf(line: string): string {
  return line
    .replace(/[0-9A-HJKMNP-TV-Z]{26}/g, '<ulid>')
    .replace(/\b[a-z0-9]{16}-[a-z0-9-]{10,}/g, '<owner>')
    .replace(/\d+/g, 'N')
    .slice(0, 220);
}

function start(d: Omit<Daemon, 'child' | 'done' | 'killedByUs' | 'log' | 'shapes' | 'out'> & Partial<Daemon>): Daemon {
  const child = spawnOn(d.host, process.execPath, [FANOUT, ...d.args]);
  const daemon = d as Daemon;
  daemon.child = child;
  daemon.killedByUs = false;
  daemon.log ??= '';
  (daemon as { shapes: Map<string, number> }).shapes ??= new Map();
  (daemon as { out: string[] }).out ??= [];
  let outPartial = '';
  child.stdout?.on('data', (b: Buffer) => {
    const lines = (outPartial + b.toString()).split('\n');
    outPartial = lines.pop() ?? '';
    daemon.out.push(...lines);
  });
  let partial = '';
  child.stderr?.on('data', (b: Buffer) => {
    daemon.log = (daemon.log + b.toString()).slice(-20_000);
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) daemon.shapes.set(shapeOf(line), (daemon.shapes.get(shapeOf(line)) ?? 0) + 1);
  });
  daemon.done = outcomeOf(child).then((o) => {
    if (!daemon.killedByUs) {
      daemon.unexpected.push(
        `${d.name} exited ${o.code ?? o.signal}: ${o.stderr.trim().split('\n').slice(-5).join(' | ')}`,
      );
    }
    return o;
  });
  return daemon;
}

/** SIGTERM (a watch finishes the message in hand), then SIGKILL after `graceMs`; says whether it stopped in time. */
async function stop(d: Daemon, graceMs: number): Promise<boolean> {
  d.killedByUs = true;
  d.child.kill('SIGTERM');
  const inTime = await Promise.race([d.done.then(() => true), sleep(graceMs).then(() => false)]);
  if (!inTime) {
    d.child.kill('SIGKILL');
    await d.done;
  }
  return inTime;
}

/** Keep a daemon running as a supervisor would (systemd Restart=always), but remember why it stopped. */
function supervise(d: Daemon, running: () => boolean): void {
  void d.done.then(async () => {
    if (!running()) return;
    await sleep(500);
    if (running()) {
      start(d);
      supervise(d, running);
    }
  });
}

async function fanout(host: Client, ...args: string[]): Promise<string> {
  const o = await outcomeOf(spawnOn(host, process.execPath, [FANOUT, ...args]));
  if (o.code !== 0) throw new Error(`fanout ${args.join(' ')} on ${host} exited ${o.code}: ${o.stderr}`);
  return o.stdout;
}

/** The names in a spool directory, read on the server (no client cache in between). */
async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n !== '.fanout-spool');
}

it(`${MESSAGES} messages, two hosts × two run --watch workers, consumers on both hosts, SIGKILLs, 30% loss, a partition longer than the lease, an nfsd restart: each consumed exactly once per destination, nothing left (NFS v${vm.vers})`, async () => {
  const dir = await freshDir('e2e');
  const name = dir.a.slice(vm.a.length + 1);
  const spool = (s: string) => `nfs://${SHARED}/${name}/${s}`;
  const logs = `/tmp/e2e-${name}`;
  await mkdir(logs, { recursive: true });
  await fanout('c1', 'init', spool('S'), spool('A'), spool('B'));
  const bodies = join(logs, 'bodies');
  await mkdir(bodies);
  const files: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const f = join(bodies, `m${i}`);
    await writeFile(f, `message ${i}\n`);
    files.push(f);
  }
  const t0 = Date.now();
  const unexpected: string[] = [];
  let running = true;
  const worker = (host: Client, n: number) =>
    start({
      name: `worker ${n} on ${host}`,
      host,
      unexpected,
      args: [
        'run',
        '--from',
        spool('S'),
        '--to',
        spool('A'),
        '--to',
        spool('B'),
        '--watch',
        '--interval',
        '300',
        '--recover-interval',
        '2000',
        '--lease',
        String(LEASE_MS),
        ...BATCH,
      ],
    });
  const consumer = (host: Client, dest: string) =>
    start({
      name: `consumer of ${dest} on ${host}`,
      host,
      unexpected,
      // Without --exec each message's content goes to stdout: no process per message (a fork costs
      // seconds inside UML), and the content names the message.
      args: ['consume', spool(dest), '--watch', '--interval', '300', '--release-interval', '2000'],
    });
  const workers = [worker('c1', 1), worker('c1', 2), worker('c2', 3), worker('c2', 4)];
  const consumers = [consumer('c1', 'A'), consumer('c2', 'B')];
  for (const d of [...workers, ...consumers]) supervise(d, () => running);

  // Enqueue from both hosts while the workers run, in a few waves.
  const enqueued: string[] = [];
  const waves = 4;
  const per = Math.ceil(MESSAGES / waves);
  const enqueuing = (async () => {
    for (let w = 0; w < waves; w++) {
      const host: Client = w % 2 === 0 ? 'c1' : 'c2';
      const out = await fanout(host, 'enqueue', spool('S'), ...files.slice(w * per, (w + 1) * per));
      enqueued.push(...out.split('\n').filter(Boolean));
      await sleep(3_000);
    }
  })();

  // SIGKILL a random worker every few seconds until the last fault; the supervisor restarts it.
  let faultsDone = false;
  let kills = 0;
  const killing = (async () => {
    while (running && !faultsDone) {
      await sleep(3_000 + Math.random() * 4_000);
      const victim = workers[Math.floor(Math.random() * workers.length)];
      if (victim === undefined || !running) continue;
      victim.killedByUs = true;
      victim.child.kill('SIGKILL');
      kills++;
    }
  })();

  // Network and server faults, one after another.
  const faults: string[] = [];
  const faulting = (async () => {
    await sleep(4_000);
    await ctl('netem-in', 'c2', 'loss 30%');
    faults.push('30% of packets to client 2 lost for 12 s');
    await sleep(12_000);
    await ctl('heal', 'c2');
    await ctl('partition', 'c1');
    faults.push(`client 1 partitioned for ${LEASE_MS + 4_000} ms (lease ${LEASE_MS} ms)`);
    await sleep(LEASE_MS + 4_000);
    await ctl('heal', 'c1');
    await sleep(3_000);
    await ctl('restart-server');
    faults.push('the server rebooted (nfsd, its reply cache and NFSv4 state)');
    faultsDone = true;
  })();

  try {
    await Promise.all([enqueuing, faulting]);
    await killing;
  } catch (err) {
    // A failed fault or enqueue must not leave daemons running (and restarted) into the next files.
    running = false;
    await Promise.all([...workers, ...consumers].map((d) => stop(d, 5_000)));
    await Promise.all([ctl('heal', 'c1'), ctl('heal', 'c2')]).catch(() => undefined);
    throw err;
  }
  // Then let it settle: everything consumed in both destinations.
  const deadline = Date.now() + SETTLE_MS;
  // What each destination's consumer printed, over all its runs: one line per message consumed.
  const printed = (d: Daemon | undefined) => (d?.out ?? []).filter((l) => l.startsWith('message '));
  let a: string[] = [];
  let b: string[] = [];
  const timeline: string[] = [];
  while (Date.now() < deadline) {
    a = printed(consumers[0]);
    b = printed(consumers[1]);
    const s = Math.round((Date.now() - t0) / 1000);
    if (timeline.length === 0 || s % 10 === 0) timeline.push(`${s}s A${new Set(a).size} B${new Set(b).size}`);
    if (new Set(a).size >= enqueued.length && new Set(b).size >= enqueued.length) break;
    await sleep(1_000);
  }
  await sleep(3_000); // a duplicate still on its way would show now
  running = false;
  const stuck = (
    await Promise.all([...workers, ...consumers].map(async (d) => ((await stop(d, 20_000)) ? [] : [d.name])))
  ).flat();
  a = printed(consumers[0]);
  b = printed(consumers[1]);
  const seconds = (Date.now() - t0) / 1000;

  const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
  const lost = (seen: string[]) => files.map((_, i) => `message ${i}`).filter((m) => !seen.includes(m));
  const left = {
    S: await leftovers(join(dir.server, 'S')),
    A: await leftovers(join(dir.server, 'A')),
    B: await leftovers(join(dir.server, 'B')),
  };
  console.log(
    `multi-host e2e NFS v${vm.vers}: ${enqueued.length} messages, ${kills} SIGKILLs, faults: ${faults.join('; ')}; ` +
      `consumed A ${a.length} (duplicates ${dupes(a).length}, lost ${lost(a).length}), ` +
      `B ${b.length} (duplicates ${dupes(b).length}, lost ${lost(b).length}); ${seconds.toFixed(0)} s; ` +
      `left in S ${left.S.length}, A ${left.A.length}, B ${left.B.length}; unexpected exits ${unexpected.length}; ` +
      `not stopped 20 s after SIGTERM: ${stuck.length === 0 ? 'none' : stuck.join(', ')}`,
  );
  for (const line of unexpected) console.log(`unexpected exit: ${line}`);
  console.log(`consumed over time (after the faults): ${[...new Set(timeline)].join(', ')}`);
  for (const d of [...workers, ...consumers]) {
    const top = [...d.shapes].sort((x, y) => y[1] - x[1]).slice(0, 8);
    if (top.length > 0) console.log(`${d.name}, stderr by shape:\n${top.map(([l, n]) => `  ${n} × ${l}`).join('\n')}`);
  }
  if (lost(a).length + lost(b).length + left.S.length > 0) {
    for (const d of [...workers, ...consumers]) console.log(`--- ${d.name} stderr (tail):\n${d.log.slice(-3000)}`);
  }
  expect(enqueued).toHaveLength(MESSAGES);
  expect({ duplicatesA: dupes(a), duplicatesB: dupes(b) }).toEqual({ duplicatesA: [], duplicatesB: [] });
  expect({ lostA: lost(a).length, lostB: lost(b).length }).toEqual({ lostA: 0, lostB: 0 });
  expect(left).toEqual({ S: [], A: [], B: [] });
  expect(unexpected).toEqual([]);
  expect(stuck).toEqual([]);
}, 900_000);
