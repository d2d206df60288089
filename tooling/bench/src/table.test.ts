import { describe, expect, it } from 'vitest';
import { markdownTable, replaceBetween } from './table.js';

describe('markdownTable', () => {
  it('pads columns to a common width and marks right-aligned ones in the rule', () => {
    expect(
      markdownTable(
        ['name', 'n'],
        [
          ['naive', '7'],
          ['fanout', '12'],
        ],
        ['l', 'r'],
      ),
    ).toBe(['| name   |   n |', '| ------ | --: |', '| naive  |   7 |', '| fanout |  12 |'].join('\n'));
  });
  it('fills missing cells with blanks', () => {
    expect(markdownTable(['a', 'b'], [['x']])).toBe(['| a   | b   |', '| --- | --- |', '| x   |     |'].join('\n'));
  });
});

describe('replaceBetween', () => {
  const begin = '<!-- b -->';
  const end = '<!-- e -->';
  it('replaces only the generated part and keeps the hand-written rest', () => {
    const doc = `# T\n${begin}\nold\n${end}\n\nanalysis\n`;
    expect(replaceBetween(doc, begin, end, 'new', 'fresh')).toBe(`# T\n${begin}\nnew\n${end}\n\nanalysis\n`);
  });
  it('starts afresh when there is no document or its markers are gone', () => {
    expect(replaceBetween(undefined, begin, end, 'new', 'fresh')).toBe('fresh');
    expect(replaceBetween('# hand-written only', begin, end, 'new', 'fresh')).toBe('fresh');
  });
});
