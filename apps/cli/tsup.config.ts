import { defineConfig } from 'tsup';
import { fanoutTsup } from '@fanout/tooling/tsup';

// Splitting keeps dynamically imported modules (the config file's yaml + zod, the progress bar)
// in chunks of their own, so a plain `fanout run` does not pay for loading them.
export default defineConfig(fanoutTsup({ index: 'src/index.ts' }, { splitting: true }));
