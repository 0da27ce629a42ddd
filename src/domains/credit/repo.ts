// The only place with SQL for credit control: what an account's money says, whose lines are overdue,
// package members, the credit states of subscribers and the queue.
import { type Insertable, sql } from 'kysely';
import type { Q } from '../../platform/db.ts';
import type { CreditState, CreditStatesTable, Linkage, Network, StopReason } from '../../platform/schema.ts';

export interface CreditSubscriberRow {
  subscriber_id: number;
  service_number: string;
  network: Network;
  customer_id: number;
  default_account_id: number;
  lifecycle: string;
  stop_reasons: StopReason[];
  package_id: number | null;
  vip_level: string;
  contact_phone: string | null;
  vip_exempt: boolean;
}

const subscriberColumns = sql`s.subscriber_id, s.service_number, s.network, s.customer_id, s.default_account_id, s.lifecycle, s.stop_reasons, s.package_id,
  c.vip_level, c.contact_phone, EXISTS (SELECT 1 FROM credit_vip_exemptions v WHERE v.vip_level = c.vip_level) AS vip_exempt`;

/**
 * The subscribers an account pays: its own and those it pays by relation. A union of two index
 * lookups — an OR across the two made PostgreSQL scan every subscriber for each account.
 */
function paidBy(accountId: number) {
  return sql`SELECT subscriber_id FROM subscribers WHERE default_account_id = ${accountId}
             UNION ALL SELECT subscriber_id FROM payment_relations WHERE payer_account_id = ${accountId} AND revoked_at IS NULL`;
}

export const creditRepo = {
  /**
   * Serialises credit control of one account with its money changes (payments lock the same row),
   * without bumping money_version: a concurrent one-statement payment stays on its fast path.
   */
  async lockAccount(q: Q, accountId: number) {
    const r = await sql<{ account_id: number; billing_type: 'virtual' | 'quota' | 'monthly'; credit_limit_fen: number; status: string }>`
      SELECT account_id, billing_type, credit_limit_fen, status FROM accounts WHERE account_id = ${accountId} FOR UPDATE`.execute(q);
    return r.rows[0];
  },
  /** lockAccount for many accounts in one statement, in id order (as payments and lockAccount lock them). */
  async lockAccounts(q: Q, accountIds: readonly number[]) {
    if (accountIds.length === 0) return [];
    const r = await sql<{ account_id: number; billing_type: 'virtual' | 'quota' | 'monthly'; credit_limit_fen: number; status: string }>`
      SELECT account_id, billing_type, credit_limit_fen, status FROM accounts WHERE account_id = ANY(${[...accountIds]}::bigint[])
       ORDER BY account_id FOR UPDATE`.execute(q);
    return r.rows.map((x) => ({ ...x, account_id: Number(x.account_id), credit_limit_fen: Number(x.credit_limit_fen) }));
  },

  /**
   * Of these accounts, those whose evaluation reaches beyond its own subscribers or is reached by
   * another's (evaluated one by one, in id order, instead of many at once): it pays a subscriber by
   * relation or holds an open line of another account's subscriber, or another account does so for a
   * subscriber of it (R-ACC-8: the payer's evaluation follows this account); it pays a line of a live
   * package with a linkage (R-CC-4 cascades), or a line of it follows a linked member or is followed
   * by one (a linked state in credit_states).
   */
  async accountsReachingOut(q: Q, accountIds: readonly number[]): Promise<Set<number>> {
    if (accountIds.length === 0) return new Set();
    // probed account by account (LATERAL … LIMIT 1, as accountsToJudgeNow): never hashed subplans over whole tables
    const r = await sql<{ account_id: number }>`
      SELECT a.account_id FROM unnest(${[...accountIds]}::bigint[]) AS a (account_id)
        JOIN LATERAL (
          SELECT 1 FROM payment_relations r WHERE r.payer_account_id = a.account_id AND r.revoked_at IS NULL
          UNION ALL
          SELECT 1 FROM bill_lines l JOIN subscribers s ON s.subscriber_id = l.subscriber_id
           WHERE l.account_id = a.account_id AND l.paid_fen < l.amount_fen AND s.default_account_id <> a.account_id
          UNION ALL
          SELECT 1 FROM subscribers s JOIN payment_relations r ON r.subscriber_id = s.subscriber_id AND r.revoked_at IS NULL
           WHERE s.default_account_id = a.account_id AND r.payer_account_id <> a.account_id
          UNION ALL
          SELECT 1 FROM subscribers s JOIN bill_lines l ON l.subscriber_id = s.subscriber_id AND l.paid_fen < l.amount_fen
           WHERE s.default_account_id = a.account_id AND l.account_id <> a.account_id
          UNION ALL
          SELECT 1 FROM subscribers s JOIN packages p ON p.package_id = s.package_id
           WHERE s.default_account_id = a.account_id AND s.lifecycle <> 'cancelled' AND p.ended_at IS NULL AND p.linkage IS NOT NULL
          UNION ALL
          SELECT 1 FROM subscribers s JOIN credit_states cs ON cs.subscriber_id = s.subscriber_id
           WHERE s.default_account_id = a.account_id AND (cs.linked_to IS NOT NULL OR cs.state IN ('linked_pending', 'linked_stopped'))
          UNION ALL
          SELECT 1 FROM subscribers s JOIN credit_states cs ON cs.linked_to = s.subscriber_id WHERE s.default_account_id = a.account_id
          LIMIT 1
        ) x ON true`.execute(q);
    return new Set(r.rows.map((x) => Number(x.account_id)));
  },

  /** usableFen of many accounts (those with none are left out). */
  async usableFenMany(q: Q, accountIds: readonly number[], now: Date): Promise<Map<number, number>> {
    if (accountIds.length === 0) return new Map();
    const r = await sql<{ account_id: number; total: string | number }>`
      SELECT account_id, coalesce(sum(balance_fen), 0)::bigint AS total FROM books
       WHERE account_id = ANY(${[...accountIds]}::bigint[]) AND balance_fen > 0 AND start_at <= ${now} AND (expiry_at IS NULL OR expiry_at > ${now})
       GROUP BY account_id`.execute(q);
    return new Map(r.rows.map((x) => [Number(x.account_id), Number(x.total)]));
  },

  /** openLines of many accounts, with the account of each line (each open line's bill by its primary key, as overdueBySubscriber). */
  async openLinesMany(q: Q, accountIds: readonly number[], now: Date) {
    if (accountIds.length === 0) return [];
    const r = await sql<{ account_id: number; subscriber_id: number; open_fen: string | number; overdue: boolean }>`
      SELECT l.account_id, l.subscriber_id, (l.amount_fen - l.paid_fen) AS open_fen,
             (a.billing_type = 'virtual' OR b.due_at IS NULL OR b.due_at <= ${now}) AS overdue
        FROM bill_lines l
        JOIN LATERAL (SELECT b.due_at FROM bills b WHERE b.account_id = l.account_id AND b.bill_id = l.bill_id AND b.status = 'published' OFFSET 0) b ON true
        JOIN accounts a ON a.account_id = l.account_id
       WHERE l.account_id = ANY(${[...accountIds]}::bigint[]) AND l.paid_fen < l.amount_fen`.execute(q);
    return r.rows.map((x) => ({ accountId: Number(x.account_id), subscriberId: Number(x.subscriber_id), openFen: Number(x.open_fen), overdue: x.overdue }));
  },

  /** The live subscribers whose default account is one of these (in id order). */
  async subscribersOfAccounts(q: Q, accountIds: readonly number[]): Promise<CreditSubscriberRow[]> {
    if (accountIds.length === 0) return [];
    const r = await sql<CreditSubscriberRow>`
      SELECT ${subscriberColumns} FROM subscribers s JOIN customers c ON c.customer_id = s.customer_id
       WHERE s.default_account_id = ANY(${[...accountIds]}::bigint[]) AND s.lifecycle <> 'cancelled'
       ORDER BY s.subscriber_id`.execute(q);
    return r.rows;
  },

  /** upsertState for many subscribers in one statement (each at most once). */
  async upsertStates(q: Q, rows: Insertable<CreditStatesTable>[]) {
    if (rows.length === 0) return;
    await upsertStatesQuery(q, rows).execute();
  },

  /**
   * Of these accounts, those where credit control can act at once: a line already in a credit state
   * or stopped, or a published line unpaid past its due date (no due date: due at once). One
   * statement for a whole bill-run chunk; the rest only wait for reminders (the scheduled job).
   */
  async accountsToJudgeNow(q: Q, accountIds: readonly number[], now: Date): Promise<number[]> {
    if (accountIds.length === 0) return [];
    // probed account by account through their indexes (LATERAL … LIMIT 1): the cost follows the chunk,
    // never the tables (EXISTS over an unnest was planned as hashed subplans over whole tables)
    const r = await sql<{ account_id: number }>`
      SELECT a.account_id FROM unnest(${[...accountIds]}::bigint[]) AS a (account_id)
        LEFT JOIN LATERAL (SELECT true AS yes FROM credit_states cs WHERE cs.account_id = a.account_id AND cs.state <> 'ok' LIMIT 1) cs ON true
        LEFT JOIN LATERAL (SELECT true AS yes FROM subscribers s WHERE s.default_account_id = a.account_id AND s.stop_reasons <> '{}' LIMIT 1) st ON cs.yes IS NULL
        LEFT JOIN LATERAL (
          SELECT true AS yes FROM bill_lines l JOIN bills b ON b.account_id = l.account_id AND b.bill_id = l.bill_id
           WHERE l.account_id = a.account_id AND l.paid_fen < l.amount_fen AND b.status = 'published' AND (b.due_at IS NULL OR b.due_at <= ${now}) LIMIT 1
        ) due ON cs.yes IS NULL AND st.yes IS NULL
       WHERE cs.yes OR st.yes OR due.yes
       GROUP BY a.account_id ORDER BY a.account_id`.execute(q);
    return r.rows.map((x) => Number(x.account_id));
  },

  /**
   * R-BIL-8: of these accounts just charged for usage, those whose evaluation can do something now.
   * Left out is a virtual account where it can do nothing: no open bill line of it nor any open line
   * of its subscribers (so nothing is overdue, R-CC-4), no subscriber stopped or in a credit state
   * other than ok (nothing to resume or reset), no subscriber it pays for by relation (no other
   * account to follow), and usable books plus its credit limit at or above the reminder threshold
   * (R-CC-1: with no open lines and no unbilled usage — a virtual account's usage is billed as rated —
   * that is its real-time balance). One statement for a rating chunk's charged accounts; each test a
   * probe by key per account (OFFSET 0: never a hashed subplan, which PostgreSQL chose from statistics
   * taken before an import and which then read every open bill line and credit state per call, 33 ms a
   * call at 1,000,000 subscribers while the rating added virtual accounts' lines).
   */
  async accountsToJudgeAfterCharge(q: Q, accountIds: readonly number[], now: Date, thresholdFen: number): Promise<number[]> {
    if (accountIds.length === 0) return [];
    const r = await sql<{ account_id: number }>`
      SELECT a.account_id FROM accounts a
       WHERE a.account_id = ANY(${[...accountIds]}::bigint[])
         AND NOT (
           a.billing_type = 'virtual'
           AND NOT EXISTS (SELECT 1 FROM payment_relations r WHERE r.payer_account_id = a.account_id AND r.revoked_at IS NULL OFFSET 0)
           AND NOT EXISTS (SELECT 1 FROM bill_lines l WHERE l.account_id = a.account_id AND l.paid_fen < l.amount_fen OFFSET 0)
           AND NOT EXISTS (
             SELECT 1 FROM subscribers s
              WHERE s.default_account_id = a.account_id
                AND (s.stop_reasons <> '{}'
                     OR EXISTS (SELECT 1 FROM credit_states cs WHERE cs.subscriber_id = s.subscriber_id AND cs.state <> 'ok' OFFSET 0)
                     OR EXISTS (SELECT 1 FROM bill_lines l WHERE l.subscriber_id = s.subscriber_id AND l.paid_fen < l.amount_fen OFFSET 0))
             OFFSET 0)
           AND (SELECT coalesce(sum(k.balance_fen), 0) FROM books k
                 WHERE k.account_id = a.account_id AND k.balance_fen > 0 AND k.start_at <= ${now} AND (k.expiry_at IS NULL OR k.expiry_at > ${now}))
               + a.credit_limit_fen >= ${thresholdFen})
       ORDER BY a.account_id`.execute(q);
    return r.rows.map((x) => Number(x.account_id));
  },

  /** Anything a payment to this account could resume now: a line it pays stopped for arrears (R-CC-2). */
  async hasArrearsStops(q: Q, accountId: number): Promise<boolean> {
    const r = await sql<{ found: boolean }>`
      SELECT EXISTS (
        SELECT 1 FROM subscribers s
         WHERE s.subscriber_id IN (${paidBy(accountId)})
           AND s.stop_reasons && ARRAY['arrears_one_way', 'arrears_two_way']::text[]
      ) AS found`.execute(q);
    return r.rows[0]?.found === true;
  },
  accountRow(q: Q, accountId: number) {
    return q.selectFrom('accounts').select(['account_id', 'billing_type', 'credit_limit_fen', 'status']).where('account_id', '=', accountId).executeTakeFirst();
  },

  /** Money in books usable now (R-ACC-4). */
  async usableFen(q: Q, accountId: number, now: Date): Promise<number> {
    return (await this.usableFenMany(q, [accountId], now)).get(accountId) ?? 0;
  },

  /** Open lines of the account's published bills with whether they are overdue (virtual: at once; else after due_at; no due date: at once). */
  async openLines(q: Q, accountId: number, now: Date) {
    return this.openLinesMany(q, [accountId], now);
  },

  /** R-CC-4: each subscriber's own overdue open lines, on whichever account pays them. */
  async overdueBySubscriber(q: Q, subscriberIds: number[], now: Date): Promise<Map<number, number>> {
    if (subscriberIds.length === 0) return new Map();
    const r = await sql<{ subscriber_id: number; overdue_fen: string | number }>`
      SELECT l.subscriber_id, sum(l.amount_fen - l.paid_fen)::bigint AS overdue_fen
        FROM unnest(${subscriberIds}::bigint[]) AS s (id)
        -- each subscriber's open lines, its bills and accounts by key (OFFSET 0: never flattened into scans,
        -- which statistics gone stale during a large import made the planner choose: a scan of bill_lines and
        -- of accounts per call, 14 ms per credit-control batch, 1.3 s of the rating at 100,000 subscribers)
        JOIN LATERAL (SELECT x.subscriber_id, x.account_id, x.bill_id, x.amount_fen, x.paid_fen FROM bill_lines x
                       WHERE x.subscriber_id = s.id AND x.paid_fen < x.amount_fen OFFSET 0) l ON true
        JOIN LATERAL (SELECT b.due_at FROM bills b WHERE b.account_id = l.account_id AND b.bill_id = l.bill_id AND b.status = 'published' OFFSET 0) b ON true
        JOIN LATERAL (SELECT a.billing_type FROM accounts a WHERE a.account_id = l.account_id OFFSET 0) a ON true
       WHERE a.billing_type = 'virtual' OR b.due_at IS NULL OR b.due_at <= ${now}
       GROUP BY l.subscriber_id`.execute(q);
    return new Map(r.rows.map((x) => [Number(x.subscriber_id), Number(x.overdue_fen)]));
  },

  /** The account's live subscribers, the others with open lines on it and those it pays for by relation (R-ACC-8). */
  async subscribersOf(q: Q, accountId: number, extraIds: number[]): Promise<CreditSubscriberRow[]> {
    const extra = extraIds.length ? sql` UNION ALL SELECT unnest(${extraIds}::bigint[])` : sql``;
    const r = await sql<CreditSubscriberRow>`
      SELECT ${subscriberColumns} FROM subscribers s JOIN customers c ON c.customer_id = s.customer_id
       WHERE s.subscriber_id IN (${paidBy(accountId)}${extra})
         AND s.lifecycle <> 'cancelled'
       ORDER BY s.subscriber_id`.execute(q);
    return r.rows;
  },
  async subscribersByIds(q: Q, ids: number[]): Promise<CreditSubscriberRow[]> {
    if (ids.length === 0) return [];
    const r = await sql<CreditSubscriberRow>`
      SELECT ${subscriberColumns} FROM subscribers s JOIN customers c ON c.customer_id = s.customer_id
       WHERE s.subscriber_id IN (${sql.join(ids)}) ORDER BY s.subscriber_id`.execute(q);
    return r.rows;
  },

  /** A live package and its members (R-CC-4 linkage is data on the package). */
  async packageOf(q: Q, packageId: number): Promise<{ linkage: Linkage | null; members: CreditSubscriberRow[] } | undefined> {
    const p = await q.selectFrom('packages').select(['package_id', 'linkage']).where('package_id', '=', packageId).where('ended_at', 'is', null).executeTakeFirst();
    if (!p) return undefined;
    const r = await sql<CreditSubscriberRow>`
      SELECT ${subscriberColumns} FROM subscribers s JOIN customers c ON c.customer_id = s.customer_id
       WHERE s.package_id = ${packageId} AND s.lifecycle <> 'cancelled' ORDER BY s.subscriber_id`.execute(q);
    return { linkage: p.linkage, members: r.rows };
  },

  /** R-BND-10: money the line still has in its restricted fund or private books (usable now). */
  async fundFen(q: Q, subscriberId: number, accountId: number, now: Date): Promise<number> {
    const r = await sql<{ total: string | number }>`
      SELECT coalesce(sum(balance_fen), 0)::bigint AS total FROM books
       WHERE account_id = ${accountId} AND balance_fen > 0 AND start_at <= ${now} AND (expiry_at IS NULL OR expiry_at > ${now})
         AND (subscriber_id = ${subscriberId} OR (subscriber_id IS NULL AND book_type = 'restricted_fund'))`.execute(q);
    return Number(r.rows[0]?.total ?? 0);
  },

  states(q: Q, subscriberIds: number[]) {
    if (subscriberIds.length === 0) return Promise.resolve([]);
    return q.selectFrom('credit_states').selectAll().where('subscriber_id', 'in', subscriberIds).execute();
  },
  stateOf(q: Q, subscriberId: number) {
    return q.selectFrom('credit_states').selectAll().where('subscriber_id', '=', subscriberId).executeTakeFirst();
  },
  /** Members whose linked stop follows this cause (R-CC-4). */
  linkedTo(q: Q, causeId: number) {
    return q.selectFrom('credit_states').selectAll().where('linked_to', '=', causeId).execute();
  },
  async upsertState(q: Q, row: Insertable<CreditStatesTable>) {
    await upsertStatesQuery(q, [row]).execute();
  },

  /** Active accounts with a live subscriber, in id order from `after` (the job pages through them). */
  async accountPage(q: Q, after: number, limit: number): Promise<number[]> {
    const r = await sql<{ account_id: number }>`
      SELECT a.account_id FROM accounts a
       WHERE a.account_id > ${after} AND a.status = 'active'
         AND EXISTS (SELECT 1 FROM subscribers s WHERE s.default_account_id = a.account_id AND s.lifecycle <> 'cancelled')
       ORDER BY a.account_id LIMIT ${limit}`.execute(q);
    return r.rows.map((x) => Number(x.account_id));
  },
  /** Pending linked stops due by `now` (R-BND-10 on the 1st). */
  dueLinkedStops(q: Q, now: Date) {
    return q.selectFrom('credit_states').selectAll().where('state', '=', 'linked_pending').where('linked_stop_at', '<=', now).orderBy('subscriber_id').execute();
  },
  /** Special reopens that have ended (R-X-2). */
  endedReopens(q: Q, now: Date) {
    return q.selectFrom('credit_states').select(['subscriber_id', 'account_id']).where('state', '=', 'reopened').where('reopen_until', '<=', now).orderBy('subscriber_id').execute();
  },

  async queue(q: Q, p: { states: CreditState[]; limit: number; offset: number }) {
    const base = q
      .selectFrom('credit_states as cs')
      .innerJoin('subscribers as s', 's.subscriber_id', 'cs.subscriber_id')
      .where('cs.state', 'in', p.states);
    const [rows, count] = await Promise.all([
      base
        .select([
          'cs.subscriber_id',
          'cs.account_id',
          'cs.state',
          'cs.since',
          'cs.rule',
          'cs.balance_fen',
          'cs.arrears_fen',
          'cs.reminded_at',
          'cs.stopped_at',
          'cs.exempt_until',
          'cs.reopen_until',
          'cs.linked_to',
          'cs.linked_stop_at',
          's.service_number',
          's.network',
          's.status',
          's.stop_reasons',
        ])
        .orderBy('cs.since')
        .orderBy('cs.subscriber_id')
        .limit(p.limit)
        .offset(p.offset)
        .execute(),
      base.select(sql<string>`count(*)`.as('n')).executeTakeFirst(),
    ]);
    return { rows, total: Number(count?.n ?? 0) };
  },
};

function upsertStatesQuery(q: Q, rows: Insertable<CreditStatesTable>[]) {
  return q
    .insertInto('credit_states')
    .values(rows)
    .onConflict((oc) =>
      oc.column('subscriber_id').doUpdateSet((eb) => ({
        account_id: eb.ref('excluded.account_id'),
        state: eb.ref('excluded.state'),
        since: eb.ref('excluded.since'),
        rule: eb.ref('excluded.rule'),
        balance_fen: eb.ref('excluded.balance_fen'),
        arrears_fen: eb.ref('excluded.arrears_fen'),
        reminded_at: eb.ref('excluded.reminded_at'),
        stopped_at: eb.ref('excluded.stopped_at'),
        exempt_until: eb.ref('excluded.exempt_until'),
        reopen_until: eb.ref('excluded.reopen_until'),
        reopened_by: eb.ref('excluded.reopened_by'),
        linked_to: eb.ref('excluded.linked_to'),
        linked_stop_at: eb.ref('excluded.linked_stop_at'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    );
}
