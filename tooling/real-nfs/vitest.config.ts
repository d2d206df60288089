import { fanoutVitest } from '@fanout/tooling/vitest';

// On the host: the tests that boot real-NFS VMs, one VM per file and up to two at once (a VM uses one
// CPU). The tests that run inside the VMs are src/nfs/*.nfs.test.ts (vitest.nfs.config.ts).
export default fanoutVitest({
  include: ['src/*.test.ts'],
  testTimeout: 1_300_000,
  hookTimeout: 1_300_000,
  maxWorkers: 2,
});
