/** The harness itself: a VM run reports the command's status and output, and leaves nothing behind. */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runInNfsVm } from './nfs-vm.js';
import { missing, only, requireHarness } from './suites-in-vm.js';

const ourRuns = () => readdirSync(tmpdir()).filter((n) => n.startsWith('fanout-real-nfs-'));

requireHarness();
describe.skipIf(missing !== undefined || only !== '')('the real-NFS VM', () => {
  it("reports the command's exit status and output, runs processes as either client host, and leaves nothing behind", async () => {
    const before = ourRuns().length;
    const result = await runInNfsVm({
      vers: '3',
      exportFs: 'tmpfs',
      command: ['sh', '-c', 'echo "on $(hostname)"; $NFS_ON c2 hostname; test "$(stat -f -c %T $NFS_A)" = nfs && exit 7'],
      timeoutMs: 300_000,
    });
    expect(result.output).toContain('on real-nfs-vm');
    expect(result.output).toContain('client2');
    expect(result.status).toBe(7);
    expect(ourRuns().length).toBe(before);
  });
});
