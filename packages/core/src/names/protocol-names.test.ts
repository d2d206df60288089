import { describe, expect, it } from 'vitest';
import { newId } from '../ids/ids.js';
import { isValidTx, names, parseProtocolName } from './protocol-names.js';

describe('protocol names', () => {
  const tx = newId();

  it('parse every name the protocol writes back into its role', () => {
    expect(parseProtocolName(names.source('M1'))).toEqual({ kind: 'source', id: 'M1' });
    expect(parseProtocolName(names.taken('M1', tx))).toEqual({ kind: 'taken', id: 'M1', tx });
    expect(parseProtocolName(names.committed('M1', tx))).toEqual({ kind: 'committed', id: 'M1', tx });
    expect(parseProtocolName(names.backout('M1', tx))).toEqual({ kind: 'backout', id: 'M1', tx });
    expect(parseProtocolName(names.staged('M1', tx))).toEqual({ kind: 'staged', id: 'M1', tx });
    expect(parseProtocolName(names.record(tx))).toEqual({ kind: 'record', tx });
    expect(parseProtocolName(names.retiring(tx))).toEqual({ kind: 'retiring', tx });
    expect(parseProtocolName(names.claim(tx, 3))).toEqual({ kind: 'claim', tx, generation: 3 });
    expect(parseProtocolName(names.delivered('M1'))).toEqual({ kind: 'delivered', id: 'M1' });
    expect(parseProtocolName(names.lock('M1'))).toEqual({ kind: 'lock', id: 'M1' });
  });

  it('an attempt id is exactly a ULID as newId() writes it', () => {
    expect(isValidTx(tx)).toBe(true);
    expect(isValidTx('TX1')).toBe(false);
    expect(isValidTx(tx.toLowerCase())).toBe(false);
    expect(isValidTx(`${tx}0`)).toBe(false);
    expect(isValidTx(`8${tx.slice(1)}`)).toBe(false); // more than 48 bits of time
  });

  // An operator's files that happen to start with a protocol letter and have one dot (issue 14, defect 5):
  // with any word accepted as the attempt id they parsed as taken (p→s: renamed into a message and fanned
  // out), committed (removed as an orphan), backed out, staged (removed as a straggler), records and claims.
  it.each([
    'photo.jpg',
    'kernel.log',
    'backup.tar',
    'world.txt',
    'mail',
    'xmas',
    'minutes',
    'run.sh',
    'report.pdf',
    'readme.txt',
    'results.csv',
    'rnotes.1',
    'pM1.TX1',
    'kM1.tx1',
    `w${tx}`,
    `m${tx}.bak`,
  ])('%s is unknown: nothing acts on it', (name) => {
    expect(parseProtocolName(name)).toEqual({ kind: 'unknown' });
  });
});
