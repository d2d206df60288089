/**
 * `@fanout/core/testing`: the backend conformance suite. Every backend package
 * runs it against itself (`defineBackendConformance`); the checks are also
 * plain data (`conformanceChecks`) that any runner can execute.
 */
export * from './harness.js';
export * from './conformance-checks.js';
export * from './define-backend-conformance.js';
export { ODD_NAMES } from './checks/list-checks.js';
export { NOT_PLAIN_NAMES } from './checks/create-checks.js';
export { DEFAULT_BIG_FILE_BYTES } from './checks/big-file-check.js';
