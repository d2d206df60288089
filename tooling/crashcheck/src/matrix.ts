import type { StepName } from '@fanout/core';
import type { ConsumerScenario } from './consumer-scenario.js';
import type { Scenario } from './scenario.js';
import type { BackendKind } from './world.js';

type Shape = Pick<Scenario, 'dests' | 'messages' | 'batch' | 'copyWindow'>;

/** Knobs of the matrix; `quick` is the slice `pnpm test` runs. */
export interface MatrixOptions {
  readonly quick?: boolean;
  readonly dropSync?: StepName;
  readonly subset?: boolean;
}

/**
 * The full matrix: both protocols × posix (link), nfs and posix (rename) backend code × 1–3
 * destinations × single messages and batches × with and without a transform.
 */
export function scenarios(options: MatrixOptions = {}): Scenario[] {
  const out: Scenario[] = [];
  const backends: BackendKind[] = options.quick ? ['posix', 'nfs'] : ['posix', 'nfs', 'posix-rename'];
  // A batch of 2 copied one message at a time (window 1): seed locks the second message while it copies the first.
  const oneAtATime = { dests: 2, messages: 2, batch: 2, copyWindow: 1 };
  const shapes: Shape[] = options.quick
    ? [{ dests: 2, messages: 1, batch: 1 }, { dests: 2, messages: 2, batch: 2 }, oneAtATime]
    : [
        { dests: 1, messages: 1, batch: 1 },
        { dests: 2, messages: 1, batch: 1 },
        { dests: 3, messages: 1, batch: 1 },
        { dests: 1, messages: 2, batch: 1 },
        { dests: 2, messages: 2, batch: 2 },
        oneAtATime,
        { dests: 3, messages: 3, batch: 3 },
      ];
  for (const protocol of ['staged', 'seed'] as const) {
    for (const backend of backends) {
      for (const shape of shapes) {
        for (const transform of options.quick ? [shape.messages > 1] : [false, true]) {
          // The window only changes how C2 is scheduled: one backend's worth of states shows it.
          if (shape.copyWindow !== undefined && (backend !== 'posix' || (transform && !options.quick))) continue;
          // The 3-destination batch of 3 has ten times the states of the rest: one representative keeps the run within ~10 minutes.
          if (shape.messages === 3 && (protocol !== 'staged' || backend !== 'posix' || transform)) continue;
          out.push({
            protocol,
            backend,
            ...shape,
            transform,
            maxStates: 64,
            nestedMaxStates: 4,
            ...(options.dropSync ? { dropSync: options.dropSync } : {}),
            ...(options.subset ? { entryOrder: 'subset' as const } : {}),
          });
        }
      }
    }
  }
  if (!options.quick && !options.dropSync && !options.subset) {
    for (const protocol of ['staged', 'seed'] as const) {
      for (const shape of shapes) out.push({ protocol, backend: 'memory', ...shape, transform: false, maxStates: 1, nestedMaxStates: 1 });
    }
  }
  return out;
}

/** The consumer scenarios: the seed protocol's known weakness, and the cases where it must not show. */
export function consumerScenarios(options: MatrixOptions = {}): ConsumerScenario[] {
  const backends: BackendKind[] = options.quick ? ['posix'] : ['posix', 'nfs'];
  return backends.flatMap((backend) =>
    (['seed', 'staged'] as const).flatMap((protocol) => [false, true].map((honourLock) => ({ protocol, backend, dests: 2, messages: 2, honourLock }))),
  );
}
