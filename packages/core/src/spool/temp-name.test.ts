import { describe, expect, it } from 'vitest';
import { parseProtocolName } from '../names/protocol-names.js';
import { defaultOwner, type OwnerInfo } from '../owner/owner.js';
import { encodeOwnerTag } from '../owner/owner-tag.js';
import { tempName, tempWriter } from './temp-name.js';

const writer: OwnerInfo = {
  host: 'mail-1.example.org',
  bootId: 'b00t',
  pidNamespace: '4026531836',
  pid: 4242,
  startTime: '777',
};

describe('temp names', () => {
  it('are t<ULID>.<owner tag>, classified as temps of exactly that writer', () => {
    const name = tempName(writer);
    expect(name).toMatch(new RegExp(`^t[0-7][0-9A-HJKMNP-TV-Z]{25}\\.${encodeOwnerTag(writer)}$`));
    const parsed = parseProtocolName(name);
    expect(parsed.kind).toBe('temp');
    expect(parsed.kind === 'temp' && parsed.writer).toMatchObject({
      pid: 4242,
      pidNamespace: '4026531836',
      startTime: '777',
    });
    expect(tempWriter(name.slice(1))).toEqual(parsed.kind === 'temp' ? parsed.writer : undefined);
  });

  it("name this process by default (the core's own identity, with its nonce)", () => {
    const parsed = parseProtocolName(tempName());
    expect(parsed.kind === 'temp' && parsed.writer).toMatchObject({
      pid: process.pid,
      startTime: defaultOwner().startTime,
    });
  });

  it('differ on every call', () => {
    expect(new Set(Array.from({ length: 1000 }, () => tempName(writer))).size).toBe(1000);
  });

  it('are the only t… names that are temps: anything else is unknown, never touched', () => {
    const ulid = tempName(writer).slice(1, 27);
    const tag = encodeOwnerTag(writer);
    for (const name of [
      'todo.txt',
      'tags',
      'test.log',
      't',
      't123.456.host', // the old t<id>.<pid>.<host>
      `t${ulid}.4242.mail1exampleorg`, // the old shape with a real ULID
      `t${ulid}`,
      `t${ulid}.`,
      `t${ulid}.${tag}.x`,
      `t${ulid}.${tag}-1`,
      `t${ulid.toLowerCase()}.${tag}`,
      `t${ulid.slice(1)}.${tag}`,
      `t${ulid}X.${tag}`,
      `t8${ulid.slice(1)}.${tag}`, // beyond 48 bits of time
      `tI${ulid.slice(1)}.${tag}`, // not Crockford base32
      `t${ulid}_${tag}`,
      `T${ulid}.${tag}`,
    ]) {
      expect(parseProtocolName(name), name).toEqual({ kind: 'unknown' });
      if (name.startsWith('t')) expect(tempWriter(name.slice(1)), name).toBeUndefined();
    }
  });
});
