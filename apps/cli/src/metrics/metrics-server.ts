/**
 * The HTTP server of `--metrics`: `GET /metrics` answers the Prometheus text
 * exposition, `GET /healthz` 200 while no route is down and 503 while one
 * is (with the state of each route as JSON), anything else 404.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FanoutError } from '@fanout/core';
import type { RouteState } from '../daemon/route-health.js';
import type { FanoutMetrics } from './fanout-metrics.js';
import type { ListenAddress } from './listen-address.js';

/** A listening metrics server. */
export interface MetricsServer {
  /** `http://host:port` it answers on (the real port when 0 was asked for). */
  readonly url: string;
  close(): Promise<void>;
}

/** What `/healthz` reports: each route's state. */
export type HealthSource = () => ReadonlyMap<string, RouteState>;

/**
 * Listen on `address` and serve `metrics` and `health`.
 * @throws `EUSAGE` when the address cannot be listened on (in use, not local), naming it.
 */
export async function startMetricsServer(
  address: ListenAddress,
  metrics: FanoutMetrics,
  health: HealthSource,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) =>
          res
            .writeHead(200, { 'content-type': metrics.registry.contentType })
            .end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) =>
          res
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(`${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    if (path === '/healthz') {
      const routes = Object.fromEntries(health());
      const down = Object.values(routes).some((s) => s === 'down');
      res
        .writeHead(down ? 503 : 200, { 'content-type': 'application/json' })
        .end(`${JSON.stringify({ status: down ? 'degraded' : 'ok', routes })}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  // A scraper that keeps its connection open must not hold the process up at exit.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new FanoutError(
          'EUSAGE',
          `--metrics: cannot listen on ${address.host}:${address.port}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      ),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
