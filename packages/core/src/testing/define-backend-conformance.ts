/** The vitest front of the conformance suite; the only module of `@fanout/core` that imports vitest. */
import { describe, it } from 'vitest';
import { conformanceChecks } from './conformance-checks.js';
import { DEFAULT_CHECK_TIMEOUT_MS, NotApplicableError, type ConformanceHarness } from './harness.js';

/**
 * Register one vitest test per conformance check inside `describe(name)`.
 * A check whose preconditions the harness cannot provide (say, symlinks on
 * WebDAV) is reported as skipped with the reason, never as passed.
 *
 * @example
 * defineBackendConformance('fs-posix', { create: ..., destroy: ..., plant: ... });
 */
export function defineBackendConformance(name: string, harness: ConformanceHarness): void {
  describe(name, () => {
    for (const check of conformanceChecks) {
      it(
        check.name,
        async (context) => {
          try {
            await check.run(harness);
          } catch (err) {
            if (err instanceof NotApplicableError) context.skip(`not applicable: ${err.message}`);
            throw err;
          }
        },
        check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
      );
    }
  });
}
