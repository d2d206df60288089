import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { example } from './readme-example.js';

const here = dirname(fileURLToPath(import.meta.url));

it("core's README example is this very file, and it runs: enqueue, recover, fan out with a transform, consume", async () => {
  const readme = readFileSync(join(here, '../../../packages/core/README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBe(readFileSync(join(here, 'readme-example.ts'), 'utf8'));
  expect(await example()).toEqual(['HELLO, WORLD\n']);
});
