// The bill run (出账) on a real database (PGlite, and PostgreSQL in the second run): R-BIL-4..9,
// R-X-9, R-X-14, R-ACC-9/10, R-ACC-18. Every test bills its own cycle (one run per cycle).
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AppContext, createContext } from '../src/app/context.ts';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { DEMO_CATALOG } from '../src/domains/catalog/demo-catalog.ts';
import { creditExhaustion } from '../src/domains/catalog/rules.ts';
import { daysInService } from '../src/domains/billing/rules.ts';
import type { Actor } from '../src/platform/audit.ts';
import { addCycles, cycleDays, cycleStart } from '../src/platform/clock.ts';
import { prorate } from '../src/platform/money.ts';
import { actorOf, customerWithAccount, onPostgres, system, T0, testApi, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let accounting: Actor;
let frontDesk: Actor;
let keySeq = 0;

beforeAll(async () => {
  env = await testEnv();
  accounting = await actorOf(env.ctx, 'accounting');
  frontDesk = await actorOf(env.ctx, 'front_desk');
  await env.ctx.catalog.importCatalog(DEMO_CATALOG);
  await plan(env.ctx, 'T-18', 1800);
  await plan(env.ctx, 'T-46', 4600);
});
afterAll(async () => {
  env.clock.set(T0);
  const report = await checkConservation(env.ctx.database.db);
  expect(report.differing).toEqual([]);
  await env.close();
});

const at = (s: string) => new Date(`${s}+08:00`);

async function plan(ctx: AppContext, code: string, amountFen: number) {
  const db = ctx.database.db;
  await sql`INSERT INTO offers (offer_code, kind, name_zh, name_en, network, valid_from, created_at, updated_at)
            VALUES (${code}, 'plan', ${code}, ${code}, 'wcdma3g', '2020-01-01', now(), now()) ON CONFLICT DO NOTHING`.execute(db);
  await sql`INSERT INTO offer_charges (offer_code, seq, kind, item_code, amount_fen) VALUES (${code}, 1, 'recurring', 'RENT_PLAN', ${amountFen}) ON CONFLICT DO NOTHING`.execute(db);
}

async function subscribe(ctx: AppContext, subscriberId: number, offer: string, start: Date, end: Date | null, extra: { minimumSpendFen?: number; memberRole?: string; kind?: string } = {}) {
  await sql`INSERT INTO subscriber_offers (subscriber_id, offer_code, kind, member_role, started_at, ended_at, minimum_spend_fen)
            VALUES (${subscriberId}, ${offer}, ${extra.kind ?? 'plan'}, ${extra.memberRole ?? null}, ${start}, ${end}, ${extra.minimumSpendFen ?? 0})`.execute(ctx.database.db);
}

async function linesOf(ctx: AppContext, where: { subscriberId?: number; accountId?: number; cycle: string }) {
  const r = await sql<{ account_id: number; subscriber_id: number; item_code: string; amount_fen: number; paid_fen: number; relation_id: number | null; status: string; source: string }>`
    SELECT l.account_id, l.subscriber_id, l.item_code, l.amount_fen, l.paid_fen, l.relation_id, b.status, l.source
      FROM bill_lines l JOIN bills b ON b.account_id = l.account_id AND b.bill_id = l.bill_id
     WHERE l.cycle = ${where.cycle}
       ${where.subscriberId === undefined ? sql`` : sql`AND l.subscriber_id = ${where.subscriberId}`}
       ${where.accountId === undefined ? sql`` : sql`AND l.account_id = ${where.accountId}`}
     ORDER BY l.line_id`.execute(ctx.database.db);
  return r.rows;
}
const total = (rows: { amount_fen: number }[]) => rows.reduce((s, r) => s + r.amount_fen, 0);
const pay = (accountId: number, amountFen: number) =>
  env.ctx.money.pay(frontDesk, accountId, { amountFen, bookType: 'cash', channel: 'front_desk', idempotencyKey: `billrun-${++keySeq}` });

describe('R-BIL-4 recurring fees pro rata by day', () => {
  test('R-BIL-4 mid-month activation, mid-month cancellation and a plan change each pay their own days, half-up', async () => {
    const cycle = '2026-03'; // 31 days
    const activated = await customerWithAccount(env.ctx, 'monthly', 1);
    await subscribe(env.ctx, activated.subscriberId, 'T-18', at('2026-03-11T10:00:00'), at('2026-04-01T00:00:00'));
    const cancelled = await customerWithAccount(env.ctx, 'monthly', 2);
    await subscribe(env.ctx, cancelled.subscriberId, 'T-18', at('2026-01-05T09:00:00'), at('2026-03-10T15:00:00'));
    const changed = await customerWithAccount(env.ctx, 'monthly', 3);
    await subscribe(env.ctx, changed.subscriberId, 'T-18', at('2026-02-01T00:00:00'), at('2026-03-16T10:00:00'));
    await subscribe(env.ctx, changed.subscriberId, 'T-46', at('2026-03-16T10:00:00'), at('2026-04-01T00:00:00'));
    const full = await customerWithAccount(env.ctx, 'monthly', 4);
    await subscribe(env.ctx, full.subscriberId, 'T-46', at('2026-02-20T00:00:00'), at('2026-04-01T00:00:00'));

    await env.ctx.billing.run(accounting, cycle, { publish: true });
    // 11th..31st = 21 days: 1800 × 21/31 = 1219.35 → 1219
    expect(total(await linesOf(env.ctx, { subscriberId: activated.subscriberId, cycle }))).toBe(1219);
    // ended at 15:00 on the 10th: 1st..9th = 9 days: 1800 × 9/31 = 522.58 → 523
    expect(total(await linesOf(env.ctx, { subscriberId: cancelled.subscriberId, cycle }))).toBe(523);
    // old plan 1st..15th (871), new plan 16th..31st: 4600 × 16/31 = 2374.19 → 2374
    expect(total(await linesOf(env.ctx, { subscriberId: changed.subscriberId, cycle }))).toBe(871 + 2374);
    expect(total(await linesOf(env.ctx, { subscriberId: full.subscriberId, cycle }))).toBe(4600);
    // nothing before activation, nothing after cancellation
    expect(await linesOf(env.ctx, { subscriberId: activated.subscriberId, cycle: '2026-02' })).toEqual([]);
    expect((await linesOf(env.ctx, { subscriberId: full.subscriberId, cycle })).every((l) => l.status === 'published' && l.source === 'recurring')).toBe(true);
  });

  test('R-BIL-4 the day an offer ends is not paid; activation and end on one day pay nothing', () => {
    expect(daysInService('2026-03', at('2026-03-01T00:00:00'), at('2026-03-02T00:00:00'))).toBe(1);
    expect(daysInService('2026-03', at('2026-03-05T08:00:00'), at('2026-03-05T20:00:00'))).toBe(0);
    expect(daysInService('2026-02', at('2026-01-31T23:59:59'), null)).toBe(28);
    expect(daysInService('2026-03', at('2026-04-01T00:00:00'), null)).toBe(0);
  });
});

describe('R-BIL-5 / R-BIL-9 / R-X-9: pre-bill, relations, review, re-run, publish', () => {
  test('R-BIL-5 full sequence: relations with a limit (R-ACC-9/10), pre-bill not written off until publish (R-BIL-9), parked payment replayed (R-X-9)', async () => {
    const cycle = '2026-04'; // 30 days
    const child = await customerWithAccount(env.ctx, 'monthly', 11);
    const parent = await customerWithAccount(env.ctx, 'monthly', 12);
    await subscribe(env.ctx, child.subscriberId, 'T-46', at('2026-03-01T00:00:00'), at('2026-05-01T00:00:00'));
    // R-ACC-10 "listed items with a limit": the parent pays RENT_PLAN up to 30 yuan a cycle
    await env.ctx.accounts.createRelation(system, child.subscriberId, { payerAccountId: parent.accountId, priority: 1, items: ['RENT_PLAN'], limitFen: 3000 });
    // an older published arrears of the child and a prepaid book it had before the run
    await env.ctx.money.postBill(accounting, child.accountId, { cycle: '2026-02', lines: [{ subscriberId: child.subscriberId, item: 'SMS', amountFen: 300 }] });
    await pay(child.accountId, 300);

    const started = await env.ctx.billing.start(accounting, cycle);
    await env.ctx.billing.work(started.run_id);
    const run = await env.ctx.billing.view(started.run_id);
    expect(run.state).toBe('prebilled');
    const childLines = await linesOf(env.ctx, { subscriberId: child.subscriberId, cycle });
    expect(childLines.map((l) => [l.account_id, l.amount_fen, l.relation_id !== null, l.status])).toEqual(
      expect.arrayContaining([
        [parent.accountId, 3000, true, 'prebill'],
        [child.accountId, 1600, false, 'prebill'],
      ]),
    );
    expect(childLines).toHaveLength(2);
    // R-BIL-9: a pre-bill is neither arrears nor shown to the customer
    expect((await env.ctx.accounts.balance(child.accountId)).arrearsFen).toBe(0);
    expect((await env.ctx.accounts.balance(parent.accountId)).arrearsFen).toBe(0);

    // R-X-9: a payment during the run is accepted, its write-off parked
    const paid = await pay(child.accountId, 5000);
    expect(paid.result.writeOffs).toEqual([]);
    const parked = await sql<{ payment_id: number; replayed_at: Date | null }>`SELECT payment_id, replayed_at FROM parked_payments WHERE account_id = ${child.accountId}`.execute(env.ctx.database.db);
    expect(parked.rows).toEqual([{ payment_id: paid.result.payment.paymentId, replayed_at: null }]);
    expect((await checkConservation(env.ctx.database.db, [child.accountId])).differing).toEqual([]);

    // publish: due date, write-off, parked payment replayed in its name
    const published = await env.ctx.billing.publish(accounting, started.run_id);
    expect(published.state).toBe('published');
    const after = await linesOf(env.ctx, { subscriberId: child.subscriberId, cycle });
    expect(after.find((l) => l.account_id === child.accountId)).toMatchObject({ status: 'published', paid_fen: 1600 });
    expect(after.find((l) => l.account_id === parent.accountId)).toMatchObject({ status: 'published', paid_fen: 0 });
    expect((await env.ctx.accounts.balance(parent.accountId)).arrearsFen).toBe(3000);
    const wo = await sql<{ trigger_kind: string; trigger_id: number; amount_fen: number }>`
      SELECT trigger_kind, trigger_id, amount_fen FROM write_offs WHERE account_id = ${child.accountId} AND created_at >= ${T0} ORDER BY write_off_id`.execute(env.ctx.database.db);
    expect(wo.rows.filter((w) => w.trigger_kind === 'payment' && w.trigger_id === paid.result.payment.paymentId).reduce((s, w) => s + w.amount_fen, 0)).toBe(1600);
    const bill = await sql<{ due_at: Date; published_at: Date }>`SELECT due_at, published_at FROM bills WHERE account_id = ${child.accountId} AND cycle = ${cycle}`.execute(env.ctx.database.db);
    // published on 2026-11-15 → due on the 20th of the next month
    expect(bill.rows[0]?.due_at.toISOString()).toBe(at('2026-12-20T00:00:00').toISOString());
    const events = await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox WHERE event_type = 'bill.published' AND account_id = ${child.accountId}`.execute(env.ctx.database.db);
    expect(Number(events.rows[0]?.n)).toBe(1);
    const bills = await env.ctx.billing.accountBills(child.accountId);
    expect(bills.items[0]).toMatchObject({ cycle, status: 'published', totalFen: 1600, paidFen: 1600 });
    // a payment after publication is not parked
    const later = await pay(parent.accountId, 1000);
    expect(later.result.writeOffs.reduce((s, w) => s + w.amountFen, 0)).toBe(1000);
    expect((await checkConservation(env.ctx.database.db)).differing).toEqual([]);
  });

  test('R-BIL-9 review: totals per bill item against the previous cycle, anomalies flagged; re-run a single account after a correction', async () => {
    const cycle = '2026-07';
    const usual = await customerWithAccount(env.ctx, 'monthly', 21);
    const spike = await customerWithAccount(env.ctx, 'monthly', 22);
    for (const c of ['2026-04', '2026-05', '2026-06']) {
      await env.ctx.money.postBill(accounting, spike.accountId, { cycle: c, lines: [{ subscriberId: spike.subscriberId, item: 'VOICE_LOCAL', amountFen: 2000 }] });
    }
    await env.ctx.money.postBill(accounting, usual.accountId, { cycle: '2026-06', lines: [{ subscriberId: usual.subscriberId, item: 'RENT_PLAN', amountFen: 4600 }] });
    await subscribe(env.ctx, usual.subscriberId, 'T-46', at('2026-06-01T00:00:00'), at('2026-08-01T00:00:00'));
    // a wrong subscription: 4 plans at once (a data error the review should catch)
    for (let i = 0; i < 4; i++) await subscribe(env.ctx, spike.subscriberId, 'T-46', at('2026-07-01T00:00:00'), at('2026-08-01T00:00:00'));

    const started = await env.ctx.billing.start(accounting, cycle);
    await env.ctx.billing.work(started.run_id);
    const review = await env.ctx.billing.review(started.run_id);
    expect(review.previousCycle).toBe('2026-06');
    const rent = review.items.find((i) => i.item === 'RENT_PLAN');
    expect(rent).toMatchObject({ amountFen: 4600 + 4 * 4600, previousFen: 4600 });
    expect(review.anomalies.items.map((a) => a.subscriberId)).toEqual([spike.subscriberId]);
    expect(review.anomalies.items[0]).toMatchObject({ totalFen: 18400, averageFen: 2000 });

    // the correction: three of the four subscriptions never existed
    await sql`DELETE FROM subscriber_offers WHERE subscriber_offer_id IN (
                SELECT subscriber_offer_id FROM subscriber_offers WHERE subscriber_id = ${spike.subscriberId} ORDER BY subscriber_offer_id LIMIT 3)`.execute(env.ctx.database.db);
    await expect(env.ctx.billing.rerunAccount(accounting, started.run_id, spike.accountId)).resolves.toMatchObject({ beforeFen: 18400, afterFen: 4600 });
    expect(total(await linesOf(env.ctx, { subscriberId: spike.subscriberId, cycle }))).toBe(4600);
    expect(total(await linesOf(env.ctx, { subscriberId: usual.subscriberId, cycle }))).toBe(4600);
    // re-running again changes nothing
    await env.ctx.billing.rerunAccount(accounting, started.run_id, spike.accountId);
    expect(await linesOf(env.ctx, { subscriberId: spike.subscriberId, cycle })).toHaveLength(1);
    await env.ctx.billing.publish(accounting, started.run_id);
    await expect(env.ctx.billing.rerunAccount(accounting, started.run_id, spike.accountId)).rejects.toMatchObject({ code: 'BILL_RUN_NOT_OPEN' });
    await expect(env.ctx.billing.publish(accounting, started.run_id)).resolves.toMatchObject({ state: 'published' });
  });

  test('R-BIL-9 a cycle that has not ended cannot be billed', async () => {
    await expect(env.ctx.billing.start(accounting, '2026-11')).rejects.toMatchObject({ code: 'CYCLE_NOT_ENDED', status: 422 });
    await expect(env.ctx.billing.start(accounting, '2027-01')).rejects.toMatchObject({ code: 'CYCLE_NOT_ENDED' });
  });
});

describe('R-X-14 minimum spend', () => {
  test('R-X-14 a month below the floor is charged the shortfall as MIN_SPEND; above it nothing', async () => {
    const cycle = '2026-06';
    const low = await customerWithAccount(env.ctx, 'monthly', 31);
    await subscribe(env.ctx, low.subscriberId, 'T-18', at('2026-05-01T00:00:00'), at('2026-07-01T00:00:00'), { minimumSpendFen: 5000 });
    const high = await customerWithAccount(env.ctx, 'monthly', 32);
    await subscribe(env.ctx, high.subscriberId, 'T-46', at('2026-05-01T00:00:00'), at('2026-07-01T00:00:00'), { minimumSpendFen: 3000 });
    await env.ctx.billing.run(accounting, cycle, { publish: true });
    const lines = await linesOf(env.ctx, { subscriberId: low.subscriberId, cycle });
    expect(lines.map((l) => [l.item_code, l.amount_fen, l.source])).toEqual(
      expect.arrayContaining([
        ['RENT_PLAN', 1800, 'recurring'],
        ['MIN_SPEND', 3200, 'minimum_spend'],
      ]),
    );
    expect((await linesOf(env.ctx, { subscriberId: high.subscriberId, cycle })).map((l) => l.item_code)).toEqual(['RENT_PLAN']);
  });
});

/** Six accounts on plans in `cycle`; the same on any database (the interrupted and the reference run). */
async function sixAccounts(ctx: AppContext, cycle: string, base: number) {
  await plan(ctx, 'T-18', 1800);
  await plan(ctx, 'T-46', 4600);
  const out = [];
  for (let i = 0; i < 6; i++) {
    const c = await customerWithAccount(ctx, 'monthly', base + i);
    const start = new Date(cycleStart(cycle).getTime() + i * 3 * 86_400_000 + 3600_000);
    await subscribe(ctx, c.subscriberId, i % 2 ? 'T-46' : 'T-18', start, cycleStart(addCycles(cycle, 1)));
    out.push(c);
  }
  return out;
}

describe('R-BIL-6 / R-BIL-7 resumable, idempotent, shared by workers', () => {
  test('R-BIL-6 a run interrupted half-way (a failing chunk, a worker that stops after one chunk) and resumed ends with the totals of an uninterrupted run; running it again changes nothing', async () => {
    const cycle = '2026-05';
    const subs = await sixAccounts(env.ctx, cycle, 40);
    let failOnce = true;
    env.ctx.billing.fault = (chunk, phase) => {
      if (phase === 'bill' && chunk.chunk_no === 1 && failOnce) {
        failOnce = false;
        throw new Error('simulated crash after writing the chunk');
      }
    };
    const run = await env.ctx.billing.start(accounting, cycle, { chunkAccounts: 2 });
    try {
      // a worker that stops after one chunk (killed)
      const first = await env.ctx.billing.work(run.run_id, 'bill', { maxChunks: 1 });
      expect(first).toMatchObject({ chunks: 1, state: 'running' });
      // R-BIL-7 progress
      const mid = await env.ctx.billing.view(run.run_id);
      expect(mid.progress.accountsDone).toBeGreaterThan(0);
      expect(mid.progress.accountsDone).toBeLessThan(mid.progress.accountsTotal);
      expect(mid.progress.chunksDone).toBe(1);
      // the next worker meets the failing chunk, which is rolled back and retried
      const rest = await env.ctx.billing.work(run.run_id);
      expect(rest.failed).toBe(1);
      expect(rest.state).toBe('prebilled');
    } finally {
      env.ctx.billing.fault = undefined;
    }
    const done = await env.ctx.billing.view(run.run_id);
    expect(done.progress.accountsDone).toBe(done.progress.accountsTotal);
    expect(done.errors).toEqual([]);
    const perSub = async (ctx: AppContext, ids: { subscriberId: number }[]) => Promise.all(ids.map(async (s) => total(await linesOf(ctx, { subscriberId: s.subscriberId, cycle }))));
    const interrupted = await perSub(env.ctx, subs);

    // the same data billed without interruption on another database
    const ref = await testEnv();
    try {
      const refSubs = await sixAccounts(ref.ctx, cycle, 40);
      await ref.ctx.billing.run(system, cycle);
      expect(await perSub(ref.ctx, refSubs)).toEqual(interrupted);
    } finally {
      await ref.close();
    }
    const expected = subs.map((_, i) => prorate(i % 2 ? 4600 : 1800, cycleDays(cycle) - i * 3, cycleDays(cycle)));
    expect(interrupted).toEqual(expected);

    // starting and working the cycle again, before and after publishing, changes nothing
    const count = async () => Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM bill_lines WHERE cycle = ${cycle}`.execute(env.ctx.database.db)).rows[0]?.n);
    const n = await count();
    await env.ctx.billing.start(accounting, cycle);
    await env.ctx.billing.work(run.run_id);
    expect(await count()).toBe(n);
    await env.ctx.billing.run(accounting, cycle, { publish: true });
    await env.ctx.billing.run(accounting, cycle, { publish: true });
    expect(await count()).toBe(n);
    expect((await env.ctx.billing.view(run.run_id)).state).toBe('published');
  }, 240_000);

  test('R-BIL-7 two workers (on PostgreSQL two contexts on one database) share one run; every chunk is billed once', async () => {
    const cycle = '2026-08';
    const subs = await sixAccounts(env.ctx, cycle, 60);
    let other: AppContext = env.ctx;
    if (onPostgres) {
      const raw = env.ctx.database.raw as { kind: 'pg'; connectionString: string };
      other = await createContext({ ...env.ctx.config }, { clock: env.clock, log: env.ctx.log, db: { databaseUrl: raw.connectionString, poolSize: 4 } });
    }
    try {
      const run = await env.ctx.billing.start(accounting, cycle, { chunkAccounts: 1 });
      const [a, b] = await Promise.all([env.ctx.billing.work(run.run_id, 'bill', { worker: 'w1' }), other.billing.work(run.run_id, 'bill', { worker: 'w2' })]);
      expect(a.chunks + b.chunks).toBe(run.chunks_total);
      expect((await env.ctx.billing.view(run.run_id)).state).toBe('prebilled');
      const [p1, p2] = await Promise.all([env.ctx.billing.publish(accounting, run.run_id), other.billing.publish(accounting, run.run_id)]);
      expect([p1.state, p2.state]).toContain('published');
      for (const [i, s] of subs.entries()) {
        expect(total(await linesOf(env.ctx, { subscriberId: s.subscriberId, cycle }))).toBe(prorate(i % 2 ? 4600 : 1800, cycleDays(cycle) - i * 3, cycleDays(cycle)));
      }
      const ledger = await sql<{ n: number }>`SELECT count(*)::int AS n FROM recurring_charges WHERE cycle = ${cycle}`.execute(env.ctx.database.db);
      expect(Number(ledger.rows[0]?.n)).toBe(6);
    } finally {
      if (other !== env.ctx) await other.close();
    }
  });
});

describe('R-BIL-7 API', () => {
  test('R-BIL-7 the accounting room starts a run over HTTP, follows its progress, reviews, publishes; others may not', async () => {
    const cycle = '2026-09';
    const c = await customerWithAccount(env.ctx, 'monthly', 81);
    await subscribe(env.ctx, c.subscriberId, 'T-18', at('2026-09-01T00:00:00'), at('2026-10-01T00:00:00'));
    const api = await testApi(env);
    try {
      expect((await api.call('POST', '/api/v1/bill-runs', { as: 'front_desk', body: { cycle } })).status).toBe(403);
      expect((await api.call('POST', '/api/v1/bill-runs', { as: 'accounting', body: { cycle: '2026-13' } })).status).toBe(400);
      const started = await api.call('POST', '/api/v1/bill-runs', { as: 'accounting', body: { cycle } });
      expect(started.status).toBe(202);
      const id = started.body.runId as number;
      let view = started.body;
      for (let i = 0; i < 200 && view.state === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        view = (await api.call('GET', `/api/v1/bill-runs/${id}`, { as: 'accounting' })).body;
      }
      expect(view).toMatchObject({ cycle, state: 'prebilled', progress: { chunksDone: 1, chunksTotal: 1 } });
      expect(view.progress.accountsDone).toBe(view.progress.accountsTotal);
      const review = await api.call('GET', `/api/v1/bill-runs/${id}/review`, { as: 'auditor' });
      expect(review.status).toBe(200);
      expect(review.body.items.find((i: { item: string }) => i.item === 'RENT_PLAN')).toMatchObject({ amountFen: 1800 });
      expect((await api.call('POST', `/api/v1/bill-runs/${id}/publish`, { as: 'auditor' })).status).toBe(403);
      expect((await api.call('POST', `/api/v1/bill-runs/${id}/accounts/${c.accountId}/rerun`, { as: 'accounting' })).body).toMatchObject({ beforeFen: 1800, afterFen: 1800 });
      const published = await api.call('POST', `/api/v1/bill-runs/${id}/publish`, { as: 'accounting' });
      expect(published.body).toMatchObject({ state: 'published' });
      expect((await api.call('POST', `/api/v1/bill-runs/${id}/publish`, { as: 'accounting' })).body).toMatchObject({ state: 'published' });
      const bills = await api.call('GET', `/api/v1/accounts/${c.accountId}/bills`, { as: 'front_desk' });
      expect(bills.body.items[0]).toMatchObject({ cycle, status: 'published', totalFen: 1800, lines: [{ item: 'RENT_PLAN', amountFen: 1800, source: 'recurring' }] });
      expect((await api.call('GET', '/api/v1/accounts/999999/bills', { as: 'front_desk' })).status).toBe(404);
      expect((await api.call('GET', '/api/v1/bill-runs/999999', { as: 'accounting' })).status).toBe(404);
      expect((await api.call('GET', '/api/v1/bill-runs', { as: 'accounting' })).body.items.map((r: { cycle: string }) => r.cycle)).toContain(cycle);
    } finally {
      await api.app.close();
    }
  });
});

describe('R-ACC-17 late fees in the bill run', () => {
  test('R-BIL-5 an overdue bill of the cycle before gets its LATE_FEE line on the pre-bill, published with the run; a re-run keeps it once', async () => {
    const cycle = '2026-10';
    const c = await customerWithAccount(env.ctx, 'monthly', 91);
    await subscribe(env.ctx, c.subscriberId, 'T-18', at('2026-10-01T00:00:00'), at('2026-11-01T00:00:00'));
    // the September bill, posted on 1 October (due on 20 October), is still unpaid
    env.clock.set(at('2026-10-01T09:00:00'));
    try {
      await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-09', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 10000 }] });
    } finally {
      env.clock.set(T0);
    }
    const run = await env.ctx.billing.start(accounting, cycle);
    await env.ctx.billing.work(run.run_id);
    const lines = await linesOf(env.ctx, { accountId: c.accountId, cycle });
    const fee = lines.filter((l) => l.item_code === 'LATE_FEE');
    expect(fee).toHaveLength(1);
    expect(fee[0]).toMatchObject({ status: 'prebill', source: 'late_fee' });
    // 21–31 October, 3‰ a day of 100 yuan (the demo policy)
    expect(fee[0]?.amount_fen).toBe(330);
    expect(lines.find((l) => l.item_code === 'RENT_PLAN')).toMatchObject({ amount_fen: 1800, status: 'prebill' });
    await env.ctx.billing.rerunAccount(accounting, run.run_id, c.accountId);
    expect((await linesOf(env.ctx, { accountId: c.accountId, cycle })).map((l) => [l.item_code, l.amount_fen]).sort()).toEqual(lines.map((l) => [l.item_code, l.amount_fen]).sort());
    await env.ctx.billing.publish(accounting, run.run_id);
    expect((await linesOf(env.ctx, { accountId: c.accountId, cycle })).every((l) => l.status === 'published')).toBe(true);
    expect((await env.ctx.accounts.balance(c.accountId)).arrearsFen).toBe(10000 + 1800 + (fee[0]?.amount_fen ?? 0));
  });
});

describe('R-BIL-4 property', () => {
  test('R-BIL-4 property: random subscribers, offers and days → lines = reference pro rata, conservation holds (R-ACC-18)', async () => {
    let cycleNo = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            amountFen: fc.integer({ min: 1, max: 20_000 }),
            startDay: fc.integer({ min: -5, max: 31 }),
            endDay: fc.option(fc.integer({ min: 1, max: 35 }), { nil: null }),
            prepaidFen: fc.integer({ min: 0, max: 5000 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (specs) => {
          const cycle = addCycles('2010-01', cycleNo++);
          const days = cycleDays(cycle);
          const start0 = cycleStart(cycle).getTime();
          const expected: number[] = [];
          const subs = [];
          for (const [i, s] of specs.entries()) {
            const code = `P-${s.amountFen}`;
            await plan(env.ctx, code, s.amountFen);
            const c = await customerWithAccount(env.ctx, 'monthly', 100 + cycleNo * 10 + i);
            if (s.prepaidFen > 0) await pay(c.accountId, s.prepaidFen);
            const startAt = new Date(start0 + (s.startDay - 1) * 86_400_000 + 7 * 3600_000);
            const endAt = s.endDay === null ? null : new Date(Math.max(startAt.getTime(), start0 + (s.endDay - 1) * 86_400_000 + 11 * 3600_000));
            // a start after the cycle (startDay 31 in a shorter month) ends where it starts: zero days
            await subscribe(env.ctx, c.subscriberId, code, startAt, endAt ?? new Date(Math.max(startAt.getTime(), cycleStart(addCycles(cycle, 1)).getTime())));
            // reference: first day counted from the start day, the end day not counted
            const first = Math.max(1, s.startDay);
            const last = Math.min(days, endAt === null ? days : s.endDay === null ? days : Math.max(s.startDay, s.endDay) - 1);
            const d = Math.max(0, last - first + 1);
            expected.push(s.startDay > days ? 0 : prorate(s.amountFen, d, days));
            subs.push(c);
          }
          await env.ctx.billing.run(accounting, cycle, { publish: true });
          const got = await Promise.all(subs.map(async (c) => total(await linesOf(env.ctx, { subscriberId: c.subscriberId, cycle }))));
          expect(got).toEqual(expected);
          const report = await checkConservation(
            env.ctx.database.db,
            subs.map((c) => c.accountId),
          );
          expect(report.differing).toEqual([]);
        },
      ),
      { numRuns: 8 },
    );
  });
});

describe('R-BIL-8 virtual accounts pay rent in advance', () => {
  test('R-BIL-8 activation cycle pro rata, then each 1st; idempotent; the e9 mobile on the 100-yuan credit stops paying in the month creditExhaustion names (R-E9-4)', async () => {
    const e9 = await customerWithAccount(env.ctx, 'virtual', 71);
    const activatedAt = T0; // 2026-11-15 10:00
    await subscribe(env.ctx, e9.subscriberId, 'e9-C', activatedAt, null, { kind: 'package', memberRole: 'mobile' });
    await env.ctx.money.grant(system, e9.accountId, { amountFen: 10000, bookType: 'prepaid', reason: '自由话费 100 元' });

    env.clock.set(new Date(activatedAt.getTime() + 14 * 3600_000)); // the next 00:05 run
    await env.ctx.jobs.runNow('virtual-rent');
    // 15th..30th of November = 16 days: 1900 × 16/30 = 1013.33 → 1013 (firstCycleRentFen)
    const nov = await linesOf(env.ctx, { subscriberId: e9.subscriberId, cycle: '2026-11' });
    expect(nov.map((l) => [l.item_code, l.amount_fen, l.paid_fen, l.status, l.source])).toEqual([['RENT_PLAN', 1013, 1013, 'published', 'virtual_rent']]);
    await env.ctx.jobs.runNow('virtual-rent');
    expect(await linesOf(env.ctx, { subscriberId: e9.subscriberId, cycle: '2026-11' })).toHaveLength(1);

    const expected = creditExhaustion(10000, 1900, activatedAt);
    let firstArrears: string | null = null;
    for (let c = '2026-12'; c <= '2027-06'; c = addCycles(c, 1)) {
      env.clock.set(new Date(cycleStart(c).getTime() + 5 * 60_000));
      await env.ctx.billing.chargeVirtualRent();
      const lines = await linesOf(env.ctx, { subscriberId: e9.subscriberId, cycle: c });
      expect(lines.map((l) => l.amount_fen)).toEqual([1900]);
      if (firstArrears === null && lines.some((l) => l.paid_fen < l.amount_fen)) firstArrears = c;
    }
    expect(firstArrears).toBe(expected?.cycle);
    // a clock that jumped: every missed cycle is charged once when the job runs again
    const late = await customerWithAccount(env.ctx, 'virtual', 72);
    await subscribe(env.ctx, late.subscriberId, 'T-18', at('2027-03-01T00:00:00'), null);
    await env.ctx.billing.chargeVirtualRent();
    expect((await sql<{ cycle: string }>`SELECT cycle FROM bill_lines WHERE subscriber_id = ${late.subscriberId} ORDER BY cycle`.execute(env.ctx.database.db)).rows.map((r) => r.cycle)).toEqual([
      '2027-03',
      '2027-04',
      '2027-05',
      '2027-06',
    ]);
    env.clock.set(T0);
    expect((await checkConservation(env.ctx.database.db)).differing).toEqual([]);
  });
});
