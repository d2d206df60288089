import { FanoutError, newId } from '@fanout/core';
import { createMemorySpools } from '@fanout/fs-memory';
import { describe, expect, it } from 'vitest';
import { FanoutMetrics } from './fanout-metrics.js';

/** The value of one sample line of the exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('FanoutMetrics', () => {
  it('counts fanned-out, failed and attempted messages, bytes, and transaction latency per route', async () => {
    const m = new FanoutMetrics({ processMetrics: false });
    m.observe('main', { type: 'message-started', id: 'a', tx: 't' });
    m.observe('main', { type: 'message-started', id: 'b', tx: 't' });
    m.observe('main', { type: 'message-committed', id: 'a', tx: 't', bytes: 10 });
    m.observe('main', { type: 'message-failed', id: 'b', error: new FanoutError('ENOSPC', 'full'), committed: false });
    m.observe('main', { type: 'transaction-finished', tx: 't', messages: 2, committed: 1, durationMs: 30 });
    m.observeSync('/A', 4);
    const text = await m.text();
    expect(sample(text, 'fanout_messages_fanned_out_total{route="main"}')).toBe(1);
    expect(sample(text, 'fanout_messages_failed_total{route="main",code="ENOSPC"}')).toBe(1);
    expect(sample(text, 'fanout_message_attempts_total{route="main"}')).toBe(2);
    expect(sample(text, 'fanout_bytes_written_total{route="main"}')).toBe(10);
    expect(sample(text, 'fanout_transaction_duration_seconds_count{route="main"}')).toBe(1);
    expect(sample(text, 'fanout_transaction_duration_seconds_bucket{le="0.05",route="main"}')).toBe(1);
    expect(sample(text, 'fanout_fsync_duration_seconds_count{spool="/A"}')).toBe(1);
  });

  it('shows each route up or down, and counts outages', async () => {
    const m = new FanoutMetrics({ processMetrics: false });
    m.routeState('a', 'starting');
    m.routeState('b', 'up');
    m.routeState('b', 'down');
    const text = await m.text();
    expect(sample(text, 'fanout_route_up{route="a"}')).toBe(1);
    expect(sample(text, 'fanout_route_up{route="b"}')).toBe(0);
    expect(sample(text, 'fanout_route_outages_total{route="b"}')).toBe(1);
  });

  it("counts waiting, delivered and held messages and the oldest one's age per spool at each scrape", async () => {
    const spools = createMemorySpools();
    const s = spools.open('memory://S');
    await s.ensureContainer();
    const now = 1_800_000_000_000;
    // Ids are monotonic in a process: made oldest first, so that each carries the time it is given.
    await s.createExclusive(`h${newId(now - 120_000)}.s`, new Uint8Array([1]));
    await s.createExclusive(`s${newId(now - 60_000)}`, new Uint8Array([1]));
    await s.createExclusive(`s${newId(now - 5_000)}`, new Uint8Array([1]));
    await s.createExclusive(`d${newId(now - 1_000)}`, new Uint8Array([1]));
    await s.createExclusive('m01TX', new Uint8Array([1]));
    const m = new FanoutMetrics({ processMetrics: false, now: () => now });
    m.watchSpool(s);
    let text = await m.text();
    expect(sample(text, 'fanout_queue_messages{spool="memory://S",kind="waiting"}')).toBe(2);
    expect(sample(text, 'fanout_queue_messages{spool="memory://S",kind="delivered"}')).toBe(1);
    expect(sample(text, 'fanout_oldest_message_age_seconds{spool="memory://S",kind="waiting"}')).toBe(60);
    expect(sample(text, 'fanout_oldest_message_age_seconds{spool="memory://S",kind="delivered"}')).toBe(1);
    expect(sample(text, 'fanout_queue_messages{spool="memory://S",kind="held"}')).toBe(1);
    expect(sample(text, 'fanout_oldest_message_age_seconds{spool="memory://S",kind="held"}')).toBe(120);
    await s.createExclusive(`s${newId(now)}`, new Uint8Array([1]));
    text = await m.text();
    expect(sample(text, 'fanout_queue_messages{spool="memory://S",kind="waiting"}')).toBe(3);
    m.unwatchSpool(s);
    expect(await m.text()).not.toContain('spool="memory://S"');
  });

  it('leaves out the queue of a spool it cannot list, and still answers', async () => {
    const m = new FanoutMetrics({ processMetrics: false });
    m.watchSpool(createMemorySpools().open('memory://absent'));
    const text = await m.text();
    expect(text).toContain('# TYPE fanout_queue_messages gauge');
    expect(text).not.toContain('spool="memory://absent"');
  });
});
