/**
 * Observability (issue 16, item 4): `--metrics <host:port>` on `run --watch`
 * and `consume --watch` serves Prometheus text at `/metrics` and health at
 * `/healthz`; `--json` lines carry `ts` and `level`, fatal errors too.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fanout, jsonEvent, lines, tempDir } from './cli-harness.js';
import { startFanout, waitFor } from './daemon-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** The value of one series in an exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The base URL the process printed once listening. */
function metricsUrl(stderr: string): string | undefined {
  return /metrics at (http:\/\/[^ ]+)\/metrics/.exec(stderr)?.[1];
}

describe('--metrics', () => {
  it('serves queue depth, counters, latency histograms and route state while run --watch works, and /healthz', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const slow = join(dir, 'slow.mjs');
    await writeFile(
      slow,
      "import { Transform } from 'node:stream';\n" +
        'export default () => new Transform({ transform(c, _e, cb) { setTimeout(() => cb(null, c), 300); } });\n',
    );
    for (let i = 0; i < 5; i++) await fanout(['enqueue', 'S'], { cwd: dir, input: `m${i}` });
    const daemon = startFanout(
      [
        'run',
        '--from',
        'S',
        '--to',
        'A',
        '--transform',
        slow,
        '--batch',
        '1',
        '--concurrency',
        '1',
        '--watch',
        '--interval',
        '100',
        '--metrics',
        '127.0.0.1:0',
      ],
      { cwd: dir },
    );
    try {
      await waitFor('the metrics server', () => metricsUrl(daemon.stderr()) !== undefined);
      const base = metricsUrl(daemon.stderr())!;
      const S = join(dir, 'S');
      const A = join(dir, 'A');

      // Scraped in the middle of the run: some messages still wait.
      const during = await (await fetch(`${base}/metrics`)).text();
      expect(sample(during, `fanout_queue_messages{spool="${S}",kind="waiting"}`)).toBeGreaterThan(0);
      expect(sample(during, `fanout_oldest_message_age_seconds{spool="${S}",kind="waiting"}`)).toBeGreaterThanOrEqual(
        0,
      );
      expect(sample(during, 'fanout_route_up{route="default"}')).toBe(1);

      await waitFor(
        'every message fanned out',
        async () =>
          sample(await (await fetch(`${base}/metrics`)).text(), 'fanout_messages_fanned_out_total{route="default"}') ===
          5,
      );
      const after = await (await fetch(`${base}/metrics`)).text();
      expect(sample(after, `fanout_queue_messages{spool="${S}",kind="waiting"}`)).toBe(0);
      expect(sample(after, `fanout_queue_messages{spool="${A}",kind="delivered"}`)).toBe(5);
      expect(sample(after, 'fanout_message_attempts_total{route="default"}')).toBe(5);
      expect(sample(after, 'fanout_bytes_written_total{route="default"}')).toBe(10);
      expect(sample(after, 'fanout_transaction_duration_seconds_count{route="default"}')).toBe(5);
      expect(sample(after, `fanout_fsync_duration_seconds_count{spool="${A}"}`)).toBeGreaterThanOrEqual(5);
      expect(after).toContain('# TYPE fanout_transaction_duration_seconds histogram');
      expect(after).toContain('process_open_fds');

      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', routes: { default: 'up' } });
      const r = await daemon.stop();
      expect(r.status).toBe(0);
    } finally {
      await daemon.stop('SIGKILL');
    }
  });

  it('serves consume --watch counters too, and /healthz says 503 while its spool is down', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    await fanout(['enqueue', 'S'], { cwd: dir, input: 'one' });
    await fanout(['run', '--from', 'S', '--to', 'A'], { cwd: dir });
    const consumer = startFanout(
      [
        'consume',
        'A',
        '--watch',
        '--interval',
        '100',
        '--max-backoff',
        '300',
        '--exec',
        'cat > /dev/null',
        '--metrics',
        '127.0.0.1:0',
      ],
      { cwd: dir },
    );
    try {
      await waitFor('the metrics server', () => metricsUrl(consumer.stderr()) !== undefined);
      const base = metricsUrl(consumer.stderr())!;
      await waitFor(
        'the message consumed',
        async () =>
          sample(
            await (await fetch(`${base}/metrics`)).text(),
            `fanout_messages_consumed_total{spool="${join(dir, 'A')}"}`,
          ) === 1,
      );
      const { rename } = await import('node:fs/promises');
      await rename(join(dir, 'A'), join(dir, 'A.away'));
      await waitFor('the spool down', async () => (await fetch(`${base}/healthz`)).status === 503);
      await rename(join(dir, 'A.away'), join(dir, 'A'));
      await waitFor('the spool up again', async () => (await fetch(`${base}/healthz`)).status === 200);
      expect((await consumer.stop()).status).toBe(0);
    } finally {
      await consumer.stop('SIGKILL');
    }
  });

  it('needs --watch, and a host:port (exit 2)', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const a = await fanout(['run', '--from', 'S', '--to', 'A', '--metrics', '127.0.0.1:0'], { cwd: dir });
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--metrics needs --watch.*\(EUSAGE\)/);
    const b = await fanout(['run', '--from', 'S', '--to', 'A', '--watch', '--metrics', 'nowhere'], { cwd: dir });
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('--metrics wants <host>:<port>');
  });
});

describe('--json lines', () => {
  it('carry ts and level, and a fatal error is a JSON line too', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    await fanout(['enqueue', 'S'], { cwd: dir, input: 'x' });
    const ok = await fanout(['run', '--from', 'S', '--to', 'A', '--json'], { cwd: dir });
    for (const l of lines(ok.stdout)) expect(jsonEvent(l)).toHaveProperty('type');
    expect(JSON.parse(lines(ok.stdout)[0]!)).toMatchObject({ level: 'debug', type: 'message-started' });

    const bad = await fanout(['run', '--from', 'S', '--to', 'missing', '--json'], { cwd: dir });
    expect(bad.status).toBe(2);
    const out = lines(bad.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toContainEqual(
      expect.objectContaining({ level: 'fatal', type: 'error', error: expect.objectContaining({ code: 'ENOTSPOOL' }) }),
    );
    expect(typeof out[0]!.ts).toBe('string');
  });
});
