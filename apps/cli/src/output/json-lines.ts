/**
 * The envelope of every `--json` line: `ts` (ISO 8601, when it was printed)
 * and `level`, first, so that log shippers (journald, Loki, Vector) can sort
 * and filter fanout's lines without knowing each event's type.
 */

/** How serious a line is, as log collectors name it. */
export type JsonLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const LEVELS: Readonly<Record<string, JsonLevel>> = {
  'message-started': 'debug',
  'transaction-finished': 'debug',
  'temp-removed': 'debug',
  'message-skipped': 'info',
  'marker-in-flight': 'info',
  'marker-awaiting-owner': 'info',
  'unknown-entry': 'warn',
  'message-failed': 'error',
  'consume-failed': 'error',
  'recovery-failed': 'error',
  quarantined: 'error',
  'route-down': 'error',
  'route-restarted': 'error',
  'reload-failed': 'error',
  error: 'error',
};

/** The level of a line by its `type` (`info` for anything not listed: commits, summaries, route-up…). */
export function levelOf(value: unknown): JsonLevel {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  return (typeof type === 'string' ? LEVELS[type] : undefined) ?? 'info';
}

/** `value` with `ts` and `level` in front (a `level` already in `value` wins). */
export function withEnvelope(value: unknown, now: Date = new Date()): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return { ts: now.toISOString(), level: levelOf(value), ...(value as object) };
}
