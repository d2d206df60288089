/**
 * The progress bar of `fanout run` on a terminal: messages, bytes, rate, ETA,
 * on one line that is redrawn in place. Imported only when it is shown.
 *
 * It owns the last line of the terminal while it runs: every other line the
 * run prints goes through {@link Progress.log}, which clears the bar's line,
 * prints, and draws the bar again below, so an error never shares a line
 * with a bar fragment. It never moves the cursor up or saves and restores it
 * (cli-progress, used before, restored the cursor to where the bar started,
 * so the summary overwrote the first error printed under it); `stop()` clears
 * the bar's line and leaves the cursor at its start, where the summary goes.
 * The line always fits the width: the bar is shortened first, the figures last.
 */
import { formatBytes } from './human-units.js';
import type { Progress } from './progress.js';

/** What the bar writes to: a terminal's stream (`columns` is its width). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly columns?: number;
}

/** Options of {@link terminalProgress}, for tests. */
export interface TerminalProgressOptions {
  /** The clock, for rate and ETA. */
  readonly now?: () => number;
  /** How often the bar is redrawn at most, in ms (default 100); 0: on every change. */
  readonly redrawMs?: number;
}

const CLEAR_LINE = '\r\x1b[K';
const WIDEST_BAR = 30;
const NARROWEST_BAR = 4;

/** A duration for the ETA: `45s`, `3m05s`, `2h10m`. */
export function compactDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * The bar's line for `width` columns: the figures in full, then as much bar
 * as fits in front of them (none below a few cells), cut at the width only
 * when even the figures do not fit.
 */
export function progressLine(
  state: { done: number; total: number; bytes: number; elapsedMs: number },
  width: number,
): string {
  // Under --watch the total grows with what is seen: never fewer than done.
  const total = Math.max(state.total, state.done);
  const rate = state.elapsedMs > 0 ? (state.done * 1000) / state.elapsedMs : 0;
  const eta = total === state.done ? '0s' : rate > 0 ? compactDuration(((total - state.done) / rate) * 1000) : '?';
  const rateText = rate >= 100 ? Math.round(rate).toString() : rate.toFixed(1);
  const figures = `${state.done}/${total} msgs | ${formatBytes(state.bytes)} | ${rateText} msg/s | ETA ${eta}`;
  // One column is left free: writing into the last one makes some terminals wrap.
  const room = Math.max(0, width - 1);
  const barWidth = Math.min(WIDEST_BAR, room - figures.length - 1);
  if (barWidth < NARROWEST_BAR) return figures.slice(0, room);
  const filled = total === 0 ? 0 : Math.round((state.done / total) * barWidth);
  return `${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)} ${figures}`;
}

/** A terminal progress bar on `stream`. */
export function terminalProgress(stream: ProgressStream, options: TerminalProgressOptions = {}): Progress {
  const now = options.now ?? Date.now;
  const redrawMs = options.redrawMs ?? 100;
  const started = now();
  let total = 0;
  let done = 0;
  let bytes = 0;
  let stopped = false;
  let dirty = false;
  const draw = () => {
    dirty = false;
    stream.write(
      `${CLEAR_LINE}${progressLine({ done, total, bytes, elapsedMs: now() - started }, stream.columns ?? 80)}`,
    );
  };
  // Redraws are paced (and the ETA kept moving); unref'd, so a finished run is not kept alive by its bar.
  const timer = redrawMs > 0 ? setInterval(() => dirty && !stopped && draw(), redrawMs) : undefined;
  timer?.unref();
  const changed = () => {
    if (stopped) return;
    if (timer === undefined) draw();
    else dirty = true;
  };
  draw();
  return {
    addTotal(n) {
      total += n;
      changed();
    },
    tick(b) {
      bytes += b;
      done++;
      changed();
    },
    log(line) {
      if (stopped) {
        stream.write(line);
        return;
      }
      stream.write(`${CLEAR_LINE}${line}`);
      draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write(CLEAR_LINE);
    },
  };
}
