import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { type RouteEnd, RouteSet } from './route-set.js';

/** A route task that records its life and ends when stopped, after `finishMs` (its transaction in hand). */
function harness(
  behaviour: (name: string, spec: string, run: number) => 'until-stopped' | 'return' | 'throw' | 'fatal' = () =>
    'until-stopped',
  finishMs = 0,
) {
  const log: string[] = [];
  const runs = new Map<string, number>();
  const unexpected: string[] = [];
  const set = new RouteSet<string, string>({
    async run(name, spec, signal, initial): Promise<RouteEnd<string>> {
      const n = (runs.get(name) ?? 0) + 1;
      runs.set(name, n);
      log.push(`start ${name}=${spec}${initial ? ' (initial)' : ''}`);
      const how = behaviour(name, spec, n);
      if (how === 'return') return { outcome: 'returned' };
      if (how === 'throw') throw new Error('boom');
      if (how === 'fatal') return { outcome: 'fatal', fatal: 2 };
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      await sleep(finishMs);
      log.push(`end ${name}=${spec}`);
      return { outcome: `${name} done` };
    },
    same: (a, b) => a === b,
    onUnexpectedEnd: (name, reason) =>
      unexpected.push(`${name}: ${reason instanceof Error ? reason.message : 'returned'}`),
    newBackoff: () => new Backoff({ initialMs: 1, maxMs: 2 }),
  });
  return { set, log, unexpected, runs };
}

describe('RouteSet', () => {
  it('starts every route, and on a reload stops removed and changed ones (after their work in hand) before starting the new ones', async () => {
    const h = harness(undefined, 20);
    await h.set.apply(
      new Map([
        ['a', '1'],
        ['b', '1'],
        ['c', '1'],
      ]),
    );
    const diff = await h.set.apply(
      new Map([
        ['a', '1'],
        ['b', '2'],
        ['d', '1'],
      ]),
    );
    expect(diff).toEqual({ added: ['d'], removed: ['c'], changed: ['b'], unchanged: ['a'] });
    expect(h.log.slice(0, 3)).toEqual(['start a=1 (initial)', 'start b=1 (initial)', 'start c=1 (initial)']);
    // The two stops run at once: either may end first, but both end before anything new starts.
    expect(h.log.slice(3, 5).sort()).toEqual(['end b=1', 'end c=1']);
    expect(h.log.slice(5)).toEqual(['start b=2', 'start d=1']);
    expect(h.set.names().sort()).toEqual(['a', 'b', 'd']);
    await h.set.stopAll();
    expect(h.set.stopped.map((s) => s.name).sort()).toEqual(['a', 'b', 'b', 'c', 'd']);
  });

  it('reports and restarts a route whose task ended without being stopped, whether it returned or threw', async () => {
    const h = harness((name, _spec, run) =>
      name === 'flaky' && run === 1 ? 'return' : name === 'flaky' && run === 2 ? 'throw' : 'until-stopped',
    );
    await h.set.apply(
      new Map([
        ['flaky', 'x'],
        ['steady', 'y'],
      ]),
    );
    for (let i = 0; i < 100 && (h.runs.get('flaky') ?? 0) < 3; i++) await sleep(5);
    expect(h.unexpected).toEqual(['flaky: returned', 'flaky: boom']);
    expect(h.runs.get('flaky')).toBe(3);
    expect(h.runs.get('steady')).toBe(1);
    await h.set.stopAll();
  });

  it('signals a fatal end so the command can stop and exit with its status', async () => {
    const h = harness((name) => (name === 'bad' ? 'fatal' : 'until-stopped'));
    await h.set.apply(
      new Map([
        ['bad', 'x'],
        ['good', 'y'],
      ]),
    );
    if (!h.set.fatalSignal.aborted)
      await new Promise((resolve) => h.set.fatalSignal.addEventListener('abort', resolve, { once: true }));
    expect(h.set.fatal).toBe(2);
    await h.set.stopAll();
    expect(h.unexpected).toEqual([]);
  });
});
