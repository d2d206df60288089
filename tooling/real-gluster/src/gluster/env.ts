/**
 * What a test running against the harness's volume (vitest.gluster.config.ts) gets: the two FUSE client mounts of
 * one volume, the brick directories (the server's ground truth), and fault control.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: these tests run under the GlusterFS harness (pnpm test:real-gluster)`);
  }
  return value;
}

/** The harness's environment. */
export const gl = {
  /** Client 1's mount (host gc1). */
  a: required('GL_A'),
  /** Client 2's mount of the same volume (host gc2). */
  b: required('GL_B'),
  /** The brick directories, local to the server. */
  bricks: required('GL_BRICKS').split(' '),
  type: required('GL_TYPE'),
  ctlScript: required('GL_CTL'),
};

/** How many bricks hold each name: every brick of a replica set, one brick of a distribute volume. */
export const copies = gl.type === 'replica' ? gl.bricks.length : 1;

/** A client host of the harness. */
export type Client = 'gc1' | 'gc2';

const run = promisify(execFile);

/** Fault control: `ctl('partition', 'gc1')`, `ctl('heal', 'gc1')`. */
export async function ctl(...args: string[]): Promise<void> {
  await run(gl.ctlScript, args, { timeout: 30_000 });
}

/** Wait until both mounts answer again (a healed client reconnects by itself within a few seconds). */
export async function bothConnected(ms = 30_000): Promise<void> {
  const { stat } = await import('node:fs/promises');
  for (let waited = 0; ; waited += 250) {
    const ok = await Promise.all([stat(gl.a), stat(gl.b)]).then(
      () => true,
      () => false,
    );
    if (ok) return;
    if (waited >= ms) throw new Error(`a client mount still fails after ${ms} ms`);
    await sleep(250);
  }
}

/** A new directory `name` in the volume, by its path on each client. */
export async function freshDir(name: string): Promise<{ a: string; b: string; rel: string }> {
  const rel = `${name}-${process.pid}-${Date.now().toString(36)}`;
  // Just after a client reconnects, its first calls can still fail (ENOTCONN, or ENOENT for the mount's root).
  for (let tries = 1; ; tries++) {
    try {
      await mkdir(join(gl.a, rel), { recursive: true, mode: 0o777 });
      break;
    } catch (err) {
      if (tries >= 40) throw err;
      await sleep(250);
    }
  }
  return { a: join(gl.a, rel), b: join(gl.b, rel), rel };
}

/**
 * The names of directory `rel` as the bricks hold them (the server's ground truth, no client in between), without
 * DHT's link files (mode `---------T`, size 0, pointing to the brick that has the data): `name → brick count`.
 */
export async function onBricks(rel: string): Promise<Map<string, number>> {
  const names = new Map<string, number>();
  const { lstat } = await import('node:fs/promises');
  for (const brick of gl.bricks) {
    const entries = await readdir(join(brick, rel)).catch(() => [] as string[]);
    for (const name of entries) {
      // A name removed between the listing and its lstat (a rename going on) is not there any more.
      const st = await lstat(join(brick, rel, name)).catch(() => undefined);
      if (st === undefined) continue;
      const linkFile = (st.mode & 0o7777) === 0o1000 && st.size === 0;
      if (!linkFile) names.set(name, (names.get(name) ?? 0) + 1);
    }
  }
  return names;
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
