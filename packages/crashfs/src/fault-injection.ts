/**
 * Fault injection rules: make a chosen call fail (EIO, ESTALE, ENOSPC…) or
 * take effect and still report an error, as an NFS client does when the reply
 * to a non-idempotent request is lost and the retransmission is answered from
 * the new state (a `link` that worked answers EEXIST, a `rename` or `unlink`
 * that worked answers ENOENT).
 */
import type { ErrnoCode } from './errno-error.js';

/** The calls of the simulated `PosixFs` a rule can match. */
export type FsCall =
  | 'open'
  | 'write'
  | 'read'
  | 'fsync'
  | 'close'
  | 'fstat'
  | 'lstat'
  | 'link'
  | 'unlink'
  | 'rename'
  | 'mkdir'
  | 'opendir';

/** One fault: which calls it matches and what it does to them. Exactly one of `fail`/`lostReply`. */
export interface FaultRule {
  /** The call(s) matched. */
  readonly call: FsCall | readonly FsCall[];
  /** Matched against every path of the call (both paths of link/rename; an fd's path). Default: any. */
  readonly path?: RegExp;
  /** For `fsync`: only of a file, or only of a directory. Default: both. */
  readonly target?: 'file' | 'dir';
  /** Fire only at the nth matching call (1-based). Default: from the first. */
  readonly nth?: number;
  /** How many times it fires at most. Default: once when `nth` is set, otherwise forever. */
  readonly times?: number;
  /** The call rejects with this code and has no effect. */
  readonly fail?: ErrnoCode;
  /** The call takes effect, then rejects with this code (a lost reply). */
  readonly lostReply?: ErrnoCode;
}

/** What an armed rule does to the current call. */
export interface FaultAction {
  readonly mode: 'fail' | 'lostReply';
  readonly code: ErrnoCode;
  readonly rule: FaultRule;
}

/** A rule plus its counters. */
export interface ArmedFault {
  readonly rule: FaultRule;
  /** Calls that matched so far. */
  matched: number;
  /** Times it fired so far. */
  fired: number;
}

/** Holds the rules of one simulator; the first rule that fires wins. */
export class FaultInjector {
  private readonly armed: ArmedFault[] = [];

  /** Add a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void {
    if ((rule.fail === undefined) === (rule.lostReply === undefined)) {
      throw new TypeError('a fault rule needs exactly one of `fail` and `lostReply`');
    }
    const entry: ArmedFault = { rule, matched: 0, fired: 0 };
    this.armed.push(entry);
    return () => {
      const i = this.armed.indexOf(entry);
      if (i >= 0) this.armed.splice(i, 1);
    };
  }

  /** The rules with their counters, for assertions. */
  get rules(): readonly ArmedFault[] {
    return this.armed;
  }

  /** Decide whether a call is faulted; counts the match either way. */
  check(call: FsCall, paths: readonly string[], target?: 'file' | 'dir'): FaultAction | undefined {
    for (const a of this.armed) {
      const { rule } = a;
      const calls: readonly FsCall[] = typeof rule.call === 'string' ? [rule.call] : rule.call;
      if (!calls.includes(call)) continue;
      if (rule.target !== undefined && rule.target !== target) continue;
      if (
        rule.path !== undefined &&
        !paths.some((p) => {
          rule.path!.lastIndex = 0;
          return rule.path!.test(p);
        })
      )
        continue;
      a.matched++;
      if (rule.nth !== undefined && a.matched < rule.nth) continue;
      const times = rule.times ?? (rule.nth === undefined ? Infinity : 1);
      if (a.fired >= times) continue;
      a.fired++;
      return rule.fail !== undefined
        ? { mode: 'fail', code: rule.fail, rule }
        : { mode: 'lostReply', code: rule.lostReply as ErrnoCode, rule };
    }
    return undefined;
  }
}
