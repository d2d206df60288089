import { defineBackendConformance } from '@fanout/core/testing';
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
