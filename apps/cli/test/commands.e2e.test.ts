import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { delivered, fanout, lines, names, tempDir, jsonEvent } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe('fanout init', () => {
  it('creates spools and is idempotent, keeping each identity', async () => {
    const first = await fanout(['init', 'S', 'A'], { cwd: dir });
    expect(first.status).toBe(0);
    const [s, a] = lines(first.stdout).map((l) => l.split('\t'));
    expect(s).toEqual([join(dir, 'S'), expect.stringMatching(/^[0-9a-f-]{36}$/), 'created']);
    expect(a?.[2]).toBe('created');
    const again = await fanout(['init', 'S'], { cwd: dir });
    expect(again.status).toBe(0);
    expect(lines(again.stdout)[0]).toBe(`${join(dir, 'S')}\t${s![1]}\texists`);
  });
});

describe('fanout enqueue', () => {
  it('enqueues several files and stdin, printing one id per line in input order', async () => {
    await fanout(['init', 'S'], { cwd: dir });
    await writeFile(join(dir, 'one'), 'first');
    await writeFile(join(dir, 'two'), 'second');
    const r = await fanout(['enqueue', 'S', 'one', '-', 'two'], { cwd: dir, input: 'from stdin' });
    expect(r.status).toBe(0);
    const ids = lines(r.stdout);
    expect(ids).toHaveLength(3);
    const contents = await Promise.all(ids.map((id) => readFile(join(dir, 'S', `s${id}`), 'utf8')));
    expect(contents).toEqual(['first', 'from stdin', 'second']);
    expect(await names(join(dir, 'S'))).toEqual(ids.map((id) => `s${id}`).sort());
  });

  it('reads stdin when no file is given', async () => {
    await fanout(['init', 'S'], { cwd: dir });
    const r = await fanout(['enqueue', 'S'], { cwd: dir, input: 'piped' });
    expect(r.status).toBe(0);
    expect(await readFile(join(dir, 'S', `s${lines(r.stdout)[0]}`), 'utf8')).toBe('piped');
  });

  it('enqueues nothing and exits 2 when an input file is missing', async () => {
    await fanout(['init', 'S'], { cwd: dir });
    await writeFile(join(dir, 'one'), 'first');
    const r = await fanout(['enqueue', 'S', 'one', 'missing'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^fanout: missing: cannot read input file: ENOENT \(EUSAGE\)$/m);
    expect(await names(join(dir, 'S'))).toEqual([]);
  });

  it('exits 2 for a directory that is not a spool', async () => {
    const r = await fanout(['enqueue', 'nowhere'], { cwd: dir, input: 'x' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('(ENOTSPOOL)');
  });
});

describe('fanout run', () => {
  it('delivers every message to every destination and empties the source, exit 0', async () => {
    await fanout(['init', 'S', 'A', 'B'], { cwd: dir });
    const ids = lines((await fanout(['enqueue', 'S', '-'], { cwd: dir, input: 'hello' })).stdout);
    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--to', 'B'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /^fanout: 1 message fanned out to 2 spools, 0 failed, 0 skipped; 10 B written in .* msg\/s/m,
    );
    expect(await names(join(dir, 'S'))).toEqual([]);
    for (const d of ['A', 'B']) expect([...(await delivered(join(dir, d)))]).toEqual([[ids[0], 'hello']]);
  });

  it('prints one JSON object per event and a summary object with --json', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'abc' })).stdout);
    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--json'], { cwd: dir });
    expect(r.status).toBe(0);
    const events = lines(r.stdout).map(jsonEvent);
    expect(events.map((e) => e.type)).toEqual([
      'message-started',
      'message-committed',
      'transaction-finished',
      'summary',
    ]);
    expect(events[1]).toMatchObject({ id, bytes: 3 });
    expect(events[2]).toMatchObject({ tx: events[0]!.tx, messages: 1, committed: 1, durationMs: expect.any(Number) });
    expect(events[3]).toMatchObject({ committed: 1, failed: 0, skipped: 0, bytes: 3, refused: 0 });
  });

  it('exits 2 when a spool is missing, touching nothing', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'x' })).stdout);
    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--to', 'missing'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^fanout: ${join(dir, 'missing')}: \\.fanout-spool: .*\\(ENOTSPOOL\\)$`, 'm'));
    expect(await names(join(dir, 'S'))).toEqual([`s${id}`]);
    expect(await names(join(dir, 'A'))).toEqual([]);
  });

  it('exits 2 for usage errors: bad URL, credentials on argv, bad flags, unknown command, no destination', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const cases: [string[], RegExp][] = [
      [['run', '--from', 'ftp://h/x', '--to', 'A'], /\(EBADURL\)/],
      [['run', '--from', 'S', '--to', 'webdav+https://bob:s3cret@h/x'], /FANOUT_WEBDAV_USER/],
      [['run', '--from', 'S', '--to', 'A', '--batch', 'zero'], /--batch/],
      [['run', '--from', 'S', '--to', 'A', '--protocol', 'fast'], /--protocol/],
      [['run', '--from', 'S'], /at least one --to/],
      [['run', '--from', 'S', '--to', 'S'], /destination is the source/],
      [['frobnicate'], /unknown command/],
      [[], /Usage: fanout/],
    ];
    for (const [args, message] of cases) {
      const r = await fanout(args, { cwd: dir });
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('s3cret');
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('exits 1 and leaves the message in the source when a destination copy fails', async () => {
    await fanout(['init', 'S', 'A', 'B'], { cwd: dir });
    const ids = lines((await fanout(['enqueue', 'S', '-'], { cwd: dir, input: 'one' })).stdout);
    const more = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'two' })).stdout);
    const bad = more[0]!;
    await writeFile(
      join(dir, 'fail-one.mjs'),
      `import { Transform } from 'node:stream';
export default ({ id, destination }) => id === ${JSON.stringify(bad)} && destination.endsWith('/B')
  ? new Transform({ transform(c, e, cb) { cb(new Error('refusing ' + id)); } })
  : undefined;
`,
    );
    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--to', 'B', '--transform', 'fail-one.mjs'], {
      cwd: dir,
    });
    expect(r.status).toBe(1);
    // Issue 16: this was reported against the staged copy w<id>.<tx> in B, as EIO.
    expect(r.stderr).toMatch(
      new RegExp(
        `^fanout: ${join(dir, 'S')}: s${bad}: transform for ${join(dir, 'B')} failed: ` +
          `refusing ${bad} \\(ETRANSFORM\\) \\[failed attempt 1 of 5\\]$`,
        'm',
      ),
    );
    // The message waits, with its failed attempt counted (poison messages are held after --max-attempts).
    expect(await names(join(dir, 'S'))).toEqual([`a${bad}.0`, `s${bad}`]);
    expect(await readFile(join(dir, 'S', `s${bad}`), 'utf8')).toBe('two');
    for (const d of ['A', 'B']) expect(await names(join(dir, d))).toEqual(ids.map((id) => `d${id}`));
  });

  it('applies a transform module to the copies', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'shout' })).stdout);
    await writeFile(
      join(dir, 'upper.mjs'),
      `import { Transform } from 'node:stream';
export default () => new Transform({ transform(c, e, cb) { cb(null, c.toString().toUpperCase()); } });
`,
    );
    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--transform', './upper.mjs'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(await delivered(join(dir, 'A'))).toEqual(new Map([[id, 'SHOUT']]));
  });

  it('fails a message whose transform returns a string with ETRANSFORM naming s<id>, exit 1, the message untouched in the source', async () => {
    // Issue 16: the delivered copies held the string and the original was gone.
    await fanout(['init', 'S', 'A', 'B'], { cwd: dir });
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'the original' })).stdout);
    await writeFile(
      join(dir, 'stringly.mjs'),
      `export default ({ destination }) => destination.endsWith('/B') ? 'REPLACED' : undefined;\n`,
    );
    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--to', 'B', '--transform', 'stringly.mjs'], {
      cwd: dir,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^fanout: ${join(dir, 'S')}: s${id}: transform for ${join(dir, 'B')} returned a string, ` +
          `not a stream .*\\(ETRANSFORM\\) \\[failed attempt 1 of 5\\]$`,
        'm',
      ),
    );
    // It waits, with its failed attempt counted (held after --max-attempts).
    expect(await names(join(dir, 'S'))).toEqual([`a${id}.0`, `s${id}`]);
    expect(await readFile(join(dir, 'S', `s${id}`), 'utf8')).toBe('the original');
    for (const d of ['A', 'B']) expect(await names(join(dir, d))).toEqual([]);
  });

  it("reports each message's own bytes with --json, not the batch average", async () => {
    await fanout(['init', 'S', 'A', 'B'], { cwd: dir });
    const sizes = [1, 10, 1000];
    const ids: string[] = [];
    for (const n of sizes)
      ids.push(...lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'x'.repeat(n) })).stdout));
    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--to', 'B', '--json'], { cwd: dir });
    expect(r.status).toBe(0);
    const committed = new Map(
      lines(r.stdout)
        .map((l) => JSON.parse(l) as { type: string; id: string; bytes: number })
        .filter((e) => e.type === 'message-committed')
        .map((e) => [e.id, e.bytes]),
    );
    // Written bytes: each message once per destination.
    expect(committed).toEqual(new Map(ids.map((id, k) => [id, 2 * sizes[k]!])));
  });

  it('exits 2 for a transform module without a default function', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    await writeFile(join(dir, 'nothing.mjs'), 'export const x = 1;\n');
    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--transform', 'nothing.mjs'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^fanout: nothing\.mjs: transform module must export/m);
  });
});

describe('fanout status', () => {
  it('reports counts, markers and unknown entries as JSON', async () => {
    await fanout(['init', 'S'], { cwd: dir });
    await fanout(['enqueue', 'S', '-'], { cwd: dir, input: 'x' });
    await writeFile(join(dir, 'S', 'README'), 'not a message');
    const r = await fanout(['status', '--json', 'S'], { cwd: dir });
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s).toMatchObject({
      location: join(dir, 'S'),
      identity: { uuid: expect.any(String), format: 1 },
      counts: {
        source: 1,
        taken: 0,
        committed: 0,
        backout: 0,
        record: 0,
        staged: 0,
        delivered: 0,
        temp: 0,
        unknown: 1,
      },
      markers: [],
      unknown: [{ name: 'README', kind: 'file' }],
      truncated: false,
    });
  });

  it('exits 2 for a spool that does not exist', async () => {
    const r = await fanout(['status', 'nowhere'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('(ENOTSPOOL)');
  });
});

describe('spools that cannot be used', () => {
  it('exits 2 at parse time, before any network, for a WebDAV URL without a host', async () => {
    // Issue 16: webdav+http:///path was taken as host "path" and failed later with ENOTFOUND, exit 1.
    for (const cmd of [
      ['status', 'webdav+http:///path'],
      ['init', 'webdav+https:///path'],
      ['run', '--from', 'webdav+http:///in', '--to', 'webdav+http:///out'],
    ]) {
      const r = await fanout(cmd, { cwd: dir });
      expect({ cmd, status: r.status }).toEqual({ cmd, status: 2 });
      expect(lines(r.stderr)).toEqual([
        expect.stringMatching(
          /^fanout: webdav\+https?:\/\/\/(path|in): not a webdav\+http\(s\):\/\/host\[:port\]\/path URL \(EBADURL\)$/,
        ),
      ]);
    }
  });

  it('exits 2 with one line when init is given a regular file', async () => {
    // Issue 16: exit 1.
    await writeFile(join(dir, 'a-file'), 'not a directory');
    const r = await fanout(['init', './a-file'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `fanout: ${join(dir, 'a-file')}: spool location exists but is not a directory (EBADENTRY)`,
    ]);
    expect(await readFile(join(dir, 'a-file'), 'utf8')).toBe('not a directory');
  });

  it('exits 4 (unavailable) with one line naming the spool when status or init cannot reach it', async () => {
    // Issue 16: exit 1, which says "some messages failed". Port 1 on loopback refuses at once.
    await fanout(['init', 'S'], { cwd: dir });
    for (const cmd of ['status', 'init']) {
      const r = await fanout([cmd, 'S', 'webdav+http://127.0.0.1:1/spool'], { cwd: dir });
      expect({ cmd, status: r.status }).toEqual({ cmd, status: 4 });
      const errors = lines(r.stderr);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^fanout: webdav\+http:\/\/127\.0\.0\.1:1\/spool: .*\(EUNAVAILABLE\)$/);
    }
  });
});

describe('usage errors from the command line parser', () => {
  it('are one line with EUSAGE and the --help hint, exit 2', async () => {
    // Issue 16: two or three lines, without a code.
    const cases: [string[], string][] = [
      [['status', '--bogus', 'S'], "fanout: unknown option '--bogus' (EUSAGE) (add --help for usage)"],
      [['init'], "fanout: missing required argument 'spool' (EUSAGE) (add --help for usage)"],
      [
        ['run', '--from', 'S', '--to', 'A', '--batch', 'x'],
        "fanout: option '--batch <n>' argument 'x' is invalid: " +
          'expected a positive whole number (EUSAGE) (add --help for usage)',
      ],
      [['frobnicate'], "fanout: unknown command 'frobnicate' (EUSAGE) (add --help for usage)"],
      [
        ['status', '--jsno', 'S'],
        "fanout: unknown option '--jsno' (Did you mean --json?) (EUSAGE) (add --help for usage)",
      ],
    ];
    for (const [args, line] of cases) {
      const r = await fanout(args, { cwd: dir });
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 2, stderr: `${line}\n` });
    }
  });
});

describe('help and version', () => {
  it('has --help with an example on every command, and --version', async () => {
    for (const cmd of [[], ['init'], ['enqueue'], ['run'], ['recover'], ['status'], ['consume']]) {
      const r = await fanout([...cmd, '--help'], { cwd: dir });
      expect({ cmd, status: r.status }).toEqual({ cmd, status: 0 });
      expect(r.stdout).toContain('Example:');
    }
    const v = await fanout(['--version'], { cwd: dir });
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prints a stack trace only with --verbose', async () => {
    const quiet = await fanout(['status', 'nowhere'], { cwd: dir });
    const verbose = await fanout(['status', 'nowhere', '--verbose'], { cwd: dir });
    expect(quiet.stderr).not.toMatch(/^\s+at /m);
    expect(verbose.stderr).toMatch(/^\s+at /m);
    await rm(join(dir, 'nowhere'), { recursive: true, force: true });
  });
});
