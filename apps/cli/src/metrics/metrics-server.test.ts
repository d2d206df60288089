import { describe, expect, it } from 'vitest';
import type { RouteState } from '../daemon/route-health.js';
import { FanoutMetrics } from './fanout-metrics.js';
import { parseListenAddress } from './listen-address.js';
import { startMetricsServer } from './metrics-server.js';

describe('parseListenAddress', () => {
  it('reads host:port, [v6]:port and :port', () => {
    expect(parseListenAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListenAddress(':9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListenAddress('localhost:80')).toEqual({ host: 'localhost', port: 80 });
  });

  it.each(['9464', 'host', 'host:', 'host:70000', 'a:b:1'])('refuses %j with EUSAGE', (text) => {
    expect(() => parseListenAddress(text)).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
  });
});

describe('startMetricsServer', () => {
  it('serves /metrics as Prometheus text and /healthz as 200 while no route is down, 503 while one is', async () => {
    const metrics = new FanoutMetrics({ processMetrics: false });
    metrics.routeState('main', 'up');
    const states = new Map<string, RouteState>([['main', 'up']]);
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, metrics, () => states);
    try {
      const m = await fetch(`${server.url}/metrics`);
      expect(m.status).toBe(200);
      expect(m.headers.get('content-type')).toContain('text/plain');
      expect(await m.text()).toContain('fanout_route_up{route="main"} 1');
      let h = await fetch(`${server.url}/healthz`);
      expect(h.status).toBe(200);
      expect(await h.json()).toEqual({ status: 'ok', routes: { main: 'up' } });
      states.set('main', 'down');
      h = await fetch(`${server.url}/healthz`);
      expect(h.status).toBe(503);
      expect(await h.json()).toEqual({ status: 'degraded', routes: { main: 'down' } });
      expect((await fetch(`${server.url}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('refuses an address it cannot listen on with EUSAGE naming it', async () => {
    const metrics = new FanoutMetrics({ processMetrics: false });
    const first = await startMetricsServer({ host: '127.0.0.1', port: 0 }, metrics, () => new Map());
    try {
      const port = Number(new URL(first.url).port);
      await expect(startMetricsServer({ host: '127.0.0.1', port }, metrics, () => new Map())).rejects.toMatchObject({
        code: 'EUSAGE',
        message: expect.stringContaining(`127.0.0.1:${port}: EADDRINUSE`),
      });
    } finally {
      await first.close();
    }
  });
});
