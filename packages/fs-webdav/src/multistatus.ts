/**
 * An incremental reader of PROPFIND `207 Multi-Status` replies: it cuts the
 * byte stream into `<response>` elements as they arrive and decodes each on
 * its own, so a listing of a million files never sits in memory as a whole
 * (the `webdav` client's `getDirectoryContents` parses the complete document).
 * It reads the few DAV: properties fanout needs and ignores the rest; XML
 * namespaces are matched by local name, as the `webdav` client does.
 */
import { FanoutError } from '@fanout/core';

/** One `<response>` of a multistatus reply. */
export interface DavResource {
  /** The href as sent (percent-encoded path or absolute URL). */
  readonly href: string;
  /** The HTTP status of the response itself, when the server gave one instead of propstats. */
  readonly status: number | undefined;
  readonly collection: boolean;
  readonly size: number | undefined;
  readonly mtimeMs: number;
  readonly etag: string | undefined;
  /** The active locks' tokens and owners (empty when unlocked or not asked for). */
  readonly locks: readonly { readonly token: string | undefined; readonly owner: string }[];
}

/** One `<response>` element may not exceed this; a reply that does is refused rather than buffered. */
const MAX_RESPONSE_CHARS = 1 << 20;

const P = '(?:[A-Za-z_][\\w.-]*:)?';
const RESPONSE_END = new RegExp(`</${P}response\\s*>`, 'g');
const RESPONSE_START = new RegExp(`<${P}response[\\s>]`);

/** Yield each `<response>` of a multistatus body as it arrives. */
export async function* parseMultistatus(
  chunks: AsyncIterable<Uint8Array>,
  where: { spool: string; file?: string },
): AsyncGenerator<DavResource> {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true });
    let consumed = 0;
    RESPONSE_END.lastIndex = 0;
    for (let end = RESPONSE_END.exec(pending); end; end = RESPONSE_END.exec(pending)) {
      const fragment = pending.slice(consumed, end.index + end[0].length);
      const start = RESPONSE_START.exec(fragment);
      if (start) yield parseResponse(fragment.slice(start.index));
      consumed = end.index + end[0].length;
    }
    pending = pending.slice(consumed);
    if (pending.length > MAX_RESPONSE_CHARS) {
      throw new FanoutError('EIO', `a PROPFIND response element exceeds ${MAX_RESPONSE_CHARS} characters`, where);
    }
  }
}

/** Decode one `<response>…</response>` fragment. */
export function parseResponse(fragment: string): DavResource {
  const firstPropstat = fragment.search(new RegExp(`<${P}propstat[\\s>]`));
  const head = firstPropstat < 0 ? fragment : fragment.slice(0, firstPropstat);
  const href = textOf(head, 'href') ?? '';
  const ownStatus = firstPropstat < 0 ? statusOf(head) : undefined;
  let collection = false;
  let size: number | undefined;
  let mtimeMs = 0;
  let etag: string | undefined;
  const locks: { token: string | undefined; owner: string }[] = [];
  for (const propstat of elements(fragment, 'propstat')) {
    const status = statusOf(propstat);
    if (status === undefined || status < 200 || status > 299) continue;
    const resourcetype = elements(propstat, 'resourcetype')[0];
    if (resourcetype !== undefined && new RegExp(`<${P}collection[\\s/>]`).test(resourcetype)) collection = true;
    const length = textOf(propstat, 'getcontentlength');
    if (length !== undefined && /^\s*\d+\s*$/.test(length)) size = Number(length);
    const modified = textOf(propstat, 'getlastmodified');
    if (modified !== undefined) mtimeMs = Date.parse(modified) || 0;
    etag = textOf(propstat, 'getetag')?.trim() || etag;
    for (const active of elements(propstat, 'activelock')) {
      const tokenBlock = elements(active, 'locktoken')[0];
      const token = tokenBlock === undefined ? undefined : textOf(tokenBlock, 'href')?.trim();
      const ownerBlock = elements(active, 'owner')[0];
      locks.push({
        token,
        owner: ownerBlock === undefined ? '' : decodeXml(ownerBlock.replace(/<[^>]*>/g, '')).trim(),
      });
    }
  }
  return { href: href.trim(), status: ownStatus, collection, size, mtimeMs, etag, locks };
}

/** The inner text of every element `name` (any prefix) in `xml`; self-closing ones give ''. */
function elements(xml: string, name: string): string[] {
  const re = new RegExp(`<${P}${name}(?:\\s[^>]*?)?(?:/>|>([\\s\\S]*?)</${P}${name}\\s*>)`, 'g');
  const out: string[] = [];
  for (const m of xml.matchAll(re)) out.push(m[1] ?? '');
  return out;
}

function textOf(xml: string, name: string): string | undefined {
  const inner = elements(xml, name)[0];
  return inner === undefined ? undefined : decodeXml(inner);
}

function statusOf(xml: string): number | undefined {
  const m = new RegExp(`<${P}status>\\s*HTTP/[\\d.]+\\s+(\\d{3})`).exec(xml);
  return m ? Number(m[1]) : undefined;
}

/** Undo XML escaping (and CDATA) in a text node. */
export function decodeXml(text: string): string {
  return text
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_, cdata: string) => cdata.replace(/&/g, '&amp;').replace(/</g, '&lt;'))
    .replace(/&(#x[0-9A-Fa-f]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
      switch (entity) {
        case 'amp':
          return '&';
        case 'lt':
          return '<';
        case 'gt':
          return '>';
        case 'quot':
          return '"';
        case 'apos':
          return "'";
        default:
          return String.fromCodePoint(
            entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10),
          );
      }
    });
}

/** Escape text for an XML element body. */
export function encodeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
