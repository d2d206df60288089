/**
 * The READMEs' code examples as programs: each fenced block is extracted verbatim, with only the
 * locations it names (a mount point, a server) pointed at scratch directories and a loopback server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './workspace-packages.js';

/** One fenced code block of a Markdown file. */
export interface FencedBlock {
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** Every fenced code block of `markdown`, in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    blocks.push({ lang: open[1]!, code: `${body.join('\n')}\n`, line: start + 1 });
  }
  return blocks;
}

/** The blocks of one language in a README of the repository (path relative to the root). */
export function readmeBlocks(readme: string, lang: string): FencedBlock[] {
  return fencedBlocks(readFileSync(join(repoRoot, readme), 'utf8')).filter((block) => block.lang === lang);
}

/** Replace each `from` in `code` by its `to`; a `from` that is not there is an error (the README changed). */
export function rewriteLocations(code: string, rewrites: Readonly<Record<string, string>>, where: string): string {
  let out = code;
  for (const [from, to] of Object.entries(rewrites)) {
    if (!out.includes(from)) throw new Error(`${where}: the example no longer contains ${JSON.stringify(from)}`);
    out = out.split(from).join(to);
  }
  return out;
}
