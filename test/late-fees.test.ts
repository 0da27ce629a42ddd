// Late fees (滞纳金): R-ACC-17 rate, offset, cap, exempt items, cancellation, never twice a day, waiver;
// R-X-7 split of a partial payment between principal and late fee; R-ACC-18 conservation throughout.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { accrue, applyCycleCap, billDueDate, latefeePolicy } from '../src/domains/accounts/late-fees.ts';
import { addCycles, cycleOf } from '../src/platform/clock.ts';
import { DomainError } from '../src/platform/errors.ts';
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

const DEFAULTS: Record<string, number> = { late_fee_daily_rate_per_10k: 30, late_fee_start_offset_days: 1, late_fee_cycle_cap_fen: 10000, bill_due_day: 20 };
async function setParam(key: string, value: number) {
  await env.ctx.database.db.updateTable('business_parameters').set({ value }).where('key', '=', key).execute();
}
afterEach(async () => {
  for (const [k, v] of Object.entries(DEFAULTS)) await setParam(k, v);
  env.clock.set(T0, true);
});

const at = (iso: string) => env.clock.set(new Date(iso), true);
let n = 0;

/** A postpaid account with a RENT_PLAN bill of 2026-09 posted on 2 October (due 20 October). */
async function overdueAccount(amountFen = 10_000, extra: { item: string; amountFen: number }[] = []) {
  at('2026-10-02T10:00:00+08:00');
  const c = await customerWithAccount(env.ctx, 'monthly', 700 + n++);
  const r = await env.ctx.money.postBill(system, c.accountId, { cycle: '2026-09', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen }, ...extra.map((e) => ({ subscriberId: c.subscriberId, ...e }))] });
  const principal = r.bills[0]?.lines[0]?.lineId as number;
  return { ...c, principal };
}

function charge(accountId: number, cycle: string) {
  return env.ctx.database.db.transaction().execute((tx) => env.ctx.lateFees.chargeLateFees(tx, accountId, cycle));
}

async function conserved(accountId: number) {
  const report = await checkConservation(env.ctx.database.db, [accountId]);
  expect(report.differing).toEqual([]);
}

async function lineOf(accountId: number, lineId: number) {
  return env.ctx.database.db.selectFrom('bill_lines').selectAll().where('account_id', '=', accountId).where('line_id', '=', lineId).executeTakeFirstOrThrow();
}

describe('R-ACC-17 late fee accrual', () => {
  test('R-ACC-17 3‰ a day from the day after the due date, billed as LATE_FEE in the cycle of the days, linked to its principal', async () => {
    const c = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    // 21..31 October: 11 days × 10000 × 3‰ = 330
    expect(r.chargedFen).toBe(330);
    expect(r.accruals).toHaveLength(1);
    const a = r.accruals[0]!;
    expect(a).toMatchObject({ cycle: '2026-10', dueDate: '2026-10-20', firstDay: '2026-10-21', lastDay: '2026-10-31', days: 11, amountFen: 330, ratePer10k: 30 });
    expect(a.principal.lineId).toBe(c.principal);
    const fee = await lineOf(c.accountId, a.lateFeeLineId as number);
    expect(fee).toMatchObject({ item_code: 'LATE_FEE', cycle: '2026-10', amount_fen: 330, subscriber_id: c.subscriberId, source: 'late_fee' });
    await conserved(c.accountId);
  });

  test('R-ACC-17 never charged twice for the same day: a second call charges nothing; a later call only the new days', async () => {
    const c = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    expect((await charge(c.accountId, '2026-10')).chargedFen).toBe(330);
    expect((await charge(c.accountId, '2026-10')).chargedFen).toBe(0);
    // November so far: 1..14 (today's day has not ended)
    const part = await charge(c.accountId, '2026-11');
    expect(part.accruals.at(-1)).toMatchObject({ firstDay: '2026-11-01', lastDay: '2026-11-14', days: 14, amountFen: 420 });
    at('2026-12-02T10:00:00+08:00');
    const rest = await charge(c.accountId, '2026-11');
    expect(rest.chargedFen).toBe(480);
    expect(rest.accruals.map((x) => [x.firstDay, x.lastDay])).toEqual([
      ['2026-11-01', '2026-11-14'],
      ['2026-11-15', '2026-11-30'],
    ]);
    expect((await charge(c.accountId, '2026-11')).chargedFen).toBe(0);
    const ledger = await env.ctx.lateFees.list(c.accountId);
    expect(ledger.items.reduce((s, x) => s + x.days, 0)).toBe(11 + 30);
    await conserved(c.accountId);
  });

  test('R-ACC-17 a day is charged on what was still open at its end; a payment that day spares it', async () => {
    const c = await overdueAccount();
    at('2026-10-25T12:00:00+08:00');
    await env.ctx.money.pay(system, c.accountId, { amountFen: 4000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `lf-part-${c.accountId}` });
    at('2026-11-02T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    // 21..24: 10000 × 4 days; 25..31: 6000 × 7 days → 82000 × 3‰ = 246
    expect(r.accruals[0]).toMatchObject({ baseFenDays: 82_000, amountFen: 246 });
    await conserved(c.accountId);
  });

  test('R-X-7 the start offset is a business parameter', async () => {
    await setParam('late_fee_start_offset_days', 3);
    const c = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    expect(r.accruals[0]).toMatchObject({ firstDay: '2026-10-23', days: 9, amountFen: 270 });
  });

  test('R-X-7 the daily rate never exceeds the legal cap of 3‰ whatever the parameter says', async () => {
    await setParam('late_fee_daily_rate_per_10k', 50);
    const c = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    expect(r.accruals[0]).toMatchObject({ ratePer10k: 30, amountFen: 330 });
    await setParam('late_fee_daily_rate_per_10k', 10);
    const d = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    expect((await charge(d.accountId, '2026-10')).chargedFen).toBe(110);
  });

  test('R-X-7 the per-cycle cap limits what one account is charged in a cycle, across calls', async () => {
    await setParam('late_fee_cycle_cap_fen', 500);
    const c = await overdueAccount(100_000);
    at('2026-11-15T10:00:00+08:00');
    const first = await charge(c.accountId, '2026-11');
    // 14 days × 100000 × 3‰ = 4200, capped at 500
    expect(first.accruals[0]).toMatchObject({ computedFen: 4200, amountFen: 500 });
    at('2026-12-02T10:00:00+08:00');
    const second = await charge(c.accountId, '2026-11');
    expect(second.chargedFen).toBe(0);
    expect(second.accruals[1]).toMatchObject({ amountFen: 0, lateFeeLineId: null, days: 16 });
    // the capped days are still charged (never again)
    expect((await charge(c.accountId, '2026-11')).chargedFen).toBe(0);
    expect((await env.ctx.lateFees.list(c.accountId)).items.map((x) => x.days)).toEqual([14, 16]);
    await conserved(c.accountId);
  });

  test('R-X-7 exempt items bear no late fee (ONE_OFF in the demo; a late fee never bears one)', async () => {
    const c = await overdueAccount(10_000, [{ item: 'ONE_OFF', amountFen: 5000 }]);
    at('2026-11-15T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    expect(r.accruals).toHaveLength(1);
    expect(r.accruals[0]?.principal.item).toBe('RENT_PLAN');
    // the LATE_FEE line of October bears nothing in December
    at('2027-01-02T10:00:00+08:00');
    const dec = await charge(c.accountId, '2026-12');
    expect(dec.accruals.every((x) => x.principal.item === 'RENT_PLAN')).toBe(true);
  });

  test('R-X-7 the late fee stops at cancellation', async () => {
    const c = await overdueAccount();
    await env.ctx.database.db
      .updateTable('subscribers')
      .set({ lifecycle: 'cancelled', cancelled_at: new Date('2026-10-26T09:00:00+08:00') })
      .where('subscriber_id', '=', c.subscriberId)
      .execute();
    at('2026-11-15T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    // 21..25 October
    expect(r.accruals[0]).toMatchObject({ firstDay: '2026-10-21', lastDay: '2026-10-25', days: 5, amountFen: 150 });
    expect((await charge(c.accountId, '2026-11')).chargedFen).toBe(0);
  });

  test('R-ACC-17 only postpaid (monthly) accounts, only published bills, only earlier cycles', async () => {
    at('2026-10-02T10:00:00+08:00');
    const v = await customerWithAccount(env.ctx, 'virtual', 800 + n++);
    await env.ctx.money.postBill(system, v.accountId, { cycle: '2026-09', lines: [{ subscriberId: v.subscriberId, item: 'RENT_PLAN', amountFen: 10_000 }] });
    const c = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    expect((await charge(v.accountId, '2026-10')).chargedFen).toBe(0);
    // the cycle of the bill itself and a cycle before its due date bear nothing
    expect((await charge(c.accountId, '2026-09')).chargedFen).toBe(0);
    await env.ctx.database.db.updateTable('bills').set({ status: 'prebill' }).where('account_id', '=', c.accountId).execute();
    expect((await charge(c.accountId, '2026-10')).chargedFen).toBe(0);
  });

  test('R-ACC-17 a bill-run due date (bills.due_at) wins over the fallback', async () => {
    const c = await overdueAccount();
    await env.ctx.database.db
      .updateTable('bills')
      .set({ due_at: new Date('2026-10-28T00:00:00+08:00') } as never)
      .where('account_id', '=', c.accountId)
      .execute();
    at('2026-11-15T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    expect(r.accruals[0]).toMatchObject({ dueDate: '2026-10-28', firstDay: '2026-10-29', days: 3, amountFen: 90 });
  });
});

describe('R-X-7 principal and late fee written off together', () => {
  test('R-X-7 a partial payment is split in proportion (half-up, no fen lost); the next full payment pays the principal first', async () => {
    const c = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    const feeLine = r.accruals[0]?.lateFeeLineId as number;
    const p = await env.ctx.money.pay(system, c.accountId, { amountFen: 5000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `x7-a-${c.accountId}` });
    // 5000 × 10000 / 10330 = 4840.27 → 4840; the late fee 160
    expect(p.result.writeOffs).toEqual([
      { lineId: c.principal, bookId: p.result.payment.bookId, amountFen: 4840 },
      { lineId: feeLine, bookId: p.result.payment.bookId, amountFen: 160 },
    ]);
    const q = await env.ctx.money.pay(system, c.accountId, { amountFen: 6000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `x7-b-${c.accountId}` });
    expect(q.result.writeOffs.map((w) => [w.lineId, w.amountFen])).toEqual([
      [c.principal, 5160],
      [feeLine, 170],
    ]);
    expect((await lineOf(c.accountId, feeLine)).paid_fen).toBe(330);
    await conserved(c.accountId);
  });

  test('R-X-7 a late fee charged on a published bill is written off at once from books with money', async () => {
    const c = await overdueAccount();
    // a restricted fund pays the principal only (R-ACC-3): the late fee stays open, nothing pays it
    at('2026-11-15T10:00:00+08:00');
    await env.ctx.money.pay(system, c.accountId, { amountFen: 500, bookType: 'cash', channel: 'front_desk', idempotencyKey: `x7-c-${c.accountId}` });
    const r = await charge(c.accountId, '2026-11');
    expect(r.chargedFen).toBeGreaterThan(0);
    await conserved(c.accountId);
  });
});

describe('R-ACC-17 waiver', () => {
  test('R-ACC-17 a waiver needs the permission; it is audited, names the reason and closes the late fee (conservation holds)', async () => {
    const c = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    const r = await charge(c.accountId, '2026-10');
    const accrualId = r.accruals[0]?.accrualId as number;
    const front = await actorOf(env.ctx, 'front_desk');
    await expect(env.ctx.lateFees.waive(front, accrualId, { reason: '客户投诉' })).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
    const denied = await api.call('POST', `/api/v1/late-fees/${accrualId}/waiver`, { as: 'front_desk', body: { reason: '客户投诉' } });
    expect(denied.status).toBe(403);
    const part = await api.call('POST', `/api/v1/late-fees/${accrualId}/waiver`, { as: 'accounting', body: { reason: '银行托收失败非客户原因', amountFen: 100 } });
    expect(part.status).toBe(201);
    expect(part.body).toMatchObject({ amountFen: 100, openFen: 230 });
    const rest = await api.call('POST', `/api/v1/late-fees/${accrualId}/waiver`, { as: 'accounting', body: { reason: '全免' } });
    expect(rest.body).toMatchObject({ amountFen: 230, openFen: 0 });
    const again = await api.call('POST', `/api/v1/late-fees/${accrualId}/waiver`, { as: 'accounting', body: { reason: '再免' } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('LATE_FEE_NOT_OPEN');
    const audit = await env.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'late_fee.waive').where('target_id', '=', String(accrualId)).execute();
    expect(audit).toHaveLength(2);
    const events = await env.ctx.database.db.selectFrom('outbox').selectAll().where('event_type', '=', 'late_fee.waived').where('account_id', '=', c.accountId).execute();
    expect(events).toHaveLength(2);
    const ledger = await env.ctx.lateFees.list(c.accountId);
    expect(ledger.items[0]).toMatchObject({ waivedFen: 330, openFen: 0 });
    await conserved(c.accountId);
  });

  test('R-ACC-17 bad input to a waiver is a 4xx problem and changes nothing', async () => {
    const c = await overdueAccount();
    at('2026-11-15T10:00:00+08:00');
    const accrualId = (await charge(c.accountId, '2026-10')).accruals[0]?.accrualId as number;
    const before = await env.ctx.database.db.selectFrom('grants').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    for (const body of [{}, { reason: '' }, { reason: 'x', amountFen: 0 }, { reason: 'x', amountFen: 1.5 }, { reason: 'x', extra: 1 }]) {
      const r = await api.call('POST', `/api/v1/late-fees/${accrualId}/waiver`, { as: 'accounting', body });
      expect(r.status).toBe(400);
      expect(r.headers['content-type']).toContain('application/problem+json');
    }
    const above = await api.call('POST', `/api/v1/late-fees/${accrualId}/waiver`, { as: 'accounting', body: { reason: 'x', amountFen: 331 } });
    expect(above.status).toBe(422);
    expect((await api.call('POST', '/api/v1/late-fees/999999999/waiver', { as: 'accounting', body: { reason: 'x' } })).status).toBe(404);
    const after = await env.ctx.database.db.selectFrom('grants').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    const list = await api.call('GET', `/api/v1/accounts/${c.accountId}/late-fees`, { as: 'front_desk' });
    expect(list.status).toBe(200);
    expect(list.body.items[0]).toMatchObject({ waivedFen: 0, openFen: 330 });
  });
});

describe('R-ACC-17 pure rules', () => {
  const policy = latefeePolicy(new Map([['late_fee_daily_rate_per_10k', 30]]));
  test('R-ACC-17 billDueDate: the bill run’s date, else the due day of the next month, never before the bill was made', () => {
    expect(billDueDate('2026-09', null, 20)).toBe('2026-10-20');
    expect(billDueDate('2026-01', null, 31)).toBe('2026-02-28');
    expect(billDueDate('2026-09', new Date('2026-12-20T00:00:00+08:00'), 20)).toBe('2026-12-20');
    expect(billDueDate('2026-09', null, 20, new Date('2026-11-03T09:00:00+08:00'))).toBe('2026-11-03');
  });
  test('R-X-7 applyCycleCap takes the cap in order after what was billed; 0 means no cap', () => {
    expect(applyCycleCap([300, 300, 300], 100, 500)).toEqual([300, 100, 0]);
    expect(applyCycleCap([300], 0, 0)).toEqual([300]);
    expect(applyCycleCap([300], 600, 500)).toEqual([0]);
  });
  test('R-ACC-17 accrue: a negative write-off (reversal) reopens the line from that day', () => {
    const a = accrue(
      {
        lineId: 1,
        subscriberId: 1,
        cycle: '2026-09',
        amountFen: 1000,
        dueDate: '2026-10-20',
        writeOffs: [
          { at: new Date('2026-10-01T10:00:00+08:00'), amountFen: 1000 },
          { at: new Date('2026-10-29T10:00:00+08:00'), amountFen: -1000 },
        ],
        chargedThrough: null,
        stopDay: null,
      },
      '2026-10',
      '2026-11-15',
      policy,
    );
    // 29, 30, 31 October open: 3000 fen-days → 9
    expect(a).toMatchObject({ baseFenDays: 3000, computedFen: 9, firstDay: '2026-10-21', days: 11 });
  });
});

describe('R-ACC-18 late fees conserve money (property)', () => {
  test('R-ACC-18 random bills, payments, late-fee charges and clock moves: conservation holds, no day charged twice, ledger equals LATE_FEE lines', async () => {
    type Op = { kind: 'pay'; amountFen: number } | { kind: 'charge'; back: number } | { kind: 'advance'; days: number } | { kind: 'bill'; amountFen: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('pay' as const), amountFen: fc.integer({ min: 1, max: 15_000 }) }),
      fc.record({ kind: fc.constant('charge' as const), back: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('advance' as const), days: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('bill' as const), amountFen: fc.integer({ min: 1, max: 20_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 50_000 }), fc.array(opArb, { minLength: 3, maxLength: 10 }), async (principalFen, ops) => {
        const c = await overdueAccount(principalFen);
        at('2026-11-05T10:00:00+08:00');
        let k = 0;
        for (const op of ops) {
          try {
            const now = env.clock.now();
            const cycle = cycleOf(now);
            if (op.kind === 'pay') await env.ctx.money.pay(system, c.accountId, { amountFen: op.amountFen, bookType: 'cash', channel: 'front_desk', idempotencyKey: `lfp-${c.accountId}-${k++}` });
            else if (op.kind === 'advance') env.clock.set(new Date(now.getTime() + op.days * 86_400_000), true);
            else if (op.kind === 'bill') await env.ctx.money.postBill(system, c.accountId, { cycle, lines: [{ subscriberId: c.subscriberId, item: 'DATA', amountFen: op.amountFen }] });
            else await charge(c.accountId, addCycles(cycle, -op.back));
          } catch (err) {
            if (!(err instanceof DomainError)) throw err;
          }
          await conserved(c.accountId);
        }
        const ledger = await env.ctx.database.db.selectFrom('late_fee_accruals').selectAll().where('account_id', '=', c.accountId).orderBy('principal_line_id').orderBy('first_day').execute();
        // no day of a principal line is charged twice
        for (let i = 1; i < ledger.length; i++) {
          const prev = ledger[i - 1]!;
          const cur = ledger[i]!;
          if (prev.principal_line_id === cur.principal_line_id) expect(cur.first_day > prev.last_day).toBe(true);
        }
        const fees = await env.ctx.database.db.selectFrom('bill_lines').select(['line_id', 'amount_fen']).where('account_id', '=', c.accountId).where('item_code', '=', 'LATE_FEE').execute();
        expect(fees.reduce((s, f) => s + f.amount_fen, 0)).toBe(ledger.reduce((s, a) => s + a.amount_fen, 0));
        for (const f of fees) expect(ledger.filter((a) => a.late_fee_line_id === f.line_id).map((a) => a.amount_fen)).toEqual([f.amount_fen]);
      }),
      { numRuns: process.env.OPENBOSS_TEST_DB === 'pg' ? 10 : 15 },
    );
  });
});

describe('R-ACC-17 in the bill run', () => {
  test('R-ACC-17 the bill run of a cycle bills its late fees on the pre-bill and publishes them with it', async () => {
    const c = await overdueAccount();
    at('2026-11-02T10:00:00+08:00');
    const accounting = await actorOf(env.ctx, 'accounting');
    await env.ctx.billing.run(accounting, '2026-10', { publish: true });
    const lines = await env.ctx.database.db
      .selectFrom('bill_lines as l')
      .innerJoin('bills as b', (j) => j.onRef('b.account_id', '=', 'l.account_id').onRef('b.bill_id', '=', 'l.bill_id'))
      .select(['l.item_code', 'l.amount_fen', 'b.status', 'b.cycle'])
      .where('l.account_id', '=', c.accountId)
      .where('l.cycle', '=', '2026-10')
      .execute();
    expect(lines).toEqual([{ item_code: 'LATE_FEE', amount_fen: 330, status: 'published', cycle: '2026-10' }]);
    // the run again changes nothing (R-BIL-6), and so does asking the late fees again
    await env.ctx.billing.run(accounting, '2026-10', { publish: true });
    expect((await charge(c.accountId, '2026-10')).chargedFen).toBe(0);
    expect((await env.ctx.lateFees.list(c.accountId)).items).toHaveLength(1);
    await conserved(c.accountId);
  });
});
