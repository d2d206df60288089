import { defineSuitesOnGluster } from './suites-on-gluster.js';

defineSuitesOnGluster('distribute', 3);
