/**
 * `fanout status <spool>... [--json]`: counts per kind, in-flight and stale
 * markers with owner and age, unknown entries. Reads only; never changes a spool.
 */
import { AGE_BUCKETS, type AgeHistogram, type SpoolStatus, spoolStatus } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode } from '../exit-status.js';
import { forEachSpool, spoolsOrConfigured } from '../for-each-spool.js';
import { formatDuration } from '../output/human-units.js';
import { localOwnerProbe } from '../owner-probe.js';
import { defineCommand } from './command-module.js';

/** The flags of `status`. */
export interface StatusFlags {
  readonly json?: boolean;
}

const KINDS = [
  'source',
  'held',
  'taken',
  'committed',
  'backout',
  'record',
  'staged',
  'delivered',
  'claimed',
  'lock',
  'attempts',
  'deleting',
  'temp',
  'unknown',
] as const;
const LETTER: Record<(typeof KINDS)[number], string> = {
  source: 's',
  held: 'h',
  taken: 'p',
  committed: 'k',
  backout: 'b',
  record: 'm',
  staged: 'w',
  delivered: 'd',
  claimed: 'c',
  lock: 'l',
  attempts: 'a',
  deleting: 'z',
  temp: 't',
  unknown: '?',
};

/** qshape's table: one row per kind of message, one column per age bucket, then the total. */
export function formatAges(s: SpoolStatus): string[] {
  const labels = AGE_BUCKETS.map((b) => b.label);
  const rows: [string, AgeHistogram][] = [
    ['waiting', s.ages.waiting],
    ['held', s.ages.held],
  ];
  const width = (l: string) => Math.max(l.length, 5);
  const cell = (text: string, l: string) => text.padStart(width(l));
  return [
    `  ${'age'.padEnd(8)} ${labels.map((l) => cell(l, l)).join(' ')} ${cell('total', 'total')}`,
    ...rows.map(
      ([name, h]) =>
        `  ${name.padEnd(8)} ${labels.map((l) => cell(String(h.buckets[l] ?? 0), l)).join(' ')}` +
        ` ${cell(String(h.total), 'total')}`,
    ),
  ];
}

/** The human table of one spool's status. */
export function formatStatus(s: SpoolStatus): string {
  const lines = [`${s.location}  (spool ${s.identity.uuid})`];
  lines.push(`  ${KINDS.map((k) => `${k} (${LETTER[k]}) ${s.counts[k]}`).join('  ')}`);
  if (s.nfsSilly > 0)
    lines.push(
      `  nfs-silly (.nfs…) ${s.nfsSilly}: files the NFS client keeps while a ` +
        `process holds them open after their removal; they go when it closes them`,
    );
  if (s.ages.waiting.total + s.ages.held.total > 0) lines.push(...formatAges(s));
  if (s.counts.held > 0)
    lines.push(
      `  ${s.counts.held} held: \`fanout list ${s.location} --state held\` shows why; ` +
        `\`fanout release ${s.location} <id>|--all-held\` offers them again`,
    );
  if (s.counts.deleting > 0)
    lines.push(
      `  ${s.counts.deleting} being deleted (z<id>): a delete was ` +
        `interrupted; \`fanout delete ${s.location} <id>\` finishes it`,
    );
  for (const m of s.markers) {
    if (m.state === 'corrupt') {
      lines.push(
        `  record ${m.file}  CORRUPT  ${m.error ?? ''}  (recover quarantines it; ` +
          `to clear it: \`fanout recover --discard-record ` +
          `${s.location} ${m.file}\`, which gives its messages back)`,
      );
      continue;
    }
    const owner = m.owner ? `${m.owner.host} pid ${m.owner.pid}` : 'unknown owner';
    const age = m.ageMs !== undefined ? formatDuration(Math.max(0, m.ageMs)) : '?';
    const what =
      m.state !== 'stale'
        ? 'in flight'
        : m.ownerDead === false
          ? 'stale (lease ran out; recover settles its messages, the record stays while its owner may be alive)'
          : 'stale (owner gone; recover will finish it)';
    lines.push(
      (
        `  ${m.file.startsWith('r') ? 'claim' : 'record'} ${m.file}  ${what}  ` +
        `owner ${owner}  age ${age}  tx ${m.tx ?? '?'}  ${m.protocol ?? ''}`
      ).trimEnd(),
    );
  }
  for (const u of s.unknown)
    lines.push(`  unknown ${JSON.stringify(u.name)} (${u.kind}): not a message; never touched`);
  if (s.truncated) lines.push('  … more markers or unknown entries than listed');
  return `${lines.join('\n')}\n`;
}

/** Show each spool; with `--config` and none named, every configured spool. */
async function showStatus(ctx: CliContext, refs: readonly string[], flags: StatusFlags): Promise<ExitStatusCode> {
  return forEachSpool(ctx, spoolsOrConfigured(ctx, refs, 'status'), async (spool) => {
    const s = await spoolStatus(spool, { ownerProbe: localOwnerProbe });
    if (flags.json === true) ctx.json(s);
    else ctx.io.stdout.write(formatStatus(s));
    return ExitStatus.ok;
  });
}

/** `fanout status`. */
export const statusCommand = defineCommand({
  name: 'status',
  description:
    'counts per kind, age histograms of waiting and held messages, ' +
    'in-flight and stale attempt records and claims with owner and age, unknown entries',
  arguments: [{ spec: '[spool...]', description: 'spools to show (default with --config: all configured spools)' }],
  options: [
    {
      flags: '--json',
      description:
        'one JSON object per spool ("counts", "ages": ' +
        '{"waiting","held"} each {"total","buckets","oldestMs"}, "markers", "unknown")',
    },
  ],
  help:
    "The age table is qshape's: waiting (s<id>, d<id>) and held (h<id>.s, " +
    'h<id>.d) messages per age bucket (0-5m, 5-10m, 10-20m, 20-40m,\n' +
    '40-80m, 80-160m, 160m+). A CORRUPT record is one recovery quarantines; status prints the command that clears it.',
  examples: ['fanout status ./spool/in ./spool/out-a', 'fanout status --json ./spool/in | jq .ages'],
  handler: showStatus,
});
