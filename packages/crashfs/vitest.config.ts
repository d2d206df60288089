import { fanoutVitest } from '@fanout/tooling/vitest';

export default fanoutVitest();
