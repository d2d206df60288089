/**
 * The config file of `fanout --config <file> run|recover|status`: named spools
 * and routes, in YAML or JSON (JSON is YAML), validated by a schema. Every
 * error points at the line and column of the offending value.
 *
 * ```yaml
 * spools:
 *   inbox: ./spool/inbox                # a path, relative to this file
 *   archive: file:///var/spool/archive
 *   remote:
 *     url: webdav+https://dav.example.com/spool
 *     username: fanout
 *     passwordEnv: FANOUT_REMOTE_PASSWORD   # or `password:` (keep the file private)
 * routes:
 *   - name: main
 *     from: inbox
 *     to: [archive, remote]
 *     protocol: staged
 *     batch: 16
 *     concurrency: 2
 *     maxAttempts: 5                    # failed attempts before a message is held
 *     transform: ./add-header.mjs
 * ```
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FanoutError } from '@fanout/core';
import { isMap, isSeq, LineCounter, type Node, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { type Credentials, hasUserInfo, spoolScheme } from './spool-url.js';

const spoolName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a spool name is letters, digits, "_", "." or "-"');

const spoolSchema = z.union(
  [
    z.string().min(1),
    z.strictObject({
      url: z.string().min(1),
      username: z.string().optional(),
      password: z.string().optional(),
      passwordEnv: z.string().optional(),
    }),
  ],
  { error: 'a spool is a path or URL, or { url, username, password | passwordEnv }' },
);

const destinationSchema = z.union(
  [spoolName, z.strictObject({ spool: spoolName, transform: z.string().min(1).optional() })],
  {
    error: 'a destination is a spool name, or { spool, transform }',
  },
);

const routeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  from: spoolName,
  to: z.union([destinationSchema, z.array(destinationSchema).min(1)], {
    error: '"to" is a spool name or a list of them',
  }),
  protocol: z.enum(['staged', 'seed']).optional(),
  batch: z.number().int().positive().optional(),
  concurrency: z.number().int().positive().optional(),
  maxAttempts: z.number().int().positive().optional(),
  transform: z.string().min(1).optional(),
});

const configSchema = z.strictObject({
  spools: z.record(spoolName, spoolSchema),
  routes: z.array(routeSchema).optional(),
});

/** A spool the config file names. */
export interface ConfiguredSpool {
  readonly name: string;
  /** Its location: a URL, or an absolute path. */
  readonly location: string;
  readonly credentials: Credentials | undefined;
}

/** A destination of a configured route. */
export interface ConfiguredDestination {
  readonly spool: string;
  /** Absolute path of the transform module, if any. */
  readonly transform: string | undefined;
}

/** A route: one source fanned out to its destinations. */
export interface ConfiguredRoute {
  readonly name: string;
  readonly from: string;
  readonly to: readonly ConfiguredDestination[];
  readonly protocol: 'staged' | 'seed' | undefined;
  readonly batch: number | undefined;
  readonly concurrency: number | undefined;
  /** Failed attempts of a message (its transform failed) before it is held. */
  readonly maxAttempts: number | undefined;
}

/** A validated config file. */
export interface FanoutConfig {
  readonly file: string;
  readonly spools: ReadonlyMap<string, ConfiguredSpool>;
  readonly routes: readonly ConfiguredRoute[];
}

type Path = readonly PropertyKey[];

/** The node at `path`, or the closest ancestor that exists; with `key`, the map key rather than its value. */
function nodeAt(doc: Document, path: Path, key = false): Node | undefined {
  let node: unknown = doc.contents;
  let found = node as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === seg);
      if (!pair) return found;
      node = key && i === path.length - 1 ? pair.key : pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return found;
    }
    if (node && typeof node === 'object' && 'range' in node) found = node as Node;
  }
  return found;
}

/** Builds the one-line errors that point into the file. */
class ConfigErrors {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  at(message: string, path: Path, key = false): FanoutError {
    const offset = nodeAt(this.doc, path, key)?.range?.[0];
    return this.atOffset(message, offset, path);
  }

  atOffset(message: string, offset: number | undefined, path: Path = []): FanoutError {
    const pos = offset === undefined ? undefined : this.lines.linePos(offset);
    const where = pos ? `${this.file}:${pos.line}:${pos.col}` : this.file;
    const what = path.length > 0 ? `${path.map(String).join('.')}: ` : '';
    return new FanoutError('EUSAGE', `${what}${message}`, { spool: where });
  }
}

/** Resolve a path written in the config against the config file's directory. */
function fromConfigDir(file: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dirname(file), p);
}

/**
 * Read, parse and validate a config file.
 * @throws `EUSAGE` naming `file:line:col` and the offending key for any error.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<FanoutConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new FanoutError(
      'EUSAGE',
      `cannot read config file: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
      { spool: file, cause },
    );
  }
  return parseConfig(text, file, path, env);
}

/** {@link loadConfig} on text already read; `file` is how errors name it, `path` where relative paths start. */
export function parseConfig(
  text: string,
  file: string,
  path: string = resolve(file),
  env: NodeJS.ProcessEnv = process.env,
): FanoutConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors = new ConfigErrors(file, doc, lines);
  const syntax = doc.errors[0];
  if (syntax) throw errors.atOffset(syntax.message.split('\n')[0]!, syntax.pos[0]);

  const parsed = configSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      throw errors.at(`unknown key "${key}"`, [...issue.path, key], true);
    }
    throw errors.at(issue.message, issue.path);
  }
  const raw = parsed.data;

  const spools = new Map<string, ConfiguredSpool>();
  for (const [name, s] of Object.entries(raw.spools)) {
    const url = typeof s === 'string' ? s : s.url;
    const at = typeof s === 'string' ? ['spools', name] : ['spools', name, 'url'];
    try {
      spoolScheme(url);
    } catch (err) {
      throw errors.at((err as FanoutError).message, at);
    }
    if (hasUserInfo(url))
      throw errors.at('put the user name and password in "username"/"password", not in the URL', at);
    const isPath = !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url);
    let credentials: Credentials | undefined;
    if (
      typeof s !== 'string' &&
      (s.username !== undefined || s.password !== undefined || s.passwordEnv !== undefined)
    ) {
      let password = s.password;
      if (s.passwordEnv !== undefined) {
        password = env[s.passwordEnv];
        if (password === undefined)
          throw errors.at(`environment variable ${s.passwordEnv} is not set`, ['spools', name, 'passwordEnv']);
      }
      credentials = { username: s.username, password };
    }
    spools.set(name, { name, location: isPath ? fromConfigDir(path, url) : url, credentials });
  }

  const routes: ConfiguredRoute[] = [];
  (raw.routes ?? []).forEach((r, i) => {
    const check = (name: string, at: Path) => {
      if (!spools.has(name)) throw errors.at(`no spool named "${name}" under "spools"`, at);
    };
    check(r.from, ['routes', i, 'from']);
    const list = Array.isArray(r.to) ? r.to : [r.to];
    const to = list.map((d, j) => {
      const at = Array.isArray(r.to) ? ['routes', i, 'to', j] : ['routes', i, 'to'];
      const spool = typeof d === 'string' ? d : d.spool;
      check(spool, typeof d === 'string' ? at : [...at, 'spool']);
      const transform = (typeof d === 'string' ? undefined : d.transform) ?? r.transform;
      return { spool, transform: transform === undefined ? undefined : fromConfigDir(path, transform) };
    });
    routes.push({
      name: r.name ?? `route ${i + 1}`,
      from: r.from,
      to,
      protocol: r.protocol,
      batch: r.batch,
      concurrency: r.concurrency,
      maxAttempts: r.maxAttempts,
    });
  });
  return { file, spools, routes };
}
