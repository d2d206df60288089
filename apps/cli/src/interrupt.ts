/**
 * SIGINT/SIGTERM handling for long commands: the first signal asks the work to
 * stop (messages in flight finish or roll back; nothing new starts), a second
 * one exits at once — the markers left behind are what `fanout recover` is for.
 */
import type { CliContext } from './cli-context.js';
import { signalStatus } from './exit-status.js';

/** An abort signal wired to SIGINT/SIGTERM for the duration of one command. */
export interface Interrupt {
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  received(): 'SIGINT' | 'SIGTERM' | undefined;
  /** Remove the handlers (the default behaviour of the signals returns). */
  dispose(): void;
}

/** Where the notices go: by default `ctx.note`; `run` prints them above its progress bar, and removes the bar before exiting at once. */
export interface InterruptOutput {
  note(line: string): void;
  beforeExit?(): void;
}

/** Install the handlers; call `dispose()` when the command is done. */
export function onInterrupt(ctx: CliContext, output: InterruptOutput = { note: (line) => ctx.note(line) }): Interrupt {
  const controller = new AbortController();
  let first: 'SIGINT' | 'SIGTERM' | undefined;
  const handler = (sig: 'SIGINT' | 'SIGTERM') => {
    if (first !== undefined) {
      output.beforeExit?.();
      output.note(`${sig} again: exiting now; run \`fanout recover\` to finish what was in flight`);
      process.exit(signalStatus(sig));
    }
    first = sig;
    output.note(`${sig}: finishing or rolling back the messages in flight (send it again to exit at once)`);
    controller.abort(new Error(sig));
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    received: () => first,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
