/**
 * SIGHUP under `run --watch` (issue 16, item 4): it never kills the process
 * (before, it died with 129 in the middle of a transaction, leaving markers);
 * with `--config` it reloads the file — routes added, removed, changed, a
 * changed route finishing its transaction in hand first — and an invalid
 * file is reported in one line while the running configuration is kept.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { delivered, fanout, jsonEvent, lines, names, tempDir } from './cli-harness.js';
import { countLines, startFanout, waitFor } from './daemon-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** A transform that holds each chunk for `ms`, so a transaction is in hand when a signal comes. */
async function slowTransform(ms: number): Promise<string> {
  const file = join(dir, 'slow.mjs');
  await writeFile(
    file,
    `import { Transform } from 'node:stream';\n` +
      `export default () => new Transform({ transform(chunk, _enc, cb) { ` +
      `setTimeout(() => cb(null, chunk), ${ms}); } });\n`,
  );
  return file;
}

async function enqueue(spool: string, text: string): Promise<string> {
  const r = await fanout(['enqueue', spool], { cwd: dir, input: text });
  expect(r.status).toBe(0);
  return lines(r.stdout)[0]!;
}

const started = (out: string, id: string) => lines(out).some((l) => l.includes('"message-started"') && l.includes(id));

describe('SIGHUP and run --watch', () => {
  it('without --config: logs and ignores SIGHUP, even in the middle of a transaction, which then commits', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const slow = await slowTransform(1500);
    const daemon = startFanout(
      ['run', '--from', 'S', '--to', 'A', '--transform', slow, '--watch', '--interval', '100', '--json'],
      { cwd: dir },
    );
    try {
      const id = await enqueue('S', 'in hand');
      await waitFor('the transaction to start', () => started(daemon.stdout(), id));
      daemon.child.kill('SIGHUP');
      await waitFor('the message delivered', async () => (await delivered(join(dir, 'A'))).size === 1);
      await sleep(300);
      expect(daemon.exited()).toBe(false);
      expect(countLines(daemon.stderr(), /SIGHUP: nothing to reload \(no --config\); ignored/)).toBe(1);
      const r = await daemon.stop();
      expect(r.signal).toBeNull();
      expect(r.status).toBe(0);
      expect(await names(join(dir, 'S'))).toEqual([]);
      expect(await delivered(join(dir, 'A'))).toEqual(new Map([[id, 'in hand']]));
      expect(lines(r.stdout).map(jsonEvent)).toContainEqual({ type: 'reload-ignored', reason: 'no --config' });
    } finally {
      await daemon.stop('SIGKILL');
    }
  });

  it('with --config: reloads routes added, changed and removed; a changed route finishes its transaction first; an invalid file keeps the running config', async () => {
    await fanout(['init', 'S', 'A', 'B', 'T', 'C'], { cwd: dir });
    const slow = await slowTransform(1500);
    const config = join(dir, 'fanout.yaml');
    const spools = ['spools:', '  S: ./S', '  A: ./A', '  B: ./B', '  T: ./T', '  C: ./C', 'routes:'];
    await writeFile(config, [...spools, `  - { name: main, from: S, to: A, transform: ${slow} }`, ''].join('\n'));
    const daemon = startFanout(['--config', config, 'run', '--watch', '--interval', '100', '--json'], { cwd: dir });
    try {
      // A transaction of the old "main" is in hand when the new config comes.
      const first = await enqueue('S', 'first');
      await waitFor('the first transaction to start', () => started(daemon.stdout(), first));
      await writeFile(
        config,
        [...spools, '  - { name: main, from: S, to: [A, B] }', '  - { name: extra, from: T, to: C }', ''].join('\n'),
      );
      daemon.child.kill('SIGHUP');
      await waitFor('the reload', () =>
        /SIGHUP: reloaded .*fanout\.yaml: added extra; changed main; removed none; unchanged none/.test(
          daemon.stderr(),
        ),
      );
      // The old main finished its transaction before the new one started: delivered once, to A only.
      expect(await delivered(join(dir, 'A'))).toEqual(new Map([[first, 'first']]));
      expect(await names(join(dir, 'B'))).toEqual([]);
      expect(await names(join(dir, 'S'))).toEqual([]);

      const second = await enqueue('S', 'second');
      const third = await enqueue('T', 'third');
      await waitFor(
        'the new routes to deliver',
        async () => (await delivered(join(dir, 'B'))).has(second) && (await delivered(join(dir, 'C'))).has(third),
      );
      expect((await delivered(join(dir, 'A'))).get(second)).toBe('second');

      await writeFile(config, 'routes: [\n');
      daemon.child.kill('SIGHUP');
      await waitFor('the refusal', () =>
        /SIGHUP: .*fanout\.yaml.*\(EUSAGE\); keeping the running configuration/.test(daemon.stderr()),
      );
      const fourth = await enqueue('T', 'fourth');
      await waitFor('the kept route to deliver', async () => (await delivered(join(dir, 'C'))).has(fourth));

      await writeFile(config, [...spools, '  - { name: main, from: S, to: [A, B] }', ''].join('\n'));
      daemon.child.kill('SIGHUP');
      await waitFor('the second reload', () =>
        /SIGHUP: reloaded .*: added none; changed none; removed extra; unchanged main/.test(daemon.stderr()),
      );
      const fifth = await enqueue('T', 'fifth');
      await sleep(1000);
      expect(await names(join(dir, 'T'))).toEqual([`s${fifth}`]);

      expect(daemon.exited()).toBe(false);
      const r = await daemon.stop();
      expect(r.status).toBe(0);
      expect(countLines(r.stderr, /keeping the running configuration/)).toBe(1);
      const events = lines(r.stdout).map(jsonEvent);
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'config-reloaded',
          added: ['extra'],
          changed: ['main'],
          removed: [],
          unchanged: [],
        }),
      );
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'reload-failed', error: expect.objectContaining({ code: 'EUSAGE' }) }),
      );
      // Each stopped route's summary: the old main (1 message), extra (2), and at the end the new main (1).
      expect(events.filter((e) => e.type === 'summary').map((e) => [e.route, e.committed])).toEqual([
        ['main', 1],
        ['extra', 2],
        ['main', 1],
      ]);
    } finally {
      await daemon.stop('SIGKILL');
    }
  });
});
