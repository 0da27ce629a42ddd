// R-BIL-3: within a file the first line of a record id is the one rated; an account's later lines of the
// same id are duplicates. firstIndexes answers that per account, by pairs for a few rows, by a map for more,
// and leaves out the record ids stored before.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { firstIndexes, RecordColumns } from './columns.ts';
import type { RatingRecord } from './rating.ts';

const rec = (recordId: string, line: number, accountId = 1): RatingRecord => ({ line, accountId, subscriberId: 1, recordId, otherParty: '1', startedUs: 0, cycle: '2026-11', usage: 'sms', scope: 'local', quantity: 1, area: null });

test('R-BIL-3 the first line of each record id of an account, whatever its size (pairs up to 32 rows, a map beyond), none stored before', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 10_000 })), { minLength: 1, maxLength: 90 }), fc.integer({ min: 0, max: 3 }), (pairs, pad) => {
      // the account's rows sit between other rows: [pad, pad + n)
      const rows = [...Array.from({ length: pad }, (_, i) => rec(`X${i}`, i, 0)), ...pairs.map(([id, line]) => rec(`R${id}`, line)), rec('Y', 1, 2), rec('R0', 1, 2)];
      const c = RecordColumns.fromRecords(rows);
      const order = Uint32Array.from(rows.keys());
      const first = new Map<string, number>();
      for (const [id, line] of pairs) first.set(`R${id}`, Math.min(first.get(`R${id}`) ?? Infinity, line));
      const kept = (stored: Set<string>) => [
        ...Array.from({ length: pad }, (_, i) => `X${i}`),
        ...pairs.filter(([id, line]) => first.get(`R${id}`) === line && !stored.has(`1|R${id}`)).map(([id]) => `R${id}`),
        'Y',
        'R0',
      ];
      const ids = (x: Uint32Array) => [...x].map((i) => c.recordId(i));
      expect(ids(firstIndexes(c, order))).toEqual(kept(new Set()));
      // a record id stored before, of this account only
      const stored = new Set([`1|R${pairs[0]?.[0]}`]);
      expect(ids(firstIndexes(c, order, stored))).toEqual(kept(stored));
    }),
    { numRuns: 2000 },
  );
});
