// R-BIL-3: a file's matched records spilled by ranges of account ids come back whole: every record of
// an account in one bucket, the records of a bucket read back as written (whole, or in batches).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';
import type { RatingRecord } from './rating.ts';
import { bucketBatches, bucketOf, readBucketColumns, removeSpill, spill, spillPlan } from './spill.ts';

const base = mkdtempSync(join(tmpdir(), 'openboss-spill-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

test('R-BIL-3 account ranges: at most the buckets asked for, in account order, every id (and any outside the range) in one', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 300 }), fc.array(fc.integer({ min: -10, max: 1_010_000 }), { maxLength: 50 }), (lo, span, wanted, ids) => {
      const plan = spillPlan(base, 1, lo, lo + span, wanted);
      removeSpill(plan.dir);
      expect(plan.buckets).toBeGreaterThanOrEqual(1);
      expect(plan.buckets).toBeLessThanOrEqual(wanted);
      expect(bucketOf(plan, lo)).toBe(0);
      expect(bucketOf(plan, lo + span)).toBe(plan.buckets - 1);
      const sorted = [...ids].sort((a, b) => a - b);
      for (let i = 1; i < sorted.length; i++) expect(bucketOf(plan, sorted[i]!)).toBeGreaterThanOrEqual(bucketOf(plan, sorted[i - 1]!));
      for (const id of ids) expect(bucketOf(plan, id)).toBeGreaterThanOrEqual(0);
      for (const id of ids) expect(bucketOf(plan, id)).toBeLessThan(plan.buckets);
    }),
  );
  expect(readdirSync(base)).toEqual([]);
});

const recordArb = fc.record({
  line: fc.integer({ min: 1, max: 1e9 }),
  accountId: fc.integer({ min: 1, max: 40 }),
  subscriberId: fc.integer({ min: 1, max: 1e12 }),
  recordId: fc.string({ minLength: 1, maxLength: 64 }),
  otherParty: fc.string({ maxLength: 20 }),
  startedUs: fc.integer({ min: 0, max: 4_102_444_800_000_000 }),
  cycle: fc.constantFrom('2026-11', '2026-12'),
  usage: fc.constantFrom('voice', 'sms', 'data'),
  scope: fc.constantFrom('local', 'long_distance', 'roaming'),
  quantity: fc.maxSafeInteger(),
  area: fc.option(fc.string({ maxLength: 8 })),
}) as fc.Arbitrary<RatingRecord>;

test('R-BIL-3 pieces spilled one after another read back per bucket as written, whole or in batches', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(recordArb, { maxLength: 30 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 7 }), async (pieces, wanted, size) => {
      const plan = spillPlan(base, 2, 1, 40, wanted);
      try {
        const counts = new Map<number, number>();
        for (const piece of pieces) for (const [b, n] of spill(plan, piece)) counts.set(b, (counts.get(b) ?? 0) + n);
        for (let b = 0; b < plan.buckets; b++) {
          const mine = pieces.flat().filter((r) => bucketOf(plan, r.accountId) === b);
          expect(counts.get(b) ?? 0).toBe(mine.length);
          if (mine.length === 0) continue;
          const c = readBucketColumns(plan, b);
          expect(Array.from({ length: c.n }, (_, i) => c.record(i))).toEqual(mine);
          const batches: RatingRecord[][] = [];
          for await (const batch of bucketBatches(plan, b, size)) batches.push(batch);
          expect(batches.flat()).toEqual(mine);
        }
      } finally {
        removeSpill(plan.dir);
      }
    }),
    { numRuns: 60 },
  );
});
