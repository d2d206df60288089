import { fanoutVitest } from '@fanout/tooling/vitest';

// npm installs from the registry (warm cache: seconds; cold: a minute or two on two shared cores).
export default fanoutVitest({ testTimeout: 300_000, hookTimeout: 300_000 });
