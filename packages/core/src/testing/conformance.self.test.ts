/**
 * The conformance suite tested against itself: a correct in-memory reference
 * backend must pass every check, and deliberately broken backends must fail
 * the checks that exist to catch them — a suite that cannot fail proves nothing.
 */
import assert from 'node:assert/strict';
import { describe, expect, it } from 'vitest';
import { assertPlainName } from '../backend/plain-name.js';
import type {
  ContentSource,
  CreateOptions,
  EntryKind,
  EntryStat,
  SpoolBackend,
  SpoolEntry,
} from '../backend/spool-backend.js';
import { FanoutError, toFanoutError, type FanoutErrorCode } from '../errors/fanout-error.js';
import { linkChecks } from './checks/link-checks.js';
import {
  conformanceChecks,
  defineBackendConformance,
  runConformanceChecks,
  type ConformanceHarness,
  type ConformanceResult,
} from './index.js';

interface Entry {
  kind: EntryKind;
  chunks: Uint8Array[];
  size: number;
  id: number;
  mtimeMs: number;
}

let spoolCounter = 0;

/** A correct backend over a Map: the smallest thing that honours the whole contract. */
class ReferenceBackend implements SpoolBackend {
  readonly location = `reference://spool-${++spoolCounter}`;
  readonly entries = new Map<string, Entry>();
  containerExists = false;
  private nextId = 1;

  protected fail(code: FanoutErrorCode, message: string, file?: string): FanoutError {
    return new FanoutError(code, message, { spool: this.location, file });
  }

  protected checkName(name: string): void {
    assertPlainName(name, this.location);
  }

  protected requireContainer(file?: string): void {
    if (!this.containerExists) throw this.fail('ENOENT', 'the spool container does not exist', file);
  }

  newEntry(kind: EntryKind): Entry {
    return { kind, chunks: [], size: 0, id: this.nextId++, mtimeMs: Date.now() };
  }

  protected store(entry: Entry, chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    entry.chunks.push(new Uint8Array(chunk)); // a copy: the caller may reuse its buffer
    entry.size += chunk.byteLength;
  }

  async ensureContainer(): Promise<void> {
    this.containerExists = true;
  }

  async createExclusive(name: string, content: ContentSource, options?: CreateOptions): Promise<number> {
    this.checkName(name);
    const signal = options?.signal;
    if (signal?.aborted) throw this.fail('EABORTED', 'aborted', name);
    this.requireContainer(name);
    if (this.entries.has(name)) throw this.fail('EEXIST', 'exists', name);
    const entry = this.newEntry('file');
    this.entries.set(name, entry); // taking the name first is what makes concurrent creators lose
    try {
      if (content instanceof Uint8Array) this.store(entry, content);
      else {
        for await (const chunk of content) {
          this.store(entry, chunk);
          if (signal?.aborted) throw this.fail('EABORTED', 'aborted', name);
        }
      }
      if (signal?.aborted) throw this.fail('EABORTED', 'aborted', name);
      return entry.size;
    } catch (err) {
      this.discardPartial(name, entry);
      throw toFanoutError(err, 'EIO', { spool: this.location, file: name });
    }
  }

  protected discardPartial(name: string, entry: Entry): void {
    if (this.entries.get(name) === entry) this.entries.delete(name);
  }

  /** The regular file `from`, to be given the name `to` (publish, link). */
  protected fileToName(from: string, to: string): Entry {
    this.checkName(from);
    this.checkName(to);
    this.requireContainer(from);
    const source = this.entries.get(from);
    if (!source) throw this.fail('ENOENT', 'no such file', from);
    if (source.kind !== 'file') throw this.fail('EBADENTRY', `not a file: ${source.kind}`, from);
    return source;
  }

  async publish(from: string, to: string): Promise<void> {
    const source = this.fileToName(from, to);
    if (this.entries.has(to)) throw this.fail('EEXIST', 'target exists', to);
    this.entries.set(to, source);
    this.entries.delete(from);
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.fileToName(from, to);
    const target = this.entries.get(to);
    if (target !== undefined && target !== source) throw this.fail('EEXIST', 'target exists', to);
    this.entries.set(to, source);
    this.entries.delete(from);
  }

  async link(from: string, to: string): Promise<void> {
    const source = this.fileToName(from, to);
    const target = this.entries.get(to);
    if (target === source) return;
    if (target) throw this.fail('EEXIST', 'target exists', to);
    this.entries.set(to, source);
  }

  async remove(name: string): Promise<boolean> {
    this.checkName(name);
    this.requireContainer(name);
    const entry = this.entries.get(name);
    if (!entry) return false;
    if (entry.kind === 'directory') throw this.fail('EBADENTRY', 'a directory', name);
    this.entries.delete(name);
    return true;
  }

  async *list(): AsyncGenerator<SpoolEntry> {
    this.requireContainer();
    for (const [name, entry] of [...this.entries]) yield { name, kind: entry.kind };
  }

  async stat(name: string): Promise<EntryStat | undefined> {
    this.checkName(name);
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    return {
      kind: entry.kind,
      size: entry.kind === 'file' ? entry.size : 0,
      mtimeMs: entry.mtimeMs,
      fileId: String(entry.id),
      nlink: [...this.entries.values()].filter((e) => e === entry).length,
    };
  }

  read(name: string): AsyncIterable<Uint8Array> {
    this.checkName(name);
    return this.readEntry(name);
  }

  protected async *readEntry(name: string): AsyncGenerator<Uint8Array> {
    const entry = this.entries.get(name);
    if (!entry) throw this.fail('ENOENT', 'no such file', name);
    if (entry.kind !== 'file') throw this.fail('EBADENTRY', `not a file: ${entry.kind}`, name);
    for (const chunk of entry.chunks) yield new Uint8Array(chunk);
  }

  async syncDir(): Promise<void> {
    this.requireContainer();
  }

  async close(): Promise<void> {}
}

const MiB = 1024 * 1024;

function harnessFor(make: () => ReferenceBackend, extra: Partial<ConformanceHarness> = {}): ConformanceHarness {
  return {
    async create() {
      const backend = make();
      await backend.ensureContainer();
      return backend;
    },
    async destroy(backend) {
      await backend.close();
    },
    async plant(backend, name, kind) {
      const b = backend as ReferenceBackend;
      b.entries.set(name, b.newEntry(kind === 'other' ? 'other' : kind));
      return true;
    },
    async removeContainer(backend) {
      const b = backend as ReferenceBackend;
      b.entries.clear();
      b.containerExists = false;
    },
    // Above the suite's fixed memory budget, so a backend holding the file twice shows.
    bigFileBytes: 64 * MiB,
    // The reference keeps exactly one copy of what it stores.
    storageMemoryFactor: 1,
    ...extra,
  };
}

defineBackendConformance(
  'the reference in-memory backend',
  harnessFor(() => new ReferenceBackend()),
);

// ---------------------------------------------------------------- broken backends

class ClobberingPublish extends ReferenceBackend {
  override async publish(from: string, to: string): Promise<void> {
    const source = this.entries.get(from);
    if (!source) throw this.fail('ENOENT', 'no such file', from);
    this.entries.set(to, source);
    this.entries.delete(from);
  }
}

class ClobberingLink extends ReferenceBackend {
  override async link(from: string, to: string): Promise<void> {
    const source = this.entries.get(from);
    if (!source) throw this.fail('ENOENT', 'no such file', from);
    this.entries.set(to, source);
  }
}

class OverwritingCreate extends ReferenceBackend {
  override async createExclusive(name: string, content: ContentSource, options?: CreateOptions): Promise<number> {
    this.entries.delete(name);
    return super.createExclusive(name, content, options);
  }
}

/** Looks before it writes, but only takes the name at the end: concurrent creators all "win". */
class RacyCreate extends ReferenceBackend {
  override async createExclusive(name: string, content: ContentSource): Promise<number> {
    this.checkName(name);
    if (this.entries.has(name)) throw this.fail('EEXIST', 'exists', name);
    const entry = this.newEntry('file');
    if (content instanceof Uint8Array) this.store(entry, content);
    else for await (const chunk of content) this.store(entry, chunk);
    this.entries.set(name, entry);
    return entry.size;
  }
}

class RemoveAlwaysTrue extends ReferenceBackend {
  override async remove(name: string): Promise<boolean> {
    await super.remove(name);
    return true;
  }
}

class ListFollowsSymlinks extends ReferenceBackend {
  override async *list(): AsyncGenerator<SpoolEntry> {
    for await (const e of super.list()) yield e.kind === 'symlink' ? { name: e.name, kind: 'file' } : e;
  }
}

class StatFollowsSymlinks extends ReferenceBackend {
  override async stat(name: string): Promise<EntryStat | undefined> {
    const st = await super.stat(name);
    return st?.kind === 'symlink' ? { ...st, kind: 'file' } : st;
  }
}

class ListsDotEntries extends ReferenceBackend {
  override async *list(): AsyncGenerator<SpoolEntry> {
    yield { name: '.', kind: 'directory' };
    yield { name: '..', kind: 'directory' };
    yield* super.list();
  }
}

class LeavesPartialFile extends ReferenceBackend {
  protected override discardPartial(): void {}
}

class IgnoresAbort extends ReferenceBackend {
  override createExclusive(name: string, content: ContentSource): Promise<number> {
    return super.createExclusive(name, content);
  }
}

class AcceptsAnyName extends ReferenceBackend {
  protected override checkName(): void {}
}

class ReadFollowsSymlinks extends ReferenceBackend {
  protected override async *readEntry(name: string): AsyncGenerator<Uint8Array> {
    const entry = this.entries.get(name);
    if (entry?.kind === 'symlink') {
      yield new TextEncoder().encode('the target of the link');
      return;
    }
    yield* super.readEntry(name);
  }
}

class PublishesAnything extends ReferenceBackend {
  override async publish(from: string, to: string): Promise<void> {
    const source = this.entries.get(from);
    if (source && source.kind !== 'file') source.kind = 'file';
    return super.publish(from, to);
  }
}

class RemovesDirectories extends ReferenceBackend {
  override async remove(name: string): Promise<boolean> {
    return this.entries.delete(name);
  }
}

/** Errors without the spool's location: an operator could not tell which spool failed. */
class ErrorsWithoutLocation extends ReferenceBackend {
  protected override fail(code: FanoutErrorCode, message: string, file?: string): FanoutError {
    return new FanoutError(code, message, { file });
  }
}

class MissingContainerLooksEmpty extends ReferenceBackend {
  protected override requireContainer(): void {}
}

/** The classic readFile mistake: gathers the whole file, then yields it. */
class ReadsWholeFileAtOnce extends ReferenceBackend {
  protected override async *readEntry(name: string): AsyncGenerator<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const chunk of super.readEntry(name)) parts.push(chunk);
    yield Buffer.concat(parts);
  }
}

/** Keeps a second copy of everything written (a journal nobody asked for). */
class KeepsCopyOfWrites extends ReferenceBackend {
  readonly journal: Uint8Array[] = [];
  protected override store(entry: Entry, chunk: Uint8Array): void {
    this.journal.push(new Uint8Array(chunk));
    super.store(entry, chunk);
  }
}

class WrongByteCount extends ReferenceBackend {
  override async createExclusive(name: string, content: ContentSource, options?: CreateOptions): Promise<number> {
    return (await super.createExclusive(name, content, options)) + 1;
  }
}

const broken: { backend: new () => ReferenceBackend; breaks: string[] }[] = [
  {
    backend: ClobberingPublish,
    breaks: ['publish never replaces an existing name', 'concurrent publishes to one name'],
  },
  { backend: ClobberingLink, breaks: ['link never replaces an existing name', 'concurrent links of different files'] },
  { backend: OverwritingCreate, breaks: ['createExclusive refuses an existing file', 'concurrent exclusive creates'] },
  { backend: RacyCreate, breaks: ['concurrent exclusive creates'] },
  { backend: RemoveAlwaysTrue, breaks: ['remove resolves true when it removed the name and false'] },
  { backend: ListFollowsSymlinks, breaks: ['list and stat report symlinks'] },
  { backend: StatFollowsSymlinks, breaks: ['list and stat report symlinks'] },
  { backend: ListsDotEntries, breaks: ['list of a fresh spool yields nothing', 'list reports each of 300 files'] },
  { backend: LeavesPartialFile, breaks: ['removes the partial file when the content stream throws', 'aborted signal'] },
  { backend: IgnoresAbort, breaks: ['aborted signal fails with EABORTED'] },
  { backend: AcceptsAnyName, breaks: ['refuses names that are not plain with EUSAGE'] },
  { backend: ReadFollowsSymlinks, breaks: ['read refuses a symlink and a directory'] },
  { backend: PublishesAnything, breaks: ['publish refuses a symlink or directory source'] },
  { backend: RemovesDirectories, breaks: ['remove refuses a directory'] },
  { backend: ErrorsWithoutLocation, breaks: ['refuses an existing file with EEXIST', 'read of a missing name fails'] },
  {
    backend: MissingContainerLooksEmpty,
    breaks: ['createExclusive fails with ENOENT when the container is gone', 'list fails with ENOENT'],
  },
  { backend: ReadsWholeFileAtOnce, breaks: ['a big file'] },
  { backend: KeepsCopyOfWrites, breaks: ['a big file'] },
  { backend: WrongByteCount, breaks: ['writes bytes, returns the byte count'] },
];

function checkNamed(fragment: string) {
  const matches = conformanceChecks.filter((c) => c.name.includes(fragment));
  assert.equal(matches.length, 1, `exactly one check is named like "${fragment}"`);
  return matches[0]!;
}

describe('the conformance suite catches broken backends', () => {
  for (const { backend: Broken, breaks } of broken) {
    it(`fails ${Broken.name} on: ${breaks.join('; ')}`, async () => {
      const harness = harnessFor(() => new Broken());
      for (const fragment of breaks) {
        const check = checkNamed(fragment);
        await expect(check.run(harness), `${Broken.name} must fail "${check.name}"`).rejects.toThrow();
      }
    }, 120_000);
  }

  it('reports the racy creator as passing the sequential EEXIST check, so only the concurrency check catches it', async () => {
    await expect(
      checkNamed('createExclusive refuses an existing file').run(harnessFor(() => new RacyCreate())),
    ).resolves.toBeUndefined();
  });
});

describe('the conformance suite itself', () => {
  it('has unique, sentence-like check names', () => {
    const names = conformanceChecks.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9].{20,}$/);
  });

  it('reports checks it cannot set up as not applicable, never as passed', async () => {
    const bare = harnessFor(() => new ReferenceBackend(), { plant: undefined, removeContainer: undefined });
    const results: ConformanceResult[] = await runConformanceChecks(bare, {
      filter: (c) => !c.name.startsWith('a big file'),
    });
    const byStatus = (s: ConformanceResult['status']) => results.filter((r) => r.status === s).map((r) => r.name);
    expect(byStatus('failed')).toEqual([]);
    expect(byStatus('not-applicable')).toEqual(
      expect.arrayContaining([
        checkNamed('list and stat report symlinks').name,
        checkNamed('read refuses a FIFO').name,
        checkNamed('list fails with ENOENT').name,
      ]),
    );
    expect(byStatus('passed')).toContain(checkNamed('concurrent exclusive creates').name);
  });

  it('takes a backend without link() as one without hard links: its link checks are not applicable', async () => {
    // No flag beside it: an own `link` that is undefined hides the reference backend's method.
    const withoutLinks = (): ReferenceBackend =>
      Object.assign(new ReferenceBackend(), { link: undefined }) as unknown as ReferenceBackend;
    expect(linkChecks.length).toBeGreaterThan(2);
    const results = await runConformanceChecks(harnessFor(withoutLinks), { filter: (c) => linkChecks.includes(c) });
    expect(results.map((r) => r.status)).toEqual(linkChecks.map(() => 'not-applicable'));
    const withLinks = await runConformanceChecks(
      harnessFor(() => new ReferenceBackend()),
      { filter: (c) => linkChecks.includes(c) },
    );
    expect(withLinks.map((r) => r.status)).toEqual(linkChecks.map(() => 'passed'));
  });

  it('runs outside any test framework and reports failures as results', async () => {
    const results = await runConformanceChecks(
      harnessFor(() => new ClobberingPublish()),
      {
        filter: (c) => c.name.startsWith('publish'),
      },
    );
    const failed = results.filter((r) => r.status === 'failed').map((r) => r.name);
    expect(failed).toContain(checkNamed('publish never replaces an existing name').name);
    expect(results.find((r) => r.name === checkNamed('publish gives the file its new name').name)?.status).toBe(
      'passed',
    );
  });
});
