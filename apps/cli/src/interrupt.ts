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

/** Install the handlers; call `dispose()` when the command is done. */
export function onInterrupt(ctx: CliContext): Interrupt {
  const controller = new AbortController();
  let first: 'SIGINT' | 'SIGTERM' | undefined;
  const handler = (sig: 'SIGINT' | 'SIGTERM') => {
    if (first !== undefined) {
      ctx.note(`${sig} again: exiting now; run \`fanout recover\` to finish what was in flight`);
      process.exit(signalStatus(sig));
    }
    first = sig;
    ctx.note(`${sig}: finishing or rolling back the messages in flight (send it again to exit at once)`);
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
