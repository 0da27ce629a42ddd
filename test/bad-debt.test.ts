// Bad debt (坏账核销, R-BIL-10): a closed account's unpaid published bills written off by permission,
// still visible, no longer arrears, recoverable by a later payment; R-ACC-18 conservation throughout.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { actorOf, customerWithAccount, system, T0, testApi, testEnv, type Api, type TestEnv } from './helpers.ts';

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
afterEach(() => env.clock.set(T0, true));

const at = (iso: string) => env.clock.set(new Date(iso), true);
let n = 0;

/** A number cancelled on 1 October, its account closed, then its September bill posted (the cancellation month billed later). */
async function closedWithArrears(amountFen = 10_000) {
  at('2026-10-01T09:00:00+08:00');
  const c = await customerWithAccount(env.ctx, 'monthly', 600 + n++);
  await env.ctx.database.db.updateTable('subscribers').set({ lifecycle: 'cancelled', cancelled_at: env.clock.now() }).where('subscriber_id', '=', c.subscriberId).execute();
  await env.ctx.database.db.transaction().execute((tx) => env.ctx.accounts.closeAccount(tx, system, c.accountId, { reason: 'cancel' }));
  at('2026-10-02T10:00:00+08:00');
  const b = await env.ctx.money.postBill(system, c.accountId, {
    cycle: '2026-09',
    lines: [
      { subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen },
      { subscriberId: c.subscriberId, item: 'DATA', amountFen: 2000 },
    ],
  });
  return { ...c, lineIds: (b.bills[0]?.lines ?? []).map((l) => l.lineId) };
}

async function conserved(accountId: number) {
  expect((await checkConservation(env.ctx.database.db, [accountId])).differing).toEqual([]);
}

/** Fee recovery (R-ORD-9): a payment into the closed account inside the order's transaction. */
function recover(accountId: number, amountFen: number, key: string) {
  return env.ctx.database.db.transaction().execute((tx) =>
    env.ctx.money.pay(system, accountId, { amountFen, bookType: 'cash', channel: 'front_desk', idempotencyKey: key }, tx, { allowClosedAccount: true }),
  );
}

describe('R-BIL-10 bad debt', () => {
  test('R-BIL-10 written off by permission: lines stay visible, stop counting as arrears, conservation holds', async () => {
    const c = await closedWithArrears();
    at('2027-02-01T10:00:00+08:00');
    const denied = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'front_desk', body: { reason: '催缴无果' } });
    expect(denied.status).toBe(403);
    await expect(env.ctx.badDebts.writeOff(await actorOf(env.ctx, 'front_desk'), c.accountId, { reason: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const before = await env.ctx.accounts.balance(c.accountId);
    expect(before.arrearsFen).toBe(12_000);
    const r = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting', body: { reason: '销户欠费催缴无果' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ accountId: c.accountId, amountFen: 12_000, reason: '销户欠费催缴无果' });
    expect(r.body.lines.map((l: { lineId: number; amountFen: number }) => [l.lineId, l.amountFen])).toEqual([
      [c.lineIds[0], 10_000],
      [c.lineIds[1], 2000],
    ]);
    const after = await env.ctx.accounts.balance(c.accountId);
    expect(after.arrearsFen).toBe(0);
    expect(after.badDebtFen).toBe(12_000);
    // still visible, line by line
    expect(after.openBills.flatMap((b) => b.lines as { lineId: number; badDebt: boolean }[]).map((l) => [l.lineId, l.badDebt])).toEqual([
      [c.lineIds[0], true],
      [c.lineIds[1], true],
    ]);
    const audit = await env.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'bad_debt.write_off').where('account_id', '=', c.accountId).execute();
    expect(audit).toHaveLength(1);
    const events = await env.ctx.database.db.selectFrom('outbox').selectAll().where('event_type', '=', 'bad_debt.written_off').where('account_id', '=', c.accountId).execute();
    expect(events).toHaveLength(1);
    // once only
    const again = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting', body: { reason: 'again' } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('NOTHING_TO_WRITE_OFF');
    await conserved(c.accountId);
  });

  test('R-BIL-10 recoverable: a later payment writes the lines off and the record shows what was recovered', async () => {
    const c = await closedWithArrears();
    at('2027-02-01T10:00:00+08:00');
    await env.ctx.badDebts.writeOff(system, c.accountId, { reason: '催缴无果' });
    at('2027-03-05T10:00:00+08:00');
    await recover(c.accountId, 4000, `recover-a-${c.accountId}`);
    let view = await api.call('GET', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'auditor' });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ writtenOffFen: 12_000, recoveredFen: 4000, outstandingFen: 8000 });
    expect(view.body.items[0].lines.map((l: { recoveredFen: number }) => l.recoveredFen)).toEqual([4000, 0]);
    await conserved(c.accountId);
    await recover(c.accountId, 9000, `recover-b-${c.accountId}`);
    view = await api.call('GET', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting' });
    expect(view.body).toMatchObject({ recoveredFen: 12_000, outstandingFen: 0 });
    expect((await env.ctx.accounts.balance(c.accountId)).badDebtFen).toBe(0);
    await conserved(c.accountId);
  });

  test('R-BIL-10 refused while the account is open, before the lines are overdue long enough, for lines chosen that are not eligible', async () => {
    at('2026-10-02T10:00:00+08:00');
    const open = await customerWithAccount(env.ctx, 'monthly', 650 + n++);
    await env.ctx.money.postBill(system, open.accountId, { cycle: '2026-09', lines: [{ subscriberId: open.subscriberId, item: 'RENT_PLAN', amountFen: 500 }] });
    at('2027-06-01T10:00:00+08:00');
    const r1 = await api.call('POST', `/api/v1/accounts/${open.accountId}/bad-debt`, { as: 'accounting', body: { reason: 'x' } });
    expect(r1.status).toBe(409);
    expect(r1.body.code).toBe('ACCOUNT_NOT_CLOSED');
    const c = await closedWithArrears();
    // due 20 October + 90 days = 18 January
    at('2027-01-17T10:00:00+08:00');
    const early = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting', body: { reason: 'x' } });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('NOTHING_TO_WRITE_OFF');
    expect(early.body.details.refused[0]).toMatchObject({ reason: 'not_overdue_long_enough', eligibleFrom: '2027-01-18' });
    const chosen = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting', body: { reason: 'x', lineIds: [c.lineIds[0]] } });
    expect(chosen.status).toBe(409);
    expect(chosen.body.code).toBe('BAD_DEBT_NOT_ALLOWED');
    const unknown = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting', body: { reason: 'x', lineIds: [999_999_999] } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('LINE_NOT_OPEN');
    at('2027-01-18T10:00:00+08:00');
    const one = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting', body: { reason: 'x', lineIds: [c.lineIds[1]] } });
    expect(one.status).toBe(201);
    expect(one.body.amountFen).toBe(2000);
    expect((await env.ctx.accounts.balance(c.accountId)).arrearsFen).toBe(10_000);
    const dup = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting', body: { reason: 'x', lineIds: [c.lineIds[1]] } });
    expect(dup.body).toMatchObject({ code: 'BAD_DEBT_NOT_ALLOWED', details: { refused: [{ reason: 'already_bad_debt' }] } });
    await conserved(c.accountId);
  });

  test('R-BIL-10 bad input is a 4xx problem and writes nothing', async () => {
    const c = await closedWithArrears();
    at('2027-02-01T10:00:00+08:00');
    for (const body of [{}, { reason: '' }, { reason: 'x', lineIds: [] }, { reason: 'x', lineIds: ['a'] }, { reason: 'x', extra: 1 }]) {
      const r = await api.call('POST', `/api/v1/accounts/${c.accountId}/bad-debt`, { as: 'accounting', body });
      expect(r.status).toBe(400);
      expect(r.headers['content-type']).toContain('application/problem+json');
    }
    expect((await api.call('POST', '/api/v1/accounts/999999999/bad-debt', { as: 'accounting', body: { reason: 'x' } })).status).toBe(404);
    expect((await api.call('GET', '/api/v1/accounts/999999999/bad-debt', { as: 'accounting' })).status).toBe(404);
    const rows = await env.ctx.database.db.selectFrom('bad_debts').selectAll().where('account_id', '=', c.accountId).execute();
    expect(rows).toEqual([]);
  });
});
