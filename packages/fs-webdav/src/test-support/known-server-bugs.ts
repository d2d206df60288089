/**
 * The conformance suite for a server with a known, documented bug: every
 * check runs as usual, except that a check broken by the server (not by the
 * backend) must fail with exactly the known symptom — so the test notices
 * both a regression in the backend and a fix in the server.
 */
import { describe, expect, it } from 'vitest';
import {
  conformanceChecks,
  DEFAULT_CHECK_TIMEOUT_MS,
  NotApplicableError,
  type ConformanceHarness,
} from '@fanout/core/testing';

/** A check the server itself fails, and how. */
export interface KnownServerBug {
  readonly check: string;
  /** Why, in words, for the test name. */
  readonly why: string;
  /** What the failure message must contain. */
  readonly symptom: RegExp;
}

export function defineConformanceWithKnownBugs(
  name: string,
  harness: ConformanceHarness,
  bugs: readonly KnownServerBug[],
  notApplicable: readonly RegExp[] = [],
): void {
  const given = new Set<RegExp>();
  for (const bug of bugs) {
    if (!conformanceChecks.some((c) => c.name === bug.check))
      throw new Error(`no conformance check named ${bug.check}`);
  }
  describe(name, () => {
    for (const check of conformanceChecks) {
      const bug = bugs.find((b) => b.check === check.name);
      const timeout = check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
      if (!bug) {
        it(
          check.name,
          async (context) => {
            try {
              await check.run(harness);
            } catch (err) {
              if (!(err instanceof NotApplicableError)) throw err;
              // As defineBackendConformance's `notApplicable`: a declared reason passes, any other is skipped.
              const declared = notApplicable.find((reason) => reason.test(err.message));
              if (declared === undefined) context.skip(`not applicable: ${err.message}`);
              given.add(declared!);
            }
          },
          timeout,
        );
        continue;
      }
      it(
        `${check.name} — fails only as the server's known bug predicts: ${bug.why}`,
        async () => {
          const outcome = await check.run(harness).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(outcome, 'the server bug seems fixed: drop it from the known bugs').toBeInstanceOf(Error);
          expect((outcome as Error).message).toMatch(bug.symptom);
        },
        timeout,
      );
    }
    if (notApplicable.length > 0) {
      it('every reason declared not applicable is one some check gave', () => {
        expect(notApplicable.filter((reason) => !given.has(reason)).map(String)).toEqual([]);
      });
    }
  });
}
