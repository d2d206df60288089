/**
 * `@fanout/core/testing/checks`: the backend conformance suite without a test framework. The
 * checks are plain data (`conformanceChecks`), run by any runner or by `runConformanceChecks`;
 * importing this entry loads no vitest. `@fanout/core/testing` adds the vitest front,
 * `defineBackendConformance`.
 */
export * from './harness.js';
export * from './conformance-checks.js';
export { ODD_NAMES } from './checks/list-checks.js';
export { NOT_PLAIN_NAMES } from './checks/create-checks.js';
export { DEFAULT_BIG_FILE_BYTES } from './checks/big-file-check.js';
