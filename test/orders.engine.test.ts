// The order engine (SPEC §7.1): R-ORD-1 all failures at once, R-ORD-2 waivers, R-ORD-3 receipts,
// R-ORD-4 all-or-nothing submission under fault injection, R-ORD-7 documents, R-CUS-2 masking, and
// bad input to every order endpoint changing nothing.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { businessLicenceCheckChar } from '../src/domains/customers/rules.ts';
import type { FaultInjector } from '../src/domains/orders/types.ts';
import { recordChanges } from '../src/platform/outbox.ts';
import { type Api, type TestEnv, testApi, testEnv, stockConservedAfterAll } from './helpers.ts';
import { codes, freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';
import { expectProblem, snapshotTables } from './snapshot.ts';

/** Throws inside the submission's transaction at the step the test arms. */
class Faults implements FaultInjector {
  armed: { step: string; orderId: number } | null = null;
  at(step: string, orderId: number) {
    if (this.armed && this.armed.step === step && this.armed.orderId === orderId) throw new Error(`injected fault at ${step}`);
  }
}

const faults = new Faults();
let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv({ faults });
  api = await testApi(env);
  await setupOrders(env.ctx);
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

async function singleMobile(customerId: number, extra: Record<string, unknown> = {}) {
  return {
    businessType: 'OPEN_ACCOUNT',
    customerId,
    documents: OWNER_DOCS,
    newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
    members: [{ role: 'main', network: 'wcdma3g', serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx), planCode: 'W3-46' }],
    prestoreFen: 10000,
    ...extra,
  };
}

describe('checks', () => {
  test('R-ORD-1 every failing rule comes back at once with code, message and fix', async () => {
    const c = await newCustomer(env.ctx);
    const w = await walkOrder(api, {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: { presenter: 'owner' },
      members: [{ role: 'main', network: 'wcdma3g', serviceNumber: '12345', planCode: 'SUIYIDA-OLD', features: ['NO_SUCH'] }],
    });
    expect(w.checked.status).toBe('draft');
    expect(codes(w.checked).sort()).toEqual(
      ['ACCOUNT_REQUIRED', 'INVALID_SERVICE_NUMBER', 'OFFER_NETWORK_MISMATCH', 'OFFER_NOT_FOUND', 'OFFER_NOT_ONLINE', 'OWNER_ID_ORIGINAL_REQUIRED', 'SIM_REQUIRED'].sort(),
    );
    for (const f of w.checked.checks.failures) {
      expect(f.message.zh.length).toBeGreaterThan(0);
      expect(f.message.en.length).toBeGreaterThan(0);
      expect(f.fix.zh.length).toBeGreaterThan(0);
      expect(f.fix.en.length).toBeGreaterThan(0);
    }
    // a failed check leaves the order a draft: it cannot be quoted or submitted
    const q = await api.call('POST', `/api/v1/orders/${w.created.orderId}/quote`, { as: 'front_desk', body: {} });
    expectProblem(q, 409, 'ORDER_STATE', 'quote a draft');
    // fixing the input (PATCH) and checking again passes
    const fixed = await api.call('PATCH', `/api/v1/orders/${w.created.orderId}`, { as: 'front_desk', body: await singleMobile(c.customerId) });
    expect(fixed.status).toBe(200);
    const again = await api.call('POST', `/api/v1/orders/${w.created.orderId}/check`, { as: 'front_desk', body: {} });
    expect(again.body.status).toBe('checked');
  });

  test('R-ORD-7 organisation needs licence and unit certificate, an agent their own valid ID', async () => {
    const org = await env.ctx.customers.create(
      { operatorId: null, username: 't', departmentId: null, permissions: new Set(['*']) },
      {
        kind: 'organisation',
        name: '天津某某科技有限公司',
        idType: 'business_licence',
        idNumber: `91120103MA05L8K0X${businessLicenceCheckChar('91120103MA05L8K0X')}`,
        handler: { name: '王经办', idType: 'resident_id', idNumber: '11010519491231002X' },
        contact: { name: '李联系', idType: 'resident_id', idNumber: '11010519491231002X' },
        servicePassword: '902417',
      },
    );
    const w = await walkOrder(api, await singleMobile(org.customerId, { documents: { presenter: 'agent', agent: { name: '王经办', idType: 'resident_id', idNumber: '110105194912310021' } } }));
    expect(codes(w.checked).sort()).toEqual(['AGENT_ID_INVALID', 'BUSINESS_LICENCE_REQUIRED', 'UNIT_CERTIFICATE_REQUIRED']);
    const ok = await walkOrder(
      api,
      await singleMobile(org.customerId, { documents: { presenter: 'agent', businessLicence: true, unitCertificate: true, agent: { name: '王经办', idType: 'resident_id', idNumber: '11010519491231002X' } } }),
      { stopAfter: 'check' },
    );
    expect(codes(ok.checked)).toEqual([]);
  });

  test('R-ORD-7 a customer without a service password cannot open an account', async () => {
    const c = await env.ctx.customers.create(
      { operatorId: null, username: 't', departmentId: null, permissions: new Set(['*']) },
      { kind: 'person', name: '无密码', idType: 'resident_id', idNumber: '11010519491231002X' },
    );
    const w = await walkOrder(api, await singleMobile(c.customerId), { stopAfter: 'check' });
    expect(codes(w.checked)).toEqual(['SERVICE_PASSWORD_NOT_SET']);
  });
});

describe('waivers and receipts', () => {
  test('R-ORD-2 only an operator with order.waive may waive; the waiver is on the receipt and in the audit', async () => {
    const c = await newCustomer(env.ctx);
    const body = await singleMobile(c.customerId);
    const w = await walkOrder(api, body, { stopAfter: 'check' });
    const id = w.created.orderId;
    const refused = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'front_desk', body: { waivers: [{ feeCode: 'SIM_CARD', reason: '老客户' }] } });
    expectProblem(refused, 403, 'WAIVER_NOT_PERMITTED', 'front desk waives');
    const prestore = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'manager', body: { waivers: [{ feeCode: 'PRESTORE', reason: 'x' }] } });
    expectProblem(prestore, 422, 'FEE_NOT_WAIVABLE', 'waive a prestore');
    const q = await api.call('POST', `/api/v1/orders/${id}/quote`, { as: 'manager', body: { waivers: [{ feeCode: 'SIM_CARD', reason: '老客户回馈' }] } });
    expect(q.status).toBe(200);
    const sim = q.body.fees.find((f: { feeCode: string }) => f.feeCode === 'SIM_CARD');
    expect(sim).toMatchObject({ amountFen: 2500, waivedFen: 2500, waiverReason: '老客户回馈' });
    expect(q.body.payableFen).toBe(10000);
    const audit = await env.ctx.database.db.selectFrom('audit_log').select(['after']).where('action', '=', 'order.quote').where('target_id', '=', String(id)).execute();
    expect(JSON.stringify(audit.at(-1)?.after)).toContain('老客户回馈');
    const html = await api.call('GET', `/api/v1/orders/${id}/receipt`, { as: 'front_desk' });
    expect(html.body).toContain('老客户回馈');
    expect(html.body).toContain('manager');
  });

  test('R-ORD-3 R-CUS-2 the receipt is a print page and a PDF with a CJK font, with masked personal data', async () => {
    const c = await newCustomer(env.ctx, { name: '赵收据' });
    const w = await walkOrder(api, await singleMobile(c.customerId));
    expect(w.submitted.status).toBe('completed');
    const id = w.created.orderId;
    const html = await api.call('GET', `/api/v1/orders/${id}/receipt`, { as: 'front_desk' });
    expect(html.status).toBe(200);
    expect(String(html.headers['content-type'])).toContain('text/html');
    expect(html.body).toContain('赵收据');
    expect(html.body).toContain('@media print');
    expect(html.body).toContain('新开户');
    const rec = await env.ctx.customers.record(c.customerId);
    expect(html.body).not.toContain(rec?.id_number);
    expect(html.body).toContain(`${rec?.id_number.slice(0, 6)}********${rec?.id_number.slice(-4)}`);
    const r = await api.app.inject({ method: 'GET', url: `/api/v1/orders/${id}/receipt?format=pdf`, headers: { authorization: `Bearer ${await api.token('front_desk')}` } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/pdf');
    const pdf = r.rawPayload;
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.toString('latin1')).toMatch(/FontFile/);
    const en = await api.call('GET', `/api/v1/orders/${id}/receipt?lang=en`, { as: 'front_desk' });
    expect(en.body).toContain('Open account');
  });
});

describe('all or nothing', () => {
  for (const step of ['after-apply', 'after-money', 'before-commit'] as const) {
    test(`R-ORD-4 a fault ${step} leaves no partial change, no event, the number and SIM free`, async () => {
      const c = await newCustomer(env.ctx);
      const body = await singleMobile(c.customerId);
      const member = body.members[0] as { serviceNumber: string; iccid: string };
      const w = await walkOrder(api, body, { stopAfter: 'quote' });
      const id = w.created.orderId;
      const before = await snapshotTables(env.ctx);
      faults.armed = { step, orderId: id };
      const r = await api.call('POST', `/api/v1/orders/${id}/submit`, { as: 'front_desk', body: {} });
      faults.armed = null;
      expect(r.status).toBe(500);
      const after = await snapshotTables(env.ctx);
      // the failed request may log a session touch; nothing of the order exists
      for (const t of Object.keys(before.contents).filter((t) => t !== 'sessions')) expect({ t, h: after.contents[t] }).toEqual({ t, h: before.contents[t] });
      const number = await env.ctx.database.db.selectFrom('numbers').select(['state']).where('service_number', '=', member.serviceNumber).executeTakeFirstOrThrow();
      const sim = await env.ctx.database.db.selectFrom('sim_cards').select(['state']).where('iccid', '=', member.iccid).executeTakeFirstOrThrow();
      expect([number.state, sim.state]).toEqual(['free', 'in_stock']);
      // and the same order submits cleanly afterwards
      const ok = await api.call('POST', `/api/v1/orders/${id}/submit`, { as: 'front_desk', body: {} });
      expect(ok.body.status).toBe('completed');
      expect((await checkConservation(env.ctx.database.db)).differing).toEqual([]);
    });
  }
});

describe('business types', () => {
  test('§7.2 GET /business-types lists every type by its upper-snake code, and which need the service password', async () => {
    const r = await api.call('GET', '/api/v1/business-types', { as: 'front_desk' });
    expect(r.status).toBe(200);
    const byCode = new Map(r.body.items.map((t: { code: string }) => [t.code, t]));
    for (const code of ['OPEN_ACCOUNT', 'CHANGE_PLAN', 'TRANSFER_OWNERSHIP', 'PRE_CANCEL', 'CANCEL', 'SUSPEND', 'RESUME', 'REPORT_LOSS', 'SIM_REPLACE', 'JOINT_ACCOUNT', 'ADD_ON', 'CHANGE_NUMBER', 'INTL_ROAMING']) {
      expect(byCode.has(code), code).toBe(true);
    }
    for (const t of r.body.items) expect(t.code).toMatch(/^[A-Z][A-Z_]+$/);
    expect(byCode.get('CANCEL')).toMatchObject({ sensitive: true });
    expect(byCode.get('RESUME')).toMatchObject({ sensitive: false, sensitiveDependsOnInput: true });
    expect(byCode.get('OPEN_ACCOUNT')).toMatchObject({ sensitive: false, sensitiveDependsOnInput: false });
  });
});

describe('concurrency', () => {
  test('R-ORD-4 two orders racing for one number: exactly one completes, the other is refused and changes nothing', async () => {
    const number = await freeNumber(env.ctx);
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await newCustomer(env.ctx);
      const body = await singleMobile(c.customerId);
      (body.members[0] as { serviceNumber: string }).serviceNumber = number;
      const w = await walkOrder(api, body, { stopAfter: 'quote' });
      expect(w.quoted.status).toBe('quoted');
      ids.push(w.created.orderId);
    }
    const results = await Promise.all(ids.map((id) => api.call('POST', `/api/v1/orders/${id}/submit`, { as: 'front_desk', body: {} })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    // racing inside PostgreSQL the loser hits the guarded take (409); when the second submission runs
    // after the first committed (PGlite serialises) its re-check finds the number in use (422)
    const loser = results.find((r) => r.status !== 200);
    expect([409, 422]).toContain(loser?.status);
    expect(['NUMBER_TAKEN', 'SERVICE_NUMBER_TAKEN', 'ORDER_IN_TRANSIT', 'ORDER_CHECK_FAILED']).toContain(loser?.body.code);
    const subs = await env.ctx.database.db.selectFrom('subscribers').select('subscriber_id').where('service_number', '=', number).execute();
    expect(subs).toHaveLength(1);
    expect((await checkConservation(env.ctx.database.db)).differing).toEqual([]);
  });
});

describe('bad input', () => {
  test('every order endpoint answers 4xx problem+json and changes nothing', async () => {
    const c = await newCustomer(env.ctx);
    const w = await walkOrder(api, await singleMobile(c.customerId), { stopAfter: 'check' });
    const id = w.created.orderId;
    for (const u of ['front_desk', 'hall2', 'auditor']) await api.token(u); // logins are audited: log in before the snapshot
    const before = await snapshotTables(env.ctx);
    const cases: [string, string, unknown, number, string | undefined][] = [
      ['POST', '/api/v1/orders', {}, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/orders', { businessType: 'NO_SUCH' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/orders', { businessType: 'OPEN_ACCOUNT', customerId: '1', documents: OWNER_DOCS, members: [] }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/orders', { businessType: 'OPEN_ACCOUNT', customerId: 1, documents: OWNER_DOCS, members: [{ role: 'main', network: 'lte', serviceNumber: '13900000000' }] }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/orders', { businessType: 'OPEN_ACCOUNT', customerId: 1, documents: OWNER_DOCS, members: [{ role: 'main', network: 'wcdma3g', serviceNumber: '13900000000' }], prestoreFen: 1.5 }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/orders', { businessType: 'OPEN_ACCOUNT', customerId: 1, documents: OWNER_DOCS, members: [{ role: 'main', network: 'wcdma3g', serviceNumber: '13900000000' }], extra: 1 }, 400, 'VALIDATION_FAILED'],
      ['GET', '/api/v1/orders/abc', undefined, 400, 'VALIDATION_FAILED'],
      ['GET', '/api/v1/orders/999999', undefined, 404, undefined],
      ['GET', '/api/v1/orders?status=nope', undefined, 400, 'VALIDATION_FAILED'],
      ['PATCH', `/api/v1/orders/${id}`, { businessType: 'OPEN_ACCOUNT' }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/v1/orders/${id}/check`, { servicePassword: '12' }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/v1/orders/${id}/quote`, { waivers: [{ feeCode: 'SIM_CARD' }] }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/v1/orders/${id}/quote`, { waivers: [{ feeCode: 'SIM_CARD', reason: 'x', amountFen: -5 }] }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/v1/orders/${id}/submit`, {}, 409, 'ORDER_STATE'],
      ['POST', `/api/v1/orders/${id}/submit`, { now: true }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/v1/orders/${id}/confirmation`, { accepted: 'yes' }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/v1/orders/${id}/confirmation`, { accepted: true }, 409, 'ORDER_STATE'],
      ['POST', `/api/v1/orders/${id}/cancel`, {}, 400, 'VALIDATION_FAILED'],
      // another hall's operator does not even see the order (department scope)
      ['POST', `/api/v1/orders/${id}/cancel`, { reason: 'x' }, 404, 'NOT_FOUND'],
      ['GET', `/api/v1/orders/${id}/receipt?format=doc`, undefined, 400, 'VALIDATION_FAILED'],
      ['GET', '/api/v1/orders/999999/receipt', undefined, 404, undefined],
      ['POST', '/api/v1/work-orders/999999/complete', {}, 403, 'FORBIDDEN'],
      ['GET', '/api/v1/catalog/offers?kind=hat', undefined, 400, 'VALIDATION_FAILED'],
      ['GET', '/api/v1/catalog/offers/NOPE', undefined, 404, 'OFFER_NOT_FOUND'],
    ];
    for (const [method, url, body, status, code] of cases) {
      const as = url.endsWith('/cancel') && status === 404 ? 'hall2' : 'front_desk';
      const r = await api.call(method, url, { as, body });
      expectProblem(r, status, code, `${method} ${url} ${JSON.stringify(body)}`);
    }
    const raw = await api.call('POST', '/api/v1/orders', { as: 'front_desk', raw: '{"businessType":' });
    expectProblem(raw, 400, undefined, 'broken JSON');
    const noAuth = await api.call('POST', '/api/v1/orders', { as: null, body: {} });
    expectProblem(noAuth, 401, 'AUTH_REQUIRED', 'no token');
    const auditor = await api.call('POST', '/api/v1/orders', { as: 'auditor', body: await singleMobile(c.customerId) });
    expectProblem(auditor, 403, 'FORBIDDEN', 'auditor creates');
    const after = await snapshotTables(env.ctx);
    for (const t of Object.keys(before.contents).filter((t) => t !== 'sessions')) expect({ t, h: after.contents[t] }).toEqual({ t, h: before.contents[t] });
  });
});

describe('audit and events of the submission', () => {
  test('R-INT-1 a completed open-account order stores the audit entry and event of each change it made, in its transaction', async () => {
    const c = await newCustomer(env.ctx);
    const w = await walkOrder(api, await singleMobile(c.customerId));
    expect(w.submitted?.status, JSON.stringify(w.submitted)).toBe('completed');
    const id = w.submitted.orderId as number;
    const subscriberId = w.submitted.result.subscribers.main as number;
    const accountId = w.submitted.result.accountId as number;
    const number = (w.submitted.input as { members: { serviceNumber: string; iccid: string }[] }).members[0];
    const db = env.ctx.database.db;
    const audit = await db
      .selectFrom('audit_log')
      .select(['action', 'target_id', 'account_id', 'after', 'operator_id', 'department_id'])
      .where((eb) =>
        eb.or([
          eb.and([eb('target_type', '=', 'account'), eb('target_id', '=', String(accountId))]),
          eb.and([eb('target_type', '=', 'subscriber'), eb('target_id', '=', String(subscriberId))]),
          eb.and([eb('target_type', '=', 'number'), eb('target_id', '=', number?.serviceNumber ?? '')]),
          eb.and([eb('target_type', '=', 'sim_card'), eb('target_id', '=', number?.iccid ?? '')]),
          eb.and([eb('target_type', '=', 'payment'), eb('account_id', '=', accountId)]),
          eb.and([eb('target_type', '=', 'order'), eb('target_id', '=', String(id)), eb('action', 'in', ['order.submit', 'order.complete'])]),
        ]),
      )
      .orderBy('audit_id')
      .execute();
    expect(audit.map((a) => a.action).sort()).toEqual(
      ['account.create', 'number.take', 'order.complete', 'order.submit', 'payment.create', 'product.subscribe', 'sim.bind', 'subscriber.create'].sort(),
    );
    // each entry names the operator who submitted and carries its own snapshot
    for (const a of audit) expect([a.operator_id, a.department_id]).toEqual([audit[0]?.operator_id, audit[0]?.department_id]);
    expect(audit.find((a) => a.action === 'subscriber.create')?.after).toMatchObject({ subscriberId, defaultAccountId: accountId, serviceNumber: number?.serviceNumber });
    expect(audit.find((a) => a.action === 'product.subscribe')?.after).toMatchObject({ subscriberId, offerCode: 'W3-46', orderId: id });
    const events = await db
      .selectFrom('outbox')
      .select(['event_type', 'aggregate_id', 'payload'])
      .where('event_type', 'in', ['account.created', 'subscriber.created', 'number.taken', 'sim.activated', 'product.subscribed', 'payment.created'])
      .where((eb) => eb.or([eb('account_id', '=', accountId), eb('aggregate_id', 'in', [String(subscriberId), number?.serviceNumber ?? '', number?.iccid ?? ''])]))
      .execute();
    expect(events.map((e) => e.event_type).sort()).toEqual(['account.created', 'number.taken', 'payment.created', 'product.subscribed', 'sim.activated', 'subscriber.created']);
    expect(events.find((e) => e.event_type === 'number.taken')?.payload).toMatchObject({ serviceNumber: number?.serviceNumber, subscriberId, orderId: id });
  });

  test('R-INT-1 a submission that fails after applying leaves none of the collected audit entries or events behind', async () => {
    const c = await newCustomer(env.ctx);
    const body = await singleMobile(c.customerId);
    const iccid = (body.members[0] as { iccid: string }).iccid;
    const w = await walkOrder(api, body, { stopAfter: 'quote' });
    const before = await env.ctx.database.db.selectFrom('outbox').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    faults.armed = { step: 'before-commit', orderId: w.created.orderId };
    try {
      const r = await api.call('POST', `/api/v1/orders/${w.created.orderId}/submit`, { as: 'front_desk', body: {} });
      expect(r.status).toBe(500);
    } finally {
      faults.armed = null;
    }
    const after = await env.ctx.database.db.selectFrom('outbox').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    expect(await env.ctx.database.db.selectFrom('audit_log').select('action').where('target_type', '=', 'sim_card').where('target_id', '=', iccid).execute()).toEqual([]);
    // the same order then submits, and its changes are recorded once
    const ok = await api.call('POST', `/api/v1/orders/${w.created.orderId}/submit`, { as: 'front_desk', body: {} });
    expect(ok.body.status).toBe('completed');
    expect(await env.ctx.database.db.selectFrom('audit_log').select('action').where('target_type', '=', 'sim_card').where('target_id', '=', iccid).execute()).toEqual([{ action: 'sim.bind' }]);
  });
});

test('R-INT-1 recordChanges writes each change’s audit entry and event, in order, in one statement', async () => {
  const actor = { operatorId: null, username: 'job-x', departmentId: null, permissions: new Set(['*']), requestId: 'req-batch-1' };
  await recordChanges(env.ctx.database.db, env.clock, actor, [
    { audit: { action: 'batch.one', targetType: 'thing', targetId: 7, accountId: null, after: { n: 1, text: '一' } }, event: { type: 'batch.one', aggregateType: 'thing', aggregateId: 7, payload: { n: 1 } } },
    { audit: { action: 'batch.two', targetType: 'thing', targetId: 'x8', before: null, after: { n: 2, text: 'a "q" \\ b\n' } }, event: { type: 'batch.two', aggregateType: 'thing', aggregateId: 'x8', payload: { n: 2 } } },
  ]);
  const db = env.ctx.database.db;
  const a = await db.selectFrom('audit_log').select(['action', 'target_id', 'before', 'after', 'request_id', 'at']).where('request_id', '=', 'req-batch-1').orderBy('audit_id').execute();
  expect(a.map((x) => [x.action, x.target_id, x.before, x.after])).toEqual([
    ['batch.one', '7', null, { n: 1, text: '一' }],
    ['batch.two', 'x8', null, { n: 2, text: 'a "q" \\ b\n' }],
  ]);
  // as recordChange stores them: an absent `before` is no value, a null one is JSON null
  const kinds = await sql<{ action: string; kind: string | null }>`SELECT action, jsonb_typeof(before) AS kind FROM audit_log WHERE request_id = 'req-batch-1' ORDER BY audit_id`.execute(env.ctx.database.db);
  expect(kinds.rows).toEqual([
    { action: 'batch.one', kind: null },
    { action: 'batch.two', kind: 'null' },
  ]);
  expect(a[0]?.at.getTime()).toBe(env.clock.now().getTime());
  const e = await db.selectFrom('outbox').select(['event_type', 'aggregate_id', 'payload']).where('event_type', 'like', 'batch.%').orderBy('event_id').execute();
  expect(e).toEqual([
    { event_type: 'batch.one', aggregate_id: '7', payload: { n: 1 } },
    { event_type: 'batch.two', aggregate_id: 'x8', payload: { n: 2 } },
  ]);
});

stockConservedAfterAll(() => env);
