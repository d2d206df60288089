import { defineSuitesOnGluster } from './suites-on-gluster.js';

// The volume fs-nfs serves: one subvolume, a replica set of two bricks.
defineSuitesOnGluster('replica', 2, ['conformance', 'two-clients', 'fanout-command']);
