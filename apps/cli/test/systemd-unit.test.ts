/**
 * The shipped systemd unit, packaging/systemd/fanout@.service (issue 16,
 * item 7): systemd itself verifies it (`systemd-analyze verify`, with the
 * built command standing in for /usr/bin/fanout), its hardening scores as
 * systemd's "OK" or better, and the keys the README promises are there.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BIN } from './cli-harness.js';

const UNIT = fileURLToPath(new URL('../../../packaging/systemd/fanout@.service', import.meta.url));
const run = promisify(execFile);

/** The unit's settings: section → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

function requireSystemdAnalyze(): void {
  if (spawnSync('sh', ['-c', 'command -v systemd-analyze'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      'this test verifies the unit with systemd itself: apt-get install -y systemd (it needs no running systemd)',
    );
  }
}

/** The unit as an instance `fanout@main.service` in a temp dir, running the built command. */
async function instance(text: string): Promise<{ file: string; done: () => Promise<void> }> {
  const d = await mkdtemp(join(tmpdir(), 'fanout-unit-'));
  const file = join(d, 'fanout@main.service');
  await writeFile(file, text.replaceAll('/usr/bin/fanout', BIN));
  return { file, done: () => rm(d, { recursive: true, force: true }) };
}

describe('packaging/systemd/fanout@.service', () => {
  it('passes systemd-analyze verify without a single warning, and fails it when a key is misspelt', async () => {
    requireSystemdAnalyze();
    const text = await readFile(UNIT, 'utf8');
    const good = await instance(text);
    try {
      const r = await run('systemd-analyze', ['verify', good.file]);
      expect(r.stderr).toBe('');
    } finally {
      await good.done();
    }
    // The check can fail: verify only warns about an unknown key, and the warning is what we look for.
    const bad = await instance(text.replace('ProtectClock=yes', 'ProtectClok=yes'));
    try {
      const r = await run('systemd-analyze', ['verify', bad.file]);
      expect(r.stderr).toContain("Unknown key 'ProtectClok'");
    } finally {
      await bad.done();
    }
  });

  it('scores as OK or better on systemd-analyze security', async () => {
    requireSystemdAnalyze();
    const unit = await instance(await readFile(UNIT, 'utf8'));
    try {
      const r = await run('systemd-analyze', ['security', '--offline=yes', unit.file]);
      const score = Number(/Overall exposure level for fanout@main\.service: ([0-9.]+)/.exec(r.stdout)?.[1]);
      expect(score).toBeLessThanOrEqual(2.5);
    } finally {
      await unit.done();
    }
  });

  it('runs run --watch on the instance config, restarts on failure, reloads with SIGHUP, stops with SIGTERM, and documents LimitNOFILE', async () => {
    const text = await readFile(UNIT, 'utf8');
    const service = parseUnit(text).get('Service')!;
    const one = (key: string) => {
      const v = service.get(key);
      expect(v, key).toHaveLength(1);
      return v![0]!;
    };
    expect(one('ExecStart')).toMatch(/^\/usr\/bin\/fanout --config \/etc\/fanout\/%i\.yaml run --watch /);
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartPreventExitStatus')).toBe('2');
    expect(Number(one('LimitNOFILE'))).toBeGreaterThanOrEqual(4096);
    // The limit is explained right above it: what a route needs, and what happens below that.
    expect(text).toMatch(/# Open files:[^\n]*\n(#[^\n]*\n)*#[^\n]*EMFILE[^\n]*\nLimitNOFILE=/);
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'],
      ['CapabilityBoundingSet', ''],
      ['SystemCallFilter', '@system-service'],
    ]) {
      expect(one(key!), key).toBe(value);
    }
    // The owner probe reads /proc to tell live workers from dead ones: hiding processes would be unsafe.
    expect(service.has('ProtectProc')).toBe(false);
    expect(service.has('PrivatePIDs')).toBe(false);
  });
});
