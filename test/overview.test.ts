// Customer 360 (SPEC §11): GET /customers/{id}/overview for the front desk.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OVERVIEW_WRITE_OFFS } from '../src/domains/customers/overview.ts';
import { hashSecret } from '../src/platform/passwords.ts';
import { type Api, customerWithAccount, system, T0, TEST_PASSWORD, testApi, testEnv, type TestEnv } from './helpers.ts';
import { freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  // an operator who may read customers but not accounts
  const db = env.ctx.database.db;
  await db.insertInto('roles').values({ role_code: 'reader', name_zh: '查询', name_en: 'reader', permissions: ['customer.read'] }).execute();
  await db.insertInto('operators').values({ username: 'reader', name: 'reader', department_id: 'H1', roles: ['reader'], password_hash: await hashSecret(TEST_PASSWORD) }).execute();
  // and one who may read customers and accounts but not orders
  await db.insertInto('roles').values({ role_code: 'teller', name_zh: '帐务查询', name_en: 'teller', permissions: ['customer.read', 'account.read'] }).execute();
  await db.insertInto('operators').values({ username: 'teller', name: 'teller', department_id: 'H1', roles: ['teller'], password_hash: await hashSecret(TEST_PASSWORD) }).execute();
  await setupOrders(env.ctx);
});
afterAll(() => env.close());

const P = '/api/v1';

/** A postpaid customer with two cycles billed, one cash payment that wrote part off, and a second subscriber. */
async function fixture() {
  const f = await customerWithAccount(env.ctx, 'monthly', 1);
  const second = await env.ctx.accounts.createSubscriber(system, { customerId: f.customer.customerId, accountId: f.accountId, serviceNumber: `${f.sub.serviceNumber.slice(0, -1)}9`, network: 'gsm2g' });
  await env.ctx.money.postBill(system, f.accountId, {
    cycle: '2026-10',
    lines: [
      { subscriberId: f.subscriberId, item: 'RENT_PLAN', amountFen: 5800 },
      { subscriberId: f.subscriberId, item: 'VOICE_LD', amountFen: 2310 },
    ],
  });
  await env.ctx.money.postBill(system, f.accountId, { cycle: '2026-11', lines: [{ subscriberId: second.subscriberId, item: 'RENT_PLAN', amountFen: 1900 }] });
  await env.ctx.money.pay(system, f.accountId, { amountFen: 7000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `overview-${f.accountId}` });
  return { ...f, second };
}

describe('GET /customers/{id}/overview', () => {
  test('customer 360: the customer, its accounts with books, arrears, open bills and write-off lines, its subscribers with activation time and status', async () => {
    const f = await fixture();
    const r = await api.call('GET', `${P}/customers/${f.customer.customerId}/overview`, { as: 'front_desk' });
    expect(r.status).toBe(200);
    const o = r.body;
    expect(o.customer).toMatchObject({ customerId: f.customer.customerId, name: f.customer.name, kind: 'person' });
    expect(o.subscribers).toEqual([
      { subscriberId: f.subscriberId, serviceNumber: f.sub.serviceNumber, network: 'wcdma3g', status: 'normal', activatedAt: T0.toISOString(), defaultAccountId: f.accountId, products: [] },
      { subscriberId: f.second.subscriberId, serviceNumber: f.second.serviceNumber, network: 'gsm2g', status: 'normal', activatedAt: T0.toISOString(), defaultAccountId: f.accountId, products: [] },
    ]);
    expect(o.orders).toEqual([]);
    // 5800 + 2310 + 1900 billed, 7000 paid: the rest is owed, line by line
    const [acc] = o.accounts;
    expect(o.accounts).toHaveLength(1);
    expect(acc).toMatchObject({ accountId: f.accountId, billingType: 'monthly', paymentMethod: 'cash', status: 'active', arrearsFen: 3010, usableBalanceFen: 0, realtimeBalanceFen: -3010 });
    expect(o.summary).toEqual({ accounts: 1, subscribers: 2, usableBalanceFen: 0, arrearsFen: 3010 });
    const openLines = acc.openBills.flatMap((b: { lines: { item: string; openFen: number; serviceNumber: string }[] }) => b.lines);
    expect(openLines.reduce((s: number, l: { openFen: number }) => s + l.openFen, 0)).toBe(3010);
    expect(openLines.map((l: { serviceNumber: string }) => l.serviceNumber)).toContain(f.second.serviceNumber);
    expect(acc.books).toEqual([expect.objectContaining({ bookType: 'cash', amountFen: 7000, balanceFen: 0 })]);
    // the same figures as the accounts' own read side
    const balance = await api.call('GET', `${P}/accounts/${f.accountId}/balance`, { as: 'front_desk' });
    expect(acc.arrearsFen).toBe(balance.body.arrearsFen);
    expect(acc.openBills).toEqual(balance.body.openBills);
    // R-ACC-6: write-off lines name the bill line, the item, the book; newest first
    expect(acc.recentWriteOffs.map((w: { amountFen: number }) => w.amountFen).reduce((a: number, b: number) => a + b, 0)).toBe(7000);
    expect(acc.recentWriteOffs[0]).toMatchObject({ serviceNumber: expect.any(String), item: expect.any(String), bookType: 'cash', trigger: { kind: 'payment' } });
    const ids = acc.recentWriteOffs.map((w: { writeOffId: number }) => w.writeOffId);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(o.asOf).toBe(T0.toISOString());
  });

  test(`R-ACC-6 only the newest ${OVERVIEW_WRITE_OFFS} write-off lines are listed`, async () => {
    const f = await customerWithAccount(env.ctx, 'monthly', 2);
    const lines = Array.from({ length: OVERVIEW_WRITE_OFFS + 5 }, () => ({ subscriberId: f.subscriberId, item: 'SMS', amountFen: 10 }));
    await env.ctx.money.postBill(system, f.accountId, { cycle: '2026-11', lines });
    await env.ctx.money.pay(system, f.accountId, { amountFen: 10_000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `overview-many-${f.accountId}` });
    const all = await api.call('GET', `${P}/accounts/${f.accountId}/write-offs`, { as: 'front_desk' });
    const o = await api.call('GET', `${P}/customers/${f.customer.customerId}/overview`, { as: 'front_desk' });
    expect(all.body.writeOffs).toHaveLength(OVERVIEW_WRITE_OFFS + 5);
    expect(o.body.accounts[0].recentWriteOffs).toHaveLength(OVERVIEW_WRITE_OFFS);
    expect(o.body.accounts[0].recentWriteOffs[0].writeOffId).toBe(all.body.writeOffs.at(-1).writeOffId);
    expect(o.body.accounts[0].usableBalanceFen).toBe(10_000 - 10 * (OVERVIEW_WRITE_OFFS + 5));
  });

  test('§11 subscribed products with their monthly fees, and the order history with the SMS confirmation result (R-ORD-6)', async () => {
    const c = await newCustomer(env.ctx, { segment: 'family' });
    // an e9-C package: the mobile pays 19 of the 69, the broadband 50; EVDO is a free feature
    const e9 = await walkOrder(api, {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: OWNER_DOCS,
      packageCode: 'e9-C',
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      members: [
        { role: 'mobile', network: 'wcdma3g', serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx), features: ['EVDO'] },
        { role: 'broadband', network: 'broadband', serviceNumber: `ovbb${c.customerId}`, standardAddress: '天津市河西区友谊路 10 号', installAddress: '友谊路 10 号 1-1-101', bandwidthMbps: 4 },
      ],
    });
    expect(e9.submitted?.status, JSON.stringify(e9.checked.checks)).toBe('submitted');
    // a data pack that waits for the customer's SMS reply, declined
    const pack = await walkOrder(api, {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: OWNER_DOCS,
      accountId: e9.submitted.result.accountId,
      members: [{ role: 'main', network: 'wcdma3g', serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx), planCode: 'W3-46', packs: ['DATA-10'] }],
    });
    expect(pack.submitted?.status, JSON.stringify(pack.checked.checks)).toBe('awaiting_confirmation');
    const declined = await api.call('POST', `${P}/orders/${pack.created.orderId}/confirmation`, { as: 'front_desk', body: { accepted: false, reason: '客户不需要流量包' } });
    expect(declined.body.status).toBe('cancelled');

    const r = await api.call('GET', `${P}/customers/${c.customerId}/overview`, { as: 'front_desk' });
    expect(r.status).toBe(200);
    const { mobile, broadband } = e9.submitted.result.subscribers;
    const products = (id: number) => r.body.subscribers.find((s: { subscriberId: number }) => s.subscriberId === id).products;
    expect(products(mobile)).toEqual([
      expect.objectContaining({ offerCode: 'e9-C', kind: 'package', memberRole: 'mobile', monthlyFeeFen: 1900, packageId: e9.submitted.result.packageId, orderId: e9.created.orderId }),
      expect.objectContaining({ offerCode: 'EVDO', kind: 'feature', monthlyFeeFen: 0 }),
    ]);
    expect(products(broadband)).toEqual([expect.objectContaining({ offerCode: 'e9-C', memberRole: 'broadband', monthlyFeeFen: 5000, name: { zh: expect.stringContaining('e9-C'), en: expect.any(String) } })]);
    // newest first; the declined confirmation with its reason
    expect(r.body.orders.map((o: { orderId: number; status: string }) => [o.orderId, o.status])).toEqual([
      [pack.created.orderId, 'cancelled'],
      [e9.created.orderId, 'submitted'],
    ]);
    expect(r.body.orders[0].confirmation).toMatchObject({ status: 'declined', reason: '客户不需要流量包', serviceNumber: pack.created.input.members[0].serviceNumber, repliedAt: T0.toISOString() });
    expect(r.body.orders[1].confirmation).toBeNull();
    // the history is the orders' own read side
    const list = await api.call('GET', `${P}/orders?customerId=${c.customerId}`, { as: 'front_desk' });
    expect(list.body.items.map((o: { orderId: number }) => o.orderId)).toEqual(r.body.orders.map((o: { orderId: number }) => o.orderId));
    // without order.read: no order history, the rest as before
    const teller = await api.call('GET', `${P}/customers/${c.customerId}/overview`, { as: 'teller' });
    expect(teller.status).toBe(200);
    expect(teller.body.orders).toEqual([]);
    expect(teller.body.subscribers.map((s: { products: unknown[] }) => s.products.length)).toEqual([2, 1]);
  });

  test('R-CUS-2 ID and phone numbers are whole only for an operator with customer.pii', async () => {
    const c = await env.ctx.customers.create(system, { kind: 'person', name: '脱敏测试', idType: 'resident_id', idNumber: '11010519491231002X', contactPhone: '13812345678' });
    const whole = await api.call('GET', `${P}/customers/${c.customerId}/overview`, { as: 'front_desk' });
    expect(whole.body.customer).toMatchObject({ idNumber: '11010519491231002X', contactPhone: '13812345678', masked: false });
    const masked = await api.call('GET', `${P}/customers/${c.customerId}/overview`, { as: 'auditor' });
    expect(masked.status).toBe(200);
    expect(masked.body.customer).toMatchObject({ idNumber: '110105********002X', contactPhone: '138****5678', masked: true });
    // a customer without accounts has an empty 360, not an error
    expect(masked.body).toMatchObject({ accounts: [], subscribers: [], summary: { accounts: 0, subscribers: 0, usableBalanceFen: 0, arrearsFen: 0 } });
  });

  test('the bank account number of a bank-collection account is masked without customer.pii', async () => {
    const c = await env.ctx.customers.create(system, { kind: 'person', name: '托收客户', idType: 'passport', idNumber: 'PE1234567890' });
    await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: 'monthly', paymentMethod: 'bank_collection', bankName: '工行', bankAccountHolder: '托收客户', bankAccountNumber: '6222020302001234567' });
    const masked = await api.call('GET', `${P}/customers/${c.customerId}/overview`, { as: 'auditor' });
    expect(masked.body.accounts[0]).toMatchObject({ bankName: '工行', bankAccountNumber: '***************4567' });
    const whole = await api.call('GET', `${P}/customers/${c.customerId}/overview`, { as: 'front_desk' });
    expect(whole.body.accounts[0].bankAccountNumber).toBe('6222020302001234567');
  });

  test('unknown customer → 404; no token → 401; without customer.read or account.read → 403', async () => {
    const missing = await api.call('GET', `${P}/customers/987654/overview`, { as: 'front_desk' });
    expect(missing).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await api.call('GET', `${P}/customers/1/overview`, { as: null })).status).toBe(401);
    expect((await api.call('GET', `${P}/customers/1/overview`, { as: 'nobody' })).body).toMatchObject({ code: 'FORBIDDEN', details: { permission: 'customer.read' } });
    expect((await api.call('GET', `${P}/customers/1/overview`, { as: 'reader' })).body).toMatchObject({ code: 'FORBIDDEN', details: { permission: 'account.read' } });
  });

  test('the OpenAPI document describes the overview with a typed schema and an example', async () => {
    const doc = await api.call('GET', '/openapi.json', { as: null });
    const op = doc.body.paths['/api/v1/customers/{id}/overview']?.get;
    expect(op).toBeDefined();
    const content = op.responses['200'].content['application/json'];
    expect(Object.keys(content.schema.properties)).toEqual(['customer', 'summary', 'accounts', 'subscribers', 'orders', 'asOf']);
    expect(content.schema.properties.subscribers.items.properties.products.items.required).toContain('monthlyFeeFen');
    expect(content.schema.properties.orders.items.properties.confirmation.nullable).toBe(true);
    expect(content.schema.properties.accounts.items.required).toContain('arrearsFen');
    expect(content.example.customer.name).toBe('李华');
  });
});
