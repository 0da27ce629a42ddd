// Refund cases of bank-collection over-deductions (退费, R-ACC-16, seed 004 §6.6): open → confirm →
// identities → refund, every refusal by its code, PII masked, R-ACC-18 conservation throughout.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { customerWithAccount, freshResidentId, system, testApi, testEnv, type Api, type TestEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

let n = 0;
const HOLDER = '张银行';

/** A bank-collection account whose collection of 10000 fen over-deducted. */
async function collected(amountFen = 10_000) {
  const idNumber = await freshResidentId();
  const customer = await env.ctx.customers.create(system, { kind: 'person', name: `托收客户${n}`, idType: 'resident_id', idNumber });
  const account = await env.ctx.accounts.createAccount(system, {
    customerId: customer.customerId,
    billingType: 'monthly',
    paymentMethod: 'bank_collection',
    bankName: '工商银行',
    bankAccountHolder: HOLDER,
    bankAccountNumber: '6222020200001234',
  } as never);
  const sub = await env.ctx.accounts.createSubscriber(system, { customerId: customer.customerId, accountId: account.accountId, serviceNumber: `1391${String(1_000_000 + n++).padStart(7, '0')}`, network: 'gsm2g' });
  const p = await env.ctx.money.pay(system, account.accountId, { amountFen, bookType: 'bank_collection', channel: 'bank_collection', idempotencyKey: `bank-file-${account.accountId}` });
  return { accountId: account.accountId, subscriberId: sub.subscriberId, paymentId: p.result.payment.paymentId, bookId: p.result.payment.bookId, idNumber, holderId: await freshResidentId() };
}

async function conserved(accountId: number) {
  expect((await checkConservation(env.ctx.database.db, [accountId])).differing).toEqual([]);
}

async function caseRow(caseId: number) {
  return env.ctx.database.db.selectFrom('refund_cases').selectAll().where('case_id', '=', caseId).executeTakeFirstOrThrow();
}

const identities = (c: { idNumber: string; holderId: string }) => ({
  customer: { idType: 'resident_id', idNumber: c.idNumber },
  holder: { name: HOLDER, idType: 'resident_id', idNumber: c.holderId },
});

describe('R-ACC-16 refund case', () => {
  test('R-ACC-16 happy path: complaint opens, accounting confirms, front desk records both IDs, the refund leaves the bank-collection book', async () => {
    const c = await collected();
    const opened = await api.call('POST', '/api/v1/refund-cases', { as: 'front_desk', body: { paymentId: c.paymentId, amountFen: 4500, complaintRef: 'TS-20261115-0007', note: '银行重复扣款' } });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ state: 'opened', accountId: c.accountId, paymentId: c.paymentId, bookId: c.bookId, amountFen: 4500 });
    const id = opened.body.caseId as number;
    const confirmed = await api.call('POST', `/api/v1/refund-cases/${id}/confirm`, { as: 'accounting' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.state).toBe('confirmed');
    const identified = await api.call('POST', `/api/v1/refund-cases/${id}/identities`, { as: 'front_desk', body: identities(c) });
    expect(identified.status).toBe(200);
    expect(identified.body).toMatchObject({ state: 'identified', holder: { name: HOLDER } });
    const refunded = await api.call('POST', `/api/v1/refund-cases/${id}/refund`, { as: 'front_desk' });
    expect(refunded.status).toBe(200);
    expect(refunded.body.state).toBe('refunded');
    const refund = await env.ctx.money.paymentRecord(refunded.body.refundPaymentId);
    expect(refund).toMatchObject({ kind: 'refund', amountFen: -4500, bookId: c.bookId, bookType: 'bank_collection' });
    const book = await env.ctx.database.db.selectFrom('books').selectAll().where('account_id', '=', c.accountId).where('book_id', '=', c.bookId).executeTakeFirstOrThrow();
    expect(book.balance_fen).toBe(5500);
    // every step audited and evented in its transaction
    const audit = await env.ctx.database.db.selectFrom('audit_log').select('action').where('target_type', '=', 'refund_case').where('target_id', '=', String(id)).orderBy('audit_id').execute();
    expect(audit.map((a) => a.action)).toEqual(['refund_case.open', 'refund_case.confirm', 'refund_case.identify', 'refund_case.refund']);
    const events = await env.ctx.database.db.selectFrom('outbox').select('event_type').where('account_id', '=', c.accountId).where('event_type', 'like', 'refund_case.%').orderBy('event_id').execute();
    expect(events.map((e) => e.event_type)).toEqual(['refund_case.opened', 'refund_case.confirmed', 'refund_case.identified', 'refund_case.refunded']);
    await conserved(c.accountId);
  });

  test('R-ACC-16 ID numbers are masked in views, audit and events unless the operator holds customer.pii (R-CUS-2)', async () => {
    const c = await collected();
    const r = await env.ctx.refunds.open(system, { paymentId: c.paymentId, amountFen: 100, complaintRef: 'TS-1' });
    await env.ctx.refunds.confirm(system, r.caseId);
    await env.ctx.refunds.identify(system, r.caseId, identities(c) as never);
    const auditor = await api.call('GET', `/api/v1/refund-cases/${r.caseId}`, { as: 'auditor' });
    expect(auditor.status).toBe(200);
    expect(auditor.body.customerId.idNumber).toBe(`${c.idNumber.slice(0, 6)}********${c.idNumber.slice(-4)}`);
    expect(auditor.body.masked).toBe(true);
    const desk = await api.call('GET', `/api/v1/refund-cases/${r.caseId}`, { as: 'front_desk' });
    expect(desk.body.customerId.idNumber).toBe(c.idNumber);
    const logged = await env.ctx.database.db.selectFrom('audit_log').select('after').where('action', '=', 'refund_case.identify').where('target_id', '=', String(r.caseId)).executeTakeFirstOrThrow();
    expect(JSON.stringify(logged.after)).not.toContain(c.idNumber);
    expect(JSON.stringify(logged.after)).not.toContain(c.holderId);
    const list = await api.call('GET', `/api/v1/refund-cases?accountId=${c.accountId}`, { as: 'auditor' });
    expect(list.body.items).toHaveLength(1);
  });

  test('R-ACC-16 refused: not a bank-collection payment', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 900 + n++);
    const cash = await env.ctx.money.pay(system, c.accountId, { amountFen: 5000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `cash-${c.accountId}` });
    const r = await api.call('POST', '/api/v1/refund-cases', { as: 'front_desk', body: { paymentId: cash.result.payment.paymentId, amountFen: 100, complaintRef: 'TS-2' } });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('NOT_BANK_COLLECTION');
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(await env.ctx.database.db.selectFrom('refund_cases').selectAll().where('account_id', '=', c.accountId).execute()).toEqual([]);
  });

  test('R-ACC-16 refused: an amount above what the bank collection left, at opening and again at the refund', async () => {
    const c = await collected(10_000);
    const above = await api.call('POST', '/api/v1/refund-cases', { as: 'front_desk', body: { paymentId: c.paymentId, amountFen: 10_001, complaintRef: 'TS-3' } });
    expect(above.status).toBe(409);
    expect(above.body).toMatchObject({ code: 'REFUND_ABOVE_BALANCE', details: { leftFen: 10_000 } });
    const ok = await env.ctx.refunds.open(system, { paymentId: c.paymentId, amountFen: 8000, complaintRef: 'TS-3' });
    await env.ctx.refunds.confirm(system, ok.caseId);
    await env.ctx.refunds.identify(system, ok.caseId, identities(c) as never);
    // a bill arrives meanwhile and the collection's book pays it: only 4000 is left
    await env.ctx.money.postBill(system, c.accountId, { cycle: '2026-10', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 6000 }] });
    const late = await api.call('POST', `/api/v1/refund-cases/${ok.caseId}/refund`, { as: 'front_desk' });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'REFUND_ABOVE_BALANCE', details: { leftFen: 4000 } });
    expect((await caseRow(ok.caseId)).state).toBe('identified');
    await conserved(c.accountId);
  });

  test('R-ACC-16 refused: wrong state (confirm twice, IDs before confirmation, refund twice, a rejected case)', async () => {
    const c = await collected();
    const r = await env.ctx.refunds.open(system, { paymentId: c.paymentId, amountFen: 1000, complaintRef: 'TS-4' });
    const early = await api.call('POST', `/api/v1/refund-cases/${r.caseId}/identities`, { as: 'front_desk', body: identities(c) });
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'REFUND_CASE_WRONG_STATE', details: { state: 'opened' } });
    expect((await api.call('POST', `/api/v1/refund-cases/${r.caseId}/confirm`, { as: 'accounting', body: { accept: true } })).status).toBe(200);
    const twice = await api.call('POST', `/api/v1/refund-cases/${r.caseId}/confirm`, { as: 'accounting' });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('REFUND_CASE_WRONG_STATE');
    await env.ctx.refunds.identify(system, r.caseId, identities(c) as never);
    expect((await api.call('POST', `/api/v1/refund-cases/${r.caseId}/refund`, { as: 'front_desk' })).status).toBe(200);
    const again = await api.call('POST', `/api/v1/refund-cases/${r.caseId}/refund`, { as: 'front_desk' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('REFUND_CASE_WRONG_STATE');
    const other = await env.ctx.refunds.open(system, { paymentId: c.paymentId, amountFen: 1000, complaintRef: 'TS-5' });
    const rejected = await api.call('POST', `/api/v1/refund-cases/${other.caseId}/confirm`, { as: 'accounting', body: { accept: false, reason: '核查无多扣' } });
    expect(rejected.body).toMatchObject({ state: 'rejected', rejectedReason: '核查无多扣' });
    expect((await api.call('POST', `/api/v1/refund-cases/${other.caseId}/refund`, { as: 'front_desk' })).body.code).toBe('REFUND_CASE_WRONG_STATE');
    const refunds = await env.ctx.database.db.selectFrom('payments').selectAll().where('account_id', '=', c.accountId).where('kind', '=', 'refund').execute();
    expect(refunds).toHaveLength(1);
    await conserved(c.accountId);
  });

  test('R-ACC-16 refused: the refund needs both IDs recorded first', async () => {
    const c = await collected();
    const r = await env.ctx.refunds.open(system, { paymentId: c.paymentId, amountFen: 1000, complaintRef: 'TS-6' });
    await env.ctx.refunds.confirm(system, r.caseId);
    const missing = await api.call('POST', `/api/v1/refund-cases/${r.caseId}/refund`, { as: 'front_desk' });
    expect(missing.status).toBe(409);
    expect(missing.body.code).toBe('REFUND_IDENTITIES_MISSING');
    expect((await caseRow(r.caseId)).refund_payment_id).toBeNull();
  });

  test('R-ACC-16 refused: invalid or mismatched IDs (R-CUS-1) change nothing', async () => {
    const c = await collected();
    const r = await env.ctx.refunds.open(system, { paymentId: c.paymentId, amountFen: 1000, complaintRef: 'TS-7' });
    await env.ctx.refunds.confirm(system, r.caseId);
    const bad = `${c.holderId.slice(0, 17)}${c.holderId[17] === '1' ? '2' : '1'}`;
    const badHolder = await api.call('POST', `/api/v1/refund-cases/${r.caseId}/identities`, { as: 'front_desk', body: { ...identities(c), holder: { name: HOLDER, idType: 'resident_id', idNumber: bad } } });
    expect(badHolder.status).toBe(422);
    expect(badHolder.body.code).toBe('INVALID_ID_NUMBER');
    expect(badHolder.body.detail).not.toContain(bad);
    const stranger = await api.call('POST', `/api/v1/refund-cases/${r.caseId}/identities`, { as: 'front_desk', body: { ...identities(c), customer: { idType: 'resident_id', idNumber: await freshResidentId() } } });
    expect(stranger.status).toBe(422);
    expect(stranger.body.code).toBe('REFUND_CUSTOMER_MISMATCH');
    const holder = await api.call('POST', `/api/v1/refund-cases/${r.caseId}/identities`, { as: 'front_desk', body: { ...identities(c), holder: { name: '李四', idType: 'resident_id', idNumber: c.holderId } } });
    expect(holder.body.code).toBe('REFUND_HOLDER_MISMATCH');
    const row = await caseRow(r.caseId);
    expect(row).toMatchObject({ state: 'confirmed', customer_id_number: null, holder_id_number: null });
  });

  test('R-ACC-16 refused: a reversed collection; permissions; bad input is a 400 problem with nothing created', async () => {
    const c = await collected();
    await env.ctx.money.reverse(system, c.paymentId, '托收文件重复');
    const reversed = await api.call('POST', '/api/v1/refund-cases', { as: 'front_desk', body: { paymentId: c.paymentId, amountFen: 100, complaintRef: 'TS-8' } });
    expect(reversed.status).toBe(409);
    expect(reversed.body.code).toBe('PAYMENT_REVERSED');
    const d = await collected();
    const r = await env.ctx.refunds.open(system, { paymentId: d.paymentId, amountFen: 100, complaintRef: 'TS-9' });
    expect((await api.call('POST', `/api/v1/refund-cases/${r.caseId}/confirm`, { as: 'front_desk' })).status).toBe(403);
    expect((await api.call('POST', '/api/v1/refund-cases', { as: 'auditor', body: { paymentId: d.paymentId, amountFen: 100, complaintRef: 'x' } })).status).toBe(403);
    const before = await env.ctx.database.db.selectFrom('refund_cases').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    for (const body of [{}, { paymentId: d.paymentId, amountFen: 0, complaintRef: 'x' }, { paymentId: d.paymentId, amountFen: 100 }, { paymentId: 'x', amountFen: 100, complaintRef: 'x' }, { paymentId: d.paymentId, amountFen: 100, complaintRef: 'x', extra: true }]) {
      const bad = await api.call('POST', '/api/v1/refund-cases', { as: 'front_desk', body });
      expect(bad.status).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
    }
    expect((await api.call('POST', '/api/v1/refund-cases', { as: 'front_desk', body: { paymentId: 999_999_999, amountFen: 100, complaintRef: 'x' } })).status).toBe(404);
    expect((await api.call('POST', '/api/v1/refund-cases/999999999/confirm', { as: 'accounting' })).status).toBe(404);
    expect((await api.call('POST', `/api/v1/refund-cases/${r.caseId}/identities`, { as: 'front_desk', body: { customer: { idType: 'alien', idNumber: '1234' } } })).status).toBe(400);
    const after = await env.ctx.database.db.selectFrom('refund_cases').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    await conserved(c.accountId);
    await conserved(d.accountId);
  });
});
