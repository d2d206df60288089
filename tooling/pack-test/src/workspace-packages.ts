/** The workspace's packages as the pack test sees them: which are published, from where. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo's root directory. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The fields of a package.json this test reads. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly [field: string]: unknown;
}

/** One workspace package. */
export interface WorkspacePackage {
  readonly name: string;
  /** Absolute directory. */
  readonly dir: string;
  /** Directory relative to the repository root, e.g. `packages/core`. */
  readonly relDir: string;
  readonly manifest: Manifest;
}

/** Every package under the workspace globs of pnpm-workspace.yaml (`packages/*`, `apps/*`, `tooling/*`). */
export function workspacePackages(): WorkspacePackage[] {
  const found: WorkspacePackage[] = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    for (const entry of readdirSync(join(repoRoot, group)).sort()) {
      const dir = join(repoRoot, group, entry);
      const manifestPath = join(dir, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
      found.push({ name: manifest.name, dir, relDir: `${group}/${entry}`, manifest });
    }
  }
  return found;
}

/** The packages a release publishes: every workspace package not marked private. */
export function publishablePackages(): WorkspacePackage[] {
  return workspacePackages().filter((pkg) => pkg.manifest.private !== true);
}
