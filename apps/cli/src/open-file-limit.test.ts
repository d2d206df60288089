import { MIN_OPEN_FILES } from '@fanout/core/internal';
import { describe, expect, it } from 'vitest';
import { processRouteOpenFiles, RESERVED_DESCRIPTORS, routeOpenFiles, softOpenFileLimit } from './open-file-limit.js';

const limits = (soft: string, hard: string) =>
  `Limit                     Soft Limit           Hard Limit           Units     \n` +
  `Max cpu time              unlimited            unlimited            seconds   \n` +
  `Max open files            ${soft}                   ${hard}                   files     \n`;

describe('the open-file budget of fanout run', () => {
  it('reads the soft limit of /proc/self/limits (LimitNOFILE, ulimit -n), not the hard one', () => {
    expect(softOpenFileLimit(limits('64', '4096'))).toBe(64);
    expect(softOpenFileLimit(limits('unlimited', 'unlimited'))).toBeUndefined();
    expect(softOpenFileLimit('garbage')).toBeUndefined();
  });

  it('gives each route what the limit leaves after the open descriptors and a reserve', () => {
    expect(routeOpenFiles(64, 19, 1)).toBe(64 - 19 - RESERVED_DESCRIPTORS);
    expect(routeOpenFiles(1024, 20, 4)).toBe(Math.floor((1024 - 20 - RESERVED_DESCRIPTORS) / 4));
  });

  it('never gives less than one copy needs, however small the limit', () => {
    expect(routeOpenFiles(20, 19, 1)).toBe(MIN_OPEN_FILES);
  });

  it.runIf(process.platform === 'linux')('is set for this very process on Linux', () => {
    const got = processRouteOpenFiles(1);
    expect(got).toBeGreaterThanOrEqual(MIN_OPEN_FILES);
  });
});
