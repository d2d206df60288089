/** Small helpers shared by the crash simulator's tests. */
import type { PosixFs } from '@fanout/fs-posix';
import type { CrashSimulator, CrashStates } from './crash-simulator.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

/** Create `path` exclusively, write `text`, optionally fsync it, close it. */
export async function writeNew(fs: PosixFs, path: string, text: string, sync: boolean): Promise<void> {
  const c = fs.constants;
  const fd = await fs.open(path, c.O_WRONLY | c.O_CREAT | c.O_EXCL, 0o644);
  const data = enc(text);
  await fs.write(fd, data, 0, data.byteLength, 0);
  if (sync) await fs.fsync(fd);
  await fs.close(fd);
}

/** fsync directory `path`. */
export async function syncDir(fs: PosixFs, path: string): Promise<void> {
  const c = fs.constants;
  const fd = await fs.open(path, c.O_RDONLY | c.O_DIRECTORY);
  await fs.fsync(fd);
  await fs.close(fd);
}

/** The distinct crash states, as `path=content` listings of regular files. */
export function listings(states: CrashStates): string[] {
  const out: string[] = [];
  for (const s of states) out.push(listing(s.sim));
  return out.sort();
}

/** `path=content` of every file, joined by spaces; `path/` for directories. */
export function listing(sim: CrashSimulator): string {
  return sim
    .snapshot()
    .map((e) =>
      e.kind === 'dir'
        ? `${e.path}/`
        : e.kind === 'file'
          ? `${e.path}=${JSON.stringify(dec(e.data))}`
          : `${e.path}@${e.kind}`,
    )
    .join(' ');
}
