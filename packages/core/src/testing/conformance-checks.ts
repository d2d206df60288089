/**
 * The backend conformance suite: every operation of the {@link SpoolBackend}
 * contract and every error code it promises, as a plain array of named checks
 * (in the manner of humanfs's `HfsImplTester`), so that any runner can run them.
 */
import type { SpoolBackend } from '../backend/spool-backend.js';
import { bigFileCheck } from './checks/big-file-check.js';
import { createChecks } from './checks/create-checks.js';
import { linkChecks } from './checks/link-checks.js';
import { listChecks } from './checks/list-checks.js';
import { publishChecks } from './checks/publish-checks.js';
import { removeChecks } from './checks/remove-checks.js';
import { renameChecks } from './checks/rename-checks.js';
import { spoolChecks, statReadChecks } from './checks/stat-read-checks.js';
import { NotApplicableError, type ConformanceCheck, type ConformanceHarness } from './harness.js';

/** Every conformance check, in a stable order. Names are unique. */
export const conformanceChecks: readonly ConformanceCheck[] = [
  ...createChecks,
  ...publishChecks,
  ...renameChecks,
  ...linkChecks,
  ...removeChecks,
  ...listChecks,
  ...statReadChecks,
  ...spoolChecks,
  bigFileCheck,
];

/** The outcome of one check. */
export interface ConformanceResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'not-applicable';
  /** Why it failed, or why it does not apply. */
  readonly error?: unknown;
}

/** Options of {@link runConformanceChecks}. */
export interface RunConformanceOptions {
  /** Run only the checks this accepts. */
  readonly filter?: (check: ConformanceCheck) => boolean;
}

/**
 * Run the checks one after another without a test framework, and report each
 * outcome instead of throwing.
 */
export async function runConformanceChecks(
  harness: ConformanceHarness,
  options: RunConformanceOptions = {},
): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const check of conformanceChecks) {
    if (options.filter && !options.filter(check)) continue;
    try {
      await check.run(harness);
      results.push({ name: check.name, status: 'passed' });
    } catch (error) {
      results.push({
        name: check.name,
        status: error instanceof NotApplicableError ? 'not-applicable' : 'failed',
        error,
      });
    }
  }
  return results;
}

/** @internal keeps the type import used by the TSDoc link. */
export type _BackendForDocs = SpoolBackend;
