import fc from 'fast-check';
import { expect, test } from 'vitest';
import { CopyBinaryReader, type CopyColumn, CopyBinaryWriter, type CopyValue } from './copy-binary.ts';

type Field = { t: 'int8'; v: number | null } | { t: 'text' | 'code'; v: string | null } | { t: 'ts'; v: number | null } | { t: 'bool'; v: boolean | null };

/** The reference: PostgreSQL's binary COPY layout written with BigInt and Buffer.from, field by field. */
function reference(rows: Field[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
  for (const row of rows) {
    const n = Buffer.alloc(2);
    n.writeInt16BE(row.length);
    parts.push(n);
    for (const f of row) {
      const len = Buffer.alloc(4);
      if (f.v === null) {
        len.writeInt32BE(-1);
        parts.push(len);
        continue;
      }
      const body = f.t === 'text' || f.t === 'code' ? Buffer.from(f.v, 'utf8') : f.t === 'bool' ? Buffer.from([f.v ? 1 : 0]) : Buffer.alloc(8);
      if (f.t === 'int8') body.writeBigInt64BE(BigInt(f.v));
      if (f.t === 'ts') body.writeBigInt64BE(BigInt(f.v) - 946_684_800_000_000n);
      len.writeInt32BE(body.length);
      parts.push(len, body);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.record({ t: fc.constant('int8' as const), v: fc.option(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -5, max: 5 }), fc.constantFrom(2 ** 32, 2 ** 32 - 1, -(2 ** 32), Number.MIN_SAFE_INTEGER))) }),
  fc.record({ t: fc.constant('text' as const), v: fc.option(fc.string({ unit: 'binary', maxLength: 40 })) }),
  // microseconds before and after 2000-01-01 and the Unix epoch
  fc.record({ t: fc.constant('ts' as const), v: fc.option(fc.integer({ min: -2_000_000_000_000_000, max: 4_000_000_000_000_000 })) }),
);

test('binary COPY rows equal the field-by-field reference (bigint, text, timestamptz, nulls), whatever the buffer size and where it is taken', () => {
  fc.assert(
    fc.property(fc.array(fc.array(field.filter((f) => f.t !== 'bool'), { maxLength: 8 }), { maxLength: 30 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5 }), (rows, initial, every) => {
      const w = new CopyBinaryWriter(initial);
      const out: Buffer[] = [];
      rows.forEach((row, i) => {
        w.row(row.length);
        for (const f of row) {
          if (f.t === 'int8') w.int8(f.v);
          else if (f.t === 'text') w.text(f.v);
          else if (f.t === 'ts') w.timestamptz(f.v);
        }
        if (i % every === 0) out.push(w.take());
      });
      out.push(w.end());
      expect(Buffer.concat(out).equals(reference(rows))).toBe(true);
    }),
    { numRuns: 2000 },
  );
});

test('a bigint that is not a safe integer is refused, not written wrong', () => {
  const w = new CopyBinaryWriter();
  expect(() => w.int8(2 ** 53)).toThrow(RangeError);
  expect(() => w.int8(1.5)).toThrow(RangeError);
});

const TYPE: Record<Field['t'], CopyColumn> = { int8: 'int8', text: 'text', code: 'code', ts: 'timestamptz', bool: 'bool' };
/** Codes: repeating short values, ASCII and not, some of equal length and prefix, and longer than a reader keeps (MAX_CODE_BYTES). */
const CODES = ['voice', 'sms', 'data', 'local', 'roaming', 'long_distance', '2026-11', '2026-12', '', '漫游', 'é', 'x'.repeat(33), ...Array.from({ length: 40 }, (_, i) => `A${i}`)];
const valueOf = (t: Field['t']): fc.Arbitrary<Field> =>
  t === 'int8'
    ? (fc.record({ t: fc.constant('int8' as const), v: fc.option(fc.maxSafeInteger()) }) as fc.Arbitrary<Field>)
    : t === 'code'
      ? (fc.record({ t: fc.constant('code' as const), v: fc.option(fc.constantFrom(...CODES)) }) as fc.Arbitrary<Field>)
    : t === 'text'
      ? (fc.record({ t: fc.constant('text' as const), v: fc.option(fc.string({ unit: 'binary', maxLength: 40 })) }) as fc.Arbitrary<Field>)
      : t === 'ts'
        ? (fc.record({ t: fc.constant('ts' as const), v: fc.option(fc.integer({ min: -2_000_000_000_000_000, max: 4_000_000_000_000_000 })) }) as fc.Arbitrary<Field>)
        : (fc.record({ t: fc.constant('bool' as const), v: fc.option(fc.boolean()) }) as fc.Arbitrary<Field>);

/** The rows a reader of these column types reads from `bytes` pushed in pieces cut at `cuts` (positions modulo its length). */
function readCut(types: Field['t'][], bytes: Buffer, cuts: number[], concatenated: boolean): CopyValue[][] {
  const read: CopyValue[][] = [];
  const reader = new CopyBinaryReader(types.map((t) => TYPE[t]), (v) => read.push([...v]), { concatenated });
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const c of [...at, bytes.length]) {
    reader.push(bytes.subarray(from, c));
    from = c;
  }
  reader.end();
  return read;
}

test('binary COPY output read back row by row: the values written (codes as decoded text), however the stream is cut into chunks', () => {
  const schema = fc.array(fc.constantFrom<Field['t']>('int8', 'text', 'code', 'ts', 'bool'), { minLength: 1, maxLength: 6 });
  const input = schema.chain((types) => fc.tuple(fc.constant(types), fc.array(fc.tuple(...types.map(valueOf)), { maxLength: 80 }), fc.array(fc.nat(), { maxLength: 8 })));
  fc.assert(
    fc.property(input, ([types, rows, cuts]) => {
      expect(readCut(types, reference(rows), cuts, false)).toEqual(rows.map((r) => r.map((f) => f.v)));
    }),
    { numRuns: 2000 },
  );
});

test('concatenated binary COPY streams (a spill file) read back as one run of rows, however the bytes are cut', () => {
  const schema = fc.array(fc.constantFrom<Field['t']>('int8', 'text', 'ts', 'bool'), { minLength: 1, maxLength: 5 });
  const input = schema.chain((types) =>
    fc.tuple(fc.constant(types), fc.array(fc.array(fc.tuple(...types.map(valueOf)), { maxLength: 6 }), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 })),
  );
  fc.assert(
    fc.property(input, ([types, streams, cuts]) => {
      const bytes = Buffer.concat(streams.map((rows) => reference(rows)));
      expect(readCut(types, bytes, cuts, true)).toEqual(streams.flat().map((r) => r.map((f) => f.v)));
    }),
    { numRuns: 1000 },
  );
  // a stream cut inside the second one is an error; two whole ones are not
  const two = Buffer.concat([reference([[{ t: 'int8', v: 1 }]]), reference([[{ t: 'int8', v: 2 }]])]);
  const cut = new CopyBinaryReader(['int8'], () => undefined, { concatenated: true });
  cut.push(two.subarray(0, two.length - 2));
  expect(() => cut.end()).toThrow();
  const whole = new CopyBinaryReader(['int8'], () => undefined, { concatenated: true });
  whole.push(two);
  expect(() => whole.end()).not.toThrow();
});

test('a binary COPY stream cut short is an error, not fewer rows', () => {
  const bytes = reference([[{ t: 'int8', v: 1 }], [{ t: 'int8', v: 2 }]]);
  const reader = new CopyBinaryReader(['int8'], () => undefined);
  reader.push(bytes.subarray(0, bytes.length - 2));
  expect(() => reader.end()).toThrow();
});
