/**
 * The real-NFS suites: for each NFS version, one VM (kernel nfsd, two kernel clients) runs the
 * tests of src/nfs/ inside it (conformance, two clients, faults, multi-host end to end), and this
 * test passes when they all pass. Runs where the harness can (`vm/install.sh` installs it; CI does);
 * elsewhere it is skipped, saying why, and under CI a missing harness fails.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nfsVmMissing, REPO_ROOT, runInNfsVm, type NfsVersion } from './nfs-vm.js';

const missing = nfsVmMissing();
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const versions = (process.env.FANOUT_REAL_NFS_VERSIONS ?? '3,4.2').split(',').filter(Boolean) as NfsVersion[];
/** Run only the in-VM test files whose path contains this (vitest's filter), e.g. `two-clients`. */
const only = process.env.FANOUT_REAL_NFS_FILTER ?? '';
const here = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(REPO_ROOT, 'node_modules/.bin/vitest');

if (missing !== undefined && !inCi) console.warn(`real-nfs: skipping the real-NFS suites: ${missing}`);

describe.runIf(missing !== undefined && inCi)('real NFS under CI', () => {
  it('has the harness installed (.ci/run runs tooling/real-nfs/vm/install.sh)', () => {
    expect.fail(`real-nfs: ${missing} but CI is set`);
  });
});

const ourRuns = () => readdirSync(tmpdir()).filter((n) => n.startsWith('fanout-real-nfs-'));

describe.skipIf(missing !== undefined)('the real-NFS VM', () => {
  it.runIf(only === '')("reports the command's exit status and output and leaves nothing behind", async () => {
    const before = ourRuns().length;
    const result = await runInNfsVm({
      vers: '3',
      exportFs: 'tmpfs',
      command: ['sh', '-c', 'echo "on $(hostname)"; $NFS_ON c2 hostname; test "$(stat -f -c %T $NFS_A)" = nfs && exit 7'],
      timeoutMs: 300_000,
    });
    expect(result.output).toContain('on real-nfs-vm');
    expect(result.output).toContain('client2');
    expect(result.status).toBe(7);
    expect(ourRuns().length).toBe(before);
  });

  for (const vers of versions) {
    it(`passes the conformance, two-client and multi-host suites on NFS v${vers}`, async () => {
      const args = ['run', '--config', 'vitest.nfs.config.ts', '--reporter=verbose'];
      if (only !== '') args.push(only);
      const result = await runInNfsVm({
        vers,
        // Through a pipe: on the VM console vitest would draw its progress as on a terminal.
        command: ['bash', '-c', '"$@" 2>&1 | cat; exit "${PIPESTATUS[0]}"', 'vitest', vitest, ...args],
        cwd: here,
        env: { NO_COLOR: '1', FORCE_COLOR: '0' },
        timeoutMs: 800_000,
        onOutput: process.env.FANOUT_REAL_NFS_VERBOSE ? (t) => process.stderr.write(t) : undefined,
      });
      console.log(`real NFS v${vers}: VM run ${result.seconds.toFixed(1)} s, exit status ${result.status}`);
      if (result.status !== 0) console.log(result.output);
      else console.log(result.output.split('\n').filter((l) => /real-nfs|Tests|Test Files|Duration|^\S.*:/.test(l)).join('\n'));
      expect(result.status).toBe(0);
    });
  }
});
