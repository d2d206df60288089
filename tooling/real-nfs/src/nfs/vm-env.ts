/**
 * What a test running inside the real-NFS VM (vitest.nfs.config.ts) gets from the harness: the two
 * client mounts of one export, the export as the server sees it, fault control, and a way to run a
 * process as one of the client hosts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: these tests run inside the real-NFS VM (pnpm --filter @fanout/real-nfs test)`);
  }
  return value;
}

/** The harness's environment. */
export const vm = {
  /** Client 1's mount. */
  a: required('NFS_A'),
  /** Client 2's mount of the same export. */
  b: required('NFS_B'),
  /** The export, local to the server (no NFS client in between). */
  server: required('NFS_SERVER_DIR'),
  vers: required('NFS_VERS'),
  ctlScript: required('NFS_CTL'),
  onScript: required('NFS_ON'),
};

/** A client of the VM. */
export type Client = 'c1' | 'c2';

/** The mount of `client`. */
export function mountOf(client: Client): string {
  return client === 'c1' ? vm.a : vm.b;
}

const run = promisify(execFile);

/** Fault control: `ctl('partition', 'c1')`, `ctl('netem-in', 'c1', 'loss 30%')`, `ctl('restart-server')`. */
export async function ctl(...args: string[]): Promise<void> {
  // A server reboot starts several processes, each slow inside UML on a loaded machine.
  await run(vm.ctlScript, args, { timeout: 180_000 });
}

/** A new directory `name` in the export, by its path on each client and on the server. */
export async function freshDir(name: string): Promise<{ a: string; b: string; server: string }> {
  const unique = `${name}-${process.pid}-${Date.now().toString(36)}`;
  await mkdir(join(vm.server, unique), { recursive: true, mode: 0o777 });
  return { a: join(vm.a, unique), b: join(vm.b, unique), server: join(vm.server, unique) };
}

/** Spawn `command` as a process of client host `client` (host name client1/client2), pid kept. */
export function spawnOn(
  client: Client,
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): ChildProcess {
  return spawn(vm.onScript, [client, command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/** What a child printed and how it ended. */
export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Collect a child's output until it exits. */
export function outcomeOf(child: ChildProcess): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolve once the child printed `ready`. */
export function readyOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('ready')) resolve();
    });
    child.on('close', (code) => reject(new Error(`child exited (${code}) before it was ready`)));
  });
}

/** The last line of a child's stdout as JSON. */
export function lastJson<T>(outcome: ChildOutcome): T {
  const lines = outcome.stdout.split('\n').filter((l) => l.trim() !== '');
  return JSON.parse(lines.at(-1) ?? 'null') as T;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
