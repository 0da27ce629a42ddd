// Bundles through the API (SPEC §8, seed 000): BUNDLE_BIND with every refusal (R-BND-1..5, R-BND-16),
// the grant items shown from next month (R-BND-6), R-BND-14 / R-BND-11 refusals in the other order types,
// BUNDLE_UNBIND with its fee and the arrears refusal (R-BND-15), and the bundle views.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { bindBundle, boundCustomer, BUNDLE_PASSWORD, bundleCustomer } from './bundle-helpers.ts';
import { type Api, freshResidentId, system, type TestEnv, testApi, testEnv } from './helpers.ts';
import { codes, freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';

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

const db = () => env.ctx.database.db;
const bind = (customerId: number, offerCode: string, members: { role: string; serviceNumber: string }[], opts: Parameters<typeof walkOrder>[2] = {}) =>
  walkOrder(api, { businessType: 'BUNDLE_BIND', customerId, offerCode, members, documents: OWNER_DOCS }, opts);
const unbind = (customerId: number, serviceNumber: string, opts: Parameters<typeof walkOrder>[2] = {}) =>
  walkOrder(api, { businessType: 'BUNDLE_UNBIND', customerId, serviceNumber, documents: OWNER_DOCS }, { servicePassword: BUNDLE_PASSWORD, ...opts });
const subscriberRow = (id: number) => db().selectFrom('subscribers').selectAll().where('subscriber_id', '=', id).executeTakeFirstOrThrow();
const events = async (type: string, aggregateId: number) =>
  (await db().selectFrom('outbox').select('payload').where('event_type', '=', type).where('aggregate_id', '=', String(aggregateId)).orderBy('event_id').execute()).map((e) => e.payload as Record<string, unknown>);
const failure = (order: { checks?: { failures: { code: string }[] } | null }, code: string) => (order.checks?.failures ?? []).find((f) => f.code === code) as { code: string; message: { zh: string; en: string }; fix: { zh: string; en: string } } | undefined;

describe('catalog: bundle offers (SPEC §8)', () => {
  test('R-BND-6 GET /catalog/offers?kind=bundle lists every demo bundle with its terms and grant items', async () => {
    const r = await api.call('GET', '/api/v1/catalog/offers?kind=bundle', { as: 'front_desk' });
    expect(r.status).toBe(200);
    const byCode = new Map((r.body.items as { offerCode: string }[]).map((o) => [o.offerCode, o as Record<string, any>])); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect([...byCode.keys()].sort()).toEqual(['BND-2G-BB', 'BND-2G-BB-FIX', 'BND-2G-BB-MOB', 'BND-3G-BB', 'BND-3G-BB-FIX', 'BND-MF-1PLUS1', 'BND-ONE-NUMBER']);
    expect(byCode.get('BND-2G-BB')).toMatchObject({
      kind: 'bundle',
      linkage: 'next_cycle_if_funded',
      bundle: { generation: '2G', requiresJointAccount: true, requiresSameNumber: true, familyRoles: null, grants: [{ role: 'mobile', kind: 'money', amountFen: 2000 }] },
    });
    expect(byCode.get('BND-3G-BB')?.bundle).toMatchObject({ generation: '3G', requiresJointAccount: false, allowsContractPlans: true, grants: [{ role: 'mobile', kind: 'pack', packOfferCode: 'DATA-100M-BND' }] });
    expect(byCode.get('BND-2G-BB-FIX')?.bundle.familyRoles).toEqual(['mobile', 'fixed']);
    expect(byCode.get('BND-MF-1PLUS1')).toMatchObject({ forbiddenSwitches: ['SHARED-MIN'], bundle: { generation: 'other', oncePerMonth: true, requiresSameNumber: false, requiresJointAccount: true } });
    expect(byCode.get('BND-ONE-NUMBER')).toMatchObject({ linkage: 'next_cycle_if_funded', bundle: { generation: 'other', requiresSameNumber: true } });
    const plan = await api.call('GET', '/api/v1/catalog/offers/G2-18', { as: 'front_desk' });
    expect(plan.body.bundle).toBeNull();
    const bad = await api.call('GET', '/api/v1/catalog/offers?kind=bundles', { as: 'front_desk' });
    expect(bad.status).toBe(400);
  });
});

describe('BUNDLE_BIND (R-BND-1..6)', () => {
  test('R-BND-6 a 2G bind end to end: grant items from the 1st of next month, quote 0, receipt, package with linkage, members, events bundle.bound and sync.bundle', async () => {
    const c = await bundleCustomer(env, api);
    const w = await bind(c.customerId, 'BND-2G-BB', c.members);
    expect(codes(w.checked)).toEqual([]);
    expect(w.checked.changes).toEqual(expect.arrayContaining([expect.objectContaining({ label: expect.objectContaining({ zh: '优惠项目·手机' }), value: expect.stringContaining('2026-12-01 起') })]));
    expect(w.checked.notices[0].zh).toContain('2026-12-01');
    expect(w.quoted.fees).toEqual([]);
    expect(w.quoted.payableFen).toBe(0);
    expect(w.submitted.status).toBe('completed');
    const packageId = w.submitted.result.packageId as number;
    const pkg = await db().selectFrom('packages').selectAll().where('package_id', '=', packageId).executeTakeFirstOrThrow();
    expect(pkg).toMatchObject({ offer_code: 'BND-2G-BB', customer_id: c.customerId, account_id: c.mobile.accountId, linkage: 'next_cycle_if_funded', order_id: w.created.orderId, ended_at: null });
    const members = await db().selectFrom('bundle_members').selectAll().where('package_id', '=', packageId).orderBy('member_role').execute();
    expect(members.map((m) => [m.member_role, m.subscriber_id, m.account_id, m.left_at])).toEqual([
      ['broadband', c.broadband.subscriberId, c.broadband.accountId, null],
      ['mobile', c.mobile.subscriberId, c.mobile.accountId, null],
    ]);
    expect((await subscriberRow(c.mobile.subscriberId)).package_id).toBe(packageId);
    expect((await subscriberRow(c.broadband.subscriberId)).package_id).toBe(packageId);
    expect(await events('bundle.bound', packageId)).toEqual([expect.objectContaining({ packageId, offerCode: 'BND-2G-BB', orderId: w.created.orderId })]);
    expect(await events('sync.bundle', packageId)).toEqual([
      {
        action: 'bind',
        packageId,
        offerCode: 'BND-2G-BB',
        members: expect.arrayContaining([
          { role: 'mobile', serviceNumber: c.mobile.serviceNumber, network: 'gsm2g' },
          { role: 'broadband', serviceNumber: c.broadband.serviceNumber, network: 'broadband' },
        ]),
      },
    ]);
    const audit = await db().selectFrom('audit_log').selectAll().where('action', '=', 'bundle.bind').where('target_id', '=', String(packageId)).execute();
    expect(audit).toHaveLength(1);
    const receipt = await api.call('GET', `/api/v1/orders/${w.created.orderId}/receipt`);
    expect(receipt.status).toBe(200);
    expect(receipt.body).toContain('2G+宽带 捆绑');
    expect(receipt.body).toContain(c.mobile.serviceNumber);
    // the 360 panel and the unbind query
    const panel = await api.call('GET', `/api/v1/customers/${c.customerId}/bundles`, { as: 'front_desk' });
    expect(panel.status).toBe(200);
    expect(panel.body.items).toEqual([
      expect.objectContaining({ packageId, offerCode: 'BND-2G-BB', generation: '2G', status: 'active', endedAt: null, grants: [], familyNumbers: [], members: expect.arrayContaining([expect.objectContaining({ role: 'broadband', serviceNumber: c.broadband.serviceNumber, network: 'broadband', status: 'normal' })]) }),
    ]);
    const q = await api.call('GET', `/api/v1/bundles?serviceNumber=${c.mobile.serviceNumber}`, { as: 'front_desk' });
    expect(q.status).toBe(200);
    expect(q.body.items.map((b: { packageId: number }) => b.packageId)).toEqual([packageId]);
    const one = await api.call('GET', `/api/v1/bundles/${packageId}`, { as: 'front_desk' });
    expect(one.body).toMatchObject({ packageId, status: 'active' });
  });

  test('R-BND-1 the broadband may be an in-transit new installation; a number not in service is refused', async () => {
    const c = await bundleCustomer(env, api);
    const wo = await db().selectFrom('work_orders').selectAll().where('subscriber_id', '=', c.broadband.subscriberId).executeTakeFirstOrThrow();
    expect(wo.status).not.toBe('completed');
    const missing = await bind(c.customerId, 'BND-2G-BB', [c.members[0] as { role: string; serviceNumber: string }, { role: 'broadband', serviceNumber: 'nosuchbroadband01' }]);
    expect(codes(missing.checked)).toEqual(['BUNDLE_MEMBER_NOT_IN_SERVICE']);
    expect(failure(missing.checked, 'BUNDLE_MEMBER_NOT_IN_SERVICE')?.fix.zh).toContain('新装');
    await bindBundle(api, { customerId: c.customerId, offerCode: 'BND-2G-BB', members: c.members });
  });

  test('R-BND-2 the broadband account must equal the mobile number (fix: change the broadband number first)', async () => {
    const c = await bundleCustomer(env, api, { broadbandNumber: `tjadsl${Date.now() % 1_000_000}` });
    const w = await bind(c.customerId, 'BND-2G-BB', c.members);
    expect(codes(w.checked)).toEqual(['BUNDLE_NUMBER_MISMATCH']);
    const f = failure(w.checked, 'BUNDLE_NUMBER_MISMATCH');
    expect(f?.message.zh).toBe('手机和宽带必须为同号');
    expect(f?.fix.zh).toContain('宽带帐号改为手机号码');
  });

  test('R-BND-3 the broadband of another person (other name and ID) is refused; the broadband given to the same customer passes', async () => {
    const c = await bundleCustomer(env, api, { jointAccount: false, generation: '3G' });
    // a broadband of someone else with the mobile's number
    const other = await newCustomer(env.ctx, { name: '王别人' });
    const acc = await env.ctx.accounts.createAccount(system, { customerId: other.customerId, billingType: 'virtual', paymentMethod: 'cash' });
    const n = await freeNumber(env.ctx);
    const iccid = await freeSim(env.ctx);
    const m = await walkOrder(api, { businessType: 'OPEN_ACCOUNT', customerId: c.customerId, documents: OWNER_DOCS, newAccount: { billingType: 'virtual', paymentMethod: 'cash' }, members: [{ role: 'main', network: 'wcdma3g', serviceNumber: n, iccid, planCode: 'W3-46' }] });
    expect(m.submitted.status).toBe('completed');
    await env.ctx.accounts.createSubscriber(system, { customerId: other.customerId, accountId: acc.accountId, serviceNumber: n, network: 'broadband' });
    const w = await bind(c.customerId, 'BND-3G-BB', [
      { role: 'mobile', serviceNumber: n },
      { role: 'broadband', serviceNumber: n },
    ]);
    expect(codes(w.checked).sort()).toEqual(['BUNDLE_MEMBER_NO_PLAN', 'BUNDLE_OWNER_MISMATCH']);

    // the same person: the broadband given back to the mobile's owner binds
    await db().updateTable('subscribers').set({ customer_id: c.customerId }).where('service_number', '=', n).where('network', '=', 'broadband').execute();
    const ok = await bind(c.customerId, 'BND-3G-BB', [
      { role: 'mobile', serviceNumber: n },
      { role: 'broadband', serviceNumber: n },
    ], { stopAfter: 'check' });
    expect(codes(ok.checked).filter((x) => x !== 'BUNDLE_MEMBER_NO_PLAN')).toEqual([]);
  });

  test('R-BND-4 2G types need one joint account (fix: JOINT_ACCOUNT first); 3G binds without one', async () => {
    const c = await bundleCustomer(env, api, { jointAccount: false });
    const w = await bind(c.customerId, 'BND-2G-BB', c.members);
    expect(codes(w.checked)).toEqual(['BUNDLE_JOINT_ACCOUNT_REQUIRED']);
    expect(failure(w.checked, 'BUNDLE_JOINT_ACCOUNT_REQUIRED')?.fix.en).toContain('JOINT_ACCOUNT');
    // after the joint account it binds
    const j = await walkOrder(api, { businessType: 'JOINT_ACCOUNT', customerId: c.customerId, subscriberId: c.broadband.subscriberId, accountId: c.mobile.accountId, documents: OWNER_DOCS });
    expect(codes(j.checked)).toEqual([]);
    expect(j.submitted.status).toBe('completed');
    await bindBundle(api, { customerId: c.customerId, offerCode: 'BND-2G-BB', members: c.members });

    const g3 = await bundleCustomer(env, api, { generation: '3G' });
    expect(g3.broadband.accountId).not.toBe(g3.mobile.accountId);
    const b = await bindBundle(api, { customerId: g3.customerId, offerCode: 'BND-3G-BB', members: g3.members });
    expect(b.order.result.members).toHaveLength(2);
  });

  test('R-BND-5 status normal, not in another bundle or package, contract plans only where allowed, no reservation order; roles missing, unknown, duplicate', async () => {
    // already bound
    const c = await boundCustomer(env, api);
    const again = await bind(c.customerId, 'BND-2G-BB', c.members);
    expect(new Set(codes(again.checked))).toEqual(new Set(['BUNDLE_MEMBER_ALREADY_BOUND']));

    // not normal: suspended
    const s = await bundleCustomer(env, api);
    const sus = await walkOrder(api, { businessType: 'SUSPEND', customerId: s.customerId, subscriberId: s.mobile.subscriberId, documents: OWNER_DOCS });
    expect(sus.submitted.status).toBe('completed');
    const w1 = await bind(s.customerId, 'BND-2G-BB', s.members);
    expect(codes(w1.checked)).toEqual(['BUNDLE_MEMBER_NOT_NORMAL']);

    // a 3G contract plan joins a 3G bundle, but not one that does not allow contract plans
    const k = await bundleCustomer(env, api, { generation: '3G', mobilePlan: 'W3-96-C24' });
    const w2 = await bind(k.customerId, 'BND-ONE-NUMBER', k.members);
    expect(codes(w2.checked)).toEqual(['BUNDLE_CONTRACT_PLAN_NOT_ALLOWED']);
    await bindBundle(api, { customerId: k.customerId, offerCode: 'BND-3G-BB', members: k.members });

    // a member of an e9 package
    const e9 = await db().selectFrom('packages').select('package_id').where('offer_code', '=', 'e9-C').executeTakeFirst();
    const p = await bundleCustomer(env, api, { generation: '3G' });
    const pkgId =
      e9?.package_id ??
      (await db().insertInto('packages').values({ offer_code: 'e9-C', customer_id: p.customerId, account_id: p.mobile.accountId, linkage: 'immediate', order_id: null, started_at: env.clock.now() }).returning('package_id').executeTakeFirstOrThrow()).package_id;
    await db().updateTable('subscribers').set({ package_id: pkgId }).where('subscriber_id', '=', p.mobile.subscriberId).execute();
    const w3 = await bind(p.customerId, 'BND-3G-BB', p.members);
    expect(codes(w3.checked)).toEqual(['BUNDLE_MEMBER_IN_PACKAGE']);

    // a reservation order (next-cycle plan change) holds the plan
    const r = await bundleCustomer(env, api);
    const res = await walkOrder(api, { businessType: 'CHANGE_PLAN', subscriberId: r.mobile.subscriberId, planCode: 'SHARED-MIN', effective: 'next_cycle' });
    expect(res.submitted.status).toBe('completed');
    const w4 = await bind(r.customerId, 'BND-2G-BB', r.members);
    expect(codes(w4.checked)).toEqual(['RESERVATION_CONFLICT']);

    // roles
    const x = await bundleCustomer(env, api);
    const w5 = await bind(x.customerId, 'BND-2G-BB', [
      { role: 'mobile', serviceNumber: x.mobile.serviceNumber },
      { role: 'mobile', serviceNumber: x.mobile.serviceNumber },
      { role: 'tv', serviceNumber: x.mobile.serviceNumber },
    ]);
    expect(new Set(codes(w5.checked))).toEqual(new Set(['BUNDLE_ROLE_MISSING', 'BUNDLE_ROLE_DUPLICATE', 'BUNDLE_ROLE_UNKNOWN', 'BUNDLE_MEMBER_DUPLICATE']));
    const w6 = await bind(x.customerId, 'G2-18', x.members);
    expect(codes(w6.checked)).toEqual(['NOT_A_BUNDLE']);
    const w7 = await bind(x.customerId, 'BND-NOPE', x.members);
    expect(codes(w7.checked)).toEqual(['OFFER_NOT_FOUND']);
    // a 3G mobile does not fit a 2G bundle
    const g3 = await bundleCustomer(env, api, { generation: '3G', jointAccount: true });
    const w8 = await bind(g3.customerId, 'BND-2G-BB', g3.members);
    expect(codes(w8.checked)).toEqual(['BUNDLE_MEMBER_NETWORK']);
  });

  test('R-BND-9 the fixed-line and second-mobile types bind three members', async () => {
    const f = await bundleCustomer(env, api, { extra: 'fixed' });
    const b = await bindBundle(api, { customerId: f.customerId, offerCode: 'BND-2G-BB-FIX', members: f.members });
    expect((await subscriberRow(f.fixed?.subscriberId as number)).package_id).toBe(b.packageId);
    const m = await bundleCustomer(env, api, { extra: 'mobile2' });
    const missing = await bind(m.customerId, 'BND-2G-BB-MOB', m.members.slice(0, 2));
    expect(codes(missing.checked)).toEqual(['BUNDLE_ROLE_MISSING']);
    await bindBundle(api, { customerId: m.customerId, offerCode: 'BND-2G-BB-MOB', members: m.members });
  });

  test('R-BND-1 bad input to BUNDLE_BIND is a 4xx problem', async () => {
    const r = await api.call('POST', '/api/v1/orders', { as: 'front_desk', body: { businessType: 'BUNDLE_BIND', customerId: 1, offerCode: 'BND-2G-BB', members: [] } });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toContain('application/problem+json');
    const u = await api.call('POST', '/api/v1/orders', { as: 'front_desk', body: { businessType: 'BUNDLE_UNBIND', customerId: 1 } });
    expect(u.status).toBe(400);
  });
});

describe('R-BND-16 mobile + fixed 1+1 on the same engine', () => {
  test('R-BND-16 the shared-minutes plan cannot switch to it, same customer and same account, not twice in one month', async () => {
    const c = await bundleCustomer(env, api, { extra: 'fixed', broadbandFundFen: 0 });
    const mf = [
      { role: 'mobile', serviceNumber: c.mobile.serviceNumber },
      { role: 'fixed', serviceNumber: c.fixed?.serviceNumber as string },
    ];
    // a member on the shared-minutes plan is refused
    const ch = await walkOrder(api, { businessType: 'CHANGE_PLAN', subscriberId: c.mobile.subscriberId, planCode: 'SHARED-MIN', effective: 'now' });
    expect(ch.submitted.status).toBe('completed');
    const w1 = await bind(c.customerId, 'BND-MF-1PLUS1', mf);
    expect(codes(w1.checked)).toEqual(['BUNDLE_SWITCH_FORBIDDEN']);
    const back = await walkOrder(api, { businessType: 'CHANGE_PLAN', subscriberId: c.mobile.subscriberId, planCode: 'G2-18', effective: 'now' });
    expect(back.submitted.status).toBe('completed');

    // another account: refused (same account)
    const acc = await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: 'virtual', paymentMethod: 'cash' });
    await db().updateTable('subscribers').set({ default_account_id: acc.accountId }).where('subscriber_id', '=', c.fixed?.subscriberId as number).execute();
    const w2 = await bind(c.customerId, 'BND-MF-1PLUS1', mf);
    expect(codes(w2.checked)).toEqual(['BUNDLE_JOINT_ACCOUNT_REQUIRED']);
    await db().updateTable('subscribers').set({ default_account_id: c.mobile.accountId }).where('subscriber_id', '=', c.fixed?.subscriberId as number).execute();

    // another customer: refused
    const stranger = await env.ctx.customers.create(system, { kind: 'person', name: '赵外人', idType: 'resident_id', idNumber: await freshResidentId() });
    await db().updateTable('subscribers').set({ customer_id: stranger.customerId }).where('subscriber_id', '=', c.fixed?.subscriberId as number).execute();
    const w3 = await bind(c.customerId, 'BND-MF-1PLUS1', mf);
    expect(codes(w3.checked)).toEqual(['BUNDLE_OWNER_MISMATCH']);
    await db().updateTable('subscribers').set({ customer_id: c.customerId }).where('subscriber_id', '=', c.fixed?.subscriberId as number).execute();

    // accepted once, then unbound, then not again this month
    const b = await bindBundle(api, { customerId: c.customerId, offerCode: 'BND-MF-1PLUS1', members: mf });
    const u = await unbind(c.customerId, c.mobile.serviceNumber);
    expect(u.submitted.status, JSON.stringify(u.checked.checks)).toBe('completed');
    expect((await db().selectFrom('packages').select('ended_at').where('package_id', '=', b.packageId).executeTakeFirstOrThrow()).ended_at).not.toBeNull();
    const w4 = await bind(c.customerId, 'BND-MF-1PLUS1', mf);
    expect(codes(w4.checked)).toEqual(['BUNDLE_ONCE_PER_MONTH', 'BUNDLE_ONCE_PER_MONTH']);
    // and the existing MF-1PLUS1 plan keeps refusing the switch from SHARED-MIN (CHANGE_PLAN)
    const sh = await walkOrder(api, { businessType: 'CHANGE_PLAN', subscriberId: c.mobile.subscriberId, planCode: 'SHARED-MIN', effective: 'now' });
    expect(sh.submitted.status).toBe('completed');
    const mfPlan = await walkOrder(api, { businessType: 'CHANGE_PLAN', subscriberId: c.mobile.subscriberId, planCode: 'MF-1PLUS1', effective: 'now' });
    expect(codes(mfPlan.checked)).toEqual(['PLAN_SWITCH_FORBIDDEN']);
  });
});

describe('while bound (R-BND-14) and in bundle_stop (R-BND-11)', () => {
  test('R-BND-14 change plan, cancel, pre-cancel, suspend, transfer, household merge/split and change number are refused for every member', async () => {
    const c = await boundCustomer(env, api);
    const newOwner = await newCustomer(env.ctx, { name: '新机主' });
    const other = await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: 'virtual', paymentMethod: 'cash' });
    const bodies = (s: { subscriberId: number }) => [
      { businessType: 'CHANGE_PLAN', subscriberId: s.subscriberId, planCode: 'SHARED-MIN', effective: 'now' },
      { businessType: 'CANCEL', customerId: c.customerId, subscriberId: s.subscriberId, documents: OWNER_DOCS },
      { businessType: 'PRE_CANCEL', customerId: c.customerId, subscriberId: s.subscriberId, documents: OWNER_DOCS, reasonCode: 'moving', reason: '搬家' },
      { businessType: 'SUSPEND', customerId: c.customerId, subscriberId: s.subscriberId, documents: OWNER_DOCS },
      {
        businessType: 'TRANSFER_OWNERSHIP',
        customerId: c.customerId,
        subscriberId: s.subscriberId,
        documents: OWNER_DOCS,
        newCustomerId: newOwner.customerId,
        newOwnerDocuments: OWNER_DOCS,
        newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      },
      { businessType: 'HOUSEHOLD_SPLIT', customerId: c.customerId, accountId: c.mobile.accountId, subscriberIds: [s.subscriberId], newAccount: { billingType: 'virtual', paymentMethod: 'cash' }, documents: OWNER_DOCS },
      { businessType: 'CHANGE_NUMBER', customerId: c.customerId, subscriberId: s.subscriberId, documents: OWNER_DOCS, newNumber: '13999999999' },
    ];
    for (const s of [c.mobile, c.broadband]) {
      for (const body of bodies(s)) {
        const created = await api.call('POST', '/api/v1/orders', { as: 'front_desk', body });
        expect(created.status, `${body.businessType} ${JSON.stringify(created.body)}`).toBe(201);
        const checked = await api.call('POST', `/api/v1/orders/${created.body.orderId}/check`, { as: 'front_desk', body: { servicePassword: BUNDLE_PASSWORD } });
        expect(checked.status).toBe(200);
        const f = failure(checked.body, 'BUNDLE_BOUND_RESTRICTED');
        expect(f, `${body.businessType} on ${s.subscriberId}: ${JSON.stringify(checked.body.checks)}`).toBeDefined();
        expect(f?.fix.zh).toContain('解绑');
        expect(checked.body.status).toBe('draft');
      }
    }
    // household merge moves every subscriber of the source account: both members are bound
    const merge = await walkOrder(api, { businessType: 'HOUSEHOLD_MERGE', customerId: c.customerId, sourceAccountId: c.mobile.accountId, targetAccountId: other.accountId, documents: OWNER_DOCS });
    expect(codes(merge.checked).filter((x) => x === 'BUNDLE_BOUND_RESTRICTED')).toHaveLength(2);
    // an unrestricted order (features) still passes for a member
    const feat = await walkOrder(api, { businessType: 'LONG_DISTANCE_LEVEL', customerId: c.customerId, subscriberId: c.mobile.subscriberId, documents: OWNER_DOCS, level: 'domestic' }, { stopAfter: 'check' });
    expect(codes(feat.checked)).not.toContain('BUNDLE_BOUND_RESTRICTED');
  });

  test('R-BND-11 a broadband in bundle_stop accepts only top-ups: resume, cancel and change plan are refused; a payment passes', async () => {
    const c = await boundCustomer(env, api);
    await db().updateTable('subscribers').set({ stop_reasons: ['bundle'] }).where('subscriber_id', '=', c.broadband.subscriberId).execute();
    expect((await subscriberRow(c.broadband.subscriberId)).status).toBe('bundle_stop');
    const refused = [
      { businessType: 'RESUME', customerId: c.customerId, subscriberId: c.broadband.subscriberId, documents: OWNER_DOCS, reasons: ['on_request'] },
      { businessType: 'CANCEL', customerId: c.customerId, subscriberId: c.broadband.subscriberId, documents: OWNER_DOCS },
      { businessType: 'CHANGE_PLAN', subscriberId: c.broadband.subscriberId, planCode: 'BB-20M', effective: 'now' },
    ];
    for (const body of refused) {
      const w = await walkOrder(api, body, { servicePassword: BUNDLE_PASSWORD, stopAfter: 'check' });
      const f = failure(w.checked, 'BUNDLE_STOP_TOPUP_ONLY');
      expect(f, `${body.businessType}: ${JSON.stringify(w.checked.checks)}`).toBeDefined();
      expect(f?.message.zh).toContain('只能办理预存充值');
    }
    const pay = await walkOrder(api, { businessType: 'PAYMENT', accountId: c.broadband.accountId, amountFen: 5000, bookType: 'cash', subscriberId: c.broadband.subscriberId });
    expect(codes(pay.checked)).toEqual([]);
    expect(pay.submitted.status).toBe('completed');
    expect(await checkConservation(db(), [c.broadband.accountId])).toMatchObject({ differing: [] });
  });
});

describe('BUNDLE_UNBIND (R-BND-15)', () => {
  test('R-BND-15 unbind needs the service password, charges 8 yuan, ends the bundle, clears the members and syncs; grants given stay', async () => {
    const c = await boundCustomer(env, api);
    // a grant row of this month (helper B's job writes these) stays after unbinding
    await db()
      .insertInto('bundle_grants')
      .values({ package_id: c.packageId, cycle: '2026-11', account_id: c.mobile.accountId, status: 'skipped', reason: 'broadband_arrears', checked_at: env.clock.now(), granted_at: null })
      .execute();
    const noPw = await walkOrder(api, { businessType: 'BUNDLE_UNBIND', customerId: c.customerId, serviceNumber: c.broadband.serviceNumber });
    expect(codes(noPw.checked)).toEqual(['SERVICE_PASSWORD_REQUIRED']);
    const query = await api.call('GET', `/api/v1/bundles?serviceNumber=${c.broadband.serviceNumber}`, { as: 'front_desk' });
    expect(query.body.items[0]).toMatchObject({ packageId: c.packageId, grants: [expect.objectContaining({ cycle: '2026-11', status: 'skipped', reason: 'broadband_arrears' })] });
    const w = await unbind(c.customerId, c.mobile.serviceNumber);
    expect(codes(w.checked)).toEqual([]);
    expect(w.checked.notices[0].zh).toContain('2026-12');
    expect(w.quoted.fees).toEqual([expect.objectContaining({ feeCode: 'UNBIND', kind: 'fee', itemCode: 'ONE_OFF', amountFen: 800 })]);
    expect(w.quoted.payableFen).toBe(800);
    expect(w.submitted.status).toBe('completed');
    const pkg = await db().selectFrom('packages').selectAll().where('package_id', '=', c.packageId).executeTakeFirstOrThrow();
    expect(pkg.ended_at).not.toBeNull();
    expect(pkg).toMatchObject({ ended_order_id: w.created.orderId, ended_reason: 'unbind_order' });
    const members = await db().selectFrom('bundle_members').selectAll().where('package_id', '=', c.packageId).execute();
    expect(members.every((m) => m.left_at !== null)).toBe(true);
    expect((await subscriberRow(c.mobile.subscriberId)).package_id).toBeNull();
    expect((await subscriberRow(c.broadband.subscriberId)).package_id).toBeNull();
    expect(await events('bundle.unbound', c.packageId)).toHaveLength(1);
    expect((await events('sync.bundle', c.packageId)).map((e) => e.action)).toEqual(['bind', 'unbind']);
    expect(await db().selectFrom('bundle_grants').select('cycle').where('package_id', '=', c.packageId).execute()).toHaveLength(1);
    const receipt = await api.call('GET', `/api/v1/orders/${w.created.orderId}/receipt`);
    expect(receipt.status).toBe(200);
    expect(receipt.body).toContain('解绑手续费');
    // ended: shown as ended, the query finds nothing, a second unbind is refused, and the members are free again
    const panel = await api.call('GET', `/api/v1/customers/${c.customerId}/bundles`, { as: 'front_desk' });
    expect(panel.body.items[0]).toMatchObject({ packageId: c.packageId, status: 'ended' });
    const none = await api.call('GET', `/api/v1/bundles?serviceNumber=${c.mobile.serviceNumber}`, { as: 'front_desk' });
    expect(none.status).toBe(404);
    const again = await unbind(c.customerId, c.mobile.serviceNumber);
    expect(codes(again.checked)).toEqual(['BUNDLE_NOT_FOUND']);
    const plan = await walkOrder(api, { businessType: 'CHANGE_PLAN', subscriberId: c.mobile.subscriberId, planCode: 'SHARED-MIN', effective: 'now' }, { stopAfter: 'check' });
    expect(codes(plan.checked)).toEqual([]);
  });

  test('R-BND-15 a member in arrears blocks unbinding until paid', async () => {
    const c = await boundCustomer(env, api);
    await env.ctx.money.postBill(system, c.mobile.accountId, { cycle: '2026-10', lines: [{ subscriberId: c.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 50000 }] });
    const w = await unbind(c.customerId, c.broadband.serviceNumber);
    expect(codes(w.checked)).toEqual(['BUNDLE_MEMBER_HAS_ARREARS']);
    expect(failure(w.checked, 'BUNDLE_MEMBER_HAS_ARREARS')?.fix.zh).toContain('缴清欠费');
    const r = await api.call('POST', `/api/v1/accounts/${c.mobile.accountId}/payments`, { as: 'front_desk', body: { amountFen: 50000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `bnd-arrears-${c.packageId}` } });
    expect(r.status).toBe(201);
    const ok = await unbind(c.customerId, c.broadband.serviceNumber);
    expect(codes(ok.checked)).toEqual([]);
    expect(ok.submitted.status).toBe('completed');
    expect(await checkConservation(db(), [c.mobile.accountId])).toMatchObject({ differing: [] });
  });

  test('R-BND-15 the bundle routes refuse bad input with 4xx problems', async () => {
    expect((await api.call('GET', '/api/v1/bundles', { as: 'front_desk' })).status).toBe(400);
    expect((await api.call('GET', '/api/v1/bundles/abc', { as: 'front_desk' })).status).toBe(400);
    expect((await api.call('GET', '/api/v1/bundles/999999', { as: 'front_desk' })).status).toBe(404);
    expect((await api.call('GET', '/api/v1/customers/0/bundles', { as: 'front_desk' })).status).toBe(400);
    expect((await api.call('GET', '/api/v1/bundles?serviceNumber=13900000000', { as: 'nobody' })).status).toBe(403);
  });
});

// last in the file: it moves the clock to the 1st of next month
describe('R-BND-11 through credit control (the bundle is a package with linkage, R-BND-10)', () => {
  test('R-BND-11 the broadband stopped on the 1st because its bound mobile owes accepts only a top-up, and resumes when the mobile pays', async () => {
    const c = await boundCustomer(env, api);
    await env.ctx.money.postBill(system, c.mobile.accountId, { cycle: '2026-10', lines: [{ subscriberId: c.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 50000 }] });
    const out = await env.ctx.credit.evaluateAccounts([c.mobile.accountId]);
    expect(out[0]?.linkedPending).toEqual([c.broadband.subscriberId]);
    env.clock.set(new Date('2026-11-30T16:05:00Z')); // 2026-12-01 00:05 Asia/Shanghai
    const run = await env.ctx.jobs.runNow('credit-linked-stops');
    expect(run.result).toMatchObject({ stopped: [c.broadband.subscriberId] });
    expect(await subscriberRow(c.broadband.subscriberId)).toMatchObject({ status: 'bundle_stop', package_id: c.packageId });
    for (const body of [
      { businessType: 'RESUME', customerId: c.customerId, subscriberId: c.broadband.subscriberId, documents: OWNER_DOCS, reasons: ['on_request'] },
      { businessType: 'CHANGE_PLAN', subscriberId: c.broadband.subscriberId, planCode: 'BB-20M', effective: 'now' },
      { businessType: 'CANCEL', customerId: c.customerId, subscriberId: c.broadband.subscriberId, documents: OWNER_DOCS },
    ]) {
      const w = await walkOrder(api, body, { servicePassword: BUNDLE_PASSWORD, stopAfter: 'check' });
      expect(codes(w.checked), body.businessType).toContain('BUNDLE_STOP_TOPUP_ONLY');
    }
    const topUp = await walkOrder(api, { businessType: 'PAYMENT', accountId: c.mobile.accountId, amountFen: 50000, bookType: 'cash', subscriberId: c.broadband.subscriberId });
    expect(codes(topUp.checked)).toEqual([]);
    expect(topUp.submitted.status).toBe('completed');
    // the mobile's arrears paid: the mobile resumes and the broadband with it (R-BND-10)
    const r = await api.call('POST', `/api/v1/accounts/${c.mobile.accountId}/payments`, { as: 'front_desk', body: { amountFen: 50000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `bnd-11-${c.packageId}` } });
    expect(r.status).toBe(201);
    expect((await subscriberRow(c.mobile.subscriberId)).status).toBe('normal');
    expect((await subscriberRow(c.broadband.subscriberId)).status).toBe('normal');
    expect(await checkConservation(db(), [c.mobile.accountId])).toMatchObject({ differing: [] });
  });
});
