/**
 * The real-NFS section of `pnpm bench`: what the in-VM job (nfs-job.ts)
 * prints, how the host reads it back from the VM's console, and the
 * Markdown it becomes. Pure, so it is tested without a VM.
 */
import { formatNumber, formatSize, median, perSecond, ratio } from './figures.js';
import { markdownTable, type Row } from './table.js';

/** The ways of moving the messages that the job times, in the order of each round. */
export const NFS_VARIANTS = ['fanout', 'naive', 'ceiling'] as const;
export type NfsVariant = (typeof NFS_VARIANTS)[number];

/** What the job is told (passed to it as one JSON argument). */
export interface NfsJob {
  readonly messages: number;
  readonly size: number;
  readonly rounds: number;
  readonly destinations: number;
}

/** What the job prints: one JSON line, `kind` first so the host can find it in the console output. */
export interface NfsJobResult {
  readonly kind: 'fanout-nfs-bench';
  /** `NFS_VERS` inside the VM. */
  readonly vers: string;
  /** The mount the spools were on (`$NFS_A`), and its options as the VM's /proc/mounts has them. */
  readonly mount: string;
  readonly mountOptions: string;
  readonly messages: number;
  readonly size: number;
  readonly destinations: number;
  /** Seconds of each round, by variant, in round order. */
  readonly seconds: Readonly<Record<NfsVariant, readonly number[]>>;
  /** The untimed run of each variant (before the rounds) whose file-system calls were counted. */
  readonly counted: Readonly<Record<NfsVariant, NfsCounted>>;
  /** Wall time of the whole job inside the VM (preparation and clean-up included). */
  readonly jobSeconds: number;
}

/**
 * What one counted run went through: `PosixFs` calls by method (below fs-nfs's retries: each is a system call;
 * directory reads not counted).
 */
export interface NfsCounted {
  /** Its seconds; not a figure (counting costs little, but it is the first run of the process, on a fresh export). */
  readonly seconds: number;
  /** Calls by method; `<method> failed` those that rejected. */
  readonly calls: Readonly<Record<string, number>>;
  readonly fsyncFile: number;
  readonly fsyncDirectory: number;
}

/** Calls of a counted run, failures not counted again. */
export function totalCalls(c: NfsCounted): number {
  return Object.entries(c.calls).reduce((sum, [k, n]) => (k.endsWith(' failed') ? sum : sum + n), 0);
}

/** `lstat 9.0 (5.0 failed), open 4.0, …`: calls per message by method, most first. */
export function callsPerMessage(c: NfsCounted, messages: number): string {
  return Object.entries(c.calls)
    .filter(([k]) => !k.endsWith(' failed'))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => {
      const failed = c.calls[`${k} failed`];
      return `${k} ${formatNumber(n / messages, 2)}${failed ? ` (${formatNumber(failed / messages, 2)} failed)` : ''}`;
    })
    .join(', ');
}

/** Labels of the variants in the table. */
export const NFS_VARIANT_NAMES: Readonly<Record<NfsVariant, string>> = {
  fanout: 'fanOut staged, its defaults (fs-nfs)',
  naive: 'naive durable copy',
  ceiling: 'no fsync (ceiling, unsafe)',
};

/** One variant's figures over the rounds. */
export interface NfsFigures {
  readonly variant: NfsVariant;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly perSecond: number;
  /** Median seconds over the naive durable copy's median. */
  readonly timesNaive: number;
  /** Each round's seconds over the same round's naive durable copy. */
  readonly timesNaiveByRound: readonly number[];
}

/** Medians, spread, rates and ratios of a job's result. */
export function nfsFigures(r: NfsJobResult): NfsFigures[] {
  const naive = r.seconds.naive;
  return NFS_VARIANTS.map((variant) => {
    const s = r.seconds[variant];
    const m = median(s);
    return {
      variant,
      median: m,
      min: Math.min(...s),
      max: Math.max(...s),
      perSecond: perSecond(r.messages, m),
      timesNaive: ratio(m, median(naive)),
      timesNaiveByRound: s.map((x, i) => ratio(x, naive[i])),
    };
  });
}

function isSeconds(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((x) => typeof x === 'number' && x > 0);
}

/**
 * The job's result in a VM's console output: the last line that is a JSON
 * object of kind `fanout-nfs-bench` with seconds for every variant.
 * @returns the result, or undefined when there is none.
 */
export function parseNfsJobOutput(output: string): NfsJobResult | undefined {
  const lines = output.split('\n').map((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.startsWith('{"kind":"fanout-nfs-bench"')) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const r = value as Partial<NfsJobResult>;
    const seconds = r.seconds as Record<string, unknown> | undefined;
    if (typeof r.vers !== 'string' || typeof r.messages !== 'number' || typeof r.size !== 'number' || !seconds)
      continue;
    const rounds = (seconds.naive as unknown[] | undefined)?.length;
    if (!NFS_VARIANTS.every((v) => isSeconds(seconds[v]) && seconds[v].length === rounds)) continue;
    const counted = r.counted as Record<string, Partial<NfsCounted> | undefined> | undefined;
    if (!NFS_VARIANTS.every((v) => typeof counted?.[v]?.calls === 'object' && typeof counted[v].fsyncFile === 'number'))
      continue;
    return r as NfsJobResult;
  }
  return undefined;
}

/** How one VM run of the job ended, as the host saw it. */
export interface NfsVmOutcome {
  readonly vers: string;
  readonly status: number;
  readonly timedOut: boolean;
  readonly output: string;
  /** Wall time of the VM run (boot, job, shut-down). */
  readonly seconds: number;
  readonly limitSeconds: number;
}

/** A measured version, or why it was not measured. */
export type NfsRun =
  | { readonly vers: string; readonly result: NfsJobResult; readonly vmSeconds: number }
  | { readonly vers: string; readonly failed: string };

/** The last lines of `output` that say something, for a failure's reason. */
function tail(output: string, lines = 3): string {
  const kept = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return kept.slice(-lines).join(' / ');
}

/** The VM run read as a measured version or as the reason it failed. */
export function nfsRunOf(o: NfsVmOutcome): NfsRun {
  const result = parseNfsJobOutput(o.output);
  if (o.status === 0 && result) return { vers: o.vers, result, vmSeconds: o.seconds };
  const why =
    o.timedOut || o.status === 124
      ? `the VM was killed at its limit of ${o.limitSeconds} s`
      : o.status === 125
        ? 'the VM did not come up'
        : o.status !== 0
          ? `the job exited with status ${o.status}`
          : 'the job printed no result';
  const last = tail(o.output);
  return { vers: o.vers, failed: last === '' ? why : `${why}; last output: ${last}` };
}

/** What the section says about where and how the job ran. */
export interface NfsContext {
  readonly job: NfsJob;
  /** Host load average at the start and end of the VM runs (1, 5, 15 min). */
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
}

const loads = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(', ');

/**
 * The "Real NFS" section: one table of the runs (version, mount options,
 * messages) and one of the figures, or the reason each version was not measured.
 * @param skipped why nothing ran at all (the harness is missing), if so.
 */
export function renderNfsSection(runs: readonly NfsRun[], c: NfsContext, skipped?: string): string {
  const out: string[] = ['## Real NFS', ''];
  if (skipped !== undefined) {
    out.push(`Not measured: ${skipped}.`);
    return out.join('\n');
  }
  out.push(
    'Inside the real-NFS VM of `tooling/real-nfs` (User-Mode Linux: kernel nfsd exporting an ext4 image `sync`, ' +
      'a kernel NFS client mount `$NFS_A`; server and client in one UML kernel), one VM per version, ' +
      `one node process per VM. ${formatSize(c.job.size)} × ${c.job.messages} messages to ` +
      `${c.job.destinations} destinations on the same mount; after one untimed, counted run of each, ` +
      `${c.job.rounds} alternating rounds (fanOut, naive durable, no fsync), each on freshly created spools; ` +
      'median of the rounds, spread is min–max. Every system call in UML is a ptrace round trip through the host, ' +
      "so the absolute times are far above a real NFS client's: only the ratios within one run count. " +
      `Host load average ${loads(c.loadStart)} at the start, ${loads(c.loadEnd)} at the end.`,
    '',
  );
  const measured = runs.filter((r): r is Extract<NfsRun, { result: NfsJobResult }> => 'result' in r);
  if (measured.length > 0) {
    out.push(
      markdownTable(
        ['NFS', 'mount options (as the VM reports them)', 'messages', 'size', 'destinations', 'VM run s'],
        measured.map((r) => [
          `v${r.result.vers}`,
          `\`${r.result.mountOptions}\``,
          String(r.result.messages),
          formatSize(r.result.size),
          String(r.result.destinations),
          formatNumber(r.vmSeconds, 3),
        ]),
        ['l', 'l', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
    const rows: Row[] = [];
    for (const r of measured) {
      for (const f of nfsFigures(r.result)) {
        const c = r.result.counted[f.variant];
        const n = r.result.messages;
        const fsyncs = c.fsyncFile + c.fsyncDirectory;
        rows.push([
          `v${r.result.vers}`,
          NFS_VARIANT_NAMES[f.variant],
          formatNumber(f.median, 3),
          `${formatNumber(f.min, 3)}–${formatNumber(f.max, 3)}`,
          formatNumber(f.perSecond, 3),
          formatNumber(f.timesNaive, 3),
          f.timesNaiveByRound.map((x) => formatNumber(x, 2)).join(', '),
          formatNumber(totalCalls(c) / n, 3),
          fsyncs === 0
            ? '0'
            : `${formatNumber(fsyncs / n, 3)} ` +
              `(${formatNumber(c.fsyncFile / n, 3)} f + ${formatNumber(c.fsyncDirectory / n, 3)} d)`,
        ]);
      }
    }
    out.push(
      markdownTable(
        [
          'NFS',
          'variant',
          'median s',
          'spread s',
          'messages/s',
          '× naive',
          'round by round × naive',
          'fs calls/message',
          'fsyncs/message',
        ],
        rows,
        ['l', 'l', 'r', 'r', 'r', 'r', 'l', 'r', 'l'],
      ),
      '',
      'fs calls and fsyncs per message are those of one untimed run of each variant before the rounds, ' +
        "counted through the `PosixFs` layer (below fs-nfs's retries; directory reads not counted; " +
        'f = files, d = directories):',
      '',
    );
    for (const r of measured)
      for (const v of NFS_VARIANTS)
        out.push(
          `- v${r.result.vers}, ${NFS_VARIANT_NAMES[v]}: ${callsPerMessage(r.result.counted[v], r.result.messages)}`,
        );
    out.push('');
  }
  for (const r of runs) if ('failed' in r) out.push(`- **v${r.vers}: not measured**: ${r.failed}`);
  return out.join('\n').trimEnd();
}
