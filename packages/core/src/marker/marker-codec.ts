import { createHash } from 'node:crypto';
import { FanoutError } from '../errors/fanout-error.js';
import { isValidId, isValidTx } from '../names/protocol-names.js';
import type { OwnerInfo } from '../owner/owner.js';

/** The marker format version this code writes. */
export const MARKER_VERSION = 2;
const MAGIC = `fanout-marker ${MARKER_VERSION}`;

/** Which protocol a transaction follows (docs/PROTOCOL.md). */
export type ProtocolName = 'staged' | 'seed';

/** A spool as a marker names it: by identity and by location. */
export interface SpoolRef {
  readonly uuid: string;
  readonly location: string;
}

/**
 * The durable record of one attempt (transaction): `m<tx>` in the source
 * spool. It lists the messages the attempt may take and where their copies
 * go; each message's own state is the name it has in the source (`s`, `p`,
 * `k`, `b`; docs/PROTOCOL.md). Recovery needs nothing else to roll the
 * attempt back or complete it.
 */
export interface MarkerRecord {
  /** The attempt id; the record is `m<tx>`, staged copies are `w<id>.<tx>`. */
  readonly tx: string;
  /** The messages of the attempt (one, or a batch). */
  readonly ids: readonly string[];
  readonly protocol: ProtocolName;
  readonly source: SpoolRef;
  readonly destinations: readonly SpoolRef[];
  readonly owner: OwnerInfo;
  /** When the attempt started, ms since the epoch. */
  readonly createdMs: number;
  /** Until when the owner promises to be working on it (renewal claims extend it). */
  readonly leaseUntilMs: number;
}

/** Markers larger than this are corrupt by definition. */
export const MAX_MARKER_BYTES = 64 * 1024;

/** Most ids one record lists (at 128-character ids, still well under {@link MAX_MARKER_BYTES}). */
export const MAX_BATCH_RECORD_IDS = 256;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A JSON string as the owner line holds one (`JSON.stringify`), captured with its quotes. */
const QUOTED = String.raw`("(?:[^"\\]|\\.)*")`;
const OWNER = new RegExp(String.raw`^host=${QUOTED} boot=${QUOTED} pid=(\d+) start=${QUOTED}(?: pidns=${QUOTED})?$`);

function ref(r: SpoolRef): string {
  return `${r.uuid} ${JSON.stringify(r.location)}`;
}

/**
 * Encode a marker as human-readable lines (an operator can `cat` it), ending
 * with a SHA-256 of everything before it so that a torn or edited marker is
 * detected rather than trusted.
 */
export function encodeMarker(m: MarkerRecord): string {
  const o = m.owner;
  const lines = [
    MAGIC,
    `tx: ${m.tx}`,
    `ids: ${m.ids.join(' ')}`,
    `protocol: ${m.protocol}`,
    `source: ${ref(m.source)}`,
    ...m.destinations.map((d) => `destination: ${ref(d)}`),
    `owner: host=${JSON.stringify(o.host)} boot=${JSON.stringify(o.bootId)} pid=${o.pid} ` +
      `start=${JSON.stringify(o.startTime)} pidns=${JSON.stringify(o.pidNamespace)}`,
    `created: ${new Date(m.createdMs).toISOString()}`,
    `lease-until: ${new Date(m.leaseUntilMs).toISOString()}`,
  ];
  const body = `${lines.join('\n')}\n`;
  return `${body}sha256: ${sha256(body)}\n`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Parse and verify an attempt record. Anything unexpected — wrong magic, bad
 * checksum, unknown field, invalid id, uuid or location — is `ECORRUPT`:
 * recovery then quarantines the record instead of acting on it.
 *
 * `context.tx` is the attempt the file is named for (`m<tx>`); a record of
 * another attempt under that name is `EFOREIGN`.
 */
export function decodeMarker(text: string, context: { spool?: string; file?: string; tx?: string } = {}): MarkerRecord {
  const where = {
    ...(context.spool !== undefined ? { spool: context.spool } : {}),
    ...(context.file !== undefined ? { file: context.file } : {}),
  };
  const fail = (why: string): never => {
    throw new FanoutError('ECORRUPT', `corrupt marker: ${why}`, where);
  };
  const cut = text.lastIndexOf('sha256: ');
  if (cut < 0) fail('no checksum (torn or empty)');
  const body = text.slice(0, cut);
  const sum = text.slice(cut + 'sha256: '.length).trim();
  if (sum !== sha256(body)) fail('checksum mismatch');
  const lines = body.split('\n');
  if (lines.pop() !== '') fail('truncated');
  if (lines.shift() !== MAGIC) fail(`not a version ${MARKER_VERSION} marker`);
  const fields = new Map<string, string>();
  const destinations: SpoolRef[] = [];
  for (const line of lines) {
    const colon = line.indexOf(': ');
    if (colon < 0) fail(`bad line ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (key === 'destination') destinations.push(parseRef(value, fail));
    else if (fields.has(key)) fail(`duplicate field ${key}`);
    else fields.set(key, value);
  }
  const get = (k: string): string => fields.get(k) ?? fail(`missing field ${k}`);
  const tx = get('tx');
  const ids = get('ids').split(' ');
  if (ids.length > MAX_BATCH_RECORD_IDS || new Set(ids).size !== ids.length) fail('bad ids');
  if (!isValidTx(tx) || !ids.every(isValidId)) fail('invalid id or tx');
  if (context.tx !== undefined && context.tx !== tx) {
    throw new FanoutError(
      'EFOREIGN',
      `record of attempt ${tx} under the name of attempt ${context.tx}; quarantined`,
      where,
    );
  }
  const protocol = get('protocol');
  if (protocol !== 'staged' && protocol !== 'seed') fail(`unknown protocol ${protocol}`);
  if (destinations.length === 0) fail('no destinations');
  const owner = parseOwner(get('owner'), fail);
  const createdMs = Date.parse(get('created'));
  const leaseUntilMs = Date.parse(get('lease-until'));
  if (Number.isNaN(createdMs) || Number.isNaN(leaseUntilMs)) fail('bad time');
  for (const k of fields.keys()) {
    if (!['ids', 'tx', 'protocol', 'source', 'owner', 'created', 'lease-until'].includes(k)) fail(`unknown field ${k}`);
  }
  return {
    tx,
    ids,
    protocol: protocol as ProtocolName,
    source: parseRef(get('source'), fail),
    destinations,
    owner,
    createdMs,
    leaseUntilMs,
  };
}

function parseRef(value: string, fail: (why: string) => never): SpoolRef {
  const space = value.indexOf(' ');
  const uuid = value.slice(0, space);
  if (space < 0 || !UUID.test(uuid)) fail('bad spool uuid');
  let location: unknown;
  try {
    location = JSON.parse(value.slice(space + 1));
  } catch {
    fail('bad spool location');
  }
  if (typeof location !== 'string' || location === '' || location.includes('\0')) fail('bad spool location');
  return { uuid, location: location as string };
}

function parseOwner(value: string, fail: (why: string) => never): OwnerInfo {
  const m = OWNER.exec(value);
  if (!m) return fail('bad owner');
  try {
    return {
      host: JSON.parse(m[1]!),
      bootId: JSON.parse(m[2]!),
      pidNamespace: m[5] === undefined ? '' : JSON.parse(m[5]),
      pid: Number(m[3]),
      startTime: JSON.parse(m[4]!),
    };
  } catch {
    return fail('bad owner');
  }
}
