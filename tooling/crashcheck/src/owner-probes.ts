/**
 * The owner-probes family: who is alive, as a consumer's or a recoverer's
 * probe decides it, over PID namespaces and colliding host names.
 *
 * A consumer C1 claims each delivered message and is paused while it handles
 * it (alive). Meanwhile a second consumer process C2 — in another PID
 * namespace on the same host, or on another host whose name shares its first
 * 24 characters with C1's — releases stale claims with its probe and drains
 * what it can see; then C1 acknowledges. The same runs with C1 really dead
 * (its pid gone from its namespace, or reused by another process) check the
 * other direction: a dead consumer's claim must be released, or the message
 * is stuck. Each message must be consumed exactly once from each destination
 * and nothing may be left.
 *
 * Probes: `rule` is the core's one rule (`makeOwnerProbe` over a simulated
 * pid table); `pid-only` is the old rule (truncated host tag, pid looked up
 * in the prober's own namespace), which the family must catch.
 */
import {
  consumePass,
  consumerName,
  fanOut,
  type OwnerInfo,
  type OwnerProbe,
  type PidSighting,
  releaseStaleClaims,
} from '@fanout/core';
import { makeOwnerProbe } from '@fanout/core/internal';
import { type FamilyResult, type FamilyViolation, listing } from './family.js';
import { messagesOf } from './scenario.js';
import { cloneMachine, setUpMachine, spoolsOn } from './world.js';

/** Where the live (or dead) consumer C1 is, as C2 sees it. */
export type ProbeCase = 'other-pid-namespace' | 'colliding-host-name' | 'dead-pid-gone' | 'dead-pid-reused';

export interface OwnerProbeScenario {
  readonly probe: 'rule' | 'pid-only';
  readonly case: ProbeCase;
  readonly dests: number;
  readonly messages: number;
}

export function ownerProbeName(s: OwnerProbeScenario): string {
  return `owner-probes ${s.case} probe=${s.probe} dests=${s.dests} msgs=${s.messages}`;
}

const HOST = 'build-worker-pool-1a2b3c4d5e6f-aaaa';
const C2: OwnerInfo = { host: HOST, bootId: 'boot-1', pidNamespace: '4026531836', pid: 300, startTime: '7000' };

function consumerOne(c: ProbeCase): OwnerInfo {
  switch (c) {
    case 'other-pid-namespace':
      // A container with host networking: same host name and boot, its own pid namespace; pid 8 there (no pid 8 here).
      return { ...C2, pidNamespace: '4026532999', pid: 8, startTime: '100' };
    case 'colliding-host-name':
      return { ...C2, host: 'build-worker-pool-1a2b3c4d5e6f-bbbb', pid: 301, startTime: '200' };
    case 'dead-pid-gone':
      return { ...C2, pid: 302, startTime: '300' };
    case 'dead-pid-reused':
      return { ...C2, pid: 303, startTime: '400' };
  }
}

/**
 * What C2's namespace holds: itself, pid 7 (someone else, as in any namespace), and pid 303 reused by a newer process.
 */
const pidTable = new Map<number, string>([
  [300, '7000'],
  [7, '5'],
  [303, '999'],
]);
const lookup = (pid: number): PidSighting =>
  pidTable.has(pid) ? { state: 'present', startTime: pidTable.get(pid)! } : { state: 'absent' };

/**
 * The old rule: hosts compared by the first 24 letters and digits of their
 * names (C1's and C2's are the same there, so it is "this host"), the pid
 * looked up in the prober's own namespace, start time and namespace ignored.
 */
const pidOnly: OwnerProbe = async (o) => (pidTable.has(o.pid) ? 'alive' : 'dead');

export function ownerProbeScenarios(options: { quick?: boolean } = {}): OwnerProbeScenario[] {
  const cases: ProbeCase[] = ['other-pid-namespace', 'colliding-host-name', 'dead-pid-gone', 'dead-pid-reused'];
  const shapes = options.quick
    ? [{ dests: 1, messages: 1 }]
    : [
        { dests: 1, messages: 1 },
        { dests: 2, messages: 2 },
      ];
  return cases.flatMap((c) => shapes.map((shape) => ({ probe: 'rule' as const, case: c, ...shape })));
}

export async function runOwnerProbes(
  s: OwnerProbeScenario,
  onViolation: (v: FamilyViolation) => void = () => undefined,
): Promise<FamilyResult> {
  const name = ownerProbeName(s);
  const messages = messagesOf({ messages: s.messages, transform: false });
  const start = await setUpMachine('posix', s.dests, messages);
  const sim = cloneMachine(start);
  const sp = spoolsOn(sim, 'posix', s.dests);
  const trace: string[] = [];
  await fanOut({
    source: sp.source,
    destinations: sp.dests.map((spool) => ({ spool })),
    recoverFirst: false,
    ownerProbe: async () => 'dead',
  });
  trace.push(`delivered: ${listing(sim, s.dests)}`);
  const c1 = consumerOne(s.case);
  const dead = s.case.startsWith('dead');
  const probe: OwnerProbe = s.probe === 'rule' ? makeOwnerProbe(C2, lookup) : pidOnly;
  const counts = new Map<string, number>();
  const took = (d: number, id: string, who: string) => {
    counts.set(`${d}:${id}`, (counts.get(`${d}:${id}`) ?? 0) + 1);
    trace.push(`${who} consumes ${id} from D${d}`);
  };
  let recoveries = 0;
  for (const [d, dest] of sp.dests.entries()) {
    // C1 claims the first message and is stopped in its handler (alive), or dies there (dead).
    let resume!: () => void;
    const inHandler = new Promise<void>((r) => (resume = r));
    let claimed!: () => void;
    const hasClaim = new Promise<void>((r) => (claimed = r));
    let first = true;
    const c1Pass = consumePass(
      dest,
      async (m) => {
        if (first) {
          first = false;
          trace.push(`C1 (${s.case}) claims ${m.file} in D${d}${dead ? ' and dies' : ' and is paused'}`);
          claimed();
          await inHandler;
          if (dead) throw new Error('dead');
        }
        took(d, m.id, 'C1');
      },
      { who: consumerName(c1) },
    );
    await hasClaim;
    const released = await releaseStaleClaims(dest, probe, C2);
    recoveries++;
    trace.push(`C2 releases ${released} stale claim(s) in D${d}`);
    await consumePass(dest, async (m) => took(d, m.id, 'C2'), { who: consumerName(C2) });
    if (dead) {
      // A dead consumer does nothing more: its handler never returns, its claim is whatever C2 left.
      trace.push(`C1 is gone; ${listing(sim, s.dests)}`);
      void c1Pass.catch(() => undefined);
    } else {
      resume();
      await c1Pass;
    }
    // Later passes of C2 (a --watch consumer) take whatever is left.
    await releaseStaleClaims(dest, probe, C2);
    await consumePass(dest, async (m) => took(d, m.id, 'C2'), { who: consumerName(C2) });
  }
  trace.push(`end: ${listing(sim, s.dests)}`);
  const wrong = messages.flatMap((m) =>
    sp.dests
      .map((_, d) => [d, counts.get(`${d}:${m.id}`) ?? 0] as const)
      .filter(([, n]) => n !== 1)
      .map(([d, n]) => `${m.id} consumed ${n} times from /D${d}`),
  );
  const leftovers = sp.dests.flatMap((_, d) =>
    sim
      .list(`/D${d}`)
      .filter((n) => n !== '.fanout-spool')
      .map((n) => `/D${d}/${n}`),
  );
  const bad = wrong.length
    ? `duplicate or loss: ${wrong.join(', ')}`
    : leftovers.length
      ? `left behind: ${leftovers.join(' ')}`
      : undefined;
  const violations: FamilyViolation[] = [];
  if (bad) {
    const v: FamilyViolation = {
      scenario: name,
      invariant: bad,
      setting: `C1 ${JSON.stringify(c1)}; C2 ${JSON.stringify(C2)}`,
      trace,
    };
    violations.push(v);
    onViolation(v);
  }
  return { name, runs: 1, states: 0, recoveries, violations };
}

/** The old rule, for the test that shows the family catches it. */
export function withOldProbe(s: OwnerProbeScenario): OwnerProbeScenario {
  return { ...s, probe: 'pid-only' };
}
