// Shared tsup preset: ESM + .d.ts for Node 20, one dist/ per package.
/** @param {Record<string, string>|string[]} entry @param {import('tsup').Options} [extra] */
export function fanoutTsup(entry, extra = {}) {
  return {
    entry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    ...extra,
  };
}
