import { FanoutError } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import { describeTransition, RouteHealth, type RouteState, type RouteTransition } from './route-health.js';

function recorder() {
  const transitions: RouteTransition[] = [];
  const states: RouteState[] = [];
  return {
    transitions,
    states,
    sink: {
      transition: (t: RouteTransition) => transitions.push(t),
      state: (_r: string, s: RouteState) => states.push(s),
    },
  };
}

describe('RouteHealth', () => {
  it('reports one route-down per outage and one route-up when it is over, not one per retry', () => {
    let t = 1000;
    const r = recorder();
    const h = new RouteHealth('main', r.sink, () => t);
    h.up();
    const err = new FanoutError('EUNAVAILABLE', 'server away', { spool: 'webdav+http://h/A' });
    h.down(err, 500);
    t += 1000;
    h.down(err, 1000);
    h.down(new FanoutError('EIO', 'other'), 2000);
    t += 14_000;
    h.up();
    h.up();
    expect(r.transitions).toEqual([
      {
        type: 'route-down',
        route: 'main',
        spool: 'webdav+http://h/A',
        file: undefined,
        code: 'EUNAVAILABLE',
        message: 'server away',
        retryInMs: 500,
      },
      { type: 'route-up', route: 'main', spool: 'webdav+http://h/A', code: 'EUNAVAILABLE', downMs: 15_000, retries: 2 },
    ]);
    expect(r.states).toEqual(['starting', 'up', 'down', 'up']);
  });

  it('says nothing when a route starts up fine, and reports a route that starts down', () => {
    const r = recorder();
    const fine = new RouteHealth('a', r.sink);
    fine.up();
    expect(r.transitions).toEqual([]);
    const downAtStart = new RouteHealth('b', r.sink);
    downAtStart.down(new FanoutError('ENOSPC', 'full', { spool: '/B' }), 500);
    expect(downAtStart.state).toBe('down');
    expect(r.transitions.map((x) => x.type)).toEqual(['route-down']);
  });

  it('describes a transition in one line naming the spool and code', () => {
    expect(
      describeTransition(
        {
          type: 'route-down',
          route: 'r',
          spool: '/B',
          file: 'w1.2',
          code: 'ENOSPC',
          message: 'write failed',
          retryInMs: 500,
        },
        'route r: ',
      ),
    ).toBe(
      'route r: down: /B: w1.2: write failed (ENOSPC); ' +
        'messages wait in the source, retrying with backoff (next in 500 ms)',
    );
    expect(
      describeTransition({ type: 'route-up', route: 'r', spool: '/B', code: 'ENOSPC', downMs: 15_300, retries: 1 }, ''),
    ).toBe('up again after 15.3 s (ENOSPC at /B; 1 retry)');
  });
});
