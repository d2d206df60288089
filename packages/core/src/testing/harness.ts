/**
 * What a backend package hands the conformance suite: how to make a fresh
 * backend, how to tear it down, and how to put entries into a spool that the
 * backend API itself can never create.
 */
import type { SpoolBackend } from '../backend/spool-backend.js';

/** The kinds of entry a harness can plant out of band. */
export type PlantableKind = 'symlink' | 'directory' | 'other';

/** How the suite drives one backend implementation. */
export interface ConformanceHarness {
  /** A fresh backend over a new, empty spool container (ensureContainer already called). */
  create(): Promise<SpoolBackend>;
  /** Tear down what create() made (close the backend, delete the directory / collection). */
  destroy(backend: SpoolBackend): Promise<void>;
  /**
   * Put an entry the backend API cannot create (a symlink to an existing file,
   * a directory, or a FIFO/other) into the spool under `name`, out of band.
   * Resolve false if the storage cannot hold that kind (e.g. WebDAV has no
   * symlinks); checks that need it are then reported as not applicable.
   */
  plant?(backend: SpoolBackend, name: string, kind: PlantableKind): Promise<boolean>;
  /**
   * Delete the spool's container (with its content) behind the open backend's
   * back, so the suite can check the `ENOENT` the contract promises for a
   * missing container. Without it those checks are not applicable.
   */
  removeContainer?(backend: SpoolBackend): Promise<void>;
  /** Size of the big streaming check; default 100 MiB. */
  bigFileBytes?: number;
  /**
   * How many bytes of this process's memory the storage itself may use per
   * byte of file content it holds: 0 (the default) for storage outside the
   * process (disk, server), about 2 for memfs (its buffers grow by doubling).
   * The big streaming check allows that much on top of its fixed budget while
   * writing; reading is always held to the fixed budget.
   */
  storageMemoryFactor?: number;
}

/**
 * One named conformance check. `run` creates its own backend(s) through the
 * harness, destroys them when done, and rejects (an `AssertionError` or the
 * backend's error) when the backend breaks the contract. It rejects with
 * {@link NotApplicableError} when the harness cannot set up what it needs.
 */
export interface ConformanceCheck {
  /** A sentence of behaviour, e.g. "publish never replaces an existing name". */
  readonly name: string;
  /** A time limit for test runners; default {@link DEFAULT_CHECK_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  run(harness: ConformanceHarness): Promise<void>;
}

/** The time limit of a check that does not set its own. */
export const DEFAULT_CHECK_TIMEOUT_MS = 60_000;

/** Thrown by a check whose preconditions the harness cannot provide (e.g. no symlinks on WebDAV). */
export class NotApplicableError extends Error {
  override readonly name = 'NotApplicableError';
}

/** Run `body` against a fresh backend, and destroy the backend whatever happens. */
export async function withBackend<T>(
  harness: ConformanceHarness,
  body: (backend: SpoolBackend) => Promise<T>,
): Promise<T> {
  const backend = await harness.create();
  try {
    return await body(backend);
  } finally {
    await harness.destroy(backend);
  }
}

/**
 * Plant `kind` under `name`, or throw {@link NotApplicableError} when the
 * harness cannot (no `plant`, or it resolved false).
 */
export async function plantOrSkip(
  harness: ConformanceHarness,
  backend: SpoolBackend,
  name: string,
  kind: PlantableKind,
): Promise<void> {
  if (!(await tryPlant(harness, backend, name, kind))) {
    throw new NotApplicableError(
      `the harness cannot plant ${kind === 'other' ? 'a special file (FIFO)' : `a ${kind}`}`,
    );
  }
}

/** Plant `kind` under `name` if the harness can; resolves whether it did. */
export async function tryPlant(
  harness: ConformanceHarness,
  backend: SpoolBackend,
  name: string,
  kind: PlantableKind,
): Promise<boolean> {
  if (!harness.plant) return false;
  return harness.plant(backend, name, kind);
}
