import { afterAll, beforeAll } from 'vitest';
import { defineBackendConformance } from '@fanout/core/testing';
import { startEmbeddedDavServer, type EmbeddedDavServer } from './test-support/embedded-server.js';
import { davHarness } from './test-support/dav-harness.js';

let server: EmbeddedDavServer;
beforeAll(async () => {
  server = await startEmbeddedDavServer();
});
afterAll(async () => {
  await server?.dispose();
});

defineBackendConformance('fs-webdav against the embedded webdav-server 2.6', davHarness(() => server.baseUrl));
