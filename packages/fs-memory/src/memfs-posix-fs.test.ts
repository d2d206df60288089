/**
 * Two halves. "memfs 4.80.1 still …" pins each memfs departure from POSIX
 * that the adapter works around: when memfs fixes one, its test fails and
 * tells us the workaround can go. The adapter half checks that
 * {@link memfsPosixFs} behaves as POSIX says, in the same situations.
 */
import { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { memfsPosixFs } from './memfs-posix-fs.js';

function code(action: () => unknown): string | undefined {
  try {
    action();
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
  return undefined;
}

async function codeOf(action: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await action();
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
  return undefined;
}

function volumeWith(files: Record<string, string>): Volume {
  const vol = new Volume();
  for (const [path, content] of Object.entries(files)) {
    vol.mkdirSync(path.slice(0, path.lastIndexOf('/')) || '/', { recursive: true });
    vol.writeFileSync(path, content);
  }
  return vol;
}

describe('memfs 4.80.1 still departs from POSIX (raw memfs)', () => {
  it('renaming over an existing name keeps the replaced file\u2019s link count and leaves its directory unremovable', () => {
    const vol = volumeWith({ '/d/a': 'A', '/d/b': 'B' });
    vol.linkSync('/d/b', '/d/b2');
    vol.renameSync('/d/a', '/d/b');
    // POSIX: b2 is now the replaced file's only name, so its nlink is 1.
    expect(vol.lstatSync('/d/b2').nlink).toBe(2);
    vol.unlinkSync('/d/b');
    vol.unlinkSync('/d/b2');
    expect(vol.readdirSync('/d')).toEqual([]);
    // POSIX: an empty directory can be removed.
    expect(code(() => vol.rmdirSync('/d'))).toBe('ENOTEMPTY');
  });

  it('renaming between two hard links of one file removes the source, where POSIX does nothing', () => {
    const vol = volumeWith({ '/h/p': 'P' });
    vol.linkSync('/h/p', '/h/q');
    vol.renameSync('/h/p', '/h/q');
    expect(vol.readdirSync('/h')).toEqual(['q']);
  });

  it('renaming a symlink moves what it points to and leaves the link behind', () => {
    const vol = volumeWith({ '/l/target': 'T' });
    vol.symlinkSync('/l/target', '/l/sym');
    vol.renameSync('/l/sym', '/l/moved');
    expect(vol.lstatSync('/l/moved').isSymbolicLink()).toBe(false);
    expect(vol.lstatSync('/l/sym').isSymbolicLink()).toBe(true);
    expect(vol.existsSync('/l/target')).toBe(false);
  });

  it('renaming a file onto a directory replaces the directory, where POSIX says EISDIR', () => {
    const vol = volumeWith({ '/r/f': 'F' });
    vol.mkdirSync('/r/dir');
    expect(code(() => vol.renameSync('/r/f', '/r/dir'))).toBeUndefined();
    expect(vol.lstatSync('/r/dir').isFile()).toBe(true);
  });

  it('hard-links a directory, where POSIX says EPERM', () => {
    const vol = new Volume();
    vol.mkdirSync('/s/dir', { recursive: true });
    expect(code(() => vol.linkSync('/s/dir', '/s/dir2'))).toBeUndefined();
  });

  it('accepts mkdir -p over an existing file, where POSIX says EEXIST', () => {
    const vol = volumeWith({ '/f': 'x' });
    expect(code(() => vol.mkdirSync('/f', { recursive: true }))).toBeUndefined();
  });

  it('writes through a read-only descriptor and reads a directory descriptor as empty', () => {
    const vol = volumeWith({ '/s/a': 'abc' });
    const fd = vol.openSync('/s/a', 'r');
    expect(vol.writeSync(fd, Buffer.from('zz'), 0, 2, 0)).toBe(2);
    const dirFd = vol.openSync('/s', 'r');
    expect(vol.readSync(dirFd, Buffer.alloc(8), 0, 8, 0)).toBe(0);
  });

  it('fsync does nothing but check the descriptor', () => {
    const vol = volumeWith({ '/s/a': 'abc' });
    const fd = vol.openSync('/s/a', 'r');
    expect(code(() => vol.fsyncSync(fd))).toBeUndefined();
    vol.closeSync(fd);
    expect(code(() => vol.fsyncSync(fd))).toBe('EBADF');
  });

  it('loses hard-link identity in its JSON export: two names of one file come back as two files', () => {
    const vol = volumeWith({ '/j/a': 'J' });
    vol.linkSync('/j/a', '/j/b');
    const copy = Volume.fromJSON(vol.toJSON('/j') as Record<string, string>);
    expect(copy.lstatSync('/j/a').ino).not.toBe(copy.lstatSync('/j/b').ino);
    expect(copy.lstatSync('/j/a').nlink).toBe(1);
  });
});

describe('memfs 4.80.1 honours what the backend relies on (raw memfs)', () => {
  it('refuses O_EXCL creation over a file, a directory, a symlink and a dangling symlink', () => {
    const vol = volumeWith({ '/s/file': 'x' });
    vol.mkdirSync('/s/dir');
    vol.symlinkSync('/s/file', '/s/link');
    vol.symlinkSync('/s/nowhere', '/s/dangling');
    const fs = memfsPosixFs(vol);
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
    for (const name of ['file', 'dir', 'link', 'dangling'])
      expect(
        code(() => vol.openSync(`/s/${name}`, flags)),
        name,
      ).toBe('EEXIST');
    expect(vol.existsSync('/s/nowhere')).toBe(false);
  });

  it('refuses to open a symlink with O_NOFOLLOW (ELOOP) and a file with O_DIRECTORY (ENOTDIR)', () => {
    const vol = volumeWith({ '/s/file': 'x' });
    vol.symlinkSync('/s/file', '/s/link');
    const { constants: c } = memfsPosixFs(vol);
    expect(code(() => vol.openSync('/s/link', c.O_RDONLY | c.O_NOFOLLOW))).toBe('ELOOP');
    expect(code(() => vol.openSync('/s/file', c.O_RDONLY | c.O_DIRECTORY))).toBe('ENOTDIR');
  });

  it('streams a directory with opendir, reporting kinds without following links', async () => {
    const vol = volumeWith({ '/s/file': 'x' });
    vol.mkdirSync('/s/dir');
    vol.symlinkSync('/s/dir', '/s/link');
    const seen: [string, boolean, boolean, boolean][] = [];
    for await (const d of await vol.promises.opendir('/s'))
      seen.push([d.name as string, d.isFile(), d.isDirectory(), d.isSymbolicLink()]);
    expect(seen).toEqual([
      ['file', true, false, false],
      ['dir', false, true, false],
      ['link', false, false, true],
    ]);
  });
});

describe('memfsPosixFs behaves as POSIX says', () => {
  it('renames over an existing file by dropping that file: link counts stay true and the directory empties', async () => {
    const vol = volumeWith({ '/d/a': 'A', '/d/b': 'B' });
    vol.linkSync('/d/b', '/d/b2');
    const fs = memfsPosixFs(vol);
    await fs.rename('/d/a', '/d/b');
    expect(vol.readFileSync('/d/b', 'utf8')).toBe('A');
    expect((await fs.lstat('/d/b2')).nlink).toBe(1);
    expect(vol.readFileSync('/d/b2', 'utf8')).toBe('B');
    await fs.unlink('/d/b');
    await fs.unlink('/d/b2');
    expect(code(() => vol.rmdirSync('/d'))).toBeUndefined();
  });

  it('does nothing when renaming between two names of one file', async () => {
    const vol = volumeWith({ '/h/p': 'P' });
    const fs = memfsPosixFs(vol);
    await fs.link('/h/p', '/h/q');
    await fs.rename('/h/p', '/h/q');
    expect(vol.readdirSync('/h')).toEqual(['p', 'q']);
    expect((await fs.lstat('/h/p')).nlink).toBe(2);
  });

  it('renames a symlink itself, leaving its target where it was', async () => {
    const vol = volumeWith({ '/l/target': 'T' });
    vol.symlinkSync('/l/target', '/l/sym');
    vol.symlinkSync('/l/nowhere', '/l/dangling');
    const fs = memfsPosixFs(vol);
    await fs.rename('/l/sym', '/l/moved');
    await fs.rename('/l/dangling', '/l/dangling2');
    expect(vol.readdirSync('/l')).toEqual(['dangling2', 'moved', 'target']);
    expect((await fs.lstat('/l/moved')).isSymbolicLink()).toBe(true);
    expect(vol.readlinkSync('/l/moved')).toBe('/l/target');
    expect(vol.readFileSync('/l/target', 'utf8')).toBe('T');
  });

  it('refuses to rename a file onto a directory (EISDIR), a directory onto a file (ENOTDIR) or a full directory (ENOTEMPTY)', async () => {
    const vol = volumeWith({ '/r/f': 'F', '/r/full/x': 'x' });
    vol.mkdirSync('/r/empty');
    vol.mkdirSync('/r/other');
    const fs = memfsPosixFs(vol);
    expect(await codeOf(() => fs.rename('/r/f', '/r/empty'))).toBe('EISDIR');
    expect(await codeOf(() => fs.rename('/r/empty', '/r/f'))).toBe('ENOTDIR');
    expect(await codeOf(() => fs.rename('/r/other', '/r/full'))).toBe('ENOTEMPTY');
    expect(await codeOf(() => fs.rename('/r/other', '/r/other/inside'))).toBe('EINVAL');
    await fs.rename('/r/other', '/r/empty');
    expect(vol.readdirSync('/r').sort()).toEqual(['empty', 'f', 'full']);
  });

  it('reports a missing source or target directory as ENOENT, changing nothing', async () => {
    const vol = volumeWith({ '/r/f': 'F' });
    const fs = memfsPosixFs(vol);
    expect(await codeOf(() => fs.rename('/r/missing', '/r/g'))).toBe('ENOENT');
    expect(await codeOf(() => fs.rename('/r/f', '/nowhere/g'))).toBe('ENOENT');
    expect(vol.readdirSync('/r')).toEqual(['f']);
  });

  it('refuses to hard-link a directory (EPERM) and links a symlink as a symlink', async () => {
    const vol = volumeWith({ '/s/file': 'x' });
    vol.mkdirSync('/s/dir');
    vol.symlinkSync('/s/file', '/s/link');
    const fs = memfsPosixFs(vol);
    expect(await codeOf(() => fs.link('/s/dir', '/s/dir2'))).toBe('EPERM');
    expect(vol.existsSync('/s/dir2')).toBe(false);
    await fs.link('/s/link', '/s/link2');
    expect((await fs.lstat('/s/link2')).isSymbolicLink()).toBe(true);
    expect(await codeOf(() => fs.link('/s/file', '/s/link'))).toBe('EEXIST');
  });

  it('refuses mkdir -p over a file with EEXIST and accepts it over a directory', async () => {
    const vol = volumeWith({ '/f': 'x' });
    const fs = memfsPosixFs(vol);
    expect(await codeOf(() => fs.mkdir('/f', { recursive: true }))).toBe('EEXIST');
    await fs.mkdir('/a/b/c', { recursive: true });
    await fs.mkdir('/a/b/c', { recursive: true });
    expect((await fs.lstat('/a/b/c')).isDirectory()).toBe(true);
  });

  it('refuses writes through a read-only descriptor (EBADF) and reads of a directory (EISDIR)', async () => {
    const vol = volumeWith({ '/s/a': 'abc' });
    const fs = memfsPosixFs(vol);
    const c = fs.constants;
    const fd = await fs.open('/s/a', c.O_RDONLY);
    expect(await codeOf(() => fs.write(fd, new Uint8Array([1]), 0, 1, 0))).toBe('EBADF');
    expect(vol.readFileSync('/s/a', 'utf8')).toBe('abc');
    await fs.close(fd);
    const dirFd = await fs.open('/s', c.O_RDONLY | c.O_DIRECTORY);
    expect(await codeOf(() => fs.read(dirFd, new Uint8Array(4), 0, 4, 0))).toBe('EISDIR');
    await fs.fsync(dirFd);
    await fs.close(dirFd);
    expect(await codeOf(() => fs.fsync(dirFd))).toBe('EBADF');
  });

  it('writes and reads Uint8Array views at positions, as pwrite and pread do', async () => {
    const vol = new Volume();
    vol.mkdirSync('/s');
    const fs = memfsPosixFs(vol);
    const c = fs.constants;
    const fd = await fs.open('/s/a', c.O_WRONLY | c.O_CREAT | c.O_EXCL, 0o644);
    const backing = new TextEncoder().encode('..hello world..');
    expect(await fs.write(fd, backing.subarray(2, 13), 0, 5, 0)).toBe(5);
    expect(await fs.write(fd, backing.subarray(2, 13), 5, 6, 5)).toBe(6);
    await fs.fsync(fd);
    await fs.close(fd);
    const rd = await fs.open('/s/a', c.O_RDONLY | c.O_NOFOLLOW | (c.O_NONBLOCK ?? 0));
    const out = new Uint8Array(32);
    const n = await fs.read(rd, out, 3, 29, 0);
    expect(new TextDecoder().decode(out.subarray(3, 3 + n))).toBe('hello world');
    expect(await fs.read(rd, out, 0, 4, 11)).toBe(0);
    const st = await fs.fstat(rd);
    expect([st.isFile(), st.size, st.nlink]).toEqual([true, 11, 1]);
    await fs.close(rd);
  });

  it('lists with opendir, and closing after a finished iteration is harmless', async () => {
    const vol = volumeWith({ '/s/a': 'a', '/s/b': 'b' });
    const fs = memfsPosixFs(vol);
    const dir = await fs.opendir('/s');
    const names: string[] = [];
    for await (const entry of dir) names.push(entry.name);
    await dir.close();
    expect(names).toEqual(['a', 'b']);
    const early = await fs.opendir('/s');
    await early.close();
    await early.close();
    expect(await codeOf(() => fs.opendir('/missing'))).toBe('ENOENT');
    expect(await codeOf(() => fs.opendir('/s/a'))).toBe('ENOTDIR');
  });
});
