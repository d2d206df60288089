import type { BackendImplementation } from '@fanout/core';
import { openMemorySpool } from './memory-spools.js';

/**
 * What `memoryDescriptor` (`@fanout/fs-memory/descriptor`) loads: opens `memory://name` in the process-wide registry.
 */
export const memoryImplementation: BackendImplementation = {
  open: async (location) => openMemorySpool(location),
};
