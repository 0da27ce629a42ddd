// R-ACC-6 on a real database (PGlite, and PostgreSQL in the second run): a write-off always draws on a
// line and a book that exist. Migration 0018 dropped the foreign keys of write_offs and of bill_lines →
// bills (a trigger per row on the bill run's hottest inserts); what they did is now done by the writers
// (each line and book is updated by its key and counted) and by delete guards on bills, lines and books.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { accountRepo } from '../src/domains/accounts/repo.ts';
import { billingRepo } from '../src/domains/billing/repo.ts';
import type { Actor } from '../src/platform/audit.ts';
import { actorOf, customerWithAccount, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let frontDesk: Actor;
let accounting: Actor;
beforeAll(async () => {
  env = await testEnv();
  frontDesk = await actorOf(env.ctx, 'front_desk');
  accounting = await actorOf(env.ctx, 'accounting');
});
afterAll(async () => {
  expect((await checkConservation(env.ctx.database.db)).differing).toEqual([]);
  await env.close();
});

const db = () => env.ctx.database.db;

/** An account with a published line of 5,000 fen written off 3,000 from a cash book. */
async function writtenOff(n: number) {
  const c = await customerWithAccount(env.ctx, 'monthly', 700 + n);
  await env.ctx.money.postBill(accounting, c.accountId, { cycle: '2026-10', lines: [{ subscriberId: c.subscriberId, item: 'RENT_PLAN', amountFen: 5000 }] });
  await env.ctx.money.pay(frontDesk, c.accountId, { amountFen: 3000, bookType: 'cash', channel: 'front_desk', idempotencyKey: `integrity-${n}` });
  const w = (
    await sql<{ line_id: number; book_id: number; bill_id: number }>`
      SELECT w.line_id, w.book_id, l.bill_id FROM write_offs w JOIN bill_lines l ON l.account_id = w.account_id AND l.line_id = w.line_id
       WHERE w.account_id = ${c.accountId}`.execute(db())
  ).rows;
  expect(w).toHaveLength(1);
  return { accountId: c.accountId, ...(w[0] as { line_id: number; book_id: number; bill_id: number }) };
}

/** The account's write-offs, lines and books as they stand (to see that a refused change left nothing). */
const state = async (accountId: number) =>
  (
    await sql<{ s: string }>`
      SELECT concat_ws('|', (SELECT string_agg(concat_ws('/', line_id, book_id, amount_fen), ',' ORDER BY write_off_id) FROM write_offs WHERE account_id = ${accountId}),
                            (SELECT string_agg(concat_ws('/', line_id, paid_fen), ',' ORDER BY line_id) FROM bill_lines WHERE account_id = ${accountId}),
                            (SELECT string_agg(concat_ws('/', book_id, balance_fen), ',' ORDER BY book_id) FROM books WHERE account_id = ${accountId})) AS s`.execute(db())
  ).rows[0]?.s;

test('R-ACC-6 a written-off line, the book it drew on and a bill with lines cannot be deleted', async () => {
  const w = await writtenOff(1);
  const before = await state(w.accountId);
  await expect(sql`DELETE FROM bill_lines WHERE account_id = ${w.accountId} AND line_id = ${w.line_id}`.execute(db())).rejects.toThrow(/still referenced/);
  await expect(sql`DELETE FROM books WHERE account_id = ${w.accountId} AND book_id = ${w.book_id}`.execute(db())).rejects.toThrow(/still referenced/);
  await expect(sql`DELETE FROM bills WHERE account_id = ${w.accountId} AND bill_id = ${w.bill_id}`.execute(db())).rejects.toThrow(/still referenced/);
  expect(await state(w.accountId)).toBe(before);
});

test('R-ACC-6 a write-off drawing on a line or a book that does not exist fails and writes nothing (the bill run and settle)', async () => {
  const w = await writtenOff(2);
  const before = await state(w.accountId);
  const now = env.clock.now();
  const many = (lineId: number, bookId: number) =>
    db()
      .transaction()
      .execute((tx) => billingRepo.applyWriteOffs(tx, [{ accountId: w.accountId, lineId, bookId, amountFen: -100, triggerKind: 'bill', triggerId: w.bill_id }], now));
  await expect(many(w.line_id + 1_000_000, w.book_id)).rejects.toThrow(/does not exist/);
  await expect(many(w.line_id, w.book_id + 1_000_000)).rejects.toThrow(/does not exist/);
  const one = (lineId: number, bookId: number) =>
    db()
      .transaction()
      .execute((tx) => accountRepo.applyWriteOff(tx, w.accountId, [{ lineId, bookId, amountFen: -100 }], { kind: 'payment', id: 1 }, now));
  await expect(one(w.line_id + 1_000_000, w.book_id)).rejects.toThrow(/does not exist/);
  await expect(one(w.line_id, w.book_id + 1_000_000)).rejects.toThrow(/does not exist/);
  expect(await state(w.accountId)).toBe(before);
  // the same write-off (a negative one: 100 fen back to the book, as a reversal does) on the line and book that exist goes through
  await many(w.line_id, w.book_id);
  expect(await state(w.accountId)).not.toBe(before);
});
