import { FanoutError, isFanoutError } from '../errors/fanout-error.js';
import { readSmall } from '../spool/read-small.js';
import { findTwins } from '../spool/twins.js';
import type { Machine, Op, Settled } from './ops.js';

/** Hooks that let a checker or a scheduler stand between a machine and its backends. */
export interface ExecutorHooks {
  /**
   * Called before each operation (inside an `all`, before each member). May
   * throw to stop the machine there (a simulated crash) or await to interleave
   * with other machines.
   */
  beforeOp?(op: Op): void | Promise<void>;
  /** Called after each operation with its result or error. */
  afterOp?(op: Op, outcome: Settled): void;
}

/**
 * Wraps an error thrown by {@link ExecutorHooks.beforeOp}: such an error stops
 * the machine (a simulated crash, a cancelled schedule) instead of being
 * handed to it as an operation failure.
 */
export class MachineStopped extends Error {
  constructor(readonly reason: unknown) {
    super('machine stopped by its executor hook', { cause: reason });
  }
}

/** Perform one operation against its backend. */
export async function performOp(op: Op, hooks: ExecutorHooks = {}): Promise<unknown> {
  try {
    await hooks.beforeOp?.(op);
  } catch (reason) {
    throw reason instanceof MachineStopped ? reason : new MachineStopped(reason);
  }
  let outcome: Settled;
  try {
    outcome = { ok: true, value: await dispatch(op, hooks) };
  } catch (error) {
    if (error instanceof MachineStopped) throw error;
    outcome = { ok: false, error };
  }
  hooks.afterOp?.(op, outcome);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

async function dispatch(op: Op, hooks: ExecutorHooks): Promise<unknown> {
  switch (op.type) {
    case 'create': {
      const work =
        op.whole === true
          ? op.spool.createExclusive(op.name, op.content(), { whole: true })
          : op.syncData === false
            ? op.spool.createExclusive(op.name, op.content(), { syncData: false })
            : op.spool.createExclusive(op.name, op.content());
      return op.stall ? op.stall.bound(work) : work;
    }
    case 'publish':
      return op.spool.publish(op.from, op.to);
    case 'link':
      if (!op.spool.link)
        throw new FanoutError('EUSAGE', 'this backend has no hard links', { spool: op.spool.location, file: op.to });
      return op.spool.link(op.from, op.to);
    case 'rename':
      return op.spool.rename(op.from, op.to);
    case 'remove':
      return op.spool.remove(op.name);
    case 'stat':
      return op.spool.stat(op.name);
    case 'syncDir':
      return op.spool.syncDir();
    case 'readSmall':
      return readSmall(op.spool, op.name, op.maxBytes).catch((err: unknown) => {
        if (isFanoutError(err, 'ENOENT')) return undefined;
        throw err;
      });
    case 'twins':
      return findTwins(op.spool, op.id, op.fileId, op.kinds, op.except);
    case 'all': {
      const settled = await Promise.all(
        op.ops.map((o): Promise<Settled> =>
          performOp(o, hooks).then(
            (value) => ({ ok: true, value }),
            (error: unknown) => ({ ok: false, error }),
          ),
        ),
      );
      const stopped = settled.find((s) => !s.ok && s.error instanceof MachineStopped);
      if (stopped && !stopped.ok) throw stopped.error;
      return settled;
    }
  }
}

/**
 * Drive a machine to completion: perform each operation it yields, resume it
 * with the result, or throw the operation's error into it (the machine
 * decides whether that error is fatal). A hook's error stops the machine and
 * is rethrown as {@link MachineStopped}; drivers unwrap it at their boundary.
 */
export async function runMachine<T>(machine: Machine<T>, hooks: ExecutorHooks = {}): Promise<T> {
  let step = machine.next();
  while (!step.done) {
    let value: unknown;
    try {
      value = await performOp(step.value, hooks);
    } catch (err) {
      if (err instanceof MachineStopped) {
        machine.return(undefined as T);
        throw err;
      }
      step = machine.throw(err);
      continue;
    }
    step = machine.next(value);
  }
  return step.value;
}

/** Run `body`; a {@link MachineStopped} escaping it is rethrown as its reason. */
export async function unwrapStopped<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw err instanceof MachineStopped ? err.reason : err;
  }
}
