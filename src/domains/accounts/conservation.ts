// R-ACC-18: for every account, payments + grants − refunds − expiries = book balances + write-offs.
// Also checks the two projections: each line's paid amount and each book's balance against the records.
import { sql } from 'kysely';
import type { Q } from '../../platform/db.ts';

export interface ConservationRow {
  accountId: number;
  paymentsFen: number;
  grantsFen: number;
  expiredFen: number;
  balancesFen: number;
  writeOffsFen: number;
  differenceFen: number;
  lineMismatches: number;
  bookMismatches: number;
}

export interface ConservationReport {
  accountsChecked: number;
  differing: ConservationRow[];
}

export async function checkConservation(q: Q, accountIds?: number[]): Promise<ConservationReport> {
  const filter = accountIds && accountIds.length > 0 ? sql`WHERE a.account_id IN (${sql.join(accountIds)})` : sql``;
  const rows = await sql<ConservationRow>`
    WITH p AS (SELECT account_id, sum(amount_fen) AS s FROM payments GROUP BY account_id),
         g AS (SELECT account_id, sum(amount_fen) AS s FROM grants GROUP BY account_id),
         e AS (SELECT account_id, sum(amount_fen) AS s FROM book_expiries GROUP BY account_id),
         b AS (SELECT account_id, sum(balance_fen) AS s FROM books GROUP BY account_id),
         w AS (SELECT account_id, sum(amount_fen) AS s FROM write_offs GROUP BY account_id),
         lw AS (SELECT account_id, line_id, sum(amount_fen) AS s FROM write_offs GROUP BY account_id, line_id),
         lm AS (SELECT l.account_id, count(*) AS n FROM bill_lines l
                  LEFT JOIN lw ON lw.account_id = l.account_id AND lw.line_id = l.line_id
                 WHERE l.paid_fen <> coalesce(lw.s, 0) GROUP BY l.account_id),
         bw AS (SELECT account_id, book_id, sum(amount_fen) AS s FROM write_offs GROUP BY account_id, book_id),
         be AS (SELECT account_id, book_id, sum(amount_fen) AS s FROM book_expiries GROUP BY account_id, book_id),
         br AS (SELECT account_id, book_id, -sum(amount_fen) AS s FROM payments WHERE kind IN ('reversal', 'refund') GROUP BY account_id, book_id),
         bm AS (SELECT k.account_id, count(*) AS n FROM books k
                  LEFT JOIN bw ON bw.account_id = k.account_id AND bw.book_id = k.book_id
                  LEFT JOIN be ON be.account_id = k.account_id AND be.book_id = k.book_id
                  LEFT JOIN br ON br.account_id = k.account_id AND br.book_id = k.book_id
                 WHERE k.amount_fen <> k.balance_fen + coalesce(bw.s, 0) + coalesce(be.s, 0) + coalesce(br.s, 0)
                 GROUP BY k.account_id),
         t AS (
           SELECT a.account_id,
                  coalesce(p.s, 0)::bigint AS payments_fen, coalesce(g.s, 0)::bigint AS grants_fen,
                  coalesce(e.s, 0)::bigint AS expired_fen, coalesce(b.s, 0)::bigint AS balances_fen,
                  coalesce(w.s, 0)::bigint AS write_offs_fen,
                  coalesce(lm.n, 0)::bigint AS line_mismatches, coalesce(bm.n, 0)::bigint AS book_mismatches
             FROM accounts a
             LEFT JOIN p ON p.account_id = a.account_id LEFT JOIN g ON g.account_id = a.account_id
             LEFT JOIN e ON e.account_id = a.account_id LEFT JOIN b ON b.account_id = a.account_id
             LEFT JOIN w ON w.account_id = a.account_id LEFT JOIN lm ON lm.account_id = a.account_id
             LEFT JOIN bm ON bm.account_id = a.account_id
             ${filter}
         )
    SELECT account_id AS "accountId", payments_fen AS "paymentsFen", grants_fen AS "grantsFen", expired_fen AS "expiredFen",
           balances_fen AS "balancesFen", write_offs_fen AS "writeOffsFen",
           (payments_fen + grants_fen - expired_fen - balances_fen - write_offs_fen)::bigint AS "differenceFen",
           line_mismatches AS "lineMismatches", book_mismatches AS "bookMismatches"
      FROM t
     WHERE payments_fen + grants_fen - expired_fen - balances_fen - write_offs_fen <> 0 OR line_mismatches > 0 OR book_mismatches > 0
     ORDER BY account_id`.execute(q);
  const counted = await sql<{ n: number }>`SELECT count(*)::bigint AS n FROM accounts a ${filter}`.execute(q);
  return { accountsChecked: Number(counted.rows[0]?.n ?? 0), differing: rows.rows };
}
