/**
 * The progress bar against a fake terminal of a given width: what an operator
 * sees is what `screen()` returns, the text left on each row once every
 * carriage return, line clear and cursor move has been applied. Defects of
 * issue 16: errors and the SIGINT notice garbled under the bar, the summary
 * overwrote the first error line, a bar fragment was left after the summary,
 * `819/818 messages` under --watch, rate and ETA cut off at 50 columns.
 */
import { describe, expect, it } from 'vitest';
import { terminalProgress } from './terminal-progress.js';

/** A TTY stream of `columns` width that records everything written to it. */
function fakeTty(columns: number) {
  let text = '';
  return {
    isTTY: true as const,
    columns,
    write(chunk: string | Uint8Array, cb?: unknown) {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (typeof cb === 'function') (cb as () => void)();
      return true;
    },
    on: () => undefined,
    once: () => undefined,
    removeListener: () => undefined,
    written: () => text,
  };
}

/**
 * The rows a terminal of `columns` width shows after `text`: carriage returns, newlines, CSI K/G/A/B/C/D, save/restore,
 * auto-wrap.
 */
function screen(text: string, columns: number): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  let wrap = true;
  const line = () => (rows[row] ??= []);
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      col = 0;
      line();
    } else if (c === '\x1b') {
      const next = text[i + 1];
      if (next === '7' || next === '8') {
        if (next === '7') saved = { row, col };
        else ({ row, col } = saved);
        i++;
        continue;
      }
      const m = /^\[(\??)([0-9;]*)([A-Za-z])/.exec(text.slice(i + 1))!;
      i += m[0].length;
      const n = m[2] === '' ? undefined : Number(m[2]);
      if (m[1] === '?') {
        if (n === 7) wrap = m[3] === 'h';
        continue;
      }
      if (m[3] === 'K') line().length = Math.min(line().length, col);
      else if (m[3] === 'G') col = (n ?? 1) - 1;
      else if (m[3] === 'A') row = Math.max(0, row - (n ?? 1));
      else if (m[3] === 'B') row += n ?? 1;
      else if (m[3] === 'C') col += n ?? 1;
      else if (m[3] === 'D') col = Math.max(0, col - (n ?? 1));
      line();
    } else {
      if (col >= columns) {
        if (!wrap) continue;
        row++;
        col = 0;
      }
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  return rows.map((r) => r.join('').trimEnd()).filter((r, k, all) => r !== '' || k < all.length - 1);
}

describe('the terminal progress bar', () => {
  it('prints errors and notices whole above the bar, and the summary below them with no bar fragment left', () => {
    const tty = fakeTty(120);
    const progress = terminalProgress(tty, { redrawMs: 0 });
    progress.addTotal(3);
    progress.tick(100);
    progress.log('fanout: S: s01A: transform for A failed: no (ETRANSFORM)\n');
    progress.tick(0);
    progress.log('fanout: SIGINT: finishing or rolling back the messages in flight (send it again to exit at once)\n');
    progress.tick(50);
    progress.stop();
    tty.write('fanout: 2 messages fanned out to 1 spool, 1 failed, 0 skipped\n');
    expect(screen(tty.written(), 120)).toEqual([
      'fanout: S: s01A: transform for A failed: no (ETRANSFORM)',
      'fanout: SIGINT: finishing or rolling back the messages in flight (send it again to exit at once)',
      'fanout: 2 messages fanned out to 1 spool, 1 failed, 0 skipped',
    ]);
  });

  it('shows the bar on the last row while it runs, redrawn below each line printed', () => {
    const tty = fakeTty(80);
    const progress = terminalProgress(tty, { redrawMs: 0 });
    progress.addTotal(2);
    progress.tick(10);
    progress.log('fanout: one error\n');
    const rows = screen(tty.written(), 80);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toBe('fanout: one error');
    expect(rows[1]).toMatch(/1\/2 msgs \| 10 B \| .* msg\/s \| ETA /);
    progress.stop();
  });

  it('never shows more done than the total under --watch: the total grows with what is seen', () => {
    const tty = fakeTty(80);
    const progress = terminalProgress(tty, { redrawMs: 0 });
    progress.addTotal(818);
    for (let i = 0; i < 819; i++) progress.tick(1);
    const bar = screen(tty.written(), 80).at(-1)!;
    expect(bar).toContain('819/819 msgs');
    expect(tty.written()).not.toContain('819/818');
    progress.stop();
  });

  it('shows rate and ETA at 50 columns, shortening the bar instead, and never writes past the width', () => {
    let t = 0;
    for (const columns of [50, 60, 80, 120]) {
      const tty = fakeTty(columns);
      const progress = terminalProgress(tty, { redrawMs: 0, now: () => t });
      progress.addTotal(1000);
      t += 10_000;
      for (let i = 0; i < 123; i++) progress.tick(4096);
      const rows = screen(tty.written(), columns);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.length).toBeLessThan(columns);
      expect(rows[0]).toMatch(/123\/1000 msgs \| 492 KiB \| 12\.3 msg\/s \| ETA 1m11s$/);
      if (columns >= 80) expect(rows[0]).toMatch(/^[█░]{10,} /);
      progress.stop();
    }
  });
});
