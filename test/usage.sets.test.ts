// R-BIL-1, R-BIL-3: rated CDRs stored as compact sets (src/domains/usage/sets.ts, migration 0023): a body
// reads back exactly what was rated, in TypeScript and through cdr_set_records in SQL; the duplicate check
// by record-id hashes never drops a record whose hash matches but whose id the set does not hold, and a
// record id stored in cdrs (the rating statement's rows, rows stored before the sets) still counts; a
// set carries what its records used of each allowance pool (migration 0024), added to usage_allowances'.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RecordColumns } from '../src/domains/usage/columns.ts';
import { FREE_REASON_CODES, NO_POOL, poolOf, type RatedColumns, type RatedRecord, type RatingRecord, UNIT_CODES } from '../src/domains/usage/rating.ts';
import { decodePools, decodeSet, recordIdHashesOf, SetEncoder, setRecordIds } from '../src/domains/usage/sets.ts';
import { itemOf, type Scope, type Usage } from '../src/domains/usage/rules.ts';
import { testEnv, type TestEnv } from './helpers.ts';
import { cdr, importAll, seedTestOffers, subscriberOn } from './fixtures/usage/helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await testEnv();
  env.clock.set(new Date('2026-11-20T12:00:00+08:00'));
  await seedTestOffers(env.ctx);
});
afterAll(() => env.close());

const text = fc.oneof(fc.string({ maxLength: 24 }), fc.constantFrom('宽带-通话-1', 'ID\u00e9', '😀x', 'TJ-HX', ''));
const ratedArb = fc.record({
  accountId: fc.integer({ min: 1, max: 3 }),
  subscriberId: fc.integer({ min: 1, max: 3 }),
  cycle: fc.constantFrom('2026-10', '2026-11'),
  recordId: text,
  otherParty: text,
  startedUs: fc.integer({ min: 0, max: 4_000_000_000_000_000 }),
  usage: fc.constantFrom('voice', 'sms', 'data'),
  scope: fc.constantFrom('local', 'long_distance', 'roaming'),
  quantity: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  area: fc.option(text, { nil: null }),
  line: fc.integer({ min: 0, max: 2 ** 40 }),
  unit: fc.constantFrom(...UNIT_CODES),
  units: fc.nat(),
  freeUnits: fc.nat(),
  rateFen: fc.integer({ min: 0, max: 10_000 }),
  chargeFen: fc.integer({ min: 0, max: 2 ** 45 }),
  offerCode: fc.option(text, { nil: null }),
  freeReason: fc.constantFrom(...FREE_REASON_CODES),
  pool: fc.oneof(fc.constant(NO_POOL), fc.integer({ min: 0, max: 11 })),
});
type Arb = typeof ratedArb extends fc.Arbitrary<infer T> ? T : never;
const rated = (x: Omit<Arb, 'pool'>): RatedRecord => ({
  record: { line: x.line, accountId: x.accountId, subscriberId: x.subscriberId, recordId: x.recordId, otherParty: x.otherParty, startedUs: x.startedUs, cycle: x.cycle, usage: x.usage, scope: x.scope, quantity: x.quantity, area: x.area } satisfies RatingRecord,
  itemCode: itemOf(x.usage as Usage, x.scope as Scope),
  unit: x.unit,
  units: x.units,
  freeUnits: x.freeUnits,
  rateFen: x.rateFen,
  chargeFen: x.chargeFen,
  offerCode: x.offerCode,
  freeReason: x.freeReason,
});
/** Rated records as the encoder takes them: the records' columns and their rating's. */
function columns(rows: RatedRecord[], pools: number[] = []): [RecordColumns, RatedColumns] {
  const c = RecordColumns.fromRecords(rows.map((r) => r.record));
  const n = rows.length;
  const offers = [...new Set(rows.flatMap((r) => (r.offerCode === null ? [] : [r.offerCode])))];
  const r: RatedColumns = {
    idx: Uint32Array.from(rows.keys()), units: Float64Array.from(rows, (x) => x.units), freeUnits: Float64Array.from(rows, (x) => x.freeUnits),
    rateFen: Float64Array.from(rows, (x) => x.rateFen), chargeFen: Float64Array.from(rows, (x) => x.chargeFen),
    unit: Uint8Array.from(rows, (x) => (UNIT_CODES as readonly string[]).indexOf(x.unit)), freeReason: Uint8Array.from(rows, (x) => (FREE_REASON_CODES as readonly (string | null)[]).indexOf(x.freeReason)),
    offer: Int32Array.from(rows, (x) => (x.offerCode === null ? -1 : offers.indexOf(x.offerCode))), offers, pool: Uint8Array.from(rows, (_, k) => pools[k] ?? NO_POOL),
  };
  expect(r.idx.length).toBe(n);
  return [c, r];
}
const encode = (encoder: SetEncoder, rows: RatedRecord[], pools: number[] = []) => encoder.encode(...columns(rows, pools));

const expected = (r: RatedRecord) => ({
  recordId: r.record.recordId, otherParty: r.record.otherParty, startedUs: r.record.startedUs, usage: r.record.usage, scope: r.record.scope, quantity: r.record.quantity,
  area: r.record.area, line: r.record.line, itemCode: r.itemCode, unit: r.unit, units: r.units, freeUnits: r.freeUnits, rateFen: r.rateFen, chargeFen: r.chargeFen,
  offerCode: r.offerCode, freeReason: r.freeReason,
});

test('R-BIL-3, R-BIL-1 property: every set reads back exactly the records encoded into it, in order, and the units its records used of each pool, in TypeScript and in SQL (cdr_set_records, cdr_set_pools)', async () => {
  const db = env.ctx.database.db;
  await fc.assert(
    fc.asyncProperty(fc.array(ratedArb, { minLength: 1, maxLength: 40 }), async (xs) => {
      const rows = xs.map(rated);
      const encoder = new SetEncoder(64);
      const sets = encode(encoder, rows, xs.map((x) => x.pool));
      // consecutive records of one account, subscriber and cycle share a set; a key seen before gets the next part
      const runs: RatedRecord[][] = [];
      const poolRuns: Map<number, number>[] = [];
      for (const [k, r] of rows.entries()) {
        const last = runs.at(-1)?.[0]?.record;
        if (last && last.accountId === r.record.accountId && last.subscriberId === r.record.subscriberId && last.cycle === r.record.cycle) runs.at(-1)?.push(r);
        else {
          runs.push([r]);
          poolRuns.push(new Map());
        }
        const pool = (xs[k] as Arb).pool;
        const m = poolRuns.at(-1) as Map<number, number>;
        if (pool !== NO_POOL) m.set(pool, (m.get(pool) ?? 0) + r.units * (r.unit === 'mb' ? 1024 : 1));
      }
      expect(sets.map((z) => [z.accountId, z.subscriberId, z.cycle, z.records, z.chargeFen])).toEqual(
        runs.map((run) => [run[0]?.record.accountId, run[0]?.record.subscriberId, run[0]?.record.cycle, run.length, run.reduce((s, r) => s + r.chargeFen, 0)]),
      );
      expect(new Set(sets.map((z) => `${z.accountId}|${z.subscriberId}|${z.cycle}|${z.part}`)).size).toBe(sets.length);
      for (const [i, z] of sets.entries()) {
        const run = runs[i] as RatedRecord[];
        expect(decodeSet(encoder.body, z.bodyStart, z.bodyEnd)).toEqual(run.map(expected));
        expect(setRecordIds(encoder.body, z.bodyStart, z.bodyEnd)).toEqual(run.map((r) => r.record.recordId));
        const h = encoder.hashes.subarray(z.hashStart, z.hashEnd);
        expect(run.map((r, k) => [h.readUInt32BE(8 * k), h.readUInt32BE(8 * k + 4)])).toEqual(run.map((r) => recordIdHashesOf(r.record.recordId)));
        const inSql = await sql<Record<string, unknown>>`
          SELECT record_id, other_party, (extract(epoch FROM started_at) * 1000000)::bigint AS started_us, usage, scope, quantity, area, line, item_code, unit,
                 units, free_units, rate_fen, charge_fen, offer_code, free_reason
            FROM cdr_set_records(decode(${encoder.body.toString('hex', z.bodyStart, z.bodyEnd)}, 'hex')) ORDER BY ord`.execute(db);
        expect(
          inSql.rows.map((x) => ({
            recordId: x.record_id, otherParty: x.other_party, startedUs: Number(x.started_us), usage: x.usage, scope: x.scope, quantity: Number(x.quantity), area: x.area,
            line: Number(x.line), itemCode: x.item_code, unit: x.unit, units: Number(x.units), freeUnits: Number(x.free_units), rateFen: Number(x.rate_fen),
            chargeFen: Number(x.charge_fen), offerCode: x.offer_code, freeReason: x.free_reason,
          })),
        ).toEqual(run.map(expected));
        // the pools: in code order, each with the base units of its records (an MB is 1024 KB); none: empty
        const pools = [...(poolRuns[i] as Map<number, number>).entries()].sort((a, b) => a[0] - b[0]);
        expect(decodePools(encoder.pools, z.poolStart, z.poolEnd)).toEqual(pools);
        const poolsInSql = await sql<{ usage: string; scope: string; used_units: string }>`
          SELECT usage, scope, used_units FROM cdr_set_pools(decode(${encoder.pools.toString('hex', z.poolStart, z.poolEnd)}, 'hex'))`.execute(db);
        expect(poolsInSql.rows.map((x) => ({ usage: x.usage, scope: x.scope, units: Number(x.used_units) }))).toEqual(pools.map(([code, units]) => ({ ...poolOf(code), units })));
      }
    }),
    { numRuns: 40 },
  );
});

test('R-BIL-3 a set refuses what it cannot hold: a negative value, an unknown usage', () => {
  const base = rated({ accountId: 1, subscriberId: 1, cycle: '2026-11', recordId: 'A', otherParty: 'B', startedUs: 1, usage: 'voice', scope: 'local', quantity: 1, area: null, line: 1, unit: 'minute', units: 1, freeUnits: 0, rateFen: 1, chargeFen: 1, offerCode: null, freeReason: null });
  expect(() => encode(new SetEncoder(), [{ ...base, chargeFen: -1 }])).toThrow(RangeError);
  expect(() => encode(new SetEncoder(), [{ ...base, record: { ...base.record, quantity: -1 } }])).toThrow(RangeError);
  expect(() => encode(new SetEncoder(), [{ ...base, record: { ...base.record, usage: 'mms' } }])).toThrow(RangeError);
});

test('R-BIL-3 a stored set whose hash matches a new record id it does not hold drops nothing; the id stored for real is a duplicate', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const db = env.ctx.database.db;
  // a set that claims (by its hashes) the record id C-1 while its body holds only C-0: a hash collision
  const encoder = new SetEncoder();
  const [z] = encode(encoder, [rated({ accountId: s.accountId, subscriberId: s.subscriberId, cycle: '2026-11', recordId: 'C-0', otherParty: '13900001111', startedUs: Date.parse('2026-11-03T00:00:00Z') * 1000, usage: 'sms', scope: 'local', quantity: 1, area: null, line: 0, unit: 'message', units: 1, freeUnits: 1, rateFen: 10, chargeFen: 0, offerCode: 'T-PLAN', freeReason: 'allowance' })]);
  const [h1, h2] = recordIdHashesOf('C-1');
  const hashes = Buffer.alloc(8);
  hashes.writeUInt32BE(h1, 0);
  hashes.writeUInt32BE(h2, 4);
  const file = await db.insertInto('usage_files').values({ kind: 'api', file_name: 'collision', started_at: env.clock.now(), status: 'completed' }).returning('file_id').executeTakeFirstOrThrow();
  await db
    .insertInto('cdr_sets')
    .values({ account_id: s.accountId, subscriber_id: s.subscriberId, cycle: '2026-11', file_id: file.file_id, records: 1, charge_fen: 0, imported_at: env.clock.now(), body: encoder.body.subarray(z?.bodyStart, z?.bodyEnd), hashes })
    .execute();
  const first = await importAll(env.ctx, [cdr(s.number, '2026-11-04 10:00:00', 'sms', 'local', 1, '13900001111', 'C-1')]);
  expect({ accepted: first.accepted, duplicate: first.duplicate }).toEqual({ accepted: 1, duplicate: 0 });
  const again = await importAll(env.ctx, [cdr(s.number, '2026-11-05 10:00:00', 'sms', 'local', 1, '13900001111', 'C-1'), cdr(s.number, '2026-11-05 10:00:00', 'sms', 'local', 1, '13900001111', 'C-2')]);
  expect({ accepted: again.accepted, duplicate: again.duplicate }).toEqual({ accepted: 1, duplicate: 1 });
  // a record id resent with a start in another cycle is the same record (R-BIL-3 counts it once per account)
  env.clock.set(new Date('2026-12-02T12:00:00+08:00'));
  const otherCycle = await importAll(env.ctx, [cdr(s.number, '2026-12-01 10:00:00', 'sms', 'local', 1, '13900001111', 'C-1')]);
  env.clock.set(new Date('2026-11-20T12:00:00+08:00'));
  expect({ accepted: otherCycle.accepted, duplicate: otherCycle.duplicate }).toEqual({ accepted: 0, duplicate: 1 });
  const stored = await db.selectFrom('usage_records').select(['record_id', 'cycle']).where('subscriber_id', '=', s.subscriberId).orderBy('record_id').execute();
  expect(stored).toEqual([{ record_id: 'C-0', cycle: '2026-11' }, { record_id: 'C-1', cycle: '2026-11' }, { record_id: 'C-2', cycle: '2026-11' }]);
});

test('R-BIL-3 a record id stored in cdrs is a duplicate for the rating in TypeScript; the itemised bill lists cdrs rows and set records together', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const db = env.ctx.database.db;
  const at = new Date('2026-11-06T09:00:00+08:00');
  const file = await db.insertInto('usage_files').values({ kind: 'api', file_name: 'before-sets', started_at: at, status: 'completed' }).returning('file_id').executeTakeFirstOrThrow();
  await db
    .insertInto('cdrs')
    .values({
      account_id: s.accountId, record_id: 'L-1', subscriber_id: s.subscriberId, cycle: '2026-11', usage: 'voice', scope: 'local', other_party: '13900002222', started_at: at, quantity: 61,
      area: null, file_id: file.file_id, line: 0, imported_at: at, rated_at: at, item_code: 'VOICE_LOCAL', unit: 'minute', units: 2, free_units: 2, rate_fen: 10, charge_fen: 0, offer_code: 'T-PLAN', free_reason: 'allowance',
    })
    .execute();
  const r = await importAll(env.ctx, [cdr(s.number, '2026-11-07 10:00:00', 'voice', 'local', 30, '13900001111', 'L-1'), cdr(s.number, '2026-11-05 10:00:00', 'voice', 'local', 30, '13900001111', 'L-2')]);
  expect({ accepted: r.accepted, duplicate: r.duplicate }).toEqual({ accepted: 1, duplicate: 1 });
  const bill = await env.ctx.usage.itemised(s.subscriberId, '2026-11');
  expect(bill.total).toBe(2);
  expect(bill.records.map((x) => [x.recordId, x.startedAt, x.otherParty, x.quantity, x.rated])).toEqual([
    ['L-2', '2026-11-05T02:00:00.000Z', '139****1111', 30, true],
    ['L-1', '2026-11-06T01:00:00.000Z', '139****2222', 61, true],
  ]);
  expect((await env.ctx.usage.itemised(s.subscriberId, '2026-11', { limit: 1, offset: 1 })).records.map((x) => x.recordId)).toEqual(['L-1']);
  const sets = await db.selectFrom('cdr_sets').select(['records', 'charge_fen']).where('subscriber_id', '=', s.subscriberId).execute();
  expect(sets).toEqual([{ records: 1, charge_fen: 0 }]);
});

test('R-BIL-3 a batch of accounts far apart (each probed by key) and one of neighbours (one range read) both find their stored record ids', async () => {
  const subs = [];
  for (let i = 0; i < 10; i++) subs.push(await subscriberOn(env.ctx, 'T-PLAN'));
  const [a, b, far] = [subs[0]!, subs[1]!, subs[9]!];
  expect(far.accountId - a.accountId).toBeGreaterThanOrEqual(8);
  const first = await importAll(env.ctx, [a, b, far].map((s, i) => cdr(s.number, '2026-11-08 10:00:00', 'sms', 'local', 1, '13900001111', `S-${i}`)));
  expect({ accepted: first.accepted, duplicate: first.duplicate }).toEqual({ accepted: 3, duplicate: 0 });
  // far apart: a and far (hi − lo ≥ 4 × 2 accounts); neighbours: a and b
  const scattered = await importAll(env.ctx, [cdr(a.number, '2026-11-09 10:00:00', 'sms', 'local', 1, '13900001111', 'S-0'), cdr(far.number, '2026-11-09 10:00:00', 'sms', 'local', 1, '13900001111', 'S-2'), cdr(far.number, '2026-11-09 11:00:00', 'sms', 'local', 1, '13900001111', 'S-3')]);
  expect({ accepted: scattered.accepted, duplicate: scattered.duplicate }).toEqual({ accepted: 1, duplicate: 2 });
  const neighbours = await importAll(env.ctx, [cdr(a.number, '2026-11-10 10:00:00', 'sms', 'local', 1, '13900001111', 'S-0'), cdr(b.number, '2026-11-10 10:00:00', 'sms', 'local', 1, '13900001111', 'S-1'), cdr(b.number, '2026-11-10 11:00:00', 'sms', 'local', 1, '13900001111', 'S-2')]);
  // S-2 of b is new: record ids count per account
  expect({ accepted: neighbours.accepted, duplicate: neighbours.duplicate }).toEqual({ accepted: 1, duplicate: 2 });
});

test('R-BIL-1 a pool counted in usage_allowances (the rating statement’s rows, rows from before the sets carried pools) and in sets adds up: the allowance is used once', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const db = env.ctx.database.db;
  // 8 of the 10 local minutes used before, counted in usage_allowances
  await db.insertInto('usage_allowances').values({ account_id: s.accountId, subscriber_id: s.subscriberId, cycle: '2026-11', usage: 'voice', scope: 'local', used_units: 8 }).execute();
  const first = await importAll(env.ctx, [cdr(s.number, '2026-11-10 10:00:00', 'voice', 'local', 180, '13900001111', 'P-1'), cdr(s.number, '2026-11-10 11:00:00', 'sms', 'local', 1, '13900001111', 'P-2')]);
  expect(first.accepted).toBe(2);
  // the set carries its pools: 3 local minutes, 1 message of the 'any' SMS pool
  const sets = await db.selectFrom('cdr_sets').select(['pools']).where('subscriber_id', '=', s.subscriberId).execute();
  expect(sets.map((z) => decodePools(z.pools as Buffer).map(([code, units]) => ({ ...poolOf(code), units })))).toEqual([
    [
      { usage: 'voice', scope: 'local', units: 3 },
      { usage: 'sms', scope: 'any', units: 1 },
    ],
  ]);
  // a later batch counts both places: 8 + 3 = 11 ≥ 10, nothing free is left
  await importAll(env.ctx, [cdr(s.number, '2026-11-11 10:00:00', 'voice', 'local', 60, '13900001111', 'P-3')]);
  const records = await db.selectFrom('usage_records').select(['record_id', 'free_units', 'charge_fen']).where('subscriber_id', '=', s.subscriberId).orderBy('record_id').execute();
  expect(records).toEqual([
    { record_id: 'P-1', free_units: 2, charge_fen: 15 },
    { record_id: 'P-2', free_units: 1, charge_fen: 0 },
    { record_id: 'P-3', free_units: 0, charge_fen: 15 },
  ]);
  const use = await db.selectFrom('usage_pool_use').select(['usage', 'scope', 'used_units']).where('subscriber_id', '=', s.subscriberId).orderBy('usage').execute();
  expect(use).toEqual([
    { usage: 'sms', scope: 'any', used_units: 1 },
    { usage: 'voice', scope: 'local', used_units: 12 },
  ]);
  // the rating in TypeScript wrote no usage_allowances row: the 8 minutes counted there stay as they were
  expect(await db.selectFrom('usage_allowances').select('used_units').where('subscriber_id', '=', s.subscriberId).execute()).toEqual([{ used_units: 8 }]);
});
