// One contender of the races between the two GlusterFS clients, run on one client mount
// (`node race-child.mjs WHO N GO MODE:DIR...`, DIR on $GL_A or $GL_B). For each MODE in turn it prepares its
// N names in DIR, prints `ready MODE`, waits for the file `GO.MODE` (a local file, so both
// contenders start together), runs its N operations through fs-nfs, and prints
// `{"mode", "wins", "errors"}` as JSON. One process per client runs every race. Imports the built packages
// (dist/).
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { NfsBackend } from '@fanout/fs-nfs';

const [who, n, go, ...races] = process.argv.slice(2);
const count = Number(n);
const bytes = (text) => new TextEncoder().encode(text);

for (const race of races) {
  const [mode, dir] = race.split(/:(.*)/s);
  const backend = new NfsBackend({ root: dir });
  const prepare = {
    excl: async () => undefined,
    publish: async (i) => backend.createExclusive(`w${i}.${who}`, bytes(who)),
    link: async (i) => backend.createExclusive(`l${i}.${who}`, bytes(who)),
    // The same source name on both sides: the test made p<i> and both rename it.
    rename: async () => undefined,
  };
  const run = {
    excl: (i) => backend.createExclusive(`f${i}`, bytes(who)),
    publish: (i) => backend.publish(`w${i}.${who}`, `f${i}`),
    link: (i) => backend.link(`l${i}.${who}`, `f${i}`),
    // a commits (p → k), b takes over (p → b): the fence.
    rename: (i) => backend.rename(`p${i}`, who === 'a' ? `k${i}` : `b${i}`),
  };
  for (let i = 0; i < count; i++) await prepare[mode](i);
  process.stdout.write(`ready ${mode}\n`);
  while (!existsSync(`${go}.${mode}`)) await sleep(5);
  const wins = [];
  const errors = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      try {
        await run[mode](i);
        wins.push(i);
      } catch (err) {
        const expected = mode === 'rename' ? 'ENOENT' : 'EEXIST';
        if (err?.code !== expected) errors.push(`${i}: ${err?.code} ${err?.message}`);
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ mode, wins, errors })}\n`);
}
