/**
 * Test fixture, not part of the package's API: one contender of the
 * multi-process exclusive-creation race in `exclusive-race.test.ts`, which
 * bundles this file and runs several copies as separate OS processes.
 *
 * argv: <spool root> <go file> <contender id> <number of names>
 * Prints `ready`, waits for the go file, tries to create m0…m<n-1>, prints the
 * JSON list of the indexes it won. Exits 2 on any error but EEXIST.
 */
import { existsSync } from 'node:fs';
import { isFanoutError } from '@fanout/core';
import { NfsBackend } from './nfs-backend.js';

const [root, goFile, id, countText] = process.argv.slice(2);
if (!root || !goFile || !id || !countText) throw new Error('usage: <root> <go file> <id> <count>');
const backend = new NfsBackend({ root });
process.stdout.write('ready\n');
while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 1));

const won: number[] = [];
for (let i = 0; i < Number(countText); i++) {
  try {
    // Big enough that writes overlap between contenders; every line names the writer.
    await backend.createExclusive(`m${i}`, Buffer.from(`${id}\n`.repeat(4096)));
    won.push(i);
  } catch (err) {
    if (!isFanoutError(err, 'EEXIST')) {
      process.stderr.write(`${String(err)}\n`);
      process.exit(2);
    }
  }
}
process.stdout.write(`${JSON.stringify(won)}\n`);
