import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { fanOut, recover, type ProtocolName } from '@fanout/core';
import { checkInvariants, memoryWorld, posixWorld, StopAfter, stopAfter, type PosixWorld } from './harness.js';

/** Count the operations a complete run takes, so every crash point can be visited. */
type MakeWorld = (dests: number, messages: number) => Promise<PosixWorld>;

async function opsOfCleanRun(
  makeWorld: MakeWorld,
  protocol: ProtocolName,
  dests: number,
  messages: number,
  batchSize: number,
): Promise<number> {
  const w = await makeWorld(dests, messages);
  try {
    const hooks = stopAfter(Number.MAX_SAFE_INTEGER);
    await fanOut({
      source: w.source,
      destinations: w.dests.map((spool) => ({ spool })),
      protocol,
      batchSize,
      hooks,
      recoverFirst: false,
    });
    return hooks.count;
  } finally {
    w.dispose();
  }
}

const shapes: { protocol: ProtocolName; dests: number; messages: number; batch: number }[] = [
  { protocol: 'staged', dests: 1, messages: 1, batch: 1 },
  { protocol: 'staged', dests: 3, messages: 1, batch: 1 },
  { protocol: 'staged', dests: 2, messages: 3, batch: 3 },
  { protocol: 'seed', dests: 1, messages: 1, batch: 1 },
  { protocol: 'seed', dests: 3, messages: 1, batch: 1 },
  { protocol: 'seed', dests: 2, messages: 3, batch: 3 },
];

// A simulated crash stops the process, it does not drop unsynced data (the crash checker does that): what is
// visited here is every stop point, which tmpfs shows as a disk does, without a disk's fsync latency per world.
const memoryDisk = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const worlds: { backend: string; makeWorld: MakeWorld }[] = [
  { backend: 'fs-posix', makeWorld: (dests, messages) => posixWorld(dests, messages, undefined, memoryDisk) },
  { backend: 'fs-memory', makeWorld: memoryWorld },
];
const matrix = worlds.flatMap((w) => shapes.map((s) => ({ ...w, ...s })));

/** A world whose fan-out crashed after `k` operations (or ran to its end, `k` = the clean run's count). */
async function crashedAfter(
  makeWorld: MakeWorld,
  protocol: ProtocolName,
  dests: number,
  messages: number,
  batch: number,
  k: number,
  total: number,
): Promise<PosixWorld> {
  const w = await makeWorld(dests, messages);
  const run = fanOut({
    source: w.source,
    destinations: w.dests.map((spool) => ({ spool })),
    protocol,
    batchSize: batch,
    hooks: stopAfter(k),
    recoverFirst: false,
  });
  if (k < total) await expect(run).rejects.toBeInstanceOf(StopAfter);
  else await run;
  return w;
}

/**
 * After recovery completes: nothing left to recover, every message waiting or delivered, and the next run delivers the
 * rest once.
 */
async function recoverFullyAndFinish(
  w: PosixWorld,
  protocol: ProtocolName,
  dests: number,
  messages: number,
  batch: number,
): Promise<void> {
  await recover({ spool: w.source, open: w.open, ownerProbe: async () => 'dead' });
  const second = await recover({ spool: w.source, open: w.open, ownerProbe: async () => 'dead' });
  expect(second.rolledBack + second.rolledForward + second.refused.length).toBe(0);
  const after = checkInvariants(w, dests);
  expect(after.inSource + after.delivered).toBe(messages);
  // Whatever was rolled back is fanned out by the next run: nothing lost, nothing twice.
  await fanOut({ source: w.source, destinations: w.dests.map((spool) => ({ spool })), protocol, batchSize: batch });
  expect(checkInvariants(w, dests)).toEqual({ inSource: 0, delivered: messages });
}

describe.each(matrix)(
  'on $backend, a $protocol fan-out to $dests destination(s), $messages message(s) in batches of $batch',
  ({ makeWorld, protocol, dests, messages, batch }) => {
    it('survives a process crash after every operation, and a crash of the recovery after every one of its operations', async () => {
      const total = await opsOfCleanRun(makeWorld, protocol, dests, messages, batch);
      expect(total).toBeGreaterThan(5);
      let recoveriesCrashed = 0;
      for (let k = 0; k <= total; k++) {
        // Crash the recovery of each fan-out crash state after j operations, for every j, each on its own copy of
        // that state, then recover fully. (Crashing the same spool's recoveries one after another, with j growing,
        // never ends: each crashed recovery leaves its claim, and the next one reads one claim more first.)
        for (let j = 0; ; j++) {
          const w = await crashedAfter(makeWorld, protocol, dests, messages, batch, k, total);
          try {
            const hooks = stopAfter(j);
            try {
              await recover({ spool: w.source, open: w.open, ownerProbe: async () => 'dead', hooks });
            } catch (err) {
              expect(err).toBeInstanceOf(StopAfter);
              recoveriesCrashed++;
              checkInvariantsAllowingInFlight(w, dests);
              await recoverFullyAndFinish(w, protocol, dests, messages, batch);
              continue;
            }
            // The recovery ran to its end within j operations: every crash point of it has been visited.
            await recoverFullyAndFinish(w, protocol, dests, messages, batch);
            break;
          } finally {
            w.dispose();
          }
        }
      }
      expect(recoveriesCrashed).toBeGreaterThan(0);
    });
  },
);

/** Mid-recovery the spools may hold protocol files, but never a lost or duplicated message. */
function checkInvariantsAllowingInFlight(w: PosixWorld, dests: number): void {
  // The full invariants hold only after recovery completes; here we only require that no message vanished.
  for (const id of w.messages.keys()) {
    // Waiting (s), or held uncommitted by an attempt (p, b): still in the source.
    const s = w.list('S').some((n) => n === `s${id}` || n.startsWith(`p${id}.`) || n.startsWith(`b${id}.`));
    const copies = Array.from({ length: dests }, (_, d) =>
      w.list(`D${d}`).some((n) => n === `d${id}` || n.startsWith(`w${id}.`)),
    );
    if (!s && !copies.every(Boolean)) throw new Error(`message ${id} lost during recovery`);
  }
}
