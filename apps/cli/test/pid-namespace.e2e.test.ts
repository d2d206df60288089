/**
 * Real processes in two pid namespaces of one host and boot (what a container
 * with host networking is: same host name, same boot id). A live process on
 * the other side must never be judged dead: not its marker, not its consumer
 * claim, not its temp file. Its pid means another process here (pid 1 is our
 * init), and our pids do not exist there.
 *
 * Needs `unshare --pid --fork --mount-proc` (root, or user namespaces); the
 * test is skipped, saying why, where that is not permitted.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { newId, type OwnerInfo, tempName } from '@fanout/core';
import { encodeMarker, encodeOwnerTag, parseOwnerTag } from '@fanout/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localOwner, localOwnerProbe, processStartTime } from '../src/owner-probe.js';
import { fanout, lines, names, tempDir } from './cli-harness.js';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Why `unshare` cannot run here, or undefined when it can. */
function unshareRefused(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  for (const args of [
    ['--pid', '--fork', '--mount-proc'],
    ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc'],
  ]) {
    const r = spawnSync('unshare', [...args, 'true'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) return undefined;
    if (r.error) return `unshare is not available: ${r.error.message}`;
  }
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8', timeout: 10_000 });
  return `unshare --pid --fork --mount-proc is not permitted here: ${(r.stderr || `exit status ${r.status}`).trim()}`;
}

function unshareArgs(): string[] {
  const plain = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { timeout: 10_000 });
  return plain.status === 0
    ? ['--pid', '--fork', '--mount-proc']
    : ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc'];
}

/**
 * A node process in a new pid namespace (with its own /proc). It prints its
 * owner record, then answers each owner record written to its stdin with the
 * Linux probe's verdict, as seen from inside.
 */
async function startInOtherNamespace(): Promise<{
  child: ChildProcess;
  owner: OwnerInfo;
  probe(o: OwnerInfo): Promise<string>;
}> {
  const script = `
    const { localOwner, localOwnerProbe } = await import(${JSON.stringify(DIST)});
    const readline = await import('node:readline');
    console.log(JSON.stringify(localOwner()));
    for await (const line of readline.createInterface({ input: process.stdin }))
      console.log(await localOwnerProbe(JSON.parse(line)));
  `;
  const child = spawn('unshare', [...unshareArgs(), process.execPath, '--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const out = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await out.next();
    if (r.done) throw new Error('the process in the other pid namespace ended');
    return r.value as string;
  };
  const owner = JSON.parse(await next()) as OwnerInfo;
  return {
    child,
    owner,
    probe: async (o) => {
      child.stdin!.write(`${JSON.stringify(o)}\n`);
      return next();
    },
  };
}

let dir: string;
let cleanup: () => Promise<void>;
let other: ChildProcess | undefined;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  if (other && other.exitCode === null) {
    other.kill('SIGKILL');
    await once(other, 'close');
  }
  other = undefined;
  await cleanup();
});

describe('a live process in another pid namespace of this host and boot', () => {
  const refused = unshareRefused();

  it('is unknown to the Linux probe, not dead, from either side', async (ctx) => {
    if (refused) ctx.skip(refused);
    const them = await startInOtherNamespace();
    other = them.child;
    const me = localOwner();
    expect(them.owner.host).toBe(me.host);
    expect(them.owner.bootId).toBe(me.bootId);
    expect(them.owner.pidNamespace).not.toBe(me.pidNamespace);
    expect(them.owner.pidNamespace).toMatch(/^[1-9][0-9]*$/);
    // The trap: its pid here is another process (or none), so pid and start time alone would say 'dead'.
    expect(processStartTime(them.owner.pid)).not.toBe(them.owner.startTime);

    expect(await localOwnerProbe(them.owner)).toBe('unknown');
    expect(await localOwnerProbe(parseOwnerTag(encodeOwnerTag(them.owner))!)).toBe('unknown');
    // And from inside: our pid does not exist there.
    expect(await them.probe(me)).toBe('unknown');
    // Each side still knows itself.
    expect(await them.probe(them.owner)).toBe('alive');
    expect(await localOwnerProbe(me)).toBe('alive');
  }, 30_000);

  it('keeps its marker, its consumer claim and its temp file through `fanout recover` and `fanout consume`', async (ctx) => {
    if (refused) ctx.skip(refused);
    const them = await startInOtherNamespace();
    other = them.child;
    expect((await fanout(['init', 'S', 'A'], { cwd: dir })).status).toBe(0);
    const uuid = async (s: string) =>
      (JSON.parse(await readFile(join(dir, s, '.fanout-spool'), 'utf8')) as { uuid: string }).uuid;
    const id = newId();
    const now = Date.now();
    // A transaction of theirs in progress (lease unexpired), a message they are consuming, a temp they are writing.
    await writeFile(join(dir, 'S', `p${id}.000000000000000000TXTHE1RS`), 'theirs');
    const marker = encodeMarker({
      ids: [id],
      tx: '000000000000000000TXTHE1RS',
      protocol: 'staged',
      source: { uuid: await uuid('S'), location: join(dir, 'S') },
      destinations: [{ uuid: await uuid('A'), location: join(dir, 'A') }],
      owner: them.owner,
      createdMs: now,
      leaseUntilMs: now + 600_000,
    });
    await writeFile(join(dir, 'S', 'm000000000000000000TXTHE1RS'), marker);
    await writeFile(join(dir, 'A', `w${id}.000000000000000000TXTHE1RS`), 'theirs');
    const temp = tempName(them.owner);
    await writeFile(join(dir, 'S', temp), 'half written');
    const claim = `c01CLAIMEDINACONTAINER.${encodeOwnerTag(them.owner)}`;
    await writeFile(join(dir, 'A', claim), 'being consumed');

    const r = await fanout(['recover', 'S', '--json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stdout).map((l) => (JSON.parse(l) as { type: string }).type)).toContain('marker-in-flight');
    expect(await names(join(dir, 'S'))).toEqual(
      ['m000000000000000000TXTHE1RS', `p${id}.000000000000000000TXTHE1RS`, temp].sort(),
    );
    expect(await names(join(dir, 'A'))).toEqual([claim, `w${id}.000000000000000000TXTHE1RS`].sort());

    const c = await fanout(['consume', 'A', '--exec', 'cat > /dev/null', '--json'], { cwd: dir });
    expect(c.status, c.stderr).toBe(0);
    expect(JSON.parse(lines(c.stdout).at(-1)!)).toMatchObject({
      type: 'summary',
      consumed: 0,
      released: 0,
      staleClaimsReleased: 0,
    });
    expect(await names(join(dir, 'A'))).toEqual([claim, `w${id}.000000000000000000TXTHE1RS`].sort());
  }, 60_000);
});
