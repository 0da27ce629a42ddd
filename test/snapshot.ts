// "Nothing changed": row counts and contents of every table, and the problem+json shape of a refusal.
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { AppContext } from '../src/app/context.ts';
import type { Api } from './helpers.ts';

export interface Snapshot {
  counts: Record<string, number>;
  /** md5 of every table's rows as text: catches updates that keep the count. */
  contents: Record<string, string>;
  balanceFen: number;
}

/** Row counts and contents of every table in schema public, plus the sum of books.balance_fen. */
export async function snapshotTables(ctx: AppContext): Promise<Snapshot> {
  const db = ctx.database.db;
  const tables = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(db);
  expect(tables.rows.map((t) => t.table_name)).toEqual(expect.arrayContaining(['audit_log', 'books', 'customers', 'outbox', 'payments', 'sessions', 'write_offs']));
  const counts: Record<string, number> = {};
  const contents: Record<string, string> = {};
  for (const { table_name: t } of tables.rows) {
    const r = await sql<{ n: number | string; h: string }>`
      SELECT count(*) AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${sql.table(t)} AS x`.execute(db);
    const row = r.rows[0] as { n: number | string; h: string };
    counts[t] = Number(row.n);
    contents[t] = row.h;
  }
  const b = await sql<{ s: number | string }>`SELECT coalesce(sum(balance_fen), 0) AS s FROM books`.execute(db);
  return { counts, contents, balanceFen: Number((b.rows[0] as { s: number | string }).s) };
}

type Res = Awaited<ReturnType<Api['call']>>;

export function expectProblem(r: Res, status: number, code: string | undefined, label: string): void {
  expect({ label, status: r.status, code: r.body?.code }).toEqual({ label, status, code: code ?? r.body?.code });
  expect(String(r.headers['content-type']), label).toMatch(/^application\/problem\+json/);
  expect(typeof r.body?.code, label).toBe('string');
  expect(r.body.code, label).toMatch(/^[A-Z][A-Z0-9_]+$/);
  expect(typeof r.body.messages?.zh, label).toBe('string');
  expect(typeof r.body.messages?.en, label).toBe('string');
  expect(r.body.messages.zh.length, label).toBeGreaterThan(0);
  expect(r.body.messages.en.length, label).toBeGreaterThan(0);
  expect(r.body.status, label).toBe(r.status);
}
