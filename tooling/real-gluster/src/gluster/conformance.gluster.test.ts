/** The backend conformance suite (`@fanout/core/testing`) for fs-nfs on a real GlusterFS FUSE mount. */
import { defineBackendConformance } from '@fanout/core/testing';
import { NfsBackend } from '@fanout/fs-nfs';
import { posixConformanceHarness } from '@fanout/fs-posix/testing';
import { gl } from './env.js';

// A smaller big-file check: the point is the protocol, not the bandwidth.
const harness = (base: string) =>
  posixConformanceHarness((root) => new NfsBackend({ root }), {
    base,
    prefix: 'conf-',
    bigFileBytes: 16 * 1024 * 1024,
  });

defineBackendConformance(`fs-nfs on a real GlusterFS ${gl.type} mount`, harness(gl.a));
