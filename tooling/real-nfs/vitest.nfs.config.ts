import { fanoutVitest } from '@fanout/tooling/vitest';

// Inside the real-NFS VM (one CPU): one file at a time, so fault injections never cross another test.
export default fanoutVitest({
  include: ['src/nfs/**/*.nfs.test.ts'],
  testTimeout: 300_000,
  hookTimeout: 300_000,
  fileParallelism: false,
  maxWorkers: 1,
});
