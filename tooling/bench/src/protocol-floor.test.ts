import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fanOut, initSpool } from '@fanout/core';
import { localPosixFs, memoryBackedPosixFs, PosixBackend, type PosixFs } from '@fanout/fs-posix';
import { callCountingFs, type CallCounts } from './counting-fs.js';
import { protocolFloorSync } from './protocol-floor.js';

let root: string;
const DESTINATIONS = ['D1', 'D2', 'D3'];
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'fanout-floor-'));
  for (const name of ['S', ...DESTINATIONS]) await initSpool(new PosixBackend({ root: join(root, name) }));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function enqueueMessages(count: number, size: number): void {
  for (let i = 0; i < count; i++)
    writeFileSync(join(root, 'S', `sM${String(i).padStart(4, '0')}`), Buffer.alloc(size, 97 + (i % 26)));
}

/** Calls of one `fanOut` of the source to the destinations, `lstat` and `lstatIfExists` counted together. */
async function fanOutCalls(fs: PosixFs, batchSize: number): Promise<CallCounts> {
  const counted = callCountingFs(fs);
  const spool = (name: string) => new PosixBackend({ root: join(root, name), fs: counted.fs });
  const summary = await fanOut({
    source: spool('S'),
    destinations: DESTINATIONS.map((d) => ({ spool: spool(d) })),
    protocol: 'staged',
    batchSize,
    concurrency: 1,
  });
  expect(summary.failed).toEqual([]);
  const { lstatIfExists = 0, ...rest } = counted.callCounts();
  return { ...rest, lstat: (rest.lstat ?? 0) + lstatIfExists };
}

/** What `after` has more of than `before`, by call (listings left out: the floor does not count its own). */
function minus(after: CallCounts, before: CallCounts): CallCounts {
  const out: CallCounts = {};
  for (const [name, n] of Object.entries(after)) {
    const more = n - (before[name] ?? 0);
    if (more !== 0 && name !== 'opendir' && !name.endsWith(' failed')) out[name] = more;
  }
  return out;
}

function withoutFailed(calls: CallCounts): CallCounts {
  return Object.fromEntries(Object.entries(calls).filter(([name]) => !name.endsWith(' failed')));
}

describe('protocolFloorSync', () => {
  it('moves every message to every destination as the fan-out does, leaving nothing behind', () => {
    enqueueMessages(70, 300);
    const r = protocolFloorSync(
      join(root, 'S'),
      DESTINATIONS.map((d) => join(root, d)),
      { batchSize: 32, durable: true },
    );
    expect(r).toMatchObject({ messages: 70, bytes: 70 * 300 });
    // Per batch: the record, then the take, the commit and the publish each made durable; per message, 3 copies.
    expect(r.fsyncFile).toBe(3 + 70 * 3);
    expect(r.fsyncDirectory).toBe(3 * (1 + 3 + 1 + 3));
    expect(readdirSync(join(root, 'S'))).toEqual(['.fanout-spool']);
    for (const d of DESTINATIONS) {
      expect(readdirSync(join(root, d)).filter((n) => n !== '.fanout-spool')).toHaveLength(70);
      expect(readFileSync(join(root, d, 'dM0003'), 'utf8')).toBe('d'.repeat(300));
    }
  });

  it.each([
    { count: 40, size: 4096, fs: localPosixFs, durable: true, what: 'durable, on a disk' },
    { count: 40, size: 700 * 1024, fs: localPosixFs, durable: true, what: 'durable, messages of several read chunks' },
    { count: 40, size: 4096, fs: memoryBackedPosixFs, durable: false, what: 'no fsync, as on tmpfs' },
  ])('makes the very calls fanOut makes for $count messages of $size bytes ($what), kind by kind', async (c) => {
    const { count, size, fs, durable } = c;
    // fanOut's fixed cost (opening the spools, recovery's checks) is what it makes for no message at all.
    const fixed = await fanOutCalls(fs, 32);
    enqueueMessages(count, size);
    const fanOutPerMessages = minus(await fanOutCalls(fs, 32), fixed);
    enqueueMessages(count, size);
    const floor = protocolFloorSync(
      join(root, 'S'),
      DESTINATIONS.map((d) => join(root, d)),
      { batchSize: 32, durable },
    );
    expect(withoutFailed(floor.calls)).toEqual(fanOutPerMessages);
  });
});
