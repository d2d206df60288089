/**
 * The invariants of docs/DESIGN.md §4, checked by reading a simulated machine's
 * spools directly (never through the code under test).
 */
import type { CrashSimulator } from '@fanout/crashfs';
import { destPath, SOURCE } from './world.js';

/** A message of a scenario and what each destination must end up holding. */
export interface ExpectedMessage {
  readonly id: string;
  readonly content: Uint8Array;
  /** The exact bytes destination `d` must hold as `d<id>`. */
  readonly expected: (dest: number) => Uint8Array;
}

const IDENTITY = '.fanout-spool';

function equal(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.byteLength === b.byteLength && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * The name under which message `id` is still uncommitted in the source, if
 * any: waiting (`s<id>`), taken by an attempt (`p<id>.<tx>`) or being backed
 * out (`b<id>.<tx>`). Read from the simulated disk, never through the code
 * under test.
 */
export function uncommittedName(sourceNames: readonly string[], id: string): string | undefined {
  // A commit k<id>.<tx> decides, even beside a twin p<id>.<tx> that a crash kept (recovery rolls it forward).
  if (sourceNames.some((n) => n.startsWith(`k${id}.`))) return undefined;
  return sourceNames.find((n) => n === `s${id}` || n.startsWith(`p${id}.`) || n.startsWith(`b${id}.`));
}

/**
 * Before recovery (a consumer may be looking right after the reboot):
 * staged — a `d<id>` exists only if `s<id>` is gone, and is complete
 * (invariant 3); seed — an unlocked `d<id>` (no `l<id>` beside it) likewise.
 */
export function checkVisibleCopies(
  sim: CrashSimulator,
  dests: number,
  messages: readonly ExpectedMessage[],
  protocol: 'staged' | 'seed',
): string | undefined {
  const source = sim.list(SOURCE);
  for (let d = 0; d < dests; d++) {
    const names = new Set(sim.list(destPath(d)));
    for (const m of messages) {
      if (!names.has(`d${m.id}`)) continue;
      if (protocol === 'seed' && names.has(`l${m.id}`)) continue;
      const held = uncommittedName(source, m.id);
      if (held) return `uncommitted copy visible: ${destPath(d)}/d${m.id} exists while ${SOURCE}/${held} does`;
      if (!equal(sim.readFile(`${destPath(d)}/d${m.id}`), m.expected(d)))
        return `visible copy ${destPath(d)}/d${m.id} is incomplete or wrong`;
    }
  }
  return undefined;
}

/**
 * After a complete recovery: every message is either in S (intact, and in no
 * destination) or in every destination exactly once with the exact expected
 * bytes (invariants 1, 2); no protocol leftovers remain; nothing else exists.
 * Returns the number of messages still in S, or a violation.
 */
export function checkRecovered(
  sim: CrashSimulator,
  dests: number,
  messages: readonly ExpectedMessage[],
): { inSource: number } | string {
  const source = sim.list(SOURCE).filter((n) => n !== IDENTITY);
  const known = new Set(messages.map((m) => `s${m.id}`));
  const strayS = source.filter((n) => !known.has(n));
  if (strayS.length) return `leftovers in ${SOURCE}: ${strayS.join(' ')}`;
  const destNames: Set<string>[] = [];
  for (let d = 0; d < dests; d++) {
    const names = sim.list(destPath(d)).filter((n) => n !== IDENTITY);
    const stray = names.filter((n) => !messages.some((m) => n === `d${m.id}`));
    if (stray.length) return `leftovers in ${destPath(d)}: ${stray.join(' ')}`;
    destNames.push(new Set(names));
  }
  let inSource = 0;
  const inS = new Set(source);
  for (const m of messages) {
    const delivered = destNames.map((names) => names.has(`d${m.id}`));
    if (inS.has(`s${m.id}`)) {
      if (!equal(sim.readFile(`${SOURCE}/s${m.id}`), m.content)) return `${SOURCE}/s${m.id} was damaged`;
      const d = delivered.indexOf(true);
      if (d >= 0) return `duplicate: ${m.id} is in ${SOURCE} and delivered to ${destPath(d)}`;
      inSource++;
      continue;
    }
    for (let d = 0; d < dests; d++) {
      if (!delivered[d]) return `lost: ${m.id} is neither in ${SOURCE} nor in ${destPath(d)}`;
      if (!equal(sim.readFile(`${destPath(d)}/d${m.id}`), m.expected(d)))
        return `${destPath(d)}/d${m.id} has wrong or partial content`;
    }
  }
  return { inSource };
}
