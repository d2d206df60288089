#!/usr/bin/env node
// Architectural lint (`fanout-lint`, the bin of @fanout/tooling), run in each package directory by `turbo run lint`.
// - @fanout/core must not import node:fs, the network, or any backend (docs/DESIGN.md §5).
// - A package may only import the workspace packages the layering allows.
// - No focused tests (`.only`) are committed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const allowed =
  {
    '@fanout/core': [],
    '@fanout/fs-posix': ['@fanout/core'],
    '@fanout/fs-nfs': ['@fanout/core', '@fanout/fs-posix'],
    '@fanout/fs-memory': ['@fanout/core', '@fanout/fs-posix', '@fanout/fs-nfs'],
    '@fanout/crashfs': ['@fanout/fs-posix'],
    '@fanout/fs-webdav': ['@fanout/core'],
    '@fanout/crashcheck': [
      '@fanout/core',
      '@fanout/fs-posix',
      '@fanout/fs-nfs',
      '@fanout/fs-memory',
      '@fanout/crashfs',
    ],
    '@fanout/protocol-tests': ['@fanout/core', '@fanout/fs-posix', '@fanout/fs-nfs', '@fanout/fs-memory'],
    '@fanout/real-nfs': ['@fanout/core', '@fanout/fs-posix', '@fanout/fs-nfs', '@fanout/cli'],
    '@fanout/real-gluster': ['@fanout/core', '@fanout/fs-posix', '@fanout/fs-nfs', '@fanout/cli'],
    '@fanout/bench': ['@fanout/core', '@fanout/fs-posix', '@fanout/fs-nfs', '@fanout/real-nfs'],
    '@fanout/cli': ['@fanout/core', '@fanout/fs-posix', '@fanout/fs-nfs', '@fanout/fs-memory', '@fanout/fs-webdav'],
  }[pkg.name] ?? [];
const forbiddenInCore = /^(node:)?(fs|fs\/promises|http|https|net|tls|dgram|child_process)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(ts|mts|js|mjs)$/.test(name)) yield path;
  }
}

const problems = [];
for (const file of files('src')) {
  // Imports inside doc comments (TSDoc examples) are not imports of this file.
  const text = readFileSync(file, 'utf8').replace(/^\s*\/\*[\s\S]*?\*\//gm, '');
  const isTest = /\.test\.ts$/.test(file) || file.includes('/testing/');
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
    const spec = m[1];
    if (spec.startsWith('@fanout/')) {
      const base = spec.split('/').slice(0, 2).join('/');
      if (base !== pkg.name && !allowed.includes(base) && !(isTest && base === '@fanout/tooling')) {
        problems.push(`${relative('.', file)}: imports ${spec}, which ${pkg.name} may not depend on`);
      }
    }
    if (pkg.name === '@fanout/core' && !isTest && forbiddenInCore.test(spec)) {
      problems.push(`${relative('.', file)}: @fanout/core may not import ${spec}`);
    }
  }
  if (/\b(describe|it|test)\.only\(/.test(text)) problems.push(`${relative('.', file)}: focused test (.only)`);
}
if (problems.length) {
  for (const p of problems) console.error(`lint: ${p}`);
  process.exit(1);
}
console.log(`lint: ${pkg.name} ok`);
