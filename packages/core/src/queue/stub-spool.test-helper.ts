/** A spool of plain in-memory files for the queue tests: each name its own file; syncs counted. */
import type { ContentSource, SpoolBackend, SpoolEntry } from '../backend/spool-backend.js';
import { FanoutError } from '../errors/fanout-error.js';

export interface StubSpool extends SpoolBackend {
  names(): string[];
  syncs: number;
  put(name: string, text: string): void;
  text(name: string): string | undefined;
}

export function stubSpool(initial: Record<string, string> = {}): StubSpool {
  const files = new Map(Object.entries(initial).map(([k, v]) => [k, Buffer.from(v)]));
  const spool = {
    location: 'test://S',
    syncs: 0,
    names: () => [...files.keys()].sort(),
    put: (name: string, text: string) => void files.set(name, Buffer.from(text)),
    text: (name: string) => files.get(name)?.toString('utf8'),
    async *list(): AsyncIterable<SpoolEntry> {
      for (const name of [...files.keys()]) yield { name, kind: 'file' };
    },
    async stat(name: string) {
      const f = files.get(name);
      return f ? { kind: 'file', size: f.byteLength, mtimeMs: 1000, fileId: name, nlink: 1 } : undefined;
    },
    async *read(name: string) {
      const f = files.get(name);
      if (!f) throw new FanoutError('ENOENT', 'gone', { file: name });
      yield new Uint8Array(f);
    },
    async createExclusive(name: string, content: ContentSource) {
      if (files.has(name)) throw new FanoutError('EEXIST', 'exists', { file: name });
      const chunks: Uint8Array[] = [];
      if (content instanceof Uint8Array) chunks.push(content);
      else for await (const c of content) chunks.push(c);
      files.set(name, Buffer.concat(chunks));
      return Buffer.concat(chunks).byteLength;
    },
    async rename(from: string, to: string) {
      const f = files.get(from);
      if (!f) throw new FanoutError('ENOENT', 'gone', { file: from });
      if (files.has(to)) throw new FanoutError('EEXIST', 'exists', { file: to });
      files.delete(from);
      files.set(to, f);
    },
    async remove(name: string) {
      return files.delete(name);
    },
    async syncDir() {
      spool.syncs++;
    },
    async close() {},
  };
  return spool as unknown as StubSpool;
}
