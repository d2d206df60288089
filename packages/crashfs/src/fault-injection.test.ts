import { describe, expect, it } from 'vitest';
import { CrashSimulator } from './crash-simulator.js';
import { isSimulatedCrash, SimulatedCrash } from './errno-error.js';
import { enc, syncDir, writeNew } from './test-helpers.js';

function spool(): CrashSimulator {
  const sim = new CrashSimulator();
  sim.mkdirp('/S');
  sim.writeFileDurable('/S/t', 'M');
  return sim;
}

describe('fault injection', () => {
  it('fails the nth write with ENOSPC, without effect and without logging it', async () => {
    const sim = spool();
    sim.inject({ call: 'write', path: /\/S\/big$/, nth: 2, fail: 'ENOSPC' });
    const c = sim.fs.constants;
    const fd = await sim.fs.open('/S/big', c.O_WRONLY | c.O_CREAT | c.O_EXCL);
    await sim.fs.write(fd, enc('1'), 0, 1, null);
    await expect(sim.fs.write(fd, enc('2'), 0, 1, null)).rejects.toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    await sim.fs.write(fd, enc('3'), 0, 1, null);
    expect(new TextDecoder().decode(sim.readFile('/S/big'))).toBe('13');
    expect(sim.describeOps().filter((l) => l.includes('write'))).toHaveLength(2);
    expect(sim.injected[0]).toMatchObject({ matched: 3, fired: 1 });
  });

  it('answers EEXIST to a link that took effect, as after a lost NFS reply', async () => {
    const sim = spool();
    sim.inject({ call: 'link', lostReply: 'EEXIST' });
    await expect(sim.fs.link('/S/t', '/S/m')).rejects.toMatchObject({ code: 'EEXIST' });
    expect((await sim.fs.lstat('/S/t')).nlink).toBe(2);
    expect(sim.exists('/S/m')).toBe(true);
    expect(sim.describeOps()).toEqual(['#0 link /S/t -> /S/m']);
  });

  it('answers ENOENT to a rename and an unlink that took effect', async () => {
    const sim = spool();
    sim.inject({ call: ['rename', 'unlink'], lostReply: 'ENOENT', times: 2 });
    await expect(sim.fs.rename('/S/t', '/S/d')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sim.list('/S')).toEqual(['d']);
    await expect(sim.fs.unlink('/S/d')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sim.list('/S')).toEqual([]);
    await writeNew(sim.fs, '/S/x', 'x', false);
    await sim.fs.unlink('/S/x');
  });

  it('can fail only directory fsyncs with EINVAL, leaving file fsyncs alone', async () => {
    const sim = spool();
    sim.inject({ call: 'fsync', target: 'dir', fail: 'EINVAL' });
    await writeNew(sim.fs, '/S/a', 'A', true);
    await expect(syncDir(sim.fs, '/S')).rejects.toMatchObject({ code: 'EINVAL' });
    // The failed sync made nothing durable: the name can still be lost.
    expect([...sim.crashStates()].some((s) => !s.sim.exists('/S/a'))).toBe(true);
  });

  it('fails reads and opens with ESTALE or EIO until the rule is removed', async () => {
    const sim = spool();
    const remove = sim.inject({ call: ['open', 'lstat'], path: /^\/S\/t$/, fail: 'ESTALE' });
    await expect(sim.fs.lstat('/S/t')).rejects.toMatchObject({ code: 'ESTALE' });
    await expect(sim.fs.open('/S/t', sim.fs.constants.O_RDONLY)).rejects.toMatchObject({ code: 'ESTALE' });
    remove();
    const fd = await sim.fs.open('/S/t', sim.fs.constants.O_RDONLY);
    sim.inject({ call: 'read', fail: 'EIO' });
    await expect(sim.fs.read(fd, new Uint8Array(1), 0, 1, 0)).rejects.toMatchObject({ code: 'EIO' });
  });

  it('rejects a rule with neither or both effects', () => {
    const sim = spool();
    expect(() => sim.inject({ call: 'link' })).toThrow(TypeError);
    expect(() => sim.inject({ call: 'link', fail: 'EIO', lostReply: 'EEXIST' })).toThrow(TypeError);
  });

  it('lets a crash win over a fault and recognises a crash wrapped in another error', async () => {
    const sim = spool();
    sim.inject({ call: 'unlink', fail: 'EIO' });
    sim.crashAfter(0);
    const err = await sim.fs.link('/S/t', '/S/m').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimulatedCrash);
    const failedUnlink = await sim.fs.unlink('/S/t').catch((e: unknown) => e);
    expect(failedUnlink).toBeInstanceOf(SimulatedCrash);
    expect(isSimulatedCrash(new Error('wrapped', { cause: err }))).toBe(true);
    expect(isSimulatedCrash(new Error('plain'))).toBe(false);
  });
});
