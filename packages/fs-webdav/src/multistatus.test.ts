import { describe, expect, it } from 'vitest';
import { decodeXml, parseMultistatus } from './multistatus.js';

const APACHE =
  '<?xml version="1.0" encoding="utf-8"?>\n' +
  '<D:multistatus xmlns:D="DAV:">\n' +
  '<D:response xmlns:lp1="DAV:"><D:href>/sp/</D:href><D:propstat><D:prop><lp1:resourcetype>' +
  '<D:collection/></lp1:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>' +
  '</D:response>\n' +
  '<D:response xmlns:lp1="DAV:"><D:href>/sp/a%20b&amp;c</D:href><D:propstat><D:prop><lp1:resourcetype/>' +
  '<lp1:getcontentlength>6</lp1:getcontentlength><lp1:getetag>W/"6-1"</lp1:getetag>' +
  '<lp1:getlastmodified>Sun, 29 Nov 2026 03:15:31 GMT</lp1:getlastmodified></D:prop>' +
  '<D:status>HTTP/1.1 200 OK</D:status></D:propstat><D:propstat><D:prop><D:displayname/></D:prop>' +
  '<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>\n' +
  '<D:responsedescription>done</D:responsedescription>\n' +
  '</D:multistatus>';

async function* inPieces(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function parseAll(text: string, size: number) {
  const out = [];
  for await (const r of parseMultistatus(inPieces(text, size), { spool: 'test' })) out.push(r);
  return out;
}

describe('parseMultistatus', () => {
  it('yields the same resources however the bytes are cut, even inside a multi-byte character', async () => {
    const body = APACHE.replace('a%20b', 'é日本');
    const whole = await parseAll(body, body.length);
    for (const size of [1, 2, 3, 7, 64]) expect(await parseAll(body, size)).toEqual(whole);
    expect(whole.map((r) => r.href)).toEqual(['/sp/', '/sp/é日本&c']);
  });

  it('reads kind, size, etag and time from 2xx propstats only, whatever the namespace prefixes', async () => {
    const [dir, file] = await parseAll(APACHE, 50);
    expect(dir).toMatchObject({ collection: true, size: undefined });
    expect(file).toMatchObject({
      collection: false,
      size: 6,
      etag: 'W/"6-1"',
      mtimeMs: Date.parse('Sun, 29 Nov 2026 03:15:31 GMT'),
    });
  });

  it('reads active locks with their tokens and owners', async () => {
    const body =
      '<a:multistatus xmlns:a="DAV:"><a:response><a:href>http://h/x/d1</a:href><a:propstat>' +
      '<a:status>HTTP/1.1 200 OK</a:status><a:prop><a:lockdiscovery><a:activelock>' +
      '<a:owner>w1 fanout-lock:n1</a:owner><a:locktoken><a:href>urn:uuid:1</a:href></a:locktoken>' +
      '<a:lockroot><a:href>http://h/x/d1</a:href></a:lockroot></a:activelock></a:lockdiscovery>' +
      '</a:prop></a:propstat></a:response></a:multistatus>';
    const [r] = await parseAll(body, 13);
    expect(r?.href).toBe('http://h/x/d1');
    expect(r?.locks).toEqual([{ token: 'urn:uuid:1', owner: 'w1 fanout-lock:n1' }]);
  });

  it('refuses a response element too big to hold instead of buffering it', async () => {
    const huge = `<D:multistatus xmlns:D="DAV:"><D:response><D:href>${'x'.repeat(1_100_000)}`;
    await expect(parseAll(huge, 65536)).rejects.toMatchObject({ code: 'EIO' });
  });
});

describe('decodeXml', () => {
  it('undoes entities and CDATA exactly once', () => {
    expect(decodeXml('a&amp;amp;b&lt;&#233;&#x65E5;<![CDATA[&amp;]]>')).toBe('a&amp;b<é日&amp;');
  });
});
