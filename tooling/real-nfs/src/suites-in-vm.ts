/**
 * The real-NFS suites as host tests: for one NFS version, one VM (kernel nfsd, two kernel clients)
 * runs the tests of src/nfs/ inside it (conformance, two clients, faults, multi-host end to end), and
 * the host test passes when they all pass. `pnpm test:real-nfs` (which `.ci/run` runs) installs the
 * harness first (`vm/install.sh`); a harness that is missing all the same, or a VM that does not boot,
 * fails the run with the reason, never skips it.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nfsVmMissing, REPO_ROOT, runInNfsVm, type NfsVersion } from './nfs-vm.js';

export const missing = nfsVmMissing();
/** Run only the in-VM test files whose path contains this (vitest's filter), e.g. `two-clients`. */
export const only = process.env.FANOUT_REAL_NFS_FILTER ?? '';
const here = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(REPO_ROOT, 'node_modules/.bin/vitest');

/**
 * The VM's time limit per NFS version. Both versions run at once, in about 11 minutes (v3 586 s, v4.2 636 s);
 * the multi-host test alone takes about 5, most of it its faults' own waits and the hard mount's retransmissions.
 */
const VM_LIMIT_MS = Number(process.env.FANOUT_REAL_NFS_LIMIT_S ?? 1200) * 1000;

/**
 * The mounts the suites run on: what packages/fs-nfs/README.md requires of several hosts. On NFSv3 that includes
 * `lookupcache=positive`: v3 tells a changed directory only by its timestamps, so a name another host made in the same
 * timestamp tick as the directory's previous change stays cached as missing even after the directory is reopened
 * (measured here, 20 creates on client 1 each right after client 2 looked the name up: 4-6 still missing on client 2
 * after it reopened the directory; 0 with `lookupcache=positive`). v4.2 runs on the defaults: its change attribute
 * moves with every change, and fs-nfs's revalidation by reopening the directory is what the suites exercise there.
 */
const SUITE_MOUNT_OPTIONS: Readonly<Record<NfsVersion, string | undefined>> = {
  '3': 'lookupcache=positive',
  '4.0': undefined,
  '4.1': undefined,
  '4.2': undefined,
};

/** A missing harness is a failure, saying what is missing: this package's tests exist to run on real NFS. */
export function requireHarness(): void {
  it('the real-NFS harness is installed (pnpm test:real-nfs runs tooling/real-nfs/vm/install.sh first)', () => {
    expect(missing, `real-nfs: cannot boot the VM: ${missing}`).toBeUndefined();
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
        mountOptions: SUITE_MOUNT_OPTIONS[vers],
        // Through a pipe: on the VM console vitest would draw its progress as on a terminal.
        command: ['bash', '-c', '"$@" 2>&1 | cat; exit "${PIPESTATUS[0]}"', 'vitest', vitest, ...args],
        cwd: here,
        env: { NO_COLOR: '1', FORCE_COLOR: '0' },
        timeoutMs: VM_LIMIT_MS,
        onOutput: process.env.FANOUT_REAL_NFS_VERBOSE ? (t) => process.stderr.write(t) : undefined,
      });
      console.log(`real NFS v${vers}: VM run ${result.seconds.toFixed(1)} s, exit status ${result.status}`);
      console.log(
        result.status !== 0
          ? result.output
          : result.output
              .split('\n')
              .filter((l) =>
                /^\[real-nfs|Tests |Test Files|Duration|^(multi-host|lost|claim|ESTALE|consumed|unexpected)/.test(l),
              )
              .join('\n'),
      );
      const why =
        result.status === 125
          ? `the real-NFS VM (v${vers}) did not come up: see the [real-nfs] lines above`
          : result.timedOut
            ? `the real-NFS VM (v${vers}) was killed at its limit of ${VM_LIMIT_MS / 1000} s`
            : `the real-NFS suites failed on NFS v${vers} (exit status ${result.status})`;
      expect(result.status, why).toBe(0);
    });
  });
}
