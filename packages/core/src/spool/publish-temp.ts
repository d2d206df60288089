import type { ContentSource, SpoolBackend } from '../backend/spool-backend.js';
import { type Machine, perform, type SettledAs, type StepName } from '../protocol/ops.js';

/** What {@link publishTemp} came to. */
export type TempPublished =
  | { readonly published: true }
  /** The publish failed with `error` (`EEXIST`: `to` is somebody else's); `removed`: the temp's removal. */
  | { readonly published: false; readonly error: unknown; readonly removed: SettledAs<boolean> };

/**
 * Create under a temp, publish without clobbering: create `temp` in `spool` holding `content` (its data synced),
 * then publish it as `to` ({@link SpoolBackend.publish}: never replaces an existing `to`), so that nobody ever reads
 * `to` half-written. A publish that fails removes the temp; a temp that cannot be removed is left to R6, since its
 * name says who wrote it. Used for takeover and renewal claims `r<tx>.<g>`, enqueued messages `s<id>` and a spool's
 * `.fanout-spool`.
 *
 * @param cleanUpFailedCreate also remove the temp when the create itself failed (a lease renewal: the create may
 *   have happened although it reported a failure), instead of throwing the create's error.
 * @throws the create's error, unless `cleanUpFailedCreate`.
 */
export function* publishTemp(
  step: StepName,
  spool: SpoolBackend,
  temp: string,
  content: () => ContentSource,
  to: string,
  cleanUpFailedCreate = false,
): Machine<TempPublished> {
  let created = false;
  try {
    yield* perform({ type: 'create', step, spool, name: temp, content });
    created = true;
    yield* perform({ type: 'publish', step, spool, from: temp, to });
    return { published: true };
  } catch (error) {
    if (!created && !cleanUpFailedCreate) throw error;
    let removed: SettledAs<boolean>;
    try {
      removed = { ok: true, value: yield* perform({ type: 'remove', step, spool, name: temp }) };
    } catch (removeError) {
      removed = { ok: false, error: removeError };
    }
    return { published: false, error, removed };
  }
}
