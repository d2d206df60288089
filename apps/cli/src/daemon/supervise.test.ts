import { FanoutError } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { RouteHealth, type RouteTransition } from './route-health.js';
import { type StepResult, supervise } from './supervise.js';
import { storageFaultOf } from './storage-fault.js';

/** Drive `supervise` through scripted steps; the last step aborts. */
async function drive(script: (() => StepResult)[], isFatal: (err: unknown, everUp: boolean) => boolean = () => false) {
  const controller = new AbortController();
  const transitions: RouteTransition[] = [];
  const waits: number[] = [];
  let i = 0;
  const done = supervise({
    health: new RouteHealth('r', { transition: (t) => transitions.push(t) }),
    backoff: new Backoff({ initialMs: 100, maxMs: 400, random: () => 0.999999 }),
    signal: controller.signal,
    step: async () => {
      const next = script[i++];
      if (next === undefined) {
        controller.abort();
        return { waitMs: 0 };
      }
      return next();
    },
    classify: async (err) => storageFaultOf(err),
    isFatal,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  return { done, transitions, waits, steps: () => i };
}

const unavailable = () => {
  throw new FanoutError('EUNAVAILABLE', 'server away', { spool: 'webdav+http://h/A' });
};

describe('supervise', () => {
  it('keeps a route going through an outage: backoff while down, the interval once up, one down and one up', async () => {
    const d = await drive([
      () => ({ waitMs: 50 }),
      unavailable,
      unavailable,
      unavailable,
      unavailable,
      () => ({ waitMs: 50 }),
      () => ({ waitMs: 50 }),
    ]);
    await d.done;
    expect(d.waits).toEqual([50, 100, 200, 400, 400, 50, 50]);
    expect(d.transitions.map((t) => t.type)).toEqual(['route-down', 'route-up']);
    expect(d.transitions[1]).toMatchObject({ code: 'EUNAVAILABLE', retries: 3 });
  });

  it('takes a pass whose every message failed on a full destination for an outage', async () => {
    const full = new FanoutError('ENOSPC', 'no space', { spool: '/B' });
    const d = await drive([
      () => ({ waitMs: 10, outage: full }),
      () => ({ waitMs: 10, outage: full }),
      () => ({ waitMs: 10 }),
    ]);
    await d.done;
    expect(d.waits).toEqual([100, 200, 10]);
    expect(d.transitions).toMatchObject([{ type: 'route-down', code: 'ENOSPC', spool: '/B' }, { type: 'route-up' }]);
  });

  it('ends on a fatal error (a mistake before the route ever ran) and rethrows it', async () => {
    const usage = new FanoutError('ENOTSPOOL', 'not a fanout spool', { spool: '/X' });
    const d = await drive(
      [
        () => {
          throw usage;
        },
      ],
      () => true,
    );
    await expect(d.done).rejects.toBe(usage);
  });

  it('retries an error that is no outage once the route has run, reporting it as down', async () => {
    const d = await drive(
      [
        () => ({ waitMs: 5 }),
        () => {
          throw new TypeError('a bug');
        },
        () => ({ waitMs: 5 }),
      ],
      (_err, everUp) => !everUp,
    );
    await d.done;
    expect(d.steps()).toBe(4);
    expect(d.transitions).toMatchObject([{ type: 'route-down', code: 'EIO', message: 'a bug' }, { type: 'route-up' }]);
  });
});
