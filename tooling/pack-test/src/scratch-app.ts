/** Scratch apps outside the workspace that install the packed tarballs with npm, as an adopter would. */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './workspace-packages.js';

const run = promisify(execFile);

/**
 * npm's cache, kept across runs in /tmp so a second run installs from it; the registry is still
 * asked about third-party packages (nothing offline can stand in for it).
 */
export const npmCache = join(tmpdir(), 'fanout-pack-test-npm-cache');

/** What one command printed, and how it ended. */
export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command to its end without throwing on a non-zero exit: the test judges the outcome. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 240_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? failed.message,
    };
  }
}

/**
 * The environment of a shell outside the workspace: without the `npm_*` variables that pnpm and
 * turbo pass to scripts (npm would read `npm_config_*` as its own settings) and without the
 * workspace's binaries on PATH.
 */
export function adopterEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && !key.startsWith('PNPM_') && !key.startsWith('TURBO_')) env[key] = value;
  }
  // pnpm puts the workspace's node_modules/.bin on PATH: an adopter has only its own.
  env.PATH = (env.PATH ?? '')
    .split(':')
    .filter((entry) => entry !== '' && !entry.startsWith(repoRoot))
    .join(':');
  return { ...env, ...extra };
}

/** The parts of a scratch app's package.json that differ between apps. */
export interface ScratchAppSpec {
  readonly name: string;
  readonly type: 'module' | 'commonjs';
  /** Package name → tarball path (our packages) or exact version (third-party). */
  readonly dependencies: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  /** A directory under `fixtures/` copied into the app. */
  readonly fixture?: string;
}

/** A scratch app on disk, before or after `npm install`. */
export interface ScratchApp {
  readonly dir: string;
  install(): Promise<Outcome>;
  run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Outcome>;
}

const fixtures = new URL('../fixtures/', import.meta.url);

/** Lay out a scratch app in a fresh temp directory, outside the workspace (no pnpm, no hoisting from it). */
export function scratchApp(parent: string, spec: ScratchAppSpec): ScratchApp {
  const dir = join(parent, spec.name);
  mkdirSync(dir, { recursive: true });
  if (spec.fixture) cpSync(new URL(spec.fixture, fixtures), dir, { recursive: true });
  const toRange = (value: string) => (value.endsWith('.tgz') ? `file:${value}` : value);
  const ranges = (deps: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries(deps).map(([name, value]) => [name, toRange(value)]));
  const manifest = {
    name: spec.name,
    version: '1.0.0',
    private: true,
    type: spec.type,
    dependencies: ranges(spec.dependencies),
    devDependencies: ranges(spec.devDependencies),
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return {
    dir,
    install: () =>
      runCommand(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--cache', npmCache],
        // engine-strict: an install on this Node must not be refused by our engines or our dependencies'.
        { cwd: dir, env: adopterEnv({ npm_config_engine_strict: 'true' }) },
      ),
    run: (command, args, env) => runCommand(command, args, { cwd: dir, env: adopterEnv(env) }),
  };
}

/** A fresh directory for the scratch apps of one test run. */
export function scratchRoot(): string {
  const dir = join(tmpdir(), `fanout-pack-test-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
