/** The harness itself: a run reports the command's status and output, and leaves nothing behind, also when stopped. */
import { describe, expect, it } from 'vitest';
import { leftoversOf, runOnGluster } from './gluster-volume.js';
import { missing, only, requireHarness } from './suites-on-gluster.js';

requireHarness();
describe.skipIf(missing !== undefined || only !== '')('the real-GlusterFS harness', () => {
  it("reports the command's exit status and output, gives two FUSE mounts of one volume, and leaves nothing behind", async () => {
    const result = await runOnGluster({
      command: [
        'sh',
        '-c',
        'echo one > "$GL_A/f" && echo "b reads $(cat "$GL_B/f")" && ' +
          'echo "types $(stat -f -c %T "$GL_A") $(stat -f -c %T "$GL_B") $GL_TYPE" && exit 7',
      ],
      timeoutMs: 120_000,
    });
    expect(result.output).toContain('b reads one');
    expect(result.output).toMatch(/types fuse(blk)? fuse(blk)? replica/);
    expect(result.status).toBe(7);
    expect(result.runId).toMatch(/^\d+$/);
    expect(leftoversOf(result.runId ?? '', result.runDirectory)).toEqual([]);
  });

  it('tears everything down when the command outlives its time limit, a client cut off meanwhile (status 124)', async () => {
    const result = await runOnGluster({
      command: ['sh', '-c', '"$GL_CTL" partition gc1 && echo cut && (cat "$GL_A/nothing" || true) && sleep 600'],
      timeoutMs: 15_000,
    });
    expect(result.output).toContain('cut');
    expect(result.timedOut).toBe(true);
    expect(result.status).toBe(124);
    expect(result.seconds).toBeLessThan(90);
    expect(leftoversOf(result.runId ?? '', result.runDirectory)).toEqual([]);
  });

  it('fails with status 125 and says why when the set-up fails (a replica volume of one brick)', async () => {
    const result = await runOnGluster({ type: 'replica', bricks: 1, command: ['true'], timeoutMs: 60_000 });
    expect(result.status).toBe(125);
    expect(result.output).toContain('a replica volume needs 2 bricks or more');
  });
});
