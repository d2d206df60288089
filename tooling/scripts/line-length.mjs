#!/usr/bin/env node
// Line length check, run by `pnpm format:check` after prettier (which wraps code at 120 but never comments or
// string literals): every line of a TypeScript/JavaScript file the repository tracks, or would track, has at most
// 120 characters. Exempt, by rule rather than by list:
// - the title line of a test (`it('…', async () => {`): splitting the title into a concatenation makes prettier
//   break the call and re-indent the whole test body;
// - a line with a URL, which cannot be broken.
// Anything else that cannot be shortened goes into ALLOWED, as `path: the line, trimmed`; it is empty and should stay
// short. Prints `file:line (N chars)` for each line over, and exits 1 if there is one.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX = 120;
const ALLOWED = new Set([]);
const TEST_TITLE = /^\s*(?:it|test|describe)(?:\.\w+)*\((['"`]).*\1,\s*(?:async\s*)?(?:\([^)]*\)|\w+)\s*=>\s*\{$/;
const URL = /\bhttps?:\/\/\S/;

const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
const files = execFileSync(
  'git',
  [
    'ls-files',
    '-z',
    '--cached',
    '--others',
    '--exclude-standard',
    '--',
    ...['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'].map((e) => `*.${e}`),
  ],
  { cwd: root, encoding: 'utf8' },
)
  .split('\0')
  .filter(Boolean);

const over = [];
let titles = 0;
let urls = 0;
for (const file of new Set(files)) {
  let text;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    continue; // deleted in the work tree
  }
  text.split('\n').forEach((line, i) => {
    const length = [...line].length; // characters (code points), as an editor counts them; not bytes
    if (length <= MAX) return;
    if (TEST_TITLE.test(line)) titles++;
    else if (URL.test(line)) urls++;
    else if (!ALLOWED.has(`${file}: ${line.trim()}`)) over.push(`${file}:${i + 1} (${length} chars)`);
  });
}
const exempt = `exempt: ${titles} test titles, ${urls} lines with a URL, ${ALLOWED.size} allowed`;
if (over.length > 0) {
  for (const o of over) console.error(o);
  console.error(`line-length: ${over.length} lines over ${MAX} characters (${exempt})`);
  process.exit(1);
}
console.log(`line-length: ${files.length} files, no line over ${MAX} characters (${exempt})`);
