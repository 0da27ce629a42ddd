// Monthly bundle grants (SPEC §8, seed 000): R-BND-7 the grant on the 1st, R-BND-8 the catch-up after
// the broadband resumes, R-BND-9 the month's family numbers, R-BND-12 the mobile keeps working but gets
// nothing while the broadband is in arrears; idempotency and R-ACC-18 conservation (property).
// Bundles here are written as rows (packages + bundle_members, as BundleService.bind stores them) on test
// offers, so each eligibility case is set up exactly; the linkage test binds through the order API.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import type { SimulatedNetwork } from '../src/platform/provisioning.ts';
import { cdr } from './fixtures/usage/helpers.ts';
import { type Api, freshResidentId, system, type TestEnv, testApi, testEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
const db = () => env.ctx.database.db;
const FUND_ITEMS = ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'];
const at = (s: string) => new Date(`${s}+08:00`);

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  const now = env.clock.now();
  const members = (roles: [string, string][]) => JSON.stringify(roles.map(([role, network]) => ({ role, network })));
  await db()
    .insertInto('offers')
    .values([
      { offer_code: 'TG-2G-BB', kind: 'bundle', name_zh: '测试2G+宽带', name_en: 'test 2G+BB', valid_from: now, members: members([['mobile', 'gsm2g'], ['broadband', 'broadband']]), linkage: 'next_cycle_if_funded', created_at: now, updated_at: now },
      { offer_code: 'TG-2G-BB-FIX', kind: 'bundle', name_zh: '测试2G+宽带+固话', name_en: 'test 2G+BB+fixed', valid_from: now, members: members([['mobile', 'gsm2g'], ['broadband', 'broadband'], ['fixed', 'fixed']]), linkage: 'next_cycle_if_funded', created_at: now, updated_at: now },
      { offer_code: 'TG-3G-BB', kind: 'bundle', name_zh: '测试3G+宽带', name_en: 'test 3G+BB', valid_from: now, members: members([['mobile', 'wcdma3g'], ['broadband', 'broadband']]), linkage: 'next_cycle_if_funded', created_at: now, updated_at: now },
      { offer_code: 'TG-PACK', kind: 'pack', name_zh: '测试功能费包', name_en: 'test feature pack', valid_from: now, members: null, linkage: null, created_at: now, updated_at: now },
    ])
    .execute();
  await db()
    .insertInto('bundle_offers')
    .values([
      { offer_code: 'TG-2G-BB', generation: '2G', family_roles: null },
      { offer_code: 'TG-2G-BB-FIX', generation: '2G', family_roles: ['mobile', 'fixed'] },
      { offer_code: 'TG-3G-BB', generation: '3G', family_roles: null },
    ])
    .execute();
  await db()
    .insertInto('bundle_grant_items')
    .values([
      { offer_code: 'TG-2G-BB', seq: 1, member_role: 'mobile', kind: 'money', amount_fen: 2000, restricted_items: null, pack_offer_code: null, name_zh: '话费', name_en: 'call credit' },
      { offer_code: 'TG-2G-BB-FIX', seq: 1, member_role: 'mobile', kind: 'money', amount_fen: 3000, restricted_items: ['RENT_PLAN'], pack_offer_code: null, name_zh: '月租优惠', name_en: 'rent discount' },
      { offer_code: 'TG-3G-BB', seq: 1, member_role: 'mobile', kind: 'pack', amount_fen: null, restricted_items: null, pack_offer_code: 'TG-PACK', name_zh: '功能费项目', name_en: 'feature pack' },
    ])
    .execute();
}, 240_000);
afterAll(async () => {
  await api?.app.close();
  await env?.close();
});

let seq = 0;
let keySeq = 0;
interface Fixture {
  packageId: number;
  accountId: number;
  mobile: { subscriberId: number; serviceNumber: string };
  broadband: { subscriberId: number; serviceNumber: string; accountId: number };
  fixed?: { subscriberId: number; serviceNumber: string };
}

/** A bundle as BundleService.bind stores it: the package (linkage from the offer), members, subscribers.package_id. */
async function bundle(o: { offer?: string; fundFen?: number; separateBroadbandAccount?: boolean; startedAt?: Date; billingType?: 'monthly' | 'virtual' } = {}): Promise<Fixture> {
  const n = ++seq;
  const offer = o.offer ?? 'TG-2G-BB';
  const c = await env.ctx.customers.create(system, { kind: 'person', name: `捆绑${n}`, idType: 'resident_id', idNumber: await freshResidentId() });
  const a = await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: o.billingType ?? 'monthly', paymentMethod: 'cash' });
  const bbAccount = o.separateBroadbandAccount ? (await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: 'monthly', paymentMethod: 'cash' })).accountId : a.accountId;
  const number = `133${String(40000000 + n).padStart(8, '0')}`;
  const mk = async (serviceNumber: string, network: 'gsm2g' | 'wcdma3g' | 'broadband' | 'fixed', accountId: number) =>
    (await env.ctx.accounts.createSubscriber(system, { customerId: c.customerId, accountId, serviceNumber, network })).subscriberId;
  const mobile = { subscriberId: await mk(number, offer.startsWith('TG-3G') ? 'wcdma3g' : 'gsm2g', a.accountId), serviceNumber: number };
  const broadband = { subscriberId: await mk(number, 'broadband', bbAccount), serviceNumber: number, accountId: bbAccount };
  const fixedNumber = `0222${String(3000000 + n).padStart(7, '0')}`;
  const fixed = offer === 'TG-2G-BB-FIX' ? { subscriberId: await mk(fixedNumber, 'fixed', a.accountId), serviceNumber: fixedNumber } : undefined;
  if ((o.fundFen ?? 6000) > 0) {
    await env.ctx.money.pay(system, bbAccount, {
      amountFen: o.fundFen ?? 6000,
      bookType: 'restricted_fund',
      restrictedItems: FUND_ITEMS,
      subscriberId: broadband.subscriberId,
      channel: 'counter',
      idempotencyKey: `bg-fund-${++keySeq}`,
    });
  }
  const startedAt = o.startedAt ?? env.clock.now();
  const p = await db().insertInto('packages').values({ offer_code: offer, customer_id: c.customerId, account_id: a.accountId, linkage: 'next_cycle_if_funded', started_at: startedAt }).returning('package_id').executeTakeFirstOrThrow();
  const rows = [
    { role: 'mobile', id: mobile.subscriberId, acc: a.accountId },
    { role: 'broadband', id: broadband.subscriberId, acc: bbAccount },
    ...(fixed ? [{ role: 'fixed', id: fixed.subscriberId, acc: a.accountId }] : []),
  ];
  await db()
    .insertInto('bundle_members')
    .values(rows.map((r) => ({ package_id: p.package_id, subscriber_id: r.id, member_role: r.role, account_id: r.acc, joined_at: startedAt })))
    .execute();
  await db().updateTable('subscribers').set({ package_id: p.package_id }).where('subscriber_id', 'in', rows.map((r) => r.id)).execute();
  return { packageId: p.package_id, accountId: a.accountId, mobile, broadband, ...(fixed ? { fixed } : {}) };
}

const grantRow = (packageId: number, cycle: string) => db().selectFrom('bundle_grants').selectAll().where('package_id', '=', packageId).where('cycle', '=', cycle).executeTakeFirst();
const subStatus = async (id: number) => (await db().selectFrom('subscribers').select('status').where('subscriber_id', '=', id).executeTakeFirstOrThrow()).status;
const net = () => env.ctx.network as SimulatedNetwork;
async function conserved() {
  const r = await checkConservation(db());
  expect(r.differing).toEqual([]);
}
/** A published bill line of the broadband the fund cannot pay, due at once: the broadband is in arrears (R-CC-4). */
async function broadbandArrears(f: Fixture, amountFen = 5000) {
  await env.ctx.money.postBill(system, f.broadband.accountId, { cycle: '2026-11', lines: [{ subscriberId: f.broadband.subscriberId, item: 'RENT_PLAN', amountFen }] });
}
async function payCash(accountId: number, amountFen: number) {
  await env.ctx.money.pay(system, accountId, { amountFen, bookType: 'cash', channel: 'counter', idempotencyKey: `bg-cash-${++keySeq}` });
}

// the clock: bundles bound on 15 Nov 2026 (T0); the December run on 1 Dec 06:00
const DEC1 = at('2026-12-01T06:00:00');

describe('monthly grants', () => {
  const f: Record<string, Fixture> = {};
  beforeAll(async () => {
    f.ok = await bundle();
    f.notNormal = await bundle();
    f.arrears = await bundle({ separateBroadbandAccount: true });
    f.noFund = await bundle({ fundFen: 0 });
    f.ended = await bundle();
    f.family = await bundle({ offer: 'TG-2G-BB-FIX' });
    f.g3 = await bundle({ offer: 'TG-3G-BB', separateBroadbandAccount: true });
    f.virtual = await bundle({ billingType: 'virtual' });
    await db().updateTable('subscribers').set({ stop_reasons: ['on_request'] }).where('subscriber_id', '=', f.notNormal.mobile.subscriberId).execute();
    await broadbandArrears(f.arrears);
    await db().updateTable('packages').set({ ended_at: env.clock.now(), ended_reason: 'unbind' }).where('package_id', '=', f.ended.packageId).execute();
    // the virtual mobile's rent of December was charged at 00:05 on the 1st with no money to pay it
    env.clock.set(at('2026-12-01T00:05:00'));
    await env.ctx.money.postBill(system, f.virtual.accountId, { cycle: '2026-12', lines: [{ subscriberId: f.virtual.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 1500 }] });
    env.clock.set(DEC1);
  }, 120_000);

  test('R-BND-7 on the 1st each active bundle gets one month of its items only when the mobile is normal and the broadband is paid up with fund money', async () => {
    // the current month only; a malformed month is a 400
    await expect(env.ctx.bundleGrants.runMonth(system, '2027-01')).rejects.toMatchObject({ code: 'BUNDLE_GRANT_CYCLE_NOT_CURRENT', status: 422 });
    const out = await env.ctx.bundleGrants.runMonth(system, '2026-12', { chunkSize: 3 });
    expect(out).toMatchObject({ cycle: '2026-12', bundles: 7, granted: 4, skipped: 3, amountFen: 2000 + 3000 + 2000 });
    expect(out.chunks).toBeGreaterThan(2);
    expect(await grantRow(f.ok!.packageId, '2026-12')).toMatchObject({ status: 'granted', reason: null, amount_fen: 2000, caught_up: false, account_id: f.ok!.accountId });
    expect(await grantRow(f.notNormal!.packageId, '2026-12')).toMatchObject({ status: 'skipped', reason: 'mobile_not_normal', amount_fen: 0, granted_at: null });
    expect(await grantRow(f.arrears!.packageId, '2026-12')).toMatchObject({ status: 'skipped', reason: 'broadband_arrears' });
    expect(await grantRow(f.noFund!.packageId, '2026-12')).toMatchObject({ status: 'skipped', reason: 'broadband_no_fund' });
    expect(await grantRow(f.ended!.packageId, '2026-12')).toBeUndefined();
    // the money: a discount book of the mobile's account, private to the mobile, valid for December
    const row = await grantRow(f.ok!.packageId, '2026-12');
    const [g] = await db().selectFrom('grants').selectAll().where('grant_id', '=', Number(row?.grant_ids[0])).execute();
    const book = await db().selectFrom('books').selectAll().where('account_id', '=', f.ok!.accountId).where('book_id', '=', Number(g?.book_id)).executeTakeFirstOrThrow();
    expect(book).toMatchObject({ book_type: 'discount', amount_fen: 2000, balance_fen: 2000, subscriber_id: f.ok!.mobile.subscriberId, restricted_items: null, source_kind: 'grant' });
    expect(book.start_at.toISOString()).toBe(at('2026-12-01T00:00:00').toISOString());
    expect(book.expiry_at?.toISOString()).toBe(at('2027-01-01T00:00:00').toISOString());
    const fam = await grantRow(f.family!.packageId, '2026-12');
    const famBook = await db().selectFrom('grants as g').innerJoin('books as b', (j) => j.onRef('b.account_id', '=', 'g.account_id').onRef('b.book_id', '=', 'g.book_id')).select(['b.restricted_items']).where('g.grant_id', '=', Number(fam?.grant_ids[0])).executeTakeFirstOrThrow();
    expect(famBook.restricted_items).toEqual(['RENT_PLAN']);
    // the virtual account's open rent line is paid by the new book at once (money.settle)
    const line = await db().selectFrom('bill_lines').select(['amount_fen', 'paid_fen']).where('account_id', '=', f.virtual!.accountId).where('cycle', '=', '2026-12').executeTakeFirstOrThrow();
    expect(line).toEqual({ amount_fen: 1500, paid_fen: 1500 });
    // audited, one event per bundle
    const events = await db().selectFrom('outbox').select(['event_type', 'aggregate_id']).where('event_type', 'in', ['bundle.granted', 'bundle.grant_skipped']).execute();
    expect(events.filter((e) => e.aggregate_id === String(f.ok!.packageId)).map((e) => e.event_type)).toEqual(['bundle.granted']);
    expect(events.filter((e) => e.aggregate_id === String(f.arrears!.packageId)).map((e) => e.event_type)).toEqual(['bundle.grant_skipped']);
    const audits = await db().selectFrom('audit_log').select(['action']).where('target_type', '=', 'bundle').where('target_id', '=', String(f.ok!.packageId)).execute();
    expect(audits.map((x) => x.action)).toEqual(['bundle.grant']);
    await conserved();
  });

  test('R-BND-7 running the month again changes nothing (idempotent per bundle and month); the job does the same', async () => {
    const count = async () => Number((await sql<{ n: number }>`SELECT (SELECT count(*) FROM grants) + (SELECT count(*) FROM bundle_grants) + (SELECT count(*) FROM outbox) + (SELECT count(*) FROM family_numbers) + (SELECT count(*) FROM subscriber_offers) AS n`.execute(db())).rows[0]?.n);
    const before = await count();
    expect(await env.ctx.bundleGrants.runMonth(system, '2026-12')).toMatchObject({ bundles: 0, granted: 0, skipped: 0 });
    expect((await env.ctx.jobs.runNow('bundle-grants')).result).toMatchObject({ cycle: '2026-12', bundles: 0 });
    expect(await count()).toBe(before);
  });

  test('R-BND-7 a 3G bundle gets its function-fee pack on the mobile for the month', async () => {
    const row = await grantRow(f.g3!.packageId, '2026-12');
    expect(row).toMatchObject({ status: 'granted', amount_fen: 0, grant_ids: [] });
    expect(row?.pack_ids).toHaveLength(1);
    const pack = await db().selectFrom('subscriber_offers').selectAll().where('subscriber_offer_id', '=', Number(row?.pack_ids[0])).executeTakeFirstOrThrow();
    expect(pack).toMatchObject({ subscriber_id: f.g3!.mobile.subscriberId, offer_code: 'TG-PACK', kind: 'pack', member_role: 'mobile' });
    expect(pack.started_at.toISOString()).toBe(at('2026-12-01T00:00:00').toISOString());
    expect(pack.ended_at?.toISOString()).toBe(at('2027-01-01T00:00:00').toISOString());
  });

  test('R-BND-9 the mobile and the fixed line are mutual family numbers for that month only; a call between them is rated free', async () => {
    const fx = f.family!;
    const fixed = fx.fixed!;
    const rows = await db().selectFrom('family_numbers').selectAll().where('source', '=', 'bundle').where('source_id', '=', `${fx.packageId}:2026-12`).orderBy('subscriber_id').execute();
    expect(rows.map((r) => [r.subscriber_id, r.family_number, r.rate_fen, r.valid_from.toISOString(), r.valid_to?.toISOString()])).toEqual([
      [fx.mobile.subscriberId, fixed.serviceNumber, 0, at('2026-12-01T00:00:00').toISOString(), at('2027-01-01T00:00:00').toISOString()],
      [fixed.subscriberId, fx.mobile.serviceNumber, 0, at('2026-12-01T00:00:00').toISOString(), at('2027-01-01T00:00:00').toISOString()],
    ].sort((a, b) => Number(a[0]) - Number(b[0])));
    // the network is told each line's family numbers (R-INT-2)
    const last = (n: string) => net().commandsFor(n).filter((c) => c.command.command === 'family_numbers').at(-1)?.command;
    expect(last(fx.mobile.serviceNumber)).toMatchObject({ command: 'family_numbers', numbers: [fixed.serviceNumber] });
    expect(last(fixed.serviceNumber)).toMatchObject({ command: 'family_numbers', numbers: [fx.mobile.serviceNumber] });
    // no family numbers for a bundle that was skipped, nor for offers without family roles
    expect(await db().selectFrom('family_numbers').select('family_number_id').where('source_id', '=', `${f.ok!.packageId}:2026-12`).execute()).toEqual([]);
    // rating: the call in December between the two is free, one to another number is not
    const calls = [cdr(fx.mobile.serviceNumber, '2026-12-01 03:00:00', 'voice', 'long_distance', 600, fixed.serviceNumber), cdr(fx.mobile.serviceNumber, '2026-12-01 04:00:00', 'voice', 'long_distance', 600, '13900009999')];
    const r = await env.ctx.usage.importBatch(system, calls);
    expect(r.rejections).toEqual([]);
    const rated = await db().selectFrom('usage_records').select(['record_id', 'free_reason', 'charge_fen']).where('record_id', 'in', calls.map((c) => c.recordId)).orderBy('started_at').execute();
    expect(rated[0]).toMatchObject({ free_reason: 'family', charge_fen: 0 });
    expect(rated[1]?.free_reason).not.toBe('family');
  });

  test('R-BND-12 a broadband in arrears stops, its mobile keeps working, and the bundle gets no grant', async () => {
    const x = f.arrears!;
    const out = await env.ctx.credit.evaluateAccounts([x.broadband.accountId, x.accountId]);
    expect(out.flatMap((o) => o.stopped)).toContain(x.broadband.subscriberId);
    expect(await subStatus(x.broadband.subscriberId)).toBe('arrears_stop');
    expect(await subStatus(x.mobile.subscriberId)).toBe('normal');
    expect(await grantRow(x.packageId, '2026-12')).toMatchObject({ status: 'skipped', reason: 'broadband_arrears', grant_ids: [] });
    // the catch-up does not grant while the broadband is still in arrears
    expect(await env.ctx.bundleGrants.catchUp(system, env.clock.now())).toMatchObject({ granted: 0 });
  });

  test('R-BND-8 the broadband pays on the 5th after the morning job: the month’s grant comes with the 6th’s catch-up; a mobile_not_normal skip is not caught up', async () => {
    const x = f.arrears!;
    env.clock.set(at('2026-12-05T06:30:00'));
    expect((await env.ctx.jobs.runNow('bundle-grants-catchup')).result).toMatchObject({ granted: 0 });
    env.clock.set(at('2026-12-05T09:00:00'));
    await payCash(x.broadband.accountId, 5000);
    expect(await subStatus(x.broadband.subscriberId)).toBe('normal');
    // the mobile that was suspended on request comes back too, but that skip is not a broadband one
    await db().updateTable('subscribers').set({ stop_reasons: [] }).where('subscriber_id', '=', f.notNormal!.mobile.subscriberId).execute();
    env.clock.set(at('2026-12-06T06:30:00'));
    const run = await env.ctx.jobs.runNow('bundle-grants-catchup');
    expect(run.result).toMatchObject({ cycle: '2026-12', granted: 1 });
    const row = await grantRow(x.packageId, '2026-12');
    expect(row).toMatchObject({ status: 'granted', reason: null, amount_fen: 2000, caught_up: true });
    expect(row?.granted_at?.toISOString()).toBe(at('2026-12-06T06:30:00').toISOString());
    expect(await grantRow(f.notNormal!.packageId, '2026-12')).toMatchObject({ status: 'skipped', reason: 'mobile_not_normal' });
    // and once: the next day changes nothing
    expect((await env.ctx.bundleGrants.catchUp(system, at('2026-12-07T06:30:00'))).granted).toBe(0);
    const outbox = await db().selectFrom('outbox').select('event_type').where('aggregate_type', '=', 'bundle').where('aggregate_id', '=', String(x.packageId)).orderBy('event_id').execute();
    expect(outbox.map((e) => e.event_type)).toEqual(['bundle.grant_skipped', 'bundle.granted']);
    await conserved();
  });

  test('R-BND-7 a bundle bound mid-month gets its first grant on the next 1st, stacked with the gifts it already has', async () => {
    env.clock.set(at('2026-12-10T10:00:00'));
    const mid = await bundle();
    // an activation-policy gift of its own (入网政策送费): the bundle's grant stacks with it
    const gift = await env.ctx.money.grant(system, mid.accountId, { amountFen: 1000, bookType: 'discount', reason: 'activation gift', subscriberId: mid.mobile.subscriberId, expiryDate: '2027-06-30' });
    expect(await env.ctx.bundleGrants.runMonth(system, '2026-12')).toMatchObject({ bundles: 0 });
    expect(await grantRow(mid.packageId, '2026-12')).toBeUndefined();
    env.clock.set(at('2027-01-01T06:00:00'));
    await env.ctx.bundleGrants.runMonth(system, '2027-01');
    expect(await grantRow(mid.packageId, '2027-01')).toMatchObject({ status: 'granted', amount_fen: 2000 });
    const books = await db().selectFrom('books').select(['book_id', 'book_type', 'balance_fen']).where('account_id', '=', mid.accountId).where('book_type', '=', 'discount').orderBy('book_id').execute();
    expect(books.map((b) => [b.book_id === gift.grant.bookId, b.balance_fen])).toEqual([
      [true, 1000],
      [false, 2000],
    ]);
    // the December family numbers do not carry over: January's are new rows for January
    const fam = await db().selectFrom('family_numbers').select(['source_id', 'valid_from']).where('subscriber_id', '=', f.family!.mobile.subscriberId).orderBy('valid_from').execute();
    expect(fam.map((r) => r.source_id)).toEqual([`${f.family!.packageId}:2026-12`, `${f.family!.packageId}:2027-01`]);
    await conserved();
  });

  test('R-BND-7 the grant report and the run API: totals, reasons, offers, items; bad months are 4xx', async () => {
    const r = await api.call('GET', '/api/v1/bundles/grants?cycle=2026-12&status=skipped', { as: 'accounting' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ cycle: '2026-12', totals: { bundles: 7, granted: 5, skipped: 2 } });
    expect(r.body.byReason).toEqual([
      { reason: 'broadband_no_fund', count: 1 },
      { reason: 'mobile_not_normal', count: 1 },
    ]);
    expect(r.body.items.map((i: { packageId: number }) => i.packageId).sort()).toEqual([f.notNormal!.packageId, f.noFund!.packageId].sort());
    expect(r.body.items[0]).toMatchObject({ status: 'skipped', amountFen: 0, grantedAt: null, mobileNumber: expect.any(String), broadbandNumber: expect.any(String) });
    expect(r.body.total).toBe(2);
    expect(r.body.byOffer.find((o: { offerCode: string }) => o.offerCode === 'TG-2G-BB')).toMatchObject({ granted: 3, skipped: 2 });
    expect((await api.call('GET', '/api/v1/bundles/grants?cycle=2026-13', { as: 'accounting' })).status).toBe(400);
    const run = await api.call('POST', '/api/v1/bundles/grants/run', { as: 'accounting', body: { cycle: '2027-01' } });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body).toMatchObject({ cycle: '2027-01', bundles: 0 });
    expect((await api.call('POST', '/api/v1/bundles/grants/run', { as: 'accounting', body: { cycle: '2026-12' } })).status).toBe(422);
    expect((await api.call('POST', '/api/v1/bundles/grants/run', { as: 'accounting', body: { cycle: 'December' } })).status).toBe(400);
    expect((await api.call('POST', '/api/v1/bundles/grants/run', { as: 'front_desk', body: { cycle: '2027-01' } })).status).toBe(403);
    const audit = await db().selectFrom('audit_log').select('action').where('action', '=', 'bundle.grant_run').execute();
    expect(audit).toHaveLength(1);
  });
});

describe('property', () => {
  test('R-BND-7 R-BND-8 R-ACC-18 random grant runs, catch-ups, arrears and payments keep conservation and never grant a bundle twice for a month', async () => {
    env.clock.set(at('2027-01-01T07:00:00'));
    const pool: Fixture[] = [];
    for (let i = 0; i < 4; i++) pool.push(await bundle({ separateBroadbandAccount: i % 2 === 0, fundFen: i === 3 ? 0 : 6000, startedAt: at('2026-12-20T10:00:00') }));
    let minute = 0;
    const op = fc.oneof(
      fc.record({ k: fc.constant('run' as const) }),
      fc.record({ k: fc.constant('catchup' as const) }),
      fc.record({ k: fc.constant('arrears' as const), i: fc.nat(3) }),
      fc.record({ k: fc.constant('pay' as const), i: fc.nat(3) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
        for (const o of ops) {
          env.clock.set(new Date(at('2027-01-01T07:00:00').getTime() + ++minute * 60_000));
          // two runs at once (one with two workers): each bundle is judged once
          if (o.k === 'run') await Promise.all([env.ctx.bundleGrants.runMonth(system, '2027-01', { chunkSize: 2 }), env.ctx.bundleGrants.runMonth(system, '2027-01', { chunkSize: 1, workers: 2 })]);
          else if (o.k === 'catchup') await env.ctx.bundleGrants.catchUp(system);
          else if (o.k === 'arrears') {
            await broadbandArrears(pool[o.i] as Fixture, 700);
            await env.ctx.credit.evaluateAccounts([(pool[o.i] as Fixture).broadband.accountId]);
          } else await payCash((pool[o.i] as Fixture).broadband.accountId, 700);
        }
        const twice = await sql<{ package_id: number }>`
          SELECT g.package_id FROM bundle_grants g
           WHERE g.cycle = '2027-01' AND (cardinality(g.grant_ids) > 1 OR (g.status = 'skipped' AND cardinality(g.grant_ids) > 0))`.execute(db());
        expect(twice.rows).toEqual([]);
        const books = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM grants gr JOIN packages p ON gr.reason LIKE '%(bundle ' || p.package_id || ')'
           WHERE p.package_id = ANY(${pool.map((x) => x.packageId)}::bigint[]) AND gr.reason LIKE '捆绑赠送 2027-01 %'
           GROUP BY p.package_id HAVING count(*) > 1`.execute(db());
        expect(books.rows).toEqual([]);
        await conserved();
      }),
      { numRuns: 12 },
    );
  }, 240_000);
});

describe('the month after', () => {
  test('R-BND-9 a family bundle skipped the next month: its lines are told the family numbers they have left (none), the old rows end with their month', async () => {
    const fx = await (async () => {
      const row = await db().selectFrom('bundle_grants').select('bundle_grants.package_id').where('cycle', '=', '2027-01').where('status', '=', 'granted').innerJoin('packages as p', 'p.package_id', 'bundle_grants.package_id').where('p.offer_code', '=', 'TG-2G-BB-FIX').executeTakeFirstOrThrow();
      return row.package_id;
    })();
    const members = await db().selectFrom('bundle_members as m').innerJoin('subscribers as s', 's.subscriber_id', 'm.subscriber_id').select(['m.subscriber_id', 'm.member_role', 's.service_number']).where('m.package_id', '=', fx).execute();
    const mobile = members.find((m) => m.member_role === 'mobile');
    const fixed = members.find((m) => m.member_role === 'fixed');
    env.clock.set(at('2027-02-01T06:00:00'));
    await db().updateTable('subscribers').set({ stop_reasons: ['on_request'] }).where('subscriber_id', '=', Number(mobile?.subscriber_id)).execute();
    await env.ctx.bundleGrants.runMonth(system, '2027-02');
    expect(await grantRow(fx, '2027-02')).toMatchObject({ status: 'skipped', reason: 'mobile_not_normal' });
    expect(await db().selectFrom('family_numbers').select('family_number_id').where('source_id', '=', `${fx}:2027-02`).execute()).toEqual([]);
    const last = (n: string) => net().commandsFor(n).filter((c) => c.command.command === 'family_numbers').at(-1)?.command;
    expect(last(String(mobile?.service_number))).toMatchObject({ command: 'family_numbers', numbers: [] });
    expect(last(String(fixed?.service_number))).toMatchObject({ command: 'family_numbers', numbers: [] });
    await conserved();
  });
});
