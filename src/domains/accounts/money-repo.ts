// SQL of payments, grants, books, bills and write-offs (the money tables, all keyed by account_id).
import { type RawBuilder, type Selectable, sql } from 'kysely';
import type { Actor } from '../../platform/audit.ts';
import type { Q } from '../../platform/db.ts';
import type { Fen } from '../../platform/money.ts';
import type { PaymentsTable } from '../../platform/schema.ts';

export type PaymentRow = Selectable<PaymentsTable>;

export interface NewBook {
  accountId: number;
  amountFen: Fen;
  bookType: string;
  restrictedItems: string[] | null;
  subscriberId: number | null;
  startAt: Date;
  expiryAt: Date | null;
  now: Date;
}

/** The books INSERT shared by payments and grants; `from` makes it conditional (a CTE to select from). */
function insertBook(b: NewBook, source: 'payment' | 'grant', from?: RawBuilder<unknown>) {
  const values = sql`${b.accountId}::bigint, ${b.bookType}::text, ${b.restrictedItems}::text[], ${b.subscriberId}::bigint, ${b.startAt}::timestamptz,
      ${b.expiryAt}::timestamptz, ${b.amountFen}::bigint, ${b.amountFen}::bigint, ${source}::text, ${b.now}::timestamptz`;
  return sql`INSERT INTO books (account_id, book_type, restricted_items, subscriber_id, start_at, expiry_at, amount_fen, balance_fen, source_kind, created_at)
    ${from ? sql`SELECT ${values} FROM ${from}` : sql`VALUES (${values})`}
    RETURNING *`;
}

export type NewPayment = NewBook & { channel: string; idempotencyKey: string; requestHash: string; actor: Actor; businessDay: string };

/** The payments INSERT of a new payment whose book comes from the CTE `b`. */
function insertPaymentFromBook(p: NewPayment) {
  return sql`INSERT INTO payments (account_id, kind, amount_fen, book_type, book_id, channel, idempotency_key, request_hash, operator_id, department_id, business_day, created_at)
    SELECT ${p.accountId}::bigint, 'payment', ${p.amountFen}::bigint, ${p.bookType}::text, b.book_id, ${p.channel}::text, ${p.idempotencyKey}::text, ${p.requestHash}::text,
           ${p.actor.operatorId}::bigint, ${p.actor.departmentId}::text, ${p.businessDay}::text, ${p.now}::timestamptz
      FROM b
    RETURNING *`;
}

export const moneyRepo = {
  paymentById(q: Q, paymentId: number) {
    return q.selectFrom('payments').selectAll().where('payment_id', '=', paymentId).executeTakeFirst();
  },
  reversalOf(q: Q, accountId: number, paymentId: number) {
    return q.selectFrom('payments').select('payment_id').where('account_id', '=', accountId).where('reverses_payment_id', '=', paymentId).executeTakeFirst();
  },
  /** Issues the payment's invoice once: invoiced_at is set only while it is empty (R-X-8 then forbids reversal). */
  markInvoiced(q: Q, accountId: number, paymentId: number, now: Date) {
    return q
      .updateTable('payments')
      .set({ invoiced_at: now })
      .where('account_id', '=', accountId)
      .where('payment_id', '=', paymentId)
      .where('invoiced_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  },
  paymentsOf(q: Q, accountId: number, limit: number) {
    return q.selectFrom('payments').selectAll().where('account_id', '=', accountId).orderBy('payment_id', 'desc').limit(limit).execute();
  },

  /**
   * The head of a payment, run after the account row is locked (a separate statement, so that it
   * sees everything committed before the lock was granted): an earlier payment with this
   * idempotency key, and whether books are due to expire or lines are open.
   */
  async paymentHead(q: Q, accountId: number, key: string, now: Date) {
    const r = await sql<{ existing_payment_id: number | null; existing_hash: string | null; due_books: boolean; open_lines: boolean }>`
      SELECT p.payment_id AS existing_payment_id, p.request_hash AS existing_hash,
             EXISTS (SELECT 1 FROM books WHERE account_id = ${accountId} AND balance_fen > 0 AND expiry_at <= ${now}) AS due_books,
             EXISTS (SELECT 1 FROM bill_lines WHERE account_id = ${accountId} AND paid_fen < amount_fen) AS open_lines
        FROM (SELECT 1) one
        LEFT JOIN payments p ON p.account_id = ${accountId} AND p.idempotency_key = ${key}`.execute(q);
    const row = r.rows[0] as { existing_payment_id: number | null; existing_hash: string | null; due_books: boolean; open_lines: boolean };
    return { existingPaymentId: row.existing_payment_id, existingHash: row.existing_hash, dueBooks: row.due_books, openLines: row.open_lines };
  },

  /**
   * The common payment in one statement and one round trip: when the account is active, has no
   * open lines, no book due to expire and no payment with this key, insert book, payment, audit row
   * and outbox event. `lk` takes the account lock; if the version it locked differs from the one the
   * statement's snapshot saw, another money transaction committed meanwhile and nothing is written:
   * the caller falls back to the full transaction. Returns undefined in that case.
   */
  async fastPayment(q: Q, p: NewPayment): Promise<{ payment: PaymentRow; books: ReturnType<typeof bookView>[] } | undefined> {
    const a = p.accountId;
    const r = await sql<{ payment: Record<string, unknown> | null; books: Record<string, unknown>[] }>`
      WITH snap AS (SELECT money_version AS v FROM accounts WHERE account_id = ${a} AND status = 'active'),
      -- FOR UPDATE returns the row as it is once the lock is granted, even after waiting
      lk AS (SELECT money_version AS v FROM accounts WHERE account_id = ${a} FOR UPDATE),
      ok AS (
        SELECT 1 FROM snap JOIN lk ON lk.v = snap.v
         WHERE NOT EXISTS (SELECT 1 FROM payments WHERE account_id = ${a} AND idempotency_key = ${p.idempotencyKey})
           AND NOT EXISTS (SELECT 1 FROM bill_lines WHERE account_id = ${a} AND paid_fen < amount_fen)
           AND NOT EXISTS (SELECT 1 FROM books WHERE account_id = ${a} AND balance_fen > 0 AND expiry_at <= ${p.now})
      ),
      bump AS (UPDATE accounts SET money_version = money_version + 1 WHERE account_id = ${a} AND EXISTS (SELECT 1 FROM ok)),
      b AS (${insertBook(p, 'payment', sql`ok`)}),
      pm AS (${insertPaymentFromBook(p)}),
      v AS (
        SELECT pm.payment_id, jsonb_build_object('paymentId', pm.payment_id, 'amountFen', pm.amount_fen, 'bookType', pm.book_type,
               'bookId', pm.book_id, 'channel', pm.channel, 'writtenOffFen', 0) AS view
          FROM pm
      ),
      au AS (
        INSERT INTO audit_log (at, operator_id, department_id, action, target_type, target_id, account_id, before, after, request_id)
        SELECT ${p.now}::timestamptz, ${p.actor.operatorId}::bigint, ${p.actor.departmentId}::text, 'payment.create', 'payment', v.payment_id::text, ${a}, NULL, v.view,
               ${p.actor.requestId ?? null}::text
          FROM v
      ),
      ob AS (
        INSERT INTO outbox (event_type, aggregate_type, aggregate_id, account_id, payload, occurred_at)
        SELECT 'payment.created', 'account', ${String(a)}, ${a}, jsonb_build_object('accountId', ${a}::bigint) || v.view, ${p.now}::timestamptz FROM v
      )
      SELECT (SELECT row_to_json(pm) FROM pm) AS payment,
             (SELECT coalesce(json_agg(x ORDER BY x.book_id), '[]'::json)
                FROM (SELECT * FROM books WHERE account_id = ${a} AND balance_fen > 0 UNION ALL SELECT * FROM b) x) AS books`.execute(q);
    const row = r.rows[0];
    if (!row?.payment) return undefined;
    const d = (v: unknown) => (v === null || v === undefined ? null : new Date(String(v)));
    const n = (v: unknown) => Number(v);
    const pr = row.payment;
    return {
      payment: {
        ...(pr as unknown as PaymentRow),
        account_id: n(pr.account_id),
        payment_id: n(pr.payment_id),
        amount_fen: n(pr.amount_fen),
        book_id: n(pr.book_id),
        operator_id: pr.operator_id === null ? null : n(pr.operator_id),
        reverses_payment_id: null,
        created_at: d(pr.created_at) as Date,
        invoiced_at: null,
      },
      books: row.books.map((b) =>
        bookView({
          book_id: n(b.book_id),
          book_type: String(b.book_type),
          balance_fen: n(b.balance_fen),
          amount_fen: n(b.amount_fen),
          restricted_items: (b.restricted_items as string[] | null) ?? null,
          subscriber_id: b.subscriber_id === null ? null : n(b.subscriber_id),
          start_at: d(b.start_at) as Date,
          expiry_at: d(b.expiry_at),
          source_kind: String(b.source_kind),
          closed_at: d(b.closed_at),
        }),
      ),
    };
  },

  /** Book and payment in one statement (the hot path of R-ACC-13). */
  async insertPaymentWithBook(q: Q, p: NewPayment) {
    const r = await sql<PaymentRow>`WITH b AS (${insertBook(p, 'payment')}) ${insertPaymentFromBook(p)}`.execute(q);
    return r.rows[0] as PaymentRow;
  },

  async insertGrantWithBook(q: Q, g: NewBook & { reason: string; actor: Actor }): Promise<{ grant_id: number; book_id: number }> {
    const r = await sql<{ grant_id: number; book_id: number }>`
      WITH b AS (${insertBook(g, 'grant')})
      INSERT INTO grants (account_id, amount_fen, book_type, book_id, reason, operator_id, created_at)
      SELECT ${g.accountId}, ${g.amountFen}, ${g.bookType}, b.book_id, ${g.reason}, ${g.actor.operatorId}, ${g.now} FROM b
      RETURNING grant_id, book_id`.execute(q);
    return r.rows[0] as { grant_id: number; book_id: number };
  },

  insertReversal(
    q: Q,
    p: { account_id: number; amount_fen: number; book_type: string; book_id: number; channel: string; payment_id: number },
    actor: Actor,
    businessDay: string,
    now: Date,
  ) {
    return q
      .insertInto('payments')
      .values({
        account_id: p.account_id,
        kind: 'reversal',
        amount_fen: -p.amount_fen,
        book_type: p.book_type,
        book_id: p.book_id,
        channel: p.channel,
        reverses_payment_id: p.payment_id,
        operator_id: actor.operatorId,
        department_id: actor.departmentId,
        business_day: businessDay,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  bookById(q: Q, accountId: number, bookId: number) {
    return q.selectFrom('books').selectAll().where('account_id', '=', accountId).where('book_id', '=', bookId).executeTakeFirst();
  },

  /** Books still holding money (R-ORD-9 refunds them at formal cancellation). */
  booksWithBalance(q: Q, accountId: number) {
    return q
      .selectFrom('books')
      .select(['book_id', 'book_type', 'balance_fen'])
      .where('account_id', '=', accountId)
      .where('balance_fen', '>', 0)
      .orderBy('book_id')
      .execute();
  },

  insertRefund(q: Q, accountId: number, book: { book_id: number; book_type: string; balance_fen: Fen }, actor: Actor, businessDay: string, now: Date) {
    return q
      .insertInto('payments')
      .values({
        account_id: accountId,
        kind: 'refund',
        amount_fen: -book.balance_fen,
        book_type: book.book_type,
        book_id: book.book_id,
        channel: 'cash',
        operator_id: actor.operatorId,
        department_id: actor.departmentId,
        business_day: businessDay,
        created_at: now,
      })
      .returning(['payment_id'])
      .executeTakeFirstOrThrow();
  },

  /** The reversal takes the payment's money out of its book and closes it. */
  async takeFromBook(q: Q, accountId: number, bookId: number, amountFen: Fen, now: Date): Promise<void> {
    await q
      .updateTable('books')
      .set((eb) => ({ balance_fen: eb('balance_fen', '-', amountFen), closed_at: now }))
      .where('account_id', '=', accountId)
      .where('book_id', '=', bookId)
      .execute();
  },

  /** Write-offs drawn on a book and not yet reversed. */
  unreversedWriteOffsOfBook(q: Q, accountId: number, bookId: number) {
    return q
      .selectFrom('write_offs as w')
      .select(['w.write_off_id', 'w.line_id', 'w.book_id', 'w.amount_fen'])
      .where('w.account_id', '=', accountId)
      .where('w.book_id', '=', bookId)
      .where('w.amount_fen', '>', 0)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb.selectFrom('write_offs as r').select('r.write_off_id').where('r.account_id', '=', accountId).whereRef('r.reverses_write_off_id', '=', 'w.write_off_id'),
          ),
        ),
      )
      .orderBy('w.write_off_id')
      .execute();
  },

  async insertNegativeWriteOffs(
    q: Q,
    accountId: number,
    originals: { write_off_id: number; line_id: number; book_id: number; amount_fen: number }[],
    reversalId: number,
    now: Date,
  ): Promise<void> {
    if (originals.length === 0) return;
    await q
      .insertInto('write_offs')
      .values(
        originals.map((o) => ({
          account_id: accountId,
          line_id: o.line_id,
          book_id: o.book_id,
          amount_fen: -o.amount_fen,
          trigger_kind: 'reversal' as const,
          trigger_id: reversalId,
          reverses_write_off_id: o.write_off_id,
          created_at: now,
        })),
      )
      .execute();
  },

  async billsChangedSince(q: Q, accountId: number, lineIds: number[], since: Date): Promise<boolean> {
    if (lineIds.length === 0) return false;
    const r = await q
      .selectFrom('bills as b')
      .innerJoin('bill_lines as l', (j) => j.onRef('l.account_id', '=', 'b.account_id').onRef('l.bill_id', '=', 'b.bill_id'))
      .select('b.bill_id')
      .where('b.account_id', '=', accountId)
      .where('l.line_id', 'in', lineIds)
      .where('b.adjusted_at', '>', since)
      .executeTakeFirst();
    return r !== undefined;
  },

  async writeOffsOfTrigger(q: Q, accountId: number, kind: 'payment' | 'grant' | 'bill' | 'reversal', id: number) {
    const rows = await q
      .selectFrom('write_offs')
      .select(['line_id', 'book_id', 'amount_fen'])
      .where('account_id', '=', accountId)
      .where('trigger_kind', '=', kind)
      .where('trigger_id', '=', id)
      .orderBy('write_off_id')
      .execute();
    return rows.map((r) => ({ lineId: r.line_id, bookId: r.book_id, amountFen: r.amount_fen }));
  },

  /** Books with money left (what a payment response and the balance screen show). */
  async openBooks(q: Q, accountId: number) {
    const rows = await q
      .selectFrom('books')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('balance_fen', '>', 0)
      .orderBy('book_id')
      .execute();
    return rows.map(bookView);
  },

  async allBooks(q: Q, accountId: number) {
    const rows = await q.selectFrom('books').selectAll().where('account_id', '=', accountId).orderBy('book_id').execute();
    return rows.map(bookView);
  },

  /** One bill per account and cycle; manual adjustments add lines to it. */
  async ensureBill(q: Q, accountId: number, cycle: string, now: Date): Promise<number> {
    const r = await sql<{ bill_id: number }>`
      INSERT INTO bills (account_id, cycle, created_at) VALUES (${accountId}, ${cycle}, ${now})
      ON CONFLICT (account_id, cycle) DO UPDATE SET cycle = EXCLUDED.cycle
      RETURNING bill_id`.execute(q);
    return (r.rows[0] as { bill_id: number }).bill_id;
  },

  insertLines(
    q: Q,
    accountId: number,
    billId: number,
    cycle: string,
    lines: { subscriberId: number; itemCode: string; amountFen: Fen; relationId: number | null }[],
    now: Date,
  ) {
    return q
      .insertInto('bill_lines')
      .values(
        lines.map((l) => ({
          account_id: accountId,
          bill_id: billId,
          cycle,
          subscriber_id: l.subscriberId,
          item_code: l.itemCode,
          amount_fen: l.amountFen,
          relation_id: l.relationId,
          source: 'manual' as const,
          created_at: now,
        })),
      )
      .returningAll()
      .execute();
  },

  openBillLines(q: Q, accountId: number) {
    return q
      .selectFrom('bill_lines as l')
      .innerJoin('bills as b', (j) => j.onRef('b.account_id', '=', 'l.account_id').onRef('b.bill_id', '=', 'l.bill_id'))
      .innerJoin('subscribers as s', 's.subscriber_id', 'l.subscriber_id')
      .select(['l.line_id', 'l.bill_id', 'l.cycle', 'l.subscriber_id', 's.service_number', 'l.item_code', 'l.amount_fen', 'l.paid_fen', 'b.status'])
      // R-BIL-10: a line written off as bad debt stays visible but is no longer arrears
      .select((eb) =>
        eb.exists(eb.selectFrom('bad_debt_lines as bd').select('bd.line_id').whereRef('bd.account_id', '=', 'l.account_id').whereRef('bd.line_id', '=', 'l.line_id')).as('bad_debt'),
      )
      .where('l.account_id', '=', accountId)
      .whereRef('l.paid_fen', '<', 'l.amount_fen')
      .orderBy('l.cycle')
      .orderBy('l.line_id')
      .execute();
  },

  /** R-ACC-6: write-offs line by line with their bill line and book. */
  writeOffLines(q: Q, accountId: number, cycle: string | undefined, limit: number) {
    let query = q
      .selectFrom('write_offs as w')
      .innerJoin('bill_lines as l', (j) => j.onRef('l.account_id', '=', 'w.account_id').onRef('l.line_id', '=', 'w.line_id'))
      .innerJoin('books as b', (j) => j.onRef('b.account_id', '=', 'w.account_id').onRef('b.book_id', '=', 'w.book_id'))
      .innerJoin('subscribers as s', 's.subscriber_id', 'l.subscriber_id')
      .select([
        'w.write_off_id',
        'w.created_at',
        'w.amount_fen',
        'w.trigger_kind',
        'w.trigger_id',
        'w.reverses_write_off_id',
        'l.line_id',
        'l.bill_id',
        'l.cycle',
        'l.item_code',
        'l.subscriber_id',
        's.service_number',
        'b.book_id',
        'b.book_type',
      ])
      .where('w.account_id', '=', accountId);
    if (cycle) query = query.where('l.cycle', '=', cycle);
    return query.orderBy('w.write_off_id').limit(limit).execute();
  },
};

export function bookView(b: {
  book_id: number;
  book_type: string;
  balance_fen: number;
  amount_fen: number;
  restricted_items: string[] | null;
  subscriber_id: number | null;
  start_at: Date;
  expiry_at: Date | null;
  source_kind: string;
  closed_at: Date | null;
}) {
  return {
    bookId: b.book_id,
    bookType: b.book_type,
    amountFen: b.amount_fen,
    balanceFen: b.balance_fen,
    restrictedItems: b.restricted_items,
    subscriberId: b.subscriber_id,
    startAt: b.start_at.toISOString(),
    expiryAt: b.expiry_at?.toISOString() ?? null,
    sourceKind: b.source_kind,
    closedAt: b.closed_at?.toISOString() ?? null,
  };
}
