/** `pnpm pack` of a workspace package, and what the tarball holds. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest, WorkspacePackage } from './workspace-packages.js';

/** A packed package: the tarball, and its content unpacked beside it. */
export interface PackedPackage {
  readonly name: string;
  readonly tarball: string;
  /** The unpacked `package/` directory. */
  readonly root: string;
  /** Paths inside the tarball, relative to `package/`. */
  readonly files: ReadonlySet<string>;
  /** The package.json as published (pnpm applies `publishConfig` and replaces `workspace:` ranges). */
  readonly manifest: Manifest;
}

/**
 * Pack `pkg` the way `changeset publish` does (pnpm: `publishConfig` applied, `workspace:*`
 * replaced by versions) into `destination`, and unpack it there for inspection.
 */
export function pack(pkg: WorkspacePackage, destination: string): PackedPackage {
  const out = execFileSync('pnpm', ['pack', '--json', '--pack-destination', destination], {
    cwd: pkg.dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { filename } = JSON.parse(out) as { filename: string };
  const tarball = filename.startsWith('/') ? filename : join(destination, filename);
  const unpacked = join(destination, 'unpacked', pkg.name.replace('/', '__'));
  mkdirSync(unpacked, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
  const files = new Set(
    listing
      .split('\n')
      .filter((line) => line.startsWith('package/') && !line.endsWith('/'))
      .map((line) => line.slice('package/'.length)),
  );
  const root = join(unpacked, 'package');
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
  return { name: pkg.name, tarball, root, files, manifest };
}
