import type { ProtocolName } from '@fanout/core';
import type { StepName } from '@fanout/core/internal';
import type { ConsumerRecoveryScenario } from './consumer-recovery.js';
import type { ConsumerScenario } from './consumer-scenario.js';
import type { ConsumerStepsScenario } from './consumer-steps.js';
import type { FailingRemovalsScenario } from './failing-removals.js';
import type { OperatorFilesScenario } from './operator-files.js';
import type { StallsScenario } from './stalls.js';
import type { PausedOwnerScenario } from './paused-owner.js';
import type { PoisonScenario } from './poison-and-hold.js';
import type { Scenario } from './scenario.js';
import type { BackendKind } from './world.js';

/**
 * A shape of scenario; `only` keeps the costly or schedule-only shapes to a representative slice (the full run stays
 * within ~10 minutes).
 */
interface Shape extends Pick<Scenario, 'dests' | 'messages' | 'batch' | 'copyWindow' | 'concurrency'> {
  readonly only?: {
    readonly protocol?: ProtocolName;
    readonly backends?: readonly BackendKind[];
    readonly noTransform?: boolean;
  };
}

/** Knobs of the matrix; `quick` is the slice `pnpm test` runs. */
export interface MatrixOptions {
  readonly quick?: boolean;
  readonly dropSync?: StepName;
  readonly subset?: boolean;
  /** Pass the core's internal `dropFence` option to the paused-owner family. */
  readonly dropFence?: boolean;
}

/**
 * The full matrix: both protocols × posix (link), nfs and posix (rename) backend code × 1–3
 * destinations × single messages and batches × with and without a transform.
 */
export function scenarios(options: MatrixOptions = {}): Scenario[] {
  const out: Scenario[] = [];
  const backends: BackendKind[] = options.quick ? ['posix', 'nfs'] : ['posix', 'nfs', 'posix-rename'];
  // A batch of 2 copied one message at a time (window 1): seed locks the second message while it copies the first.
  const oneAtATime: Shape = { dests: 2, messages: 2, batch: 2, copyWindow: 1, only: { noTransform: true } };
  // Two transactions, one at a time: the second copies while the first syncs and commits.
  const pipelined: Shape = {
    dests: 2,
    messages: 2,
    batch: 1,
    concurrency: 1,
    only: { backends: ['posix'], noTransform: true },
  };
  const shapes: Shape[] = options.quick
    ? [{ dests: 2, messages: 1, batch: 1 }, { dests: 2, messages: 2, batch: 2 }, oneAtATime, pipelined]
    : [
        { dests: 1, messages: 1, batch: 1 },
        { dests: 2, messages: 1, batch: 1 },
        { dests: 3, messages: 1, batch: 1 },
        { dests: 1, messages: 2, batch: 1 },
        { dests: 2, messages: 2, batch: 2 },
        oneAtATime,
        pipelined,
        // Seed copies the first message alone, then a window of 2 whose locks are links made while the first copies.
        {
          dests: 2,
          messages: 3,
          batch: 3,
          copyWindow: 2,
          only: { protocol: 'seed', backends: ['posix'], noTransform: true },
        },
        // Ten times the states of the rest: one representative.
        { dests: 3, messages: 3, batch: 3, only: { protocol: 'staged', backends: ['posix'], noTransform: true } },
      ];
  for (const protocol of ['staged', 'seed'] as const) {
    for (const backend of backends) {
      for (const { only, ...shape } of shapes) {
        if ((only?.protocol && only.protocol !== protocol) || (only?.backends && !only.backends.includes(backend)))
          continue;
        const transforms = options.quick
          ? [shape.messages > 1 && !only?.noTransform]
          : only?.noTransform
            ? [false]
            : [false, true];
        for (const transform of transforms) {
          out.push({
            protocol,
            backend,
            ...shape,
            transform,
            maxStates: 400,
            nestedMaxStates: 16,
            ...(options.dropSync ? { dropSync: options.dropSync } : {}),
            ...(options.subset ? { entryOrder: 'subset' as const } : {}),
          });
        }
      }
    }
  }
  if (!options.quick && !options.dropSync && !options.subset) {
    for (const protocol of ['staged', 'seed'] as const) {
      for (const { only, ...shape } of shapes) {
        if (only?.protocol && only.protocol !== protocol) continue;
        out.push({ protocol, backend: 'memory', ...shape, transform: false, maxStates: 1, nestedMaxStates: 1 });
      }
    }
  }
  return out;
}

/** The consumer scenarios: the seed protocol's known weakness, and the cases where it must not show. */
export function consumerScenarios(options: MatrixOptions = {}): ConsumerScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  return backends.flatMap((backend) =>
    (['seed', 'staged'] as const).flatMap((protocol) =>
      [false, true].map((honourLock) => ({ protocol, backend, dests: 2, messages: 2, honourLock })),
    ),
  );
}

const PROTOCOLS = ['staged', 'seed'] as const;

/**
 * The consumer-recovery family (consumer-recovery.ts): both protocols, posix and nfs, 2
 * destinations, 1–2 messages, consumers before and during recovery, and consumers that crash.
 */
export function consumerRecoveryScenarios(options: MatrixOptions = {}): ConsumerRecoveryScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  const counts = options.quick ? [1] : [1, 2];
  return backends.flatMap((backend) =>
    counts.flatMap((messages) =>
      (['recovery', 'consumer-crash'] as const).flatMap((mode) =>
        PROTOCOLS.map((protocol) => ({
          protocol,
          backend,
          dests: 2,
          messages,
          mode,
          maxStates: options.quick ? 8 : 16,
          consumerMaxStates: options.quick ? 4 : 8,
        })),
      ),
    ),
  );
}

/**
 * The paused-owner family (paused-owner.ts): both protocols, posix and nfs, 1–2 destinations,
 * 1–2 messages in batches of 1 and 2, paused between operations and inside one; the owner then finishes, or is
 * killed as soon as the calls it had in flight are done.
 */
export function pausedOwnerScenarios(options: MatrixOptions = {}): PausedOwnerScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  const shapes: Pick<PausedOwnerScenario, 'dests' | 'messages' | 'batch'>[] = options.quick
    ? [
        { dests: 2, messages: 1, batch: 1 },
        { dests: 2, messages: 2, batch: 2 },
      ]
    : [
        { dests: 1, messages: 1, batch: 1 },
        { dests: 2, messages: 1, batch: 1 },
        { dests: 2, messages: 2, batch: 1 },
        { dests: 2, messages: 2, batch: 2 },
      ];
  return backends.flatMap((backend) =>
    shapes.flatMap((shape) =>
      (['between', 'inside'] as const).flatMap((stall) =>
        PROTOCOLS.flatMap((protocol) =>
          // W1 resumes and finishes; or it resumes, completes the calls it had in flight, and is killed.
          [undefined, 0].map((killAfterResume) => ({
            protocol,
            backend,
            ...shape,
            stall,
            ...(killAfterResume !== undefined ? { killAfterResume } : {}),
            ...(options.dropFence ? { dropFence: true } : {}),
          })),
        ),
      ),
    ),
  );
}

/**
 * The failing-removals family (failing-removals.ts): both protocols, posix and nfs, 2
 * destinations, one message or a batch of two, removals failing in a worker's rollback and in
 * recovery after a crash.
 */
export function failingRemovalScenarios(options: MatrixOptions = {}): FailingRemovalsScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  const shapes = options.quick
    ? [{ messages: 1, batch: 1 }]
    : [
        { messages: 1, batch: 1 },
        { messages: 2, batch: 2 },
      ];
  return backends.flatMap((backend) =>
    shapes.flatMap((shape) =>
      (['rollback', 'recovery'] as const).flatMap((phase) =>
        PROTOCOLS.map((protocol) => ({
          protocol,
          backend,
          dests: 2,
          ...shape,
          phase,
          maxStates: options.quick ? 4 : 8,
        })),
      ),
    ),
  );
}

/**
 * The operator-files family (operator-files.ts): both protocols, posix and nfs, 2 destinations,
 * 2 messages in one batch, the operator's files planted in every spool.
 */
export function operatorFilesScenarios(options: MatrixOptions = {}): OperatorFilesScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  return backends.flatMap((backend) =>
    PROTOCOLS.map((protocol) => ({
      protocol,
      backend,
      dests: 2,
      messages: 2,
      maxStates: options.quick ? 4 : 32,
      ...(options.quick ? { stride: 3 } : {}),
    })),
  );
}

/**
 * The stalls family (stalls.ts): both protocols, posix and nfs, 2 destinations, 2 messages in one
 * batch and in batches of one; the copy of M0 stalls in its transform, its source read or its
 * destination write, and never resumes or resumes late.
 */
export function stallsScenarios(options: MatrixOptions = {}): StallsScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  const batches = options.quick ? [2] : [1, 2];
  return backends.flatMap((backend) =>
    batches.flatMap((batch) =>
      (['transform', 'source-read', 'destination-write'] as const).flatMap((stall) =>
        (['never', 'late'] as const).flatMap((resumes) =>
          PROTOCOLS.map((protocol) => ({
            protocol,
            backend,
            dests: 2,
            messages: 2,
            batch,
            stall,
            resumes,
            maxStates: options.quick ? 2 : 16,
            ...(options.quick ? { stride: 4 } : {}),
          })),
        ),
      ),
    ),
  );
}

/**
 * The poison-and-hold family (poison-and-hold.ts): both protocols, posix (and nfs in the full run),
 * 2 destinations, the poison script, the three races of a command with a worker, the consumer's
 * poison script and the discard of a quarantined record.
 */
export function poisonScenarios(options: MatrixOptions & { readonly dropOrder?: boolean } = {}): PoisonScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  const workloads = ['poison', 'race-hold', 'race-delete', 'race-release', 'consume-poison', 'discard-record'] as const;
  return backends.flatMap((backend) =>
    workloads.flatMap((workload) =>
      PROTOCOLS.map((protocol) => ({
        protocol,
        backend,
        dests: 2,
        workload,
        maxStates: options.quick ? 2 : 8,
        // The races run a command at every point of the worker and crash at every point after it: a sparser slice.
        ...(options.quick ? { stride: workload.startsWith('race') ? 6 : 3 } : {}),
        ...(options.dropSync === 'Q' ? { dropSync: true } : {}),
        ...(options.dropOrder ? { dropOrder: true } : {}),
      })),
    ),
  );
}

/**
 * The consumer-steps family (consumer-steps.ts): both protocols, posix and nfs, 2 destinations, 1
 * message; consumers interleaved with recovery at every pair of operations after every crash of a
 * fan-out, and crashes inside each consumer, clean-up and renewal step. `dropTwins` and a
 * `dropSync` of CL, CA or CR show what those steps need.
 */
export function consumerStepsScenarios(
  options: MatrixOptions & { readonly dropTwins?: boolean } = {},
): ConsumerStepsScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  const drop = {
    ...(options.dropTwins ? { dropTwins: true } : {}),
    ...(options.dropSync ? { dropSync: options.dropSync } : {}),
  };
  return backends.flatMap((backend) =>
    (['interleaved', 'crash-inside'] as const).flatMap((workload) =>
      PROTOCOLS.map((protocol) => ({
        protocol,
        backend,
        dests: 2,
        messages: 1,
        workload,
        maxStates: options.quick ? 2 : 3,
        crashStates: options.quick ? 2 : 4,
        // Every pair (i, j) of switch points is a recovery, a fan-out and a drain: every other one, within CI's time.
        ...(workload === 'interleaved'
          ? options.quick
            ? { stride: 4, scheduleStride: 2 }
            : { scheduleStride: 2 }
          : {}),
        ...drop,
      })),
    ),
  );
}
