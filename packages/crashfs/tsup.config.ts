import { defineConfig } from 'tsup';
import { fanoutTsup } from '@fanout/tooling/tsup';

export default defineConfig(fanoutTsup({ index: 'src/index.ts' }));
