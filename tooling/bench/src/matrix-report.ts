/**
 * The matrix's tables, its issue-17 goals and its chart (a Vega-Lite spec,
 * rendered to SVG by chart.ts). Pure: tested on made-up results.
 */
import { formatNumber, formatSize, median, ratio } from './figures.js';
import type { EnqueueResult, MatrixReport, MatrixResult } from './matrix.js';
import { markdownTable, type Row } from './table.js';

const sameCase = (a: MatrixResult, b: MatrixResult) =>
  a.place === b.place && a.destinations === b.destinations && a.size === b.size && a.count === b.count;

function spread(values: readonly number[]): string {
  if (values.length < 2) return '';
  return `${formatNumber(Math.min(...values), 2)}–${formatNumber(Math.max(...values), 2)}`;
}

/** Median seconds of the variant `variant` of the case of `r`. */
function medianOf(all: readonly MatrixResult[], r: MatrixResult, variant: MatrixResult['variant']): number | undefined {
  const m = all.find((x) => sameCase(x, r) && x.variant === variant);
  return m && median(m.seconds);
}

/** One point of the chart and of the JSON: a variant of a case, reduced to medians. */
export interface MatrixPoint {
  readonly place: string;
  readonly case: string;
  readonly variant: string;
  readonly seconds: number;
  readonly cpuMicrosPerMessage: number;
  readonly timesNoFsync: number;
}

/** Medians of every variant of every case. */
export function matrixPoints(report: MatrixReport): MatrixPoint[] {
  return report.results.map((r) => ({
    place: r.place,
    case: `${formatSize(r.size)} × ${r.count} → ${r.destinations}`,
    variant: r.variant,
    seconds: median(r.seconds),
    cpuMicrosPerMessage: (1e6 * median(r.cpuSeconds)) / r.count,
    timesNoFsync: ratio(median(r.seconds), medianOf(report.results, r, 'no-fsync copy')),
  }));
}

/** The main table: every case, every variant, wall and CPU time, ratios to both baselines. */
export function matrixTable(report: MatrixReport): string {
  const rows: Row[] = report.results.map((r) => {
    const s = median(r.seconds);
    const traced =
      r.variant === 'fanout run'
        ? report.traced.find(
            (t) => t.place === r.place && t.destinations === r.destinations && t.size === r.size && t.count === r.count,
          )
        : undefined;
    return [
      r.place,
      String(r.destinations),
      formatSize(r.size),
      String(r.count),
      r.variant,
      formatNumber(s, 3),
      spread(r.seconds),
      formatNumber((1e6 * median(r.cpuSeconds)) / r.count, 3),
      formatNumber(ratio(s, medianOf(report.results, r, 'no-fsync copy')), 3),
      formatNumber(ratio(s, medianOf(report.results, r, 'naive durable copy')), 3),
      traced ? `${formatNumber(traced.futexPerMessage, 3)} / ${formatNumber(traced.otherPerMessage, 3)}` : '',
    ];
  });
  return markdownTable(
    [
      'place',
      'dests',
      'size',
      'messages',
      'variant',
      'median s',
      'spread s',
      'CPU µs/message',
      '× no fsync',
      '× naive',
      'futex / other syscalls per message',
    ],
    rows,
    ['l', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** What the traced runs made per message, by call. */
export function tracedTable(report: MatrixReport): string {
  return markdownTable(
    ['place', 'case', 'futex', 'other', 'the most frequent other calls per message'],
    report.traced.map((t) => [
      t.place,
      `${formatSize(t.size)} × ${t.count} → ${t.destinations}`,
      formatNumber(t.futexPerMessage, 3),
      formatNumber(t.otherPerMessage, 3),
      t.top.map(([n, k]) => `${n} ${formatNumber(k, 2)}`).join(', '),
    ]),
    ['l', 'l', 'r', 'r', 'l'],
  );
}

export function enqueueTable(rows: readonly EnqueueResult[]): string {
  return markdownTable(
    ['place', 'what', 'messages', 'size', 'median s', 'spread s', 'CPU µs/message', '× its baseline'],
    rows.map((r) => {
      const base = rows.find((b) => b.place === r.place && b.count === r.count && !b.what.startsWith('fanout'));
      return [
        r.place,
        r.what,
        String(r.count),
        formatSize(r.size),
        formatNumber(median(r.seconds), 3),
        spread(r.seconds),
        formatNumber((1e6 * median(r.cpuSeconds)) / r.count, 3),
        r.what.startsWith('fanout') ? formatNumber(ratio(median(r.seconds), base && median(base.seconds)), 3) : '',
      ];
    }),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** The goals of issue 17, each with its figure from this run and whether it is met. */
export function matrixGoals(report: MatrixReport): string[] {
  const out: string[] = [];
  const at = (place: string, destinations: number, size: number, count: number, variant: MatrixResult['variant']) =>
    report.results.find(
      (r) =>
        r.place === place &&
        r.destinations === destinations &&
        r.size === size &&
        r.count === count &&
        r.variant === variant,
    );
  const verdict = (ok: boolean) => (ok ? '**met**' : '**missed**');
  const counts = [
    ...new Set(report.results.filter((r) => r.size === 4096 && r.destinations === 3).map((r) => r.count)),
  ].sort((a, b) => a - b);
  const n = counts[0];
  if (n === undefined) return out;
  for (const variant of ['fanOut in-process', 'fanout run'] as const) {
    const t = at('tmpfs', 3, 4096, n, variant);
    const ceiling = at('tmpfs', 3, 4096, n, 'no-fsync copy');
    if (t && ceiling) {
      const q = ratio(median(t.seconds), median(ceiling.seconds));
      out.push(
        `- tmpfs, ${n} × 4 KiB → 3: ${variant} takes **${formatNumber(q, 3)} ×** ` +
          `the no-fsync copy: goal ≤ 1.5 ${verdict(q <= 1.5)}.`,
      );
    }
    const d = at('disk', 3, 4096, n, variant);
    const dc = at('disk', 3, 4096, n, 'no-fsync copy');
    const dn = at('disk', 3, 4096, n, 'naive durable copy');
    if (d && dc && dn) {
      const qc = ratio(median(d.seconds), median(dc.seconds));
      const qn = ratio(median(d.seconds), median(dn.seconds));
      out.push(
        `- disk, ${n} × 4 KiB → 3: ${variant} takes **${formatNumber(qc, 3)} ×** ` +
          `the no-fsync copy (goal ≤ 1.15 ${verdict(qc <= 1.15)}) ` +
          `and **${formatNumber(qn, 3)} ×** the naive durable copy (goal ≤ 0.4 ${verdict(qn <= 0.4)}).`,
      );
    }
  }
  // What bounds the tmpfs goal: the protocol's calls alone, made synchronously, against the copy; fanOut against them.
  const floor = at('tmpfs', 3, 4096, n, 'protocol floor');
  const ceiling = at('tmpfs', 3, 4096, n, 'no-fsync copy');
  const inProcess = at('tmpfs', 3, 4096, n, 'fanOut in-process');
  if (floor && ceiling && inProcess) {
    const f = median(floor.seconds);
    out.push(
      `- tmpfs, ${n} × 4 KiB → 3: the protocol floor (fanOut's own calls, synchronous, nothing else) takes ` +
        `**${formatNumber(ratio(f, median(ceiling.seconds)), 3)} ×** the no-fsync copy; ` +
        `fanOut in-process takes **${formatNumber(ratio(median(inProcess.seconds), f), 3)} ×** the floor.`,
    );
  }
  for (const t of report.traced.filter((x) => x.destinations === 3 && x.size === 4096)) {
    out.push(
      `- ${t.place}, ${t.count} × 4 KiB → 3, \`fanout run\` under strace: ` +
        `**${formatNumber(t.futexPerMessage, 3)} futex** (goal ≤ 20 ${verdict(t.futexPerMessage <= 20)}) ` +
        `and **${formatNumber(t.otherPerMessage, 3)} other** system calls per message, ` +
        `start-up included (goal ≤ 30 ${verdict(t.otherPerMessage <= 30)}).`,
    );
  }
  for (const place of ['tmpfs', 'disk']) {
    const e = report.enqueue.find((r) => r.place === place && r.what === 'fanout enqueue <files>');
    const b = report.enqueue.find((r) => r.place === place && r.what === 'cp <files> + sync -f');
    if (e && b) {
      const q = ratio(median(e.seconds), median(b.seconds));
      out.push(
        `- ${place}: \`fanout enqueue\` of ${e.count} files takes **${formatNumber(q, 3)} ×** \`cp\` ` +
          `+ one \`sync -f\`${place === 'tmpfs' ? `: goal ≤ 2 ${verdict(q <= 2)}` : ''}.`,
      );
    }
  }
  const many = counts[counts.length - 1]!;
  if (many !== n) {
    for (const place of ['tmpfs', 'disk']) {
      const small = at(place, 3, 4096, n, 'fanOut in-process');
      const big = at(place, 3, 4096, many, 'fanOut in-process');
      if (!small || !big) continue;
      const per = (r: MatrixResult) => median(r.cpuSeconds) / r.count;
      const q = ratio(per(big), per(small));
      out.push(
        `- ${place}: ${many} messages cost **${formatNumber(q, 3)} ×** the CPU per message ` +
          `of ${n} (goal ≤ 1 ${verdict(q <= 1.1)}, 10 % for noise); ` +
          `peak RSS ${formatNumber(Math.max(...small.maxRssBytes) / 1e6, 3)} MB ` +
          `→ ${formatNumber(Math.max(...big.maxRssBytes) / 1e6, 3)} MB.`,
      );
    }
  }
  return out;
}

/**
 * The chart: per place, each case's time as a multiple of its no-fsync copy
 * (log scale), and CPU per message, one bar per variant.
 */
export function chartSpec(points: readonly MatrixPoint[]): Record<string, unknown> {
  const bars = (field: string, title: string, log: boolean) => ({
    mark: 'bar',
    encoding: {
      x: { field: 'case', type: 'nominal', title: null, sort: null, axis: { labelAngle: -40 } },
      xOffset: { field: 'variant', type: 'nominal', sort: null },
      y: { field, type: 'quantitative', title, ...(log ? { scale: { type: 'log' } } : {}) },
      color: { field: 'variant', type: 'nominal', sort: null, legend: { orient: 'top', title: null } },
      column: { field: 'place', type: 'nominal', title: null },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'fanout against its baselines (pnpm bench)',
    data: { values: points },
    config: { font: 'sans-serif', view: { stroke: null } },
    vconcat: [
      bars('timesNoFsync', '× the no-fsync copy (time)', true),
      bars('cpuMicrosPerMessage', 'CPU µs per message', true),
    ],
  };
}
