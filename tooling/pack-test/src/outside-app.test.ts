/**
 * Issue 18, "packages an outside app can install": every publishable package is packed as a
 * release would pack it and installed with npm into scratch apps outside the workspace — an ES
 * module app, a CommonJS app, a strict TypeScript app that compiles and runs every README library
 * example, and an app on vitest 3 that runs the backend conformance suite.
 *
 * On the code before the fix this fails: require() of any package is ERR_PACKAGE_PATH_NOT_EXPORTED,
 * the vitest 3 app's install is ERESOLVE (core's peer vitest@4.1.12), exports name src/ files the
 * tarball does not hold, there is no LICENSE, and the crashfs and fs-nfs examples do not compile
 * or do not run.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDavServer, type DavServer } from './dav-server.js';
import { pack, type PackedPackage } from './pack.js';
import { readmeBlocks, rewriteLocations } from './readme-examples.js';
import { scratchApp, scratchRoot, type Outcome, type ScratchApp } from './scratch-app.js';
import { publishablePackages, repoRoot, workspacePackages, type WorkspacePackage } from './workspace-packages.js';

const SUPPORTED_NODE = '>=20.19';
const VITEST_3 = '3.2.7';
const TYPESCRIPT = '5.9.3';
const TYPES_NODE = '20.19.43';

/** A README's ```ts block as a program: where its locations point when it runs, what it prints. */
interface ReadmeExample {
  readonly readme: string;
  /** Index among the README's ```ts blocks. */
  readonly block: number;
  /** Locations in the example → where they point in the scratch directory `dir` (created empty). */
  readonly rewrites?: (dir: string, dav: DavServer) => Record<string, string>;
  /** Files the example reads, created in `dir` before it runs. */
  readonly files?: Record<string, string>;
  readonly prints: RegExp;
}

const readmeExamples: readonly ReadmeExample[] = [
  {
    // The library section: a deployment choosing its backends by URL (here a path, nfs: and memory:).
    readme: 'README.md',
    block: 0,
    rewrites: (dir) => ({
      "'memory://outbox'": `'${join(dir, 'outbox')}'`,
      "'memory://a memory://b'": `'nfs://${join(dir, 'a')} memory://b'`,
    }),
    prints: /^1 delivered to 2 spools$/m,
  },
  { readme: 'packages/core/README.md', block: 0, prints: /"example":\["HELLO, WORLD\\n"\]/ },
  { readme: 'packages/core/README.md', block: 1, prints: /^true held 0$/m },
  { readme: 'packages/fs-memory/README.md', block: 0, prints: /^hello$/m },
  {
    readme: 'packages/crashfs/README.md',
    block: 0,
    prints: /^\d+ crash points, \d+ crash states, each recovered: no loss, no duplicate$/m,
  },
  { readme: 'packages/crashfs/README.md', block: 1, prints: /^$/ },
  {
    readme: 'packages/fs-posix/README.md',
    block: 0,
    rewrites: (dir) => ({
      'file:///var/spool/fanout/': `${pathToFileURL(dir).href}/`,
      '/tmp/message.eml': join(dir, 'message.eml'),
    }),
    files: { 'message.eml': 'Subject: hello\n\nhello\n' },
    prints: /^d01J9Z file$/m,
  },
  {
    readme: 'packages/fs-nfs/README.md',
    block: 0,
    rewrites: (dir) => ({ 'nfs:///mnt/shared/fanout/': `nfs://${dir}/` }),
    prints: /^d01J9Z file$/m,
  },
  {
    readme: 'packages/fs-webdav/README.md',
    block: 0,
    rewrites: (_dir, dav) => ({ 'webdav+https://dav.example.com/': `webdav+${dav.baseUrl}` }),
    prints: /^s01J9Z file$/m,
  },
];

/** Every README of a published package with TypeScript examples. */
const readmesWithExamples = [
  'README.md',
  'packages/core/README.md',
  'packages/crashfs/README.md',
  'packages/fs-memory/README.md',
  'packages/fs-nfs/README.md',
  'packages/fs-posix/README.md',
  'packages/fs-webdav/README.md',
];

let root: string;
let dav: DavServer;
let published: WorkspacePackage[];
const packed = new Map<string, PackedPackage>();
const apps: Record<'esm' | 'cjs' | 'ts' | 'vitest3', ScratchApp> = {} as never;
const installs: Partial<Record<keyof typeof apps, Outcome>> = {};
const exampleDirs = new Map<ReadmeExample, string>();

function tarball(name: string): string {
  const found = packed.get(name);
  if (!found) throw new Error(`${name} was not packed`);
  return found.tarball;
}

function jsonLines(outcome: Outcome): Record<string, unknown>[] {
  return outcome.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function explain(outcome: Outcome): string {
  return `exit ${outcome.code}\n--- stdout\n${outcome.stdout.slice(-4000)}\n--- stderr\n${outcome.stderr.slice(-4000)}`;
}

function exampleFile(example: ReadmeExample): string {
  const slug = example.readme.replace(/\/README\.md$/, '').replace(/[^a-z0-9]+/gi, '-');
  return `${slug}-${example.block}`;
}

beforeAll(async () => {
  root = scratchRoot();
  dav = await startDavServer();
  published = publishablePackages();
  const tarballs = join(root, 'tarballs');
  mkdirSync(tarballs);
  for (const pkg of published) packed.set(pkg.name, pack(pkg, tarballs));
  const ours = Object.fromEntries(published.map((pkg) => [pkg.name, tarball(pkg.name)]));

  apps.esm = scratchApp(root, { name: 'esm-app', type: 'module', dependencies: ours, fixture: 'esm-app/' });
  apps.cjs = scratchApp(root, { name: 'cjs-app', type: 'commonjs', dependencies: ours, fixture: 'cjs-app/' });
  apps.ts = scratchApp(root, {
    name: 'ts-app',
    type: 'module',
    dependencies: ours,
    devDependencies: { typescript: TYPESCRIPT, '@types/node': TYPES_NODE },
    fixture: 'ts-app/',
  });
  apps.vitest3 = scratchApp(root, {
    name: 'vitest3-app',
    type: 'module',
    dependencies: Object.fromEntries(
      ['@fanout/core', '@fanout/fs-posix', '@fanout/fs-memory'].map((name) => [name, tarball(name)]),
    ),
    devDependencies: { vitest: VITEST_3 },
    fixture: 'vitest3-app/',
  });

  for (const example of readmeExamples) {
    const dir = join(root, 'example-dirs', exampleFile(example));
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(example.files ?? {})) writeFileSync(join(dir, name), content);
    const block = readmeBlocks(example.readme, 'ts')[example.block];
    if (!block) throw new Error(`${example.readme} has no ts block ${example.block}`);
    const where = `${example.readme}:${block.line}`;
    const code = rewriteLocations(block.code, example.rewrites?.(dir, dav) ?? {}, where);
    writeFileSync(join(apps.ts.dir, 'src', `${exampleFile(example)}.ts`), `// ${where}\n${code}`);
    exampleDirs.set(example, dir);
  }

  // The installs are mostly waiting on the registry: run them side by side.
  await Promise.all(
    (Object.keys(apps) as (keyof typeof apps)[]).map(async (key) => {
      installs[key] = await apps[key].install();
    }),
  );
});

afterAll(async () => {
  await dav?.dispose();
  if (root && !process.env.FANOUT_KEEP_PACK_TEST) rmSync(root, { recursive: true, force: true });
});

describe('the published packages', () => {
  it('are the packages under packages/ and apps/; everything under tooling/ is private', () => {
    expect(published.map((pkg) => pkg.name).sort()).toEqual([
      '@fanout/cli',
      '@fanout/core',
      '@fanout/crashfs',
      '@fanout/fs-memory',
      '@fanout/fs-nfs',
      '@fanout/fs-posix',
      '@fanout/fs-webdav',
    ]);
    for (const pkg of workspacePackages())
      if (pkg.relDir.startsWith('tooling/')) expect(pkg.manifest.private, pkg.name).toBe(true);
  });

  it('ship every file their manifest points at, and no export condition that points into src/', () => {
    for (const pkg of packed.values()) {
      const targets: string[] = [];
      const walk = (value: unknown, path: string): void => {
        if (typeof value === 'string') targets.push(value);
        else if (value && typeof value === 'object') {
          for (const [key, inner] of Object.entries(value)) {
            expect(key, `${pkg.name} ${path}`).not.toBe('@fanout/source');
            walk(inner, `${path}.${key}`);
          }
        }
      };
      walk(pkg.manifest.exports, 'exports');
      for (const field of ['main', 'types', 'module']) walk(pkg.manifest[field], field);
      walk(pkg.manifest.bin, 'bin');
      expect(targets.length, pkg.name).toBeGreaterThan(0);
      for (const target of targets) expect(pkg.files, `${pkg.name}: ${target}`).toContain(target.replace(/^\.\//, ''));
      expect(JSON.stringify(pkg.manifest), pkg.name).not.toMatch(/workspace:|\.\/src\//);
    }
  });

  it('ship an MIT LICENSE and a README, and list LICENSE in files', () => {
    const rootLicense = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
    expect(rootLicense).toMatch(/^MIT License/);
    for (const pkg of packed.values()) {
      expect(pkg.files, pkg.name).toContain('LICENSE');
      expect(pkg.files, pkg.name).toContain('README.md');
      expect(readFileSync(join(pkg.root, 'LICENSE'), 'utf8'), pkg.name).toBe(rootLicense);
      expect(pkg.manifest.license, pkg.name).toBe('MIT');
      expect(pkg.manifest.files, pkg.name).toContain('LICENSE');
    }
  });

  it('carry complete metadata: repository with directory, homepage, bugs, keywords, engines, public access', () => {
    const repositories = new Set<string>();
    for (const pkg of published) {
      const manifest = packed.get(pkg.name)!.manifest;
      const repository = manifest.repository as { type?: string; url?: string; directory?: string } | undefined;
      expect(repository?.type, pkg.name).toBe('git');
      expect(repository?.directory, pkg.name).toBe(pkg.relDir);
      repositories.add(String(repository?.url));
      expect(manifest.homepage, pkg.name).toMatch(new RegExp(`^https://.*/tree/main/${pkg.relDir}#readme$`));
      expect((manifest.bugs as { url?: string } | undefined)?.url, pkg.name).toMatch(/^https:\/\/.*\/issues$/);
      expect((manifest.keywords as string[] | undefined)?.length, pkg.name).toBeGreaterThan(2);
      expect((manifest.engines as { node?: string } | undefined)?.node, pkg.name).toBe(SUPPORTED_NODE);
      expect((pkg.manifest.publishConfig as { access?: string } | undefined)?.access, pkg.name).toBe('public');
      expect(manifest.type, pkg.name).toBe('module');
      // Libraries: importing them runs nothing but definitions, so bundlers may drop what is unused.
      if (pkg.relDir.startsWith('packages/')) expect(manifest.sideEffects, pkg.name).toBe(false);
    }
    expect(repositories.size).toBe(1);
    const changesets = JSON.parse(readFileSync(join(repoRoot, '.changeset/config.json'), 'utf8')) as {
      access?: string;
    };
    expect(changesets.access).toBe('public');
  });

  it('depend on exactly the packages their built code imports (zod only where it is used)', () => {
    const builtin = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    const importPatterns = [
      /^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/gm,
      /^\s*import\s*["']([^"']+)["']/gm,
      /\b(?:import|require)\(\s*["']([^"']+)["']\s*\)/g,
    ];
    const packageOf = (spec: string) =>
      spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
    const read = (pkg: PackedPackage, files: RegExp) =>
      [...pkg.files]
        .filter((file) => files.test(file))
        .map((file) => readFileSync(join(pkg.root, file), 'utf8'))
        .join('\n');
    const importedBy = (text: string) => {
      const imported = new Set<string>();
      for (const pattern of importPatterns) {
        for (const m of text.matchAll(pattern)) {
          const spec = m[1]!;
          if (!spec.startsWith('.') && !builtin.has(spec) && !spec.startsWith('node:')) imported.add(packageOf(spec));
        }
      }
      return imported;
    };
    for (const pkg of packed.values()) {
      const code = read(pkg, /\.(c|m)?js$/);
      const imported = importedBy(code);
      // A package whose types only the declarations use (the crash simulator implements fs-posix's `PosixFs`).
      const typesImported = importedBy(read(pkg, /\.d\.(c|m)?ts$/));
      const declared = Object.keys({
        ...(pkg.manifest.dependencies as Record<string, string> | undefined),
        ...(pkg.manifest.peerDependencies as Record<string, string> | undefined),
      });
      expect(
        [...imported].filter((name) => !declared.includes(name)),
        `${pkg.name} imports undeclared packages`,
      ).toEqual([]);
      // A backend the CLI loads by name (`import(name)`) counts as used where its name is in the code, and a package
      // the published declarations import counts too: an app compiling against them needs it installed.
      const unused = declared.filter(
        (name) =>
          !imported.has(name) && !typesImported.has(name) && !code.includes(`"${name}"`) && !code.includes(`'${name}'`),
      );
      expect(unused, `${pkg.name} declares packages its code never loads`).toEqual([]);
    }
  });

  it('pin no peer to one version of a test runner', () => {
    for (const pkg of packed.values()) {
      for (const [peer, range] of Object.entries((pkg.manifest.peerDependencies as Record<string, string>) ?? {})) {
        expect(range, `${pkg.name} peer ${peer}`).not.toMatch(/^\d+\.\d+\.\d+$/);
      }
    }
  });
});

/** The checks an app runs over every entry point it loaded (the fixture prints one line each). */
function expectEveryEntryLoaded(outcome: Outcome): void {
  const lines = jsonLines(outcome);
  const entries = lines.filter((line) => 'entry' in line);
  const expected = [...packed.values()].flatMap((pkg) =>
    Object.keys(pkg.manifest.exports as object).map((sub) => (sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`)),
  );
  expect(entries.map((line) => line.entry).sort()).toEqual(expected.sort());
  for (const line of entries) {
    if (line.entry === '@fanout/core/testing')
      expect(line, 'needs its optional peer vitest, and says so').toMatchObject({ needsPeer: 'vitest' });
    else expect(line, String(line.entry)).toMatchObject({ exports: expect.any(Number) });
  }
  expect(lines).toContainEqual({ fanOut: { committed: 1, failed: 0 } });
  expect(lines).toContainEqual({ error: 'EEXIST', isFanoutError: true });
}

describe('an ES module app', () => {
  it('installs the tarballs with npm', () => {
    expect(installs.esm?.code, explain(installs.esm!)).toBe(0);
  });

  it('imports every entry point and fans out', async () => {
    const outcome = await apps.esm.run('node', ['index.mjs']);
    expect(outcome.code, explain(outcome)).toBe(0);
    expectEveryEntryLoaded(outcome);
  });

  it('runs the conformance suite without any test framework (@fanout/core/testing/checks)', async () => {
    const outcome = await apps.esm.run('node', ['conformance-without-vitest.mjs']);
    expect(outcome.code, explain(outcome)).toBe(0);
    const [line] = jsonLines(outcome);
    expect(line, explain(outcome)).toMatchObject({ conformance: { failed: 0 } });
    expect((line as { conformance: { passed: number } }).conformance.passed).toBeGreaterThan(30);
  });

  it("runs the CLI README's first commands and its transform module with the installed fanout", async () => {
    const [quickStart] = readmeBlocks('apps/cli/README.md', 'sh');
    const [transform] = readmeBlocks('apps/cli/README.md', 'js');
    const dir = apps.esm.dir;
    // The README's consumer prints with lpr: here a stand-in that keeps what it was given.
    const bin = join(dir, 'stand-ins');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'lpr'), '#!/bin/sh\ncat >> "$LPR_OUT"\n');
    chmodSync(join(bin, 'lpr'), 0o755);
    writeFileSync(join(dir, 'report.pdf'), 'report\n');
    writeFileSync(join(dir, 'invoice.xml'), '<invoice/>\n');
    writeFileSync(join(dir, 'upper.mjs'), transform!.code);
    const script = [
      'set -eu',
      quickStart!.code,
      'fanout init ./spool/shouting',
      'echo shout | fanout enqueue ./spool/in',
      'fanout run --from ./spool/in --to ./spool/shouting --transform ./upper.mjs',
      'cat ./spool/shouting/d*',
    ].join('\n');
    const env = {
      PATH: `${join(dir, 'node_modules/.bin')}:${bin}:${process.env.PATH}`,
      LPR_OUT: join(dir, 'printed.txt'),
    };
    const outcome = await apps.esm.run('bash', ['-c', script], env);
    expect(outcome.code, explain(outcome)).toBe(0);
    expect(outcome.stdout).toMatch(/^SHOUT$/m);
    // `fanout consume ./spool/a --exec 'lpr -P office'` handed each of the three messages to lpr.
    const printed = readFileSync(join(dir, 'printed.txt'), 'utf8').split('\n').filter(Boolean);
    expect(printed.sort()).toEqual(['<invoice/>', 'hello', 'report']);
  });
});

describe('a CommonJS app', () => {
  it('installs the tarballs with npm', () => {
    expect(installs.cjs?.code, explain(installs.cjs!)).toBe(0);
  });

  it('require()s every entry point (Node >= 20.19), gets the same modules as import, and fans out', async () => {
    const outcome = await apps.cjs.run('node', ['index.cjs']);
    expect(outcome.code, explain(outcome)).toBe(0);
    expect(outcome.stderr).not.toMatch(/ExperimentalWarning/);
    expectEveryEntryLoaded(outcome);
    expect(jsonLines(outcome)).toContainEqual({ sameInstance: true });
  });
});

describe('a strict TypeScript app', () => {
  it('installs the tarballs with npm', () => {
    expect(installs.ts?.code, explain(installs.ts!)).toBe(0);
  });

  it('compiles every entry point and every README example with tsc (strict, nodenext, lib check on)', async () => {
    const outcome = await apps.ts.run('node', ['node_modules/typescript/bin/tsc', '-p', '.']);
    expect(outcome.code, explain(outcome)).toBe(0);
  });

  it('holds every ts example of every README in its table', () => {
    for (const readme of readmesWithExamples) {
      const blocks = readmeBlocks(readme, 'ts');
      expect(blocks.length, readme).toBeGreaterThan(0);
      expect(
        readmeExamples.filter((example) => example.readme === readme).map((example) => example.block),
        readme,
      ).toEqual(blocks.map((_block, index) => index));
    }
    const withTs = execFileSync('git', ['ls-files', '*README.md'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\n')
      .filter((file) => file && readmeBlocks(file, 'ts').length > 0);
    expect(withTs.sort()).toEqual([...readmesWithExamples].sort());
  });

  for (const example of readmeExamples) {
    it(`runs ${example.readme} example ${example.block + 1}`, async () => {
      const compiled = join(apps.ts.dir, 'dist', `${exampleFile(example)}.js`);
      expect(existsSync(compiled), 'compiled by the test above').toBe(true);
      const dir = exampleDirs.get(example)!;
      const outcome = await apps.ts.run('node', [join(apps.ts.dir, 'run-example.mjs'), compiled], {
        FANOUT_EXAMPLE_DIR: dir,
      });
      expect(outcome.code, explain(outcome)).toBe(0);
      expect(outcome.stdout).toMatch(example.prints);
    });
  }
});

describe('an app on vitest 3', () => {
  it('installs @fanout/core and @fanout/fs-memory beside vitest 3 without ERESOLVE', () => {
    expect(installs.vitest3?.code, explain(installs.vitest3!)).toBe(0);
    const installed = JSON.parse(readFileSync(join(apps.vitest3.dir, 'node_modules/vitest/package.json'), 'utf8')) as {
      version: string;
    };
    expect(installed.version).toBe(VITEST_3);
  });

  it('runs the backend conformance suite of fs-memory with it', async () => {
    const outcome = await apps.vitest3.run('node', ['node_modules/vitest/vitest.mjs', 'run', '--reporter=verbose']);
    expect(outcome.code, explain(outcome)).toBe(0);
    const passed = /Tests\s+(?:\S+\s+)*?(\d+) passed/.exec(outcome.stdout.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(Number(passed?.[1]), explain(outcome)).toBeGreaterThan(30);
    expect(outcome.stdout).not.toMatch(/\d+ failed/);
  });
});
