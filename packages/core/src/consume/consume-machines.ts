import type { EntryStat, SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import { names } from '../names/protocol-names.js';
import { type Machine, perform, type StepName } from '../protocol/ops.js';
import type { TwinKind } from '../spool/twins.js';

/**
 * The consumer's steps as machines (docs/PROTOCOL.md, "Consumers"): they
 * yield their operations to the executor like the transaction and recovery
 * machines, so that the crash checker crashes, pauses and interleaves a
 * consumer's claim, acknowledgement and release at every operation.
 */

function* stat(step: StepName, spool: SpoolBackend, name: string): Machine<EntryStat | undefined> {
  return yield* perform({ type: 'stat', step, spool, name });
}

function* sync(step: StepName, spool: SpoolBackend): Machine<void> {
  yield* perform({ type: 'syncDir', step, spool });
}

/**
 * The other protocol names of message `id` that are the file `st` names (crash leftovers); none for a file with one
 * name.
 */
function* twinsOf(
  step: StepName,
  spool: SpoolBackend,
  id: string,
  file: string,
  st: EntryStat | undefined,
  kinds: readonly TwinKind[],
): Machine<string[]> {
  if (st === undefined || (st.nlink ?? 1) <= 1 || st.fileId === undefined) return [];
  return yield* perform({ type: 'twins', step, spool, id, fileId: st.fileId, kinds, except: file });
}

/**
 * Claim delivered message `id` for consumer `who`: `rename d<id> → c<id>.<who>`
 * (atomic: of several consumers exactly one gets it). Resolves the claim's
 * name, or `undefined` if someone else claimed it first, it is gone, or (seed)
 * its lock `l<id>` says it is not committed yet.
 *
 * A claimed file with a second name was left so by a crash (a publish whose
 * staged copy `w<id>.<tx>` kept its name, a claim half-made, a hold or delete
 * that had not returned): the other names go, durably, before the message is
 * handed out, so that recovery can never publish it again, nor a dead
 * consumer's claim be put back, once it is consumed.
 */
export function* claimMachine(spool: SpoolBackend, id: string, who: string): Machine<string | undefined> {
  if ((yield* stat('CL', spool, names.lock(id))) !== undefined) return undefined;
  const file = names.claimed(id, who);
  try {
    yield* perform({ type: 'rename', step: 'CL', spool, from: names.delivered(id), to: file });
  } catch (err) {
    if (isFanoutError(err, 'ENOENT', 'EEXIST')) return undefined;
    throw err;
  }
  const twins = yield* twinsOf('CL', spool, id, file, yield* stat('CL', spool, file), [
    'staged',
    'delivered',
    'claimed',
    'held',
    'deleting',
  ]);
  let removed = false;
  for (const name of twins) if (yield* perform({ type: 'remove', step: 'CL', spool, name })) removed = true;
  // CL: the twins' removal is durable before the message is handed out; else a crash brings a twin back after it was
  // consumed.
  if (removed) yield* sync('CL', spool);
  return file;
}

/** Acknowledge claim `file`: remove it, durably. */
export function* acknowledgeMachine(spool: SpoolBackend, file: string): Machine<void> {
  yield* perform({ type: 'remove', step: 'CA', spool, name: file });
  // CA: without it a crash brings the acknowledged claim back, and a dead consumer's claim is put back: consumed twice.
  yield* sync('CA', spool);
}

/**
 * Give claim `file` of message `id` back under the name `to` (`d<id>`, or
 * `h<id>.d` to hold it), durably. A claim that has a second name (a crash
 * left it so) is only dropped: the other name carries the message.
 */
export function* giveBackMachine(spool: SpoolBackend, id: string, file: string, to: string): Machine<void> {
  const twins = yield* twinsOf('CR', spool, id, file, yield* stat('CR', spool, file), [
    'staged',
    'delivered',
    'claimed',
    'held',
  ]);
  if (twins.length > 0) yield* perform({ type: 'remove', step: 'CR', spool, name: file });
  else yield* perform({ type: 'rename', step: 'CR', spool, from: file, to });
  // CR: the message is waiting again (or held) before the caller counts it so.
  yield* sync('CR', spool);
}
