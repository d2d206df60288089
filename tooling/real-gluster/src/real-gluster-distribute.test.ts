import { defineSuitesOnGluster } from './suites-on-gluster.js';

// A volume fs-nfs refuses: DHT over three bricks, where link() is not exclusive.
defineSuitesOnGluster('distribute', 3, ['distribute', 'fanout-command']);
