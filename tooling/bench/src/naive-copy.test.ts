import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePosixFs } from '@fanout/fs-posix';
import { countingFs } from './counting-fs.js';
import { naiveCopy, naiveCopySync } from './naive-copy.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fanout-naive-'));
  for (const d of ['S', 'D1', 'D2']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'S', '.fanout-spool'), 'identity');
  for (let i = 0; i < 5; i++) writeFileSync(join(root, 'S', `sM${i}`), `message ${i}`.repeat(i + 1));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function state(): Record<string, string[]> {
  return Object.fromEntries(['S', 'D1', 'D2'].map((d) => [d, readdirSync(join(root, d)).sort()]));
}

describe('the baselines', () => {
  it('sync and promise versions move the same messages with the same fsyncs (2 file and 3 directory fsyncs per message at 2 destinations)', async () => {
    const sync = naiveCopySync(
      join(root, 'S'),
      ['D1', 'D2'].map((d) => join(root, d)),
      true,
    );
    expect(sync).toEqual({ messages: 5, bytes: 135, fsyncFile: 10, fsyncDirectory: 15 });
    const after = state();
    expect(after.S).toEqual(['.fanout-spool']);
    expect(after.D1).toEqual(['dM0', 'dM1', 'dM2', 'dM3', 'dM4']);
    expect(readFileSync(join(root, 'D2', 'dM3'), 'utf8')).toBe('message 3'.repeat(4));

    for (let i = 0; i < 5; i++) writeFileSync(join(root, 'S', `sN${i}`), `message ${i}`.repeat(i + 1));
    const { fs, counts } = countingFs(nodePosixFs);
    const viaPromises = await naiveCopy(
      fs,
      join(root, 'S'),
      ['D1', 'D2'].map((d) => join(root, d)),
      true,
    );
    expect({ ...viaPromises, fsyncFile: counts.file, fsyncDirectory: counts.directory }).toEqual(sync);
  });

  it('the no-fsync copy makes no fsync', () => {
    expect(naiveCopySync(join(root, 'S'), [join(root, 'D1')], false)).toMatchObject({
      messages: 5,
      fsyncFile: 0,
      fsyncDirectory: 0,
    });
    expect(state().D1).toHaveLength(5);
  });
});
