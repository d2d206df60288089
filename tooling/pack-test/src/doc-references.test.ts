/**
 * Issue 18: type docs and READMEs cited `DESIGN.md §2/§3/§6` and `../shared/DESIGN.md`, which are
 * not in the repository. Every reference must point at the repository's own docs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from './workspace-packages.js';

const tracked = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\n')
  .filter((file) => /\.(ts|mts|js|mjs|cjs|md|json|yaml)$/.test(file))
  // This file names what it looks for.
  .filter((file) => file !== 'pnpm-lock.yaml' && file !== 'tooling/pack-test/src/doc-references.test.ts');
const texts = new Map(
  tracked
    .filter((file) => existsSync(join(repoRoot, file)))
    .map((file) => [file, readFileSync(join(repoRoot, file), 'utf8')]),
);

it('no file points outside the repository for its docs (../shared)', () => {
  const offenders = [...texts].filter(([, text]) => text.includes('../shared')).map(([file]) => file);
  expect(offenders).toEqual([]);
});

it('every "DESIGN.md §N" names docs/DESIGN.md and a section it has', () => {
  const design = readFileSync(join(repoRoot, 'docs/DESIGN.md'), 'utf8');
  const sections = new Set([...design.matchAll(/^## (\d+)\./gm)].map((m) => m[1]));
  const problems: string[] = [];
  let references = 0;
  for (const [file, text] of texts) {
    if (file === 'docs/DESIGN.md') continue;
    // A reference is a repository path (`docs/DESIGN.md`, as code comments write it) or a path
    // relative to the Markdown file that holds it.
    for (const m of text.matchAll(/((?:[\w./-]*\/)?)DESIGN\.md(?:\s*§(\d+))?/g)) {
      references++;
      const [whole, prefix, section] = m;
      const resolves =
        prefix === 'docs/' || (file.endsWith('.md') && existsSync(join(repoRoot, dirname(file), `${prefix}DESIGN.md`)));
      if (!resolves) problems.push(`${file}: ${whole} is not docs/DESIGN.md`);
      if (section !== undefined && !sections.has(section)) problems.push(`${file}: ${whole}: no section ${section}`);
    }
  }
  expect(problems).toEqual([]);
  expect(references).toBeGreaterThan(10);
});

it('every relative Markdown link resolves to a file of the repository', () => {
  const problems: string[] = [];
  for (const [file, text] of texts) {
    if (!file.endsWith('.md')) continue;
    for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue;
      if (!existsSync(join(repoRoot, dirname(file), target))) problems.push(`${file}: ${target}`);
    }
  }
  expect(problems).toEqual([]);
});
