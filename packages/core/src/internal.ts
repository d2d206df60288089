/**
 * `@fanout/core/internal`: everything the core's modules export, for the
 * sibling packages (backends, the CLI), the crash checker, the protocol tests
 * and the benchmarks: the machines and their executor, the record and name
 * codecs, owner tags, batch sizing.
 *
 * NOT covered by semver: any release may change or remove anything here
 * without notice. An application imports `@fanout/core` (and
 * `@fanout/core/testing` for the conformance suite) only.
 *
 * @packageDocumentation
 */
export * from './errors/fanout-error.js';
export * from './backend/spool-backend.js';
export * from './backend/plain-name.js';
export * from './backend/override-backend.js';
export * from './backend/backend-descriptor.js';
export * from './backend/open-spool.js';
export * from './names/protocol-names.js';
export * from './ids/ids.js';
export * from './owner/owner.js';
export * from './owner/owner-tag.js';
export * from './owner/owner-liveness.js';
export * from './spool/identity.js';
export * from './spool/read-small.js';
export * from './spool/temp-name.js';
export * from './spool/publish-temp.js';
export * from './marker/marker-codec.js';
export * from './events/events.js';
export * from './protocol/ops.js';
export * from './protocol/executor.js';
export * from './protocol/transaction-plan.js';
export * from './protocol/transaction.js';
export * from './protocol/copy-step.js';
export * from './protocol/lock-file.js';
export * from './protocol/protocol-variant.js';
export * from './recovery/liveness.js';
export * from './recovery/recovery-machine.js';
export * from './recovery/recovery-steps.js';
export * from './recovery/recover.js';
export * from './recovery/dead-temps.js';
export * from './fanout/fan-out.js';
export * from './fanout/descriptor-budget.js';
export * from './enqueue/enqueue.js';
export * from './consume/consume.js';
export * from './status/spool-status.js';
export * from './recovery/recoverer.js';
export * from './fanout/lease-renewal.js';
export * from './fanout/batch-sizer.js';
export * from './attempts/attempt-record.js';
export * from './queue/queue-machines.js';
export * from './queue/queue-commands.js';
export * from './queue/queue-listing.js';
export * from './queue/discard-record.js';
