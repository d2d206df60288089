import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { delivered, fanout, lines, names, tempDir, jsonEvent } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** Init S and A, enqueue `contents` and fan them out to A; returns the ids. */
async function deliver(...contents: string[]): Promise<string[]> {
  await fanout(['init', 'S', 'A'], { cwd: dir });
  const ids: string[] = [];
  for (const c of contents) ids.push(...lines((await fanout(['enqueue', 'S'], { cwd: dir, input: c })).stdout));
  expect((await fanout(['run', '--from', 'S', '--to', 'A'], { cwd: dir })).status).toBe(0);
  return ids;
}

describe('fanout consume', () => {
  it('hands each message to the command on stdin with FANOUT_ID and FANOUT_SPOOL, and deletes it on exit 0', async () => {
    const [id] = await deliver('the content');
    const r = await fanout(
      ['consume', 'A', '--exec', 'cat > "out.$FANOUT_ID"; printf "%s" "$FANOUT_SPOOL" > spool.txt'],
      { cwd: dir },
    );
    expect(r.status).toBe(0);
    expect(await readFile(join(dir, `out.${id}`), 'utf8')).toBe('the content');
    expect(await readFile(join(dir, 'spool.txt'), 'utf8')).toBe(join(dir, 'A'));
    expect(await names(join(dir, 'A'))).toEqual([]);
  });

  it('releases the message when the command fails, exit 1, so a later consume retries it', async () => {
    const [id] = await deliver('retry me');
    const r = await fanout(['consume', 'A', '--exec', 'cat > /dev/null; exit 7'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^fanout: ${join(dir, 'A')}: c${id}\\.[^:]+: command exited with status 7; ` +
          `message released \\(EIO\\) \\[failed attempt 1 of 5\\]$`,
        'm',
      ),
    );
    expect(await delivered(join(dir, 'A'))).toEqual(new Map([[id, 'retry me']]));

    const retry = await fanout(['consume', 'A', '--exec', 'cat > got', '--json'], { cwd: dir });
    expect(retry.status).toBe(0);
    expect(lines(retry.stdout).map(jsonEvent)).toEqual([
      { type: 'consumed', id, spool: join(dir, 'A') },
      { type: 'summary', spool: join(dir, 'A'), consumed: 1, failed: 0, released: 0, held: 0, staleClaimsReleased: 0 },
    ]);
    expect(await readFile(join(dir, 'got'), 'utf8')).toBe('retry me');
    expect(await names(join(dir, 'A'))).toEqual([]);
  });

  it('counts in its --json summary every message it released after its command failed', async () => {
    // Issue 16: "released":0 while each line said "message released".
    const ids = [...(await deliver('one')), ...(await deliver('two'))];
    const r = await fanout(['consume', 'A', '--exec', 'cat > /dev/null; exit 3', '--json'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(lines(r.stderr).filter((l) => l.includes('message released'))).toHaveLength(2);
    expect(jsonEvent(lines(r.stdout).at(-1)!)).toEqual({
      type: 'summary',
      spool: join(dir, 'A'),
      consumed: 0,
      failed: 2,
      released: 2,
      held: 0,
      staleClaimsReleased: 0,
    });
    expect([...(await delivered(join(dir, 'A'))).keys()].sort()).toEqual(ids.sort());
  });

  it('acknowledges a command that exits 0 without reading its stdin', async () => {
    await deliver('x'.repeat(1 << 20));
    const r = await fanout(['consume', 'A', '--exec', 'true'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(await names(join(dir, 'A'))).toEqual([]);
  });

  it('writes messages to stdout without --exec', async () => {
    await deliver('one message');
    const r = await fanout(['consume', 'A'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('one message');
    expect(await names(join(dir, 'A'))).toEqual([]);
  });
});

describe('fanout --config', () => {
  it('runs every configured route in one process and shows status of the named spools', async () => {
    await fanout(['init', 'S', 'T', 'A', 'B'], { cwd: dir });
    const [s1] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'from S' })).stdout);
    const [t1] = lines((await fanout(['enqueue', 'T'], { cwd: dir, input: 'from T' })).stdout);
    await writeFile(
      join(dir, 'fanout.yaml'),
      `spools:
  s: ./S
  t: ./T
  a: ./A
  b: { url: ./B }
routes:
  - { name: first, from: s, to: [a, b] }
  - { name: second, from: t, to: a }
`,
    );
    const r = await fanout(['--config', 'fanout.yaml', 'run', '--json'], { cwd: dir });
    expect(r.status).toBe(0);
    const summaries = lines(r.stdout)
      .map((l) => JSON.parse(l) as { type: string; route?: string; committed?: number })
      .filter((e) => e.type === 'summary');
    expect(summaries.map((s) => [s.route, s.committed]).sort()).toEqual([
      ['first', 1],
      ['second', 1],
    ]);
    expect(await delivered(join(dir, 'A'))).toEqual(
      new Map([
        [s1, 'from S'],
        [t1, 'from T'],
      ]),
    );
    expect(await delivered(join(dir, 'B'))).toEqual(new Map([[s1, 'from S']]));

    const status = await fanout(['--config', 'fanout.yaml', 'status', '--json'], { cwd: dir });
    expect(status.status).toBe(0);
    expect(lines(status.stdout).map((l) => (JSON.parse(l) as { location: string }).location)).toEqual(
      ['S', 'T', 'A', 'B'].map((d) => join(dir, d)),
    );
    const recover = await fanout(['recover', 's', '--config', 'fanout.yaml'], { cwd: dir });
    expect(recover.status).toBe(0);
    expect(recover.stdout).toContain(`${join(dir, 'S')}: 0 rolled back`);
  });

  it('exits 2 with the file, line and column of a schema error', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'spools:\n  s: ./S\nroutes:\n  - from: s\n    to: [s, missing]\n');
    const r = await fanout(['--config', 'bad.yaml', 'run'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('fanout: bad.yaml:5:13: routes.0.to.1: no spool named "missing" under "spools" (EUSAGE)\n');
  });

  it('exits 2 with the line of a YAML error (a key given twice)', async () => {
    await writeFile(join(dir, 'broken.yaml'), 'spools:\n  s: ./S\n  s: ./T\n');
    const r = await fanout(['--config', 'broken.yaml', 'status'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^fanout: broken\.yaml:3:3: Map keys must be unique \(EUSAGE\)$/m);
  });
});
