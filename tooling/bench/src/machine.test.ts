import { describe, expect, it } from 'vitest';
import { machineLines, mountOf } from './machine.js';

const mounts = [
  '/dev/vda / ext4 rw,relatime 0 0',
  'tmpfs /tmp tmpfs rw 0 0',
  '/dev/vdb /tmp/my\\040disk xfs rw 0 0',
  'tmpfs /tmpx tmpfs rw 0 0',
].join('\n');

describe('mountOf', () => {
  it('picks the longest mount point that holds the path', () => {
    expect(mountOf('/tmp/bench', mounts)?.type).toBe('tmpfs');
    expect(mountOf('/work/main', mounts)?.type).toBe('ext4');
  });
  it('does not mistake a sibling with a common prefix for a parent', () => {
    expect(mountOf('/tmpfoo', mounts)?.type).toBe('ext4');
  });
  it('decodes octal escapes in mount points', () => {
    expect(mountOf('/tmp/my disk/x', mounts)).toMatchObject({ device: '/dev/vdb', type: 'xfs' });
  });
});

describe('machineLines', () => {
  it('lists each fact as a Markdown item, leaving out the keys asked', () => {
    const machine = { CPU: '2 cores', 'Bench directory': '/tmp/b', Node: 'v20' };
    expect(machineLines(machine)).toEqual(['- **CPU**: 2 cores', '- **Bench directory**: /tmp/b', '- **Node**: v20']);
    expect(machineLines(machine, ['Bench directory'])).toEqual(['- **CPU**: 2 cores', '- **Node**: v20']);
  });
});
