import { defineConfig } from 'tsup';
import { fanoutTsup } from '@fanout/tooling/tsup';

export default defineConfig(
  fanoutTsup({ main: 'src/main.ts', 'nfs-job': 'src/nfs-job.ts' }, { banner: { js: '#!/usr/bin/env node' } }),
);
