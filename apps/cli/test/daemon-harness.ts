/**
 * Helpers for the e2e tests of the long-running commands (`run --watch`,
 * `consume --watch`): a process whose output is read while it runs, and
 * polling with a deadline.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CliOptions, type CliResult, spawnFanout } from './cli-harness.js';

/** Poll until `check` holds; fail (naming `what`) if it never does. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A running `fanout` whose stdout and stderr so far can be read. */
export interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  stdout(): string;
  stderr(): string;
  /** Whether it has exited. */
  exited(): boolean;
  /** Send `signal` and wait for the end. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/** Start `fanout args` and keep reading its output. */
export function startFanout(args: readonly string[], options: CliOptions = {}): Running {
  const { child, done } = spawnFanout(args, options);
  let out = '';
  let err = '';
  let ended = false;
  child.stdout!.on('data', (s: string) => (out += s));
  child.stderr!.on('data', (s: string) => (err += s));
  void done.then(() => (ended = true));
  return {
    child,
    done,
    stdout: () => out,
    stderr: () => err,
    exited: () => ended || child.exitCode !== null || child.signalCode !== null,
    async stop(signal = 'SIGTERM') {
      if (!ended) child.kill(signal);
      return done;
    },
  };
}

/** How many lines of `text` match `re`. */
export function countLines(text: string, re: RegExp): number {
  return text.split('\n').filter((l) => re.test(l)).length;
}
