/**
 * `@fanout/core/testing`: the backend conformance suite. Every backend package
 * runs it against itself (`defineBackendConformance`, which needs vitest); the
 * checks are also plain data (`conformanceChecks`) that any runner can execute,
 * and `@fanout/core/testing/checks` has them without loading vitest.
 */
export * from './checks.js';
export * from './define-backend-conformance.js';
