// A probe, not a test: how often a name client 1 creates right after client 2 looked it up as missing still
// looks missing on client 2 after each way of asking it again. packages/fs-nfs/README.md ("Cached 'no such
// file'") quotes its figures. Run inside the real-NFS VM, e.g. for NFSv3 with the defaults:
//   node tooling/real-nfs/dist/main.js -v 3 -d tooling/real-nfs/probes -- node negative-lookup.mjs
//   node tooling/real-nfs/dist/main.js -v 3 -o lookupcache=positive -d tooling/real-nfs/probes -- \
//     node negative-lookup.mjs
// Arguments: [methods, comma-separated] [listed] (client 2 lists the directory before each round).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
const A = process.env.NFS_A,
  B = process.env.NFS_B;
const methods = {
  none: async () => {},
  opendir: async (d) => {
    const h = await fs.opendir(d);
    await h.close();
  },
  readdir: async (d) => {
    await fs.readdir(d);
  },
  scratch: async (d) => {
    const p = join(d, '.scratch' + Math.random());
    await fs.writeFile(p, '');
    await fs.unlink(p);
  },
  mkdirrm: async (d) => {
    const p = join(d, '.sd' + Math.random());
    await fs.mkdir(p);
    await fs.rmdir(p);
  },
  sleep1: async () => {
    await new Promise((r) => setTimeout(r, 1000));
  },
  stat_dir: async (d) => {
    await fs.stat(d);
  },
};
const want = (process.argv[2] ?? Object.keys(methods).join(',')).split(',');
for (const m of want) {
  const sub = 'exp-' + m + '-' + Date.now();
  await fs.mkdir(join(A, sub));
  let listedFirst = process.argv[3] === 'listed';
  if (listedFirst) await fs.readdir(join(B, sub));
  let miss = 0,
    n = 20,
    sameTickSeen = 0;
  for (let i = 0; i < n; i++) {
    const name = 'i' + i;
    try {
      await fs.lstat(join(B, sub, name));
    } catch {}
    await fs.writeFile(join(A, sub, name), 'x', { flag: 'wx' });
    await methods[m](join(B, sub));
    try {
      await fs.lstat(join(B, sub, name));
    } catch (e) {
      miss++;
    }
    if (listedFirst) await fs.readdir(join(B, sub));
  }
  console.log(`RESULT method=${m} listed=${listedFirst} missing-after=${miss}/${n}`);
}
