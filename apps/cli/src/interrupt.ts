/**
 * Signal handling for long commands. SIGINT/SIGTERM: the first asks the work
 * to stop (messages in flight finish or roll back; nothing new starts), a
 * second one exits at once — the markers left behind are what `fanout
 * recover` is for. SIGHUP never kills a command in the middle of a
 * transaction: a command that can reload (`run --watch --config`) reloads;
 * another `--watch` command logs it and carries on; a command without
 * `--watch` stops as for SIGTERM (exit 129 once the work in hand is done).
 */
import type { CliContext } from './cli-context.js';
import { signalStatus, type StopSignal } from './exit-status.js';

/** An abort signal wired to SIGINT/SIGTERM (and SIGHUP) for the duration of one command. */
export interface Interrupt {
  readonly signal: AbortSignal;
  /** The first stopping signal received, if any. */
  received(): StopSignal | undefined;
  /** Remove the handlers (the default behaviour of the signals returns). */
  dispose(): void;
}

/** What SIGHUP does to this command: stop it gracefully, be ignored (and logged), or call a reload. */
export type HangupAction = 'stop' | 'ignore' | (() => void);

/**
 * Where the notices go: by default `ctx.note`; `run` prints them above its progress bar, and removes the bar before
 * exiting at once.
 */
export interface InterruptOutput {
  note(line: string): void;
  beforeExit?(): void;
}

/** Install the handlers; call `dispose()` when the command is done. */
export function onInterrupt(
  ctx: CliContext,
  output: InterruptOutput = { note: (line) => ctx.note(line) },
  hangup: HangupAction = 'stop',
): Interrupt {
  const controller = new AbortController();
  let first: StopSignal | undefined;
  const stop = (sig: StopSignal) => {
    if (first !== undefined) {
      output.beforeExit?.();
      output.note(`${sig} again: exiting now; run \`fanout recover\` to finish what was in flight`);
      process.exit(signalStatus(sig));
    }
    first = sig;
    output.note(`${sig}: finishing or rolling back the messages in flight (send it again to exit at once)`);
    controller.abort(new Error(sig));
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  const onHup = () => {
    if (hangup === 'stop') stop('SIGHUP');
    else if (hangup === 'ignore') output.note('SIGHUP: nothing to reload (no --config); ignored');
    else hangup();
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  return {
    signal: controller.signal,
    received: () => first,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
    },
  };
}
