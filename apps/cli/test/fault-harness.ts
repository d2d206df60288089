/**
 * Helpers for the fault-injection end-to-end tests (exactly-once.e2e, owner-identity.e2e,
 * operator-files.e2e): real `fanout` processes, killed or paused at a chosen system call with
 * strace, run in Linux namespaces that stand for another host or another PID namespace, and
 * judged only by what an operator or a consumer sees:
 *
 * - messages waiting in a source are `s<id>`, delivered ones are `d<id>`;
 * - what `fanout consume --exec` hands out (a log line per message a command accepted);
 * - exit statuses;
 * - that the operator's own files are untouched;
 * - and, at the end, that every spool holds nothing but `.fanout-spool` and the operator's
 *   files: any other name is a protocol leftover, whatever the protocol calls its files.
 *
 * Every process started here is registered and stopped by {@link stopEverything} (call it in
 * `afterEach`), namespaces included.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, type CliResult, lines } from './cli-harness.js';

// ---------------------------------------------------------------------------------------------
// Requirements

/** Debian packages that provide each tool these tests use. */
const PACKAGE_OF: Record<string, string> = {
  strace: 'strace',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  mount: 'mount',
  chattr: 'e2fsprogs',
  od: 'coreutils',
  sleep: 'coreutils',
};

/**
 * Fail (with what to install) unless this runs as root and every tool is on the PATH.
 * These tests inject faults with strace and namespaces: they must not pass by skipping.
 */
export function requireTools(tools: readonly string[]): void {
  const problems: string[] = [];
  if (process.platform !== 'linux') problems.push(`needs Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) problems.push('needs root (namespaces, mounts, strace of child processes)');
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => PACKAGE_OF[t] ?? t))];
    problems.push(`missing ${missing.join(', ')}: apt-get install -y ${packages.join(' ')}`);
  }
  if (problems.length > 0) throw new Error(`this fault-injection test ${problems.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------
// Processes

/** A started process: what it printed so far, and its end. */
export interface Proc {
  readonly child: ChildProcess;
  /** Host pid of the spawned program (for a namespaced command: of nsenter/unshare). */
  readonly pid: number;
  readonly argv: readonly string[];
  readonly done: Promise<CliResult>;
  exited: boolean;
  stdout(): string;
  stderr(): string;
}

const running = new Set<Proc>();
const extraPids = new Set<number>();
const cleanups: (() => Promise<void>)[] = [];

/** Options of {@link start}. */
export interface StartOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed; `'open'` leaves stdin open for the caller. */
  readonly input?: string | Buffer | 'open';
}

/** Start `argv` (tracked: {@link stopEverything} stops it). */
export function start(argv: readonly string[], options: StartOptions): Proc {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.FORCE_COLOR;
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  child.stdin!.on('error', () => undefined);
  if (options.input !== 'open') child.stdin!.end(options.input ?? '');
  const proc: Proc = {
    child,
    pid: child.pid ?? -1,
    argv,
    exited: false,
    stdout: () => out,
    stderr: () => err,
    done: new Promise<CliResult>((resolve) => {
      child.on('error', (e) => {
        err += `spawn failed: ${e.message}\n`;
        proc.exited = true;
        resolve({ status: null, signal: null, stdout: out, stderr: err });
      });
      // 'close': reaped (so never mistaken for a live owner) and its output fully read. A
      // descendant left running (a consumer's command after its consumer was killed) may hold
      // the pipes open: then 'exit' (reaped too) and whatever was read half a second later.
      let ended: { status: number | null; signal: NodeJS.Signals | null } | undefined;
      const finish = () => {
        proc.exited = true;
        resolve({ status: ended!.status, signal: ended!.signal, stdout: out, stderr: err });
      };
      child.on('exit', (status, signal) => {
        ended = { status, signal };
        setTimeout(finish, 500).unref();
      });
      child.on('close', (status, signal) => {
        ended ??= { status, signal };
        finish();
      });
    }),
  };
  running.add(proc);
  return proc;
}

/** Run `argv` to its end. */
export async function runToEnd(argv: readonly string[], options: StartOptions): Promise<CliResult> {
  return start(argv, options).done;
}

/** Also SIGKILL this pid in {@link stopEverything} (a tracer, a process inside a namespace). */
export function alsoKill(pid: number): void {
  extraPids.add(pid);
}

/** Run `fn` in {@link stopEverything} (after the processes are gone). */
export function atCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}

/** Stop every process started by this module (stopped ones are continued first, so they die), then run the cleanups. */
export async function stopEverything(): Promise<void> {
  for (const pid of extraPids) signal(pid, 'SIGKILL');
  extraPids.clear();
  const procs = [...running];
  running.clear();
  for (const p of procs) {
    if (p.exited) continue;
    signal(p.pid, 'SIGCONT');
    signal(p.pid, 'SIGKILL');
  }
  await Promise.race([Promise.all(procs.map((p) => p.done)), sleep(10_000)]);
  const fns = cleanups.splice(0);
  for (const fn of fns.reverse()) await fn().catch(() => undefined);
}

/** Resolves with the process's end, or rejects after `ms` (the process is left to {@link stopEverything}). */
export async function endWithin(p: Proc, ms: number, what: string): Promise<CliResult> {
  const timer = sleep(ms).then(() => 'timeout' as const);
  const r = await Promise.race([p.done, timer]);
  if (r === 'timeout')
    throw new Error(`${what} still running after ${ms} ms: ${p.argv.join(' ')}\nstderr: ${p.stderr()}`);
  return r;
}

/** Poll until `check` holds; throw (naming `what`) after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(15);
  }
}

/**
 * SIGSTOP / SIGCONT a process started inside a namespace (`inside`: see {@link insideOf}) and
 * its nsenter: nsenter stops itself when its child stops, and stays stopped unless continued.
 */
export function pause(inside: { hostPid: number }): void {
  signal(inside.hostPid, 'SIGSTOP');
}

/** See {@link pause}. */
export function resume(p: Proc, inside: { hostPid: number }): void {
  signal(inside.hostPid, 'SIGCONT');
  signal(p.pid, 'SIGCONT');
}

/** Host pids of the direct children of `pid`. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A field of /proc/<pid>/status, or undefined if the process is gone. */
export function procStatus(pid: number, field: string): string | undefined {
  try {
    const m = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Run several async jobs with at most `n` at a time; results in input order. */
export async function inParallel<T, R>(
  items: readonly T[],
  n: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const k = next++;
        results[k] = await fn(items[k]!, k);
      }
    }),
  );
  return results;
}

// ---------------------------------------------------------------------------------------------
// fanout

/** The argv of the built `fanout` with `args`. */
export function fanoutArgv(args: readonly string[]): string[] {
  return [process.execPath, BIN, ...args];
}

/** A fresh temporary directory, removed by {@link stopEverything}. */
export async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-fault-'));
  atCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `fanout init` the spools (names relative to `dir`). */
export async function initSpools(dir: string, spools: readonly string[]): Promise<void> {
  const r = await runToEnd(fanoutArgv(['init', ...spools]), { cwd: dir });
  if (r.status !== 0) throw new Error(`fanout init failed: ${r.stderr}`);
}

/** Enqueue one message per content into `spool`; returns id → content. */
export async function enqueueAll(
  dir: string,
  spool: string,
  contents: readonly string[],
): Promise<Map<string, string>> {
  if (contents.length === 0) return new Map();
  const staging = join(dir, '.incoming');
  await mkdir(staging, { recursive: true });
  const files: string[] = [];
  for (const [k, c] of contents.entries()) {
    const f = join(staging, `in${k}`);
    await writeFile(f, c);
    files.push(f);
  }
  const r = await runToEnd(fanoutArgv(['enqueue', spool, ...files]), { cwd: dir });
  if (r.status !== 0) throw new Error(`fanout enqueue failed: ${r.stderr}`);
  await rm(staging, { recursive: true, force: true });
  const ids = lines(r.stdout);
  if (ids.length !== contents.length)
    throw new Error(`fanout enqueue printed ${ids.length} ids for ${contents.length} files`);
  return new Map(ids.map((id, k) => [id, contents[k]!]));
}

/** Copy a prepared set of spools (names, contents and identities) to a new directory under `dir`. */
export async function copyTree(from: string, to: string): Promise<string> {
  await cp(from, to, { recursive: true, preserveTimestamps: true });
  return to;
}

/**
 * A `--exec` command that records what it accepted: one line `<id> <hex of content>` appended
 * to `log`. With `gate`, it first reads the message, creates `<gate>/entered-<id>`, and waits
 * until `<gate>/open` exists before recording (and accepting) it.
 */
export function recordingExec(log: string, gate?: string): string {
  const hex = `od -An -v -tx1 | tr -d ' \\n'`;
  const record = `printf '%s %s\\n' "$FANOUT_ID" "$c" >> '${log}'`;
  if (gate === undefined) return `c=$(${hex}); ${record}`;
  return (
    `c=$(${hex}); : > '${gate}/entered-'"$FANOUT_ID"; ` +
    `while [ ! -e '${gate}/open' ]; do sleep 0.02; done; ${record}`
  );
}

/** What each consumer log says: id → hex contents, one per acceptance. */
export async function consumedBy(log: string): Promise<Map<string, string[]>> {
  const seen = new Map<string, string[]>();
  if (!existsSync(log)) return seen;
  for (const line of lines(await readFile(log, 'utf8'))) {
    const [id, hex] = line.split(' ') as [string, string | undefined];
    seen.set(id, [...(seen.get(id) ?? []), hex ?? '']);
  }
  return seen;
}

function hexOf(content: string): string {
  return Buffer.from(content).toString('hex');
}

/** The names in a spool directory, `.fanout-spool` included. */
export async function entriesOf(spool: string): Promise<string[]> {
  return (await readdir(spool)).sort();
}

/** Ids of the messages waiting in a source (`s<id>`). */
export async function waiting(spool: string): Promise<string[]> {
  return (await entriesOf(spool)).filter((n) => n.startsWith('s')).map((n) => n.slice(1));
}

/** Ids of the messages delivered in a destination (`d<id>`). */
export async function deliveredIds(spool: string): Promise<string[]> {
  return (await entriesOf(spool)).filter((n) => n.startsWith('d')).map((n) => n.slice(1));
}

/** One spool of a scenario and the consumer log of a destination. */
export interface Layout {
  /** The working directory; spools are named relative to it. */
  readonly dir: string;
  readonly source: string;
  readonly destinations: readonly string[];
  /** The operator's own files, present in every spool (names). */
  readonly operatorFiles?: readonly string[];
}

/** The consumer log of destination `d`. */
export function logOf(layout: Layout, d: string): string {
  return join(layout.dir, `consumed-${d}.log`);
}

/** `fanout consume <d> --exec <record>` for every destination at once; the statuses. */
export async function consumeAll(layout: Layout, wrap: (argv: string[]) => string[] = (a) => a): Promise<CliResult[]> {
  return Promise.all(
    layout.destinations.map((d) =>
      runToEnd(wrap(fanoutArgv(['consume', d, '--exec', recordingExec(logOf(layout, d))])), { cwd: layout.dir }),
    ),
  );
}

/** The `run` arguments of a layout. */
export function runArgs(layout: Layout, extra: readonly string[] = []): string[] {
  return ['run', '--from', layout.source, ...layout.destinations.flatMap((d) => ['--to', d]), ...extra];
}

/**
 * The operator's last word after any incident: `fanout recover <source>`, `fanout run`,
 * `fanout consume` of every destination. Returns problems (non-zero statuses), not throwing,
 * so the end state can still be judged.
 */
export async function drain(layout: Layout): Promise<string[]> {
  const problems: string[] = [];
  const rec = await runToEnd(fanoutArgv(['recover', layout.source]), { cwd: layout.dir });
  if (rec.status !== 0) problems.push(`final fanout recover exited ${rec.status}: ${rec.stderr.trim()}`);
  const run = await runToEnd(fanoutArgv(runArgs(layout)), { cwd: layout.dir });
  if (run.status !== 0) problems.push(`final fanout run exited ${run.status}: ${run.stderr.trim()}`);
  for (const [k, r] of (await consumeAll(layout)).entries()) {
    if (r.status !== 0)
      problems.push(`final fanout consume ${layout.destinations[k]} exited ${r.status}: ${r.stderr.trim()}`);
  }
  return problems;
}

/**
 * The end state an operator must find: every destination's consumer accepted every expected
 * message exactly once, with its content, and nothing else; the source holds no message; every
 * spool holds only `.fanout-spool` and the operator's files. Returns the problems found.
 */
export async function judgeEnd(layout: Layout, expected: ReadonlyMap<string, string>): Promise<string[]> {
  const problems: string[] = [];
  for (const d of layout.destinations) {
    const seen = await consumedBy(logOf(layout, d));
    for (const [id, content] of expected) {
      const got = seen.get(id) ?? [];
      if (got.length === 0) problems.push(`${d}: ${id} never consumed (lost)`);
      else if (got.length > 1) problems.push(`${d}: ${id} consumed ${got.length} times (duplicate)`);
      if (got.some((h) => h !== hexOf(content))) problems.push(`${d}: ${id} consumed with wrong content`);
    }
    for (const id of seen.keys())
      if (!expected.has(id)) problems.push(`${d}: consumed ${id}, which was never enqueued`);
  }
  const allowed = new Set(['.fanout-spool', ...(layout.operatorFiles ?? [])]);
  for (const spool of [layout.source, ...layout.destinations]) {
    const left = (await entriesOf(join(layout.dir, spool))).filter((n) => !allowed.has(n));
    if (left.length > 0) problems.push(`${spool} is left with ${left.join(', ')}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// strace

/** The system calls that change names in a directory: the steps a crash can fall between. */
export const NAME_CHANGES = ['link', 'linkat', 'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2'] as const;

/**
 * Environment of a traced `fanout`: one libuv pool thread. strace counts `when=N` per system
 * call and per thread, so with one thread doing every file operation the N-th call of a kind
 * is the same point in every run.
 */
export const TRACED_ENV: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '1' };

/**
 * `argv` under strace, tracing {@link NAME_CHANGES} into `log`, with an optional `inject`
 * (`<syscall>:signal=SIGKILL:when=3`, `<syscall>:delay_enter=60s:when=2`). `-D` keeps the traced
 * program a direct child of ours (the tracer is a detached grandchild), so its exit status and
 * signal are the program's own.
 */
export function tracedArgv(argv: readonly string[], log: string, inject?: string): string[] {
  return [
    'strace',
    '-D',
    '-f',
    '-qq',
    '-o',
    log,
    '-e',
    `trace=${NAME_CHANGES.join(',')}`,
    ...(inject ? ['-e', `inject=${inject}`] : []),
    '--',
    ...argv,
  ];
}

/** One traced system call. */
export interface TracedCall {
  readonly tid: number;
  readonly syscall: string;
  /** The call as strace printed it, with the scenario's directory shortened to `…`. */
  readonly text: string;
  /** Its number among the calls of the same kind by the same thread (strace's `when=` count). */
  readonly nth: number;
  /** False when the log ends inside this call (paused or killed at its entry). */
  readonly finished: boolean;
}

/** Parse an strace log (`-f`, one line per call; a last line without its result is a call in progress). */
export function parseTrace(text: string, dir?: string): TracedCall[] {
  const calls: TracedCall[] = [];
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+([a-z0-9_]+)\((.*)$/.exec(line);
    if (!m) continue; // signals, exits, "<... resumed>" halves
    const tid = Number(m[1]);
    const syscall = m[2]!;
    const key = `${tid}/${syscall}`;
    const nth = (counts.get(key) ?? 0) + 1;
    counts.set(key, nth);
    const finished = /\)\s+=\s+(-?\d+|0x[0-9a-f]+)/.test(line);
    const shown = dir
      ? line
          .replace(/^\d+\s+/, '')
          .split(dir)
          .join('…')
      : line.replace(/^\d+\s+/, '');
    calls.push({ tid, syscall, text: shown, nth, finished });
  }
  return calls;
}

/** The tracer of a traced process (its TracerPid), or undefined. */
export function tracerOf(pid: number): number | undefined {
  const t = Number(procStatus(pid, 'TracerPid') ?? '0');
  return t > 0 ? t : undefined;
}

// ---------------------------------------------------------------------------------------------
// Namespaces: other hosts (UTS), other PID namespaces

/** A set of namespaces held open by a sleeping process; commands are run inside with nsenter. */
export interface Namespace {
  readonly hostname: string | undefined;
  readonly pidNamespace: boolean;
  /** Host pid of the holder (pid 1 of the PID namespace, if any). */
  readonly holder: number;
  /** `argv` run inside the namespaces, in `cwd`. */
  wrap(argv: readonly string[], cwd: string): string[];
  /** Make the next process started in this PID namespace get pid `pid` (nothing else may start meanwhile). */
  nextPid(pid: number): Promise<void>;
  /** Kill everything inside and release the namespaces. */
  close(): Promise<void>;
}

/**
 * New namespaces: a UTS namespace with `hostname` (another host: same boot id, same
 * filesystem), and/or a PID namespace with its own /proc (pids start at 1 there).
 */
export async function namespace(options: { hostname?: string; pid?: boolean }): Promise<Namespace> {
  const flags = ['--fork', '--kill-child=SIGKILL'];
  if (options.hostname !== undefined) flags.push('--uts');
  if (options.pid === true) flags.push('--pid', '--mount-proc');
  const script = options.hostname !== undefined ? 'hostname "$1" && exec sleep 100000' : 'exec sleep 100000';
  const unshare = start(['unshare', ...flags, '--', 'sh', '-c', script, 'sh', options.hostname ?? ''], { cwd: '/' });
  let holder = 0;
  await waitFor(
    'the namespace holder to start',
    () => {
      const [c] = childPids(unshare.pid);
      if (c === undefined) return unshare.exited;
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() !== 'sleep') return false;
      } catch {
        return false;
      }
      holder = c;
      return true;
    },
    10_000,
  );
  if (holder === 0) throw new Error(`unshare ${flags.join(' ')} failed: ${unshare.stderr()}`);
  alsoKill(holder);
  const ns: Namespace = {
    hostname: options.hostname,
    pidNamespace: options.pid === true,
    holder,
    wrap(argv, cwd) {
      const enter = [...(options.hostname !== undefined ? ['-u'] : []), ...(options.pid === true ? ['-p', '-m'] : [])];
      return ['nsenter', '-t', String(holder), ...enter, `--wd=${cwd}`, '--', ...argv];
    },
    async nextPid(pid) {
      if (options.pid !== true) throw new Error('nextPid needs a PID namespace');
      const r = await runToEnd(ns.wrap(['sh', '-c', `echo ${pid - 1} > /proc/sys/kernel/ns_last_pid`], '/'), {
        cwd: '/',
      });
      if (r.status !== 0) throw new Error(`cannot set ns_last_pid: ${r.stderr}`);
    },
    async close() {
      signal(holder, 'SIGKILL');
      signal(unshare.pid, 'SIGKILL');
      await unshare.done;
    },
  };
  atCleanup(() => ns.close());
  return ns;
}

/** The process a namespaced command runs as: the child of its nsenter (host pid), and its pid inside. */
export async function insideOf(p: Proc): Promise<{ hostPid: number; nsPid: number }> {
  let hostPid = 0;
  await waitFor(
    `the command inside the namespace to start: ${p.argv.join(' ')}`,
    () => {
      if (p.exited) throw new Error(`${p.argv.join(' ')} ended: ${p.stderr()}`);
      const [c] = childPids(p.pid);
      if (c === undefined) return false;
      hostPid = c;
      return true;
    },
    10_000,
  );
  alsoKill(hostPid);
  const nsPids = (procStatus(hostPid, 'NSpid') ?? '').trim().split(/\s+/).map(Number);
  return { hostPid, nsPid: nsPids[nsPids.length - 1] ?? hostPid };
}

/** A pid that no process on this host has now, far ahead of the pids being handed out. */
export function freeHostPid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
  let p = ((last + 9000) % (max - 2000)) + 1000;
  while (existsSync(`/proc/${p}`)) p++;
  return p;
}
