// One contender of a race between the two NFS clients, run as a process of one client host
// (`$NFS_ON c1|c2 node race-child.mjs MODE DIR WHO N GO`). It prepares, prints "ready", waits for the
// file GO to appear (local to the VM, so both contenders start together), runs its N operations
// through fs-nfs, and prints the indexes it won as JSON. Imports the built packages (dist/).
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { NfsBackend } from '@fanout/fs-nfs';

const [mode, dir, who, n, go] = process.argv.slice(2);
const count = Number(n);
const backend = new NfsBackend({ root: dir });
const bytes = (text) => new TextEncoder().encode(text);

const prepare = {
  excl: async () => undefined,
  publish: async (i) => backend.createExclusive(`w${i}.${who}`, bytes(who)),
  link: async (i) => backend.createExclusive(`l${i}.${who}`, bytes(who)),
  // The same source name on both sides: the contender `a` made p<i> and both rename it.
  rename: async () => undefined,
};
const race = {
  excl: (i) => backend.createExclusive(`f${i}`, bytes(who)),
  publish: (i) => backend.publish(`w${i}.${who}`, `f${i}`),
  link: (i) => backend.link(`l${i}.${who}`, `f${i}`),
  // a commits (p → k), b takes over (p → b): the fence.
  rename: (i) => backend.rename(`p${i}`, who === 'a' ? `k${i}` : `b${i}`),
};

for (let i = 0; i < count; i++) await prepare[mode](i);
process.stdout.write('ready\n');
while (!existsSync(go)) await sleep(5);
const wins = [];
const errors = [];
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    try {
      await race[mode](i);
      wins.push(i);
    } catch (err) {
      const expected = mode === 'rename' ? 'ENOENT' : 'EEXIST';
      if (err?.code !== expected) errors.push(`${i}: ${err?.code} ${err?.message}`);
    }
  }),
);
process.stdout.write(`${JSON.stringify({ wins, errors })}\n`);
