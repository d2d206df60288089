/** Rendering rows as a Markdown table (which also reads well in a terminal). */

/** Cells of one row, already formatted. */
export type Row = readonly string[];

/**
 * A Markdown table with columns padded to a common width; `align` marks
 * columns as right-aligned (`r`) or left-aligned (`l`, the default).
 */
export function markdownTable(header: Row, rows: readonly Row[], align: readonly ('l' | 'r')[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cell: string, i: number) => (align[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!));
  const line = (cells: Row) => `| ${widths.map((_, i) => pad(cells[i] ?? '', i)).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/**
 * Replace the text between `begin` and `end` markers in `document` (markers
 * kept), or return `fresh` when the markers are missing: hand-written parts of
 * a generated page survive a re-run.
 */
export function replaceBetween(
  document: string | undefined,
  begin: string,
  end: string,
  generated: string,
  fresh: string,
): string {
  if (document === undefined) return fresh;
  const b = document.indexOf(begin);
  const e = document.indexOf(end, b + begin.length);
  if (b < 0 || e < 0) return fresh;
  return `${document.slice(0, b + begin.length)}\n${generated}\n${document.slice(e)}`;
}
