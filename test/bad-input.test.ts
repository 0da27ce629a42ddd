// Bad input (SPEC §13 Reliability, "never a 500 for a client's mistake"): every endpoint under
// /api/v1 gets each kind of bad input that applies, and answers 400/401/403/404/409/413/414/415/422
// as RFC 9457 problem+json with a stable code and messages in zh and en — and nothing changes:
// every table's rows (count and content) and the sum of the book balances are the same after the
// whole barrage as before it.
import { createHash } from 'node:crypto';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { residentIdCheckChar } from '../src/domains/customers/rules.ts';
import { expectProblem, type Snapshot, snapshotTables } from './snapshot.ts';
import { type Api, customerWithAccount, freshResidentId, system, TEST_PASSWORD, testApi, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;

/** Everything the cases refer to, made before the "before" snapshot. */
interface Fixtures {
  customerA: number;
  idNumberA: string;
  accountA: number;
  subscriberA: number;
  numberA: string;
  customerB: number;
  accountB: number;
  accountB2: number;
  subscriberB: number;
  /** accountB pays subscriberA (active). */
  relationAB: number;
  /** accountB2 paid subscriberA (revoked). */
  revokedRelation: number;
  /** Paid at H1 by front_desk and reversed. */
  reversedPayment: number;
  reversal: number;
  /** Paid at H1 by front_desk, not reversed. */
  openPayment: number;
  openPaymentKey: string;
  invoicedPayment: number;
  expiredToken: string;
  disabledToken: string;
}
let fx: Fixtures;

const MISSING = 987654;
const cash = (key: string, extra: Record<string, Json> = {}) => ({ amountFen: 1000, bookType: 'cash', channel: 'front_desk', idempotencyKey: key, ...extra });
const HUGE_BODY = `{"name":"${'x'.repeat(1_100_000)}"}`;

async function login(username: string): Promise<string> {
  const r = await api.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: TEST_PASSWORD } });
  expect(r.statusCode).toBe(200);
  return (r.json() as { token: string }).token;
}

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  const db = env.ctx.database.db;
  // every token used below exists before the first snapshot (a login writes a session and an audit row)
  for (const u of ['admin', 'front_desk', 'hall2', 'accounting', 'key_account', 'auditor', 'nobody']) await api.token(u);

  const a = await customerWithAccount(env.ctx, 'monthly', 1);
  const b = await customerWithAccount(env.ctx, 'monthly', 2);
  const accountB2 = await env.ctx.accounts.createAccount(system, { customerId: b.customer.customerId, billingType: 'monthly', paymentMethod: 'cash' });
  const relationAB = await env.ctx.accounts.createRelation(system, a.subscriberId, { payerAccountId: b.accountId, priority: 1 });
  const revoked = await env.ctx.accounts.createRelation(system, a.subscriberId, { payerAccountId: accountB2.accountId, priority: 2 });
  await env.ctx.accounts.revokeRelation(system, a.subscriberId, revoked.relationId);
  // a bill so that the payments below write something off
  const bill = await api.call('POST', `/api/v1/accounts/${a.accountId}/bills`, {
    as: 'accounting',
    body: { cycle: '2026-10', lines: [{ subscriberId: a.subscriberId, item: 'RENT_PLAN', amountFen: 1500 }] },
  });
  expect(bill.status).toBe(201);
  const pay = async (key: string) => {
    const r = await api.call('POST', `/api/v1/accounts/${a.accountId}/payments`, { as: 'front_desk', body: cash(key) });
    expect(r.status).toBe(201);
    return r.body.payment.paymentId as number;
  };
  const reversedPayment = await pay('fx-reversed-0001');
  const rev = await api.call('POST', `/api/v1/payments/${reversedPayment}/reversal`, { as: 'front_desk', body: { reason: 'fixture' } });
  expect(rev.status).toBe(201);
  const openPayment = await pay('fx-open-0002');
  const invoicedPayment = await pay('fx-invoiced-0003');
  await db.updateTable('payments').set({ invoiced_at: env.clock.now() }).where('payment_id', '=', invoicedPayment).execute();

  // an expired session: a fresh token never used, so the operator service has not cached its actor
  const expiredToken = await login('front_desk');
  await db
    .updateTable('sessions')
    .set({ expires_at: new Date(Date.now() - 3600_000) })
    .where('token_hash', '=', sha256(expiredToken))
    .execute();
  // a disabled operator's token (also never used before)
  await env.ctx.operators.create(system, { username: 'leaver', name: '离职', departmentId: 'H1', roles: ['front_desk'], password: TEST_PASSWORD });
  const disabledToken = await login('leaver');
  await db.updateTable('operators').set({ status: 'disabled' }).where('username', '=', 'leaver').execute();

  fx = {
    customerA: a.customer.customerId,
    idNumberA: a.customer.idNumber,
    accountA: a.accountId,
    subscriberA: a.subscriberId,
    numberA: a.sub.serviceNumber,
    customerB: b.customer.customerId,
    accountB: b.accountId,
    accountB2: accountB2.accountId,
    subscriberB: b.subscriberId,
    relationAB: relationAB.relationId,
    revokedRelation: revoked.relationId,
    reversedPayment,
    reversal: rev.body.reversal.paymentId,
    openPayment,
    openPaymentKey: 'fx-open-0002',
    invoicedPayment,
    expiredToken,
    disabledToken,
  };
});
afterAll(() => env?.close());

type Lazy<T> = T | ((f: Fixtures) => T);
type Json = string | number | boolean | null | readonly Json[] | { readonly [k: string]: Json | undefined };
/** The fields of a problem the cases look into. */
interface ProblemBody {
  code: string;
  details: Record<string, unknown>;
}
interface Case {
  name: string;
  method: string;
  url: Lazy<string>;
  as?: string | null;
  body?: Lazy<Json>;
  raw?: string;
  headers?: Lazy<Record<string, string>>;
  status: number;
  code: string;
  /** Extra checks on the problem body. */
  check?: (body: ProblemBody, f: Fixtures) => void;
}
const v = <T>(x: Lazy<T>): T => (typeof x === 'function' ? (x as (f: Fixtures) => T)(fx) : x);

const badChecksumId = (() => {
  const body = '11010519800101123';
  const good = residentIdCheckChar(body);
  return body + (good === '0' ? '1' : '0');
})();
const impossibleBirthId = (() => {
  const body = '11010519990230123'; // 30 February 1999
  return body + residentIdCheckChar(body);
})();
const person = (extra: Record<string, Json> = {}) => ({ kind: 'person', name: '张三', idType: 'resident_id', idNumber: '11010519491231002X', ...extra });

const P = '/api/v1';
const payments = (f: Fixtures) => `${P}/accounts/${f.accountA}/payments`;
const bills = (f: Fixtures) => `${P}/accounts/${f.accountA}/bills`;
const grants = (f: Fixtures) => `${P}/accounts/${f.accountA}/grants`;
const relations = (f: Fixtures) => `${P}/subscribers/${f.subscriberA}/payment-relations`;
const noLeak = (id: string) => (body: unknown) => expect(JSON.stringify(body)).not.toContain(id);

const cases: Case[] = [
  // ---- authentication and permissions
  { name: 'no token → AUTH_REQUIRED', method: 'GET', url: (f) => `${P}/customers/${f.customerA}`, as: null, status: 401, code: 'AUTH_REQUIRED' },
  { name: 'no token on a payment → AUTH_REQUIRED', method: 'POST', url: payments, as: null, body: cash('noauth-0001'), status: 401, code: 'AUTH_REQUIRED' },
  { name: 'empty bearer → AUTH_REQUIRED', method: 'GET', url: `${P}/auth/me`, as: null, headers: { authorization: 'Bearer ' }, status: 401, code: 'AUTH_REQUIRED' },
  { name: 'Basic scheme → AUTH_REQUIRED', method: 'GET', url: `${P}/auth/me`, as: null, headers: { authorization: 'Basic YWRtaW46eA==' }, status: 401, code: 'AUTH_REQUIRED' },
  { name: 'garbage token → AUTH_INVALID', method: 'GET', url: `${P}/auth/me`, as: null, headers: { authorization: 'Bearer not-a-real-token' }, status: 401, code: 'AUTH_INVALID' },
  { name: 'huge garbage token → AUTH_INVALID', method: 'GET', url: `${P}/auth/me`, as: null, headers: { authorization: `Bearer ${'z'.repeat(8000)}` }, status: 401, code: 'AUTH_INVALID' },
  { name: 'expired token → AUTH_INVALID', method: 'POST', url: payments, as: null, headers: (f) => ({ authorization: `Bearer ${f.expiredToken}` }), body: cash('expired-0001'), status: 401, code: 'AUTH_INVALID' },
  { name: 'disabled operator → AUTH_INVALID', method: 'POST', url: payments, as: null, headers: (f) => ({ authorization: `Bearer ${f.disabledToken}` }), body: cash('disabled-0001'), status: 401, code: 'AUTH_INVALID' },
  { name: 'nobody pays → FORBIDDEN', method: 'POST', url: payments, as: 'nobody', body: cash('nobody-0001'), status: 403, code: 'FORBIDDEN', check: (b) => expect(b.details.permission).toBe('payment.create') },
  { name: 'auditor pays → FORBIDDEN', method: 'POST', url: payments, as: 'auditor', body: cash('auditor-0001'), status: 403, code: 'FORBIDDEN' },
  { name: 'auditor creates a customer → FORBIDDEN', method: 'POST', url: `${P}/customers`, as: 'auditor', body: person(), status: 403, code: 'FORBIDDEN' },
  { name: 'auditor creates an account → FORBIDDEN', method: 'POST', url: `${P}/accounts`, as: 'auditor', body: (f) => ({ customerId: f.customerA, billingType: 'virtual', paymentMethod: 'cash' }), status: 403, code: 'FORBIDDEN' },
  { name: 'front desk posts a manual bill → FORBIDDEN', method: 'POST', url: bills, as: 'front_desk', body: (f) => ({ cycle: '2026-11', lines: [{ subscriberId: f.subscriberA, item: 'RENT_PLAN', amountFen: 100 }] }), status: 403, code: 'FORBIDDEN' },
  { name: 'front desk grants → FORBIDDEN', method: 'POST', url: grants, as: 'front_desk', body: { amountFen: 100, bookType: 'discount', reason: 'x' }, status: 403, code: 'FORBIDDEN' },
  { name: 'front desk adds a relation → FORBIDDEN', method: 'POST', url: relations, as: 'front_desk', body: (f) => ({ payerAccountId: f.accountB2, priority: 3 }), status: 403, code: 'FORBIDDEN' },
  { name: 'front desk revokes a relation → FORBIDDEN', method: 'DELETE', url: (f) => `${P}/subscribers/${f.subscriberA}/payment-relations/${f.relationAB}`, as: 'front_desk', status: 403, code: 'FORBIDDEN' },
  { name: 'auditor reverses → FORBIDDEN', method: 'POST', url: (f) => `${P}/payments/${f.openPayment}/reversal`, as: 'auditor', body: {}, status: 403, code: 'FORBIDDEN' },
  { name: 'nobody reads a customer → FORBIDDEN', method: 'GET', url: (f) => `${P}/customers/${f.customerA}`, as: 'nobody', status: 403, code: 'FORBIDDEN' },
  { name: 'nobody reads a balance → FORBIDDEN', method: 'GET', url: (f) => `${P}/accounts/${f.accountA}/balance`, as: 'nobody', status: 403, code: 'FORBIDDEN' },
  { name: 'front desk sets the clock → FORBIDDEN', method: 'POST', url: `${P}/admin/clock`, as: 'front_desk', body: { advanceSeconds: 86400 }, status: 403, code: 'FORBIDDEN' },
  { name: 'front desk creates an operator → FORBIDDEN', method: 'POST', url: `${P}/operators`, as: 'front_desk', body: { username: 'x9', name: 'x', departmentId: 'H1', roles: ['admin'], password: 'long-enough-1' }, status: 403, code: 'FORBIDDEN' },

  // ---- login
  { name: 'login: malformed JSON', method: 'POST', url: `${P}/auth/login`, as: null, raw: '{"username":', status: 400, code: 'MALFORMED_JSON' },
  { name: 'login: JSON array', method: 'POST', url: `${P}/auth/login`, as: null, body: ['admin', TEST_PASSWORD], status: 400, code: 'VALIDATION_FAILED' },
  { name: 'login: missing password', method: 'POST', url: `${P}/auth/login`, as: null, body: { username: 'admin' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'login: number as user name', method: 'POST', url: `${P}/auth/login`, as: null, body: { username: 1, password: 'x' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'login: unknown property', method: 'POST', url: `${P}/auth/login`, as: null, body: { username: 'admin', password: TEST_PASSWORD, remember: true }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'login: wrong password', method: 'POST', url: `${P}/auth/login`, as: null, headers: { 'x-forwarded-for': '10.9.0.1' }, body: { username: 'admin', password: 'wrong' }, status: 401, code: 'LOGIN_FAILED' },
  { name: 'login: unknown user', method: 'POST', url: `${P}/auth/login`, as: null, headers: { 'x-forwarded-for': '10.9.0.2' }, body: { username: 'ghost', password: 'wrong' }, status: 401, code: 'LOGIN_FAILED' },
  { name: 'login: NUL in the user name', method: 'POST', url: `${P}/auth/login`, as: null, headers: { 'x-forwarded-for': '10.9.0.3' }, body: { username: 'ad\u0000min', password: 'x' }, status: 400, code: 'INVALID_TEXT' },
  { name: 'logout: garbage token', method: 'POST', url: `${P}/auth/logout`, as: null, headers: { authorization: 'Bearer nope' }, status: 401, code: 'AUTH_INVALID' },

  // ---- POST /customers
  { name: 'customer: malformed JSON', method: 'POST', url: `${P}/customers`, raw: '{"kind":"person",', status: 400, code: 'MALFORMED_JSON' },
  { name: 'customer: empty JSON body', method: 'POST', url: `${P}/customers`, raw: '', status: 400, code: 'MALFORMED_JSON' },
  { name: 'customer: JSON array', method: 'POST', url: `${P}/customers`, body: [person()], status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer: JSON string', method: 'POST', url: `${P}/customers`, body: 'person', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer: JSON null', method: 'POST', url: `${P}/customers`, raw: 'null', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer: empty object', method: 'POST', url: `${P}/customers`, body: {}, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer: unknown property', method: 'POST', url: `${P}/customers`, body: person({ isAdmin: true }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer: unknown kind', method: 'POST', url: `${P}/customers`, body: person({ kind: 'robot' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer: unknown ID type', method: 'POST', url: `${P}/customers`, body: person({ idType: 'library_card' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer: name too long', method: 'POST', url: `${P}/customers`, body: person({ name: '名'.repeat(129) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer: service password of 5 digits', method: 'POST', url: `${P}/customers`, body: person({ servicePassword: '12345' }), status: 400, code: 'VALIDATION_FAILED' },
  {
    name: 'R-CUS-1 customer: resident ID with a bad checksum',
    method: 'POST',
    url: `${P}/customers`,
    body: person({ idNumber: badChecksumId }),
    status: 422,
    code: 'INVALID_ID_NUMBER',
    check: (b) => {
      expect(b.details.reason).toBe('checksum');
      noLeak(badChecksumId)(b);
    },
  },
  {
    name: 'R-CUS-1 customer: resident ID with an impossible birth date',
    method: 'POST',
    url: `${P}/customers`,
    body: person({ idNumber: impossibleBirthId }),
    status: 422,
    code: 'INVALID_ID_NUMBER',
    check: (b) => expect(b.details.reason).toBe('birth_date'),
  },
  { name: 'R-CUS-1 customer: resident ID of 17 characters', method: 'POST', url: `${P}/customers`, body: person({ idNumber: '11010519491231002' }), status: 422, code: 'INVALID_ID_NUMBER' },
  { name: 'R-CUS-1 organisation: handler with a bad ID', method: 'POST', url: `${P}/customers`, body: { kind: 'organisation', name: '某公司', idType: 'business_licence', idNumber: '91120000000000000X', handler: { name: 'a', idType: 'resident_id', idNumber: badChecksumId }, contact: { name: 'b', idType: 'resident_id', idNumber: badChecksumId } }, status: 422, code: 'INVALID_ID_NUMBER' },
  { name: 'customer: duplicate ID document', method: 'POST', url: `${P}/customers`, body: (f) => person({ idNumber: f.idNumberA }), status: 409, code: 'CUSTOMER_EXISTS' },
  { name: 'customer: duplicate ID document in lower case', method: 'POST', url: `${P}/customers`, body: (f) => person({ idNumber: f.idNumberA.toLowerCase() }), status: 409, code: 'CUSTOMER_EXISTS' },
  { name: 'customer: organisation with a resident ID', method: 'POST', url: `${P}/customers`, body: person({ kind: 'organisation' }), status: 422, code: 'ORG_NEEDS_LICENCE' },
  { name: 'customer: person with a business licence', method: 'POST', url: `${P}/customers`, body: person({ idType: 'business_licence' }), status: 422, code: 'PERSON_WITH_LICENCE' },
  { name: 'customer: weak service password', method: 'POST', url: `${P}/customers`, body: person({ servicePassword: '123456' }), status: 422, code: 'WEAK_SERVICE_PASSWORD' },
  { name: 'customer: NUL in the name', method: 'POST', url: `${P}/customers`, body: person({ name: '张\u0000三' }), status: 400, code: 'INVALID_TEXT' },
  { name: 'customer: NUL in the address', method: 'POST', url: `${P}/customers`, body: person({ address: '\u0000' }), status: 400, code: 'INVALID_TEXT' },
  { name: 'customer: text/plain body', method: 'POST', url: `${P}/customers`, raw: JSON.stringify(person()), headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'customer: XML body', method: 'POST', url: `${P}/customers`, raw: '<customer/>', headers: { 'content-type': 'application/xml' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'customer: form body', method: 'POST', url: `${P}/customers`, raw: 'kind=person', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'customer: body over 1 MB', method: 'POST', url: `${P}/customers`, raw: HUGE_BODY, status: 413, code: 'BODY_TOO_LARGE' },
  { name: 'customer: prototype poisoning', method: 'POST', url: `${P}/customers`, raw: '{"__proto__":{"isAdmin":true},"kind":"person"}', status: 400, code: 'MALFORMED_JSON' },
  { name: 'customer: wrong Content-Length', method: 'POST', url: `${P}/customers`, raw: '{}', headers: { 'content-length': '99' }, status: 400, code: 'BAD_CONTENT_LENGTH' },

  // ---- GET /customers/:id and search
  { name: 'customer id not a number', method: 'GET', url: `${P}/customers/abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer id 0', method: 'GET', url: `${P}/customers/0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer id -1', method: 'GET', url: `${P}/customers/-1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer id 1.5', method: 'GET', url: `${P}/customers/1.5`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer id 1e20', method: 'GET', url: `${P}/customers/100000000000000000000`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'customer id unknown → 404', method: 'GET', url: `${P}/customers/${MISSING}`, status: 404, code: 'NOT_FOUND' },
  { name: 'customer id badly encoded', method: 'GET', url: `${P}/customers/%E4%`, status: 400, code: 'BAD_URL' },
  { name: 'search without q', method: 'GET', url: `${P}/customers`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'search with empty q', method: 'GET', url: `${P}/customers?q=`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'search limit 0', method: 'GET', url: `${P}/customers?q=a&limit=0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'search limit abc', method: 'GET', url: `${P}/customers?q=a&limit=abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'search limit 1000', method: 'GET', url: `${P}/customers?q=a&limit=1000`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'search unknown parameter', method: 'GET', url: `${P}/customers?q=a&admin=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'search q twice', method: 'GET', url: `${P}/customers?q=a&q=b`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'search NUL', method: 'GET', url: `${P}/customers?q=%00`, status: 400, code: 'INVALID_TEXT' },

  // ---- accounts
  { name: 'account: unknown customer', method: 'POST', url: `${P}/accounts`, body: { customerId: MISSING, billingType: 'virtual', paymentMethod: 'cash' }, status: 422, code: 'UNKNOWN_CUSTOMER' },
  { name: 'account: customer id as a string', method: 'POST', url: `${P}/accounts`, body: (f) => ({ customerId: String(f.customerA), billingType: 'virtual', paymentMethod: 'cash' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'account: unknown billing type', method: 'POST', url: `${P}/accounts`, body: (f) => ({ customerId: f.customerA, billingType: 'weekly', paymentMethod: 'cash' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'account: bank collection without bank details', method: 'POST', url: `${P}/accounts`, body: (f) => ({ customerId: f.customerA, billingType: 'monthly', paymentMethod: 'bank_collection' }), status: 422, code: 'BANK_DETAILS_REQUIRED' },
  { name: 'account: negative credit limit', method: 'POST', url: `${P}/accounts`, body: (f) => ({ customerId: f.customerA, billingType: 'monthly', paymentMethod: 'cash', creditLimitFen: -1 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'account: fractional credit limit', method: 'POST', url: `${P}/accounts`, body: (f) => ({ customerId: f.customerA, billingType: 'monthly', paymentMethod: 'cash', creditLimitFen: 1.5 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'account: bank account number with letters', method: 'POST', url: `${P}/accounts`, body: (f) => ({ customerId: f.customerA, billingType: 'monthly', paymentMethod: 'bank_collection', bankName: 'b', bankAccountHolder: 'h', bankAccountNumber: '6222abc0001234' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'account: unknown property', method: 'POST', url: `${P}/accounts`, body: (f) => ({ customerId: f.customerA, billingType: 'monthly', paymentMethod: 'cash', balanceFen: 100000 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'account id not a number', method: 'GET', url: `${P}/accounts/abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'account id unknown → 404', method: 'GET', url: `${P}/accounts/${MISSING}`, status: 404, code: 'NOT_FOUND' },

  // ---- subscribers
  { name: 'subscriber: unknown customer', method: 'POST', url: `${P}/subscribers`, body: (f) => ({ customerId: MISSING, accountId: f.accountA, serviceNumber: '18699990001', network: 'wcdma3g' }), status: 422, code: 'UNKNOWN_CUSTOMER' },
  { name: 'subscriber: unknown account', method: 'POST', url: `${P}/subscribers`, body: (f) => ({ customerId: f.customerA, accountId: MISSING, serviceNumber: '18699990001', network: 'wcdma3g' }), status: 422, code: 'UNKNOWN_ACCOUNT' },
  { name: 'subscriber: account of another customer', method: 'POST', url: `${P}/subscribers`, body: (f) => ({ customerId: f.customerA, accountId: f.accountB, serviceNumber: '18699990001', network: 'wcdma3g' }), status: 422, code: 'ACCOUNT_OF_OTHER_CUSTOMER' },
  { name: 'subscriber: number taken', method: 'POST', url: `${P}/subscribers`, body: (f) => ({ customerId: f.customerA, accountId: f.accountA, serviceNumber: f.numberA, network: 'gsm2g' }), status: 409, code: 'SERVICE_NUMBER_TAKEN' },
  { name: 'subscriber: number does not fit the network', method: 'POST', url: `${P}/subscribers`, body: (f) => ({ customerId: f.customerA, accountId: f.accountA, serviceNumber: '12ab', network: 'wcdma3g' }), status: 422, code: 'INVALID_SERVICE_NUMBER' },
  { name: 'subscriber: unknown network', method: 'POST', url: `${P}/subscribers`, body: (f) => ({ customerId: f.customerA, accountId: f.accountA, serviceNumber: '18699990001', network: '5g' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'subscriber by number: unknown → 404', method: 'GET', url: `${P}/subscribers/18600000000`, status: 404, code: 'NOT_FOUND' },
  { name: 'subscriber by number: unknown network', method: 'GET', url: (f) => `${P}/subscribers/${f.numberA}?network=5g`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'subscriber by number: 41 characters', method: 'GET', url: `${P}/subscribers/${'1'.repeat(41)}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'subscriber by number: 150 characters', method: 'GET', url: `${P}/subscribers/${'1'.repeat(150)}`, status: 414, code: 'PARAM_TOO_LONG' },
  { name: 'subscriber by number: NUL', method: 'GET', url: `${P}/subscribers/%00`, status: 400, code: 'INVALID_TEXT' },
  { name: 'subscriber by number: badly encoded', method: 'GET', url: `${P}/subscribers/186%`, status: 400, code: 'BAD_URL' },

  // ---- payment relations (key_account holds relation.manage)
  { name: 'relation: unknown subscriber → 404', method: 'POST', url: `${P}/subscribers/${MISSING}/payment-relations`, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3 }), status: 404, code: 'NOT_FOUND' },
  { name: 'relation: subscriber id not a number', method: 'POST', url: `${P}/subscribers/abc/payment-relations`, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relation: unknown payer account', method: 'POST', url: relations, as: 'key_account', body: { payerAccountId: MISSING, priority: 3 }, status: 422, code: 'UNKNOWN_ACCOUNT' },
  { name: 'relation: payer is the default account', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountA, priority: 3 }), status: 409, code: 'RELATION_IS_DEFAULT' },
  { name: 'relation: exists already', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB, priority: 3 }), status: 409, code: 'RELATION_EXISTS' },
  { name: 'relation: unknown item', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3, items: ['GOLD_PLATING'] }), status: 422, code: 'UNKNOWN_BILL_ITEM' },
  { name: 'relation: item in lower case', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3, items: ['rent_plan'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relation: empty item list', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3, items: [] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relation: limit 0', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3, limitFen: 0 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relation: limit -1', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3, limitFen: -1 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relation: limit 1.5', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3, limitFen: 1.5 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relation: limit 1e20', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3, limitFen: 1e20 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relation: limit "100"', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: 3, limitFen: '100' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relation: negative priority', method: 'POST', url: relations, as: 'key_account', body: (f) => ({ payerAccountId: f.accountB2, priority: -1 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'relations of an unknown subscriber → 404', method: 'GET', url: `${P}/subscribers/${MISSING}/payment-relations`, status: 404, code: 'NOT_FOUND' },
  { name: 'relations: subscriber id not a number', method: 'GET', url: `${P}/subscribers/x/payment-relations`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'revoke: unknown relation → 404', method: 'DELETE', url: (f) => `${P}/subscribers/${f.subscriberA}/payment-relations/${MISSING}`, as: 'key_account', status: 404, code: 'NOT_FOUND' },
  // the service revokes first and then finds the subscriber wrong: the transaction must roll the revocation back
  { name: 'revoke: relation of another subscriber → 404', method: 'DELETE', url: (f) => `${P}/subscribers/${f.subscriberB}/payment-relations/${f.relationAB}`, as: 'key_account', status: 404, code: 'NOT_FOUND' },
  { name: 'revoke: already revoked → 404', method: 'DELETE', url: (f) => `${P}/subscribers/${f.subscriberA}/payment-relations/${f.revokedRelation}`, as: 'key_account', status: 404, code: 'NOT_FOUND' },
  { name: 'revoke: relation id not a number', method: 'DELETE', url: (f) => `${P}/subscribers/${f.subscriberA}/payment-relations/one`, as: 'key_account', status: 400, code: 'VALIDATION_FAILED' },

  // ---- manual bills (accounting holds bill.manual)
  { name: 'bill: future cycle', method: 'POST', url: bills, as: 'accounting', body: (f) => ({ cycle: '2026-12', lines: [{ subscriberId: f.subscriberA, item: 'RENT_PLAN', amountFen: 100 }] }), status: 422, code: 'CYCLE_IN_FUTURE' },
  { name: 'bill: cycle 2026-13', method: 'POST', url: bills, as: 'accounting', body: (f) => ({ cycle: '2026-13', lines: [{ subscriberId: f.subscriberA, item: 'RENT_PLAN', amountFen: 100 }] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'bill: cycle 202611', method: 'POST', url: bills, as: 'accounting', body: (f) => ({ cycle: '202611', lines: [{ subscriberId: f.subscriberA, item: 'RENT_PLAN', amountFen: 100 }] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'bill: unknown item', method: 'POST', url: bills, as: 'accounting', body: (f) => ({ cycle: '2026-11', lines: [{ subscriberId: f.subscriberA, item: 'GOLD_PLATING', amountFen: 100 }] }), status: 422, code: 'UNKNOWN_BILL_ITEM' },
  ...(
    [
      ['0', 0],
      ['-1', -1],
      ['1.5', 1.5],
      ['1e20', 1e20],
      ['"100"', '100'],
      ['null', null],
    ] as const
  ).map(
    ([label, amountFen]): Case => ({
      name: `bill: amount ${label}`,
      method: 'POST',
      url: bills,
      as: 'accounting',
      body: (f) => ({ cycle: '2026-11', lines: [{ subscriberId: f.subscriberA, item: 'RENT_PLAN', amountFen }] }),
      status: 400,
      code: 'VALIDATION_FAILED',
    }),
  ),
  { name: 'bill: no lines', method: 'POST', url: bills, as: 'accounting', body: { cycle: '2026-11', lines: [] }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'bill: subscriber of another account', method: 'POST', url: bills, as: 'accounting', body: (f) => ({ cycle: '2026-11', lines: [{ subscriberId: f.subscriberB, item: 'RENT_PLAN', amountFen: 100 }] }), status: 422, code: 'SUBSCRIBER_NOT_ON_ACCOUNT' },
  { name: 'bill: unknown subscriber', method: 'POST', url: bills, as: 'accounting', body: { cycle: '2026-11', lines: [{ subscriberId: MISSING, item: 'RENT_PLAN', amountFen: 100 }] }, status: 422, code: 'SUBSCRIBER_NOT_ON_ACCOUNT' },
  // the subscriber check comes first, and no subscriber is on an account that does not exist
  { name: 'bill: unknown account', method: 'POST', url: `${P}/accounts/${MISSING}/bills`, as: 'accounting', body: (f) => ({ cycle: '2026-11', lines: [{ subscriberId: f.subscriberA, item: 'RENT_PLAN', amountFen: 100 }] }), status: 404, code: 'NOT_FOUND' },
  { name: 'bill: unknown property in a line', method: 'POST', url: bills, as: 'accounting', body: (f) => ({ cycle: '2026-11', lines: [{ subscriberId: f.subscriberA, item: 'RENT_PLAN', amountFen: 100, paidFen: 100 }] }), status: 400, code: 'VALIDATION_FAILED' },

  // ---- payments (front_desk holds payment.create)
  ...(
    [
      ['"100"', '100'],
      ['0', 0],
      ['-1', -1],
      ['1.5', 1.5],
      ['1e20', 1e20],
      ['above the maximum', 10_000_000_001],
      ['null', null],
      ['true', true],
      ['[100]', [100]],
    ] as const
  ).map(
    ([label, amountFen], i): Case => ({
      name: `payment: amount ${label}`,
      method: 'POST',
      url: payments,
      as: 'front_desk',
      body: cash(`bad-amount-${1000 + i}`, { amountFen }),
      status: 400,
      code: 'VALIDATION_FAILED',
    }),
  ),
  { name: 'payment: amount 1e400 (Infinity)', method: 'POST', url: payments, as: 'front_desk', raw: '{"amountFen":1e400,"bookType":"cash","channel":"front_desk","idempotencyKey":"bad-amount-inf"}', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: no amount', method: 'POST', url: payments, as: 'front_desk', body: { bookType: 'cash', channel: 'front_desk', idempotencyKey: 'no-amount-0001' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: unknown book type', method: 'POST', url: payments, as: 'front_desk', body: cash('bad-type-0001', { bookType: 'gold' }), status: 422, code: 'UNKNOWN_BOOK_TYPE' },
  { name: 'payment: empty book type', method: 'POST', url: payments, as: 'front_desk', body: cash('bad-type-0002', { bookType: '' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'R-ACC-12 payment: restricted fund without items', method: 'POST', url: payments, as: 'front_desk', body: cash('restricted-0001', { bookType: 'restricted_fund' }), status: 422, code: 'RESTRICTED_FUND_NEEDS_ITEMS' },
  { name: 'R-ACC-12 payment: restricted fund with an empty item list', method: 'POST', url: payments, as: 'front_desk', body: cash('restricted-0002', { bookType: 'restricted_fund', restrictedItems: [] }), status: 422, code: 'RESTRICTED_FUND_NEEDS_ITEMS' },
  { name: 'payment: restricted to an unknown item', method: 'POST', url: payments, as: 'front_desk', body: cash('restricted-0003', { bookType: 'restricted_fund', restrictedItems: ['RENT_BB', 'GOLD_PLATING'] }), status: 422, code: 'UNKNOWN_BILL_ITEM' },
  { name: 'payment: unknown channel', method: 'POST', url: payments, as: 'front_desk', body: cash('channel-0001', { channel: 'pigeon' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: idempotency key too short', method: 'POST', url: payments, as: 'front_desk', body: cash('k1'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: idempotency key with spaces', method: 'POST', url: payments, as: 'front_desk', body: cash('key with spaces'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: idempotency key with NUL', method: 'POST', url: payments, as: 'front_desk', body: cash('key-\u0000-0001'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: no idempotency key', method: 'POST', url: payments, as: 'front_desk', body: { amountFen: 1000, bookType: 'cash', channel: 'front_desk' }, status: 400, code: 'VALIDATION_FAILED' },
  {
    name: 'R-ACC-14 payment: idempotency key reused with a different body',
    method: 'POST',
    url: payments,
    as: 'front_desk',
    body: (f) => cash(f.openPaymentKey, { amountFen: 1001 }),
    status: 409,
    code: 'IDEMPOTENCY_KEY_REUSED',
    check: (b, f) => expect(b.details.paymentId).toBe(f.openPayment),
  },
  { name: 'payment: unknown account → 404', method: 'POST', url: `${P}/accounts/${MISSING}/payments`, as: 'front_desk', body: cash('missing-acc-0001'), status: 404, code: 'NOT_FOUND' },
  { name: 'payment: account id not a number', method: 'POST', url: `${P}/accounts/abc/payments`, as: 'front_desk', body: cash('bad-acc-0001'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: account id 1e20', method: 'POST', url: `${P}/accounts/100000000000000000000/payments`, as: 'front_desk', body: cash('bad-acc-0002'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: private book for a subscriber the account does not pay', method: 'POST', url: payments, as: 'front_desk', body: (f) => cash('private-0001', { subscriberId: f.subscriberB }), status: 422, code: 'SUBSCRIBER_NOT_PAID_BY_ACCOUNT' },
  { name: 'payment: private book for an unknown subscriber', method: 'POST', url: payments, as: 'front_desk', body: cash('private-0002', { subscriberId: MISSING }), status: 422, code: 'SUBSCRIBER_NOT_PAID_BY_ACCOUNT' },
  { name: 'payment: expiry in the past', method: 'POST', url: payments, as: 'front_desk', body: cash('window-0001', { expiryDate: '2026-01-01' }), status: 422, code: 'INVALID_BOOK_WINDOW' },
  { name: 'payment: expiry before start', method: 'POST', url: payments, as: 'front_desk', body: cash('window-0002', { startDate: '2026-12-31', expiryDate: '2026-12-01' }), status: 422, code: 'INVALID_BOOK_WINDOW' },
  { name: 'payment: start date 30 February', method: 'POST', url: payments, as: 'front_desk', body: cash('window-0003', { startDate: '2027-02-30' }), status: 400, code: 'INVALID_DATE' },
  { name: 'payment: expiry 31 April as an instant', method: 'POST', url: payments, as: 'front_desk', body: cash('window-0004', { expiryDate: '2027-04-31T10:00:00Z' }), status: 400, code: 'INVALID_DATE' },
  { name: 'payment: start date month 99', method: 'POST', url: payments, as: 'front_desk', body: cash('window-0005', { startDate: '2026-99-01' }), status: 400, code: 'INVALID_DATE' },
  { name: 'payment: start date "tomorrow"', method: 'POST', url: payments, as: 'front_desk', body: cash('window-0006', { startDate: 'tomorrow' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: unknown property in payFirst', method: 'POST', url: payments, as: 'front_desk', body: cash('payfirst-0001', { payFirst: { everything: true } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: bad cycle in payFirst', method: 'POST', url: payments, as: 'front_desk', body: cash('payfirst-0002', { payFirst: { cycles: ['2026-13'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: unknown property', method: 'POST', url: payments, as: 'front_desk', body: cash('extra-0001', { operatorId: 1 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: malformed JSON', method: 'POST', url: payments, as: 'front_desk', raw: '{"amountFen": 100,,}', status: 400, code: 'MALFORMED_JSON' },
  { name: 'payment: JSON array', method: 'POST', url: payments, as: 'front_desk', body: [cash('array-0001')], status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: JSON string', method: 'POST', url: payments, as: 'front_desk', body: JSON.stringify(cash('string-0001')), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: JSON number', method: 'POST', url: payments, as: 'front_desk', raw: '100', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payment: text/plain body', method: 'POST', url: payments, as: 'front_desk', raw: JSON.stringify(cash('text-0001')), headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'payment: body over 1 MB', method: 'POST', url: payments, as: 'front_desk', raw: HUGE_BODY, status: 413, code: 'BODY_TOO_LARGE' },

  // ---- grants (accounting holds grant.create)
  { name: 'grant: no reason', method: 'POST', url: grants, as: 'accounting', body: { amountFen: 100, bookType: 'discount' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'grant: amount 0', method: 'POST', url: grants, as: 'accounting', body: { amountFen: 0, bookType: 'discount', reason: 'x' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'grant: amount "100"', method: 'POST', url: grants, as: 'accounting', body: { amountFen: '100', bookType: 'discount', reason: 'x' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'grant: amount -5', method: 'POST', url: grants, as: 'accounting', body: { amountFen: -5, bookType: 'discount', reason: 'x' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'grant: unknown book type', method: 'POST', url: grants, as: 'accounting', body: { amountFen: 100, bookType: 'gold', reason: 'x' }, status: 422, code: 'UNKNOWN_BOOK_TYPE' },
  { name: 'grant: restricted fund without items', method: 'POST', url: grants, as: 'accounting', body: { amountFen: 100, bookType: 'restricted_fund', reason: 'x' }, status: 422, code: 'RESTRICTED_FUND_NEEDS_ITEMS' },
  { name: 'grant: unknown account → 404', method: 'POST', url: `${P}/accounts/${MISSING}/grants`, as: 'accounting', body: { amountFen: 100, bookType: 'discount', reason: 'x' }, status: 404, code: 'NOT_FOUND' },

  // ---- reversals
  { name: 'reversal: unknown payment → 404', method: 'POST', url: `${P}/payments/${MISSING}/reversal`, as: 'accounting', body: {}, status: 404, code: 'NOT_FOUND' },
  { name: 'reversal: payment id not a number', method: 'POST', url: `${P}/payments/abc/reversal`, as: 'accounting', body: {}, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'R-X-8 reversal: already reversed', method: 'POST', url: (f) => `${P}/payments/${f.reversedPayment}/reversal`, as: 'accounting', body: {}, status: 409, code: 'ALREADY_REVERSED' },
  { name: 'R-X-8 reversal: already reversed (same desk)', method: 'POST', url: (f) => `${P}/payments/${f.reversedPayment}/reversal`, as: 'front_desk', body: { reason: 'again' }, status: 409, code: 'ALREADY_REVERSED' },
  { name: 'reversal of a reversal', method: 'POST', url: (f) => `${P}/payments/${f.reversal}/reversal`, as: 'accounting', body: {}, status: 409, code: 'CANNOT_REVERSE_REVERSAL' },
  { name: 'R-X-8 reversal: payment invoiced', method: 'POST', url: (f) => `${P}/payments/${f.invoicedPayment}/reversal`, as: 'accounting', body: {}, status: 409, code: 'PAYMENT_INVOICED' },
  { name: 'R-ACC-15 reversal by another department', method: 'POST', url: (f) => `${P}/payments/${f.openPayment}/reversal`, as: 'hall2', body: {}, status: 403, code: 'REVERSAL_NOT_ALLOWED' },
  { name: 'reversal: unknown property', method: 'POST', url: (f) => `${P}/payments/${f.openPayment}/reversal`, as: 'front_desk', body: { reason: 'x', amountFen: 1 }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'reversal: reason too long', method: 'POST', url: (f) => `${P}/payments/${f.openPayment}/reversal`, as: 'front_desk', body: { reason: 'x'.repeat(201) }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'reversal: malformed JSON', method: 'POST', url: (f) => `${P}/payments/${f.openPayment}/reversal`, as: 'front_desk', raw: '{', status: 400, code: 'MALFORMED_JSON' },
  { name: 'reversal: JSON array', method: 'POST', url: (f) => `${P}/payments/${f.openPayment}/reversal`, as: 'front_desk', raw: '[]', status: 400, code: 'VALIDATION_FAILED' },

  // ---- money read side
  { name: 'balance: unknown account → 404', method: 'GET', url: `${P}/accounts/${MISSING}/balance`, status: 404, code: 'NOT_FOUND' },
  { name: 'balance: account id not a number', method: 'GET', url: `${P}/accounts/x/balance`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write-offs: unknown account → 404', method: 'GET', url: `${P}/accounts/${MISSING}/write-offs`, status: 404, code: 'NOT_FOUND' },
  { name: 'write-offs: cycle 2026-13', method: 'GET', url: (f) => `${P}/accounts/${f.accountA}/write-offs?cycle=2026-13`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write-offs: unknown parameter', method: 'GET', url: (f) => `${P}/accounts/${f.accountA}/write-offs?limit=5`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'payments list: unknown account → 404', method: 'GET', url: `${P}/accounts/${MISSING}/payments`, status: 404, code: 'NOT_FOUND' },
  { name: 'payments list: account id -7', method: 'GET', url: `${P}/accounts/-7/payments`, status: 400, code: 'VALIDATION_FAILED' },

  // ---- admin clock and operators (admin)
  { name: 'clock: not a time', method: 'POST', url: `${P}/admin/clock`, body: { now: 'soon' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'clock: 30 February', method: 'POST', url: `${P}/admin/clock`, body: { now: '2026-02-30T00:00:00Z' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'clock: negative advance', method: 'POST', url: `${P}/admin/clock`, body: { advanceSeconds: -1 }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'clock: fractional advance', method: 'POST', url: `${P}/admin/clock`, body: { advanceSeconds: 1.5 }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'clock: advance as a string', method: 'POST', url: `${P}/admin/clock`, body: { advanceSeconds: '60' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'clock: huge advance', method: 'POST', url: `${P}/admin/clock`, body: { advanceSeconds: 1e20 }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'clock: unknown property', method: 'POST', url: `${P}/admin/clock`, body: { timezone: 'UTC' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'clock: no token', method: 'GET', url: `${P}/admin/clock`, as: null, status: 401, code: 'AUTH_REQUIRED' },
  { name: 'operator: user name exists', method: 'POST', url: `${P}/operators`, body: { username: 'front_desk', name: 'x', departmentId: 'H1', roles: ['front_desk'], password: 'long-enough-1' }, status: 409, code: 'OPERATOR_EXISTS' },
  { name: 'operator: unknown department', method: 'POST', url: `${P}/operators`, body: { username: 'newbie', name: 'x', departmentId: 'MARS', roles: ['front_desk'], password: 'long-enough-1' }, status: 422, code: 'UNKNOWN_DEPARTMENT' },
  { name: 'operator: unknown role', method: 'POST', url: `${P}/operators`, body: { username: 'newbie', name: 'x', departmentId: 'H1', roles: ['god'], password: 'long-enough-1' }, status: 422, code: 'UNKNOWN_ROLE' },
  { name: 'operator: short password', method: 'POST', url: `${P}/operators`, body: { username: 'newbie', name: 'x', departmentId: 'H1', roles: [], password: 'short' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'operator: bad user name', method: 'POST', url: `${P}/operators`, body: { username: 'new bie!', name: 'x', departmentId: 'H1', roles: [], password: 'long-enough-1' }, status: 400, code: 'VALIDATION_FAILED' },

  // ---- routing
  { name: 'unknown route', method: 'GET', url: `${P}/invoices`, status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'unknown method on a route', method: 'PUT', url: (f) => `${P}/customers/${f.customerA}`, body: {}, status: 404, code: 'ROUTE_NOT_FOUND' },
];

describe('bad input → 4xx problem+json with a code, and nothing changes', () => {
  let before: Snapshot;
  beforeAll(async () => {
    before = await snapshotTables(env.ctx);
  });

  test.each(cases)('$name → $status $code', async (c) => {
    const r = await api.call(c.method, v(c.url), {
      ...(c.as === undefined ? {} : { as: c.as }),
      ...(c.body === undefined ? {} : { body: v(c.body) }),
      ...(c.raw === undefined ? {} : { raw: c.raw }),
      ...(c.headers === undefined ? {} : { headers: v(c.headers) }),
    });
    expectProblem(r, c.status, c.code, c.name);
    c.check?.(r.body, fx);
  });

  test('messages follow Accept-Language; both languages are always present', async () => {
    const en = await api.call('GET', `${P}/customers/abc`, { headers: { 'accept-language': 'en-US' } });
    expectProblem(en, 400, 'VALIDATION_FAILED', 'en');
    expect(en.body.detail).toBe(en.body.messages.en);
    const zh = await api.call('GET', `${P}/customers/abc`, { headers: { 'accept-language': 'zh-CN' } });
    expect(zh.body.detail).toBe(zh.body.messages.zh);
  });

  test('nothing changed: every table and the book balances are as before the barrage', async () => {
    const after = await snapshotTables(env.ctx);
    expect(after.counts).toEqual(before.counts);
    expect(after.balanceFen).toBe(before.balanceFen);
    expect(after.contents).toEqual(before.contents);
    // the fixtures are really there, so "nothing changed" is not "nothing existed"
    expect(before.counts.payments).toBe(4);
    expect(before.balanceFen).toBeGreaterThan(0);
  });
});

// Every route of the OpenAPI document, with garbage path parameters, garbage query values, garbage
// bodies, no token and without permissions: never a 500, every error is problem+json, nothing changes.
describe('OpenAPI walk: garbage to every route', () => {
  const GARBAGE_PARAMS = [
    'abc',
    '0',
    '-1',
    '1.5',
    '99999999999999999999',
    '1e400',
    'null',
    'undefined',
    'NaN',
    '%00',
    '%',
    '%E4%B8%AD',
    '%20',
    "1'%20OR%20'1'%3D'1",
    '1%3BDROP%20TABLE%20customers',
    '..%2F..%2Fetc%2Fpasswd',
    '%7B%7D',
    'x'.repeat(120),
  ];
  const GARBAGE_QUERY = ['', 'abc', '-1', '%00', '%', '99999999999999999999', '2026-13', 'x'.repeat(300)];
  const GARBAGE_BODIES: { label: string; raw?: string; contentType?: string; parses: boolean }[] = [
    { label: 'no body', parses: false },
    { label: 'empty JSON', raw: '', parses: false },
    { label: 'malformed', raw: '{"a":', parses: false },
    { label: 'not JSON', raw: 'hello', parses: false },
    { label: 'array', raw: '[]', parses: true },
    { label: 'string', raw: '"x"', parses: true },
    { label: 'null', raw: 'null', parses: true },
    { label: 'number', raw: '42', parses: true },
    { label: 'true', raw: 'true', parses: true },
    { label: 'empty object', raw: '{}', parses: true },
    { label: 'unknown property', raw: '{"__garbage":1}', parses: true },
    { label: 'deep nesting', raw: `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`, parses: true },
    { label: 'text/plain', raw: '{}', contentType: 'text/plain', parses: false },
    { label: 'xml', raw: '<a/>', contentType: 'application/xml', parses: false },
    { label: 'octet-stream', raw: '\u0000\u0001', contentType: 'application/octet-stream', parses: false },
    { label: 'too large', raw: HUGE_BODY, parses: false },
  ];

  interface Op {
    method: string;
    path: string;
    pathParams: string[];
    queryParams: string[];
    bodySchema: { properties?: Record<string, { type?: string }>; required?: string[] } | undefined;
  }
  let ops: Op[];
  let before: Snapshot;

  beforeAll(async () => {
    const doc = await api.call('GET', '/openapi.json', { as: null });
    expect(doc.status).toBe(200);
    ops = [];
    interface DocOp {
      parameters?: { in: string; name: string }[];
      requestBody?: { content?: Record<string, { schema?: Op['bodySchema'] }> };
    }
    for (const [path, byMethod] of Object.entries(doc.body.paths as Record<string, Record<string, DocOp>>)) {
      for (const [method, op] of Object.entries(byMethod)) {
        const params = op.parameters ?? [];
        ops.push({
          method: method.toUpperCase(),
          path,
          pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
          queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
          bodySchema: op.requestBody?.content?.['application/json']?.schema,
        });
      }
    }
    before = await snapshotTables(env.ctx);
  });

  test('the document lists every endpoint of the API', () => {
    const list = ops.map((o) => `${o.method} ${o.path}`);
    for (const e of [
      'POST /api/v1/auth/login',
      'POST /api/v1/customers',
      'GET /api/v1/customers',
      'GET /api/v1/customers/{id}',
      'POST /api/v1/accounts',
      'GET /api/v1/accounts/{id}',
      'POST /api/v1/subscribers',
      'GET /api/v1/subscribers/{serviceNumber}',
      'POST /api/v1/subscribers/{id}/payment-relations',
      'GET /api/v1/subscribers/{id}/payment-relations',
      'DELETE /api/v1/subscribers/{id}/payment-relations/{relationId}',
      'POST /api/v1/accounts/{id}/bills',
      'POST /api/v1/accounts/{id}/payments',
      'POST /api/v1/accounts/{id}/grants',
      'POST /api/v1/payments/{id}/reversal',
      'GET /api/v1/accounts/{id}/balance',
      'GET /api/v1/accounts/{id}/write-offs',
      'GET /api/v1/admin/clock',
      'POST /api/v1/admin/clock',
    ]) {
      expect(list).toContain(e);
    }
  });

  test('no 500 anywhere; every error is problem+json with a code', async () => {
    const failures: string[] = [];
    let sent = 0;
    const send = async (label: string, method: string, url: string, opts: Parameters<Api['call']>[2] = {}) => {
      const r = await api.call(method, url, opts);
      sent++;
      const where = `${label}: ${method} ${url.slice(0, 120)} → ${r.status}`;
      if (r.status >= 500) failures.push(`${where} ${JSON.stringify(r.body).slice(0, 300)}`);
      else if (r.status >= 400) {
        if (!String(r.headers['content-type']).startsWith('application/problem+json')) failures.push(`${where} not problem+json: ${r.headers['content-type']}`);
        else if (typeof r.body?.code !== 'string' || !r.body?.messages?.zh || !r.body?.messages?.en) failures.push(`${where} problem without code/messages`);
      }
      return r;
    };
    const fill = (op: Op, value: string) => op.path.replace(/\{[^}]+\}/g, value);

    for (const op of ops) {
      const isWrite = op.method !== 'GET';
      // every declared body refuses unknown properties, so this filler never makes a request valid
      const bodyOpts = isWrite ? { raw: '{"__garbage":1}' } : {};
      // garbage path parameters (an unknown but well-formed id is not garbage: bodies below use it)
      for (const g of op.pathParams.length ? GARBAGE_PARAMS : []) {
        await send('garbage path param', op.method, fill(op, g), bodyOpts);
      }
      // garbage query values, one parameter at a time, and an unknown parameter
      const base = fill(op, String(MISSING));
      for (const q of op.queryParams) for (const g of GARBAGE_QUERY) await send(`query ${q}`, op.method, `${base}?${q}=${g}`, bodyOpts);
      // (logout accepts anything: an extra query parameter would log the walking operator out)
      const isLogout = op.method === 'POST' && op.path === '/api/v1/auth/logout';
      if (op.path.startsWith('/api/') && !isLogout) await send('unknown query parameter', op.method, `${base}?__garbage=1`, bodyOpts);

      if (isWrite) {
        const schema = op.bodySchema;
        const nothingRequired = !schema?.required?.length;
        for (const b of GARBAGE_BODIES) {
          // a body the route accepts as valid is not garbage: logout takes any body, the clock and a
          // reversal need no field (a reversal's unknown id makes it a 404, the clock has no id)
          if (!schema && b.parses) continue;
          if (nothingRequired && op.pathParams.length === 0 && (b.label === 'empty object' || b.label === 'no body')) continue;
          if (!schema && b.label === 'no body') continue;
          const headers: Record<string, string> = b.contentType ? { 'content-type': b.contentType } : {};
          await send(`body ${b.label}`, op.method, base, b.raw === undefined ? {} : { raw: b.raw, headers });
        }
        // every declared field with the wrong type, and every string field with a NUL character
        if (schema?.properties) {
          const wrong: Record<string, unknown> = {};
          const nul: Record<string, unknown> = {};
          for (const [k, p] of Object.entries(schema.properties)) {
            wrong[k] = p.type === 'string' ? 12345 : p.type === 'array' ? { not: 'an array' } : p.type === 'object' ? 'not an object' : '12';
            nul[k] = p.type === 'string' ? 'a\u0000b' : p.type === 'integer' || p.type === 'number' ? -1 : p.type === 'array' ? ['\u0000'] : null;
          }
          await send('wrong types', op.method, base, { body: wrong });
          await send('NUL strings', op.method, base, { body: nul });
        }
      }
      // no token, a garbage token, an operator without roles
      if (op.path.startsWith('/api/')) {
        const noToken = await send('no token', op.method, base, { ...bodyOpts, as: null });
        if (op.path !== '/api/v1/auth/login') {
          expect({ route: `${op.method} ${op.path}`, status: noToken.status, code: noToken.body?.code }).toEqual({ route: `${op.method} ${op.path}`, status: 401, code: 'AUTH_REQUIRED' });
          const garbage = await send('garbage token', op.method, base, { ...bodyOpts, as: null, headers: { authorization: 'Bearer garbage' } });
          expect(garbage.status).toBe(401);
        }
        if (!isLogout) await send('no permission', op.method, base, { ...bodyOpts, as: 'nobody' });
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(300);
    // the walk really ran as the operators it named: their tokens are still valid
    for (const as of ['admin', 'nobody']) expect((await api.call('GET', `${P}/auth/me`, { as })).status).toBe(200);
  });

  test('nothing changed during the walk', async () => {
    const after = await snapshotTables(env.ctx);
    expect(after.counts).toEqual(before.counts);
    expect(after.balanceFen).toBe(before.balanceFen);
    expect(after.contents).toEqual(before.contents);
  });
});

// Check-then-insert races: on PostgreSQL concurrent requests all pass the service's duplicate check
// and the unique constraint refuses the losers. They must get the same 409 a sequential duplicate
// gets, never a 500, and exactly one row must exist.
describe('concurrent duplicates → one 201, the rest the usual 409', () => {
  const N = 6;
  const race = async (label: string, url: string, body: unknown, code: string, as = 'admin') => {
    const rs = await Promise.all(Array.from({ length: N }, () => api.call('POST', url, { as, body })));
    expect(
      rs.map((r) => r.status).sort(),
      label,
    ).toEqual([201, ...Array<number>(N - 1).fill(409)]);
    for (const r of rs.filter((x) => x.status !== 201)) expectProblem(r, 409, code, label);
  };

  test('customers with one ID document', async () => {
    const idNumber = await freshResidentId();
    await race('customer', `${P}/customers`, person({ idNumber }), 'CUSTOMER_EXISTS');
    const rows = await env.ctx.database.db.selectFrom('customers').select('customer_id').where('id_number', '=', idNumber).execute();
    expect(rows).toHaveLength(1);
  });

  test('subscribers with one service number', async () => {
    await race('subscriber', `${P}/subscribers`, { customerId: fx.customerA, accountId: fx.accountA, serviceNumber: '18677770001', network: 'wcdma3g' }, 'SERVICE_NUMBER_TAKEN');
    const rows = await env.ctx.database.db.selectFrom('subscribers').select('subscriber_id').where('service_number', '=', '18677770001').execute();
    expect(rows).toHaveLength(1);
  });

  test('payment relations from one payer', async () => {
    await race('relation', `${P}/subscribers/${fx.subscriberB}/payment-relations`, { payerAccountId: fx.accountA, priority: 1 }, 'RELATION_EXISTS', 'key_account');
    const rows = await env.ctx.accounts.relations(fx.subscriberB);
    expect(rows.relations.filter((r) => r.payerAccountId === fx.accountA)).toHaveLength(1);
  });

  test('operators with one user name', async () => {
    await race('operator', `${P}/operators`, { username: 'twin', name: '双', departmentId: 'H1', roles: ['front_desk'], password: 'long-enough-1' }, 'OPERATOR_EXISTS');
    expect(await env.ctx.database.db.selectFrom('operators').select('operator_id').where('username', '=', 'twin').execute()).toHaveLength(1);
  });

  test('R-ACC-14 payments with one idempotency key: one payment, the same body replays it', async () => {
    const body = cash('race-key-0001');
    const rs = await Promise.all(Array.from({ length: N }, () => api.call('POST', payments(fx), { as: 'front_desk', body })));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(rs.map((r) => r.body.payment.paymentId)).size).toBe(1);
  });
});
