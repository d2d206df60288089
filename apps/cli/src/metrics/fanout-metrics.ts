/**
 * What `--metrics` exposes, on one prom-client registry: counters fed by the
 * core's events, route up/down gauges fed by the route supervisor, latency
 * histograms, and per-spool queue depth and oldest-message age, counted by
 * a streamed listing of each spool when Prometheus scrapes.
 */
import { type FanoutEvent, type SpoolBackend } from '@fanout/core';
import { parseProtocolName } from '@fanout/core/internal';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RouteState } from '../daemon/route-health.js';
import { ulidTimeMs } from './message-age.js';

/**
 * Messages are counted in three roles: `waiting` (`s<id>`, to fan out), `delivered` (`d<id>`, for consumers), `held`
 * (`h<id>.s`/`h<id>.d`, until released).
 */
type QueueKind = 'waiting' | 'delivered' | 'held';
const QUEUE_KINDS: readonly QueueKind[] = ['waiting', 'delivered', 'held'];

/** How long a scrape waits for one spool's listing before it leaves that spool's queue gauges out. */
export const SPOOL_SCAN_TIMEOUT_MS = 5000;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Scan {
  readonly counts: Record<QueueKind, number>;
  readonly oldestMs: Partial<Record<QueueKind, number>>;
}

/** The metrics of one `fanout` process. */
export class FanoutMetrics {
  readonly registry = new Registry();
  /** The backends open on each watched location (several routes may share one spool); the newest is listed. */
  private readonly spools = new Map<string, SpoolBackend[]>();
  private scanning: Promise<Map<string, Scan>> | undefined;

  private readonly fannedOut = new Counter({
    name: 'fanout_messages_fanned_out_total',
    help: 'Messages delivered to every destination of their route and removed from the source.',
    labelNames: ['route'],
    registers: [this.registry],
  });
  private readonly failed = new Counter({
    name: 'fanout_messages_failed_total',
    help: 'Failed attempts of messages (they stay in the source), by error code.',
    labelNames: ['route', 'code'],
    registers: [this.registry],
  });
  private readonly attempts = new Counter({
    name: 'fanout_message_attempts_total',
    help: 'Messages taken into an attempt (a transaction), committed or not.',
    labelNames: ['route'],
    registers: [this.registry],
  });
  private readonly bytes = new Counter({
    name: 'fanout_bytes_written_total',
    help: 'Bytes written to destinations by committed messages.',
    labelNames: ['route'],
    registers: [this.registry],
  });
  private readonly consumed = new Counter({
    name: 'fanout_messages_consumed_total',
    help: 'Messages handed to the consumer command and deleted.',
    labelNames: ['spool'],
    registers: [this.registry],
  });
  private readonly consumeFailed = new Counter({
    name: 'fanout_consume_failures_total',
    help: 'Messages whose consumer command failed (released for a later attempt).',
    labelNames: ['spool'],
    registers: [this.registry],
  });
  private readonly transactions = new Histogram({
    name: 'fanout_transaction_duration_seconds',
    help: 'Duration of one attempt over a batch, from its record to its end.',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly fsyncs = new Histogram({
    name: 'fanout_fsync_duration_seconds',
    help: 'Duration of one directory sync of a spool (what makes creates, commits and publishes durable).',
    labelNames: ['spool'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly routeUp = new Gauge({
    name: 'fanout_route_up',
    help: '1 while the route runs (or starts), 0 while it is down on an outage.',
    labelNames: ['route'],
    registers: [this.registry],
  });
  private readonly outages = new Counter({
    name: 'fanout_route_outages_total',
    help: 'Times the route went down.',
    labelNames: ['route'],
    registers: [this.registry],
  });
  private readonly depth: Gauge<'spool' | 'kind'>;
  private readonly oldest: Gauge<'spool' | 'kind'>;

  constructor(options: { readonly processMetrics?: boolean; readonly now?: () => number } = {}) {
    const now = options.now ?? Date.now;
    const self = this;
    this.depth = new Gauge({
      name: 'fanout_queue_messages',
      help:
        'Messages in a spool: kind="waiting" to be fanned out (s<id>), ' +
        'kind="delivered" for consumers (d<id>), kind="held" until released (h<id>.s, h<id>.d).',
      labelNames: ['spool', 'kind'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [spool, scan] of await self.scan())
          for (const kind of QUEUE_KINDS) this.set({ spool, kind }, scan.counts[kind]);
      },
    });
    this.oldest = new Gauge({
      name: 'fanout_oldest_message_age_seconds',
      help: 'Age of the oldest waiting message of a spool (absent when none waits).',
      labelNames: ['spool', 'kind'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const t = now();
        for (const [spool, scan] of await self.scan()) {
          for (const kind of QUEUE_KINDS) {
            const ms = scan.oldestMs[kind];
            if (ms !== undefined) this.set({ spool, kind }, Math.max(0, (t - ms) / 1000));
          }
        }
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Count this spool's queue at every scrape (a source, a destination, a consumed spool). */
  watchSpool(spool: SpoolBackend): void {
    this.spools.set(spool.location, [...(this.spools.get(spool.location) ?? []), spool]);
  }

  /**
   * Stop listing this backend (its route stopped and closes it); its location stays counted while another route has it
   * open.
   */
  unwatchSpool(spool: SpoolBackend): void {
    const left = (this.spools.get(spool.location) ?? []).filter((b) => b !== spool);
    if (left.length > 0) this.spools.set(spool.location, left);
    else this.spools.delete(spool.location);
  }

  /** Feed one event of the core (of route `route`, or of a consumer of spool `event.spool`). */
  observe(route: string, event: FanoutEvent): void {
    switch (event.type) {
      case 'message-started':
        this.attempts.inc({ route });
        break;
      case 'message-committed':
        this.fannedOut.inc({ route });
        this.bytes.inc({ route }, event.bytes);
        break;
      case 'message-failed':
        this.failed.inc({ route, code: event.error.code });
        break;
      case 'transaction-finished':
        this.transactions.observe({ route }, event.durationMs / 1000);
        break;
      case 'consumed':
        this.consumed.inc({ spool: event.spool });
        break;
      case 'consume-failed':
        this.consumeFailed.inc({ spool: event.spool });
        break;
      default:
        break;
    }
  }

  /** A route's state changed (see `RouteHealth`). */
  routeState(route: string, state: RouteState): void {
    this.routeUp.set({ route }, state === 'down' ? 0 : 1);
    if (state === 'down') this.outages.inc({ route });
  }

  /** A route is gone (removed by a reload): its gauge goes with it. */
  forgetRoute(route: string): void {
    this.routeUp.remove({ route });
  }

  /** One directory sync of `spool` took `ms`. */
  observeSync(spool: string, ms: number): void {
    this.fsyncs.observe({ spool }, ms / 1000);
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /** One listing per spool per scrape, shared by the depth and age gauges (prom-client collects them at once). */
  private scan(): Promise<Map<string, Scan>> {
    this.scanning ??= (async () => {
      const out = new Map<string, Scan>();
      await Promise.all(
        [...this.spools].map(async ([location, backends]) => {
          const spool = backends.at(-1)!;
          const scan = await withTimeout(scanSpool(spool), SPOOL_SCAN_TIMEOUT_MS).catch(() => undefined);
          if (scan !== undefined) out.set(location, scan);
        }),
      );
      return out;
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }
}

/** Count `s<id>` and `d<id>` of a spool and find the oldest of each, streaming its listing. */
async function scanSpool(spool: SpoolBackend): Promise<Scan> {
  const counts: Record<QueueKind, number> = { waiting: 0, delivered: 0, held: 0 };
  const oldestMs: Partial<Record<QueueKind, number>> = {};
  for await (const entry of spool.list()) {
    if (entry.kind !== 'file') continue;
    const parsed = parseProtocolName(entry.name);
    if (parsed.kind !== 'source' && parsed.kind !== 'delivered' && parsed.kind !== 'held') continue;
    const kind: QueueKind = parsed.kind === 'source' ? 'waiting' : parsed.kind === 'delivered' ? 'delivered' : 'held';
    counts[kind]++;
    // An id that is no ULID (named by hand) costs a stat; fanout's own ids carry their time.
    const ms = ulidTimeMs(parsed.id) ?? (await spool.stat(entry.name).catch(() => undefined))?.mtimeMs;
    if (ms !== undefined && (oldestMs[kind] === undefined || ms < oldestMs[kind]!)) oldestMs[kind] = ms;
  }
  return { counts, oldestMs };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
