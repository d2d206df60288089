import type { EntryKind } from '../backend/spool-backend.js';
import type { FanoutError } from '../errors/fanout-error.js';

/**
 * What the core reports while it works; the CLI turns these into a progress
 * bar, log lines or JSON. The core itself never prints.
 */
export type FanoutEvent =
  | { readonly type: 'message-started'; readonly id: string; readonly tx: string }
  | { readonly type: 'message-committed'; readonly id: string; readonly tx: string; readonly bytes: number }
  /** `attempts`: the message's failed attempts so far, when this failure was its own and was counted. */
  | {
      readonly type: 'message-failed';
      readonly id: string;
      readonly error: FanoutError;
      readonly committed: boolean;
      readonly attempts?: number;
    }
  /**
   * The message failed `attempts` times by itself and is now held (`h<id>.s`, or `h<id>.d` in a destination) until
   * released.
   */
  | {
      readonly type: 'message-held';
      readonly id: string;
      readonly spool: string;
      readonly attempts: number;
      readonly error: FanoutError;
    }
  | { readonly type: 'message-skipped'; readonly id: string; readonly reason: string }
  /** One attempt (transaction) over a batch ended, committed or not: how long it took from C1 to its end. */
  | {
      readonly type: 'transaction-finished';
      readonly tx: string;
      readonly messages: number;
      readonly committed: number;
      readonly durationMs: number;
    }
  | {
      readonly type: 'recovered';
      readonly id: string;
      readonly tx: string;
      readonly action: 'rolled-back' | 'rolled-forward';
    }
  | { readonly type: 'marker-in-flight'; readonly id: string; readonly spool: string; readonly owner: string }
  /**
   * An attempt taken over from an owner nobody can prove dead: its messages are recovered, its record stays until the
   * owner is proven dead, finishes itself, or {@link RecoverOptions.staleTempMs} has passed since its lease ran out, so
   * that a later recovery removes copies the owner may still make.
   */
  | { readonly type: 'marker-awaiting-owner'; readonly id: string; readonly spool: string; readonly owner: string }
  /** A recovery step the storage refused (a removal, a publish): left in place for a later recovery. */
  | { readonly type: 'recovery-failed'; readonly spool: string; readonly file: string; readonly error: FanoutError }
  | { readonly type: 'quarantined'; readonly spool: string; readonly file: string; readonly error: FanoutError }
  | { readonly type: 'temp-removed'; readonly spool: string; readonly file: string }
  | { readonly type: 'unknown-entry'; readonly spool: string; readonly name: string; readonly kind: EntryKind }
  | { readonly type: 'consumed'; readonly id: string; readonly spool: string }
  /**
   * `attempts`: the message's failed attempts so far, when the consumer counts them; `held`: it is now held
   * (`h<id>.d`), not released.
   */
  | {
      readonly type: 'consume-failed';
      readonly id: string;
      readonly spool: string;
      readonly error: FanoutError;
      readonly attempts?: number;
      readonly held?: true;
    };

/** Receives events; must not throw. */
export type EventSink = (event: FanoutEvent) => void;

export const ignoreEvents: EventSink = () => undefined;
