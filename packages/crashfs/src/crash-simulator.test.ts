import { describe, expect, it } from 'vitest';
import { CrashSimulator } from './crash-simulator.js';
import { isSimulatedCrash, SimulatedCrash } from './errno-error.js';
import { dec, enc, syncDir, writeNew } from './test-helpers.js';

function setup(): CrashSimulator {
  const sim = new CrashSimulator();
  sim.mkdirp('/S');
  sim.writeFileDurable('/S/old', 'old');
  sim.symlink('/S/old', '/S/link');
  sim.mkfifo('/S/pipe');
  return sim;
}

describe('the simulated PosixFs', () => {
  it('refuses an exclusive create over any existing name, a symlink included, with EEXIST', async () => {
    const sim = setup();
    const c = sim.fs.constants;
    await expect(sim.fs.open('/S/old', c.O_WRONLY | c.O_CREAT | c.O_EXCL)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(sim.fs.open('/S/link', c.O_WRONLY | c.O_CREAT | c.O_EXCL)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(sim.opCount).toBe(0);
  });

  it('rejects O_NOFOLLOW on a symlink with ELOOP and follows it otherwise', async () => {
    const sim = setup();
    const c = sim.fs.constants;
    await expect(sim.fs.open('/S/link', c.O_RDONLY | c.O_NOFOLLOW)).rejects.toMatchObject({ code: 'ELOOP' });
    const fd = await sim.fs.open('/S/link', c.O_RDONLY);
    const buf = new Uint8Array(10);
    const n = await sim.fs.read(fd, buf, 0, 10, 0);
    expect(dec(buf.subarray(0, n))).toBe('old');
    expect((await sim.fs.lstat('/S/link')).isSymbolicLink()).toBe(true);
  });

  it('reports ENOENT for a missing name or parent and ENOTDIR for a file used as a directory', async () => {
    const sim = setup();
    const c = sim.fs.constants;
    await expect(sim.fs.open('/S/none', c.O_RDONLY)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(sim.fs.open('/X/new', c.O_WRONLY | c.O_CREAT)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(sim.fs.open('/S/old/new', c.O_WRONLY | c.O_CREAT)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(sim.fs.lstat('/S/none')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes and reads at explicit positions and at the current offset', async () => {
    const sim = setup();
    const c = sim.fs.constants;
    const fd = await sim.fs.open('/S/f', c.O_RDWR | c.O_CREAT | c.O_EXCL);
    await sim.fs.write(fd, enc('hello'), 0, 5, null);
    await sim.fs.write(fd, enc(' world'), 0, 6, null);
    await sim.fs.write(fd, enc('J'), 0, 1, 0);
    const buf = new Uint8Array(20);
    expect(await sim.fs.read(fd, buf, 0, 20, 0)).toBe(11);
    expect(dec(buf.subarray(0, 11))).toBe('Jello world');
    expect(await sim.fs.read(fd, buf, 0, 20, 11)).toBe(0);
    expect((await sim.fs.fstat(fd)).size).toBe(11);
  });

  it('rejects calls on a closed descriptor and writes on a read-only one with EBADF', async () => {
    const sim = setup();
    const c = sim.fs.constants;
    const ro = await sim.fs.open('/S/old', c.O_RDONLY);
    await expect(sim.fs.write(ro, enc('x'), 0, 1, 0)).rejects.toMatchObject({ code: 'EBADF' });
    await sim.fs.close(ro);
    await expect(sim.fs.fstat(ro)).rejects.toMatchObject({ code: 'EBADF' });
    await expect(sim.fs.close(ro)).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('refuses directories where files are expected and the reverse', async () => {
    const sim = setup();
    const c = sim.fs.constants;
    await expect(sim.fs.open('/S', c.O_WRONLY)).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(sim.fs.open('/S/old', c.O_RDONLY | c.O_DIRECTORY)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(sim.fs.unlink('/S')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(sim.fs.link('/S', '/S2')).rejects.toMatchObject({ code: 'EPERM' });
    await expect(sim.fs.mkdir('/S', { recursive: false })).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(sim.fs.mkdir('/S/old', { recursive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    await sim.fs.mkdir('/S', { recursive: true });
    await sim.fs.mkdir('/A/B/C', { recursive: true });
    expect(sim.list('/A/B')).toEqual(['C']);
  });

  it('refuses to rename onto a non-empty directory (ENOTEMPTY), a file onto a directory (EISDIR), a directory into itself (EINVAL)', async () => {
    const sim = setup();
    sim.mkdirp('/D/sub');
    sim.mkdirp('/E');
    await expect(sim.fs.rename('/E', '/D')).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    await expect(sim.fs.rename('/S/old', '/E')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(sim.fs.rename('/D', '/D/sub/x')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(sim.fs.rename('/E', '/S/old')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await sim.fs.rename('/E', '/D/sub/E');
    expect(sim.list('/D/sub')).toEqual(['E']);
  });

  it('gives hard links one identity: same inode, link counts that follow link and unlink', async () => {
    const sim = setup();
    await sim.fs.link('/S/old', '/S/twin');
    const a = await sim.fs.lstat('/S/old');
    const b = await sim.fs.lstat('/S/twin');
    expect(a.ino).toBe(b.ino);
    expect(b.nlink).toBe(2);
    await expect(sim.fs.link('/S/old', '/S/twin')).rejects.toMatchObject({ code: 'EEXIST' });
    await sim.fs.unlink('/S/old');
    expect((await sim.fs.lstat('/S/twin')).nlink).toBe(1);
    await sim.fs.rename('/S/twin', '/S/twin');
    expect(sim.list('/S')).toEqual(['link', 'pipe', 'twin']);
  });

  it('streams directory entries with their kinds, symlinks and FIFOs not followed', async () => {
    const sim = setup();
    sim.mkdirp('/S/dir');
    const seen: string[] = [];
    const dir = await sim.fs.opendir('/S');
    for await (const e of dir) {
      seen.push(`${e.name}:${e.isFile() ? 'f' : e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'o'}`);
    }
    expect(seen.sort()).toEqual(['dir:d', 'link:l', 'old:f', 'pipe:o']);
    await expect(sim.fs.opendir('/S/old')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(sim.fs.opendir('/nope')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('opens a FIFO only with O_NONBLOCK, and then fstat shows it is not a file', async () => {
    const sim = setup();
    const c = sim.fs.constants;
    await expect(sim.fs.open('/S/pipe', c.O_RDONLY)).rejects.toMatchObject({ code: 'EAGAIN' });
    const fd = await sim.fs.open('/S/pipe', c.O_RDONLY | (c.O_NONBLOCK ?? 0));
    expect((await sim.fs.fstat(fd)).isFile()).toBe(false);
  });

  it('stops the world at the armed crash point: the next change and every later call throw SimulatedCrash', async () => {
    const sim = setup();
    const c = sim.fs.constants;
    sim.crashAfter(2);
    const fd = await sim.fs.open('/S/new', c.O_WRONLY | c.O_CREAT | c.O_EXCL); // op 0
    await sim.fs.write(fd, enc('abc'), 0, 3, 0); // op 1
    expect(await sim.fs.lstat('/S/new')).toBeDefined(); // reads still work before the crash
    await expect(sim.fs.fsync(fd)).rejects.toBeInstanceOf(SimulatedCrash);
    expect(sim.crashed).toBe(true);
    expect(sim.opCount).toBe(2);
    await expect(sim.fs.lstat('/S/old')).rejects.toBeInstanceOf(SimulatedCrash);
    await expect(sim.fs.opendir('/S')).rejects.toSatisfy(isSimulatedCrash);
  });

  it('prints the operation log as readable lines', async () => {
    const sim = setup();
    await writeNew(sim.fs, '/S/t1', 'x', true);
    await sim.fs.link('/S/t1', '/S/m1');
    await sim.fs.unlink('/S/t1');
    await sim.fs.rename('/S/m1', '/S/old');
    await syncDir(sim.fs, '/S');
    expect(sim.describeOps()).toEqual([
      expect.stringMatching(/^#0 open-create \/S\/t1 \(ino \d+\)$/),
      '#1 write /S/t1 @0 +1 bytes',
      '#2 fsync file /S/t1',
      '#3 link /S/t1 -> /S/m1',
      '#4 unlink /S/t1',
      '#5 rename /S/m1 -> /S/old (replacing)',
      '#6 fsync dir /S',
    ]);
  });

  it('refuses setup helpers once operations are logged, until a checkpoint makes them durable', async () => {
    const sim = setup();
    await writeNew(sim.fs, '/S/new', 'n', false);
    expect(() => sim.mkdirp('/T')).toThrow(/checkpoint/);
    sim.checkpoint();
    expect(sim.opCount).toBe(0);
    sim.mkdirp('/T');
    expect(sim.key('durable')).toBe(sim.key('volatile'));
  });
});
