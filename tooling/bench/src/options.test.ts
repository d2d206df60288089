import { describe, expect, it } from 'vitest';
import { parseOptions, parseSettings } from './options.js';

describe('parseOptions', () => {
  it('defaults to the sizes issue 9 asks for', () => {
    const o = parseOptions([], {});
    expect(o).toMatchObject({
      destinations: 3,
      messages: 3000,
      smallSize: 4096,
      largeSize: 262144,
      rounds: 3,
      cli: true,
      doc: true,
    });
    expect(o.scale).toEqual([20000, 200000]);
  });
  it('takes flags in both spellings over the environment', () => {
    const o = parseOptions(['--messages', '500', '--rounds=2'], {
      FANOUT_BENCH_MESSAGES: '900',
      FANOUT_BENCH_LARGE_MESSAGES: '30',
    });
    expect(o.messages).toBe(500);
    expect(o.rounds).toBe(2);
    expect(o.largeMessages).toBe(30);
  });
  it('switches parts off with --no-*', () => {
    const o = parseOptions(['--no-cli', '--no-doc', '--no-scale', '--no-matrix', '--no-strace'], {});
    expect(o).toMatchObject({ cli: false, doc: false, scale: [], matrix: false, strace: false });
  });
  it('runs the matrix of issue 17 by default, on /dev/shm and the disk, with 30,000 messages for its scale case', () => {
    expect(parseOptions([], {})).toMatchObject({
      matrix: true,
      tmpfsDir: '/dev/shm',
      manyMessages: 30000,
      hugeMessages: 10,
      manyOnDisk: false,
      strace: true,
    });
    expect(parseOptions(['--quick'], {})).toMatchObject({ matrix: true, manyMessages: 2000, hugeMessages: 2 });
  });
  it('runs the real-NFS section by default (v4.2 then v3, 300 × 4 KiB, 3 rounds); --no-nfs or FANOUT_BENCH_NFS=false switch it off, --only-nfs runs it alone', () => {
    expect(parseOptions([], {})).toMatchObject({
      nfs: true,
      onlyNfs: false,
      nfsVersions: ['4.2', '3'],
      nfsMessages: 300,
      nfsSize: 4096,
      nfsRounds: 3,
      nfsLimit: 1500,
    });
    expect(parseOptions(['--no-nfs'], {}).nfs).toBe(false);
    expect(parseOptions([], { FANOUT_BENCH_NFS: 'false' }).nfs).toBe(false);
    expect(parseOptions(['--only-nfs', '--nfs-versions', '4.2', '--nfs-messages=50'], {})).toMatchObject({
      onlyNfs: true,
      nfsVersions: ['4.2'],
      nfsMessages: 50,
    });
    expect(parseOptions([], { FANOUT_BENCH_ONLY_NFS: '1', FANOUT_BENCH_NFS_VERSIONS: '3' })).toMatchObject({
      onlyNfs: true,
      nfsVersions: ['3'],
    });
    expect(parseOptions(['--quick'], {})).toMatchObject({ nfs: true, nfsMessages: 60, nfsRounds: 1 });
    expect(() => parseOptions(['--nfs-versions', '4'], {})).toThrow(/bad NFS version "4"/);
  });
  it('runs the matrix alone with --only-matrix (or FANOUT_BENCH_ONLY_MATRIX=1), not by default', () => {
    expect(parseOptions([], {}).onlyMatrix).toBe(false);
    expect(parseOptions(['--only-matrix', '--rounds', '5'], {})).toMatchObject({ onlyMatrix: true, rounds: 5 });
    expect(parseOptions([], { FANOUT_BENCH_ONLY_MATRIX: '1' }).onlyMatrix).toBe(true);
  });
  it('shrinks everything with --quick but lets an explicit count win', () => {
    const o = parseOptions(['--quick', '--messages', '50'], {});
    expect(o.messages).toBe(50);
    expect(o.rounds).toBe(1);
    expect(o.doc).toBe(false);
  });
  it('refuses unknown flags and counts that are not positive integers', () => {
    expect(() => parseOptions(['--mesages', '5'], {})).toThrow(/unknown option/);
    expect(() => parseOptions(['--rounds', '0'], {})).toThrow(/positive integer/);
    expect(() => parseOptions(['--messages'], {})).toThrow(/needs a value/);
  });
});

describe('parseSettings', () => {
  it('reads batch x concurrency pairs', () => {
    expect(parseSettings('64x4, 128x8')).toEqual([
      { batchSize: 64, concurrency: 4 },
      { batchSize: 128, concurrency: 8 },
    ]);
    expect(parseSettings('none')).toEqual([]);
  });
  it('refuses anything else', () => {
    expect(() => parseSettings('64*4')).toThrow(/expected <batch>x<concurrency>/);
  });
});
