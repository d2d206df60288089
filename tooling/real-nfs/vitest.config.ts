import { fanoutVitest } from '@fanout/tooling/vitest';

// On the host: the tests that boot real-NFS VMs. The tests that run inside them are src/nfs/*.nfs.test.ts.
export default fanoutVitest({ include: ['src/*.test.ts'], testTimeout: 900_000, hookTimeout: 900_000 });
