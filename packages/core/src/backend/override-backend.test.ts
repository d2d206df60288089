import { describe, expect, it } from 'vitest';
import { overrideBackend } from './override-backend.js';
import type { ContentSource, EntryStat, SpoolBackend, SpoolEntry } from './spool-backend.js';

/** A backend whose state lives in private fields, so a method called on the wrong `this` throws. */
class PrivateBackend implements SpoolBackend {
  readonly #files = new Map<string, Uint8Array>();
  readonly #location: string;
  #closed = false;

  constructor(location = 'private://spool') {
    this.#location = location;
  }

  get location(): string {
    return this.#location;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async ensureContainer(): Promise<void> {}

  async createExclusive(name: string, content: ContentSource): Promise<number> {
    const chunks: Uint8Array[] = [];
    if (content instanceof Uint8Array) chunks.push(content);
    else for await (const chunk of content) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    this.#files.set(name, bytes);
    return bytes.byteLength;
  }

  async publish(from: string, to: string): Promise<void> {
    const file = this.#files.get(from);
    if (file === undefined) throw new Error(`no ${from}`);
    this.#files.set(to, file);
    this.#files.delete(from);
  }

  async rename(from: string, to: string): Promise<void> {
    return this.publish(from, to);
  }

  async remove(name: string): Promise<boolean> {
    return this.#files.delete(name);
  }

  async *list(): AsyncIterable<SpoolEntry> {
    for (const name of this.#files.keys()) yield { name, kind: 'file' };
  }

  async stat(name: string): Promise<EntryStat | undefined> {
    const file = this.#files.get(name);
    return file && { kind: 'file', size: file.byteLength, mtimeMs: 0, fileId: name, nlink: 1 };
  }

  async *read(name: string): AsyncIterable<Uint8Array> {
    const file = this.#files.get(name);
    if (file === undefined) throw new Error(`no ${name}`);
    yield file;
  }

  async syncDir(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
  }
}

/** The same, with the optional `link`. */
class LinkingBackend extends PrivateBackend {
  readonly #links: string[] = [];
  async link(from: string, to: string): Promise<void> {
    this.#links.push(`${from}->${to}`);
  }
  get links(): readonly string[] {
    return this.#links;
  }
}

async function names(backend: SpoolBackend): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of backend.list()) out.push(entry.name);
  return out.sort();
}

describe('overrideBackend', () => {
  it('forwards every method it does not override to the real backend, bound to it (private fields work)', async () => {
    const real = new PrivateBackend();
    const wrapper = overrideBackend(real, {});
    expect(await wrapper.createExclusive('a', new Uint8Array([1, 2, 3]))).toBe(3);
    await wrapper.publish('a', 'b');
    expect(await names(wrapper)).toEqual(['b']);
    expect(await names(real)).toEqual(['b']);
    expect((await wrapper.stat('b'))?.size).toBe(3);
    // A method taken off the wrapper still works: it is bound to the real backend.
    const { remove } = wrapper;
    expect(await remove('b')).toBe(true);
    expect(await names(real)).toEqual([]);
  });

  it('forwards location (a getter over a private field included)', () => {
    const real = new PrivateBackend('private://elsewhere');
    const wrapper = overrideBackend(real, { close: async () => undefined });
    expect(wrapper.location).toBe('private://elsewhere');
    expect(wrapper).toBeInstanceOf(PrivateBackend);
  });

  it('uses the overrides instead of the real methods, with `this` = the wrapper', async () => {
    const real = new PrivateBackend();
    const calls: string[] = [];
    const wrapper = overrideBackend(real, {
      async close() {
        calls.push('close');
      },
      async syncDir() {
        calls.push(`syncDir of ${this.location}`);
        expect(this).toBe(wrapper);
      },
      async publish(from, to) {
        calls.push(`publish ${from} ${to}`);
        await this.syncDir();
        return real.publish(from, to);
      },
    });
    await wrapper.createExclusive('a', new Uint8Array([1]));
    await wrapper.publish('a', 'b');
    await wrapper.close();
    expect(calls).toEqual(['publish a b', 'syncDir of private://spool', 'close']);
    expect(real.closed).toBe(false);
    expect(await names(real)).toEqual(['b']);
    // A detached override keeps `this` = the wrapper.
    const { syncDir } = wrapper;
    await syncDir();
    expect(calls).toHaveLength(4);
  });

  it('leaves the real backend and the overrides object unchanged', async () => {
    const real = new PrivateBackend();
    const overrides = { close: async () => undefined };
    const wrapper = overrideBackend(real, overrides);
    await wrapper.close();
    expect(real.closed).toBe(false);
    expect(Object.keys(overrides)).toEqual(['close']);
    expect(Object.prototype.hasOwnProperty.call(real, 'close')).toBe(false);
    await real.close();
    expect(real.closed).toBe(true);
  });

  it('keeps optional methods absent when the real backend lacks them', () => {
    const real = new PrivateBackend();
    const wrapper = overrideBackend(real, { close: async () => undefined });
    expect('link' in wrapper).toBe(false);
    expect(wrapper.link).toBeUndefined();
  });

  it('keeps optional methods present, and bound, when the real backend has them', async () => {
    const real = new LinkingBackend();
    const wrapper = overrideBackend(real, {});
    expect('link' in wrapper).toBe(true);
    await wrapper.link?.('a', 'b');
    expect(real.links).toEqual(['a->b']);
  });

  it('adds an optional method the real backend lacks when it is overridden, and ignores undefined overrides', async () => {
    const linked: string[] = [];
    const wrapper = overrideBackend(new PrivateBackend(), {
      link: async (from, to) => void linked.push(`${from}->${to}`),
    });
    expect('link' in wrapper).toBe(true);
    await wrapper.link?.('x', 'y');
    expect(linked).toEqual(['x->y']);

    const real = new LinkingBackend();
    const keeping = overrideBackend(real, { link: undefined });
    expect('link' in keeping).toBe(true);
    await keeping.link?.('c', 'd');
    expect(real.links).toEqual(['c->d']);
  });

  it('can override a data member such as location', () => {
    const real = new PrivateBackend();
    const wrapper = overrideBackend(real, { location: 'private://renamed' });
    expect(wrapper.location).toBe('private://renamed');
    expect(real.location).toBe('private://spool');
  });
});
