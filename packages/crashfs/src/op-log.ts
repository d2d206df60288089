/**
 * The operation log: every call that changed the volatile state, in order,
 * with the micro-operations it consists of and the persistence "chain" each
 * one belongs to. Chains are what ordering and durability are defined on:
 * the entries of one directory form one chain (`d<ino>`), the data of one
 * file another (`f<ino>`). An fsync makes its chain durable up to itself.
 */
import type { MicroOp } from './fs-state.js';

/** The system call a logged operation came from. */
export type LoggedKind =
  'create' | 'truncate' | 'write' | 'link' | 'unlink' | 'rename' | 'mkdir' | 'fsync-file' | 'fsync-dir';

/** One logged operation. */
export interface LoggedOp {
  /** Position in the log, from 0. A crash "after k operations" keeps ops 0..k-1. */
  readonly seq: number;
  readonly kind: LoggedKind;
  /** The paths as the caller gave them, for traces. */
  readonly paths: readonly string[];
  /** The effects, in the order the model lets them persist. */
  readonly micro: readonly MicroOp[];
  /** For fsyncs: the chain made durable up to this point. */
  readonly syncs?: string;
  /** Logical time of the call (mtime given to what it touched). */
  readonly time: number;
}

/** The chain a micro-operation belongs to: its directory's, or its file's. */
export function chainOf(op: MicroOp): string {
  return op.t === 'entry-set' || op.t === 'entry-del' ? `d${op.dir}` : `f${op.ino}`;
}

/** One readable line for a logged operation, as printed in violation traces. */
export function describeOp(op: LoggedOp): string {
  const [a = '', b = ''] = op.paths;
  const head = `#${op.seq}`;
  switch (op.kind) {
    case 'create':
      return `${head} open-create ${a} (ino ${inoOf(op)})`;
    case 'truncate':
      return `${head} truncate ${a}`;
    case 'write': {
      const w = op.micro[0];
      return w?.t === 'write' ? `${head} write ${a} @${w.offset} +${w.bytes.byteLength} bytes` : `${head} write ${a}`;
    }
    case 'link':
      return `${head} link ${a} -> ${b}`;
    case 'unlink':
      return `${head} unlink ${a}`;
    case 'rename':
      return `${head} rename ${a} -> ${b}${op.micro.length === 3 ? ' (replacing)' : ''}`;
    case 'mkdir':
      return `${head} mkdir ${a}`;
    case 'fsync-file':
      return `${head} fsync file ${a}`;
    case 'fsync-dir':
      return `${head} fsync dir ${a}`;
  }
}

function inoOf(op: LoggedOp): number | string {
  const m = op.micro[0];
  return m === undefined
    ? '?'
    : m.t === 'entry-set' || m.t === 'entry-del' || m.t === 'write' || m.t === 'truncate'
      ? m.ino
      : '?';
}
