/** The harness itself: a VM run reports the command's status and output, and leaves nothing behind. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInNfsVm } from './nfs-vm.js';
import { missing, only, requireHarness } from './suites-in-vm.js';

requireHarness();
describe.skipIf(missing !== undefined || only !== '')('the real-NFS VM', () => {
  it("reports the command's exit status and output, runs processes as either client host, and leaves nothing behind", async () => {
    const result = await runInNfsVm({
      vers: '3',
      exportFs: 'tmpfs',
      command: [
        'sh',
        '-c',
        'echo "on $(hostname)"; $NFS_ON c2 hostname; test "$(stat -f -c %T $NFS_A)" = nfs && exit 7',
      ],
      timeoutMs: 300_000,
    });
    expect(result.output).toContain('on real-nfs-vm');
    expect(result.output).toContain('client2');
    expect(result.status).toBe(7);
    expect(existsSync(result.runDirectory)).toBe(false);
    expect(existsSync(join(homedir(), '.uml', result.umid))).toBe(false);
    expect(spawnSync('pgrep', ['-f', `umid=${result.umid}`]).status).toBe(1); // no process left
  });
});
