import { PosixBackend } from '@fanout/fs-posix';
import { describe, expect, it } from 'vitest';
import { CrashSimulator } from './crash-simulator.js';
import { isSimulatedCrash } from './errno-error.js';
import { dec, enc } from './test-helpers.js';

/** The real PosixBackend, running over the simulated filesystem. */
describe('PosixBackend over the crash simulator', () => {
  it('keeps an exclusively created file with its full content in every crash state after syncDir', async () => {
    const sim = new CrashSimulator();
    const backend = new PosixBackend({ root: '/S', fs: sim.fs });
    await backend.ensureContainer();
    sim.checkpoint();
    await backend.createExclusive('s1', enc('message one'));
    await backend.syncDir();
    const states = [...sim.crashStates()];
    expect(states.length).toBeGreaterThan(0);
    for (const s of states) expect(dec(s.sim.readFile('/S/s1'))).toBe('message one');
  });

  it('can lose an exclusively created file when the directory is not synced, but never shows it partial', async () => {
    const sim = new CrashSimulator();
    const backend = new PosixBackend({ root: '/S', fs: sim.fs });
    await backend.ensureContainer();
    sim.checkpoint();
    await backend.createExclusive('s1', enc('message one'));
    const contents = [...sim.crashStates()].map((s) => dec(s.sim.readFile('/S/s1')));
    expect(contents).toContain(undefined);
    expect(contents).toContain('message one');
    expect(contents.filter((c) => c !== undefined && c !== 'message one')).toEqual([]);
  });

  it('sees a publish by the backend in parts until the directory is synced', async () => {
    const sim = new CrashSimulator();
    const backend = new PosixBackend({ root: '/S', fs: sim.fs });
    await backend.ensureContainer();
    await backend.createExclusive('w1', enc('copy'));
    await backend.syncDir();
    sim.checkpoint();
    await backend.publish('w1', 'd1');
    const names = [...sim.crashStates()].map((s) => s.sim.list('/S').join(',')).sort();
    expect(names).toContain('w1');
    expect(names).toContain('d1');
    await backend.syncDir();
    expect([...sim.crashStates()].map((s) => s.sim.list('/S').join(','))).toEqual(['d1']);
  });

  it('refuses a symlink and a FIFO in the spool as entries of the wrong kind', async () => {
    const sim = new CrashSimulator();
    sim.mkdirp('/S');
    sim.writeFileDurable('/etc-passwd', 'secret');
    sim.symlink('/etc-passwd', '/S/s1');
    sim.mkfifo('/S/s2');
    const backend = new PosixBackend({ root: '/S', fs: sim.fs });
    const listed = [];
    for await (const e of backend.list()) listed.push(`${e.name}:${e.kind}`);
    expect(listed.sort()).toEqual(['s1:symlink', 's2:other']);
    await expect(backend.createExclusive('s1', enc('x'))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(dec(sim.readFile('/etc-passwd'))).toBe('secret');
  });

  it('dies mid-createExclusive at an armed crash point, leaving at most an empty name behind', async () => {
    const sim = new CrashSimulator();
    const backend = new PosixBackend({ root: '/S', fs: sim.fs });
    await backend.ensureContainer();
    sim.checkpoint();
    sim.crashAfter(1); // the create is logged, the first write is not
    const err = await backend.createExclusive('s1', enc('message one')).catch((e: unknown) => e);
    expect(isSimulatedCrash(err)).toBe(true);
    expect(sim.opCount).toBe(1);
    const contents = [...sim.crashStates()].map((s) => dec(s.sim.readFile('/S/s1')));
    expect(contents.sort()).toEqual(['', undefined]);
  });
});
