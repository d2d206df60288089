/**
 * Helpers for the e2e tests of the long-running commands (`run --watch`,
 * `consume --watch`): a process whose output is read while it runs, and
 * polling with a deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, type CliOptions, type CliResult, spawnFanout } from './cli-harness.js';

/** Poll until `check` holds; fail (naming `what`) if it never does. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
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
  return running(child, done, (signal) => child.kill(signal));
}

/**
 * Start `fanout args` under a wrapper command (`strace … --`), which runs it
 * as its child; signals go to `fanout` itself, not to the wrapper.
 */
export function startWrapped(wrapper: readonly string[], args: readonly string[], options: CliOptions = {}): Running {
  const child = spawn(wrapper[0]!, [...wrapper.slice(1), process.execPath, BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  const done = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (x: string) => (stdout += x));
    child.stderr!.on('data', (x: string) => (stderr += x));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  const inner = (): number | undefined => {
    try {
      const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  return running(child, done, (signal) => {
    // The wrapper ends with its child; a wrapper killed alone would leave fanout running, holding the pipes.
    const pid = inner();
    if (pid !== undefined) process.kill(pid, signal);
    else child.kill(signal);
  });
}

function running(child: ChildProcess, done: Promise<CliResult>, kill: (signal: NodeJS.Signals) => void): Running {
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
      if (!ended) kill(signal);
      return done;
    },
  };
}

/** How many lines of `text` match `re`. */
export function countLines(text: string, re: RegExp): number {
  return text.split('\n').filter((l) => re.test(l)).length;
}
