import { existsSync } from 'node:fs';
import { defineBackendConformance } from '@fanout/core/testing';
import { memoryBackedPosixFs } from './local-posix-fs.js';
import { nodePosixFs } from './node-posix-fs.js';
import { PosixBackend } from './posix-backend.js';
import { posixConformanceHarness } from './testing/index.js';

// Only the default link mode: rename mode checks-then-renames, and the suite's concurrent-publish
// check rightly catches that documented race (see PosixBackendOptions.publishMode).
for (const publishMode of ['link'] as const) {
  defineBackendConformance(
    `fs-posix (publish by ${publishMode})`,
    posixConformanceHarness((root) => new PosixBackend({ root, publishMode })),
  );
}
// The default fs makes its calls inline; the same contract through the thread pool, and with fsyncs inline too.
defineBackendConformance(
  'fs-posix over nodePosixFs (every call on the thread pool)',
  posixConformanceHarness((root) => new PosixBackend({ root, fs: nodePosixFs })),
);
defineBackendConformance(
  'fs-posix over memoryBackedPosixFs (every call inline)',
  posixConformanceHarness(
    (root) => new PosixBackend({ root, fs: memoryBackedPosixFs }),
    existsSync('/dev/shm') ? { base: '/dev/shm' } : {},
  ),
);
