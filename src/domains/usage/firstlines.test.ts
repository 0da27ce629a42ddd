// R-BIL-3: within a file the first line of a record id is the one rated; an account's later lines of the
// same id are duplicates. firstLines answers that per account, by pairs for a few rows, by a map for more.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { firstLines, type RatingRecord } from './rating.ts';

const rec = (recordId: string, line: number): RatingRecord => ({ line, accountId: 1, subscriberId: 1, recordId, otherParty: '1', startedUs: 0, cycle: '2026-11', usage: 'sms', scope: 'local', quantity: 1, area: null });

test('R-BIL-3 the first line of each record id of an account, whatever its size (pairs up to 32 rows, a map beyond)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 10_000 })), { minLength: 1, maxLength: 90 }), fc.integer({ min: 0, max: 3 }), (pairs, pad) => {
      // the account's rows sit between other rows: [pad, pad + n)
      const rows = [...Array.from({ length: pad }, (_, i) => rec(`X${i}`, i)), ...pairs.map(([id, line]) => rec(`R${id}`, line)), rec('Y', 1)];
      const got = firstLines(rows, pad, pad + pairs.length);
      const first = new Map<string, number>();
      for (const [id, line] of pairs) first.set(`R${id}`, Math.min(first.get(`R${id}`) ?? Infinity, line));
      const kept = (m: Map<string, number> | null) => pairs.filter(([id, line]) => m === null || m.get(`R${id}`) === line);
      if (first.size === pairs.length) expect(got === null || kept(got).length === pairs.length).toBe(true);
      else expect(got).not.toBeNull();
      expect(kept(got)).toEqual(kept(first));
    }),
    { numRuns: 2000 },
  );
});
