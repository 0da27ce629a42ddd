// Money rules through the services on a real database (PGlite, and PostgreSQL in the second run).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import type { Actor } from '../src/platform/audit.ts';
import { actorOf, customerWithAccount, system, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let frontDesk: Actor;
let otherHall: Actor;
let accounting: Actor;
let keySeq = 0;
const key = () => `test-key-${++keySeq}-${Date.now()}`;

beforeAll(async () => {
  env = await testEnv();
  frontDesk = await actorOf(env.ctx, 'front_desk');
  otherHall = await actorOf(env.ctx, 'hall2');
  accounting = await actorOf(env.ctx, 'accounting');
});
afterAll(async () => {
  const report = await checkConservation(env.ctx.database.db);
  expect(report.differing).toEqual([]);
  await env.close();
});

const pay = (accountId: number, amountFen: number, extra: Record<string, unknown> = {}, actor: Actor = frontDesk) =>
  env.ctx.money.pay(actor, accountId, { amountFen, bookType: 'cash', channel: 'front_desk', idempotencyKey: key(), ...extra });

async function balance(accountId: number) {
  return env.ctx.accounts.balance(accountId);
}

describe('payments and write-off', () => {
  test('R-ACC-13 a payment first writes off open bills, the rest stays in its book', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 1);
    await env.ctx.money.postBill(accounting, c.accountId, {
      cycle: '2026-10',
      lines: [
        { subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 5800 },
        { subscriberId: c.subscriberId, item: 'SMS', amountFen: 200 },
      ],
    });
    expect((await balance(c.accountId)).arrearsFen).toBe(6000);
    const { result } = await pay(c.accountId, 10000);
    expect(result.writeOffs.reduce((s, w) => s + w.amountFen, 0)).toBe(6000);
    const b = await balance(c.accountId);
    expect(b.arrearsFen).toBe(0);
    expect(b.books.find((x) => x.bookId === result.payment.bookId)?.balanceFen).toBe(4000);
    expect(b.realtimeBalanceFen).toBe(4000);
  });

  test('R-ACC-5 partial write-off leaves exact arrears, oldest cycle first (R-X-5)', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 2);
    await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-11', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }] });
    await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-09', lines: [{ subscriberId: c.subscriberId, item: 'DATA', amountFen: 1234 }] });
    const { result } = await pay(c.accountId, 2000);
    const wo = await env.ctx.accounts.writeOffs(c.accountId);
    expect(wo.writeOffs.map((w) => [w.cycle, w.item, w.amountFen])).toEqual([
      ['2026-09', 'DATA', 1234],
      ['2026-11', 'RENT_PLAN', 766],
    ]);
    expect(result.payment.amountFen).toBe(2000);
    expect((await balance(c.accountId)).arrearsFen).toBe(3000 - 766);
  });

  test('R-ACC-12 a special-fund payment creates a restricted book that pays only its items (R-ACC-3)', async () => {
    const c = await customerWithAccount(env.ctx, 'virtual', 3);
    const { result } = await pay(c.accountId, 60000, { bookType: 'restricted_fund', restrictedItems: ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'] });
    expect(result.books[0]?.restrictedItems).toEqual(['ADDON_FEE', 'RENT_BB', 'RENT_BB_ADJ']);
    const posted = await env.ctx.money.postBill(accounting, c.accountId, {
      cycle: '2026-11',
      lines: [
        { subscriberId: c.subscriberId, item: 'RENT_BB', amountFen: 5000 },
        { subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 1900 },
      ],
    });
    expect(posted.bills[0]?.writeOffs.map((w) => w.amountFen)).toEqual([5000]);
    const b = await balance(c.accountId);
    expect(b.arrearsFen).toBe(1900);
    expect(b.books[0]?.balanceFen).toBe(55000);
  });

  test('R-ACC-1 a private book pays before a public one of a lower type priority', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 4);
    await env.ctx.money.grant(accounting, c.accountId, { amountFen: 1000, bookType: 'discount', reason: 'test' });
    await pay(c.accountId, 1000, { bookType: 'cash', restrictedItems: ['RENT_PLAN'] });
    const posted = await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-11', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 1500 }] });
    const wo = posted.bills[0]?.writeOffs ?? [];
    const books = (await balance(c.accountId)).books;
    const cashBook = books.find((b) => b.bookType === 'cash')?.bookId;
    expect(wo[0]).toMatchObject({ bookId: cashBook, amountFen: 1000 });
    expect(wo[1]?.amountFen).toBe(500);
  });

  test('R-ACC-4 a book outside its window is unused until it starts', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 5);
    await pay(c.accountId, 5000, { startDate: '2026-12-01' });
    await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-11', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }] });
    let b = await balance(c.accountId);
    expect(b.arrearsFen).toBe(3000);
    expect(b.books[0]?.status).toBe('not_started');
    env.clock.set(new Date('2026-12-02T02:00:00Z'), true);
    try {
      await pay(c.accountId, 1);
      b = await balance(c.accountId);
      expect(b.arrearsFen).toBe(0);
    } finally {
      env.clock.set(new Date('2026-11-15T02:00:00Z'), true);
    }
  });

  test('R-ACC-2 an expired book is closed by a visible expiry record, never deleted', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 6);
    const { result } = await pay(c.accountId, 2500, { expiryDate: '2026-11-20' });
    env.clock.set(new Date('2026-11-21T02:00:00Z'), true);
    try {
      await pay(c.accountId, 100);
      const rows = await env.ctx.database.db.selectFrom('book_expiries').selectAll().where('account_id', '=', c.accountId).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ book_id: result.payment.bookId, amount_fen: 2500 });
      const book = await env.ctx.database.db.selectFrom('books').selectAll().where('book_id', '=', result.payment.bookId).executeTakeFirstOrThrow();
      expect(book.balance_fen).toBe(0);
      expect(book.closed_at).not.toBeNull();
    } finally {
      env.clock.set(new Date('2026-11-15T02:00:00Z'), true);
    }
  });

  test('R-X-6 a prestore gift book never pays an earlier cycle', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 7);
    await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-10', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 1000 }] });
    await env.ctx.money.grant(accounting, c.accountId, { amountFen: 5000, bookType: 'prestore_gift', reason: '预存送' });
    expect((await balance(c.accountId)).arrearsFen).toBe(1000);
    const posted = await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-11', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 800 }] });
    expect(posted.bills[0]?.writeOffs.map((w) => w.amountFen)).toEqual([800]);
  });

  test('R-ACC-11 one payment pays virtual lines first, then quota, then monthly', async () => {
    const payer = await customerWithAccount(env.ctx, 'monthly', 8);
    const q = await customerWithAccount(env.ctx, 'quota', 9);
    const v = await customerWithAccount(env.ctx, 'virtual', 10);
    for (const s of [q, v]) {
      await env.ctx.accounts.createRelation(system, s.subscriberId, { payerAccountId: payer.accountId, priority: 1 });
    }
    await env.ctx.money.postBill(accounting, payer.accountId, { cycle: '2026-10', lines: [{ subscriberId: payer.subscriberId, item: 'RENT_PLAN', amountFen: 100 }] });
    await env.ctx.money.postBill(accounting, q.accountId, { cycle: '2026-11', lines: [{ subscriberId: q.subscriberId, item: 'RENT_PLAN', amountFen: 100 }] });
    await env.ctx.money.postBill(accounting, v.accountId, { cycle: '2026-11', lines: [{ subscriberId: v.subscriberId, item: 'RENT_PLAN', amountFen: 100 }] });
    await pay(payer.accountId, 250);
    const wo = (await env.ctx.accounts.writeOffs(payer.accountId)).writeOffs;
    expect(wo.map((w) => [w.subscriberId, w.amountFen])).toEqual([
      [v.subscriberId, 100],
      [q.subscriberId, 100],
      [payer.subscriberId, 50],
    ]);
  });

  test('R-X-5 the customer may ask to pay chosen items first', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 11);
    await env.ctx.money.postBill(accounting, c.accountId, {
      cycle: '2026-10',
      lines: [
        { subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 1000 },
        { subscriberId: c.subscriberId, item: 'DATA', amountFen: 700 },
      ],
    });
    await pay(c.accountId, 700, { payFirst: { items: ['DATA'] } });
    const open = (await balance(c.accountId)).openBills.flatMap((b) => b.lines) as { item: string; openFen: number }[];
    expect(open.map((l) => [l.item, l.openFen])).toEqual([['RENT_PLAN', 1000]]);
  });

  test('R-ACC-6 write-offs are listed line by line with bill line, book and amount', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 12);
    await pay(c.accountId, 300);
    await pay(c.accountId, 300, { bookType: 'recharge_card' });
    await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-11', lines: [{ subscriberId: c.subscriberId, item: 'SMS', amountFen: 500 }] });
    const wo = (await env.ctx.accounts.writeOffs(c.accountId, '2026-11')).writeOffs;
    // R-ACC-1: recharge card (6) before cash (8)
    expect(wo.map((w) => [w.bookType, w.amountFen, w.item, w.trigger.kind])).toEqual([
      ['recharge_card', 300, 'SMS', 'bill'],
      ['cash', 200, 'SMS', 'bill'],
    ]);
  });
});

describe('payment relations (帐务关系)', () => {
  test('R-ACC-9 a limited relation takes items up to its limit per cycle, across bills; the rest falls to the default account', async () => {
    const parent = await customerWithAccount(env.ctx, 'monthly', 20);
    const child = await customerWithAccount(env.ctx, 'quota', 21);
    await env.ctx.accounts.createRelation(system, child.subscriberId, { payerAccountId: parent.accountId, priority: 1, limitFen: 3000 });
    const first = await env.ctx.money.postBill(accounting, child.accountId, { cycle: '2026-11', lines: [{ subscriberId: child.subscriberId, item: 'RENT_PLAN', amountFen: 2000 }] });
    expect(first.bills.map((b) => [b.accountId, b.postedFen])).toEqual([[parent.accountId, 2000]]);
    const second = await env.ctx.money.postBill(accounting, child.accountId, { cycle: '2026-11', lines: [{ subscriberId: child.subscriberId, item: 'DATA', amountFen: 2500 }] });
    expect(second.bills.map((b) => [b.accountId, b.postedFen]).sort()).toEqual(
      [
        [parent.accountId, 1000],
        [child.accountId, 1500],
      ].sort(),
    );
    // a new cycle gives the relation its full limit again
    const next = await env.ctx.money.postBill(accounting, child.accountId, { cycle: '2026-10', lines: [{ subscriberId: child.subscriberId, item: 'DATA', amountFen: 3500 }] });
    expect(next.bills.find((b) => b.accountId === parent.accountId)?.postedFen).toBe(3000);
  });

  test('R-ACC-10 all four group-payment modes', async () => {
    const group = await customerWithAccount(env.ctx, 'monthly', 30);
    const lines = (s: number) => [
      { subscriberId: s, item: 'RENT_PLAN', amountFen: 5000 },
      { subscriberId: s, item: 'VOICE_LOCAL', amountFen: 2000 },
      { subscriberId: s, item: 'VAS', amountFen: 1000 },
    ];
    const modes = [
      { input: { limitFen: 6000 }, mode: 'all_limited', groupPays: 6000 },
      { input: {}, mode: 'all_unlimited', groupPays: 8000 },
      { input: { items: ['RENT_PLAN', 'VAS'], limitFen: 5500 }, mode: 'listed_limited', groupPays: 5500 },
      { input: { items: ['RENT_PLAN', 'VAS'] }, mode: 'listed_unlimited', groupPays: 6000 },
    ];
    for (const [i, m] of modes.entries()) {
      const member = await customerWithAccount(env.ctx, 'monthly', 31 + i);
      const rel = await env.ctx.accounts.createRelation(system, member.subscriberId, { payerAccountId: group.accountId, priority: 1, ...m.input });
      expect(rel.mode).toBe(m.mode);
      const r = await env.ctx.money.postBill(accounting, member.accountId, { cycle: '2026-11', lines: lines(member.subscriberId) });
      expect(r.bills.find((b) => b.accountId === group.accountId)?.postedFen).toBe(m.groupPays);
      expect(r.bills.find((b) => b.accountId === member.accountId)?.postedFen ?? 0).toBe(8000 - m.groupPays);
    }
  });

  test('R-ACC-9 relations in priority order, then the default account', async () => {
    const a = await customerWithAccount(env.ctx, 'monthly', 40);
    const b = await customerWithAccount(env.ctx, 'monthly', 41);
    const s = await customerWithAccount(env.ctx, 'monthly', 42);
    await env.ctx.accounts.createRelation(system, s.subscriberId, { payerAccountId: b.accountId, priority: 2, limitFen: 1000 });
    await env.ctx.accounts.createRelation(system, s.subscriberId, { payerAccountId: a.accountId, priority: 1, limitFen: 500 });
    const r = await env.ctx.money.postBill(accounting, s.accountId, { cycle: '2026-11', lines: [{ subscriberId: s.subscriberId, item: 'RENT_PLAN', amountFen: 2000 }] });
    expect(Object.fromEntries(r.bills.map((x) => [x.accountId, x.postedFen]))).toEqual({ [a.accountId]: 500, [b.accountId]: 1000, [s.accountId]: 500 });
    const rel = await env.ctx.accounts.relations(s.subscriberId);
    expect(rel.relations.map((x) => x.payerAccountId)).toEqual([a.accountId, b.accountId]);
    expect(rel.defaultRelation.payerAccountId).toBe(s.accountId);
  });
});

describe('reversal (冲正)', () => {
  test('R-ACC-15 the same day by the same department: the write-offs and the book are undone exactly', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 50);
    await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-11', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }] });
    const { result } = await pay(c.accountId, 5000);
    const before = await env.ctx.database.db.selectFrom('write_offs').selectAll().where('account_id', '=', c.accountId).execute();
    const r = await env.ctx.money.reverse(frontDesk, result.payment.paymentId, '录错');
    expect(r.reversal.amountFen).toBe(-5000);
    expect(r.reversedWriteOffs.map((w) => w.amountFen)).toEqual([-3000]);
    const b = await balance(c.accountId);
    expect(b.arrearsFen).toBe(3000);
    expect(b.usableBalanceFen).toBe(0);
    // R-X-8: negative records; the original rows are untouched
    const after = await env.ctx.database.db.selectFrom('write_offs').selectAll().where('account_id', '=', c.accountId).orderBy('write_off_id').execute();
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.at(-1)).toMatchObject({ amount_fen: -3000, reverses_write_off_id: before[0]?.write_off_id, trigger_kind: 'reversal' });
    const original = await env.ctx.database.db.selectFrom('payments').selectAll().where('payment_id', '=', result.payment.paymentId).executeTakeFirstOrThrow();
    expect(original.amount_fen).toBe(5000);
  });

  test('R-ACC-15 another department or another day needs the accounting room', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 51);
    const { result } = await pay(c.accountId, 1000);
    await expect(env.ctx.money.reverse(otherHall, result.payment.paymentId, '')).rejects.toMatchObject({ code: 'REVERSAL_NOT_ALLOWED', status: 403 });
    env.clock.set(new Date('2026-11-16T02:00:00Z'), true);
    try {
      await expect(env.ctx.money.reverse(frontDesk, result.payment.paymentId, '')).rejects.toMatchObject({ code: 'REVERSAL_NOT_ALLOWED' });
      const r = await env.ctx.money.reverse(accounting, result.payment.paymentId, '帐务室冲正');
      expect(r.reversal.amountFen).toBe(-1000);
    } finally {
      env.clock.set(new Date('2026-11-15T02:00:00Z'), true);
    }
  });

  test('R-X-8 refusals: already reversed, a reversal, invoiced, book would go negative, bill changed since', async () => {
    const db = env.ctx.database.db;
    const c = await customerWithAccount(env.ctx, 'monthly', 52);
    const p1 = (await pay(c.accountId, 1000)).result.payment;
    const r1 = await env.ctx.money.reverse(frontDesk, p1.paymentId, '');
    await expect(env.ctx.money.reverse(frontDesk, p1.paymentId, '')).rejects.toMatchObject({ code: 'ALREADY_REVERSED', status: 409 });
    await expect(env.ctx.money.reverse(frontDesk, r1.reversal.paymentId, '')).rejects.toMatchObject({ code: 'CANNOT_REVERSE_REVERSAL' });

    const p2 = (await pay(c.accountId, 1000)).result.payment;
    await db.updateTable('payments').set({ invoiced_at: new Date() }).where('payment_id', '=', p2.paymentId).execute();
    await expect(env.ctx.money.reverse(frontDesk, p2.paymentId, '')).rejects.toMatchObject({ code: 'PAYMENT_INVOICED' });

    const p3 = (await pay(c.accountId, 1000, { expiryDate: '2026-11-15T03:00:00Z' })).result.payment;
    env.clock.set(new Date('2026-11-15T04:00:00Z'), true);
    try {
      await pay(c.accountId, 1); // the account is touched: the expired book is closed
      await expect(env.ctx.money.reverse(frontDesk, p3.paymentId, '')).rejects.toMatchObject({ code: 'BOOK_WOULD_GO_NEGATIVE' });
    } finally {
      env.clock.set(new Date('2026-11-15T02:00:00Z'), true);
    }

    const d = await customerWithAccount(env.ctx, 'monthly', 53);
    await env.ctx.money.postBill(accounting, d.accountId, { cycle: '2026-11', lines: [{ subscriberId: d.subscriberId, item: 'RENT_PLAN', amountFen: 500 }] });
    const p4 = (await pay(d.accountId, 1000)).result.payment;
    await db.updateTable('bills').set({ adjusted_at: new Date('2026-11-15T03:00:00Z') }).where('account_id', '=', d.accountId).execute();
    await expect(env.ctx.money.reverse(frontDesk, p4.paymentId, '')).rejects.toMatchObject({ code: 'BILL_CHANGED' });
  });

  test('R-ACC-15 after a reversal the reopened lines are written off from the other books', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 54);
    const first = (await pay(c.accountId, 800, { bookType: 'recharge_card' })).result.payment;
    await pay(c.accountId, 2000);
    await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-11', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 1000 }] });
    const r = await env.ctx.money.reverse(frontDesk, first.paymentId, '');
    expect(r.rewrittenOff.reduce((s, a) => s + a.amountFen, 0)).toBe(800);
    const b = await balance(c.accountId);
    expect(b.arrearsFen).toBe(0);
    expect(b.usableBalanceFen).toBe(1000);
  });
});

describe('idempotency and concurrency', () => {
  test('R-ACC-14 the same key twice makes one payment; another body with that key is refused', async () => {
    const c = await customerWithAccount(env.ctx, 'virtual', 60);
    const input = { amountFen: 1000, bookType: 'cash', channel: 'front_desk', idempotencyKey: 'same-key-0001' };
    const a = await env.ctx.money.pay(frontDesk, c.accountId, input);
    const b = await env.ctx.money.pay(frontDesk, c.accountId, input);
    expect(a.replayed).toBe(false);
    expect(b.replayed).toBe(true);
    expect(b.result.payment.paymentId).toBe(a.result.payment.paymentId);
    await expect(env.ctx.money.pay(frontDesk, c.accountId, { ...input, amountFen: 2000 })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 409 });
    expect((await balance(c.accountId)).usableBalanceFen).toBe(1000);
  });

  test('R-ACC-14 the same key sent 20 times concurrently creates one payment', async () => {
    const c = await customerWithAccount(env.ctx, 'virtual', 61);
    const input = { amountFen: 777, bookType: 'cash', channel: 'front_desk', idempotencyKey: 'concurrent-key-1' };
    const results = await Promise.all(Array.from({ length: 20 }, () => env.ctx.money.pay(frontDesk, c.accountId, input)));
    expect(new Set(results.map((r) => r.result.payment.paymentId)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    const n = await env.ctx.database.db.selectFrom('payments').select(sql<number>`count(*)::int`.as('n')).where('account_id', '=', c.accountId).executeTakeFirstOrThrow();
    expect(n.n).toBe(1);
  });

  test('R-ACC-18 100 concurrent payments and 20 concurrent bills on one account end with the exact balance', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 62);
    const amounts = Array.from({ length: 100 }, (_, i) => 100 + i);
    const bills = Array.from({ length: 20 }, (_, i) => 50 + i);
    await Promise.all([
      ...amounts.map((a) => pay(c.accountId, a)),
      ...bills.map((a) => env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-11', lines: [{ subscriberId: c.subscriberId, item: 'SMS', amountFen: a }] })),
    ]);
    const paid = amounts.reduce((s, a) => s + a, 0);
    const billed = bills.reduce((s, a) => s + a, 0);
    const b = await balance(c.accountId);
    expect(b.arrearsFen).toBe(0);
    expect(b.usableBalanceFen).toBe(paid - billed);
    const report = await checkConservation(env.ctx.database.db, [c.accountId]);
    expect(report.differing).toEqual([]);
  });
});

describe('conservation check', () => {
  test('R-ACC-18 the check reports an account whose books or lines were tampered with', async () => {
    const c = await customerWithAccount(env.ctx, 'monthly', 70);
    await pay(c.accountId, 1000);
    expect((await checkConservation(env.ctx.database.db, [c.accountId])).differing).toEqual([]);
    const db = env.ctx.database.db;
    await db.updateTable('books').set({ balance_fen: 999 }).where('account_id', '=', c.accountId).execute();
    const bad = await checkConservation(env.ctx.database.db, [c.accountId]);
    expect(bad.differing).toHaveLength(1);
    expect(bad.differing[0]).toMatchObject({ accountId: c.accountId });
    expect(Number(bad.differing[0]?.differenceFen)).toBe(1);
    await db.updateTable('books').set({ balance_fen: 1000 }).where('account_id', '=', c.accountId).execute();
    expect((await checkConservation(env.ctx.database.db, [c.accountId])).differing).toEqual([]);
  });
});
