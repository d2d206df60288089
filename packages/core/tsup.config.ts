import { defineConfig } from 'tsup';
import { fanoutTsup } from '@fanout/tooling/tsup';

export default defineConfig(
  fanoutTsup(
    {
      index: 'src/index.ts',
      internal: 'src/internal.ts',
      testing: 'src/testing/index.ts',
      'testing-checks': 'src/testing/checks.ts',
    },
    { splitting: true },
  ),
);
