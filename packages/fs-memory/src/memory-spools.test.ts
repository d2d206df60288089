import { isFanoutError } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from './memory-backend.js';
import { createMemorySpools, memoryDirectoryOf, openMemorySpool, processMemorySpools } from './memory-spools.js';

const bytes = (text: string) => new TextEncoder().encode(text);

async function text(backend: MemoryBackend, name: string): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of backend.read(name)) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

describe('memory spools', () => {
  it('map memory://name to a directory of one shared volume, so a source and its destinations see one volume', async () => {
    const spools = createMemorySpools();
    const source = spools.open('memory://source');
    const dest = spools.open('memory://dest/a');
    await source.ensureContainer();
    await dest.ensureContainer();
    await source.createExclusive('s1', bytes('message'));
    await dest.createExclusive('d1', bytes('copy'));
    expect(spools.volume.readFileSync('/source/s1', 'utf8')).toBe('message');
    expect(spools.volume.readFileSync('/dest/a/d1', 'utf8')).toBe('copy');
    expect(source.directory).toBe('/source');
  });

  it('give two opens of one location the same spool, and separate registries separate volumes', async () => {
    const spools = createMemorySpools();
    const one = spools.open('memory://q');
    await one.ensureContainer();
    await one.createExclusive('s1', bytes('hello'));
    expect(await text(spools.open('memory://q'), 's1')).toBe('hello');
    const elsewhere = createMemorySpools().open('memory://q');
    await elsewhere.ensureContainer();
    expect(await elsewhere.stat('s1')).toBeUndefined();
  });

  it('open through the process-wide registry by default, or through the one given', async () => {
    const name = `memory://process-test-${Date.now()}`;
    const a = await openMemorySpool(name);
    await a.ensureContainer();
    await a.createExclusive('s1', bytes('shared'));
    expect(processMemorySpools().volume.existsSync(`${memoryDirectoryOf(name)}/s1`)).toBe(true);
    expect(await text(await openMemorySpool(name), 's1')).toBe('shared');
    const own = createMemorySpools();
    const b = await openMemorySpool(name, own);
    expect(b.volume).toBe(own.volume);
  });

  it('decode percent escapes in names and reject locations that are not memory://plain/names with EBADURL', () => {
    expect(memoryDirectoryOf('memory://my%20spool/in%C3%A9')).toBe('/my spool/in\u00e9');
    for (const bad of [
      'file:///tmp/x',
      'memory://',
      'memory:///abs',
      'memory://a//b',
      'memory://a/../b',
      'memory://.',
      'memory://a%2Fb',
      'memory://%zz',
      'memory://a?x=1',
      'memory://a#frag',
      '/plain/path',
    ]) {
      let error: unknown;
      try {
        memoryDirectoryOf(bad);
      } catch (err) {
        error = err;
      }
      expect(isFanoutError(error, 'EBADURL'), bad).toBe(true);
    }
  });

  it('report the location as given and say that syncDir promises nothing in memory', async () => {
    const backend = createMemorySpools().open('memory://caps');
    expect(backend.location).toBe('memory://caps');
    expect(typeof backend.link).toBe('function');
    await backend.ensureContainer();
    await backend.syncDir();
    let error: unknown;
    try {
      await backend.createExclusive('s1', bytes('x'));
      await backend.createExclusive('s1', bytes('y'));
    } catch (err) {
      error = err;
    }
    expect(isFanoutError(error, 'EEXIST')).toBe(true);
    expect((error as { spool?: string }).spool).toBe('memory://caps');
  });

  it('leave a spool directory removable after files were published and removed, despite memfs\u2019s rename bug', async () => {
    const spools = createMemorySpools();
    const spool = spools.open('memory://tidy');
    await spool.ensureContainer();
    await spool.createExclusive('w1', bytes('one'));
    await spool.createExclusive('d1', bytes('older'));
    await expect(spool.publish('w1', 'd1')).rejects.toMatchObject({ code: 'EEXIST' });
    await spool.remove('d1');
    await spool.publish('w1', 'd1');
    expect(await text(spool, 'd1')).toBe('one');
    expect((await spool.stat('d1'))?.nlink).toBe(1);
    await spool.remove('d1');
    spools.volume.rmdirSync('/tidy');
    expect(spools.volume.existsSync('/tidy')).toBe(false);
  });

  it('refuse a location whose directory is a file with EBADENTRY', async () => {
    const spools = createMemorySpools();
    spools.volume.writeFileSync('/occupied', 'not a directory');
    await expect(spools.open('memory://occupied').ensureContainer()).rejects.toMatchObject({ code: 'EBADENTRY' });
  });
});
