/**
 * A simulated machine holding a source spool `/S` and destinations `/D0…`,
 * with the real backend code running over the crash simulator's `fs`: posix
 * (link publish; also the code `@fanout/fs-memory`'s MemoryBackend runs over
 * memfs), nfs, and posix in rename-publish mode.
 */
import { enqueue, initSpool, type SpoolBackend, type SpoolOpener } from '@fanout/core';
import { CrashSimulator } from '@fanout/crashfs';
import { NfsBackend } from '@fanout/fs-nfs';
import { PosixBackend } from '@fanout/fs-posix';

/** Which backend code runs over the simulator. */
export type BackendKind = 'posix' | 'nfs' | 'posix-rename';

/** Spools bound to one simulated machine. */
export interface Spools {
  readonly source: SpoolBackend;
  readonly dests: SpoolBackend[];
  readonly open: SpoolOpener;
  /** A spool is named by its location, e.g. "/D1". */
  readonly byLocation: Map<string, SpoolBackend>;
}

export const SOURCE = '/S';
export const destPath = (i: number) => `/D${i}`;

function backend(kind: BackendKind, sim: CrashSimulator, root: string): SpoolBackend {
  switch (kind) {
    case 'posix':
      return new PosixBackend({ root, fs: sim.fs });
    case 'nfs':
      // Retries sleep for real by default; a simulation has nothing to wait for.
      // Its temps name this process (the core's tempName()): the probes of the checker judge them like any writer.
      return new NfsBackend({ root, fs: sim.fs, retry: { sleep: async () => undefined } });
    case 'posix-rename':
      // Publish by check-then-rename: the posix code path for filesystems without hard links (single publisher).
      return new PosixBackend({ root, fs: sim.fs, publishMode: 'rename' });
  }
}

/** Backends for the spools of `sim`, optionally wrapped (e.g. to drop a sync). */
export function spoolsOn(
  sim: CrashSimulator,
  kind: BackendKind,
  dests: number,
  wrap: (b: SpoolBackend) => SpoolBackend = (b) => b,
): Spools {
  const source = wrap(backend(kind, sim, SOURCE));
  const ds = Array.from({ length: dests }, (_, i) => wrap(backend(kind, sim, destPath(i))));
  const byLocation = new Map<string, SpoolBackend>([source, ...ds].map((b) => [b.location, b]));
  return {
    source,
    dests: ds,
    byLocation,
    open: async (location) => {
      const b = byLocation.get(location);
      if (!b) throw new Error(`no spool at ${location}`);
      return b;
    },
  };
}

/** A machine with initialised spools and `messages` enqueued, all durable, and an empty op log. */
export async function setUpMachine(
  kind: BackendKind,
  dests: number,
  messages: readonly { id: string; content: Uint8Array }[],
): Promise<CrashSimulator> {
  const sim = new CrashSimulator();
  for (const p of [SOURCE, ...Array.from({ length: dests }, (_, i) => destPath(i))]) sim.mkdirp(p);
  const spools = spoolsOn(sim, 'posix', dests);
  for (const b of [spools.source, ...spools.dests]) await initSpool(b);
  for (const m of messages) await enqueue(spools.source, m.content, { id: m.id });
  sim.checkpoint();
  return sim;
}

/** A copy of a crashed-and-rebooted machine (its log is empty, so it has exactly one state). */
export function cloneMachine(sim: CrashSimulator): CrashSimulator {
  for (const state of sim.crashStates()) return state.sim;
  throw new Error('unreachable: a machine always has a state');
}
