/**
 * The real-NFS suites as host tests: for one NFS version, one VM (kernel nfsd, two kernel clients)
 * runs the tests of src/nfs/ inside it (conformance, two clients, faults, multi-host end to end), and
 * the host test passes when they all pass. Runs where the harness can (`vm/install.sh` installs it;
 * `.ci/run` does); elsewhere it is skipped, saying why, and under CI a missing harness fails.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nfsVmMissing, REPO_ROOT, runInNfsVm, type NfsVersion } from './nfs-vm.js';

export const missing = nfsVmMissing();
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
/** Run only the in-VM test files whose path contains this (vitest's filter), e.g. `two-clients`. */
export const only = process.env.FANOUT_REAL_NFS_FILTER ?? '';
const here = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(REPO_ROOT, 'node_modules/.bin/vitest');

/** Skip (saying why) where the harness is missing; fail under CI. */
export function requireHarness(): void {
  if (missing !== undefined && !inCi) console.warn(`real-nfs: skipping the real-NFS suites: ${missing}`);
  describe.runIf(missing !== undefined && inCi)('real NFS under CI', () => {
    it('has the harness installed (.ci/run runs tooling/real-nfs/vm/install.sh)', () => {
      expect.fail(`real-nfs: ${missing} but CI is set`);
    });
  });
}

/** One VM of NFS version `vers` running every in-VM suite; FANOUT_REAL_NFS_VERSIONS (e.g. `3`) picks versions. */
export function defineSuitesInVm(vers: NfsVersion): void {
  const wanted = (process.env.FANOUT_REAL_NFS_VERSIONS ?? '3,4.2').split(',');
  requireHarness();
  describe.skipIf(missing !== undefined || !wanted.includes(vers))(`real NFS v${vers}`, () => {
    it(`passes the conformance, two-client and multi-host suites on NFS v${vers} (inside one VM)`, async () => {
      const args = ['run', '--config', 'vitest.nfs.config.ts', '--reporter=verbose'];
      if (only !== '') args.push(only);
      const result = await runInNfsVm({
        vers,
        // Through a pipe: on the VM console vitest would draw its progress as on a terminal.
        command: ['bash', '-c', '"$@" 2>&1 | cat; exit "${PIPESTATUS[0]}"', 'vitest', vitest, ...args],
        cwd: here,
        env: { NO_COLOR: '1', FORCE_COLOR: '0' },
        timeoutMs: 1_100_000,
        onOutput: process.env.FANOUT_REAL_NFS_VERBOSE ? (t) => process.stderr.write(t) : undefined,
      });
      console.log(`real NFS v${vers}: VM run ${result.seconds.toFixed(1)} s, exit status ${result.status}`);
      console.log(
        result.status !== 0
          ? result.output
          : result.output
              .split('\n')
              .filter((l) => /^\[real-nfs|Tests |Test Files|Duration|^(multi-host|lost|claim|ESTALE|consumed|unexpected)/.test(l))
              .join('\n'),
      );
      expect(result.status).toBe(0);
    });
  });
}
