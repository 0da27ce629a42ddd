// Lifecycle and ownership orders through the API: pre-cancellation (R-ORD-8), formal cancellation and
// fee recovery (R-ORD-9), transfer of ownership (R-ORD-10), payment method, payment, joint account and
// household merge/split — each with its refusals (R-ORD-1, R-ORD-7) and "a refused order changes nothing".
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { businessLicenceCheckChar } from '../src/domains/customers/rules.ts';
import { type Api, freshResidentId, system, T0, type TestEnv, testApi, testEnv, stockConservedAfterAll } from './helpers.ts';
import { codes, type Mobile, newCustomer, openMobile as openMobileIn, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';
import { snapshotTables } from './snapshot.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  await setupOrders(env.ctx);
  for (const u of ['front_desk', 'hall2', 'manager', 'admin']) await api.token(u); // logins are audited: before any snapshot
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

const PASSWORD = '902417';
const db = () => env.ctx.database.db;


const openMobile = (opts: Parameters<typeof openMobileIn>[2] = {}) => openMobileIn(env, api, opts);

/** 帐务调整: itemised charges of a past cycle, written off at once from the books (R-ACC-13). */
async function bill(m: Pick<Mobile, 'accountId' | 'subscriberId'>, cycle: string, amountFen: number, item = 'RENT_PLAN') {
  await env.ctx.money.postBill(system, m.accountId, { cycle, lines: [{ subscriberId: m.subscriberId, item, amountFen }] });
}

const balance = async (accountId: number) => (await api.call('GET', `/api/v1/accounts/${accountId}/balance`)).body;
const subscriberRow = (id: number) => db().selectFrom('subscribers').selectAll().where('subscriber_id', '=', id).executeTakeFirstOrThrow();
const accountRow = (id: number) => db().selectFrom('accounts').selectAll().where('account_id', '=', id).executeTakeFirstOrThrow();
const events = (type: string, aggregateId: number | string) =>
  db().selectFrom('outbox').selectAll().where('event_type', '=', type).where('aggregate_id', '=', String(aggregateId)).orderBy('event_id').execute();
const audits = (action: string, targetId: number | string) => db().selectFrom('audit_log').selectAll().where('action', '=', action).where('target_id', '=', String(targetId)).execute();

/** The business tables a refused order must leave as they were (orders, holds and the audit of the check are the order's own). */
const DOMAIN_TABLES = ['subscribers', 'accounts', 'books', 'payments', 'write_offs', 'bill_lines', 'numbers', 'sim_cards', 'subscriber_offers', 'payment_relations'];
async function domainState() {
  const s = await snapshotTables(env.ctx);
  return Object.fromEntries(DOMAIN_TABLES.map((t) => [t, s.contents[t]]));
}

const preCancelBody = (m: Mobile, extra: Record<string, unknown> = {}) => ({
  businessType: 'PRE_CANCEL',
  customerId: m.customerId,
  subscriberId: m.subscriberId,
  documents: OWNER_DOCS,
  reasonCode: 'moving',
  reason: '工作调动，迁往外地',
  ...extra,
});
const cancelBody = (m: Mobile) => ({ businessType: 'CANCEL', customerId: m.customerId, subscriberId: m.subscriberId, documents: OWNER_DOCS });

async function preCancelled(m: Mobile) {
  const w = await walkOrder(api, preCancelBody(m), { servicePassword: PASSWORD });
  expect(w.submitted?.status, JSON.stringify(w.checked.checks)).toBe('completed');
  return w;
}

/** Runs `fn` with the business clock at `at`, then puts it back. */
async function at<T>(instant: string, fn: () => Promise<T>): Promise<T> {
  const before = env.clock.now();
  env.clock.set(new Date(instant));
  try {
    return await fn();
  } finally {
    env.clock.set(before);
  }
}

const fee = (order: { fees: { feeCode: string }[] }, code: string) => order.fees.find((f) => f.feeCode === code) as { feeCode: string; kind: string; amountFen: number; waivable: boolean } | undefined;

describe('pre-cancellation 预销号', () => {
  test('R-ORD-8 at a designated hall: reason recorded, retention offered, the line stops, formal cancellation dated 3 months on', async () => {
    const m = await openMobile({ prestoreFen: 10000 });
    const w = await walkOrder(api, preCancelBody(m), { servicePassword: PASSWORD });
    expect(codes(w.checked)).toEqual([]);
    const notices = w.checked.notices.map((n: { zh: string }) => n.zh).join('\n');
    expect(notices).toContain('其他品牌');
    expect(notices).toContain('优先选号');
    expect(notices).toContain('2027-02-15');
    const changes = Object.fromEntries(w.checked.changes.map((c: { label: { zh: string }; value: string }) => [c.label.zh, c.value]));
    expect(changes['销号原因']).toContain('工作调动');
    expect(changes['可正式销号日期']).toBe('2027-02-15');
    expect(w.quoted.fees).toEqual([]);
    expect(w.submitted.status).toBe('completed');
    expect(w.submitted.result).toMatchObject({ lifecycle: 'pre_cancelled', reasonCode: 'moving', preCancelledAt: T0.toISOString() });
    const s = await subscriberRow(m.subscriberId);
    expect(s).toMatchObject({ lifecycle: 'pre_cancelled', status: 'pre_cancelled' });
    expect(s.pre_cancelled_at?.toISOString()).toBe(T0.toISOString());
    const stop = await events('provisioning.command', m.subscriberId);
    expect(stop.map((e) => e.payload)).toEqual([expect.objectContaining({ command: 'stop', serviceNumber: m.serviceNumber, orderId: w.created.orderId })]);
    expect(await audits('subscriber.pre_cancel', m.subscriberId)).toHaveLength(1);
    // a pre-cancelled line is not pre-cancelled twice
    const again = await walkOrder(api, preCancelBody(m), { servicePassword: PASSWORD });
    expect(codes(again.checked)).toContain('SUBSCRIBER_PRE_CANCELLED');
  });

  test('R-ORD-8 refused at a hall that is not designated, without a reason, and by an agent for a person — all at once, nothing changes', async () => {
    const m = await openMobile();
    const before = await domainState();
    const w = await walkOrder(api, preCancelBody(m, { reason: '  ', documents: { presenter: 'agent' } }), { as: 'hall2', servicePassword: PASSWORD });
    expect(w.checked.status).toBe('draft');
    expect(codes(w.checked)).toEqual(expect.arrayContaining(['PRE_CANCEL_HALL_NOT_DESIGNATED', 'PRE_CANCEL_REASON_REQUIRED', 'OWNER_MUST_ATTEND', 'AGENT_ID_REQUIRED']));
    const hall = w.checked.checks.failures.find((f: { code: string }) => f.code === 'PRE_CANCEL_HALL_NOT_DESIGNATED');
    expect(hall.fix.zh).toContain('指定营业厅');
    expect(hall.fix.en).toContain('designated hall');
    const submit = await api.call('POST', `/api/v1/orders/${w.created.orderId}/submit`, { as: 'hall2', body: {} });
    expect(submit.status).toBe(409);
    expect(await domainState()).toEqual(before);
    expect((await subscriberRow(m.subscriberId)).lifecycle).toBe('normal');
  });

  test('R-ORD-8 international roaming takes the extra prepayment, which cannot be waived', async () => {
    const m = await openMobile({ features: ['INTL_ROAMING'] });
    const deposit = (await balance(m.accountId)).usableBalanceFen;
    const w = await walkOrder(api, preCancelBody(m), { as: 'manager', servicePassword: PASSWORD, waivers: [{ feeCode: 'PRE_CANCEL_PREPAY', reason: '老客户' }] });
    expect(codes(w.checked)).toEqual([]);
    expect(w.checked.notices.map((n: { zh: string }) => n.zh).join()).toContain('国际漫游');
    expect(w.quoted.code).toBe('FEE_NOT_WAIVABLE');
    const quoted = await api.call('POST', `/api/v1/orders/${w.created.orderId}/quote`, { as: 'manager', body: {} });
    expect(fee(quoted.body, 'PRE_CANCEL_PREPAY')).toMatchObject({ kind: 'prestore', amountFen: 50000, waivable: false });
    const submitted = await api.call('POST', `/api/v1/orders/${w.created.orderId}/submit`, { as: 'manager', body: {} });
    expect(submitted.body.status).toBe('completed');
    expect((await balance(m.accountId)).usableBalanceFen).toBe(deposit + 50000);
    expect(await checkConservation(db(), [m.accountId])).toMatchObject({ differing: [] });
  });

  test('R-ORD-8 a 3-month average bill above the threshold takes the prepayment; at the threshold, or billed this month, it does not', async () => {
    // 2026-08..10 are the last three complete cycles at T0 (2026-11-15); threshold 200 yuan a month
    const high = await openMobile();
    for (const cycle of ['2026-08', '2026-09', '2026-10']) await bill(high, cycle, 20001);
    const low = await openMobile();
    for (const cycle of ['2026-08', '2026-09', '2026-10']) await bill(low, cycle, 20000);
    await bill(low, '2026-11', 90000); // the current cycle is not complete
    await bill(low, '2026-07', 90000); // and four months back is not in the average
    const wh = await walkOrder(api, preCancelBody(high), { servicePassword: PASSWORD });
    expect(fee(wh.quoted, 'PRE_CANCEL_PREPAY')?.amountFen).toBe(50000);
    expect(wh.checked.changes.map((c: { value: string }) => c.value).join()).toContain('200.00 元');
    expect(wh.submitted.status).toBe('completed');
    const wl = await walkOrder(api, preCancelBody(low), { servicePassword: PASSWORD });
    expect(wl.quoted.fees).toEqual([]);
    expect(wl.submitted.status).toBe('completed');
  });

  test('R-ORD-5 pre-cancellation waits while a next-cycle plan change is reserved', async () => {
    const m = await openMobile();
    const plan = await walkOrder(api, { businessType: 'CHANGE_PLAN', subscriberId: m.subscriberId, planCode: 'W3-96-C24', effective: 'next_cycle' });
    expect(plan.submitted?.status, JSON.stringify(plan.checked.checks)).toBe('completed');
    const w = await walkOrder(api, preCancelBody(m), { servicePassword: PASSWORD });
    expect(codes(w.checked)).toEqual(['RESERVATION_CONFLICT']);
    expect((await subscriberRow(m.subscriberId)).lifecycle).toBe('normal');
  });

  test('R-ORD-7 wrong documents and a wrong service password are refused together; no password is asked for', async () => {
    const m = await openMobile();
    const before = await domainState();
    const wrong = await walkOrder(api, preCancelBody(m, { documents: { presenter: 'owner' } }), { servicePassword: '135792' });
    expect(codes(wrong.checked)).toEqual(expect.arrayContaining(['OWNER_ID_ORIGINAL_REQUIRED', 'SERVICE_PASSWORD_WRONG']));
    const none = await walkOrder(api, preCancelBody(m));
    expect(codes(none.checked)).toEqual(['SERVICE_PASSWORD_REQUIRED']);
    expect(await domainState()).toEqual(before);
  });
});

describe('formal cancellation 正式销号 and fee recovery 销号费用回收', () => {
  test('R-ORD-9 a subscriber not pre-cancelled is refused with the fix to pre-cancel first; at any hall', async () => {
    const m = await openMobile();
    const w = await walkOrder(api, cancelBody(m), { as: 'hall2', servicePassword: PASSWORD });
    expect(codes(w.checked)).toEqual(['NOT_PRE_CANCELLED']);
    expect(w.checked.checks.failures[0].fix.zh).toContain('办理预销号');
  });

  test('R-ORD-9 after 3 months the prestore is refunded, the number frozen, the SIM retired, the account closed; fee recovery collects later bills', async () => {
    const m = await openMobile({ prestoreFen: 30000 });
    await bill(m, '2026-10', 4600);
    // a gift (预存优惠) is not the customer's money: it lapses at cancellation, it is never paid out
    await env.ctx.money.grant(system, m.accountId, { amountFen: 1500, bookType: 'prestore_gift', reason: '预存送' });
    await preCancelled(m);
    // one day short of 3 months
    const early = await at('2027-02-14T02:00:00Z', () => walkOrder(api, cancelBody(m), { servicePassword: PASSWORD }));
    expect(codes(early.checked)).toEqual(['CANCEL_TOO_EARLY']);
    expect(early.checked.checks.failures[0].fix.zh).toContain('2027-02-15');

    await at('2027-02-15T02:00:00Z', async () => {
      const w = await walkOrder(api, cancelBody(m), { as: 'hall2', servicePassword: PASSWORD });
      expect(codes(w.checked)).toEqual([]);
      expect(w.quoted.fees).toEqual([]);
      expect(w.submitted.status).toBe('completed');
      expect(w.submitted.result).toMatchObject({ lifecycle: 'cancelled', arrearsFen: 0, arrearsPaidFen: 0, refundedFen: 25400, numberFrozen: true, simRetired: true, accountClosed: true });
      const s = await subscriberRow(m.subscriberId);
      expect(s).toMatchObject({ lifecycle: 'cancelled', status: 'cancelled' });
      const number = await db().selectFrom('numbers').selectAll().where('service_number', '=', m.serviceNumber).executeTakeFirstOrThrow();
      expect(number.state).toBe('frozen');
      expect(number.cooling_until?.getTime()).toBeGreaterThan(env.clock.now().getTime());
      const sim = await db().selectFrom('sim_cards').selectAll().where('iccid', '=', m.iccid).executeTakeFirstOrThrow();
      expect(sim.state).toBe('retired');
      const offers = await db().selectFrom('subscriber_offers').selectAll().where('subscriber_id', '=', m.subscriberId).execute();
      expect(offers.length).toBeGreaterThan(0);
      expect(offers.every((o) => o.ended_at !== null)).toBe(true);
      expect((await accountRow(m.accountId)).status).toBe('closed');
      const b = await balance(m.accountId);
      expect({ usable: b.usableBalanceFen, arrears: b.arrearsFen }).toEqual({ usable: 0, arrears: 0 });
      const lapsed = await db().selectFrom('book_expiries').select(['amount_fen']).where('account_id', '=', m.accountId).execute();
      expect(lapsed.map((x) => x.amount_fen)).toEqual([1500]);
      const refunds = await db().selectFrom('payments').selectAll().where('account_id', '=', m.accountId).where('kind', '=', 'refund').execute();
      expect(refunds.map((r) => r.amount_fen)).toEqual([-25400]);
      expect((await events('provisioning.command', m.subscriberId)).map((e) => (e.payload as { command: string }).command)).toEqual(['stop', 'cancel']);
      expect(await audits('account.close', m.accountId)).toHaveLength(1);
      expect(await checkConservation(db(), [m.accountId])).toMatchObject({ differing: [] });

      // already cancelled: only fee recovery, and there is nothing to recover yet
      const twice = await walkOrder(api, cancelBody(m), { servicePassword: PASSWORD });
      expect(codes(twice.checked)).toEqual(['ALREADY_CANCELLED']);
      expect(twice.checked.checks.failures[0].fix.zh).toContain('销号费用回收');
      expect(twice.checked.checks.failures[0].fix.en).toContain('FEE_RECOVERY');
      const recoverBody = { businessType: 'FEE_RECOVERY', customerId: m.customerId, subscriberId: m.subscriberId };
      expect(codes((await walkOrder(api, recoverBody)).checked)).toEqual(['NOTHING_TO_RECOVER']);

      // the cancellation month is billed afterwards on the closed account
      await bill(m, '2027-02', 2300);
      const before = await balance(m.accountId);
      expect(before.arrearsFen).toBe(2300);
      const r = await walkOrder(api, recoverBody);
      expect(codes(r.checked)).toEqual([]);
      expect(fee(r.quoted, 'FEE_RECOVERY')).toMatchObject({ kind: 'prestore', amountFen: 2300, waivable: false });
      expect(r.submitted.status).toBe('completed');
      expect(r.submitted.result).toMatchObject({ recoveredFen: 2300, writtenOffFen: 2300 });
      const after = await balance(m.accountId);
      expect({ usable: after.usableBalanceFen, arrears: after.arrearsFen }).toEqual({ usable: 0, arrears: 0 });
      expect((await accountRow(m.accountId)).status).toBe('closed');
      expect(await checkConservation(db(), [m.accountId])).toMatchObject({ differing: [] });
      expect(codes((await walkOrder(api, recoverBody)).checked)).toEqual(['NOTHING_TO_RECOVER']);
    });
  });

  test('R-ORD-9 arrears the prestore does not cover are paid first, then written off; a special fund that cannot pay them is refunded', async () => {
    const m = await openMobile({ prestoreFen: 5000 });
    await bill(m, '2026-10', 4600); // 400 left in the prestore
    // a broadband special fund (R-ACC-12) taken as a PAYMENT order: it may not pay plan rent
    const fund = await walkOrder(api, { businessType: 'PAYMENT', accountId: m.accountId, amountFen: 3000, bookType: 'restricted_fund', restrictedItems: ['RENT_BB'] });
    expect(fund.submitted.status).toBe('completed');
    await preCancelled(m);
    await at('2027-02-20T02:00:00Z', async () => {
      for (const cycle of ['2026-11', '2026-12', '2027-01']) await bill(m, cycle, 4600);
      const b = await balance(m.accountId);
      expect(b.arrearsFen).toBe(13400);
      const w = await walkOrder(api, cancelBody(m), { servicePassword: PASSWORD });
      expect(codes(w.checked)).toEqual([]);
      expect(fee(w.quoted, 'ARREARS_PAYMENT')).toMatchObject({ kind: 'prestore', amountFen: 13400, waivable: false, name: { zh: '补交欠费', en: 'Arrears payment' } });
      expect(w.quoted.payableFen).toBe(13400);
      expect(w.checked.notices.map((n: { zh: string }) => n.zh).join()).toContain('须先补交 134.00 元');
      expect(w.submitted.status).toBe('completed');
      expect(w.submitted.result).toMatchObject({ arrearsFen: 13400, arrearsPaidFen: 13400, arrearsCollectedFen: 13400, refundedFen: 3000, accountClosed: true });
      expect(w.submitted.result.money.payments).toEqual([expect.objectContaining({ amountFen: 13400, bookType: 'cash' })]);
      const after = await balance(m.accountId);
      expect({ usable: after.usableBalanceFen, arrears: after.arrearsFen, books: after.books.filter((x: { balanceFen: number }) => x.balanceFen !== 0) }).toEqual({ usable: 0, arrears: 0, books: [] });
      expect(await checkConservation(db(), [m.accountId])).toMatchObject({ differing: [] });
    });
  });

  test('R-ORD-9 fee recovery is only for cancelled numbers', async () => {
    const m = await openMobile();
    const w = await walkOrder(api, { businessType: 'FEE_RECOVERY', customerId: m.customerId, subscriberId: m.subscriberId });
    expect(codes(w.checked)).toEqual(['NOT_CANCELLED']);
  });
});

describe('transfer of ownership 过户', () => {
  const transferBody = (m: Mobile, newCustomerId: number, extra: Record<string, unknown> = {}) => ({
    businessType: 'TRANSFER_OWNERSHIP',
    customerId: m.customerId,
    subscriberId: m.subscriberId,
    documents: OWNER_DOCS,
    newCustomerId,
    newOwnerDocuments: OWNER_DOCS,
    ...extra,
  });

  test('R-ORD-10 the number moves to the new owner on a new real-time account with 200 yuan; the old owner’s password authorises it', async () => {
    const m = await openMobile({ prestoreFen: 8000 });
    const buyer = await newCustomer(env.ctx, { name: '李新', password: '583920' });
    const withBuyersPassword = await walkOrder(api, transferBody(m, buyer.customerId, { prestoreFen: 20000 }), { servicePassword: '583920' });
    expect(codes(withBuyersPassword.checked)).toEqual(['SERVICE_PASSWORD_WRONG']);
    const w = await walkOrder(api, transferBody(m, buyer.customerId, { prestoreFen: 20000 }), { servicePassword: PASSWORD });
    expect(codes(w.checked)).toEqual([]);
    const changes = Object.fromEntries(w.checked.changes.map((c: { label: { zh: string }; value: string }) => [c.label.zh, c.value]));
    expect(changes['新机主']).toBe('李新');
    expect(w.checked.notices.map((n: { zh: string }) => n.zh).join()).toContain('协商');
    expect(fee(w.quoted, 'PRESTORE')?.amountFen).toBe(20000);
    expect(w.submitted.status).toBe('completed');
    const s = await subscriberRow(m.subscriberId);
    const newAccountId = w.submitted.result.to.accountId;
    expect(s.customer_id).toBe(buyer.customerId);
    expect(s.default_account_id).toBe(newAccountId);
    expect(newAccountId).not.toBe(m.accountId);
    expect(await accountRow(newAccountId)).toMatchObject({ customer_id: buyer.customerId, billing_type: 'virtual', status: 'active' });
    expect((await balance(newAccountId)).usableBalanceFen).toBe(20000);
    expect((await balance(m.accountId)).usableBalanceFen).toBe(8000); // the old owner's money stays with the old owner
    expect(await events('subscriber.owner_changed', m.subscriberId)).toHaveLength(1);
    expect(await audits('subscriber.move', m.subscriberId)).toHaveLength(1);
  });

  test('R-ORD-10 a too-small prestore is refused with the missing amount; the new owner’s real-time account counts; 500 with international roaming', async () => {
    const m = await openMobile();
    const buyer = await newCustomer(env.ctx);
    const own = await openMobile({ customerId: buyer.customerId, prestoreFen: 15000 }); // the buyer's existing real-time account
    const before = await domainState();
    const small = await walkOrder(api, transferBody(m, buyer.customerId), { servicePassword: PASSWORD });
    expect(codes(small.checked)).toEqual(['TRANSFER_PRESTORE_TOO_SMALL']);
    const f = small.checked.checks.failures[0];
    expect(f.fix.zh).toContain('50.00 元');
    expect(f.details).toMatchObject({ minimumFen: 20000, balanceFen: 15000, prestoreFen: 0, missingFen: 5000 });
    expect(await domainState()).toEqual(before);
    const ok = await walkOrder(api, transferBody(m, buyer.customerId, { prestoreFen: 5000 }), { servicePassword: PASSWORD });
    expect(codes(ok.checked)).toEqual([]);
    expect(ok.submitted.status).toBe('completed');
    expect((await subscriberRow(m.subscriberId)).default_account_id).toBe(own.accountId);

    const intl = await openMobile({ features: ['INTL_ROAMING'] });
    const buyer2 = await newCustomer(env.ctx);
    const w = await walkOrder(api, transferBody(intl, buyer2.customerId, { prestoreFen: 20000 }), { servicePassword: PASSWORD });
    expect(codes(w.checked)).toEqual(['TRANSFER_PRESTORE_TOO_SMALL']);
    expect(w.checked.checks.failures[0].details).toMatchObject({ minimumFen: 50000, missingFen: 30000 });
    expect(w.checked.checks.failures[0].fix.zh).toContain('300.00 元');
  });

  test('R-ORD-10 a person must take a real-time prepaid account; an organisation paying by bank collection may not', async () => {
    const m = await openMobile();
    const buyer = await newCustomer(env.ctx);
    const monthly = await walkOrder(api, transferBody(m, buyer.customerId, { prestoreFen: 20000, newAccount: { billingType: 'monthly', paymentMethod: 'cash' } }), { servicePassword: PASSWORD });
    expect(codes(monthly.checked)).toEqual(['TRANSFER_NEEDS_VIRTUAL_ACCOUNT']);

    const body17 = '91120104MA05K8Y72';
    const org = await env.ctx.customers.create(system, {
      kind: 'organisation',
      name: '天津某某贸易有限公司',
      idType: 'business_licence',
      idNumber: body17 + businessLicenceCheckChar(body17),
      handler: { name: '周八', idType: 'resident_id', idNumber: await freshResidentId() },
      contact: { name: '吴九', idType: 'resident_id', idNumber: await freshResidentId() },
    });
    const orgDocs = { presenter: 'agent', businessLicence: true, unitCertificate: true, agent: { name: '周八', idType: 'resident_id', idNumber: await freshResidentId() } };
    const corporate = await walkOrder(
      api,
      transferBody(m, org.customerId, {
        newOwnerDocuments: orgDocs,
        prestoreFen: 20000,
        newAccount: { billingType: 'monthly', paymentMethod: 'bank_collection', bankName: '工商银行', bankAccountHolder: '天津某某贸易有限公司', bankAccountNumber: '6222020200112233999' },
      }),
      { servicePassword: PASSWORD },
    );
    expect(codes(corporate.checked)).toEqual([]);
    expect(corporate.submitted.status).toBe('completed');
    expect(await accountRow(corporate.submitted.result.to.accountId)).toMatchObject({ customer_id: org.customerId, billing_type: 'monthly', payment_method: 'bank_collection' });
  });

  test('R-ORD-7 R-CUS-1 both owners’ documents are checked, each named, with the rest of the rules', async () => {
    const m = await openMobile();
    const buyer = await newCustomer(env.ctx);
    const w = await walkOrder(
      api,
      transferBody(m, buyer.customerId, {
        documents: { presenter: 'owner' },
        newOwnerDocuments: { presenter: 'agent', agent: { name: '王代办', idType: 'resident_id', idNumber: '110105198001011234' } },
        prestoreFen: 100,
      }),
      { servicePassword: PASSWORD },
    );
    const failures = w.checked.checks.failures as { code: string; message: { zh: string } }[];
    expect(failures.map((f) => f.code)).toEqual(expect.arrayContaining(['OWNER_ID_ORIGINAL_REQUIRED', 'AGENT_ID_INVALID', 'TRANSFER_PRESTORE_TOO_SMALL']));
    expect(failures.find((f) => f.code === 'OWNER_ID_ORIGINAL_REQUIRED')?.message.zh).toMatch(/^原机主：/);
    expect(failures.find((f) => f.code === 'AGENT_ID_INVALID')?.message.zh).toMatch(/^新机主：/);
    const same = await walkOrder(api, transferBody(m, m.customerId, { prestoreFen: 20000 }), { servicePassword: PASSWORD });
    expect(codes(same.checked)).toEqual(['TRANSFER_SAME_OWNER']);
    expect((await subscriberRow(m.subscriberId)).customer_id).toBe(m.customerId);
  });
});

describe('general services on the account', () => {
  test('R-CUS-2 change payment method: bank collection needs its details, is audited, and the bank account is masked on the receipt', async () => {
    const m = await openMobile();
    const body = { businessType: 'CHANGE_PAYMENT_METHOD', customerId: m.customerId, accountId: m.accountId, documents: OWNER_DOCS, paymentMethod: 'bank_collection', bankName: '工商银行' };
    const missing = await walkOrder(api, body);
    expect(codes(missing.checked)).toEqual(['BANK_DETAILS_REQUIRED']);
    const unchanged = await walkOrder(api, { ...body, paymentMethod: 'cash', bankName: undefined });
    expect(codes(unchanged.checked)).toEqual(['PAYMENT_METHOD_UNCHANGED']);
    const w = await walkOrder(api, { ...body, bankAccountHolder: '张家庭', bankAccountNumber: '6222020200112230001' });
    expect(codes(w.checked)).toEqual([]);
    expect(w.submitted.status).toBe('completed');
    expect(await accountRow(m.accountId)).toMatchObject({ payment_method: 'bank_collection', bank_name: '工商银行', bank_account_holder: '张家庭', bank_account_number: '6222020200112230001' });
    expect(await audits('account.change_payment_method', m.accountId)).toHaveLength(1);
    const values = w.checked.changes.map((c: { value: string }) => c.value).join();
    expect(values).toContain('***************0001');
    expect(values).not.toContain('6222020200112230001');
  });

  test('R-ACC-12 R-ACC-13 payment as an order: one prestore line of the book type, paid in the order, written off, with a receipt', async () => {
    const m = await openMobile();
    await bill(m, '2026-10', 4600);
    const w = await walkOrder(api, { businessType: 'PAYMENT', accountId: m.accountId, amountFen: 10000, bookType: 'cash' });
    expect(codes(w.checked)).toEqual([]);
    expect(w.quoted.fees).toEqual([expect.objectContaining({ feeCode: 'PAYMENT', kind: 'prestore', bookType: 'cash', amountFen: 10000, waivable: false })]);
    expect(w.submitted.status).toBe('completed');
    const b = await balance(m.accountId);
    expect({ usable: b.usableBalanceFen, arrears: b.arrearsFen }).toEqual({ usable: 5400, arrears: 0 });
    const receipt = await api.call('GET', `/api/v1/orders/${w.created.orderId}/receipt`);
    expect(receipt.status).toBe(200);

    const fund = await walkOrder(api, { businessType: 'PAYMENT', accountId: m.accountId, amountFen: 60000, bookType: 'restricted_fund', restrictedItems: ['RENT_BB', 'ADDON_FEE'], subscriberId: m.subscriberId });
    expect(fund.submitted.status).toBe('completed');
    const book = await db().selectFrom('books').selectAll().where('account_id', '=', m.accountId).where('book_type', '=', 'restricted_fund').executeTakeFirstOrThrow();
    expect(book).toMatchObject({ restricted_items: ['ADDON_FEE', 'RENT_BB'], subscriber_id: m.subscriberId, balance_fen: 60000 });
    expect(await checkConservation(db(), [m.accountId])).toMatchObject({ differing: [] });
  });

  test('R-ACC-12 a payment order is refused for an unknown book type, a fund without items, a closed account and a subscriber it does not pay', async () => {
    const m = await openMobile();
    const other = await openMobile();
    const before = await domainState();
    const w = await walkOrder(api, { businessType: 'PAYMENT', accountId: m.accountId, amountFen: 100, bookType: 'restricted_fund', subscriberId: other.subscriberId });
    expect(codes(w.checked)).toEqual(expect.arrayContaining(['RESTRICTED_FUND_NEEDS_ITEMS', 'SUBSCRIBER_NOT_PAID_BY_ACCOUNT']));
    const unknown = await walkOrder(api, { businessType: 'PAYMENT', accountId: m.accountId, amountFen: 100, bookType: 'gold_coins', restrictedItems: ['NOPE'] });
    expect(codes(unknown.checked)).toEqual(['UNKNOWN_BOOK_TYPE', 'UNKNOWN_BILL_ITEM']);
    expect(await domainState()).toEqual(before);
    const spare = await env.ctx.accounts.createAccount(system, { customerId: m.customerId, billingType: 'virtual', paymentMethod: 'cash' });
    await db().transaction().execute((tx) => env.ctx.accounts.closeAccount(tx, system, spare.accountId));
    const closed = await walkOrder(api, { businessType: 'PAYMENT', accountId: spare.accountId, amountFen: 100, bookType: 'cash' });
    expect(codes(closed.checked)).toEqual(['ACCOUNT_CLOSED']);
  });
});

describe('joint account 合帐, household merge 合户 and split 分户', () => {
  test('R-ACC-8 joint account: a subscriber pays from another account of the same customer', async () => {
    const a = await openMobile();
    const b = await openMobile({ customerId: a.customerId });
    const w = await walkOrder(api, { businessType: 'JOINT_ACCOUNT', customerId: a.customerId, subscriberId: b.subscriberId, accountId: a.accountId, documents: OWNER_DOCS });
    expect(codes(w.checked)).toEqual([]);
    expect(w.submitted.status).toBe('completed');
    expect((await subscriberRow(b.subscriberId)).default_account_id).toBe(a.accountId);
    const acc = await api.call('GET', `/api/v1/accounts/${a.accountId}`);
    expect(acc.body.subscribers.map((s: { subscriberId: number }) => s.subscriberId).sort()).toEqual([a.subscriberId, b.subscriberId].sort());
    expect(await events('subscriber.account_changed', b.subscriberId)).toHaveLength(1);
  });

  test('R-ACC-8 joint account refuses another customer’s account, a closed account and the same account', async () => {
    const a = await openMobile();
    const stranger = await openMobile();
    const spare = await env.ctx.accounts.createAccount(system, { customerId: a.customerId, billingType: 'virtual', paymentMethod: 'cash' });
    await db().transaction().execute((tx) => env.ctx.accounts.closeAccount(tx, system, spare.accountId));
    const before = await domainState();
    const body = (accountId: number) => ({ businessType: 'JOINT_ACCOUNT', customerId: a.customerId, subscriberId: a.subscriberId, accountId, documents: OWNER_DOCS });
    expect(codes((await walkOrder(api, body(stranger.accountId))).checked)).toEqual(['JOINT_ACCOUNT_OTHER_CUSTOMER']);
    expect(codes((await walkOrder(api, body(spare.accountId))).checked)).toEqual(['ACCOUNT_CLOSED']);
    expect(codes((await walkOrder(api, body(a.accountId))).checked)).toEqual(['JOINT_ACCOUNT_SAME_ACCOUNT']);
    expect(await domainState()).toEqual(before);
  });

  test('R-ACC-8 household merge moves every subscriber and closes the source; a source holding money is refused', async () => {
    const rich = await openMobile({ prestoreFen: 10000 });
    const empty = await openMobile({ customerId: rich.customerId });
    const body = (sourceAccountId: number, targetAccountId: number) => ({ businessType: 'HOUSEHOLD_MERGE', customerId: rich.customerId, sourceAccountId, targetAccountId, documents: OWNER_DOCS });
    const refused = await walkOrder(api, body(rich.accountId, empty.accountId));
    expect(codes(refused.checked)).toEqual(['ACCOUNT_BALANCE_NOT_ZERO']);
    expect(refused.checked.checks.failures[0].fix.zh).toContain('退费');
    expect((await accountRow(rich.accountId)).status).toBe('active');
    const w = await walkOrder(api, body(empty.accountId, rich.accountId));
    expect(codes(w.checked)).toEqual([]);
    expect(w.submitted.status).toBe('completed');
    expect((await subscriberRow(empty.subscriberId)).default_account_id).toBe(rich.accountId);
    expect((await accountRow(empty.accountId)).status).toBe('closed');
    expect(await audits('account.close', empty.accountId)).toHaveLength(1);
  });

  test('R-ACC-8 household split moves the chosen subscribers to a new account of the same customer', async () => {
    const a = await openMobile({ prestoreFen: 5000 });
    const b = await openMobile({ customerId: a.customerId, accountId: a.accountId });
    const stranger = await openMobile();
    const body = (subscriberIds: number[]) => ({
      businessType: 'HOUSEHOLD_SPLIT',
      customerId: a.customerId,
      accountId: a.accountId,
      subscriberIds,
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      documents: OWNER_DOCS,
    });
    expect(codes((await walkOrder(api, body([stranger.subscriberId]))).checked)).toEqual(expect.arrayContaining(['SUBSCRIBER_OF_OTHER_CUSTOMER', 'SUBSCRIBER_NOT_ON_ACCOUNT']));
    const w = await walkOrder(api, body([b.subscriberId]));
    expect(codes(w.checked)).toEqual([]);
    expect(w.submitted.status).toBe('completed');
    const newAccountId = w.submitted.result.newAccountId;
    expect(await subscriberRow(b.subscriberId)).toMatchObject({ default_account_id: newAccountId, customer_id: a.customerId });
    expect((await subscriberRow(a.subscriberId)).default_account_id).toBe(a.accountId);
    expect(await accountRow(newAccountId)).toMatchObject({ customer_id: a.customerId, billing_type: 'virtual' });
  });
});

stockConservedAfterAll(() => env);
