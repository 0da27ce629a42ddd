// R-BIL-1, R-BIL-2, R-BIL-3: a staged file's chunk rated in TypeScript (rating.ts, COPY on PostgreSQL),
// read from the pending table or held in memory in any order (a spill bucket, an API batch), stores
// exactly what the rating statement stores — the same cdrs rows, allowances and charges —
// over random files with allowances crossing, ties of start time, offers ending mid-way, packs,
// standard rates, family numbers (free and priced, in and out of their window), VPMN peers, record
// ids repeated in the file and record ids stored before.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { usageRepo, type PendingCdr } from '../src/domains/usage/repo.ts';
import { RecordColumns } from '../src/domains/usage/columns.ts';
import { type RatingRecord, rateColumns, ratedRecord } from '../src/domains/usage/rating.ts';
import { rateHeldChunk, rateStagedChunk, TS_RATING_MAX_RECORDS } from '../src/domains/usage/service.ts';
import { cycleOf } from '../src/platform/clock.ts';
import { type Q, withConnection } from '../src/platform/db.ts';
import { system, testEnv, type TestEnv } from './helpers.ts';
import { addOffer, cdr, seedTestOffers, subscriberOn } from './fixtures/usage/helpers.ts';

let env: TestEnv;
let subs: { subscriberId: number; accountId: number; number: string }[] = [];
const FAMILY_FREE = '13911110001';
const FAMILY_PRICED = '13911110002';
beforeAll(async () => {
  env = await testEnv();
  env.clock.set(new Date('2026-12-20T12:00:00+08:00'));
  await seedTestOffers(env.ctx);
  const plan = await subscriberOn(env.ctx, 'T-PLAN');
  const kb = await subscriberOn(env.ctx, 'T-KB');
  const pack = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
  await addOffer(env.ctx, pack.subscriberId, 'T-DATA-PACK', 'pack', new Date('2026-11-10T00:00:00+08:00'), new Date('2026-12-03T00:00:00+08:00'));
  const none = await subscriberOn(env.ctx, null);
  const switched = await subscriberOn(env.ctx, null);
  await addOffer(env.ctx, switched.subscriberId, 'T-PLAN', 'plan', new Date('2026-11-01T00:00:00+08:00'), new Date('2026-11-20T00:00:00+08:00'));
  await addOffer(env.ctx, switched.subscriberId, 'T-KB', 'plan', new Date('2026-11-20T00:00:00+08:00'));
  // microseconds count: a record at 00:00:00.000 is still inside the plan that ends 0.5 ms later (both plans then)
  await sql`UPDATE subscriber_offers SET ended_at = ended_at + interval '500 microseconds' WHERE subscriber_id = ${switched.subscriberId} AND ended_at IS NOT NULL`.execute(env.ctx.database.db);
  subs = [plan, kb, pack, none, switched];
  const db = env.ctx.database.db;
  const at = env.clock.now();
  await db
    .insertInto('family_numbers')
    .values([
      { subscriber_id: plan.subscriberId, family_number: FAMILY_FREE, valid_from: new Date('2026-11-01T00:00:00+08:00'), valid_to: new Date('2026-11-25T00:00:00+08:00'), source: 'bundle', source_id: 'B-1', created_at: at },
      { subscriber_id: plan.subscriberId, family_number: FAMILY_PRICED, valid_from: new Date('2026-11-15T00:00:00+08:00'), source: 'bundle', source_id: 'B-1', rate_fen: 7, created_at: at },
      { subscriber_id: plan.subscriberId, family_number: FAMILY_PRICED, valid_from: new Date('2026-11-20T00:00:00+08:00'), source: 'bundle', source_id: 'B-2', rate_fen: 3, created_at: at },
    ])
    .execute();
  await db.insertInto('usage_vpmn_groups').values({ group_code: 'GT', name: 'G', voice_rate_fen: 4 }).execute();
  const from = new Date('2026-11-05T00:00:00+08:00');
  await db
    .insertInto('usage_vpmn_members')
    .values([
      { group_code: 'GT', subscriber_id: plan.subscriberId, service_number: plan.number, short_number: '6201', valid_from: from, source: 'test' },
      { group_code: 'GT', subscriber_id: pack.subscriberId, service_number: pack.number, short_number: '6202', valid_from: from, valid_to: new Date('2026-11-28T00:00:00+08:00'), source: 'test' },
    ])
    .execute();
  // records stored before (R-BIL-3) and allowances partly used by an earlier batch (rated in TypeScript: the
  // pools it used are in its sets, which the rating statement reads too)
  const earlier = subs.flatMap((s, i) => [cdr(s.number, '2026-11-12 09:00:00', 'voice', 'local', 240, '13900001111', `E-${i}`), cdr(s.number, '2026-11-12 09:05:00', 'data', 'local', 700_000, '13900001111', `E-d${i}`)]);
  const r = await env.ctx.usage.importBatch(system, earlier);
  expect(r.rejections).toEqual([]);
});
afterAll(() => env.close());

const START = new Date('2026-11-10T00:00:00+08:00').getTime();
const IDS = ['a-1', 'A-1', 'a.1', 'a_1', 'a:1', 'B', 'b', '1', '10', '9', 'E-0', 'E-1', 'E-2', 'E-d3', 'x.y', 'X-Y', 'Z', '_', '-'];
const PARTIES = ['13900001111', FAMILY_FREE, FAMILY_PRICED, '6202', '6201', 'PACK', 'PLAN'];

const recordArb = fc.record({
  sub: fc.integer({ min: 0, max: 4 }),
  usage: fc.constantFrom('voice', 'sms', 'data'),
  scope: fc.constantFrom('local', 'long_distance', 'roaming'),
  // a coarse grid of start times: many ties; 2026-11-10 .. 2026-12-06, across the cycle boundary
  slot: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 26 * 4 }), weight: 4 }, { arbitrary: fc.constant(40), weight: 1 }), // 40: the instant both plans of `switched` are in force
  quantity: fc.integer({ min: 0, max: 5_000_000 }),
  id: fc.constantFrom(...IDS),
  party: fc.constantFrom(...PARTIES),
});

class Rollback extends Error {}

/** What a rating left in the database (inside its transaction). */
async function outcome(q: Q, fileId: number) {
  const cdrs = await sql`SELECT account_id, record_id, subscriber_id, line, cycle, started_at, item_code, unit, units, free_units, rate_fen, charge_fen, offer_code, free_reason
                           FROM usage_records WHERE file_id = ${fileId} ORDER BY account_id, record_id`.execute(q);
  const allowances = await sql`SELECT * FROM usage_pool_use ORDER BY account_id, subscriber_id, cycle, usage, scope`.execute(q);
  const charges = await sql`SELECT account_id, subscriber_id, cycle, item_code, amount_fen, units, records FROM usage_charges ORDER BY account_id, subscriber_id, cycle, item_code`.execute(q);
  return { cdrs: cdrs.rows, allowances: allowances.rows, charges: charges.rows };
}

let fileSeq = 900_000;
test('R-BIL-1 property: a chunk rated in TypeScript stores what the rating statement stores (allowances, ties, offers ending, family numbers, VPMN, duplicates R-BIL-3)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { minLength: 40, maxLength: 40 }), async (raw, shuffle) => {
      const fileId = ++fileSeq;
      const pending: PendingCdr[] = raw.map((r, line) => {
        const s = subs[r.sub]!;
        const startedAt = new Date(START + r.slot * 6 * 3600_000);
        const party = r.party === 'PACK' ? subs[2]!.number : r.party === 'PLAN' ? subs[0]!.number : r.party;
        const quantity = r.usage === 'voice' ? r.quantity % 900 : r.usage === 'sms' ? r.quantity % 3 : r.quantity;
        return { line: line + 1, accountId: s.accountId, subscriberId: s.subscriberId, recordId: r.id, otherParty: party, startedUs: startedAt.getTime() * 1000, cycle: cycleOf(startedAt), usage: r.usage, scope: r.scope, quantity, area: null };
      });
      const db = env.ctx.database.db;
      await usageRepo.createPending(db, fileId);
      try {
        await usageRepo.stagePending(db, fileId, pending);
        await usageRepo.indexPending(db, fileId);
        const lo = Math.min(...subs.map((s) => s.accountId));
        const hi = Math.max(...subs.map((s) => s.accountId));
        const now = env.clock.now();
        // held in memory (a spill bucket, an API batch): in any order, sorted by rateHeldChunk
        const held = pending.map((r, i) => ({ r, k: shuffle[i] ?? 0 })).sort((a, b) => a.k - b.k).map((x) => ({ ...x.r }));
        const run = async (how: 'sql' | 'ts' | 'held') => {
          let seen: unknown;
          await withConnection(env.ctx.database, async (one, client) => {
            await one
              .transaction()
              .execute(async (tx) => {
                await usageRepo.lockRating(tx, false);
                await usageRepo.rateSettings(tx);
                const c =
                  how === 'ts'
                    ? await rateStagedChunk(tx, client, fileId, lo, hi, now)
                    : how === 'held'
                      ? await rateHeldChunk(tx, client, fileId, held, now)
                      : await usageRepo.rateFileChunk(tx, fileId, lo, hi, now);
                seen = { c: { ...c, subscriberIds: [...c.subscriberIds].sort((a, b) => a - b), accountIds: [...c.accountIds].sort((a, b) => a - b) }, ...(await outcome(tx, fileId)) };
                throw new Rollback();
              })
              .catch((err: unknown) => {
                if (!(err instanceof Rollback)) throw err;
              });
          });
          return seen;
        };
        const bySql = await run('sql');
        expect(await run('ts')).toEqual(bySql);
        expect(await run('held')).toEqual(bySql);
      } finally {
        await usageRepo.dropPending(db, fileId);
      }
    }),
    { numRuns: 40 },
  );
});

test('R-BIL-1 rateColumns leaves a chunk to the SQL statement when a value would not be a safe integer', () => {
  const r: RatingRecord = { line: 1, accountId: 1, subscriberId: 1, recordId: 'X', otherParty: '1', startedUs: 1e15, cycle: '2026-11', usage: 'data', scope: 'local', quantity: 2 ** 52, area: null };
  const ref = { tariffs: [], family: [], vpmn: [], base: new Map([['data', new Map([['local', { unit: 'kb', rateFen: 10_000 }]])]]), used: new Map<string, number>(), charged: new Set<string>() };
  expect(rateColumns(RecordColumns.fromRecords([r]), Uint32Array.of(0), ref)).toBeNull();
  const c = RecordColumns.fromRecords([{ ...r, quantity: 2048 }]);
  const rated = rateColumns(c, Uint32Array.of(0), ref);
  expect(rated && ratedRecord(c, rated.rated, 0)).toMatchObject({ unit: 'kb', units: 2, freeUnits: 0, chargeFen: 20_000, freeReason: null, offerCode: null });
});

test('R-BIL-1 an account with more records in a file than TS_RATING_MAX_RECORDS is rated by the SQL statement (memory stays bounded), with the same result', async () => {
  const fileId = ++fileSeq;
  const s = subs[0]!;
  const at = new Date('2026-11-21T10:00:00+08:00');
  const pending: PendingCdr[] = [1, 2, 3].map((line) => ({ line, accountId: s.accountId, subscriberId: s.subscriberId, recordId: `BIG-${line}`, otherParty: '13900001111', startedUs: (at.getTime() + line * 60_000) * 1000, cycle: '2026-11', usage: 'voice', scope: 'local', quantity: 301, area: null }));
  const db = env.ctx.database.db;
  await usageRepo.createPending(db, fileId);
  const sqlPath = vi.spyOn(usageRepo, 'rateFileChunk');
  try {
    await usageRepo.stagePending(db, fileId, pending);
    await usageRepo.indexPending(db, fileId);
    const run = (size: number) =>
      db
        .transaction()
        .execute(async (tx) => {
          const c = await rateStagedChunk(tx, undefined, fileId, s.accountId, s.accountId, env.clock.now(), size);
          throw Object.assign(new Rollback(), { seen: { c, ...(await outcome(tx, fileId)) } });
        })
        .catch((err: unknown) => (err as { seen: unknown }).seen);
    const small = await run(3);
    expect(sqlPath).not.toHaveBeenCalled();
    const big = await run(TS_RATING_MAX_RECORDS + 1);
    expect(sqlPath).toHaveBeenCalledTimes(1);
    expect(big).toEqual(small);
    expect((small as { c: { accepted: number } }).c.accepted).toBe(3);
  } finally {
    sqlPath.mockRestore();
    await usageRepo.dropPending(db, fileId);
  }
});
