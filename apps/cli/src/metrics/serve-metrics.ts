/**
 * What `--metrics` loads, in one dynamically imported module: prom-client and
 * the HTTP server stay out of the start-up of every command that does not ask
 * for them.
 */
import { FanoutMetrics } from './fanout-metrics.js';
import { parseListenAddress } from './listen-address.js';
import { type HealthSource, type MetricsServer, startMetricsServer } from './metrics-server.js';

/** A registry with fanout's metrics and the process metrics. */
export function newMetrics(): FanoutMetrics {
  return new FanoutMetrics();
}

/**
 * Serve `metrics` and `health` on `--metrics <host:port>`.
 * @throws `EUSAGE` for an address that does not parse or cannot be listened on.
 */
export function serveMetrics(address: string, metrics: FanoutMetrics, health: HealthSource): Promise<MetricsServer> {
  return startMetricsServer(parseListenAddress(address), metrics, health);
}
