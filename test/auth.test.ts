// Security (SPEC §13): operators authenticate, permissions per role and department, passwords
// hashed, PII masked (R-CUS-2), every write audited (§3) and evented (R-INT-1), the audit log
// append-only.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { businessLicenceCheckChar, maskIdNumber, maskPhone, residentIdCheckChar } from '../src/domains/customers/rules.ts';
import { type Api, customerWithAccount, freshResidentId, system, T0, TEST_PASSWORD, testApi, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
const P = '/api/v1';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
let ipSeq = 0;
/** Each login test comes from its own client address, so the per-address failure limit of one test never blocks another. */
const freshIp = () => `10.20.${Math.floor(++ipSeq / 250)}.${ipSeq % 250}`;

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  for (const u of ['admin', 'front_desk', 'hall2', 'accounting', 'key_account', 'auditor', 'nobody']) await api.token(u);
});
afterAll(() => env?.close());

async function login(username: string, password: string, ip = freshIp()) {
  return api.call('POST', `${P}/auth/login`, { as: null, body: { username, password }, headers: { 'x-forwarded-for': ip } });
}
const bearer = (token: string) => ({ as: null, headers: { authorization: `Bearer ${token}` } });

function expectProblem(r: Awaited<ReturnType<Api['call']>>, status: number, code: string): void {
  expect({ status: r.status, code: r.body?.code }).toEqual({ status, code });
  expect(String(r.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(r.body.messages.zh).toBeTruthy();
  expect(r.body.messages.en).toBeTruthy();
}

async function operatorId(username: string): Promise<number> {
  const r = await env.ctx.database.db.selectFrom('operators').select('operator_id').where('username', '=', username).executeTakeFirstOrThrow();
  return r.operator_id;
}

describe('login, tokens, logout', () => {
  test('login with the right password gives a bearer token; only its hash is stored', async () => {
    const r = await login('front_desk', TEST_PASSWORD);
    expect(r.status).toBe(200);
    const { token, expiresAt, operator } = r.body;
    expect(typeof token).toBe('string');
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(operator).toMatchObject({ username: 'front_desk', departmentId: 'H1', roles: ['front_desk'] });
    expect(operator).not.toHaveProperty('passwordHash');
    expect(JSON.stringify(r.body)).not.toContain('scrypt$');

    const me = await api.call('GET', `${P}/auth/me`, bearer(token));
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('front_desk');

    const sessions = await sql<{ t: string }>`SELECT s::text AS t FROM sessions s`.execute(env.ctx.database.db);
    expect(sessions.rows.some((s) => s.t.includes(sha256(token)))).toBe(true);
    expect(sessions.rows.some((s) => s.t.includes(token))).toBe(false);
  });

  test('a login is audited with the operator and department', async () => {
    const before = await env.ctx.database.db.selectFrom('audit_log').select('audit_id').where('action', '=', 'operator.login').execute();
    expect((await login('hall2', TEST_PASSWORD)).status).toBe(200);
    const rows = await env.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'operator.login').orderBy('audit_id').execute();
    expect(rows.length).toBe(before.length + 1);
    expect(rows.at(-1)).toMatchObject({ operator_id: await operatorId('hall2'), department_id: 'H2', target_type: 'operator' });
  });

  test('a wrong password → 401 LOGIN_FAILED; an unknown user gets the very same answer', async () => {
    const wrong = await login('auditor', 'not-the-password');
    expectProblem(wrong, 401, 'LOGIN_FAILED');
    const ghost = await login('ghost', 'not-the-password');
    expectProblem(ghost, 401, 'LOGIN_FAILED');
    expect(ghost.body.messages).toEqual(wrong.body.messages);
    expect(wrong.body).not.toHaveProperty('token');
  });

  test('5 failed logins, then the 6th attempt, even with the right password → 429 LOGIN_RATE_LIMITED', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) expectProblem(await login('key_account', `wrong-${i}`, ip), 401, 'LOGIN_FAILED');
    const sixth = await login('key_account', TEST_PASSWORD, ip);
    expectProblem(sixth, 429, 'LOGIN_RATE_LIMITED');
    expect(sixth.body.details.retryAfterSeconds).toBeGreaterThan(0);
    expect(sixth.body.details.retryAfterSeconds).toBeLessThanOrEqual(15 * 60);
    expect(sixth.body).not.toHaveProperty('token');
    // the limit is per user name (from any address) and per address (for any user name)
    expectProblem(await login('key_account', TEST_PASSWORD, freshIp()), 429, 'LOGIN_RATE_LIMITED');
    expectProblem(await login('accounting', TEST_PASSWORD, ip), 429, 'LOGIN_RATE_LIMITED');
    // others are not affected, and a token issued before keeps working
    expect((await login('accounting', TEST_PASSWORD)).status).toBe(200);
    expect((await api.call('GET', `${P}/auth/me`, { as: 'key_account' })).status).toBe(200);
  });

  test('logout invalidates the token at once, although the actor was cached', async () => {
    const token = (await login('front_desk', TEST_PASSWORD)).body.token as string;
    expect((await api.call('GET', `${P}/auth/me`, bearer(token))).status).toBe(200);
    const out = await api.call('POST', `${P}/auth/logout`, bearer(token));
    expect(out.status).toBe(204);
    expectProblem(await api.call('GET', `${P}/auth/me`, bearer(token)), 401, 'AUTH_INVALID');
    expectProblem(await api.call('POST', `${P}/auth/logout`, bearer(token)), 401, 'AUTH_INVALID');
    const left = await env.ctx.database.db.selectFrom('sessions').select('token_hash').where('token_hash', '=', sha256(token)).execute();
    expect(left).toHaveLength(0);
    // the operator's other sessions live on
    expect((await api.call('GET', `${P}/auth/me`, { as: 'front_desk' })).status).toBe(200);
  });

  test('a disabled operator cannot log in', async () => {
    await env.ctx.operators.create(system, { username: 'retired', name: '退休', departmentId: 'H1', roles: ['front_desk'], password: TEST_PASSWORD });
    expect((await login('retired', TEST_PASSWORD)).status).toBe(200);
    await env.ctx.database.db.updateTable('operators').set({ status: 'disabled' }).where('username', '=', 'retired').execute();
    expectProblem(await login('retired', TEST_PASSWORD), 401, 'LOGIN_FAILED');
  });

  test('GET /auth/me: the operator, its department and its permissions', async () => {
    const fd = await api.call('GET', `${P}/auth/me`, { as: 'front_desk' });
    expect(fd.status).toBe(200);
    expect(fd.body).toMatchObject({ operatorId: await operatorId('front_desk'), username: 'front_desk', departmentId: 'H1' });
    expect(fd.body.permissions).toEqual([...fd.body.permissions].sort());
    expect(fd.body.permissions).toEqual(expect.arrayContaining(['customer.create', 'customer.pii', 'payment.create', 'payment.reverse']));
    expect(fd.body.permissions).not.toContain('bill.manual');
    expect(fd.body.permissions).not.toContain('payment.reverse_any');
    expect((await api.call('GET', `${P}/auth/me`, { as: 'admin' })).body.permissions).toEqual(['*']);
    expect((await api.call('GET', `${P}/auth/me`, { as: 'nobody' })).body.permissions).toEqual([]);
    const auditor = await api.call('GET', `${P}/auth/me`, { as: 'auditor' });
    expect(auditor.body.permissions).toContain('audit.read');
    expect(auditor.body.permissions).not.toContain('customer.pii');
    expectProblem(await api.call('GET', `${P}/auth/me`, { as: null }), 401, 'AUTH_REQUIRED');
  });
});

describe('permissions per role', () => {
  let accountId: number;
  let subscriberId: number;
  beforeAll(async () => {
    ({ accountId, subscriberId } = await customerWithAccount(env.ctx, 'monthly', 7));
  });
  const cash = (key: string) => ({ amountFen: 5000, bookType: 'cash', channel: 'front_desk', idempotencyKey: key });
  const bill = () => ({ cycle: '2026-11', lines: [{ subscriberId, item: 'RENT_PLAN', amountFen: 6900 }] });

  test('the front desk can take a payment; the auditor and an operator without roles cannot', async () => {
    expect((await api.call('POST', `${P}/accounts/${accountId}/payments`, { as: 'front_desk', body: cash('perm-fd-0001') })).status).toBe(201);
    expectProblem(await api.call('POST', `${P}/accounts/${accountId}/payments`, { as: 'auditor', body: cash('perm-au-0001') }), 403, 'FORBIDDEN');
    expectProblem(await api.call('POST', `${P}/accounts/${accountId}/payments`, { as: 'nobody', body: cash('perm-no-0001') }), 403, 'FORBIDDEN');
  });

  test('the accounting room can post a manual bill; the front desk cannot', async () => {
    const denied = await api.call('POST', `${P}/accounts/${accountId}/bills`, { as: 'front_desk', body: bill() });
    expectProblem(denied, 403, 'FORBIDDEN');
    expect(denied.body.details.permission).toBe('bill.manual');
    expect((await api.call('POST', `${P}/accounts/${accountId}/bills`, { as: 'accounting', body: bill() })).status).toBe(201);
  });

  test('the auditor reads but does not write', async () => {
    expect((await api.call('GET', `${P}/accounts/${accountId}/balance`, { as: 'auditor' })).status).toBe(200);
    expectProblem(await api.call('POST', `${P}/customers`, { as: 'auditor', body: { kind: 'person', name: 'x', idType: 'resident_id', idNumber: await freshResidentId() } }), 403, 'FORBIDDEN');
    expectProblem(await api.call('POST', `${P}/accounts/${accountId}/grants`, { as: 'auditor', body: { amountFen: 100, bookType: 'discount', reason: 'x' } }), 403, 'FORBIDDEN');
  });

  test('payment relations are the key-account room’s', async () => {
    const payer = await customerWithAccount(env.ctx, 'monthly', 8);
    const body = { payerAccountId: payer.accountId, priority: 1 };
    expectProblem(await api.call('POST', `${P}/subscribers/${subscriberId}/payment-relations`, { as: 'front_desk', body }), 403, 'FORBIDDEN');
    expect((await api.call('POST', `${P}/subscribers/${subscriberId}/payment-relations`, { as: 'key_account', body })).status).toBe(201);
    expect((await api.call('GET', `${P}/subscribers/${subscriberId}/payment-relations`, { as: 'front_desk' })).status).toBe(200);
  });

  test('R-ACC-15 a reversal by another hall is refused; the accounting room may reverse it', async () => {
    const paid = await api.call('POST', `${P}/accounts/${accountId}/payments`, { as: 'front_desk', body: cash('perm-rev-0001') });
    const id = paid.body.payment.paymentId as number;
    expectProblem(await api.call('POST', `${P}/payments/${id}/reversal`, { as: 'hall2', body: {} }), 403, 'REVERSAL_NOT_ALLOWED');
    expectProblem(await api.call('POST', `${P}/payments/${id}/reversal`, { as: 'auditor', body: {} }), 403, 'FORBIDDEN');
    expect((await api.call('POST', `${P}/payments/${id}/reversal`, { as: 'accounting', body: { reason: '错帐' } })).status).toBe(201);
  });

  test('only the administrator sets the clock and creates operators', async () => {
    for (const as of ['front_desk', 'accounting', 'auditor']) {
      expectProblem(await api.call('POST', `${P}/admin/clock`, { as, body: { advanceSeconds: 1 } }), 403, 'FORBIDDEN');
      expectProblem(await api.call('POST', `${P}/operators`, { as, body: { username: `x-${as}`, name: 'x', departmentId: 'H1', roles: ['admin'], password: 'long-enough-1' } }), 403, 'FORBIDDEN');
    }
  });
});

describe('R-INT-1 every successful write is audited and evented', () => {
  interface Expected {
    action: string;
    targetType: string;
    targetId: number;
    event: string;
    operator: string;
    department: string;
  }

  /** Runs one write with a request id and checks its audit row and its outbox event. */
  type Body = Awaited<ReturnType<Api['call']>>['body'];
  async function checkWrite(as: string, method: string, url: string, body: unknown, expected: (res: Body) => Omit<Expected, 'operator' | 'department'>) {
    const requestId = `req-${Math.random().toString(36).slice(2, 10)}`;
    const db = env.ctx.database.db;
    const maxAudit = (await db.selectFrom('audit_log').select((eb) => eb.fn.max('audit_id').as('m')).executeTakeFirst())?.m ?? 0;
    const maxEvent = (await db.selectFrom('outbox').select((eb) => eb.fn.max('event_id').as('m')).executeTakeFirst())?.m ?? 0;
    const r = await api.call(method, url, { as, body, headers: { 'x-request-id': requestId } });
    expect(r.status, `${method} ${url}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    const e = expected(r.body);
    const audits = await db.selectFrom('audit_log').selectAll().where('audit_id', '>', Number(maxAudit)).execute();
    const a = audits.find((x) => x.action === e.action && x.target_id === String(e.targetId));
    expect(a, `audit ${e.action} ${e.targetId} in ${JSON.stringify(audits.map((x) => x.action))}`).toBeDefined();
    const dept = (await db.selectFrom('operators').select('department_id').where('username', '=', as).executeTakeFirstOrThrow()).department_id;
    expect(a).toMatchObject({ operator_id: await operatorId(as), department_id: dept, target_type: e.targetType, request_id: requestId });
    expect(new Date(a?.at as Date).getTime()).toBe(env.clock.now().getTime());
    expect(a?.after ?? a?.before).toBeTruthy();
    const events = await db.selectFrom('outbox').selectAll().where('event_id', '>', Number(maxEvent)).execute();
    expect(events.map((x) => x.event_type)).toContain(e.event);
    const ev = events.find((x) => x.event_type === e.event);
    expect(ev?.payload).toBeTruthy();
    expect(ev?.published_at).toBeNull();
    return r.body;
  }

  test('customer, account, subscriber, payment, bill, grant, relation, revocation and reversal', async () => {
    const idNumber = await freshResidentId();
    const c = await checkWrite('front_desk', 'POST', `${P}/customers`, { kind: 'person', name: '李四', idType: 'resident_id', idNumber }, (b) => ({
      action: 'customer.create',
      targetType: 'customer',
      targetId: b.customerId,
      event: 'customer.created',
    }));
    const a = await checkWrite('front_desk', 'POST', `${P}/accounts`, { customerId: c.customerId, billingType: 'monthly', paymentMethod: 'cash' }, (b) => ({
      action: 'account.create',
      targetType: 'account',
      targetId: b.accountId,
      event: 'account.created',
    }));
    const s = await checkWrite('front_desk', 'POST', `${P}/subscribers`, { customerId: c.customerId, accountId: a.accountId, serviceNumber: '18611112222', network: 'wcdma3g' }, (b) => ({
      action: 'subscriber.create',
      targetType: 'subscriber',
      targetId: b.subscriberId,
      event: 'subscriber.created',
    }));
    await checkWrite('accounting', 'POST', `${P}/accounts/${a.accountId}/bills`, { cycle: '2026-11', lines: [{ subscriberId: s.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }] }, (b) => ({
      action: 'bill.manual',
      targetType: 'bill',
      targetId: b.bills[0].billId,
      event: 'bill.posted',
    }));
    const p = await checkWrite('front_desk', 'POST', `${P}/accounts/${a.accountId}/payments`, { amountFen: 5000, bookType: 'cash', channel: 'front_desk', idempotencyKey: 'audit-pay-0001' }, (b) => ({
      action: 'payment.create',
      targetType: 'payment',
      targetId: b.payment.paymentId,
      event: 'payment.created',
    }));
    await checkWrite('accounting', 'POST', `${P}/accounts/${a.accountId}/grants`, { amountFen: 700, bookType: 'discount', reason: '投诉补偿' }, (b) => ({
      action: 'grant.create',
      targetType: 'grant',
      targetId: b.grant.grantId,
      event: 'grant.created',
    }));
    const payer = await customerWithAccount(env.ctx, 'monthly', 9);
    const rel = await checkWrite('key_account', 'POST', `${P}/subscribers/${s.subscriberId}/payment-relations`, { payerAccountId: payer.accountId, priority: 1, limitFen: 1000 }, (b) => ({
      action: 'relation.create',
      targetType: 'payment_relation',
      targetId: b.relationId,
      event: 'payment_relation.created',
    }));
    await checkWrite('key_account', 'DELETE', `${P}/subscribers/${s.subscriberId}/payment-relations/${rel.relationId}`, undefined, () => ({
      action: 'relation.revoke',
      targetType: 'payment_relation',
      targetId: rel.relationId,
      event: 'payment_relation.revoked',
    }));
    await checkWrite('front_desk', 'POST', `${P}/payments/${p.payment.paymentId}/reversal`, { reason: '录入错误' }, () => ({
      action: 'payment.reverse',
      targetType: 'payment',
      targetId: p.payment.paymentId,
      event: 'payment.reversed',
    }));
  });

  test('the audit row of a payment records what happened (after)', async () => {
    const { accountId } = await customerWithAccount(env.ctx, 'virtual', 10);
    const r = await api.call('POST', `${P}/accounts/${accountId}/payments`, { as: 'front_desk', body: { amountFen: 1234, bookType: 'prepaid', channel: 'front_desk', idempotencyKey: 'audit-pay-0002' } });
    const row = await env.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'payment.create').where('target_id', '=', String(r.body.payment.paymentId)).executeTakeFirstOrThrow();
    expect(row.account_id).toBe(accountId);
    expect(row.after).toMatchObject({ paymentId: r.body.payment.paymentId, amountFen: 1234, bookType: 'prepaid', channel: 'front_desk' });
    expect(new Date(row.at).getTime()).toBe(T0.getTime());
  });

  test('a refused write leaves no audit row and no event', async () => {
    const db = env.ctx.database.db;
    const count = async () => [Number((await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log`.execute(db)).rows[0]?.n), Number((await sql<{ n: string }>`SELECT count(*) AS n FROM outbox`.execute(db)).rows[0]?.n)];
    const before = await count();
    const { accountId } = await customerWithAccount(env.ctx, 'monthly', 11);
    const afterFixture = await count();
    expect(afterFixture[0]).toBeGreaterThan(before[0] as number);
    expect((await api.call('POST', `${P}/accounts/${accountId}/payments`, { as: 'front_desk', body: { amountFen: 100, bookType: 'gold', channel: 'front_desk', idempotencyKey: 'refused-0001' } })).status).toBe(422);
    expect((await api.call('POST', `${P}/accounts/${accountId}/payments`, { as: 'auditor', body: { amountFen: 100, bookType: 'cash', channel: 'front_desk', idempotencyKey: 'refused-0002' } })).status).toBe(403);
    expect(await count()).toEqual(afterFixture);
  });
});

describe('the audit log is append-only', () => {
  test('UPDATE and DELETE on audit_log raise an error and change nothing', async () => {
    const db = env.ctx.database.db;
    await customerWithAccount(env.ctx, 'monthly', 12);
    const rows = async () => (await sql<{ t: string }>`SELECT string_agg(a::text, '|' ORDER BY audit_id) AS t FROM audit_log a`.execute(db)).rows[0]?.t;
    const before = await rows();
    expect(before).toBeTruthy();
    await expect(db.updateTable('audit_log').set({ action: 'tampered' }).execute()).rejects.toThrow(/append-only/);
    await expect(db.updateTable('audit_log').set({ after: null }).where('action', '=', 'customer.create').execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM audit_log WHERE audit_id = (SELECT max(audit_id) FROM audit_log)`.execute(db)).rejects.toThrow(/append-only/);
    // also inside a transaction, which the refusal rolls back
    await expect(
      db.transaction().execute(async (tx) => {
        await tx.deleteFrom('audit_log').where('action', '=', 'customer.create').execute();
      }),
    ).rejects.toThrow(/append-only/);
    expect(await rows()).toBe(before);
    // appending still works
    const n = (await db.selectFrom('audit_log').select('audit_id').execute()).length;
    await env.ctx.customers.create(system, { kind: 'person', name: '王五', idType: 'resident_id', idNumber: await freshResidentId() });
    expect((await db.selectFrom('audit_log').select('audit_id').execute()).length).toBe(n + 1);
  });
});

describe('secrets are stored hashed', () => {
  test('operator passwords are scrypt hashes, never the password; each hash has its own salt', async () => {
    const db = env.ctx.database.db;
    for (const o of await db.selectFrom('operators').select(['username', 'password_hash']).execute()) {
      expect(o.password_hash, o.username).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
      expect(o.password_hash).not.toContain(TEST_PASSWORD);
    }
    const password = 'Correct-Horse-42';
    for (const username of ['clerk1', 'clerk2']) {
      const r = await api.call('POST', `${P}/operators`, { body: { username, name: username, departmentId: 'H1', roles: ['front_desk'], password } });
      expect(r.status).toBe(201);
      expect(JSON.stringify(r.body)).not.toContain(password);
    }
    const [h1, h2] = await Promise.all(['clerk1', 'clerk2'].map(async (u) => (await db.selectFrom('operators').select('password_hash').where('username', '=', u).executeTakeFirstOrThrow()).password_hash));
    expect(h1).toMatch(/^scrypt\$/);
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain(password);
    // the password is nowhere in the database's text
    const audit = await sql<{ t: string }>`SELECT coalesce(string_agg(a::text, '|'), '') AS t FROM audit_log a`.execute(db);
    expect(audit.rows[0]?.t).not.toContain(password);
    expect((await login('clerk1', password)).status).toBe(200);
  });

  test('a customer’s service password is stored as a scrypt hash', async () => {
    const r = await api.call('POST', `${P}/customers`, { as: 'front_desk', body: { kind: 'person', name: '赵六', idType: 'resident_id', idNumber: await freshResidentId(), servicePassword: '902417' } });
    expect(r.status).toBe(201);
    expect(r.body.hasServicePassword).toBe(true);
    expect(JSON.stringify(r.body)).not.toContain('902417');
    const row = await env.ctx.database.db.selectFrom('customers').select('service_password_hash').where('customer_id', '=', r.body.customerId).executeTakeFirstOrThrow();
    expect(row.service_password_hash).toMatch(/^scrypt\$/);
    expect(row.service_password_hash).not.toContain('902417');
    expect(await env.ctx.customers.verifyServicePassword(r.body.customerId, '902417')).toBe(true);
    expect(await env.ctx.customers.verifyServicePassword(r.body.customerId, '902418')).toBe(false);
  });
});

describe('R-CUS-2 PII masking', () => {
  let person: { customerId: number; idNumber: string; phone: string };
  let org: { customerId: number; licence: string; handlerId: string; contactId: string; contactPhone: string };
  let bankAccount: { accountId: number; number: string };

  beforeAll(async () => {
    const idNumber = await freshResidentId();
    const phone = '13812345678';
    const p = await api.call('POST', `${P}/customers`, { as: 'front_desk', body: { kind: 'person', name: '孙七', idType: 'resident_id', idNumber, contactPhone: phone, address: '天津市河西区友谊路 1 号' } });
    expect(p.status).toBe(201);
    person = { customerId: p.body.customerId, idNumber, phone };

    const body17 = '91120104MA05K8Y71';
    const licence = body17 + businessLicenceCheckChar(body17);
    const handlerId = await freshResidentId();
    const contactId = await freshResidentId();
    const contactPhone = '13987654321';
    const o = await api.call('POST', `${P}/customers`, {
      as: 'key_account',
      body: {
        kind: 'organisation',
        name: '天津某某科技有限公司',
        idType: 'business_licence',
        idNumber: licence,
        handler: { name: '周八', idType: 'resident_id', idNumber: handlerId, phone: '13700001111' },
        contact: { name: '吴九', idType: 'resident_id', idNumber: contactId, phone: contactPhone },
      },
    });
    expect(o.status, JSON.stringify(o.body)).toBe(201);
    org = { customerId: o.body.customerId, licence, handlerId, contactId, contactPhone };

    const number = '6222020200112233445';
    const acc = await api.call('POST', `${P}/accounts`, {
      as: 'front_desk',
      body: { customerId: person.customerId, billingType: 'monthly', paymentMethod: 'bank_collection', bankName: '工商银行', bankAccountHolder: '孙七', bankAccountNumber: number },
    });
    expect(acc.status).toBe(201);
    bankAccount = { accountId: acc.body.accountId, number };
  });

  test('R-CUS-2 the customer detail shows the whole ID to the front desk (customer.pii)', async () => {
    const r = await api.call('GET', `${P}/customers/${person.customerId}`, { as: 'front_desk' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ idNumber: person.idNumber, contactPhone: person.phone, masked: false });
    const o = await api.call('GET', `${P}/customers/${org.customerId}`, { as: 'key_account' });
    expect(o.body.handler.idNumber).toBe(org.handlerId);
    expect(o.body.contact.phone).toBe(org.contactPhone);
  });

  test('R-CUS-2 the customer detail is masked for the auditor (no customer.pii)', async () => {
    const r = await api.call('GET', `${P}/customers/${person.customerId}`, { as: 'auditor' });
    expect(r.status).toBe(200);
    expect(r.body.masked).toBe(true);
    expect(r.body.idNumber).toBe(maskIdNumber(person.idNumber));
    expect(r.body.idNumber).toMatch(/^110105\*{8}[0-9X]{4}$/);
    expect(r.body.contactPhone).toBe('138****5678');
    expect(JSON.stringify(r.body)).not.toContain(person.idNumber);
    expect(JSON.stringify(r.body)).not.toContain(person.phone);
    const o = await api.call('GET', `${P}/customers/${org.customerId}`, { as: 'auditor' });
    const text = JSON.stringify(o.body);
    for (const secret of [org.licence, org.handlerId, org.contactId, org.contactPhone]) expect(text).not.toContain(secret);
    expect(o.body.handler.idNumber).toBe(maskIdNumber(org.handlerId));
    expect(o.body.contact.phone).toBe(maskPhone(org.contactPhone));
  });

  test('R-CUS-2 search results are always masked, even for operators with customer.pii', async () => {
    for (const as of ['front_desk', 'admin', 'auditor']) {
      for (const q of [person.idNumber, '孙七']) {
        const r = await api.call('GET', `${P}/customers?q=${encodeURIComponent(q)}`, { as });
        expect(r.status).toBe(200);
        const hit = r.body.items.find((c: { customerId: number }) => c.customerId === person.customerId);
        expect(hit, `${as} ${q}`).toBeDefined();
        expect(hit.masked).toBe(true);
        expect(hit.idNumber).toBe(maskIdNumber(person.idNumber));
        expect(JSON.stringify(r.body)).not.toContain(person.idNumber);
        expect(JSON.stringify(r.body)).not.toContain(person.phone);
      }
    }
  });

  test('R-CUS-2 bank account numbers are masked without customer.pii', async () => {
    const whole = await api.call('GET', `${P}/accounts/${bankAccount.accountId}`, { as: 'front_desk' });
    expect(whole.body.bankAccountNumber).toBe(bankAccount.number);
    const masked = await api.call('GET', `${P}/accounts/${bankAccount.accountId}`, { as: 'auditor' });
    expect(masked.body.bankAccountNumber).toMatch(/^\*+3445$/);
    expect(JSON.stringify(masked.body)).not.toContain(bankAccount.number);
  });

  test('R-CUS-2 no whole ID, phone or bank account number in audit_log or outbox', async () => {
    const db = env.ctx.database.db;
    const audit = (await sql<{ t: string }>`SELECT coalesce(string_agg(concat_ws('|', a.before::text, a.after::text, a.target_id), '|'), '') AS t FROM audit_log a`.execute(db)).rows[0]?.t ?? '';
    const outbox = (await sql<{ t: string }>`SELECT coalesce(string_agg(o.payload::text, '|'), '') AS t FROM outbox o`.execute(db)).rows[0]?.t ?? '';
    // the rows are there, masked
    expect(audit).toContain(maskIdNumber(person.idNumber));
    expect(outbox).toContain(maskIdNumber(person.idNumber));
    for (const secret of [person.idNumber, person.phone, org.licence, org.handlerId, org.contactId, org.contactPhone, '13700001111', bankAccount.number]) {
      expect(audit, `audit_log contains ${secret}`).not.toContain(secret);
      expect(outbox, `outbox contains ${secret}`).not.toContain(secret);
    }
  });

  test('R-CUS-1 R-CUS-2 a refused ID number is masked in the error too', async () => {
    const body = '11010519800101123';
    const bad = body + (residentIdCheckChar(body) === '0' ? '1' : '0');
    const r = await api.call('POST', `${P}/customers`, { as: 'front_desk', body: { kind: 'person', name: 'x', idType: 'resident_id', idNumber: bad } });
    expectProblem(r, 422, 'INVALID_ID_NUMBER');
    expect(JSON.stringify(r.body)).not.toContain(bad);
  });
});
