// Shared vitest preset. Workspace packages resolve each other through the
// "@fanout/source" export condition, so tests run against sources and never
// against a stale dist/.
import { defineConfig } from 'vitest/config';

const conditions = ['@fanout/source', 'node', 'import', 'module', 'default'];

/** @param {import('vitest/config').UserConfig['test']} [test] */
export function fanoutVitest(test = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      ...test,
    },
  });
}
