// A verified link (or rename) through fs-nfs whose raw system call is held and recorded, for the
// lost-reply test: `node lost-link-child.mjs DIR GO link|rename`. Prepares `src`, prints "ready",
// waits for GO, then calls NfsBackend.link/rename(src → lost-reply-target). Just before the first system call
// itself it creates GO.held and waits for GO.drop, so that the test arms the loss of the reply
// (vm/ctl.sh lose-replies) after the backend's own lookups; then prints what the kernel answered and what fs-nfs made
// of it.
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { NfsBackend } from '@fanout/fs-nfs';
import { nodePosixFs } from '@fanout/fs-posix';

const [dir, go, op] = process.argv.slice(2);
const raw = [];
async function recorded(call, to) {
  if (raw.length === 0) {
    // The kernel may look the new name up before it sends LINK/RENAME: have that answered now (a
    // negative dentry), so that the first request naming it once the loss is armed is the call itself.
    await nodePosixFs.lstat(to).catch(() => undefined);
    writeFileSync(`${go}.held`, '');
    while (!existsSync(`${go}.drop`)) await sleep(5);
  }
  try {
    await call();
    raw.push('ok');
  } catch (err) {
    raw.push(err.code);
    throw err;
  }
}
const recording = {
  ...nodePosixFs,
  link: (a, b) => recorded(() => nodePosixFs.link(a, b), b),
  rename: (a, b) => recorded(() => nodePosixFs.rename(a, b), b),
};
const backend = new NfsBackend({ root: dir });
await backend.createExclusive('src', new TextEncoder().encode('lost reply'));
const held = new NfsBackend({ root: dir, fs: recording });
process.stdout.write('ready\n');
while (!existsSync(go)) await sleep(5);
let outcome = 'resolved';
try {
  if (op === 'rename') await held.rename('src', 'lost-reply-target');
  else await held.link('src', 'lost-reply-target');
} catch (err) {
  outcome = `${err.code}: ${err.message}`;
}
process.stdout.write(`${JSON.stringify({ raw, outcome })}\n`);
