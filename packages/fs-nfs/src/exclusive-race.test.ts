import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CONTENDERS = 6;
const NAMES = 25;

let work: string;
let childScript: string;

beforeAll(async () => {
  work = await fsp.mkdtemp(join(tmpdir(), 'fanout-nfs-race-'));
  childScript = join(work, 'child.mjs');
  // The child runs the real sources as a separate process: bundle them with the esbuild tsup uses.
  const esbuild = createRequire(createRequire(import.meta.url).resolve('tsup'))('esbuild') as {
    build(options: Record<string, unknown>): Promise<unknown>;
  };
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./exclusive-race-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@fanout/source'],
    outfile: childScript,
    logLevel: 'error',
    // fs-extra and graceful-fs are CommonJS and require Node's modules: give the ES bundle a require().
    banner: {
      js:
        "import { createRequire as __createRequire } from 'node:module'; " +
        'const require = __createRequire(import.meta.url);',
    },
  });
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

function run(child: ChildProcess): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, lines: out.split('\n').filter(Boolean), stderr }));
  });
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('close', () => reject(new Error('child exited before it was ready')));
  });
}

describe('exclusive creation across OS processes', () => {
  it(`lets exactly one of ${CONTENDERS} processes create each of ${NAMES} names, with its whole content`, async () => {
    const root = join(work, 'spool');
    await fsp.mkdir(root);
    const go = join(work, 'go');
    const children = Array.from({ length: CONTENDERS }, (_, i) =>
      spawn(process.execPath, [childScript, root, go, `contender${i}`, String(NAMES)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const results = children.map(run);
    await Promise.all(children.map(ready));
    await fsp.writeFile(go, ''); // start them all at once
    const outcomes = await Promise.all(results);

    const winners = new Map<number, number[]>();
    outcomes.forEach(({ code, lines, stderr }, contender) => {
      expect({ contender, code, stderr }).toEqual({ contender, code: 0, stderr: '' });
      for (const index of JSON.parse(lines.at(-1) ?? '[]') as number[]) {
        winners.set(index, [...(winners.get(index) ?? []), contender]);
      }
    });
    for (let i = 0; i < NAMES; i++) {
      const won = winners.get(i) ?? [];
      expect(won, `winners of m${i}`).toHaveLength(1);
      const text = await fsp.readFile(join(root, `m${i}`), 'utf8');
      expect(text).toBe(`contender${won[0]}\n`.repeat(4096));
    }
    // Every loser removed its temp file: only the names remain.
    expect((await fsp.readdir(root)).sort()).toEqual(Array.from({ length: NAMES }, (_, i) => `m${i}`).sort());
  });
});
