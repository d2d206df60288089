/**
 * Measuring how much memory stays alive while a big file streams, for the
 * "bounded memory" invariant (docs/DESIGN.md §4, invariant 8). Garbage would blur the picture,
 * so the probe collects it first when it can: `gc` is exposed through the V8
 * flag at run time (the trick jest's leak detector uses), without requiring
 * `node --expose-gc`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let cachedGc: (() => void) | null | undefined;

/** A function that forces a full garbage collection, or undefined if this runtime refuses. */
export function obtainGc(): (() => void) | undefined {
  if (cachedGc !== undefined) return cachedGc ?? undefined;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    cachedGc = exposed as () => void;
    return cachedGc;
  }
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    cachedGc = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    cachedGc = null;
  }
  return cachedGc ?? undefined;
}

/** Bytes alive in JS objects and in buffers outside the JS heap. */
function liveBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Samples live memory (after a collection when possible) and remembers the worst excess over an allowance. */
export class MemoryProbe {
  private readonly gc = obtainGc();
  private base = 0;
  /** The largest `growth - allowed` seen since {@link MemoryProbe.reset}, with what was allowed then. */
  worst = { excess: Number.NEGATIVE_INFINITY, growth: 0, allowed: 0 };

  /** True when samples are taken after a full collection (precise); false means garbage counts too. */
  get precise(): boolean {
    return this.gc !== undefined;
  }

  /**
   * Collect garbage. Twice: V8 frees buffer memory in a sweep that finishes at
   * the start of the next collection, so one collection alone still counts the
   * buffers it found dead.
   */
  private collect(): void {
    this.gc?.();
    this.gc?.();
  }

  /** Start measuring growth from the current live memory. */
  async reset(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.collect();
    this.base = liveBytes();
    this.worst = { excess: Number.NEGATIVE_INFINITY, growth: 0, allowed: 0 };
  }

  /** Take a sample; `allowed` is how much growth over the baseline is acceptable at this moment. */
  async sample(allowed: number): Promise<void> {
    this.collect();
    let growth = liveBytes() - this.base;
    if (growth > allowed) {
      // Give late frees one more chance before calling it an excess: only memory still alive counts.
      await new Promise((resolve) => setTimeout(resolve, 0));
      this.collect();
      growth = Math.min(growth, liveBytes() - this.base);
    }
    if (growth - allowed > this.worst.excess) this.worst = { excess: growth - allowed, growth, allowed };
  }
}
