/** The backend conformance suite (`@fanout/core/testing`) for fs-nfs on a real kernel NFS mount, in the VM. */
import { defineBackendConformance } from '@fanout/core/testing';
import { NfsBackend } from '@fanout/fs-nfs';
import { posixConformanceHarness } from '@fanout/fs-posix/testing';
import { vm } from './vm-env.js';

// A smaller big-file check: on NFS the point is the protocol, not the bandwidth.
const harness = (base: string) =>
  posixConformanceHarness((root) => new NfsBackend({ root }), {
    base,
    prefix: 'conf-',
    bigFileBytes: 16 * 1024 * 1024,
  });

defineBackendConformance(`fs-nfs on a real NFS v${vm.vers} mount`, harness(vm.a));
