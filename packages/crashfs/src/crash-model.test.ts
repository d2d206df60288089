import { describe, expect, it } from 'vitest';
import { CrashSimulator } from './crash-simulator.js';
import { isSimulatedCrash } from './errno-error.js';
import { enc, listing, listings, syncDir, writeNew } from './test-helpers.js';

function spool(): CrashSimulator {
  const sim = new CrashSimulator();
  sim.mkdirp('/S');
  return sim;
}

describe('crash states under the persistence model', () => {
  it('loses an unsynced create in some crash state and keeps it in another', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/a', 'A', false);
    const all = listings(sim.crashStates());
    expect(all).toContain('/S/');
    expect(all.some((l) => l.startsWith('/S/ /S/a='))).toBe(true);
  });

  it('can lose a fsynced file whose directory was not fsynced, but never its data when the name survives', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/a', 'A', true);
    expect(listings(sim.crashStates())).toEqual(['/S/', '/S/ /S/a="A"']);
  });

  it('keeps a fsynced file in every crash state once its directory is fsynced', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/a', 'A', true);
    await syncDir(sim.fs, '/S');
    expect(listings(sim.crashStates())).toEqual(['/S/ /S/a="A"']);
  });

  it('lets unsynced data persist fully, not at all, or as zeros of the same length', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/a', 'AB', false);
    await syncDir(sim.fs, '/S');
    expect(listings(sim.crashStates())).toEqual(['/S/ /S/a=""', '/S/ /S/a="AB"', '/S/ /S/a="\\u0000\\u0000"']);
  });

  it('keeps synced data and lets an unsynced append land as zeros', async () => {
    const sim = spool();
    const c = sim.fs.constants;
    const fd = await sim.fs.open('/S/log', c.O_WRONLY | c.O_CREAT | c.O_EXCL);
    await sim.fs.write(fd, enc('one;'), 0, 4, null);
    await sim.fs.fsync(fd);
    await syncDir(sim.fs, '/S');
    await sim.fs.write(fd, enc('two;'), 0, 4, null);
    expect(listings(sim.crashStates())).toEqual([
      '/S/ /S/log="one;"',
      '/S/ /S/log="one;\\u0000\\u0000\\u0000\\u0000"',
      '/S/ /S/log="one;two;"',
    ]);
  });

  it('publishes by link and unlink in directory order without a dir sync, and only the result with one', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/t', 'M', true);
    await syncDir(sim.fs, '/S');
    const before = sim.opCount;
    await sim.fs.link('/S/t', '/S/m');
    await sim.fs.unlink('/S/t');
    expect(listings(sim.crashStates())).toEqual(['/S/ /S/m="M"', '/S/ /S/m="M" /S/t="M"', '/S/ /S/t="M"']);
    await syncDir(sim.fs, '/S');
    expect(listings(sim.crashStates())).toEqual(['/S/ /S/m="M"']);
    expect(listings(sim.crashStates({ after: before }))).toEqual(['/S/ /S/t="M"']);
  });

  it('shows a replacing rename in its parts: nothing done, destination gone, both names, done', async () => {
    const sim = spool();
    sim.writeFileDurable('/S/d', 'old');
    sim.writeFileDurable('/S/w', 'new');
    await sim.fs.rename('/S/w', '/S/d');
    expect(listings(sim.crashStates())).toEqual([
      '/S/ /S/d="new"',
      '/S/ /S/d="new" /S/w="new"',
      '/S/ /S/d="old" /S/w="new"',
      '/S/ /S/w="new"',
    ]);
  });

  it('lets a rename between two directories lose both names, since directories have no order', async () => {
    const sim = spool();
    sim.mkdirp('/A');
    sim.writeFileDurable('/S/x', 'X');
    await sim.fs.rename('/S/x', '/A/x');
    const all = listings(sim.crashStates());
    expect(all).toContain('/A/ /S/');
    expect(all).toContain('/A/ /A/x="X" /S/ /S/x="X"');
    await syncDir(sim.fs, '/S');
    await syncDir(sim.fs, '/A');
    expect(listings(sim.crashStates())).toEqual(['/A/ /A/x="X" /S/']);
  });

  it('keeps hard links as one inode in every crash state where both names persist', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/t', 'M', true);
    await sim.fs.link('/S/t', '/S/m');
    await syncDir(sim.fs, '/S');
    const [only, ...rest] = [...sim.crashStates()];
    expect(rest).toHaveLength(0);
    const entries = only!.sim.snapshot();
    expect(entries.map((e) => e.path)).toEqual(['/S', '/S/m', '/S/t']);
    expect(entries[1]!.ino).toBe(entries[2]!.ino);
    expect(entries[1]!.nlink).toBe(2);
    expect(only!.key).toMatch(/\/S\/m file #1 1 \w+\n\/S\/t file #1 1/);
    const st = await only!.sim.fs.lstat('/S/t');
    expect(st.nlink).toBe(2);
  });

  it('needs the new directory durable in its parent before a file inside it survives', async () => {
    const sim = new CrashSimulator();
    await sim.fs.mkdir('/S', { recursive: false });
    await writeNew(sim.fs, '/S/a', 'A', true);
    await syncDir(sim.fs, '/S');
    expect(listings(sim.crashStates())).toEqual(['', '/S/ /S/a="A"']);
    await syncDir(sim.fs, '/');
    expect(listings(sim.crashStates())).toEqual(['/S/ /S/a="A"']);
  });

  it('keeps entry operations of one directory in prefix order, or in any subset in the pessimistic mode', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/a', 'A', true);
    await writeNew(sim.fs, '/S/b', 'B', true);
    const prefix = listings(sim.crashStates());
    expect(prefix).toEqual(['/S/', '/S/ /S/a="A"', '/S/ /S/a="A" /S/b="B"']);
    const subset = listings(sim.crashStates({ entryOrder: 'subset' }));
    expect(subset).toEqual(['/S/', '/S/ /S/a="A"', '/S/ /S/a="A" /S/b="B"', '/S/ /S/b="B"']);
  });

  it('builds each crash point from the log prefix, the start state at point 0', async () => {
    const sim = spool();
    sim.writeFileDurable('/S/s', 'S');
    await writeNew(sim.fs, '/S/a', 'A', true);
    await syncDir(sim.fs, '/S');
    await sim.fs.unlink('/S/s');
    await syncDir(sim.fs, '/S');
    expect(listings(sim.crashStates({ after: 0 }))).toEqual(['/S/ /S/s="S"']);
    expect(listings(sim.crashStates({ after: 4 }))).toEqual(['/S/ /S/a="A" /S/s="S"']);
    expect(listings(sim.crashStates({ after: 5 }))).toEqual(['/S/ /S/a="A"', '/S/ /S/a="A" /S/s="S"']);
    expect(listings(sim.crashStates({ after: 6 }))).toEqual(['/S/ /S/a="A"']);
  });

  it('reports the bound and samples deterministically when the model allows more states', async () => {
    const sim = new CrashSimulator();
    for (let d = 0; d < 6; d++) sim.mkdirp(`/D${d}`);
    for (let d = 0; d < 6; d++) {
      for (let f = 0; f < 3; f++) await writeNew(sim.fs, `/D${d}/f${f}`, `${d}${f}`, false);
    }
    const small = sim.crashStates({ maxStates: 50, seed: 7 });
    const keys = [...small].map((s) => s.key);
    expect(small.space.exhaustive).toBe(false);
    expect(small.space.bound).toBe(50);
    expect(small.space.upperBound).toBe(4 ** 6 * 3 ** 18);
    expect(keys.length).toBeLessThanOrEqual(50);
    expect(keys.length).toBeGreaterThan(10);
    expect(small.summary()).toMatch(/sampled, bound 50/);
    expect([...sim.crashStates({ maxStates: 50, seed: 7 })].map((s) => s.key)).toEqual(keys);
    const all = sim.crashStates({ after: 2 });
    expect([...all]).toHaveLength(4); // nothing / name (data none|zeros|full)
    expect(all.space.exhaustive).toBe(true);
    expect(all.summary()).toMatch(/exhaustive/);
  });

  it('says what each crash state lost, in readable lines', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/a', 'A', false);
    const lost = [...sim.crashStates()].map((s) => s.lost.join('; ')).sort();
    expect(lost).toContain('not persisted: #0 create /S/a');
    expect(lost).toContain('data persisted as zeros: #1 /S/a (1 unsynced)');
    expect(lost).toContain('');
  });

  it('gives crash states that are machines of their own: recovery runs, and can crash again', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/t', 'M', true);
    await sim.fs.link('/S/t', '/S/m');
    let nested = 0;
    for (const crash of sim.crashStates()) {
      const r = crash.sim;
      expect(r.opCount).toBe(0);
      // "Recovery": remove t if present, make it durable.
      if (r.exists('/S/t')) await r.fs.unlink('/S/t');
      await syncDir(r.fs, '/S');
      for (const again of r.crashStates({ after: r.opCount })) {
        expect(again.sim.exists('/S/t')).toBe(false);
        nested++;
      }
      // And a crash in the middle of recovery can still show the old state.
      if (r.opCount > 1) expect(listings(r.crashStates({ after: 1 })).some((l) => l.includes('/S/t='))).toBe(true);
    }
    expect(nested).toBeGreaterThanOrEqual(3);
  });

  it('separates the durable tree from the live one', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/a', 'A', true);
    expect(sim.snapshot('volatile').map((e) => e.path)).toEqual(['/S', '/S/a']);
    expect(sim.snapshot('durable').map((e) => e.path)).toEqual(['/S']);
    expect(listing(sim)).toBe('/S/ /S/a="A"');
    await writeNew(sim.fs, '/S/b', 'B', false);
    await syncDir(sim.fs, '/S');
    expect(sim.snapshot('durable').map((e) => `${e.path}:${e.size}`)).toEqual(['/S:0', '/S/a:1', '/S/b:0']);
  });

  it('includes the all-lost and the all-persisted states among samples', async () => {
    const sim = new CrashSimulator();
    for (let d = 0; d < 8; d++) sim.mkdirp(`/D${d}`);
    for (let d = 0; d < 8; d++) await writeNew(sim.fs, `/D${d}/f`, `${d}`, false);
    const sampled = sim.crashStates({ maxStates: 5 });
    const all = listings(sampled);
    expect(sampled.space.exhaustive).toBe(false);
    expect(all).toContain([...Array(8).keys()].map((d) => `/D${d}/`).join(' '));
    expect(all).toContain([...Array(8).keys()].map((d) => `/D${d}/ /D${d}/f="${d}"`).join(' '));
  });

  it('crashes recovery itself at each of its steps and still enumerates what each crash leaves', async () => {
    const sim = spool();
    await writeNew(sim.fs, '/S/t', 'M', true);
    await sim.fs.link('/S/t', '/S/m');
    const recover = async (r: CrashSimulator): Promise<void> => {
      if (r.exists('/S/t') && r.exists('/S/m')) await r.fs.unlink('/S/t');
      if (r.exists('/S/t')) await r.fs.rename('/S/t', '/S/m');
      await syncDir(r.fs, '/S');
    };
    let second = 0;
    for (const crash of sim.crashStates()) {
      for (let step = 0; ; step++) {
        const run = [...crash.sim.crashStates({ after: 0 })][0]!.sim; // a fresh copy of this crash state
        run.crashAfter(step);
        const finished = await recover(run).then(
          () => true,
          (e: unknown) => (isSimulatedCrash(e) ? false : Promise.reject(e)),
        );
        for (const again of run.crashStates()) {
          await recover(again.sim);
          expect(listing(again.sim)).toMatch(/^\/S\/( \/S\/m="M")?$/);
          second++;
        }
        if (finished) break;
      }
    }
    expect(second).toBeGreaterThan(5);
  });
});
