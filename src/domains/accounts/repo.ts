// The only place with SQL for accounts, subscribers, relations, books, payments, bills and write-offs.
import { type Insertable, type RawBuilder, type Selectable, sql, type Updateable } from 'kysely';
import type { Q } from '../../platform/db.ts';
import type { AccountsTable, BillingType, StopReason, SubscribersTable } from '../../platform/schema.ts';
import { type Allocation, type BookState, checkWriteOffTargets, type LineState } from './writeoff.ts';

export const accountRepo = {
  insertAccount(q: Q, row: Insertable<AccountsTable>) {
    return q.insertInto('accounts').values(row).returningAll().executeTakeFirstOrThrow();
  },
  accountById(q: Q, id: number) {
    return q.selectFrom('accounts').selectAll().where('account_id', '=', id).executeTakeFirst();
  },
  /**
   * Locks accounts in id order (no deadlocks between two multi-account transactions) and bumps
   * their money_version, which the one-statement payment uses to detect a concurrent change.
   */
  async lockAccounts(q: Q, ids: number[]) {
    const r = await sql<{ account_id: number; billing_type: string; status: string; credit_limit_fen: number }>`
      UPDATE accounts a SET money_version = a.money_version + 1
        FROM (SELECT account_id FROM accounts WHERE account_id IN (${sql.join(ids)}) ORDER BY account_id FOR UPDATE) l
       WHERE a.account_id = l.account_id
      RETURNING a.account_id, a.billing_type, a.status, a.credit_limit_fen`.execute(q);
    return r.rows.sort((x, y) => x.account_id - y.account_id);
  },
  customerExists(q: Q, id: number) {
    return q.selectFrom('customers').select('customer_id').where('customer_id', '=', id).executeTakeFirst();
  },

  insertSubscriber(q: Q, row: Insertable<SubscribersTable>) {
    return q.insertInto('subscribers').values(row).returningAll().executeTakeFirstOrThrow();
  },
  updateSubscriber(q: Q, id: number, set: Updateable<SubscribersTable>) {
    return q.updateTable('subscribers').set(set).where('subscriber_id', '=', id).returningAll().executeTakeFirstOrThrow();
  },
  subscribersByNumber(q: Q, serviceNumber: string) {
    return q.selectFrom('subscribers').selectAll().where('service_number', '=', serviceNumber).orderBy('subscriber_id').execute();
  },
  subscriberById(q: Q, id: number) {
    return q.selectFrom('subscribers').selectAll().where('subscriber_id', '=', id).executeTakeFirst();
  },
  subscribersByIds(q: Q, ids: number[]) {
    return q.selectFrom('subscribers').selectAll().where('subscriber_id', 'in', ids).execute();
  },
  subscribersOfAccount(q: Q, accountId: number) {
    return q.selectFrom('subscribers').selectAll().where('default_account_id', '=', accountId).orderBy('subscriber_id').execute();
  },
  /** Locks the subscriber row for a change made by an order (stop reasons, lifecycle, number, SIM). */
  lockSubscriber(q: Q, id: number) {
    return q.selectFrom('subscribers').selectAll().where('subscriber_id', '=', id).forUpdate().executeTakeFirst();
  },
  /** Locks subscribers in id order (no deadlocks between two many-subscriber transactions). */
  lockSubscribers(q: Q, ids: number[]) {
    if (ids.length === 0) return Promise.resolve([]);
    return q.selectFrom('subscribers').selectAll().where('subscriber_id', 'in', ids).orderBy('subscriber_id').forUpdate().execute();
  },
  /** Sets many subscribers' stop reasons in one statement (R-X-1); the rows after, in id order. */
  async setStopReasons(q: Q, rows: { subscriberId: number; stopReasons: StopReason[] }[], now: Date) {
    if (rows.length === 0) return [];
    const r = await sql<Selectable<SubscribersTable>>`
      UPDATE subscribers s SET stop_reasons = ARRAY(SELECT jsonb_array_elements_text(t.r)), updated_at = ${now}
        FROM jsonb_to_recordset(${JSON.stringify(rows.map((x) => ({ id: x.subscriberId, r: x.stopReasons })))}::jsonb) AS t (id bigint, r jsonb)
       WHERE s.subscriber_id = t.id
      RETURNING s.*`.execute(q);
    return r.rows.sort((x, y) => x.subscriber_id - y.subscriber_id);
  },
  /** A subscriber's published bill lines of one cycle, on whichever account pays them (打印清单). */
  subscriberBillLines(q: Q, subscriberId: number, cycle: string) {
    return q
      .selectFrom('bill_lines as l')
      .innerJoin('bills as b', (j) => j.onRef('b.account_id', '=', 'l.account_id').onRef('b.bill_id', '=', 'l.bill_id'))
      .innerJoin('bill_items as i', 'i.code', 'l.item_code')
      .select(['l.line_id', 'l.account_id', 'l.bill_id', 'l.item_code', 'i.name_zh', 'i.name_en', 'i.priority', 'l.amount_fen', 'l.paid_fen'])
      .where('l.subscriber_id', '=', subscriberId)
      .where('l.cycle', '=', cycle)
      // R-BIL-9: only published bills are shown to customers
      .where('b.status', '=', 'published')
      .orderBy('i.priority')
      .orderBy('l.line_id')
      .execute();
  },

  relationsOf(q: Q, subscriberIds: number[]) {
    return q
      .selectFrom('payment_relations')
      .selectAll()
      .where('subscriber_id', 'in', subscriberIds)
      .where('revoked_at', 'is', null)
      .orderBy('priority')
      .orderBy('relation_id')
      .execute();
  },
  insertRelation(q: Q, row: { payer_account_id: number; subscriber_id: number; priority: number; items: string[] | null; limit_fen: number | null; created_at: Date }) {
    return q.insertInto('payment_relations').values(row).returningAll().executeTakeFirstOrThrow();
  },
  revokeRelation(q: Q, relationId: number, at: Date) {
    return q.updateTable('payment_relations').set({ revoked_at: at }).where('relation_id', '=', relationId).where('revoked_at', 'is', null).returningAll().executeTakeFirst();
  },
  /** What each relation already took in a cycle (R-ACC-9 limits are per cycle). */
  async relationUse(q: Q, relationIds: number[], cycle: string): Promise<Map<number, number>> {
    if (relationIds.length === 0) return new Map();
    const rows = await q
      .selectFrom('bill_lines')
      .select(['relation_id', sql<number>`sum(amount_fen)::bigint`.as('used')])
      .where('relation_id', 'in', relationIds)
      .where('cycle', '=', cycle)
      .groupBy('relation_id')
      .execute();
    return new Map(rows.map((r) => [r.relation_id as number, Number(r.used)]));
  },

  // ---- lifecycle and ownership orders (R-ORD-8..10, joint account, household merge/split) ----

  /** What a subscriber was billed in the given cycles on published bills of any account (R-ORD-8). */
  async billedFen(q: Q, subscriberId: number, cycles: string[]): Promise<number> {
    if (cycles.length === 0) return 0;
    const r = await q
      .selectFrom('bill_lines as l')
      .innerJoin('bills as b', (j) => j.onRef('b.account_id', '=', 'l.account_id').onRef('b.bill_id', '=', 'l.bill_id'))
      .select(sql<number>`coalesce(sum(l.amount_fen), 0)::bigint`.as('total'))
      .where('l.subscriber_id', '=', subscriberId)
      .where('l.cycle', 'in', cycles)
      .where('b.status', '=', 'published')
      .executeTakeFirst();
    return Number(r?.total ?? 0);
  },
  updateAccount(q: Q, id: number, set: Updateable<AccountsTable>) {
    return q.updateTable('accounts').set(set).where('account_id', '=', id).returningAll().executeTakeFirstOrThrow();
  },
  accountsOfCustomer(q: Q, customerId: number) {
    return q.selectFrom('accounts').selectAll().where('customer_id', '=', customerId).orderBy('account_id').execute();
  },
  /** Who still needs the account: live subscribers paying by default from it, and live relations paying from it. */
  async accountUsers(q: Q, accountId: number) {
    const [subscribers, relations] = await Promise.all([
      q.selectFrom('subscribers').select(['subscriber_id', 'service_number']).where('default_account_id', '=', accountId).where('lifecycle', '<>', 'cancelled').orderBy('subscriber_id').execute(),
      q
        .selectFrom('payment_relations as r')
        .innerJoin('subscribers as s', 's.subscriber_id', 'r.subscriber_id')
        .select(['r.relation_id', 'r.subscriber_id'])
        .where('r.payer_account_id', '=', accountId)
        .where('r.revoked_at', 'is', null)
        .where('s.lifecycle', '<>', 'cancelled')
        .execute(),
    ]);
    return { subscribers, relations };
  },
  revokeRelationsOf(q: Q, subscriberId: number, at: Date) {
    return q.updateTable('payment_relations').set({ revoked_at: at }).where('subscriber_id', '=', subscriberId).where('revoked_at', 'is', null).returningAll().execute();
  },

  /** R-ACC-2: closes the unused rest of expired books with a visible expiry record. */
  async expireDueBooks(q: Q, accountId: number, now: Date): Promise<void> {
    await closeBooksAsExpired(q, accountId, now, sql`expiry_at IS NOT NULL AND expiry_at <= ${now}`);
  },

  /** R-ORD-9: at formal cancellation a grant's remaining money (gifts, discounts) lapses; it is never paid out. */
  async forfeitGrantBooks(q: Q, accountId: number, now: Date): Promise<void> {
    await closeBooksAsExpired(q, accountId, now, sql`source_kind = 'grant'`);
  },

  /** Books with money that have started by `now` (the candidates of a write-off). */
  usableBooks(q: Q, accountId: number, now: Date): Promise<BookState[]> {
    return this.bookStates(q, accountId, now);
  },

  /** Books as the write-off rules see them (with their type's order and limits); all of them without `startedBy`. */
  async bookStates(q: Q, accountId: number, startedBy?: Date): Promise<BookState[]> {
    let query = q
      .selectFrom('books as b')
      .innerJoin('book_types as t', 't.code', 'b.book_type')
      .select([
        'b.book_id',
        'b.book_type',
        't.priority',
        't.pays_earlier_cycles',
        't.excluded_items',
        'b.restricted_items',
        'b.subscriber_id',
        'b.start_at',
        'b.expiry_at',
        'b.balance_fen',
      ])
      .where('b.account_id', '=', accountId);
    if (startedBy) query = query.where('b.balance_fen', '>', 0).where('b.start_at', '<=', startedBy);
    const rows = await query.orderBy('b.book_id').execute();
    return rows.map((r) => ({
      bookId: r.book_id,
      bookType: r.book_type,
      typePriority: r.priority,
      paysEarlierCycles: r.pays_earlier_cycles,
      excludedItems: r.excluded_items,
      restrictedItems: r.restricted_items,
      subscriberId: r.subscriber_id,
      startAt: r.start_at,
      expiryAt: r.expiry_at,
      balanceFen: r.balance_fen,
    }));
  },

  async openLines(q: Q, accountId: number): Promise<LineState[]> {
    const rows = await q
      .selectFrom('bill_lines as l')
      .innerJoin('bills as b', (j) => j.onRef('b.account_id', '=', 'l.account_id').onRef('b.bill_id', '=', 'l.bill_id'))
      .innerJoin('bill_items as i', 'i.code', 'l.item_code')
      .innerJoin('subscribers as s', 's.subscriber_id', 'l.subscriber_id')
      .innerJoin('accounts as a', 'a.account_id', 's.default_account_id')
      // R-X-7: a late-fee line is paid together with the principal it was charged for
      .leftJoin('late_fee_accruals as lf', (j) => j.onRef('lf.account_id', '=', 'l.account_id').onRef('lf.late_fee_line_id', '=', 'l.line_id'))
      .select(['l.line_id', 'l.cycle', 'l.subscriber_id', 'l.item_code', 'i.priority', 'a.billing_type', 'l.amount_fen', 'l.paid_fen', 'lf.principal_line_id'])
      .where('l.account_id', '=', accountId)
      .whereRef('l.paid_fen', '<', 'l.amount_fen')
      // R-BIL-9: only published bills are written off
      .where('b.status', '=', 'published')
      .execute();
    return rows.map((r) => ({
      lineId: r.line_id,
      cycle: r.cycle,
      subscriberId: r.subscriber_id,
      itemCode: r.item_code,
      itemPriority: r.priority,
      billingType: r.billing_type as BillingType,
      openFen: r.amount_fen - r.paid_fen,
      principalLineId: r.principal_line_id,
    }));
  },

  /** Stores a write-off: its lines (R-ACC-6), the lines' paid amounts and the books' balances. */
  async applyWriteOff(
    q: Q,
    accountId: number,
    allocations: Allocation[],
    trigger: { kind: 'payment' | 'grant' | 'bill' | 'reversal'; id: number },
    now: Date,
  ): Promise<void> {
    if (allocations.length === 0) return;
    await q
      .insertInto('write_offs')
      .values(
        allocations.map((a) => ({
          account_id: accountId,
          line_id: a.lineId,
          book_id: a.bookId,
          amount_fen: a.amountFen,
          trigger_kind: trigger.kind,
          trigger_id: trigger.id,
          created_at: now,
        })),
      )
      .execute();
    await this.adjustLinesAndBooks(q, accountId, allocations);
  },

  /** Adds each allocation to its line's paid amount and subtracts it from its book (negative allocations undo). */
  async adjustLinesAndBooks(q: Q, accountId: number, allocations: Allocation[]): Promise<void> {
    if (allocations.length === 0) return;
    const byLine = new Map<number, number>();
    const byBook = new Map<number, number>();
    for (const a of allocations) {
      byLine.set(a.lineId, (byLine.get(a.lineId) ?? 0) + a.amountFen);
      byBook.set(a.bookId, (byBook.get(a.bookId) ?? 0) + a.amountFen);
    }
    const lineValues = sql.join([...byLine].map(([id, amt]) => sql`(${id}::bigint, ${amt}::bigint)`));
    const bookValues = sql.join([...byBook].map(([id, amt]) => sql`(${id}::bigint, ${amt}::bigint)`));
    // every line and book found by its key (locked to commit), or the write-off fails (migration 0018)
    const r = await sql<{ lines: number; books: number }>`
      WITH l AS (
        UPDATE bill_lines bl SET paid_fen = bl.paid_fen + v.amt
          FROM (VALUES ${lineValues}) AS v(id, amt)
         WHERE bl.account_id = ${accountId} AND bl.line_id = v.id
        RETURNING 1
      ), b AS (
        UPDATE books bk SET balance_fen = bk.balance_fen - v.amt
          FROM (VALUES ${bookValues}) AS v(id, amt)
         WHERE bk.account_id = ${accountId} AND bk.book_id = v.id
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM l)::int AS lines, (SELECT count(*) FROM b)::int AS books`.execute(q);
    checkWriteOffTargets(allocations, r.rows[0]);
  },
};

/** Empties the account's books that match `which` into book_expiries (R-ACC-18 counts them as expired). */
async function closeBooksAsExpired(q: Q, accountId: number, now: Date, which: RawBuilder<unknown>): Promise<void> {
  await sql`
    WITH due AS (
      SELECT book_id, balance_fen FROM books WHERE account_id = ${accountId} AND balance_fen > 0 AND ${which}
    ), closed AS (
      UPDATE books b SET balance_fen = 0, closed_at = ${now}
        FROM due WHERE b.account_id = ${accountId} AND b.book_id = due.book_id
      RETURNING b.book_id, due.balance_fen
    )
    INSERT INTO book_expiries (account_id, book_id, amount_fen, expired_at)
    SELECT ${accountId}, book_id, balance_fen, ${now} FROM closed`.execute(q);
}
