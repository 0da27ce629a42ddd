// The bill run bills rated usage (R-BIL-5 with R-BIL-1..3, R-BIL-8) on a real database (PGlite, and
// PostgreSQL in the second run): the usage lines of a run equal the rated charges of its monthly
// subscribers, once; usage rated after its subscriber's chunk was billed is billed by a re-run of the
// account (R-BIL-9), only the new part; virtual accounts are never billed by the run.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import type { Actor } from '../src/platform/audit.ts';
import { actorOf, testEnv, type TestEnv } from './helpers.ts';
import { cdr, type Cdr, importAll, seedTestOffers, subscriberOn } from './fixtures/usage/helpers.ts';

const CYCLE = '2026-11';
let env: TestEnv;
let accounting: Actor;
beforeAll(async () => {
  env = await testEnv();
  env.clock.set(new Date('2026-11-20T12:00:00+08:00'));
  accounting = await actorOf(env.ctx, 'accounting');
  await seedTestOffers(env.ctx);
});
afterAll(() => env.close());

const db = () => env.ctx.database.db;
const importing = (records: Cdr[]) => importAll(env.ctx, records);
/** The subscriber's rated charges of the cycle by item, and what of them is billed. */
const charges = async (subscriberId: number) =>
  (
    await sql<{ item_code: string; amount: number; billed: number }>`
      SELECT item_code, amount_fen::int AS amount, billed_fen::int AS billed FROM usage_charges
       WHERE subscriber_id = ${subscriberId} AND cycle = ${CYCLE} ORDER BY item_code`.execute(db())
  ).rows;
/** The usage lines of the cycle billed to the subscriber, summed by item. */
const usageLines = async (subscriberId: number) =>
  (
    await sql<{ item_code: string; amount: number; lines: number }>`
      SELECT item_code, sum(amount_fen)::int AS amount, count(*)::int AS lines FROM bill_lines
       WHERE subscriber_id = ${subscriberId} AND cycle = ${CYCLE} AND source = 'usage' GROUP BY item_code ORDER BY item_code`.execute(db())
  ).rows;

test('R-BIL-5 the bill run bills rated usage once: usage lines = rated charges of the monthly subscribers; usage rated later is billed by a re-run of the account, only the new part', async () => {
  const monthly = [await subscriberOn(env.ctx, 'T-PLAN'), await subscriberOn(env.ctx, 'T-PLAN'), await subscriberOn(env.ctx, 'T-PLAN')];
  const quiet = await subscriberOn(env.ctx, 'T-PLAN'); // no usage at all
  const virtual = await subscriberOn(env.ctx, 'T-PLAN', 'virtual');
  const [a, b, c] = monthly as [(typeof monthly)[number], (typeof monthly)[number], (typeof monthly)[number]];
  await importing([
    cdr(a.number, '2026-11-03 09:00:00', 'voice', 'long_distance', 120),
    cdr(a.number, '2026-11-04 09:00:00', 'sms', 'local', 7),
    cdr(b.number, '2026-11-05 09:00:00', 'data', 'local', 3),
    cdr(b.number, '2026-11-06 09:00:00', 'voice', 'roaming', 61),
    cdr(c.number, '2026-11-07 09:00:00', 'voice', 'local', 3), // inside the allowance: rated 0, nothing to bill
    cdr(virtual.number, '2026-11-08 09:00:00', 'voice', 'long_distance', 60),
  ]);

  env.clock.set(new Date('2026-12-02T10:00:00+08:00'));
  // one account per chunk: every subscriber's usage is read and marked in its own chunk
  const view = await env.ctx.billing.run(accounting, CYCLE, { chunkAccounts: 1 });
  expect(view.state).toBe('prebilled');
  for (const s of [a, b, c]) {
    const rated = await charges(s.subscriberId);
    expect(rated.every((r) => r.billed === r.amount)).toBe(true);
    expect(await usageLines(s.subscriberId)).toEqual(rated.filter((r) => r.amount > 0).map((r) => ({ item_code: r.item_code, amount: r.amount, lines: 1 })));
  }
  expect((await usageLines(a.subscriberId)).length).toBe(2);
  expect(await usageLines(c.subscriberId)).toEqual([]);
  expect(await usageLines(quiet.subscriberId)).toEqual([]);
  // R-BIL-8: the virtual account was charged as its usage was rated, never by the run
  const virtualRunLines = await sql<{ n: number }>`SELECT count(*)::int AS n FROM bill_lines WHERE account_id = ${virtual.accountId} AND run_id IS NOT NULL`.execute(db());
  expect(virtualRunLines.rows[0]?.n).toBe(0);

  // a record of the cycle arrives after the run billed it: rated now, unbilled until the account is re-run
  const before = await usageLines(a.subscriberId);
  await importing([cdr(a.number, '2026-11-28 22:00:00', 'voice', 'long_distance', 60)]);
  expect(await env.ctx.usage.unbilledFen(db(), a.accountId, CYCLE)).toBe(30);
  await env.ctx.billing.rerunAccount(accounting, view.runId, a.accountId);
  const after = await usageLines(a.subscriberId);
  const rated = await charges(a.subscriberId);
  expect(after).toEqual(rated.filter((r) => r.amount > 0).map((r) => ({ item_code: r.item_code, amount: r.amount, lines: 1 })));
  expect(after.reduce((s, r) => s + r.amount, 0)).toBe(before.reduce((s, r) => s + r.amount, 0) + 30);
  expect(await env.ctx.usage.unbilledFen(db(), a.accountId, CYCLE)).toBe(0);

  // publishing and running the cycle again bill nothing more
  const published = await env.ctx.billing.run(accounting, CYCLE, { publish: true });
  expect(published.state).toBe('published');
  const again = await env.ctx.billing.run(accounting, CYCLE, { publish: true });
  expect(again.totalFen).toBe(published.totalFen);
  for (const s of [a, b, c]) expect(await usageLines(s.subscriberId)).toEqual((await charges(s.subscriberId)).filter((r) => r.amount > 0).map((r) => ({ item_code: r.item_code, amount: r.amount, lines: 1 })));
  expect((await checkConservation(db())).differing).toEqual([]);
});
