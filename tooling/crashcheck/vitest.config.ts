import { fanoutVitest } from '@fanout/tooling/vitest';

export default fanoutVitest({ testTimeout: 300_000 });
