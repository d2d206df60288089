/**
 * `fanout status <spool>... [--json]`: counts per kind, in-flight and stale
 * markers with owner and age, unknown entries. Reads only; never changes a spool.
 */
import { type SpoolStatus, spoolStatus } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor, worstStatus } from '../exit-status.js';
import { formatDuration } from '../output/human-units.js';
import { localOwnerProbe } from '../owner-probe.js';

const KINDS = ['source', 'taken', 'committed', 'backout', 'record', 'staged', 'delivered', 'claimed', 'lock', 'temp', 'unknown'] as const;
const LETTER: Record<(typeof KINDS)[number], string> = { source: 's', taken: 'p', committed: 'k', backout: 'b', record: 'm', staged: 'w', delivered: 'd', claimed: 'c', lock: 'l', temp: 't', unknown: '?' };

/** The human table of one spool's status. */
export function formatStatus(s: SpoolStatus): string {
  const lines = [`${s.location}  (spool ${s.identity.uuid})`];
  lines.push(`  ${KINDS.map((k) => `${k} (${LETTER[k]}) ${s.counts[k]}`).join('  ')}`);
  if (s.nfsSilly > 0) lines.push(`  nfs-silly (.nfs…) ${s.nfsSilly}: files the NFS client keeps while a process holds them open after their removal; they go when it closes them`);
  for (const m of s.markers) {
    if (m.state === 'corrupt') {
      lines.push(`  record ${m.file}  CORRUPT  ${m.error ?? ''}  (recover will quarantine it)`);
      continue;
    }
    const owner = m.owner ? `${m.owner.host} pid ${m.owner.pid}` : 'unknown owner';
    const age = m.ageMs !== undefined ? formatDuration(Math.max(0, m.ageMs)) : '?';
    const what = m.state === 'stale' ? 'stale (owner gone; recover will finish it)' : 'in flight';
    lines.push(`  ${m.file.startsWith('r') ? 'claim' : 'record'} ${m.file}  ${what}  owner ${owner}  age ${age}  tx ${m.tx ?? '?'}  ${m.protocol ?? ''}`.trimEnd());
  }
  for (const u of s.unknown) lines.push(`  unknown ${JSON.stringify(u.name)} (${u.kind}): not a message; never touched`);
  if (s.truncated) lines.push('  … more markers or unknown entries than listed');
  return `${lines.join('\n')}\n`;
}

/** Show each spool; with `--config` and none named, every configured spool. */
export async function statusCommand(ctx: CliContext, refs: readonly string[], flags: { json?: boolean }): Promise<ExitStatusCode> {
  const targets = refs.length > 0 ? refs : [...(ctx.config?.spools.keys() ?? [])];
  if (targets.length === 0) {
    ctx.note('status needs at least one spool (or --config with spools) (EUSAGE)');
    return ExitStatus.usage;
  }
  let status: ExitStatusCode = ExitStatus.ok;
  for (const ref of targets) {
    try {
      const spool = await ctx.open(ref);
      try {
        const s = await spoolStatus(spool, { ownerProbe: localOwnerProbe });
        if (flags.json === true) ctx.json(s);
        else ctx.io.stdout.write(formatStatus(s));
      } finally {
        await spool.close();
      }
    } catch (err) {
      ctx.reportError(err);
      status = worstStatus(status, exitStatusFor(err));
    }
  }
  return status;
}
