// e9 fusion plan end to end through the API (SPEC §9.1, R-E9-1..4).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Api, type TestEnv, testApi, testEnv } from './helpers.ts';
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

async function e9Body(packageCode = 'e9-C') {
  const c = await newCustomer(env.ctx, { segment: 'family' });
  return {
    customer: c,
    body: {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: OWNER_DOCS,
      packageCode,
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      members: [
        {
          role: 'mobile',
          network: 'wcdma3g',
          serviceNumber: await freeNumber(env.ctx),
          iccid: await freeSim(env.ctx),
          features: ['EVDO'],
          accountManager: '李经理',
          handset: { imei: '356938035643809', model: 'ZTE V5', priceFen: 29800 },
        },
        { role: 'broadband', network: 'broadband', serviceNumber: `tjadsl${c.customerId}`, standardAddress: '天津市河西区友谊路 10 号', installAddress: '友谊路 10 号 3-2-501', bandwidthMbps: 4 },
      ],
    },
  };
}

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
