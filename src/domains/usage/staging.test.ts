// R-BIL-3: a piece of a CDR file is read line by line whatever its line endings: each record keeps the
// file's number of its line, the header and blank lines are skipped, a bad row is rejected with its line.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { parsePiece, TOO_LONG } from './staging.ts';

const NOW = Date.parse('2026-12-01T00:00:00Z');
const good = (i: number) => `R${i},13900000001,13812345678,2026-11-0${1 + (i % 9)} 12:00:00,voice,local,${i},GZ`;

test('R-BIL-3 a piece with a BOM, a header, CRLF and LF endings, blank lines and bad rows: records and rejections keep their lines', () => {
  const lines = [
    '\ufeffrecord_id,service_number,other_party,start_time,usage,scope,quantity,area',
    good(1),
    '',
    `${good(2)}\r`,
    '\r',
    'R3,13900000001,13812345678,2026-11-31 12:00:00,voice,local,1,GZ',
    'R4,13900000001,only-seven-fields,2026-11-02 12:00:00,voice,local,1',
    TOO_LONG,
    `${good(5)}\r`,
    'R6,13900000001,13812345678,2026-11-03 12:00:00,"voice",local,1,GZ',
  ];
  const { rows, errors } = parsePiece({ text: Buffer.from(`${lines.join('\n')}\n`), firstLine: 1, first: true }, NOW);
  expect(rows.map((r) => [r.line, r.recordId, r.area, r.quantity])).toEqual([
    [2, 'R1', 'GZ', 1],
    [4, 'R2', 'GZ', 2],
    [9, 'R5', 'GZ', 5],
  ]);
  expect(errors.map((e) => [e.line, e.recordId, e.code])).toEqual([
    [6, 'R3', 'START_TIME_INVALID'],
    [7, 'R4', 'COLUMN_COUNT'],
    [8, '', 'LINE_TOO_LONG'],
    // no quoting in CDR files: a quoted field is taken as it stands
    [10, 'R6', 'USAGE_UNKNOWN'],
  ]);
});

test('R-BIL-3 a later piece: its first line is not a header, its numbering starts at firstLine, a last line without a newline counts', () => {
  const text = ['record_id,service_number,other_party,start_time,usage,scope,quantity,area', good(7), good(8)].join('\r\n');
  const { rows, errors } = parsePiece({ text: Buffer.from(text), firstLine: 41, first: false }, NOW);
  expect(errors.map((e) => [e.line, e.code])).toEqual([[41, 'SERVICE_NUMBER_INVALID']]);
  expect(rows.map((r) => [r.line, r.recordId, r.area])).toEqual([
    [42, 'R7', 'GZ'],
    [43, 'R8', 'GZ'],
  ]);
});

test('R-BIL-3 whatever the mix of line endings and blank lines, every good line is a record with its own line number', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('good', 'crlf', 'blank', 'bad'), { maxLength: 60 }), fc.integer({ min: 1, max: 1_000_000 }), (kinds, firstLine) => {
      const lines = kinds.map((k, i) => (k === 'good' ? good(i) : k === 'crlf' ? `${good(i)}\r` : k === 'blank' ? '' : `R${i},x`));
      const { rows, errors } = parsePiece({ text: Buffer.from(lines.join('\n')), firstLine, first: false }, NOW);
      const want = kinds.flatMap((k, i) => (k === 'good' || k === 'crlf' ? [[firstLine + i, `R${i}`]] : []));
      expect(rows.map((r) => [r.line, r.recordId])).toEqual(want);
      expect(errors.map((e) => e.line)).toEqual(kinds.flatMap((k, i) => (k === 'bad' ? [firstLine + i] : [])));
    }),
  );
});
