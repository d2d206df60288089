/** The vitest front of the conformance suite; the only module of `@fanout/core` that imports vitest. */
import { describe, expect, it } from 'vitest';
import { conformanceChecks } from './conformance-checks.js';
import { DEFAULT_CHECK_TIMEOUT_MS, NotApplicableError, type ConformanceHarness } from './harness.js';

/** Options of {@link defineBackendConformance}. */
export interface BackendConformanceOptions {
  /**
   * The reasons this backend's checks are known not to apply, say `/no hard links/` for WebDAV. A check that finds
   * itself not applicable for a listed reason passes, asserting that it does not apply, instead of being skipped.
   * A listed reason that no check gave fails a last test of its own, so the list cannot outlive the backend it
   * describes. A check that does not apply for a reason not listed is still reported as skipped, with the reason.
   */
  readonly notApplicable?: readonly RegExp[];
}

/**
 * Register one vitest test per conformance check inside `describe(name)`.
 * A check whose preconditions the harness cannot provide (say, symlinks on
 * WebDAV) is reported as skipped with the reason, never as passed, unless
 * `options.notApplicable` declares that reason expected.
 *
 * @example
 * defineBackendConformance('fs-posix', { create: ..., destroy: ..., plant: ... });
 * defineBackendConformance('fs-webdav', davHarness, { notApplicable: [/no hard links/] });
 */
export function defineBackendConformance(
  name: string,
  harness: ConformanceHarness,
  options: BackendConformanceOptions = {},
): void {
  const expected = options.notApplicable ?? [];
  const given = new Set<RegExp>();
  describe(name, () => {
    for (const check of conformanceChecks) {
      it(
        check.name,
        async (context) => {
          try {
            await check.run(harness);
          } catch (err) {
            if (!(err instanceof NotApplicableError)) throw err;
            const declared = expected.find((reason) => reason.test(err.message));
            if (declared === undefined) context.skip(`not applicable: ${err.message}`);
            given.add(declared!);
          }
        },
        check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
      );
    }
    if (expected.length > 0) {
      it('every reason declared not applicable is one some check gave', () => {
        expect(expected.filter((reason) => !given.has(reason)).map(String)).toEqual([]);
      });
    }
  });
}
