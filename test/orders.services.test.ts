// General services through the API (SPEC §7.2, seed 004 §6.10): suspend, report loss, resume and
// reinstall (R-X-1), SIM replacement, long-distance level and international roaming (deposit except a
// corporate account), features with the SMS double confirmation (R-ORD-6) and holds (R-ORD-5), change of
// data (R-CUS-2) and number (R-X-10), itemised bill and invoice reprint (R-X-8) — each with its refusals.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { businessLicenceCheckChar } from '../src/domains/customers/rules.ts';
import { CONFIRMATION_JOB } from '../src/domains/orders/service.ts';
import { type Api, freshResidentId, system, type TestEnv, testApi, testEnv, stockConservedAfterAll } from './helpers.ts';
import { codes, freeNumber, freeSim, type Mobile, newCustomer, openMobile as openMobileIn, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';
import { snapshotTables } from './snapshot.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  await setupOrders(env.ctx);
  for (const u of ['front_desk', 'manager', 'admin', 'accounting']) await api.token(u); // logins are audited: before any snapshot
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

const PASSWORD = '902417';
const db = () => env.ctx.database.db;


const openMobile = (opts: Parameters<typeof openMobileIn>[2] = {}) => openMobileIn(env, api, opts);

const body = (type: string, m: Pick<Mobile, 'customerId' | 'subscriberId'>, extra: Record<string, unknown> = {}) => ({
  businessType: type,
  customerId: m.customerId,
  subscriberId: m.subscriberId,
  documents: OWNER_DOCS,
  ...extra,
});

const subscriberRow = (id: number) => db().selectFrom('subscribers').selectAll().where('subscriber_id', '=', id).executeTakeFirstOrThrow();
const simRow = (iccid: string) => db().selectFrom('sim_cards').selectAll().where('iccid', '=', iccid).executeTakeFirstOrThrow();
const numberRow = (n: string) => db().selectFrom('numbers').selectAll().where('service_number', '=', n).executeTakeFirstOrThrow();
const commands = async (subscriberId: number) =>
  (await db().selectFrom('outbox').select('payload').where('event_type', '=', 'provisioning.command').where('aggregate_id', '=', String(subscriberId)).orderBy('event_id').execute()).map(
    (e) => e.payload as Record<string, unknown>,
  );
const audits = (action: string, targetId: number | string) => db().selectFrom('audit_log').selectAll().where('action', '=', action).where('target_id', '=', String(targetId)).orderBy('audit_id').execute();
const balance = async (accountId: number) => (await api.call('GET', `/api/v1/accounts/${accountId}/balance`)).body;
const offersOf = async (subscriberId: number) =>
  (await db().selectFrom('subscriber_offers').select(['offer_code', 'ended_at']).where('subscriber_id', '=', subscriberId).orderBy('subscriber_offer_id').execute()).map((o) => [o.offer_code, o.ended_at === null]);

/** The business tables a refused order must leave as they were (orders, holds and the check's audit are the order's own). */
const DOMAIN_TABLES = ['customers', 'subscribers', 'accounts', 'books', 'payments', 'write_offs', 'bill_lines', 'numbers', 'sim_cards', 'subscriber_offers'];
async function domainState() {
  const s = await snapshotTables(env.ctx);
  return { ...Object.fromEntries(DOMAIN_TABLES.map((t) => [t, s.contents[t]])), provisioning: (await db().selectFrom('outbox').select('event_id').where('event_type', '=', 'provisioning.command').execute()).length };
}

async function pay(accountId: number, amountFen: number, key: string) {
  const r = await api.call('POST', `/api/v1/accounts/${accountId}/payments`, { as: 'front_desk', body: { amountFen, bookType: 'cash', channel: 'front_desk', idempotencyKey: key } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.payment.paymentId as number;
}

async function organisation() {
  const body17 = '91120103MA06L7X81';
  const c = await env.ctx.customers.create(system, {
    kind: 'organisation',
    name: '天津某某物流有限公司',
    idType: 'business_licence',
    idNumber: body17 + businessLicenceCheckChar(body17),
    handler: { name: '郑十', idType: 'resident_id', idNumber: await freshResidentId() },
    contact: { name: '钱一', idType: 'resident_id', idNumber: await freshResidentId() },
    servicePassword: '730182',
  });
  const docs = { presenter: 'agent', businessLicence: true, unitCertificate: true, agent: { name: '郑十', idType: 'resident_id', idNumber: await freshResidentId() } };
  return { customerId: c.customerId, docs };
}

describe('suspend, report loss, resume (R-X-1)', () => {
  test('R-X-1 SUSPEND adds on_request and stops the line; a second one is refused; RESUME reopens it without the password', async () => {
    const m = await openMobile();
    const w = await walkOrder(api, body('SUSPEND', m, { note: '出国三个月' }));
    expect(codes(w.checked)).toEqual([]);
    expect(w.submitted.status).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ stop_reasons: ['on_request'], status: 'suspended', lifecycle: 'normal' });
    expect(await commands(m.subscriberId)).toEqual([expect.objectContaining({ command: 'stop', mode: 'two_way', serviceNumber: m.serviceNumber, orderId: w.created.orderId })]);
    const [a] = await audits('subscriber.status_change', m.subscriberId);
    expect(a?.before).toMatchObject({ status: 'normal', stopReasons: [] });
    expect(a?.after).toMatchObject({ status: 'suspended', stopReasons: ['on_request'], orderId: w.created.orderId, reason: '出国三个月' });

    const again = await walkOrder(api, body('SUSPEND', m));
    expect(codes(again.checked)).toEqual(['ALREADY_SUSPENDED']);

    const r = await walkOrder(api, body('RESUME', m, { reasons: ['on_request'] }));
    expect(codes(r.checked)).toEqual([]);
    expect(r.submitted.status).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ stop_reasons: [], status: 'normal' });
    expect((await commands(m.subscriberId)).map((c) => c.command)).toEqual(['stop', 'resume']);

    const before = await domainState();
    const none = await walkOrder(api, body('RESUME', m, { reasons: ['on_request', 'lost'] }), { servicePassword: PASSWORD });
    expect(codes(none.checked).sort()).toEqual(['NOT_LOST', 'NOT_SUSPENDED']);
    expect(await domainState()).toEqual(before);
  });

  test('R-X-1 a payment never clears lost: REPORT_LOSS and RESUME after loss need the service password, the payment leaves the line lost', async () => {
    const m = await openMobile();
    const noPw = await walkOrder(api, body('REPORT_LOSS', m));
    expect(codes(noPw.checked)).toEqual(['SERVICE_PASSWORD_REQUIRED']);
    const wrong = await walkOrder(api, body('REPORT_LOSS', m), { servicePassword: '111111' });
    expect(codes(wrong.checked)).toEqual(['SERVICE_PASSWORD_WRONG']);
    const lost = await walkOrder(api, body('REPORT_LOSS', m), { servicePassword: PASSWORD });
    expect(lost.checked.notices[0].zh).toContain('报开');
    expect(lost.submitted.status).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ stop_reasons: ['lost'], status: 'lost' });

    await pay(m.accountId, 10000, `svc-lost-${m.subscriberId}`);
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ stop_reasons: ['lost'], status: 'lost' });

    const asSuspend = await walkOrder(api, body('RESUME', m, { reasons: ['on_request'] }));
    expect(codes(asSuspend.checked)).toEqual(['NOT_SUSPENDED']);
    const withoutPw = await walkOrder(api, body('RESUME', m, { reasons: ['lost'] }));
    expect(codes(withoutPw.checked)).toEqual(['SERVICE_PASSWORD_REQUIRED']);
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ stop_reasons: ['lost'] });
    const found = await walkOrder(api, body('RESUME', m, { reasons: ['lost'] }), { servicePassword: PASSWORD });
    expect(found.submitted.status).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ stop_reasons: [], status: 'normal' });
    expect((await commands(m.subscriberId)).map((c) => c.command)).toEqual(['stop', 'resume']);
  });

  test('R-X-1 RESUME after loss of a line that also owes keeps it stopped for arrears, sends no resume and says so', async () => {
    const m = await openMobile();
    await walkOrder(api, body('REPORT_LOSS', m), { servicePassword: PASSWORD });
    // credit control stopped it for arrears meanwhile
    await db().updateTable('subscribers').set({ stop_reasons: ['arrears_two_way', 'lost'] }).where('subscriber_id', '=', m.subscriberId).execute();
    const w = await walkOrder(api, body('RESUME', m, { reasons: ['lost'] }), { servicePassword: PASSWORD });
    expect(w.checked.notices[0].zh).toContain('欠费双停');
    expect(w.submitted.status).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ stop_reasons: ['arrears_two_way'], status: 'arrears_stop' });
    expect((await commands(m.subscriberId)).map((c) => c.command)).toEqual(['stop']);
  });

  test('R-ORD-1 R-ORD-7 SUSPEND refusals come all at once and change nothing', async () => {
    const m = await openMobile();
    const other = await newCustomer(env.ctx);
    const before = await domainState();
    const w = await walkOrder(api, { ...body('SUSPEND', m), customerId: other.customerId, documents: { presenter: 'owner' } });
    expect(codes(w.checked).sort()).toEqual(['OWNER_ID_ORIGINAL_REQUIRED', 'SUBSCRIBER_OF_OTHER_CUSTOMER']);
    for (const f of w.checked.checks.failures) expect(f.fix.zh.length).toBeGreaterThan(0);
    // an order for a subscriber that does not exist is the client's mistake, never a 500
    const missing = await api.call('POST', '/api/v1/orders', { as: 'front_desk', body: body('SUSPEND', { customerId: m.customerId, subscriberId: 999999 }) });
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('UNKNOWN_REFERENCE');
    expect(await domainState()).toEqual(before);
  });
});

describe('reinstall', () => {
  test('R-ORD-8 R-ORD-9 REINSTALL brings a pre-cancelled subscriber back for the REINSTALL fee and reopens it; refused when normal or cancelled', async () => {
    const m = await openMobile();
    await db().updateTable('subscribers').set({ lifecycle: 'pre_cancelled', pre_cancelled_at: env.clock.now() }).where('subscriber_id', '=', m.subscriberId).execute();
    const suspend = await walkOrder(api, body('SUSPEND', m));
    expect(codes(suspend.checked)).toEqual(['SUBSCRIBER_PRE_CANCELLED']);

    const w = await walkOrder(api, body('REINSTALL', m));
    expect(codes(w.checked)).toEqual([]);
    expect(w.quoted.fees.map((f: { feeCode: string; amountFen: number }) => [f.feeCode, f.amountFen])).toEqual([['REINSTALL', 1000]]);
    expect(w.submitted.status).toBe('completed');
    expect(w.submitted.result.money.feesCollectedFen).toBe(1000);
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ lifecycle: 'normal', pre_cancelled_at: null, status: 'normal' });
    expect(await commands(m.subscriberId)).toEqual([expect.objectContaining({ command: 'resume', reason: 'reinstall' })]);
    expect(await audits('subscriber.reinstate', m.subscriberId)).toHaveLength(1);

    const before = await domainState();
    const again = await walkOrder(api, body('REINSTALL', m));
    expect(codes(again.checked)).toEqual(['NOT_PRE_CANCELLED']);
    expect(await domainState()).toEqual(before);
    await db().updateTable('subscribers').set({ lifecycle: 'cancelled', cancelled_at: env.clock.now() }).where('subscriber_id', '=', m.subscriberId).execute();
    const cancelled = await walkOrder(api, body('REINSTALL', m));
    expect(codes(cancelled.checked)).toEqual(['SUBSCRIBER_CANCELLED']);
  });
});

describe('SIM replacement', () => {
  test('R-X-1 SIM_REPLACE after a loss: new card for the number, SIM_CARD fee, old card retired — the line stays lost until RESUME', async () => {
    const m = await openMobile();
    await walkOrder(api, body('REPORT_LOSS', m), { servicePassword: PASSWORD });
    const iccid = await freeSim(env.ctx);
    const newCard = await simRow(iccid);
    const w = await walkOrder(api, body('SIM_REPLACE', m, { iccid }), { servicePassword: PASSWORD });
    expect(codes(w.checked)).toEqual([]);
    expect(w.checked.notices[0].zh).toContain('报开');
    expect(w.quoted.fees.map((f: { feeCode: string; amountFen: number }) => [f.feeCode, f.amountFen])).toEqual([['SIM_CARD', 2500]]);
    expect(w.submitted.status).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ iccid, imsi: newCard.imsi, stop_reasons: ['lost'], status: 'lost' });
    expect(await simRow(m.iccid)).toMatchObject({ state: 'retired' });
    expect(await simRow(iccid)).toMatchObject({ state: 'activated', service_number: m.serviceNumber, subscriber_id: m.subscriberId });
    expect((await commands(m.subscriberId)).at(-1)).toMatchObject({ command: 'sim_change', oldIccid: m.iccid, iccid, imsi: newCard.imsi });
    const [a] = await audits('subscriber.sim_replace', m.subscriberId);
    expect(a?.before).toMatchObject({ iccid: m.iccid });
    expect(a?.after).toMatchObject({ iccid });

    const back = await walkOrder(api, body('RESUME', m, { reasons: ['lost'] }), { servicePassword: PASSWORD });
    expect(back.submitted.status).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ stop_reasons: [], status: 'normal' });
  });

  test('R-ORD-1 SIM_REPLACE refusals: the password, the same card, a card in use — nothing changes', async () => {
    const m = await openMobile();
    const other = await openMobile();
    const before = await domainState();
    const same = await walkOrder(api, body('SIM_REPLACE', m, { iccid: m.iccid }));
    expect(codes(same.checked).sort()).toEqual(['SAME_SIM', 'SERVICE_PASSWORD_REQUIRED']);
    const taken = await walkOrder(api, body('SIM_REPLACE', m, { iccid: other.iccid }), { servicePassword: '111111' });
    expect(codes(taken.checked).sort()).toEqual(['SERVICE_PASSWORD_WRONG', 'SIM_NOT_AVAILABLE']);
    expect(await domainState()).toEqual(before);
  });
});

describe('long distance and international roaming', () => {
  test('R-ORD-7 LONG_DISTANCE_LEVEL to international takes the international deposit into the account; back to local takes none', async () => {
    const m = await openMobile();
    const w = await walkOrder(api, body('LONG_DISTANCE_LEVEL', m, { level: 'international' }));
    expect(codes(w.checked)).toEqual([]);
    expect(w.quoted.fees.map((f: { feeCode: string; kind: string; amountFen: number }) => [f.feeCode, f.kind, f.amountFen])).toEqual([['INTL_LD_DEPOSIT', 'prestore', 50000]]);
    expect(w.submitted.status).toBe('completed');
    expect((await balance(m.accountId)).usableBalanceFen).toBe(50000);
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ long_distance_level: 'international' });
    expect(await commands(m.subscriberId)).toEqual([expect.objectContaining({ command: 'long_distance_level', from: 'domestic', level: 'international' })]);

    const same = await walkOrder(api, body('LONG_DISTANCE_LEVEL', m, { level: 'international' }));
    expect(codes(same.checked)).toEqual(['SAME_LONG_DISTANCE_LEVEL']);
    const local = await walkOrder(api, body('LONG_DISTANCE_LEVEL', m, { level: 'local' }));
    expect(local.quoted.fees).toEqual([]);
    expect(local.submitted.status).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ long_distance_level: 'local' });
    expect(await checkConservation(db(), [m.accountId])).toMatchObject({ differing: [] });
  });

  test('R-ORD-7 INTL_ROAMING on needs the signed guarantee and takes the deposit; off ends the feature', async () => {
    const m = await openMobile();
    const before = await domainState();
    const unsigned = await walkOrder(api, body('INTL_ROAMING', m, { action: 'on' }));
    expect(codes(unsigned.checked)).toEqual(['GUARANTEE_REQUIRED']);
    expect(await domainState()).toEqual(before);
    const on = await walkOrder(api, body('INTL_ROAMING', m, { action: 'on', guaranteeSigned: true }));
    expect(on.quoted.fees.map((f: { feeCode: string; kind: string; amountFen: number }) => [f.feeCode, f.kind, f.amountFen])).toEqual([['INTL_ROAMING_DEPOSIT', 'prestore', 50000]]);
    expect(on.submitted.status).toBe('completed');
    expect((await balance(m.accountId)).usableBalanceFen).toBe(50000);
    expect(await offersOf(m.subscriberId)).toContainEqual(['INTL_ROAMING', true]);
    const twice = await walkOrder(api, body('INTL_ROAMING', m, { action: 'on', guaranteeSigned: true }));
    expect(codes(twice.checked)).toEqual(['INTL_ROAMING_ALREADY_ON']);

    const off = await walkOrder(api, body('INTL_ROAMING', m, { action: 'off' }));
    expect(off.quoted.fees).toEqual([]);
    expect(off.submitted.status).toBe('completed');
    expect(await offersOf(m.subscriberId)).toContainEqual(['INTL_ROAMING', false]);
    expect((await commands(m.subscriberId)).map((c) => [c.command, c.feature])).toEqual([
      ['feature_on', 'INTL_ROAMING'],
      ['feature_off', 'INTL_ROAMING'],
    ]);
    const offAgain = await walkOrder(api, body('INTL_ROAMING', m, { action: 'off' }));
    expect(codes(offAgain.checked)).toEqual(['INTL_ROAMING_NOT_ON']);
  });

  test('R-ORD-7 a corporate bank-collection account (对公帐号) opens international long distance and roaming without deposit or guarantee', async () => {
    const org = await organisation();
    const m = await openMobile({
      customerId: org.customerId,
      documents: org.docs,
      newAccount: { billingType: 'monthly', paymentMethod: 'bank_collection', bankName: '建设银行', bankAccountHolder: '天津某某物流有限公司', bankAccountNumber: '6227000011223344556' },
    });
    const ld = await walkOrder(api, body('LONG_DISTANCE_LEVEL', m, { documents: org.docs, level: 'international' }));
    expect(codes(ld.checked)).toEqual([]);
    expect(ld.quoted.fees).toEqual([]);
    const roam = await walkOrder(api, body('INTL_ROAMING', m, { documents: org.docs, action: 'on' }));
    expect(codes(roam.checked)).toEqual([]);
    expect(roam.quoted.fees).toEqual([]);
    expect(roam.submitted.status).toBe('completed');
    expect((await balance(m.accountId)).usableBalanceFen).toBe(0);
  });
});

describe('features and the SMS double confirmation', () => {
  test('R-ORD-6 FEATURES with CRBT waits for the SMS reply; nothing applies until the customer confirms', async () => {
    const m = await openMobile();
    const w = await walkOrder(api, body('FEATURES', m, { add: ['CRBT', 'CALLER_ID'] }));
    expect(codes(w.checked)).toEqual([]);
    expect(w.checked.notices[0].zh).toContain('短信二次确认');
    expect(w.submitted.status).toBe('awaiting_confirmation');
    expect(w.submitted.confirmation).toMatchObject({ status: 'pending', serviceNumber: m.serviceNumber });
    expect(w.submitted.confirmation.text.zh).toContain('彩铃');
    expect(await offersOf(m.subscriberId)).toEqual([['W3-46', true]]);
    const sms = await db().selectFrom('outbox').selectAll().where('event_type', '=', 'notification.sms_confirmation_requested').where('aggregate_id', '=', String(w.created.orderId)).execute();
    expect(sms).toHaveLength(1);

    const yes = await api.call('POST', `/api/v1/orders/${w.created.orderId}/confirmation`, { as: 'front_desk', body: { accepted: true } });
    expect(yes.status, JSON.stringify(yes.body)).toBe(200);
    expect(yes.body).toMatchObject({ status: 'completed', confirmation: { status: 'confirmed' } });
    expect(await offersOf(m.subscriberId)).toEqual([
      ['W3-46', true],
      ['CRBT', true],
      ['CALLER_ID', true],
    ]);
    expect((await commands(m.subscriberId)).map((c) => [c.command, c.feature])).toEqual([
      ['feature_on', 'CRBT'],
      ['feature_on', 'CALLER_ID'],
    ]);

    // removing needs no confirmation
    const off = await walkOrder(api, body('FEATURES', m, { remove: ['CALLER_ID'] }));
    expect(off.submitted.status).toBe('completed');
    expect(await offersOf(m.subscriberId)).toContainEqual(['CALLER_ID', false]);
  });

  test('R-ORD-5 a FEATURES order awaiting its SMS confirmation holds the subscriber; R-ORD-6 the decline cancels it with the reason and frees it', async () => {
    const m = await openMobile();
    const w = await walkOrder(api, body('FEATURES', m, { add: ['DATA-10'] }));
    expect(w.submitted.status).toBe('awaiting_confirmation');
    const blocked = await walkOrder(api, body('SUSPEND', m));
    expect(codes(blocked.checked)).toEqual(['ORDER_IN_TRANSIT']);
    expect(blocked.checked.checks.failures[0].details).toMatchObject({ orderId: w.created.orderId, subject: `subscriber:${m.subscriberId}` });

    const no = await api.call('POST', `/api/v1/orders/${w.created.orderId}/confirmation`, { as: 'front_desk', body: { accepted: false, reason: '客户回复 N' } });
    expect(no.status).toBe(200);
    expect(no.body).toMatchObject({ status: 'cancelled', cancelReason: '客户回复 N', confirmation: { status: 'declined', reason: '客户回复 N' } });
    expect(await offersOf(m.subscriberId)).toEqual([['W3-46', true]]);
    const got = await api.call('GET', `/api/v1/orders/${w.created.orderId}`);
    expect(got.body).toMatchObject({ status: 'cancelled', confirmation: { status: 'declined', reason: '客户回复 N' } });

    const free = await walkOrder(api, body('SUSPEND', m));
    expect(codes(free.checked)).toEqual([]);
    expect(free.submitted.status).toBe('completed');
  });

  test('R-ORD-1 FEATURES refusals: unknown, wrong kind or network, roaming, already on, not on — nothing changes', async () => {
    const m = await openMobile();
    await walkOrder(api, body('FEATURES', m, { add: ['EVDO'] }));
    const before = await domainState();
    const w = await walkOrder(api, body('FEATURES', m, { add: ['NO_SUCH', 'G2-18', 'QINQING', 'INTL_ROAMING', 'EVDO'], remove: ['CALLER_ID'] }));
    expect(codes(w.checked).sort()).toEqual(
      ['OFFER_ALREADY_SUBSCRIBED', 'OFFER_KIND_MISMATCH', 'OFFER_NETWORK_MISMATCH', 'OFFER_NETWORK_MISMATCH', 'OFFER_NOT_FOUND', 'OFFER_NOT_SUBSCRIBED', 'USE_INTL_ROAMING_ORDER'].sort(),
    );
    const empty = await walkOrder(api, body('FEATURES', m, {}));
    expect(codes(empty.checked)).toEqual(['NOTHING_TO_CHANGE']);
    expect(await domainState()).toEqual(before);
  });
});

describe('change data and number', () => {
  test('R-CUS-2 CHANGE_DATA changes contact phone and address; receipt, audit and event show the phone masked, before and after', async () => {
    const m = await openMobile();
    const w = await walkOrder(api, { businessType: 'CHANGE_DATA', customerId: m.customerId, documents: OWNER_DOCS, contactPhone: '13922223333', address: '天津市南开区鞍山西道 5 号' });
    expect(codes(w.checked)).toEqual([]);
    const phone = w.checked.changes.find((c: { label: { zh: string } }) => c.label.zh === '联系电话');
    expect(phone.value).toBe('138****1111 → 139****3333');
    expect(w.submitted.status).toBe('completed');
    const c = await db().selectFrom('customers').selectAll().where('customer_id', '=', m.customerId).executeTakeFirstOrThrow();
    expect(c).toMatchObject({ contact_phone: '13922223333', address: '天津市南开区鞍山西道 5 号' });
    const [a] = await audits('customer.change_contact', m.customerId);
    expect(a?.before).toMatchObject({ contactPhone: '138****1111', address: '天津市河西区友谊路 10 号' });
    expect(a?.after).toMatchObject({ contactPhone: '139****3333', address: '天津市南开区鞍山西道 5 号' });
    const ev = await db().selectFrom('outbox').selectAll().where('event_type', '=', 'customer.updated').where('aggregate_id', '=', String(m.customerId)).execute();
    expect(ev).toHaveLength(1);
    // the order's own input is the authorised operator's detail view; what it shows as changes and result is masked
    for (const text of [JSON.stringify(a), JSON.stringify(ev), JSON.stringify(w.submitted.changes), JSON.stringify(w.submitted.result)]) {
      expect(text).not.toContain('13922223333');
      expect(text).not.toContain('13800001111');
    }
  });

  test('R-ORD-1 CHANGE_DATA refusals and a broadband install address', async () => {
    const m = await openMobile();
    const before = await domainState();
    const w = await walkOrder(api, body('CHANGE_DATA', m, { contactPhone: '12345', installAddress: '友谊路 12 号' }));
    expect(codes(w.checked).sort()).toEqual(['INSTALL_ADDRESS_NOT_APPLICABLE', 'INVALID_CONTACT_PHONE']);
    expect(JSON.stringify(w.checked.checks)).not.toContain('12345');
    const same = await walkOrder(api, { businessType: 'CHANGE_DATA', customerId: m.customerId, documents: OWNER_DOCS, contactPhone: '13800001111' });
    expect(codes(same.checked)).toEqual(['NOTHING_TO_CHANGE']);
    const noSub = await walkOrder(api, { businessType: 'CHANGE_DATA', customerId: m.customerId, documents: OWNER_DOCS, installAddress: '友谊路 12 号' });
    expect(codes(noSub.checked)).toEqual(['SUBSCRIBER_REQUIRED']);
    expect(await domainState()).toEqual(before);

    const bb = await env.ctx.accounts.createSubscriber(system, { customerId: m.customerId, accountId: m.accountId, serviceNumber: `tjadsl${m.subscriberId}`, network: 'broadband' }, undefined, {
      installAddress: '友谊路 10 号 3-2-501',
    });
    const moved = await walkOrder(api, { businessType: 'CHANGE_DATA', customerId: m.customerId, subscriberId: bb.subscriberId, documents: OWNER_DOCS, installAddress: '友谊路 10 号 3-2-502' });
    expect(codes(moved.checked)).toEqual([]);
    expect(moved.submitted.status).toBe('completed');
    expect(await subscriberRow(bb.subscriberId)).toMatchObject({ install_address: '友谊路 10 号 3-2-502' });
    const [a] = await audits('subscriber.change_data', bb.subscriberId);
    expect(a).toMatchObject({ before: { installAddress: '友谊路 10 号 3-2-501' }, after: { installAddress: '友谊路 10 号 3-2-502' } });
  });

  test('R-X-10 CHANGE_NUMBER takes a pool number for the fee, freezes the old one for its cooling period and keeps the card', async () => {
    const m = await openMobile();
    const newNumber = await freeNumber(env.ctx);
    const w = await walkOrder(api, body('CHANGE_NUMBER', m, { newNumber }), { servicePassword: PASSWORD });
    expect(codes(w.checked)).toEqual([]);
    expect(w.quoted.fees.map((f: { feeCode: string; amountFen: number }) => [f.feeCode, f.amountFen])).toEqual([['CHANGE_NUMBER', 2000]]);
    expect(w.submitted.status, JSON.stringify(w.submitted)).toBe('completed');
    expect(await subscriberRow(m.subscriberId)).toMatchObject({ service_number: newNumber, iccid: m.iccid });
    expect(await numberRow(newNumber)).toMatchObject({ state: 'in_use', subscriber_id: m.subscriberId });
    const old = await numberRow(m.serviceNumber);
    expect(old.state).toBe('frozen');
    expect(old.cooling_until?.getTime()).toBeGreaterThan(env.clock.now().getTime());
    expect(await simRow(m.iccid)).toMatchObject({ service_number: newNumber, state: 'activated' });
    expect((await api.call('GET', `/api/v1/subscribers/${newNumber}`)).body).toMatchObject({ subscriberId: m.subscriberId });
    expect((await api.call('GET', `/api/v1/subscribers/${m.serviceNumber}`)).status).toBe(404);
    expect(await commands(m.subscriberId)).toEqual([expect.objectContaining({ command: 'change_number', oldNumber: m.serviceNumber, newNumber })]);
    expect(await audits('subscriber.change_number', m.subscriberId)).toHaveLength(1);
  });

  test('R-X-10 CHANGE_NUMBER refusals: the password, the same number, a number in use, a premium number without approval; with approval its price is quoted', async () => {
    const m = await openMobile();
    const other = await openMobile();
    const before = await domainState();
    const same = await walkOrder(api, body('CHANGE_NUMBER', m, { newNumber: m.serviceNumber }));
    expect(codes(same.checked).sort()).toEqual(['SAME_NUMBER', 'SERVICE_PASSWORD_REQUIRED']);
    const taken = await walkOrder(api, body('CHANGE_NUMBER', m, { newNumber: other.serviceNumber }), { servicePassword: PASSWORD });
    expect(codes(taken.checked).sort()).toEqual(['NUMBER_IN_USE', 'SERVICE_NUMBER_TAKEN']);
    const premium = await walkOrder(api, body('CHANGE_NUMBER', m, { newNumber: '13902208888' }), { servicePassword: PASSWORD });
    expect(codes(premium.checked)).toEqual(['NUMBER_NEEDS_APPROVAL']);
    expect(await domainState()).toEqual(before);
    const approved = await walkOrder(api, body('CHANGE_NUMBER', m, { newNumber: '13902208888', numberApprovedBy: '王经理' }), { servicePassword: PASSWORD, stopAfter: 'quote' });
    expect(approved.quoted.fees.map((f: { feeCode: string; amountFen: number }) => [f.feeCode, f.amountFen])).toEqual([
      ['CHANGE_NUMBER', 2000],
      ['NUMBER_LEVEL', 200000],
    ]);
  });
});

describe('itemised bill and invoice', () => {
  test('R-BIL-9 PRINT_BILL lists the subscriber’s published bill lines of the cycle with what is paid, and changes nothing', async () => {
    const m = await openMobile();
    expect((await balance(m.accountId)).usableBalanceFen).toBe(0);
    await env.ctx.money.postBill(system, m.accountId, {
      cycle: '2026-10',
      lines: [
        { subscriberId: m.subscriberId, item: 'RENT_PLAN', amountFen: 4600 },
        { subscriberId: m.subscriberId, item: 'DATA', amountFen: 300 },
      ],
    });
    await pay(m.accountId, 4700, `svc-bill-${m.subscriberId}`);
    const before = await domainState();
    const w = await walkOrder(api, body('PRINT_BILL', m, { cycle: '2026-10' }));
    expect(codes(w.checked)).toEqual([]);
    expect(w.submitted.status).toBe('completed');
    expect(w.submitted.result).toMatchObject({ cycle: '2026-10', serviceNumber: m.serviceNumber, totalFen: 4900, paidFen: 4700, openFen: 200 });
    expect(w.submitted.result.lines.map((l: { item: string; amountFen: number }) => [l.item, l.amountFen]).sort()).toEqual([
      ['DATA', 300],
      ['RENT_PLAN', 4600],
    ]);
    expect(w.submitted.changes.map((c: { label: { zh: string } }) => c.label.zh)).toEqual(expect.arrayContaining(['帐期', '合计']));
    expect(await domainState()).toEqual(before);

    const empty = await walkOrder(api, body('PRINT_BILL', m, { cycle: '2026-09' }));
    expect(codes(empty.checked)).toEqual(['NO_BILL_FOR_CYCLE']);
    const future = await walkOrder(api, body('PRINT_BILL', m, { cycle: '2027-01' }));
    expect(codes(future.checked)).toEqual(['CYCLE_IN_FUTURE']);
  });

  test('R-X-8 REPRINT_INVOICE issues a missing invoice, after which the payment cannot be reversed; the second one is a reprint', async () => {
    const m = await openMobile();
    const paymentId = await pay(m.accountId, 10000, `svc-inv-${m.subscriberId}`);
    const w = await walkOrder(api, { businessType: 'REPRINT_INVOICE', customerId: m.customerId, subscriberId: m.subscriberId, paymentId });
    expect(codes(w.checked)).toEqual([]);
    expect(w.checked.notices[0].zh).toContain('不能再冲正');
    expect(w.submitted.status).toBe('completed');
    expect(w.submitted.result.invoice).toMatchObject({ paymentId, reprint: false, invoicedAt: env.clock.now().toISOString() });
    const p = await db().selectFrom('payments').selectAll().where('payment_id', '=', paymentId).executeTakeFirstOrThrow();
    expect(p.invoiced_at?.toISOString()).toBe(env.clock.now().toISOString());
    expect(await audits('payment.invoice', paymentId)).toHaveLength(1);

    const rev = await api.call('POST', `/api/v1/payments/${paymentId}/reversal`, { as: 'front_desk', body: { reason: '录入错误' } });
    expect(rev.status).toBe(409);
    expect(rev.body.code).toBe('PAYMENT_INVOICED');

    const again = await walkOrder(api, { businessType: 'REPRINT_INVOICE', customerId: m.customerId, subscriberId: m.subscriberId, paymentId });
    expect(again.quoted.fees.map((f: { feeCode: string }) => f.feeCode)).toEqual(['INVOICE_REPRINT']);
    expect(again.submitted.result.invoice).toMatchObject({ paymentId, reprint: true });
    expect(await audits('payment.invoice_reprint', paymentId)).toHaveLength(1);
  });

  test('R-X-8 REPRINT_INVOICE refusals: unknown payment, another account’s payment, a reversed payment', async () => {
    const m = await openMobile();
    const other = await openMobile();
    const otherPayment = await pay(other.accountId, 5000, `svc-inv-other-${other.subscriberId}`);
    const reversed = await pay(m.accountId, 3000, `svc-inv-rev-${m.subscriberId}`);
    const r = await api.call('POST', `/api/v1/payments/${reversed}/reversal`, { as: 'front_desk', body: { reason: '录入错误' } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const before = await domainState();
    const inv = (paymentId: number) => ({ businessType: 'REPRINT_INVOICE', customerId: m.customerId, subscriberId: m.subscriberId, paymentId });
    expect(codes((await walkOrder(api, inv(999999))).checked)).toEqual(['PAYMENT_NOT_FOUND']);
    expect(codes((await walkOrder(api, inv(otherPayment))).checked)).toEqual(['PAYMENT_OF_OTHER_ACCOUNT']);
    expect(codes((await walkOrder(api, inv(reversed))).checked)).toEqual(['PAYMENT_REVERSED']);
    expect(await domainState()).toEqual(before);
  });
});

// last: it moves the simulated clock past the confirmation deadline
describe('SMS confirmation timeout', () => {
  test('R-ORD-6 no reply before sms_confirmation_minutes: the job cancels the order, and GET /orders/{id} tells the result and the reason', async () => {
    const m = await openMobile();
    const w = await walkOrder(api, body('FEATURES', m, { add: ['CRBT'] }));
    expect(w.submitted.status).toBe('awaiting_confirmation');
    const early = await env.ctx.jobs.runNow(CONFIRMATION_JOB);
    expect(early.result).toBe(0);
    env.clock.advance(1441 * 60_000);
    const run = await env.ctx.jobs.runNow(CONFIRMATION_JOB);
    expect(run.result).toBe(1);
    const got = await api.call('GET', `/api/v1/orders/${w.created.orderId}`);
    expect(got.body).toMatchObject({ status: 'cancelled', cancelReason: '二次确认超时', confirmation: { status: 'timed_out', reason: 'timeout' } });
    expect(await offersOf(m.subscriberId)).toEqual([['W3-46', true]]);
    const late = await api.call('POST', `/api/v1/orders/${w.created.orderId}/confirmation`, { as: 'front_desk', body: { accepted: true } });
    expect(late.status).toBe(409);
    // the hold is gone with the order
    const free = await walkOrder(api, body('SUSPEND', m));
    expect(codes(free.checked)).toEqual([]);
  });
});

stockConservedAfterAll(() => env);
