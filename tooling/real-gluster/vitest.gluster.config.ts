import { fanoutVitest } from '@fanout/tooling/vitest';

// Against the harness's two mounts: one file at a time, so a client cut off never crosses another test.
export default fanoutVitest({
  include: ['src/gluster/**/*.gluster.test.ts'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
  fileParallelism: false,
  maxWorkers: 1,
});
