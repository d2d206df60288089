import { tmpdir } from 'node:os';
import { describe } from 'vitest';
import { defineBackendConformance, type ConformanceHarness } from '@fanout/core/testing';
import { posixConformanceHarness } from '@fanout/fs-posix/testing';
import { NfsBackend } from './nfs-backend.js';

/** A harness making each spool in a fresh directory under `base`. */
function harnessUnder(base: string, bigFileBytes?: number): ConformanceHarness {
  return posixConformanceHarness((root) => new NfsBackend({ root }), {
    base,
    prefix: 'fanout-nfs-conf-',
    bigFileBytes,
  });
}

defineBackendConformance('fs-nfs on a local directory', harnessUnder(tmpdir()));

const nfsDir = process.env.FANOUT_NFS_DIR;
console.log(
  nfsDir
    ? `fs-nfs: running the conformance suite on the NFS directory FANOUT_NFS_DIR=${nfsDir}`
    : 'fs-nfs: conformance suite run on a local directory here; on real kernel NFS (v3, v4.2) ' +
        'it runs in @fanout/real-nfs (tooling/real-nfs), ' +
        'or set FANOUT_NFS_DIR to a directory on a mounted NFS export',
);
// Defined only when asked for (an operator's own mount), so that a run without one reports no skipped tests.
if (nfsDir !== undefined && nfsDir !== '') {
  describe('on a real NFS mount (FANOUT_NFS_DIR)', () => {
    // A smaller big-file check: the point on NFS is the protocol, not the bandwidth.
    defineBackendConformance(`fs-nfs on ${nfsDir}`, harnessUnder(nfsDir, 16 * 1024 * 1024));
  });
}
