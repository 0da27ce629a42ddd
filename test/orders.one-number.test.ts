// 宽带手机一号通 BROADBAND_ONE_NUMBER (SPEC §8.3 R-BND-18, seed 000 §2) through the API: the existing
// mobile's data, a new broadband with the mobile's number (R-BND-2) installed in the same order
// (measurement room, address, bandwidth, plan, discount pack), the broadband fund prestore, the fee
// audit (R-ORD-2), the bundle BND-ONE-NUMBER, completion by the installation work order; every
// refusal with its code; bad input refused with nothing changed.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import type { Network } from '../src/platform/schema.ts';
import { type Api, stockConservedAfterAll, type TestEnv, testApi, testEnv } from './helpers.ts';
import { codes, e9OpenAccountBody, freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';
import { expectProblem, snapshotTables } from './snapshot.ts';

let env: TestEnv;
let api: Api;
/** the network of the bundle's mobile member, as the catalog says */
let mobileNetwork: Network;

const PASSWORD = '902417';
const FUND_ITEMS = ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'];

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  await setupOrders(env.ctx);
  // a broadband discount pack (优惠) the operator may pick in the order
  await env.ctx.catalog.importCatalog({
    brands: [],
    fees: [],
    offers: [
      {
        code: 'BB-NIGHT-SPEED',
        kind: 'pack',
        zh: '宽带夜间提速优惠包',
        en: 'Broadband night speed-up pack',
        network: 'broadband',
        validFrom: '2020-01-01',
        charges: [{ kind: 'recurring', item: 'ADDON_FEE', amountFen: 500 }],
      },
    ],
  });
  const offer = await env.ctx.catalog.offer('BND-ONE-NUMBER');
  mobileNetwork = (offer?.members?.find((m) => m.role === 'mobile')?.network ?? 'wcdma3g') as Network;
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

interface Mobile {
  customerId: number;
  subscriberId: number;
  accountId: number;
  serviceNumber: string;
}

/** An existing mobile of the bundle's network, opened through OPEN_ACCOUNT on a new real-time account. */
async function mobile(opts: { customerId?: number; planCode?: string } = {}): Promise<Mobile> {
  const customerId = opts.customerId ?? (await newCustomer(env.ctx, { name: '赵一号', password: PASSWORD })).customerId;
  const serviceNumber = await freeNumber(env.ctx);
  const w = await walkOrder(api, {
    businessType: 'OPEN_ACCOUNT',
    customerId,
    documents: OWNER_DOCS,
    newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
    members: [{ role: 'main', network: mobileNetwork, serviceNumber, iccid: await freeSim(env.ctx), planCode: opts.planCode ?? (mobileNetwork === 'gsm2g' ? 'G2-18' : 'W3-46') }],
    prestoreFen: 5000,
  });
  expect(w.submitted?.status, JSON.stringify(w.checked.checks)).toBe('completed');
  return { customerId, subscriberId: w.submitted.result.subscribers.main, accountId: w.submitted.result.accountId, serviceNumber };
}

const ADDRESS = '天津市河西区友谊路 10 号 3-2-501';
const ROOM = '河西友谊路测量室';

function oneNumber(m: Mobile, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    businessType: 'BROADBAND_ONE_NUMBER',
    customerId: m.customerId,
    subscriberId: m.subscriberId,
    documents: OWNER_DOCS,
    planCode: 'BB-20M',
    measurementRoom: ROOM,
    standardAddress: '天津市河西区友谊路 10 号',
    installAddress: ADDRESS,
    bandwidthMbps: 20,
    packs: ['BB-NIGHT-SPEED'],
    broadbandFundFen: 30000,
    ...extra,
  };
}

function without(body: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([k]) => !keys.includes(k)));
}

/** Check only; the codes of the failures. */
async function refusals(body: Record<string, unknown>): Promise<{ codes: string[]; failures: { code: string; message: { zh: string; en: string }; fix: { zh: string; en: string } }[] }> {
  const w = await walkOrder(api, body, { stopAfter: 'check' });
  expect(w.checked.status).toBe('draft');
  return { codes: codes(w.checked), failures: w.checked.checks.failures };
}

describe('R-BND-18 broadband–mobile one number', () => {
  test('R-BND-18 one order pulls the mobile, installs a broadband with its number, binds BND-ONE-NUMBER, takes the audited fees and the broadband fund; the work order completes it', async () => {
    const m = await mobile();
    const w = await walkOrder(api, oneNumber(m), { stopAfter: 'check' });
    expect(codes(w.checked)).toEqual([]);
    const id = w.created.orderId;
    // the mobile's data as pulled, and the new broadband, on the order
    const changes = (w.checked.changes as { label: { zh: string }; value: string }[]).map((c) => `${c.label.zh}=${c.value}`);
    expect(changes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^手机·号码=${m.serviceNumber}`)),
        `宽带·宽带帐号=${m.serviceNumber}`,
        `宽带·装机地址=${ADDRESS}`,
        `宽带·测量室=${ROOM}`,
        '宽带·带宽=20M',
      ]),
    );

    expect(w.checked.notices[0].zh).toContain('解绑前均不能单独办理换套餐');
    // R-ORD-2: the front desk may not waive the installation fee; the hall manager may, with a reason
    const refused = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'front_desk', body: { waivers: [{ feeCode: 'INSTALL', reason: '一号通新装' }] } });
    expectProblem(refused, 403, 'WAIVER_NOT_PERMITTED', 'front desk waives');
    const fund = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'manager', body: { waivers: [{ feeCode: 'BROADBAND_FUND', reason: 'x' }] } });
    expectProblem(fund, 422, 'FEE_NOT_WAIVABLE', 'waive the broadband fund');
    const quoted = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'manager', body: { waivers: [{ feeCode: 'INSTALL', reason: '一号通新装：安装调测费减免' }] } });
    expect(quoted.status, JSON.stringify(quoted.body)).toBe(200);
    const fees = quoted.body.fees.map((f: { feeCode: string; kind: string; amountFen: number; waivedFen: number }) => [f.feeCode, f.kind, f.amountFen, f.waivedFen]);
    expect(fees).toEqual([
      ['INSTALL', 'fee', 5800, 5800],
      ['BROADBAND_FUND', 'prestore', 30000, 0],
    ]);
    expect(quoted.body.payableFen).toBe(30000);

    const submitted = await api.call('POST', `/api/v1/orders/${id}/submit`, { as: 'front_desk', body: {} });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    const order = submitted.body;
    expect(order.status).toBe('submitted'); // the broadband waits for its installation
    const bbId = order.result.subscribers.broadband as number;
    expect(order.result.subscribers.mobile).toBe(m.subscriberId);

    // R-BND-2: the new broadband's account name is the mobile's number, on the mobile's account
    const db = env.ctx.database.db;
    const bb = await db.selectFrom('subscribers').selectAll().where('subscriber_id', '=', bbId).executeTakeFirstOrThrow();
    expect(bb).toMatchObject({ service_number: m.serviceNumber, network: 'broadband', customer_id: m.customerId, default_account_id: m.accountId, install_address: ADDRESS, bandwidth_mbps: 20, brand_code: 'BROADBAND' });
    const offers = await db.selectFrom('subscriber_offers').select('offer_code').where('subscriber_id', '=', bbId).where('ended_at', 'is', null).execute();
    expect(offers.map((o) => o.offer_code).sort()).toEqual(['BB-20M', 'BB-NIGHT-SPEED']);

    // the installation work order carries the address and the measurement room
    expect(order.workOrders).toHaveLength(1);
    expect(order.workOrders[0]).toMatchObject({ kind: 'installation', subscriberId: bbId, address: ADDRESS, measurementRoom: ROOM, status: 'open' });
    const open = await api.call('GET', '/api/v1/work-orders?status=open', { as: 'manager' });
    expect(open.body.items.find((x: { workOrderId: number }) => x.workOrderId === order.workOrders[0].workOrderId)).toMatchObject({ measurementRoom: ROOM, address: ADDRESS });

    // the bundle: a package of offer BND-ONE-NUMBER with the two members, both pointing at it
    const packageId = order.result.packageId as number;
    const pkg = await db.selectFrom('packages').selectAll().where('package_id', '=', packageId).executeTakeFirstOrThrow();
    expect(pkg).toMatchObject({ offer_code: 'BND-ONE-NUMBER', customer_id: m.customerId, account_id: m.accountId, order_id: id, ended_at: null });
    const members = await db.selectFrom('bundle_members').select(['member_role', 'subscriber_id', 'account_id']).where('package_id', '=', packageId).orderBy('member_role').execute();
    expect(members).toEqual([
      { member_role: 'broadband', subscriber_id: bbId, account_id: m.accountId },
      { member_role: 'mobile', subscriber_id: m.subscriberId, account_id: m.accountId },
    ]);
    const pointers = await db.selectFrom('subscribers').select('package_id').where('subscriber_id', 'in', [bbId, m.subscriberId]).execute();
    expect(pointers.map((p) => p.package_id)).toEqual([packageId, packageId]);
    const active = await env.ctx.bundles.activeBundles(db, [m.subscriberId, bbId]);
    expect([...active.values()].map((b) => [b.offerCode, b.role]).sort()).toEqual([
      ['BND-ONE-NUMBER', 'broadband'],
      ['BND-ONE-NUMBER', 'mobile'],
    ]);
    const events = await db.selectFrom('outbox').select(['event_type', 'payload']).where('aggregate_type', '=', 'package').where('aggregate_id', '=', String(packageId)).execute();
    expect(events.map((e) => e.event_type).sort()).toEqual(['bundle.bound', 'package.created', 'sync.bundle']);
    const sync = events.find((e) => e.event_type === 'sync.bundle')?.payload as { action: string; members: { role: string; serviceNumber: string }[] };
    expect(sync.action).toBe('bind');
    expect(sync.members.map((x) => [x.role, x.serviceNumber]).sort()).toEqual([
      ['broadband', m.serviceNumber],
      ['mobile', m.serviceNumber],
    ]);

    // the prestore: a broadband fund private to the broadband, paying only broadband items
    const books = await db.selectFrom('books').selectAll().where('account_id', '=', m.accountId).where('book_type', '=', 'restricted_fund').execute();
    expect(books).toHaveLength(1);
    expect(books[0]).toMatchObject({ subscriber_id: bbId, balance_fen: 30000 });
    expect([...(books[0]?.restricted_items ?? [])].sort()).toEqual([...FUND_ITEMS].sort());
    expect(order.result.money.prestoreFen).toBe(30000);
    expect((await checkConservation(db, [m.accountId])).differing).toEqual([]);

    // R-ORD-3 receipt: the install address, the measurement room, the waiver and who made it
    const html = await api.call('GET', `/api/v1/orders/${id}/receipt`, { as: 'front_desk' });
    expect(html.status).toBe(200);
    for (const s of ['宽带手机一号通', ADDRESS, ROOM, m.serviceNumber, '宽带专款预存', '一号通新装：安装调测费减免', 'manager']) expect(html.body).toContain(s);
    const audit = await db.selectFrom('audit_log').select(['action']).where('target_type', '=', 'package').where('target_id', '=', String(packageId)).execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['bundle.bind', 'package.create']);

    // the installation done completes the order and starts the broadband's service
    const done = await api.call('POST', `/api/v1/work-orders/${order.workOrders[0].workOrderId}/complete`, { as: 'manager', body: { note: '装机完成' } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'completed', measurementRoom: ROOM });
    const after = await api.call('GET', `/api/v1/orders/${id}`, { as: 'front_desk' });
    expect(after.body.status).toBe('completed');
  });

  test('R-BND-18 while the order is in transit the mobile takes no second one; once bound it is refused: BUNDLE_ALREADY_BOUND, BROADBAND_NUMBER_TAKEN', async () => {
    const m = await mobile();
    const first = await walkOrder(api, oneNumber(m), { as: 'manager' });
    expect(first.submitted.status).toBe('submitted');
    const inTransit = await refusals(oneNumber(m));
    expect(inTransit.codes).toContain('ORDER_IN_TRANSIT');
    const done = await api.call('POST', `/api/v1/work-orders/${first.submitted.workOrders[0].workOrderId}/complete`, { as: 'manager', body: {} });
    expect(done.status).toBe(200);
    const again = await refusals(oneNumber(m));
    expect(again.codes.sort()).toEqual(['BROADBAND_NUMBER_TAKEN', 'BUNDLE_ALREADY_BOUND']);
    for (const f of again.failures) {
      expect(f.message.zh.length).toBeGreaterThan(0);
      expect(f.message.en.length).toBeGreaterThan(0);
      expect(f.fix.zh.length).toBeGreaterThan(0);
      expect(f.fix.en.length).toBeGreaterThan(0);
    }
  });

  test('R-BND-18 the number already used by a broadband (not bound) is refused: BROADBAND_NUMBER_TAKEN', async () => {
    const m = await mobile();
    const old = await walkOrder(api, {
      businessType: 'OPEN_ACCOUNT',
      customerId: m.customerId,
      documents: OWNER_DOCS,
      accountId: m.accountId,
      members: [{ role: 'main', network: 'broadband', serviceNumber: m.serviceNumber, planCode: 'BB-4M', installAddress: ADDRESS, bandwidthMbps: 4 }],
    });
    expect(old.submitted.status).toBe('submitted');
    await api.call('POST', `/api/v1/work-orders/${old.submitted.workOrders[0].workOrderId}/complete`, { as: 'manager', body: {} });
    expect((await refusals(oneNumber(m))).codes).toEqual(['BROADBAND_NUMBER_TAKEN']);
  });

  test('R-BND-18 every missing installation detail at once: MEASUREMENT_ROOM_REQUIRED, INSTALL_ADDRESS_REQUIRED, BANDWIDTH_REQUIRED', async () => {
    const m = await mobile();
    const r = await refusals(without(oneNumber(m), 'measurementRoom', 'installAddress', 'bandwidthMbps'));
    expect(r.codes.sort()).toEqual(['BANDWIDTH_REQUIRED', 'INSTALL_ADDRESS_REQUIRED', 'MEASUREMENT_ROOM_REQUIRED']);
    expect((await refusals(oneNumber(m, { measurementRoom: '   ' }))).codes).toEqual(['MEASUREMENT_ROOM_REQUIRED']);
  });

  test('R-BND-18 the broadband plan decides: BANDWIDTH_NOT_AVAILABLE, a plan or pack of another network, an unknown plan', async () => {
    const m = await mobile();
    const speed = await refusals(oneNumber(m, { planCode: 'BB-4M', bandwidthMbps: 20 }));
    expect(speed.codes).toEqual(['BANDWIDTH_NOT_AVAILABLE']);
    expect(speed.failures[0]?.message.zh).toContain('4M');
    expect((await refusals(oneNumber(m, { planCode: 'W3-46' }))).codes).toEqual(['OFFER_NETWORK_MISMATCH']);
    expect((await refusals(oneNumber(m, { packs: ['QINQING'] }))).codes).toEqual(['OFFER_NETWORK_MISMATCH']);
    expect((await refusals(oneNumber(m, { planCode: 'BB-NOPE' }))).codes).toEqual(['OFFER_NOT_FOUND']);
  });

  test('R-BND-18 the mobile must be in normal service: suspended → MOBILE_NOT_NORMAL', async () => {
    const m = await mobile();
    const s = await walkOrder(api, { businessType: 'SUSPEND', customerId: m.customerId, subscriberId: m.subscriberId, documents: OWNER_DOCS }, { servicePassword: PASSWORD });
    expect(s.submitted?.status, JSON.stringify(s.checked.checks)).toBe('completed');
    expect((await refusals(oneNumber(m))).codes).toEqual(['MOBILE_NOT_NORMAL']);
  });

  test('R-BND-18 the customer and the mobile must match, the mobile must be a mobile of the bundle: SUBSCRIBER_OF_OTHER_CUSTOMER, NOT_A_MOBILE', async () => {
    const m = await mobile();
    const other = await newCustomer(env.ctx, { name: '钱别人' });
    expect((await refusals(oneNumber(m, { customerId: other.customerId }))).codes).toEqual(['SUBSCRIBER_OF_OTHER_CUSTOMER']);
    // a broadband of the customer is not the mobile the order starts from
    const bb = await walkOrder(api, {
      businessType: 'OPEN_ACCOUNT',
      customerId: m.customerId,
      documents: OWNER_DOCS,
      accountId: m.accountId,
      members: [{ role: 'main', network: 'broadband', serviceNumber: `tjbb${m.customerId}`, planCode: 'BB-4M', installAddress: ADDRESS, bandwidthMbps: 4 }],
    });
    const bbId = bb.submitted.result.subscribers.main as number;
    await api.call('POST', `/api/v1/work-orders/${bb.submitted.workOrders[0].workOrderId}/complete`, { as: 'manager', body: {} });
    expect((await refusals(oneNumber(m, { subscriberId: bbId }))).codes).toEqual(expect.arrayContaining(['NOT_A_MOBILE', 'BUNDLE_MEMBER_NETWORK']));
  });

  test('R-BND-18 a mobile of the wrong network, on a contract plan, or in a package is refused: BUNDLE_MEMBER_NETWORK, CONTRACT_PLAN_NOT_ALLOWED, ALREADY_IN_PACKAGE', async () => {
    // a mobile of the other generation
    const c = await newCustomer(env.ctx);
    const otherNet: Network = mobileNetwork === 'gsm2g' ? 'wcdma3g' : 'gsm2g';
    const n = await freeNumber(env.ctx);
    const o = await walkOrder(api, {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: OWNER_DOCS,
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      members: [{ role: 'main', network: otherNet, serviceNumber: n, iccid: await freeSim(env.ctx), planCode: otherNet === 'gsm2g' ? 'G2-18' : 'W3-46' }],
    });
    expect(o.submitted.status).toBe('completed');
    const wrong = { customerId: c.customerId, subscriberId: o.submitted.result.subscribers.main as number, accountId: o.submitted.result.accountId as number, serviceNumber: n };
    expect((await refusals(oneNumber(wrong))).codes).toEqual(['BUNDLE_MEMBER_NETWORK']);
    // §8.2: a 3G contract plan joins only a bundle that allows contract plans
    const offer = await env.ctx.catalog.offer('BND-ONE-NUMBER');
    if (mobileNetwork === 'wcdma3g') {
      const contract = await mobile({ planCode: 'W3-96-C24' });
      expect((await refusals(oneNumber(contract))).codes).toEqual(offer?.bundle?.allowsContractPlans ? [] : ['CONTRACT_PLAN_NOT_ALLOWED']);
      // an e9 package's mobile already has its broadband in the package
      const e9 = await e9OpenAccountBody(env.ctx, 'e9-C');
      const w = await walkOrder(api, e9.body);
      expect(w.submitted.status).toBe('submitted');
      const e9Mobile = { customerId: e9.customer.customerId, subscriberId: w.submitted.result.subscribers.mobile as number, accountId: w.submitted.result.accountId as number, serviceNumber: '' };
      expect((await refusals(oneNumber(e9Mobile))).codes).toContain('ALREADY_IN_PACKAGE');
    }
  });

  test('R-BND-18 bad input is refused with 4xx problem+json and changes nothing', async () => {
    const m = await mobile();
    // a draft and its refused steps: made before the snapshot, logged in for every operator used
    const draft = await api.call('POST', '/api/v1/orders', { as: 'front_desk', body: oneNumber(m) });
    expect(draft.status).toBe(201);
    await api.token('manager');
    const before = await snapshotTables(env.ctx);
    const bad: [string, Record<string, unknown>][] = [
      ['no plan', without(oneNumber(m), 'planCode')],
      ['no mobile', without(oneNumber(m), 'subscriberId')],
      ['unknown field', oneNumber(m, { broadbandNumber: 'x1234' })],
      ['mobile id 0', oneNumber(m, { subscriberId: 0 })],
      ['negative fund', oneNumber(m, { broadbandFundFen: -100 })],
      ['fractional fund', oneNumber(m, { broadbandFundFen: 10.5 })],
      ['bandwidth as text', oneNumber(m, { bandwidthMbps: '20M' })],
      ['empty measurement room', oneNumber(m, { measurementRoom: '' })],
      ['measurement room too long', oneNumber(m, { measurementRoom: 'x'.repeat(65) })],
      ['packs not a list', oneNumber(m, { packs: 'BB-NIGHT-SPEED' })],
      ['documents missing', without(oneNumber(m), 'documents')],
    ];
    for (const [label, body] of bad) expectProblem(await api.call('POST', '/api/v1/orders', { as: 'front_desk', body }), 400, undefined, label);
    // a customer or mobile that does not exist (the customer is created first through the customer API)
    expectProblem(await api.call('POST', '/api/v1/orders', { as: 'front_desk', body: oneNumber(m, { customerId: 987654 }) }), 422, 'UNKNOWN_REFERENCE', 'no such customer');
    expectProblem(await api.call('POST', '/api/v1/orders', { as: 'front_desk', body: oneNumber(m, { subscriberId: 987654 }) }), 422, 'UNKNOWN_REFERENCE', 'no such mobile');
    const id = draft.body.orderId;
    const early = await api.call('POST', `/api/v1/orders/${id}/submit`, { as: 'front_desk', body: {} });
    expect(early.status).toBeGreaterThanOrEqual(400);
    expect(early.status).toBeLessThan(500);
    expectProblem(early, early.status, undefined, 'submit before check');
    const quote = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'front_desk', body: {} });
    expect(quote.status).toBeGreaterThanOrEqual(400);
    expect(quote.status).toBeLessThan(500);
    expect(await snapshotTables(env.ctx)).toEqual(before);
  });
});

stockConservedAfterAll(() => env);
