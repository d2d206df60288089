/**
 * `@fanout/core`: exactly-once fan-out of spool files. This entry is the
 * public API, covered by semver: what an application that embeds fanout needs
 * (open spools, enqueue, fan out, recover, consume, status, queue
 * administration, errors, events) and the backend contract for authors of
 * storage backends. The backend conformance suite is `@fanout/core/testing`.
 *
 * The machines, codecs and helpers the sibling packages share are in
 * `@fanout/core/internal`, which is not covered by semver.
 *
 * @packageDocumentation
 */

// Spools: opening one from a URL (the backend registry), its identity, writing messages.
export { backendFor, openSpool, type OpenSpoolOptions } from './backend/open-spool.js';
export type {
  BackendDescriptor,
  BackendImplementation,
  BackendOpenOptions,
  SpoolCredentials,
} from './backend/backend-descriptor.js';
export { initSpool, readSpoolIdentity, type SpoolIdentity } from './spool/identity.js';
export { enqueue, type EnqueueOptions } from './enqueue/enqueue.js';
export { newId } from './ids/ids.js';
export { isValidId } from './names/protocol-names.js';

// Fan out and recover.
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_CONCURRENCY,
  DEFAULT_LEASE_MS,
  fanOut,
  type FanOutDestination,
  type FanOutOptions,
  type FanOutSummary,
} from './fanout/fan-out.js';
export { DEFAULT_COPY_WINDOW, type MessageFailure, type TransformFactory } from './protocol/transaction-plan.js';
export type { ProtocolName } from './marker/marker-codec.js';
export { DEFAULT_MAX_ATTEMPTS } from './attempts/attempt-record.js';
export { recover, type RecoverOptions, type RecoverySummary, STALE_TEMP_MS } from './recovery/recover.js';

// Consume delivered messages.
export {
  acknowledge,
  claim,
  type ClaimedMessage,
  consume,
  type ConsumeOptions,
  consumePass,
  type ConsumePassOptions,
  type ConsumePassResult,
  consumerName,
  type ConsumeSummary,
  release,
  releaseStaleClaims,
} from './consume/consume.js';

// Status and queue administration.
export {
  AGE_BUCKETS,
  type AgeHistogram,
  type MarkerStatus,
  type SpoolRole,
  spoolStatus,
  type SpoolStatus,
} from './status/spool-status.js';
export {
  listMessages,
  type ListOptions,
  type MessageInfo,
  type MessageState,
  showMessage,
} from './queue/queue-listing.js';
export {
  deleteMessage,
  deleteMessages,
  holdMessage,
  type QueueCommandOptions,
  type QueueCommandResult,
  releaseMessage,
} from './queue/queue-commands.js';
export { discardRecord, type DiscardOptions, type DiscardOutcome } from './queue/discard-record.js';

// Errors and events.
export {
  FanoutError,
  type FanoutErrorCode,
  type FanoutErrorOptions,
  isFanoutError,
  toFanoutError,
} from './errors/fanout-error.js';
export type { EventSink, FanoutEvent } from './events/events.js';

// Owners: who writes a spool's files, and whether a writer still runs.
export {
  defaultOwnerProbe,
  type Liveness,
  type OwnerEnvironment,
  type OwnerInfo,
  type OwnerProbe,
  processOwner,
  setOwnerEnvironment,
} from './owner/owner.js';
export type { PidLookup, PidSighting } from './owner/owner-liveness.js';
export type { OwnerRef, ParsedOwnerTag } from './owner/owner-tag.js';

// The backend contract, for authors of storage backends.
export type {
  ContentSource,
  CreateOptions,
  EntryKind,
  EntryStat,
  SpoolBackend,
  SpoolEntry,
  SpoolOpener,
} from './backend/spool-backend.js';
export { assertPlainName } from './backend/plain-name.js';
export { overrideBackend } from './backend/override-backend.js';
export { tempName } from './spool/temp-name.js';
