import fc from 'fast-check';
import { expect, test } from 'vitest';
import { CopyBinaryWriter } from './copy-binary.ts';

type Field = { t: 'int8'; v: number | null } | { t: 'text'; v: string | null } | { t: 'ts'; v: number | null };

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
      const body = f.t === 'text' ? Buffer.from(f.v, 'utf8') : Buffer.alloc(8);
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
    fc.property(fc.array(fc.array(field, { maxLength: 8 }), { maxLength: 30 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5 }), (rows, initial, every) => {
      const w = new CopyBinaryWriter(initial);
      const out: Buffer[] = [];
      rows.forEach((row, i) => {
        w.row(row.length);
        for (const f of row) {
          if (f.t === 'int8') w.int8(f.v);
          else if (f.t === 'text') w.text(f.v);
          else w.timestamptz(f.v);
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
