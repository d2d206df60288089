import { fanoutVitest } from '@fanout/tooling/vitest';

// On the host: the tests that set up a GlusterFS volume (one per file, one at a time: the machine has 2 cores). The
// tests that run against the mounts are src/gluster/*.gluster.test.ts (vitest.gluster.config.ts).
export default fanoutVitest({
  include: ['src/*.test.ts'],
  testTimeout: 400_000,
  hookTimeout: 400_000,
  fileParallelism: false,
  maxWorkers: 1,
});
