// e9 fusion plan end to end through the API (SPEC §9.1, R-E9-1..4).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cycleOf } from '../src/platform/clock.ts';
import { type Api, system, type TestEnv, testApi, testEnv, stockConservedAfterAll } from './helpers.ts';
import { codes, e9OpenAccountBody, freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  await setupOrders(env.ctx);
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

const e9Body = (packageCode = 'e9-C') =>
  e9OpenAccountBody(env.ctx, packageCode, { accountManager: '李经理', handset: { imei: '356938035643809', model: 'ZTE V5', priceFen: 29800 } });

describe('e9 new user', () => {
  test('R-E9-1 one order opens mobile and broadband on one virtual account with the 100 credit, handset and fees', async () => {
    const { body } = await e9Body();
    const w = await walkOrder(api, body);
    expect(codes(w.checked)).toEqual([]);
    const fees = w.quoted.fees.map((f: { feeCode: string; amountFen: number }) => [f.feeCode, f.amountFen]);
    expect(fees).toEqual(expect.arrayContaining([['SIM_CARD', 0], ['INSTALL', 5800], ['FREE_CREDIT', 10000]]));
    expect(w.quoted.payableFen).toBe(15800);
    expect(w.submitted.status).toBe('submitted'); // broadband waits for its installation
    const subs = w.submitted.result.subscribers;
    const mobile = await api.call('GET', `/api/v1/subscribers/${body.members[0]?.serviceNumber}`);
    expect(mobile.status).toBe(200);
    const accountId = w.submitted.result.accountId;
    const acc = await api.call('GET', `/api/v1/accounts/${accountId}`);
    expect(acc.body.billingType).toBe('virtual');
    expect(acc.body.subscribers.map((s: { subscriberId: number }) => s.subscriberId).sort()).toEqual([subs.mobile, subs.broadband].sort());
    const bal = await api.call('GET', `/api/v1/accounts/${accountId}/balance`);
    expect(bal.body.usableBalanceFen).toBe(10000);
    const handset = await env.ctx.database.db.selectFrom('handsets').selectAll().where('imei', '=', '356938035643809').executeTakeFirstOrThrow();
    expect(handset.subscriber_id).toBe(subs.mobile);
    // the installation work order completes the order
    const wo = w.submitted.workOrders[0];
    expect(wo.kind).toBe('installation');
    const done = await api.call('POST', `/api/v1/work-orders/${wo.workOrderId}/complete`, { as: 'manager', body: { note: '装机完成' } });
    expect(done.status).toBe(200);
    const order = await api.call('GET', `/api/v1/orders/${w.created.orderId}`);
    expect(order.body.status).toBe('completed');
  });

  test('R-E9-4 the order screen tells in which month the mobile, and with it the broadband, stops', async () => {
    const c = await e9Body('e9-C');
    const g = await e9Body('e9-G');
    const wc = await walkOrder(api, c.body, { stopAfter: 'check' });
    const wg = await walkOrder(api, g.body, { stopAfter: 'check' });
    expect(wc.checked.notices[0].zh).toContain('第 6 个月');
    expect(wc.checked.notices[0].zh).toContain('宽带随之停机');
    expect(wg.checked.notices[0].zh).toContain('第 4 个月');
  });
});

// ---- R-E9-2 special fund and R-E9-3 renewal (加装) ------------------------------------------------

const FUND_ITEMS = ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'];

/** R-E9-2 专款缴费: 600 restricted to the broadband items, private to the broadband (R-ACC-12). */
async function specialFund(accountId: number, broadbandId: number) {
  const r = await api.call('POST', `/api/v1/accounts/${accountId}/payments`, {
    as: 'front_desk',
    body: { amountFen: 60000, bookType: 'restricted_fund', restrictedItems: FUND_ITEMS, subscriberId: broadbandId, channel: 'front_desk', idempotencyKey: `e9-fund-${accountId}` },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

/** An existing broadband subscriber opened earlier with OPEN_ACCOUNT, its installation done. */
async function oldBroadband(opts: { planCode?: string; billingType?: 'virtual' | 'monthly'; segment?: 'personal' | 'family' } = {}) {
  const c = await newCustomer(env.ctx, { segment: opts.segment ?? 'family' });
  const w = await walkOrder(api, {
    businessType: 'OPEN_ACCOUNT',
    customerId: c.customerId,
    documents: OWNER_DOCS,
    newAccount: { billingType: opts.billingType ?? 'virtual', paymentMethod: 'cash' },
    members: [
      { role: 'main', network: 'broadband', serviceNumber: `tjold${c.customerId}`, planCode: opts.planCode ?? 'BB-4M', standardAddress: '天津市河西区友谊路 12 号', installAddress: '友谊路 12 号 2-1-302', bandwidthMbps: 4 },
    ],
  });
  expect(w.submitted?.status, JSON.stringify(w.checked.checks)).toBe('submitted');
  const done = await api.call('POST', `/api/v1/work-orders/${w.submitted.workOrders[0].workOrderId}/complete`, { as: 'manager', body: { note: '装机完成' } });
  expect(done.status).toBe(200);
  return { customerId: c.customerId as number, accountId: w.submitted.result.accountId as number, broadbandId: w.submitted.result.subscribers.main as number };
}

async function addOnBody(broadbandId: number, imei: string) {
  return {
    businessType: 'ADD_ON',
    subscriberId: broadbandId,
    packageCode: 'e9-G',
    documents: OWNER_DOCS,
    members: [
      {
        role: 'mobile',
        network: 'wcdma3g',
        serviceNumber: await freeNumber(env.ctx),
        iccid: await freeSim(env.ctx),
        features: ['EVDO'],
        handset: { imei, model: 'ZTE N600', priceFen: 29800 },
      },
    ],
  };
}

const waiveAll = [
  { feeCode: 'INSTALL', reason: 'e9 当期到期续费：安装调测费下调为 0' },
  { feeCode: 'SIM_CARD', reason: 'e9 当期到期续费：UIM 卡费下调为 0' },
];

describe('e9 special fund and renewal', () => {
  test('R-E9-2 the 600 special fund is private to the broadband and pays only its broadband items', async () => {
    const { body } = await e9Body('e9-C');
    const [mobileIn, broadbandIn] = body.members;
    const w = await walkOrder(api, { ...body, members: [{ ...mobileIn, handset: { imei: '356938035643817', model: 'ZTE V5', priceFen: 29800 } }, broadbandIn] });
    expect(w.submitted.status).toBe('submitted');
    const accountId = w.submitted.result.accountId as number;
    const { mobile, broadband } = w.submitted.result.subscribers as { mobile: number; broadband: number };

    const paid = await specialFund(accountId, broadband);
    const fund = paid.books.find((b: { bookId: number }) => b.bookId === paid.payment.bookId);
    expect(fund).toMatchObject({ bookType: 'restricted_fund', amountFen: 60000, subscriberId: broadband, restrictedItems: [...FUND_ITEMS].sort() });

    // the mobile's rent goes to the free credit (100) and then arrears, never to the fund; the broadband rent is paid by the fund
    const bill = await api.call('POST', `/api/v1/accounts/${accountId}/bills`, {
      as: 'accounting',
      body: {
        cycle: cycleOf(env.clock.now()),
        lines: [
          { subscriberId: mobile, item: 'RENT_PLAN', amountFen: 12000 },
          { subscriberId: broadband, item: 'RENT_BB', amountFen: 5000 },
          // an item the fund may pay, but of the mobile: the fund is private to the broadband
          { subscriberId: mobile, item: 'ADDON_FEE', amountFen: 1000 },
        ],
      },
    });
    expect(bill.status, JSON.stringify(bill.body)).toBe(201);
    const [b] = bill.body.bills;
    const line = (sub: number, item: string) => b.lines.find((l: { subscriberId: number; item: string }) => l.subscriberId === sub && l.item === item).lineId;
    const paidBy = (lineId: number) => b.writeOffs.filter((x: { lineId: number }) => x.lineId === lineId).map((x: { bookId: number; amountFen: number }) => [x.bookId === fund.bookId ? 'fund' : 'other', x.amountFen]);
    expect(paidBy(line(broadband, 'RENT_BB'))).toEqual([['fund', 5000]]);
    expect(paidBy(line(mobile, 'RENT_PLAN'))).toEqual([['other', 10000]]);
    expect(paidBy(line(mobile, 'ADDON_FEE'))).toEqual([]);
    const bal = await api.call('GET', `/api/v1/accounts/${accountId}/balance`);
    expect(bal.body.books.find((x: { bookId: number }) => x.bookId === fund.bookId).balanceFen).toBe(55000);
    expect(bal.body.arrearsFen).toBe(3000);
  });

  test('R-E9-3 renewal: one add-on order attaches e9-G to the old broadband, adds the mobile on its account, waives all but the 100 credit, then the 600 fund', async () => {
    const old = await oldBroadband();
    const body = await addOnBody(old.broadbandId, '356938035643825');
    const created = await api.call('POST', '/api/v1/orders', { as: 'front_desk', body });
    expect(created.status).toBe(201);
    const id = created.body.orderId;
    const checked = await api.call('POST', `/api/v1/orders/${id}/check`, { as: 'front_desk', body: {} });
    expect(codes(checked.body)).toEqual([]);
    // R-E9-4 on the add-on too: e9-G with only the 100 credit stops in month 4, the broadband with it
    expect(checked.body.notices[0].zh).toContain('第 4 个月');
    expect(checked.body.notices[0].zh).toContain('宽带随之停机');

    // R-ORD-2: the front desk may not waive; the hall manager does
    const denied = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'front_desk', body: { waivers: waiveAll } });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('WAIVER_NOT_PERMITTED');
    const quoted = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'manager', body: { waivers: waiveAll } });
    expect(quoted.status).toBe(200);
    const fees = quoted.body.fees.map((f: { feeCode: string; memberRole: string; amountFen: number; waivedFen: number }) => [f.feeCode, f.memberRole, f.amountFen, f.waivedFen]);
    expect(fees).toEqual(
      expect.arrayContaining([
        ['INSTALL', 'broadband', 5800, 5800],
        ['SIM_CARD', 'mobile', 2500, 2500],
      ]),
    );
    expect(quoted.body.fees.find((f: { feeCode: string }) => f.feeCode === 'FREE_CREDIT')).toMatchObject({ kind: 'prestore', amountFen: 10000, waivedFen: 0 });
    expect(quoted.body.payableFen).toBe(10000);
    const submitted = await api.call('POST', `/api/v1/orders/${id}/submit`, { as: 'front_desk', body: {} });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    expect(submitted.body.status).toBe('completed'); // the broadband is installed already: no work order
    const { mobile, broadband } = submitted.body.result.subscribers as { mobile: number; broadband: number };
    expect(broadband).toBe(old.broadbandId);
    expect(submitted.body.result.accountId).toBe(old.accountId);

    // the mobile is on the broadband's account; both are E_HOME members of one package
    const acc = await api.call('GET', `/api/v1/accounts/${old.accountId}`);
    expect(acc.body.subscribers.map((s: { subscriberId: number }) => s.subscriberId).sort()).toEqual([broadband, mobile].sort());
    const subs = await env.ctx.database.db.selectFrom('subscribers').select(['subscriber_id', 'brand_code', 'package_id']).where('subscriber_id', 'in', [broadband, mobile]).execute();
    expect(subs.map((s) => s.brand_code)).toEqual(['E_HOME', 'E_HOME']);
    expect(subs.map((s) => Number(s.package_id))).toEqual([submitted.body.result.packageId, submitted.body.result.packageId]);
    // the old plan ended, the package membership started
    const offers = await env.ctx.database.db.selectFrom('subscriber_offers').select(['offer_code', 'member_role', 'ended_at']).where('subscriber_id', '=', broadband).orderBy('subscriber_offer_id').execute();
    expect(offers.map((o) => [o.offer_code, o.member_role, o.ended_at === null])).toEqual([
      ['BB-4M', null, false],
      ['e9-G', 'broadband', true],
    ]);
    const handset = await env.ctx.database.db.selectFrom('handsets').selectAll().where('imei', '=', '356938035643825').executeTakeFirstOrThrow();
    expect(handset).toMatchObject({ subscriber_id: mobile, order_id: id });
    expect(Number(handset.price_fen)).toBe(29800);
    const bal = await api.call('GET', `/api/v1/accounts/${old.accountId}/balance`);
    expect(bal.body.usableBalanceFen).toBe(10000);

    // then the 600 special fund to the broadband
    const paid = await specialFund(old.accountId, broadband);
    expect(paid.books.find((b: { bookId: number }) => b.bookId === paid.payment.bookId)).toMatchObject({ bookType: 'restricted_fund', balanceFen: 60000, subscriberId: broadband });
  });

  test('R-E9-3 the add-on is refused when the term is not due, the account is not real-time, the segment is not family, or the line is in a package already', async () => {
    // a broadband plan with a 12-month term (test-only offer)
    await env.ctx.catalog.importCatalog({
      brands: [],
      fees: [],
      offers: [{ code: 'BB-4M-Y1', kind: 'plan', zh: 'ADSL 4M 包年', en: 'ADSL 4M yearly', brand: 'BROADBAND', network: 'broadband', validFrom: '2020-01-01', termMonths: 12, charges: [{ kind: 'recurring', item: 'RENT_BB', amountFen: 4500 }] }],
    });
    const old = await oldBroadband({ planCode: 'BB-4M-Y1', billingType: 'monthly', segment: 'personal' });
    const w = await walkOrder(api, await addOnBody(old.broadbandId, '356938035643833'));
    expect(codes(w.checked).sort()).toEqual(['CUSTOMER_SEGMENT_MISMATCH', 'PACKAGE_NEEDS_VIRTUAL_ACCOUNT', 'RENEWAL_NOT_DUE']);
    expect((await api.call('POST', `/api/v1/orders/${w.created.orderId}/submit`, { as: 'front_desk', body: {} })).status).toBe(409);
    // nothing changed: no package, the old plan and brand stay
    const sub = await env.ctx.database.db.selectFrom('subscribers').select(['brand_code', 'package_id']).where('subscriber_id', '=', old.broadbandId).executeTakeFirstOrThrow();
    expect(sub).toEqual({ brand_code: 'BROADBAND', package_id: null });
    expect((await env.ctx.database.db.selectFrom('packages').select('package_id').where('customer_id', '=', old.customerId).execute()).length).toBe(0);

    // 当期到期: a yearly term that ends in this cycle is due
    const c = await newCustomer(env.ctx, { segment: 'family' });
    const acc = await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: 'virtual', paymentMethod: 'cash' });
    const bb = await env.ctx.accounts.createSubscriber(system, { customerId: c.customerId, accountId: acc.accountId, serviceNumber: `tjdue${c.customerId}`, network: 'broadband' });
    const yearly = await env.ctx.catalog.offer('BB-4M-Y1');
    if (!yearly) throw new Error('BB-4M-Y1 not imported');
    const startedAt = new Date(env.clock.now().getTime() - 360 * 86_400_000); // a year ago less 5 days: ends this cycle
    await env.ctx.catalog.subscribe(env.ctx.database.db, system, [{ subscriberId: bb.subscriberId, offer: yearly, orderId: null, startsAt: startedAt }]);
    const due = await walkOrder(api, await addOnBody(bb.subscriberId, '356938035643833'), { stopAfter: 'check' });
    expect(codes(due.checked)).toEqual([]);

    // a broadband already in an e9 package
    const { body } = await e9Body('e9-G');
    const [mobileIn, broadbandIn] = body.members;
    const e9 = await walkOrder(api, { ...body, members: [{ ...mobileIn, handset: undefined }, broadbandIn] });
    const again = await walkOrder(api, await addOnBody(e9.submitted.result.subscribers.broadband, '356938035643833'), { stopAfter: 'check' });
    expect(codes(again.checked)).toEqual(['ALREADY_IN_PACKAGE']);
  });
});

stockConservedAfterAll(() => env);
