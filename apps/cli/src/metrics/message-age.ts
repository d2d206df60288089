/**
 * The age of a waiting message from its id alone: fanout's ids are ULIDs,
 * whose first ten characters are the enqueue time in ms (Crockford base32),
 * so the oldest message of a spool is found from a streamed listing without
 * a `stat` per message.
 */

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The creation time (ms since the epoch) a ULID carries, or `undefined` for an id that is not one. */
export function ulidTimeMs(id: string): number | undefined {
  if (!ULID.test(id)) return undefined;
  let ms = 0;
  for (const ch of id.slice(0, 10)) ms = ms * 32 + CROCKFORD.indexOf(ch);
  return ms;
}
