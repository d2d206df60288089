import { defineConfig } from 'tsup';
import { fanoutTsup } from '@fanout/tooling/tsup';

export default defineConfig(
  fanoutTsup({ main: 'src/main.ts', index: 'src/index.ts' }, { banner: { js: '#!/usr/bin/env node' } }),
);
