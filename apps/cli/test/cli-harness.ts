/**
 * Helpers for the end-to-end tests: they spawn the BUILT command
 * (`bin/fanout.cjs` → `dist/`), exactly as an outside script would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The command under test. */
export const BIN = fileURLToPath(new URL('../bin/fanout.cjs', import.meta.url));

if (!existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))) {
  throw new Error(
    "apps/cli is not built: run `pnpm turbo run build --filter @fanout/cli...` (turbo's test task does it)",
  );
}

/** What a finished `fanout` process left. */
export interface CliResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link fanout}. */
export interface CliOptions {
  readonly cwd?: string;
  readonly input?: string | Buffer;
  readonly env?: NodeJS.ProcessEnv;
}

/** Start `fanout` with `args`; stdout and stderr are collected. */
export function spawnFanout(
  args: readonly string[],
  options: CliOptions = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const env = { ...process.env, ...options.env };
  delete env.FORCE_COLOR;
  // An option set to undefined removes the variable.
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(options.input ?? '');
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    // 'close': the process is reaped and its output fully read.
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Run `fanout` with `args` to the end. */
export function fanout(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return spawnFanout(args, options).done;
}

/** A fresh temporary directory, removed by the returned `cleanup`. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-cli-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The names in a directory, sorted, without the spool identity. */
export async function names(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n !== '.fanout-spool').sort();
}

/** The content of every `d<id>` in a destination, by id. */
export async function delivered(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of await names(dir)) if (n.startsWith('d')) out.set(n.slice(1), await readFile(join(dir, n), 'utf8'));
  return out;
}

/** The non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/**
 * One `--json` line without its envelope: checks that it carries `ts` (ISO
 * 8601) and `level` first, and returns the rest, so tests compare events.
 */
export function jsonEvent(line: string): Record<string, unknown> {
  const { ts, level, ...rest } = JSON.parse(line) as Record<string, unknown>;
  if (typeof ts !== 'string' || Number.isNaN(Date.parse(ts)) || !/^\d{4}-\d\d-\d\dT/.test(ts))
    throw new Error(`JSON line without an ISO ts: ${line}`);
  if (!['debug', 'info', 'warn', 'error', 'fatal'].includes(level as string))
    throw new Error(`JSON line without a level: ${line}`);
  if (!line.startsWith('{"ts":')) throw new Error(`ts is not the first key: ${line}`);
  return rest;
}
