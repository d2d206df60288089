import type { SpoolBackend } from '../backend/spool-backend.js';
import { type ParsedName, parseProtocolName } from '../names/protocol-names.js';

/** Protocol roles a file of message `id` can have under a second name after a crash. */
export type TwinKind = Extract<
  ParsedName['kind'],
  'source' | 'taken' | 'committed' | 'backout' | 'staged' | 'delivered' | 'claimed' | 'held' | 'deleting'
>;

/**
 * The other protocol names of message `id` in `spool`, of the given roles,
 * that are the very file `fileId` (hard links a crash left behind: a rename
 * whose two halves were not both kept, or an interrupted link-and-unlink).
 * Streams the listing; only called when a file's link count says it has a
 * second name, which outside a crash it never has.
 */
export async function findTwins(
  spool: SpoolBackend,
  id: string,
  fileId: string,
  kinds: readonly TwinKind[],
  except: string,
): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of spool.list()) {
    if (entry.name === except || entry.kind !== 'file') continue;
    const parsed = parseProtocolName(entry.name);
    if (!(kinds as readonly string[]).includes(parsed.kind) || !('id' in parsed) || parsed.id !== id) continue;
    const other = await spool.stat(entry.name);
    if (other?.fileId === fileId) found.push(entry.name);
  }
  return found;
}
