import { fanoutVitest } from '@fanout/tooling/vitest';

// fsync-heavy tests on a real disk: generous timeouts, since CI shares two cores with other suites.
export default fanoutVitest({ testTimeout: 600_000 });
