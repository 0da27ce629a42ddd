// R-BIL-1, R-BIL-2, R-BIL-8: rating against plan tariffs, allowances per cycle, family numbers,
// the VPMN hook, virtual accounts charged at once; conservation (R-ACC-18) after every change.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { creditRepo } from '../src/domains/credit/repo.ts';
import { baseFactor, freeUnits, itemOf, type Scope, type Unit, unitsOf, type Usage } from '../src/domains/usage/rules.ts';
import { cycleOf } from '../src/platform/clock.ts';
import { system, testEnv, type TestEnv } from './helpers.ts';
import { addOffer, cdr, type Cdr, importAll, seedTestOffers, subscriberOn, toCsv } from './fixtures/usage/helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await testEnv();
  env.clock.set(new Date('2026-12-20T12:00:00+08:00'));
  await seedTestOffers(env.ctx);
});
afterAll(() => env.close());

const db = () => env.ctx.database.db;
const importing = (records: Cdr[]) => importAll(env.ctx, records);
const rated = (ids: string[]) =>
  db()
    .selectFrom('usage_records')
    .select(['record_id', 'cycle', 'item_code', 'unit', 'units', 'free_units', 'charge_fen', 'free_reason'])
    .where('record_id', 'in', ids)
    .orderBy('started_at')
    .execute();
const charges = async (subscriberId: number) =>
  Object.fromEntries(
    (await db().selectFrom('usage_charges').selectAll().where('subscriber_id', '=', subscriberId).orderBy('cycle').orderBy('item_code').execute()).map((c) => [
      `${c.cycle} ${c.item_code}`,
      c.amount_fen,
    ]),
  );

async function conserved(): Promise<void> {
  const report = await checkConservation(db());
  expect(report.differing).toEqual([]);
}

test('R-BIL-1 included minutes first in start-time order, then per started minute (mid-batch exhaustion)', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  // arrive out of order: the allowance follows the start time, not the order in the batch
  const calls = [
    cdr(s.number, '2026-11-20 10:00:00', 'voice', 'local', 245), // 5 min: the 3 left free, 2 charged
    cdr(s.number, '2026-11-18 10:00:00', 'voice', 'local', 180), // 3 min free
    cdr(s.number, '2026-11-16 10:00:00', 'voice', 'local', 121), // 3 min free
    cdr(s.number, '2026-11-17T10:00:00+08:00', 'voice', 'local', 1), // 1 started minute free
    cdr(s.number, '2026-11-21 10:00:00', 'voice', 'local', 0), // unanswered: 0 units
  ];
  const r = await importing(calls);
  expect(r).toMatchObject({ accepted: 5, rejected: 0, duplicate: 0, rated: 5 });
  const rows = await rated(calls.map((c) => c.recordId));
  expect(rows.map((x) => [x.units, x.free_units, x.charge_fen])).toEqual([
    [3, 3, 0],
    [1, 1, 0],
    [3, 3, 0],
    [5, 3, 30],
    [0, 0, 0],
  ]);
  expect(rows.every((x) => x.item_code === 'VOICE_LOCAL' && x.unit === 'minute' && x.cycle === '2026-11')).toBe(true);
  // the next batch finds the allowance used up (carried by the counter)
  const later = cdr(s.number, '2026-11-25 09:00:00', 'voice', 'local', 60);
  await importing([later]);
  expect((await rated([later.recordId]))[0]).toMatchObject({ units: 1, free_units: 0, charge_fen: 15, free_reason: null });
  expect(await charges(s.subscriberId)).toEqual({ '2026-11 VOICE_LOCAL': 45 });
});

test('R-BIL-1 a file of many chunks: the allowance follows the start time across the whole file; a record id repeated in a later chunk counts once (R-BIL-3)', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN'); // 10 local minutes included
  const late = cdr(s.number, '2026-11-20 10:00:00', 'voice', 'local', 300); // 5 min: the 2 left free, 3 charged
  const calls = [
    late,
    cdr(s.number, '2026-11-19 10:00:00', 'voice', 'local', 240), // 4 min free
    { ...late }, // the same record again, in the second chunk
    cdr(s.number, '2026-11-10 10:00:00', 'voice', 'local', 180), // 3 min free (first in time, third in the file)
    cdr(s.number, '2026-11-15 10:00:00', 'voice', 'local', 60), // 1 min free, in the last chunk
  ];
  const path = join(mkdtempSync(join(tmpdir(), 'openboss-rating-')), 'chunks.csv');
  writeFileSync(path, toCsv(calls));
  const r = await env.ctx.usage.importFile(system, path, { chunkRows: 2 });
  expect(r).toMatchObject({ status: 'completed', rowsTotal: 5, accepted: 4, duplicate: 1, rejected: 0, rated: 4 });
  const rows = await rated([...new Set(calls.map((c) => c.recordId))]);
  expect(rows.map((x) => [x.units, x.free_units, x.charge_fen])).toEqual([
    [3, 3, 0],
    [1, 1, 0],
    [4, 4, 0],
    [5, 2, 45],
  ]);
  expect(await charges(s.subscriberId)).toEqual({ '2026-11 VOICE_LOCAL': 45 });
  expect(await db().selectFrom('usage_files').select(['accepted', 'duplicate', 'status']).where('file_id', '=', r.fileId ?? 0).executeTakeFirstOrThrow()).toEqual({ accepted: 4, duplicate: 1, status: 'completed' });
});

test('R-BIL-1 scopes: long distance and roaming use their tariff and bill items; SMS per message; data per MB and per KB', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const k = await subscriberOn(env.ctx, 'T-KB');
  const ld = cdr(s.number, '2026-11-20 10:00:00', 'voice', 'long_distance', 61);
  const roam = cdr(s.number, '2026-11-20 11:00:00', 'voice', 'roaming', 30);
  const sms = [1, 2, 3].map((i) => cdr(s.number, `2026-11-2${i} 08:00:00`, 'sms', 'local', 2));
  const mb = cdr(s.number, '2026-11-22 12:00:00', 'data', 'local', 1_572_864); // 1.5 MB → 2 MB, 1 free
  const kb = [cdr(k.number, '2026-11-22 12:00:00', 'data', 'local', 99 * 1024), cdr(k.number, '2026-11-22 13:00:00', 'data', 'roaming', 2500)]; // 99 KB free; 3 KB: 1 free, 2 charged
  await importing([ld, roam, ...sms, mb, ...kb]);
  expect(await rated([ld.recordId, roam.recordId])).toMatchObject([
    { item_code: 'VOICE_LD', units: 2, free_units: 0, charge_fen: 60 },
    { item_code: 'VOICE_ROAM', units: 1, free_units: 0, charge_fen: 30 },
  ]);
  expect((await rated(sms.map((x) => x.recordId))).map((x) => [x.item_code, x.units, x.free_units, x.charge_fen])).toEqual([
    ['SMS', 2, 2, 0],
    ['SMS', 2, 2, 0],
    ['SMS', 2, 1, 10],
  ]);
  expect((await rated([mb.recordId]))[0]).toMatchObject({ item_code: 'DATA', unit: 'mb', units: 2, free_units: 1, charge_fen: 30 });
  expect((await rated(kb.map((x) => x.recordId))).map((x) => [x.unit, x.units, x.free_units, x.charge_fen])).toEqual([
    ['kb', 99, 99, 0],
    ['kb', 3, 1, 2],
  ]);
  expect(await charges(s.subscriberId)).toEqual({ '2026-11 DATA': 30, '2026-11 SMS': 10, '2026-11 VOICE_LD': 60, '2026-11 VOICE_ROAM': 30 });
});

test('R-BIL-1 a pack adds its allowance to the plan’s; the plan’s price applies beyond both', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  await addOffer(env.ctx, s.subscriberId, 'T-DATA-PACK', 'pack', new Date('2026-11-10T00:00:00+08:00'));
  const d = cdr(s.number, '2026-11-20 10:00:00', 'data', 'local', 4 * 1_048_576); // 4 MB: 1 + 2 free, 1 at 30
  await importing([d]);
  expect((await rated([d.recordId]))[0]).toMatchObject({ units: 4, free_units: 3, charge_fen: 30 });
});

test('R-BIL-1 allowances reset per cycle: 23:59 on the 30th belongs to November, one minute later to December', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const calls = [
    cdr(s.number, '2026-11-30 20:00:00', 'voice', 'local', 600), // the 10 November minutes
    cdr(s.number, '2026-11-30 23:59:30', 'voice', 'local', 120), // starts in November, ends in December: 2 min charged
    cdr(s.number, '2026-11-30T16:00:30Z', 'voice', 'local', 60), // 2026-12-01 00:00:30 Shanghai: December, free
  ];
  await importing(calls);
  expect((await rated(calls.map((c) => c.recordId))).map((x) => [x.cycle, x.free_units, x.charge_fen])).toEqual([
    ['2026-11', 10, 0],
    ['2026-11', 0, 30],
    ['2026-12', 1, 0],
  ]);
  const counters = await db().selectFrom('usage_pool_use').select(['cycle', 'used_units']).where('subscriber_id', '=', s.subscriberId).orderBy('cycle').execute();
  expect(counters).toEqual([
    { cycle: '2026-11', used_units: 12 },
    { cycle: '2026-12', used_units: 1 },
  ]);
});

test('R-BIL-1 usage no offer prices falls to the standard rates; a plan that ended no longer applies', async () => {
  const s = await subscriberOn(env.ctx, null);
  await addOffer(env.ctx, s.subscriberId, 'T-PLAN', 'plan', new Date('2026-11-01T00:00:00+08:00'), new Date('2026-11-10T00:00:00+08:00'));
  const c = cdr(s.number, '2026-11-20 10:00:00', 'voice', 'local', 61);
  await importing([c]);
  expect((await rated([c.recordId]))[0]).toMatchObject({ units: 2, free_units: 0, charge_fen: 40 });
});

test('R-BIL-2 calls to family numbers are free inside their window and use no allowance', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  await db()
    .insertInto('family_numbers')
    .values({ subscriber_id: s.subscriberId, family_number: '13911112222', valid_from: new Date('2026-11-01T00:00:00+08:00'), valid_to: new Date('2026-12-01T00:00:00+08:00'), source: 'bundle', source_id: 'B-1', created_at: env.clock.now() })
    .execute();
  const calls = [
    cdr(s.number, '2026-11-20 10:00:00', 'voice', 'long_distance', 3600, '13911112222'),
    cdr(s.number, '2026-11-20 11:00:00', 'voice', 'local', 600),
    cdr(s.number, '2026-12-02 11:00:00', 'voice', 'long_distance', 60, '13911112222'), // the month after: charged
    cdr(s.number, '2026-11-20 12:00:00', 'sms', 'local', 1, '13911112222'), // SMS is not a call
  ];
  await importing(calls);
  expect((await rated(calls.map((c) => c.recordId))).map((x) => [x.free_reason, x.units, x.free_units, x.charge_fen])).toEqual([
    ['family', 60, 60, 0],
    ['allowance', 10, 10, 0],
    ['allowance', 1, 1, 0],
    [null, 1, 0, 30],
  ]);
});

test('R-BIL-2 calls inside a VPMN group use the group’s short-number tariff (hook filled by the groups area)', async () => {
  const a = await subscriberOn(env.ctx, 'T-PLAN');
  const b = await subscriberOn(env.ctx, 'T-PLAN');
  await db().insertInto('usage_vpmn_groups').values({ group_code: 'G1', name: '测试集团', voice_rate_fen: 5 }).execute();
  const from = new Date('2026-11-01T00:00:00+08:00');
  await db()
    .insertInto('usage_vpmn_members')
    .values([
      { group_code: 'G1', subscriber_id: a.subscriberId, service_number: a.number, short_number: '6101', valid_from: from, source: 'test' },
      { group_code: 'G1', subscriber_id: b.subscriberId, service_number: b.number, short_number: '6102', valid_from: from, source: 'test' },
    ])
    .execute();
  const calls = [cdr(a.number, '2026-11-20 10:00:00', 'voice', 'local', 90, '6102'), cdr(a.number, '2026-11-20 11:00:00', 'voice', 'long_distance', 60, b.number)];
  await importing(calls);
  expect((await rated(calls.map((c) => c.recordId))).map((x) => [x.free_reason, x.units, x.charge_fen])).toEqual([
    ['vpmn', 2, 10],
    ['vpmn', 1, 5],
  ]);
});

test('R-BIL-8 a virtual account is charged as usage arrives: usage bill lines written off at once, credit control told after commit', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
  await env.ctx.money.pay(system, s.accountId, { amountFen: 100, bookType: 'cash', channel: 'hall', idempotencyKey: `u-${s.accountId}` });
  const told: number[][] = [];
  env.ctx.usage.onCharged((ids) => {
    told.push(ids);
  });
  const calls = [cdr(s.number, '2026-12-10 10:00:00', 'voice', 'long_distance', 120), cdr(s.number, '2026-12-10 11:00:00', 'voice', 'roaming', 120)];
  await importing(calls); // 60 + 60 = 120 fen against a balance of 100
  expect(told.some((ids) => ids.includes(s.accountId))).toBe(true);
  const lines = await db().selectFrom('bill_lines').selectAll().where('account_id', '=', s.accountId).orderBy('item_code').execute();
  expect(lines.map((l) => [l.source, l.cycle, l.item_code, l.amount_fen])).toEqual([
    ['usage', '2026-12', 'VOICE_LD', 60],
    ['usage', '2026-12', 'VOICE_ROAM', 60],
  ]);
  expect(lines.reduce((x, l) => x + l.paid_fen, 0)).toBe(100);
  const books = await db().selectFrom('books').select('balance_fen').where('account_id', '=', s.accountId).execute();
  expect(books.reduce((x, b) => x + b.balance_fen, 0)).toBe(0);
  // nothing left for the bill run, nothing counted as unbilled
  expect(await env.ctx.usage.unbilledFen(db(), s.accountId, '2026-12')).toBe(0);
  expect(await db().transaction().execute((tx) => env.ctx.usage.chargesForSubscribers(tx, [s.subscriberId], '2026-12'))).toEqual([]);
  // a payment later pays the rest (settled like any bill)
  await env.ctx.money.pay(system, s.accountId, { amountFen: 50, bookType: 'cash', channel: 'hall', idempotencyKey: `u2-${s.accountId}` });
  const after = await db().selectFrom('bill_lines').select(['amount_fen', 'paid_fen']).where('account_id', '=', s.accountId).execute();
  expect(after.every((l) => l.paid_fen === l.amount_fen)).toBe(true);
  await conserved();
});

test('R-BIL-8 credit control after a charge: evaluated where it can act (below the threshold: reminded; unpaid: stopped); an account left out is one its evaluation changes nothing for', async () => {
  const rich = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
  const low = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
  const broke = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
  const payer = await subscriberOn(env.ctx, 'T-PLAN', 'virtual'); // pays another account's subscriber by relation: always followed
  await env.ctx.money.pay(system, rich.accountId, { amountFen: 5000, bookType: 'cash', channel: 'hall', idempotencyKey: `cc-${rich.accountId}` });
  await env.ctx.money.pay(system, low.accountId, { amountFen: 1500, bookType: 'cash', channel: 'hall', idempotencyKey: `cc-${low.accountId}` });
  await env.ctx.money.pay(system, payer.accountId, { amountFen: 5000, bookType: 'cash', channel: 'hall', idempotencyKey: `cc-${payer.accountId}` });
  await db().insertInto('payment_relations').values({ payer_account_id: payer.accountId, subscriber_id: rich.subscriberId, priority: 1, created_at: env.clock.now() }).execute();
  // 600 fen each: rich keeps 4400, low 900 (< the 1000 threshold), broke owes 600
  await importing([rich, low, broke, payer].map((s) => cdr(s.number, '2026-12-12 10:00:00', 'voice', 'long_distance', 20 * 60)));
  const state = async (subscriberId: number) => (await db().selectFrom('credit_states').select('state').where('subscriber_id', '=', subscriberId).executeTakeFirst())?.state;
  expect(await state(low.subscriberId)).toBe('reminded');
  expect(await state(broke.subscriberId)).toBe('stopped_one_way');
  expect(await state(rich.subscriberId)).toBeUndefined();
  const ids = [rich, low, broke, payer].map((s) => s.accountId);
  const judged = await creditRepo.accountsToJudgeAfterCharge(db(), ids, env.clock.now(), 1000);
  expect(judged).toEqual([low.accountId, broke.accountId, payer.accountId].sort((a, b) => a - b));
  // the account left out: evaluating it anyway does and writes nothing
  const before = await db().selectFrom('credit_states').selectAll().orderBy('subscriber_id').execute();
  const o = await env.ctx.credit.evaluateAccount(rich.accountId);
  expect([o.reminded, o.stopped, o.resumed, o.exempted, o.linkedStopped, o.linkedPending, o.commands]).toEqual([[], [], [], [], [], [], []]);
  expect(await db().selectFrom('credit_states').selectAll().orderBy('subscriber_id').execute()).toEqual(before);
  await conserved();
});

test('R-BIL-8 a file rated in several chunks of whole accounts: each virtual account charged in its chunk and credit control told; monthly ones wait', async () => {
  const v1 = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
  const m = await subscriberOn(env.ctx, 'T-PLAN');
  const v2 = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
  for (const v of [v1, v2]) await env.ctx.money.pay(system, v.accountId, { amountFen: 1000, bookType: 'cash', channel: 'hall', idempotencyKey: `chunks-${v.accountId}` });
  const told: number[][] = [];
  env.ctx.usage.onCharged((ids) => {
    told.push(ids);
  });
  const calls = [v2, m, v1, v2, m, v1].map((s, i) => cdr(s.number, `2026-12-1${i} 10:00:00`, 'voice', 'long_distance', 60)); // 30 fen each
  const path = join(mkdtempSync(join(tmpdir(), 'openboss-rating-')), 'virtual.csv');
  writeFileSync(path, toCsv(calls));
  // one record per rating chunk at most: a chunk per account (two records each)
  const r = await env.ctx.usage.importFile(system, path, { chunkRows: 2, rateChunkRecords: 1 });
  expect(r).toMatchObject({ status: 'completed', accepted: 6, duplicate: 0, rated: 6 });
  // on PostgreSQL two chunks are rated at once: the listeners are told in the order the chunks commit
  expect(told.filter((ids) => ids.includes(v1.accountId) || ids.includes(v2.accountId)).map((ids) => ids.filter((id) => id === v1.accountId || id === v2.accountId)).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))).toEqual(
    [[v1.accountId], [v2.accountId]].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0)),
  );
  for (const v of [v1, v2]) {
    const lines = await db().selectFrom('bill_lines').select(['source', 'amount_fen', 'paid_fen']).where('account_id', '=', v.accountId).execute();
    expect(lines).toEqual([{ source: 'usage', amount_fen: 60, paid_fen: 60 }]);
  }
  expect(await db().selectFrom('bill_lines').select('line_id').where('account_id', '=', m.accountId).execute()).toEqual([]);
  expect(await env.ctx.usage.unbilledFen(db(), m.accountId, '2026-12')).toBe(60);
  await conserved();
});

test('R-BIL-8 monthly accounts wait for the bill run: unbilled until charged once (chargesForSubscribers + markBilled twice bills once)', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  await importing([cdr(s.number, '2026-12-10 10:00:00', 'voice', 'long_distance', 120)]);
  expect(await db().selectFrom('bill_lines').select('line_id').where('account_id', '=', s.accountId).execute()).toEqual([]);
  expect(await env.ctx.usage.unbilledFen(db(), s.accountId, '2026-12')).toBe(60);
  const first = await db().transaction().execute(async (tx) => {
    const c = await env.ctx.usage.chargesForSubscribers(tx, [s.subscriberId], '2026-12');
    await env.ctx.usage.markBilled(tx, [s.subscriberId], '2026-12');
    return c;
  });
  expect(first).toEqual([{ subscriberId: s.subscriberId, accountId: s.accountId, itemCode: 'VOICE_LD', amountFen: 60 }]);
  const again = await db().transaction().execute((tx) => env.ctx.usage.chargesForSubscribers(tx, [s.subscriberId], '2026-12'));
  expect(again).toEqual([]);
  expect(await env.ctx.usage.unbilledFen(db(), s.accountId, '2026-12')).toBe(0);
  // usage arriving after the bill run is billed next time: only the new part
  await importing([cdr(s.number, '2026-12-11 10:00:00', 'voice', 'long_distance', 60)]);
  expect(await db().transaction().execute((tx) => env.ctx.usage.chargesForSubscribers(tx, [s.subscriberId], '2026-12'))).toMatchObject([{ amountFen: 30 }]);
  expect(await env.ctx.usage.ratePending()).toEqual({ rated: 0 });
});

// ---- property: the SQL rating equals a straightforward computation, and money is conserved ----

const TARIFF: Record<Usage, Partial<Record<Scope | 'any', { included: number; unit: Unit; rate: number }>>> = {
  voice: { local: { included: 10, unit: 'minute', rate: 15 }, any: { included: 0, unit: 'minute', rate: 30 } },
  sms: { any: { included: 5, unit: 'message', rate: 10 } },
  data: { any: { included: 1, unit: 'mb', rate: 30 } },
};

function reference(batches: { usage: Usage; scope: Scope; at: Date; quantity: number; id: string }[][]): Map<string, number> {
  const used = new Map<string, number>();
  const out = new Map<string, number>();
  for (const batch of batches) {
    const sorted = [...batch].sort((a, b) => a.at.getTime() - b.at.getTime() || (a.id < b.id ? -1 : 1));
    for (const r of sorted) {
      const poolScope = TARIFF[r.usage][r.scope] ? r.scope : 'any';
      const t = TARIFF[r.usage][poolScope] as { included: number; unit: Unit; rate: number };
      const cycle = cycleOf(r.at);
      const key = `${cycle} ${r.usage} ${poolScope}`;
      const units = unitsOf(t.unit, r.quantity);
      const before = used.get(key) ?? 0;
      const free = freeUnits(t.unit, units, t.included * baseFactor(t.unit), before);
      used.set(key, before + units * baseFactor(t.unit));
      const item = `${cycle} ${itemOf(r.usage, r.scope)}`;
      out.set(item, (out.get(item) ?? 0) + (units - free) * t.rate);
    }
  }
  return out;
}

test('R-BIL-1 property: charges equal a straightforward computation over random batches; R-ACC-18 conservation holds (virtual account)', async () => {
  const start = new Date('2026-11-25T00:00:00+08:00').getTime();
  const recordArb = fc.record({
    usage: fc.constantFrom<Usage>('voice', 'sms', 'data'),
    scope: fc.constantFrom<Scope>('local', 'long_distance', 'roaming'),
    minutes: fc.integer({ min: 0, max: 60 * 24 * 12 }),
    quantity: fc.integer({ min: 0, max: 3_000_000 }),
  });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(recordArb, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 2000 }), async (raw, prestore) => {
      run++;
      const s = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
      if (prestore > 0) await env.ctx.money.pay(system, s.accountId, { amountFen: prestore, bookType: 'cash', channel: 'hall', idempotencyKey: `p-${s.accountId}` });
      const batches = raw.map((b, bi) =>
        b.map((r, i) => ({
          usage: r.usage,
          scope: r.scope,
          at: new Date(start + r.minutes * 60_000),
          quantity: r.usage === 'voice' ? r.quantity % 7200 : r.usage === 'sms' ? r.quantity % 4 : r.quantity,
          id: `P${run}-${bi}-${String(i).padStart(3, '0')}`,
        })),
      );
      for (const b of batches) {
        await importing(b.map((r) => cdr(s.number, r.at.toISOString(), r.usage, r.scope, r.quantity, '13900001111', r.id)));
      }
      const expected = reference(batches);
      const got = await charges(s.subscriberId);
      for (const [k, v] of expected) expect(got[k] ?? 0).toBe(v);
      expect(Object.values(got).reduce((x, y) => x + y, 0)).toBe([...expected.values()].reduce((x, y) => x + y, 0));
      // virtual: everything rated is billed, and the bills are paid as far as the prestore goes
      const billed = await db().selectFrom('bill_lines').select(['amount_fen', 'paid_fen']).where('account_id', '=', s.accountId).execute();
      const total = [...expected.values()].reduce((x, y) => x + y, 0);
      expect(billed.reduce((x, l) => x + l.amount_fen, 0)).toBe(total);
      expect(billed.reduce((x, l) => x + l.paid_fen, 0)).toBe(Math.min(total, prestore));
      const report = await checkConservation(db(), [s.accountId]);
      expect(report.differing).toEqual([]);
    }),
    { numRuns: 15 },
  );
  await conserved();
});
