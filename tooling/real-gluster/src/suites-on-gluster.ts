/**
 * The GlusterFS suites as host tests: one volume (a private glusterd, two FUSE client mounts) runs the tests of
 * src/gluster/ against its mounts (conformance, two clients, a client cut off), and the host test passes when they
 * all pass. `pnpm test:real-gluster` (which `.ci/run` runs) installs the harness first (`gluster/install.sh`); a
 * harness that is missing all the same, or a volume that does not come up, fails the run with the reason, never
 * skips it.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { glusterMissing, leftoversOf, REPO_ROOT, runOnGluster, type GlusterVolumeType } from './gluster-volume.js';

export const missing = glusterMissing();
/** Run only the test files whose path contains this (vitest's filter), e.g. `two-clients`. */
export const only = process.env.FANOUT_REAL_GLUSTER_FILTER ?? '';
const here = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(REPO_ROOT, 'node_modules/.bin/vitest');
/** The time limit of one volume's run (set-up, every suite, tear-down); it takes about a minute. */
const LIMIT_MS = Number(process.env.FANOUT_REAL_GLUSTER_LIMIT_S ?? 360) * 1000;

/** A missing harness is a failure, saying what is missing: this package's tests exist to run on real GlusterFS. */
export function requireHarness(): void {
  it('the real-GlusterFS harness is installed (pnpm test:real-gluster runs gluster/install.sh first)', () => {
    expect(missing, `real-gluster: cannot set up GlusterFS: ${missing}`).toBeUndefined();
  });
}

/** One volume of `type` running the suites of src/gluster/ whose file names contain one of `files`. */
export function defineSuitesOnGluster(type: GlusterVolumeType, bricks: number, files: readonly string[]): void {
  requireHarness();
  const chosen = only === '' ? files : files.filter((f) => f.includes(only) || only.includes(f));
  describe.skipIf(missing !== undefined || chosen.length === 0)(`real GlusterFS (${type}, ${bricks} bricks)`, () => {
    it(`passes the ${files.join(', ')} suites on a ${type} volume of ${bricks} bricks`, async () => {
      const args = ['run', '--config', 'vitest.gluster.config.ts', '--reporter=verbose'];
      args.push(...chosen);
      const result = await runOnGluster({
        type,
        bricks,
        command: [vitest, ...args],
        cwd: here,
        env: { NO_COLOR: '1', FORCE_COLOR: '0' },
        timeoutMs: LIMIT_MS,
        onOutput: process.env.FANOUT_REAL_GLUSTER_VERBOSE ? (t) => process.stderr.write(t) : undefined,
      });
      console.log(`real GlusterFS ${type}: run ${result.seconds.toFixed(1)} s, exit status ${result.status}`);
      console.log(
        result.status !== 0
          ? result.output
          : result.output
              .split('\n')
              .filter((l) => /^\[real-gluster|Tests |Test Files|Duration|^gluster:/.test(l))
              .join('\n'),
      );
      const why =
        result.status === 125
          ? `the GlusterFS volume (${type}) did not come up: see the [real-gluster] lines above`
          : result.timedOut
            ? `the GlusterFS run (${type}) was stopped at its limit of ${LIMIT_MS / 1000} s`
            : `the GlusterFS suites failed on a ${type} volume (exit status ${result.status})`;
      expect(result.status, why).toBe(0);
      expect(result.runId).toBeDefined();
      expect(leftoversOf(result.runId ?? '', result.runDirectory)).toEqual([]);
    });
  });
}
