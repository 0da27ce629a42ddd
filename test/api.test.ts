// The foundation's API end to end, as an integrator would call it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Api, freshResidentId, testApi, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
});
afterAll(() => env.close());

const P = '/api/v1';

describe('API flow', () => {
  test('R-ACC-13 customer → account → subscriber → bill → payment → balance → write-offs → reversal', async () => {
    const idNumber = await freshResidentId();
    const cust = await api.call('POST', `${P}/customers`, {
      as: 'front_desk',
      body: { kind: 'person', name: '测试客户', idType: 'resident_id', idNumber, contactPhone: '13812345678', servicePassword: '902417' },
    });
    expect(cust.status).toBe(201);
    // R-CUS-2: whole for an operator with customer.pii, masked in search
    expect(cust.body.idNumber).toBe(idNumber);
    const found = await api.call('GET', `${P}/customers?q=${encodeURIComponent(idNumber)}`, { as: 'front_desk' });
    expect(found.body.items[0].idNumber).toMatch(/^\d{6}\*{8}\d{3}[\dX]$/);
    expect(found.body.items[0].contactPhone).toBe('138****5678');

    const acc = await api.call('POST', `${P}/accounts`, { as: 'front_desk', body: { customerId: cust.body.customerId, billingType: 'monthly', paymentMethod: 'cash' } });
    expect(acc.status).toBe(201);
    const accountId = acc.body.accountId as number;
    const sub = await api.call('POST', `${P}/subscribers`, { as: 'front_desk', body: { customerId: cust.body.customerId, accountId, serviceNumber: '18699990001', network: 'wcdma3g' } });
    expect(sub.status).toBe(201);
    const bySearch = await api.call('GET', `${P}/customers?q=18699990001`, { as: 'front_desk' });
    expect(bySearch.body.items.map((c: { customerId: number }) => c.customerId)).toEqual([cust.body.customerId]);
    expect((await api.call('GET', `${P}/subscribers/18699990001`, { as: 'front_desk' })).body.subscriberId).toBe(sub.body.subscriberId);

    const bill = await api.call('POST', `${P}/accounts/${accountId}/bills`, {
      as: 'accounting',
      body: { cycle: '2026-11', lines: [{ subscriberId: sub.body.subscriberId, item: 'RENT_PLAN', amountFen: 5800 }] },
    });
    expect(bill.status).toBe(201);
    const pay = await api.call('POST', `${P}/accounts/${accountId}/payments`, {
      as: 'front_desk',
      body: { amountFen: 10000, bookType: 'cash', channel: 'front_desk', idempotencyKey: 'api-flow-0001' },
    });
    expect(pay.status).toBe(201);
    expect(pay.body.replayed).toBe(false);
    expect(pay.body.writeOffs).toEqual([expect.objectContaining({ amountFen: 5800 })]);
    expect(pay.body.books).toEqual([expect.objectContaining({ bookType: 'cash', balanceFen: 4200 })]);
    const again = await api.call('POST', `${P}/accounts/${accountId}/payments`, {
      as: 'front_desk',
      body: { amountFen: 10000, bookType: 'cash', channel: 'front_desk', idempotencyKey: 'api-flow-0001' },
    });
    expect(again.status).toBe(200);
    expect(again.body.payment.paymentId).toBe(pay.body.payment.paymentId);

    const bal = await api.call('GET', `${P}/accounts/${accountId}/balance`, { as: 'front_desk' });
    expect(bal.body).toMatchObject({ arrearsFen: 0, usableBalanceFen: 4200, realtimeBalanceFen: 4200 });
    const wo = await api.call('GET', `${P}/accounts/${accountId}/write-offs`, { as: 'front_desk' });
    expect(wo.body.writeOffs).toEqual([expect.objectContaining({ item: 'RENT_PLAN', amountFen: 5800, bookType: 'cash', cycle: '2026-11', serviceNumber: '18699990001' })]);

    // a bare POST reverses (the body is optional)
    const rev = await api.call('POST', `${P}/payments/${pay.body.payment.paymentId}/reversal`, { as: 'front_desk' });
    expect(rev.status).toBe(201);
    const after = await api.call('GET', `${P}/accounts/${accountId}/balance`, { as: 'front_desk' });
    expect(after.body).toMatchObject({ arrearsFen: 5800, usableBalanceFen: 0, realtimeBalanceFen: -5800 });
  });

  test('R-ACC-8 payment relations: create, list with the default relation, revoke', async () => {
    const mk = async (n: string) => {
      const c = await api.call('POST', `${P}/customers`, { as: 'key_account', body: { kind: 'person', name: `关系${n}`, idType: 'resident_id', idNumber: await freshResidentId() } });
      const a = await api.call('POST', `${P}/accounts`, { as: 'key_account', body: { customerId: c.body.customerId, billingType: 'monthly', paymentMethod: 'cash' } });
      return { customerId: c.body.customerId as number, accountId: a.body.accountId as number };
    };
    const parent = await mk('父');
    const child = await mk('子');
    const s = await api.call('POST', `${P}/subscribers`, { as: 'front_desk', body: { customerId: child.customerId, accountId: child.accountId, serviceNumber: '18699990002', network: 'wcdma3g' } });
    const rel = await api.call('POST', `${P}/subscribers/${s.body.subscriberId}/payment-relations`, {
      as: 'key_account',
      body: { payerAccountId: parent.accountId, priority: 1, items: ['RENT_PLAN'], limitFen: 3000 },
    });
    expect(rel.status).toBe(201);
    expect(rel.body.mode).toBe('listed_limited');
    const list = await api.call('GET', `${P}/subscribers/${s.body.subscriberId}/payment-relations`, { as: 'front_desk' });
    expect(list.body.relations).toHaveLength(1);
    expect(list.body.defaultRelation).toMatchObject({ payerAccountId: child.accountId, isDefault: true });
    const del = await api.call('DELETE', `${P}/subscribers/${s.body.subscriberId}/payment-relations/${rel.body.relationId}`, { as: 'key_account' });
    expect(del.status).toBe(200);
    expect((await api.call('GET', `${P}/subscribers/${s.body.subscriberId}/payment-relations`, { as: 'front_desk' })).body.relations).toHaveLength(0);
  });

  test('the OpenAPI document lists the fixed endpoints with examples and a reference page is served', async () => {
    const doc = await api.call('GET', '/openapi.json', { as: null });
    expect(doc.status).toBe(200);
    const paths = doc.body.paths as Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { examples?: unknown[] } }> } }>>;
    for (const [path, method] of [
      ['/api/v1/auth/login', 'post'],
      ['/api/v1/customers', 'post'],
      ['/api/v1/customers/{id}', 'get'],
      ['/api/v1/customers', 'get'],
      ['/api/v1/accounts', 'post'],
      ['/api/v1/accounts/{id}', 'get'],
      ['/api/v1/subscribers', 'post'],
      ['/api/v1/subscribers/{serviceNumber}', 'get'],
      ['/api/v1/accounts/{id}/bills', 'post'],
      ['/api/v1/accounts/{id}/payments', 'post'],
      ['/api/v1/payments/{id}/reversal', 'post'],
      ['/api/v1/accounts/{id}/balance', 'get'],
      ['/api/v1/accounts/{id}/write-offs', 'get'],
      ['/api/v1/subscribers/{id}/payment-relations', 'post'],
      ['/api/v1/subscribers/{id}/payment-relations', 'get'],
    ] as const) {
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    const payBody = paths['/api/v1/accounts/{id}/payments']?.post?.requestBody?.content['application/json']?.schema;
    expect(JSON.stringify(payBody)).toContain('restricted_fund');
    const page = await api.call('GET', '/docs/', { as: null });
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('swagger');
    const home = await api.call('GET', '/', { as: null });
    expect(String(home.body)).toContain('OpenBOSS');
  });

  test('healthz answers with the database and clock kinds', async () => {
    const r = await api.call('GET', '/healthz', { as: null });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', database: env.ctx.database.kind, clock: 'simulated' });
  });

  test('the simulated clock is set through the admin endpoint and audited', async () => {
    const before = await api.call('GET', `${P}/admin/clock`, { as: 'front_desk' });
    expect(before.body.kind).toBe('simulated');
    const denied = await api.call('POST', `${P}/admin/clock`, { as: 'front_desk', body: { advanceSeconds: 60 } });
    expect(denied.status).toBe(403);
    const set = await api.call('POST', `${P}/admin/clock`, { as: 'admin', body: { now: '2026-12-01T00:00:00+08:00', frozen: true } });
    expect(set.status).toBe(200);
    expect(set.body.now).toBe('2026-11-30T16:00:00.000Z');
    const adv = await api.call('POST', `${P}/admin/clock`, { as: 'admin', body: { advanceSeconds: 86400 } });
    expect(adv.body.now).toBe('2026-12-01T16:00:00.000Z');
    const audit = await env.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'clock.set').execute();
    expect(audit).toHaveLength(2);
    env.clock.set(new Date('2026-11-15T02:00:00Z'), true);
  });
});
