import type { SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError } from '../errors/fanout-error.js';

/**
 * Read a small file (a marker, an identity) as UTF-8, refusing anything larger
 * than `maxBytes` so a crafted or corrupt file cannot exhaust memory.
 */
export async function readSmall(backend: SpoolBackend, name: string, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of backend.read(name)) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      throw new FanoutError('ECORRUPT', `file larger than ${maxBytes} bytes`, { spool: backend.location, file: name });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
