/**
 * What `fanout run` reports progress to: a terminal bar (`terminal-progress.ts`,
 * only when stderr is a terminal and the output is not JSON) or nothing.
 */

/** What `run` tells its progress display. */
export interface Progress {
  /** More messages are expected (found in a source spool). */
  addTotal(n: number): void;
  /** One message is done (committed or failed), with the bytes it wrote. */
  tick(bytes: number): void;
  /** Print a line (ending in a newline) above the bar, never mixed with it. */
  log(line: string): void;
  /** Remove the bar for good; later lines are printed as they are. Idempotent. */
  stop(): void;
}

/** A progress display that shows nothing. */
export const noProgress = (write: (line: string) => void): Progress => ({
  addTotal: () => undefined,
  tick: () => undefined,
  log: write,
  stop: () => undefined,
});
