// The SQL of the bill run: runs and chunks, the recurring-fee ledger, bills and lines in bulk (one
// statement per chunk, arrays as parameters), and the set-based write-off of many accounts.
import { sql } from 'kysely';
import { noJit, type Q } from '../../platform/db.ts';
import type { Fen } from '../../platform/money.ts';
import type { BillingType } from '../../platform/schema.ts';
import { type Allocation, type BookState, checkWriteOffTargets, type LineState } from '../accounts/writeoff.ts';
import { RATING_LOCK } from '../usage/repo.ts';
import type { RecurringCharge, SubscribedOffer } from './rules.ts';

export interface RunRow {
  run_id: number;
  cycle: string;
  state: 'running' | 'prebilled' | 'publishing' | 'published' | 'failed';
  chunks_total: number;
  accounts_total: number;
  operator_id: number | null;
  started_at: Date;
  prebilled_at: Date | null;
  published_at: Date | null;
  wall_started_at: Date;
  wall_finished_at: Date | null;
}

export interface ChunkRow {
  run_id: number;
  chunk_no: number;
  account_lo: number;
  account_hi: number;
  accounts: number;
  state: 'pending' | 'done' | 'failed';
  publish_state: 'pending' | 'done' | 'failed';
  attempts: number;
  error: string | null;
  accounts_done: number;
  subscribers: number;
  lines: number;
  amount_fen: number;
  worker: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  published_at: Date | null;
}

export interface NewLine {
  accountId: number;
  subscriberId: number;
  itemCode: string;
  amountFen: Fen;
  relationId: number | null;
  source: 'recurring' | 'usage' | 'minimum_spend' | 'virtual_rent' | 'late_fee';
}

/** The channel on which a run with work to do (running, publishing) is announced: `billrun worker` LISTENs to it. */
export const RUN_CHANNEL = 'openboss_billrun';

/** Billing types the bill run bills (R-BIL-8: virtual accounts pay as they go). */
export const POSTPAID: BillingType[] = ['monthly', 'quota'];
// the open end of the last chunk: the largest id a JS number holds exactly (ids are int8 read as numbers)
const MAX_ID = '9007199254740991';

/** Which subscribers a chunk bills: a range of default accounts, or some subscribers (a re-run). */
export type Scope = { lo: number; hi: number } | { subscriberIds: number[] };

function scopeFilter(s: Scope) {
  return 'subscriberIds' in s ? sql`s.subscriber_id = ANY(${s.subscriberIds}::bigint[])` : sql`s.default_account_id > ${s.lo} AND s.default_account_id <= ${s.hi}`;
}

export const billingRepo = {
  /**
   * For the rest of a chunk's transaction: no JIT. The chunk's statements carry arrays of thousands of
   * ids, so their estimates pass jit_above_cost while their work is a few milliseconds of index probes;
   * compiling cost 0.2–0.6 s per statement (accountsToJudgeNow, mayOweLateFees, applyWriteOffs).
   */
  chunkSettings(q: Q): Promise<void> {
    return noJit(q);
  },
  async parameter(q: Q, key: string, fallback: number): Promise<number> {
    const r = await sql<{ value: number }>`SELECT value FROM business_parameters WHERE key = ${key}`.execute(q);
    return r.rows[0] ? Number(r.rows[0].value) : fallback;
  },

  runByCycle(q: Q, cycle: string) {
    return sql<RunRow>`SELECT * FROM bill_runs WHERE cycle = ${cycle}`.execute(q).then((r) => r.rows[0]);
  },
  runById(q: Q, runId: number, lock: '' | 'FOR UPDATE' | 'FOR SHARE' = '') {
    return sql<RunRow>`SELECT * FROM bill_runs WHERE run_id = ${runId} ${sql.raw(lock)}`.execute(q).then((r) => r.rows[0]);
  },
  runs(q: Q) {
    return sql<RunRow>`SELECT * FROM bill_runs ORDER BY cycle DESC LIMIT 120`.execute(q).then((r) => r.rows);
  },
  /** Creates the run of a cycle unless one exists (the unique cycle index decides a race). */
  async insertRun(q: Q, cycle: string, operatorId: number | null, now: Date): Promise<RunRow | undefined> {
    const r = await sql<RunRow>`
      INSERT INTO bill_runs (cycle, state, operator_id, started_at) VALUES (${cycle}, 'running', ${operatorId}, ${now})
      ON CONFLICT (cycle) DO NOTHING RETURNING *`.execute(q);
    if (r.rows[0]) await sql`SELECT pg_notify(${RUN_CHANNEL}, ${String(r.rows[0].run_id)})`.execute(q);
    return r.rows[0];
  },
  /** Cuts the postpaid accounts into contiguous id ranges of `size` accounts; the last range is open-ended. */
  async insertChunks(q: Q, runId: number, size: number): Promise<{ chunks: number; accounts: number }> {
    const r = await sql<{ chunks: number; accounts: number }>`
      WITH acc AS (
        SELECT account_id, (row_number() OVER (ORDER BY account_id) - 1) / ${size} AS g
          FROM accounts WHERE billing_type = ANY(${POSTPAID}::text[])
      ), g AS (
        SELECT g, max(account_id) AS mx, count(*) AS n FROM acc GROUP BY g
      ), ranges AS (
        SELECT g::int AS chunk_no, coalesce(lag(mx) OVER (ORDER BY g), 0) AS lo,
               CASE WHEN g = (SELECT max(g) FROM g) THEN ${MAX_ID}::bigint ELSE mx END AS hi, n
          FROM g
        UNION ALL SELECT 0, 0, ${MAX_ID}::bigint, 0 WHERE NOT EXISTS (SELECT 1 FROM acc)
      ), ins AS (
        INSERT INTO bill_run_chunks (run_id, chunk_no, account_lo, account_hi, accounts)
        SELECT ${runId}, chunk_no, lo, hi, n FROM ranges RETURNING accounts
      ), totals AS (SELECT count(*)::int AS chunks, coalesce(sum(accounts), 0)::bigint AS accounts FROM ins)
      UPDATE bill_runs SET chunks_total = totals.chunks, accounts_total = totals.accounts FROM totals WHERE run_id = ${runId}
      RETURNING totals.chunks, totals.accounts`.execute(q);
    const row = r.rows[0] as { chunks: number; accounts: number };
    return { chunks: Number(row.chunks), accounts: Number(row.accounts) };
  },
  setRunState(q: Q, runId: number, state: RunRow['state'], now: Date) {
    const stamp =
      state === 'prebilled'
        ? sql`, prebilled_at = ${now}, wall_finished_at = now()`
        : state === 'published'
          ? sql`, published_at = ${now}, wall_finished_at = now()`
          : state === 'running' || state === 'publishing'
            ? sql`, wall_finished_at = NULL`
            : sql``;
    // a run with work to do is announced to `billrun worker` processes (NOTIFY is delivered at commit)
    if (state === 'running' || state === 'publishing') {
      return sql`WITH u AS (UPDATE bill_runs SET state = ${state} ${stamp} WHERE run_id = ${runId} RETURNING run_id)
                 SELECT pg_notify(${RUN_CHANNEL}, run_id::text) FROM u`.execute(q);
    }
    return sql`UPDATE bill_runs SET state = ${state} ${stamp} WHERE run_id = ${runId}`.execute(q);
  },
  /** An operator starting a failed run again gives its failed chunks fresh attempts. */
  resetFailed(q: Q, runId: number) {
    return sql`
      UPDATE bill_run_chunks SET state = CASE WHEN state = 'failed' THEN 'pending' ELSE state END,
             publish_state = CASE WHEN publish_state = 'failed' THEN 'pending' ELSE publish_state END, attempts = 0
       WHERE run_id = ${runId}`.execute(q);
  },
  chunks(q: Q, runId: number) {
    return sql<ChunkRow>`SELECT * FROM bill_run_chunks WHERE run_id = ${runId} ORDER BY chunk_no`.execute(q).then((r) => r.rows);
  },
  /**
   * Claims the next chunk for this transaction: the row lock is held until commit, so a worker that
   * dies releases it and another takes the chunk again (R-BIL-6); SKIP LOCKED lets workers share a run.
   */
  async claimChunk(q: Q, runId: number, phase: 'bill' | 'publish', maxAttempts: number, only?: number): Promise<ChunkRow | undefined> {
    const col = sql.raw(phase === 'bill' ? 'state' : 'publish_state');
    const r = await sql<ChunkRow>`
      SELECT * FROM bill_run_chunks
       WHERE run_id = ${runId} AND (${col} = 'pending' OR (${col} = 'failed' AND attempts < ${maxAttempts}))
         ${only === undefined ? sql`` : sql`AND chunk_no = ${only}`}
       ORDER BY chunk_no LIMIT 1 FOR UPDATE SKIP LOCKED`.execute(q);
    return r.rows[0];
  },
  chunkDone(q: Q, runId: number, chunkNo: number, stats: { subscribers: number; lines: number; amountFen: Fen }, worker: string, startedAt: Date) {
    return sql`
      UPDATE bill_run_chunks SET state = 'done', accounts_done = accounts, subscribers = ${stats.subscribers}, lines = ${stats.lines},
             amount_fen = ${stats.amountFen}, worker = ${worker}, attempts = attempts + 1, error = NULL, started_at = ${startedAt}, finished_at = now()
       WHERE run_id = ${runId} AND chunk_no = ${chunkNo}`.execute(q);
  },
  chunkPublished(q: Q, runId: number, chunkNo: number) {
    return sql`UPDATE bill_run_chunks SET publish_state = 'done', error = NULL, published_at = now() WHERE run_id = ${runId} AND chunk_no = ${chunkNo}`.execute(q);
  },
  chunkFailed(q: Q, runId: number, chunkNo: number, phase: 'bill' | 'publish', error: string, worker: string) {
    const col = sql.raw(phase === 'bill' ? 'state' : 'publish_state');
    return sql`UPDATE bill_run_chunks SET ${col} = 'failed', attempts = attempts + 1, error = ${error.slice(0, 2000)}, worker = ${worker}
                WHERE run_id = ${runId} AND chunk_no = ${chunkNo} AND ${col} <> 'done'`.execute(q);
  },
  chunkOfAccount(q: Q, runId: number, accountId: number) {
    return sql<ChunkRow>`SELECT * FROM bill_run_chunks WHERE run_id = ${runId} AND account_lo < ${accountId} AND account_hi >= ${accountId}`.execute(q).then((r) => r.rows[0]);
  },

  /** Subscribers of postpaid accounts in scope, with the offers in service during the cycle and their recurring charges. */
  async subscribersInScope(q: Q, scope: Scope, cycleFrom: Date, cycleTo: Date) {
    const r = await sql<OfferRow>`
      SELECT s.subscriber_id, s.default_account_id AS account_id, so.subscriber_offer_id, so.member_role, so.started_at, so.ended_at,
             so.minimum_spend_fen, so.term_ends_at, oc.seq, oc.item_code, oc.member_role AS charge_role, oc.amount_fen
        FROM subscribers s
        -- the account and the offers of each subscriber by their indexes (LATERAL … OFFSET 0 is never
        -- flattened into a hash join over the whole table: the cost follows the chunk)
        CROSS JOIN LATERAL (SELECT a.billing_type FROM accounts a WHERE a.account_id = s.default_account_id OFFSET 0) a
        LEFT JOIN LATERAL (
          SELECT so.subscriber_offer_id, so.member_role, so.started_at, so.ended_at, so.minimum_spend_fen, so.term_ends_at, so.offer_code
            FROM subscriber_offers so
           WHERE so.subscriber_id = s.subscriber_id AND so.started_at < ${cycleTo} AND (so.ended_at IS NULL OR so.ended_at > ${cycleFrom}) OFFSET 0
        ) so ON true
        LEFT JOIN offer_charges oc ON oc.offer_code = so.offer_code AND oc.kind = 'recurring'
       WHERE ${scopeFilter(scope)} AND a.billing_type = ANY(${POSTPAID}::text[])
       ORDER BY s.subscriber_id, so.subscriber_offer_id, oc.seq`.execute(q);
    return groupOffers(r.rows);
  },

  /** Virtual-account subscribers in an account range with the offers that may still owe advance rent. */
  async virtualSubscribers(q: Q, lo: number, hi: number, now: Date, recentFrom: Date) {
    const r = await sql<Parameters<typeof groupOffers>[0][number]>`
      SELECT s.subscriber_id, s.default_account_id AS account_id, so.subscriber_offer_id, so.member_role, so.started_at, so.ended_at,
             so.minimum_spend_fen, so.term_ends_at, oc.seq, oc.item_code, oc.member_role AS charge_role, oc.amount_fen
        FROM subscribers s
        JOIN accounts a ON a.account_id = s.default_account_id AND a.billing_type = 'virtual'
        JOIN subscriber_offers so ON so.subscriber_id = s.subscriber_id AND so.started_at <= ${now}
        JOIN offer_charges oc ON oc.offer_code = so.offer_code AND oc.kind = 'recurring' AND oc.amount_fen > 0
       WHERE s.default_account_id > ${lo} AND s.default_account_id <= ${hi}
         AND (so.ended_at IS NULL OR so.ended_at > ${recentFrom}
              OR NOT EXISTS (SELECT 1 FROM recurring_charges rc WHERE rc.subscriber_id = so.subscriber_id AND rc.subscriber_offer_id = so.subscriber_offer_id))
       ORDER BY s.subscriber_id, so.subscriber_offer_id, oc.seq`.execute(q);
    return groupOffers(r.rows);
  },
  /** The next range of `size` virtual accounts after `after` (the virtual-rent job walks them in batches). */
  async nextVirtualRange(q: Q, after: number, size: number): Promise<number | null> {
    const r = await sql<{ hi: number | null }>`
      SELECT max(account_id) AS hi FROM (SELECT account_id FROM accounts WHERE billing_type = 'virtual' AND account_id > ${after} ORDER BY account_id LIMIT ${size}) x`.execute(q);
    const hi = r.rows[0]?.hi;
    return hi === null || hi === undefined ? null : Number(hi);
  },
  async ledgerKeys(q: Q, subscriberOfferIds: number[]): Promise<Set<string>> {
    if (subscriberOfferIds.length === 0) return new Set();
    const r = await sql<{ subscriber_offer_id: number; cycle: string; charge_seq: number }>`
      SELECT subscriber_offer_id, cycle, charge_seq FROM recurring_charges
       WHERE subscriber_offer_id = ANY(${subscriberOfferIds}::bigint[]) AND kind = 'recurring'`.execute(q);
    return new Set(r.rows.map((x) => `${x.subscriber_offer_id}/${x.cycle}/${x.charge_seq}`));
  },

  /** Writes ledger rows once; returns the rows written now (a conflict means the fee was charged before). */
  async insertLedger(q: Q, rows: (RecurringCharge & { accountId: number; cycle: string })[], runId: number | null, now: Date) {
    if (rows.length === 0) return [];
    const r = await sql<{ subscriber_id: number; subscriber_offer_id: number; charge_seq: number; kind: string; cycle: string }>`
      INSERT INTO recurring_charges (account_id, subscriber_id, cycle, subscriber_offer_id, charge_seq, kind, item_code, amount_fen, days, cycle_days, run_id, created_at)
      SELECT * , ${runId}::bigint, ${now}::timestamptz FROM unnest(
        ${rows.map((x) => x.accountId)}::bigint[], ${rows.map((x) => x.subscriberId)}::bigint[], ${rows.map((x) => x.cycle)}::text[],
        ${rows.map((x) => x.subscriberOfferId)}::bigint[], ${rows.map((x) => x.chargeSeq)}::int[], ${rows.map((x) => x.kind)}::text[],
        ${rows.map((x) => x.itemCode)}::text[], ${rows.map((x) => x.amountFen)}::bigint[], ${rows.map((x) => x.days)}::int[], ${rows.map((x) => x.cycleDays)}::int[])
      ON CONFLICT (subscriber_id, cycle, subscriber_offer_id, charge_seq, kind) DO NOTHING
      RETURNING subscriber_id, subscriber_offer_id, charge_seq, kind, cycle`.execute(q);
    const written = new Set(r.rows.map((x) => `${x.subscriber_id}/${x.subscriber_offer_id}/${x.charge_seq}/${x.kind}/${x.cycle}`));
    return rows.filter((x) => written.has(`${x.subscriberId}/${x.subscriberOfferId}/${x.chargeSeq}/${x.kind}/${x.cycle}`));
  },

  /**
   * R-BIL-5: the rated usage of these subscribers not yet billed in the cycle (usage_charges: amount_fen −
   * billed_fen), marked billed in the same statement, so billing it twice bills it once. Under the rating
   * lock taken shared (as usageService.chargesForSubscribers + markBilled, whose contract this is: no rating
   * commits in between). Each subscriber's rows are found through (subscriber_id, cycle) and updated by
   * their row address: never a scan of the cycle's unbilled charges per chunk (the plan of the two
   * statements it replaces at 100,000 subscribers: 123,000 index entries read per chunk of 2,000 accounts).
   */
  async takeUnbilledUsage(q: Q, subscriberIds: number[], cycle: string, now: Date): Promise<{ subscriberId: number; itemCode: string; amountFen: Fen }[]> {
    if (subscriberIds.length === 0) return [];
    await sql`SELECT pg_advisory_xact_lock_shared(${RATING_LOCK}::bigint)`.execute(q);
    const r = await sql<{ subscriber_id: number; item_code: string; amount: number }>`
      WITH u AS MATERIALIZED (
        SELECT uc.ctid AS tid, uc.subscriber_id, uc.item_code, uc.amount_fen - uc.billed_fen AS amount
          FROM unnest(${subscriberIds}::bigint[]) AS s (subscriber_id)
          CROSS JOIN LATERAL (
            SELECT x.ctid, x.subscriber_id, x.item_code, x.amount_fen, x.billed_fen FROM usage_charges x
             WHERE x.subscriber_id = s.subscriber_id AND x.cycle = ${cycle} AND x.billed_fen < x.amount_fen OFFSET 0
          ) uc
      ), billed AS (
        UPDATE usage_charges x SET billed_fen = x.amount_fen, billed_at = ${now}
         WHERE x.ctid = ANY(ARRAY(SELECT tid FROM u)) AND x.billed_fen < x.amount_fen
      )
      SELECT subscriber_id, item_code, amount FROM u ORDER BY subscriber_id, item_code`.execute(q);
    return r.rows.map((x) => ({ subscriberId: Number(x.subscriber_id), itemCode: x.item_code, amountFen: Number(x.amount) }));
  },

  /** Live payment relations of the subscribers and what each already took in the cycle (R-ACC-9 limits). */
  async relations(q: Q, subscriberIds: number[], cycle: string) {
    if (subscriberIds.length === 0) return [];
    const r = await sql<{ relation_id: number; subscriber_id: number; payer_account_id: number; priority: number; items: string[] | null; limit_fen: number | null; used: number }>`
      SELECT r.relation_id, r.subscriber_id, r.payer_account_id, r.priority, r.items, r.limit_fen,
             coalesce((SELECT sum(l.amount_fen) FROM bill_lines l WHERE l.relation_id = r.relation_id AND l.cycle = ${cycle}), 0)::bigint AS used
        FROM payment_relations r
       WHERE r.subscriber_id = ANY(${subscriberIds}::bigint[]) AND r.revoked_at IS NULL
       ORDER BY r.priority, r.relation_id`.execute(q);
    return r.rows.map((x) => ({ ...x, used: Number(x.used) }));
  },

  /**
   * The bills of (account, cycle) — created, or taken over by the run as pre-bills — then the lines,
   * in two statements for a whole chunk. Bills are upserted in account order (no deadlock between chunks
   * sharing a payer).
   */
  async insertBillsAndLines(q: Q, cycle: string, lines: NewLine[], opts: { runId: number | null; status: 'prebill' | 'published'; now: Date }): Promise<Map<number, number>> {
    if (lines.length === 0) return new Map();
    const accounts = [...new Set(lines.map((l) => l.accountId))].sort((a, b) => a - b);
    const published = opts.status === 'published';
    // one statement: the bills upserted, then their lines joined to the bills it returned (no second
    // lookup of each line's bill through the (account_id, cycle) index)
    const bills = await sql<{ account_id: number; bill_id: number }>`
      WITH b AS (
        INSERT INTO bills (account_id, cycle, status, run_id, created_at, published_at, due_at)
        SELECT a, ${cycle}, ${opts.status}, ${opts.runId}::bigint, ${opts.now}::timestamptz,
               ${published ? opts.now : null}::timestamptz, ${published ? opts.now : null}::timestamptz
          FROM unnest(${accounts}::bigint[]) AS a ORDER BY a
        ON CONFLICT (account_id, cycle) DO UPDATE SET
          ${published ? sql`cycle = EXCLUDED.cycle` : sql`status = 'prebill', run_id = EXCLUDED.run_id`}
        RETURNING account_id, bill_id
      ), l AS (
        INSERT INTO bill_lines (account_id, bill_id, cycle, subscriber_id, item_code, amount_fen, relation_id, source, run_id, created_at)
        SELECT v.account_id, b.bill_id, ${cycle}, v.subscriber_id, v.item_code, v.amount_fen, v.relation_id, v.source, ${opts.runId}::bigint, ${opts.now}::timestamptz
          FROM unnest(${lines.map((l) => l.accountId)}::bigint[], ${lines.map((l) => l.subscriberId)}::bigint[], ${lines.map((l) => l.itemCode)}::text[],
                      ${lines.map((l) => l.amountFen)}::bigint[], ${lines.map((l) => l.relationId)}::bigint[], ${lines.map((l) => l.source)}::text[])
               AS v(account_id, subscriber_id, item_code, amount_fen, relation_id, source)
          JOIN b ON b.account_id = v.account_id
      )
      SELECT account_id, bill_id FROM b`.execute(q);
    return new Map(bills.rows.map((b) => [b.account_id, b.bill_id]));
  },

  /** A re-run (R-BIL-9) takes back what the run billed the subscribers: their pre-bill lines and ledger rows. */
  async takeBack(q: Q, runId: number, cycle: string, subscriberIds: number[]) {
    const r = await sql<{ subscriber_id: number; item_code: string; amount_fen: number; source: string }>`
      WITH gone AS (
        DELETE FROM bill_lines l USING bills b
         WHERE l.subscriber_id = ANY(${subscriberIds}::bigint[]) AND l.cycle = ${cycle} AND l.run_id = ${runId}
           AND b.account_id = l.account_id AND b.bill_id = l.bill_id AND b.status = 'prebill' AND l.paid_fen = 0
        RETURNING l.subscriber_id, l.item_code, l.amount_fen, l.source
      ), led AS (
        DELETE FROM recurring_charges WHERE subscriber_id = ANY(${subscriberIds}::bigint[]) AND cycle = ${cycle} AND run_id = ${runId}
      )
      SELECT * FROM gone`.execute(q);
    return r.rows;
  },

  /**
   * Accounts that may owe a late fee for the cycle (a superset: published lines of earlier cycles open,
   * or paid during it). Probed account by account through their indexes (a LATERAL … LIMIT 1 each):
   * the cost follows the chunk, never the tables (a join over the chunk's ids was planned as scans of
   * all bills and lines of earlier cycles).
   */
  async mayOweLateFees(q: Q, ids: number[], cycle: string, since: Date): Promise<number[]> {
    if (ids.length === 0) return [];
    const r = await sql<{ account_id: number }>`
      SELECT a.account_id FROM unnest(${ids}::bigint[]) AS a (account_id)
        LEFT JOIN LATERAL (
          SELECT true AS yes FROM bill_lines l JOIN bills b ON b.account_id = l.account_id AND b.bill_id = l.bill_id AND b.status = 'published'
           WHERE l.account_id = a.account_id AND l.paid_fen < l.amount_fen AND l.cycle < ${cycle} AND l.item_code <> 'LATE_FEE' LIMIT 1
        ) open ON true
        LEFT JOIN LATERAL (
          SELECT true AS yes FROM write_offs w
            JOIN bill_lines l ON l.account_id = w.account_id AND l.line_id = w.line_id AND l.cycle < ${cycle} AND l.item_code <> 'LATE_FEE'
            JOIN bills b ON b.account_id = l.account_id AND b.bill_id = l.bill_id AND b.status = 'published'
           WHERE w.account_id = a.account_id AND w.created_at >= ${since} LIMIT 1
        ) paid ON open.yes IS NULL
       WHERE open.yes OR paid.yes
       GROUP BY a.account_id ORDER BY a.account_id`.execute(q);
    return r.rows.map((x) => x.account_id);
  },

  /** Publishes the run's pre-bills of accounts in (lo, hi] with a due date, audited, one bill.published event each. */
  async publishBills(q: Q, runId: number, lo: number, hi: number, now: Date, dueAt: Date, operatorId: number | null) {
    const r = await sql<{ account_id: number; bill_id: number }>`
      WITH pb AS (
        UPDATE bills SET status = 'published', published_at = ${now}, due_at = ${dueAt}
         WHERE run_id = ${runId} AND status = 'prebill' AND account_id > ${lo} AND account_id <= ${hi}
        RETURNING account_id, bill_id, cycle
      ), v AS (
        SELECT pb.account_id, pb.bill_id, jsonb_build_object('accountId', pb.account_id, 'billId', pb.bill_id, 'cycle', pb.cycle, 'runId', ${runId}::bigint,
               'dueAt', ${dueAt.toISOString()}::text, 'totalFen', (SELECT coalesce(sum(l.amount_fen), 0) FROM bill_lines l WHERE l.account_id = pb.account_id AND l.bill_id = pb.bill_id)) AS view
          FROM pb
      ), au AS (
        INSERT INTO audit_log (at, operator_id, department_id, action, target_type, target_id, account_id, before, after, request_id)
        SELECT ${now}::timestamptz, ${operatorId}::bigint, NULL, 'bill.publish', 'bill', v.bill_id::text, v.account_id, NULL, v.view, NULL FROM v
      ), ob AS (
        INSERT INTO outbox (event_type, aggregate_type, aggregate_id, account_id, payload, occurred_at)
        SELECT 'bill.published', 'account', v.account_id::text, v.account_id, v.view, ${now}::timestamptz FROM v
      )
      SELECT account_id, bill_id FROM v ORDER BY account_id`.execute(q);
    return r.rows;
  },

  /** Locks accounts in id order and bumps money_version (as accountRepo.lockAccounts, for many at once). */
  async lockAccounts(q: Q, ids: number[]) {
    if (ids.length === 0) return;
    // locked in id order first; the update then finds each row by its key (a.account_id = ANY too: never a scan of all accounts)
    await sql`
      UPDATE accounts a SET money_version = a.money_version + 1
        FROM (SELECT account_id FROM accounts WHERE account_id = ANY(${ids}::bigint[]) ORDER BY account_id FOR UPDATE) l
       WHERE a.account_id = ANY(${ids}::bigint[]) AND a.account_id = l.account_id`.execute(q);
  },
  async parkedPayments(q: Q, ids: number[]) {
    if (ids.length === 0) return [];
    const r = await sql<{ account_id: number; payment_id: number }>`
      SELECT account_id, payment_id FROM parked_payments WHERE account_id = ANY(${ids}::bigint[]) AND replayed_at IS NULL ORDER BY account_id, payment_id`.execute(q);
    return r.rows;
  },
  markReplayed(q: Q, accountId: number, paymentId: number, now: Date) {
    return sql`UPDATE parked_payments SET replayed_at = ${now} WHERE account_id = ${accountId} AND payment_id = ${paymentId}`.execute(q);
  },
  /** R-X-9: is the account's write-off waiting for a bill run (it has pre-bills)? If so, park the payment. */
  async parkIfPrebilled(q: Q, accountId: number, paymentId: number, now: Date): Promise<boolean> {
    const r = await sql<{ parked: number }>`
      INSERT INTO parked_payments (account_id, payment_id, parked_at)
      SELECT ${accountId}, ${paymentId}, ${now} WHERE EXISTS (SELECT 1 FROM bills WHERE account_id = ${accountId} AND status = 'prebill')
      RETURNING 1 AS parked`.execute(q);
    return r.rows.length > 0;
  },

  /** R-ACC-2 for many accounts: expired books' rest is closed by a visible expiry record. */
  async expireDueBooks(q: Q, ids: number[], now: Date) {
    if (ids.length === 0) return;
    await sql`
      WITH due AS (
        SELECT account_id, book_id, balance_fen FROM books
         WHERE account_id = ANY(${ids}::bigint[]) AND balance_fen > 0 AND expiry_at IS NOT NULL AND expiry_at <= ${now}
      ), closed AS (
        UPDATE books b SET balance_fen = 0, closed_at = ${now} FROM due
         WHERE b.account_id = due.account_id AND b.book_id = due.book_id RETURNING b.account_id, b.book_id, due.balance_fen
      )
      INSERT INTO book_expiries (account_id, book_id, amount_fen, expired_at) SELECT account_id, book_id, balance_fen, ${now} FROM closed`.execute(q);
  },
  /** Usable books of many accounts, as the write-off rules see them. */
  async bookStates(q: Q, ids: number[], now: Date): Promise<Map<number, BookState[]>> {
    const out = new Map<number, BookState[]>();
    if (ids.length === 0) return out;
    const r = await sql<{
      account_id: number;
      book_id: number;
      book_type: string;
      priority: number;
      pays_earlier_cycles: boolean;
      excluded_items: string[];
      restricted_items: string[] | null;
      subscriber_id: number | null;
      start_at: Date;
      expiry_at: Date | null;
      balance_fen: number;
    }>`
      SELECT b.account_id, b.book_id, b.book_type, t.priority, t.pays_earlier_cycles, t.excluded_items, b.restricted_items, b.subscriber_id,
             b.start_at, b.expiry_at, b.balance_fen
        FROM books b JOIN book_types t ON t.code = b.book_type
       WHERE b.account_id = ANY(${ids}::bigint[]) AND b.balance_fen > 0 AND b.start_at <= ${now}
       ORDER BY b.account_id, b.book_id`.execute(q);
    for (const x of r.rows) {
      const list = out.get(x.account_id) ?? [];
      list.push({
        bookId: x.book_id,
        bookType: x.book_type,
        typePriority: x.priority,
        paysEarlierCycles: x.pays_earlier_cycles,
        excludedItems: x.excluded_items,
        restrictedItems: x.restricted_items,
        subscriberId: x.subscriber_id,
        startAt: x.start_at,
        expiryAt: x.expiry_at,
        balanceFen: x.balance_fen,
      });
      out.set(x.account_id, list);
    }
    return out;
  },
  /** Open lines of published bills of many accounts (R-BIL-9: pre-bills are never written off). */
  async openLines(q: Q, ids: number[]): Promise<Map<number, LineState[]>> {
    const out = new Map<number, LineState[]>();
    if (ids.length === 0) return out;
    const r = await sql<{
      account_id: number;
      line_id: number;
      cycle: string;
      subscriber_id: number;
      item_code: string;
      priority: number;
      billing_type: BillingType;
      open_fen: number;
      principal_line_id: number | null;
    }>`
      SELECT l.account_id, l.line_id, l.cycle, l.subscriber_id, l.item_code, i.priority, x.billing_type, (l.amount_fen - l.paid_fen) AS open_fen,
             x.principal_line_id
        FROM bill_lines l
        -- per open line, by their keys (LATERAL … OFFSET 0: never a hash join over all bills or accruals):
        -- its bill published (R-BIL-9), the billing type of its subscriber's account, and (R-X-7) the
        -- principal of a late-fee line, paid together with it (as accountRepo.openLines)
        CROSS JOIN LATERAL (
          SELECT a.billing_type, (SELECT lf.principal_line_id FROM late_fee_accruals lf WHERE lf.account_id = l.account_id AND lf.late_fee_line_id = l.line_id) AS principal_line_id
            FROM bills b, subscribers s, accounts a
           WHERE b.account_id = l.account_id AND b.bill_id = l.bill_id AND b.status = 'published'
             AND s.subscriber_id = l.subscriber_id AND a.account_id = s.default_account_id OFFSET 0
        ) x
        JOIN bill_items i ON i.code = l.item_code
       WHERE l.account_id = ANY(${ids}::bigint[]) AND l.paid_fen < l.amount_fen`.execute(q);
    for (const x of r.rows) {
      const list = out.get(x.account_id) ?? [];
      list.push({ lineId: x.line_id, cycle: x.cycle, subscriberId: x.subscriber_id, itemCode: x.item_code, itemPriority: x.priority, billingType: x.billing_type, openFen: Number(x.open_fen), principalLineId: x.principal_line_id });
      out.set(x.account_id, list);
    }
    return out;
  },
  /**
   * Stores the write-offs of many accounts (R-ACC-6) and their projections, in one statement. Every line and
   * book written off is updated by its key here (locked to commit); fewer found than written off fails the
   * chunk (migration 0018: this check stands for the foreign keys of write_offs).
   */
  async applyWriteOffs(q: Q, rows: (Allocation & { accountId: number; triggerKind: 'bill' | 'payment'; triggerId: number })[], now: Date) {
    if (rows.length === 0) return;
    const r = await sql<{ lines: number; books: number }>`
      WITH v AS (
        SELECT * FROM unnest(${rows.map((x) => x.accountId)}::bigint[], ${rows.map((x) => x.lineId)}::bigint[], ${rows.map((x) => x.bookId)}::bigint[],
                             ${rows.map((x) => x.amountFen)}::bigint[], ${rows.map((x) => x.triggerKind)}::text[], ${rows.map((x) => x.triggerId)}::bigint[])
                 AS v(account_id, line_id, book_id, amount_fen, trigger_kind, trigger_id)
      ), w AS (
        INSERT INTO write_offs (account_id, line_id, book_id, amount_fen, trigger_kind, trigger_id, created_at)
        SELECT account_id, line_id, book_id, amount_fen, trigger_kind, trigger_id, ${now}::timestamptz FROM v
      ), l AS (
        UPDATE bill_lines bl SET paid_fen = bl.paid_fen + x.amt
          FROM (SELECT account_id, line_id, sum(amount_fen) AS amt FROM v GROUP BY account_id, line_id) x
         WHERE bl.account_id = x.account_id AND bl.line_id = x.line_id
        RETURNING 1
      ), b AS (
        UPDATE books bk SET balance_fen = bk.balance_fen - x.amt
          FROM (SELECT account_id, book_id, sum(amount_fen) AS amt FROM v GROUP BY account_id, book_id) x
         WHERE bk.account_id = x.account_id AND bk.book_id = x.book_id
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM l)::int AS lines, (SELECT count(*) FROM b)::int AS books`.execute(q);
    checkWriteOffTargets(rows, r.rows[0]);
  },

  /** R-BIL-9 review: totals per bill item of a cycle (all its bills, pre-bills included) and of the cycle before. */
  async itemTotals(q: Q, cycles: string[]) {
    const r = await sql<{ cycle: string; item_code: string; name_zh: string; name_en: string; total: number; lines: number }>`
      SELECT l.cycle, l.item_code, i.name_zh, i.name_en, sum(l.amount_fen)::bigint AS total, count(*)::bigint AS lines
        FROM bill_lines l JOIN bill_items i ON i.code = l.item_code
       WHERE l.cycle = ANY(${cycles}::text[])
       GROUP BY l.cycle, l.item_code, i.name_zh, i.name_en, i.priority ORDER BY i.priority`.execute(q);
    return r.rows.map((x) => ({ ...x, total: Number(x.total), lines: Number(x.lines) }));
  },
  /** R-BIL-9: subscribers whose bill of the run is more than `factor` × their average of the three cycles before. */
  async anomalies(q: Q, runId: number, cycle: string, previous: string[], factor: number, minFen: Fen, limit: number) {
    const r = await sql<{ subscriber_id: number; account_id: number; service_number: string; total: number; average: number }>`
      WITH cur AS (
        SELECT subscriber_id, sum(amount_fen) AS total FROM bill_lines WHERE run_id = ${runId} AND cycle = ${cycle} GROUP BY subscriber_id HAVING sum(amount_fen) >= ${minFen}
      ), hist AS (
        SELECT l.subscriber_id, sum(l.amount_fen)::numeric / count(DISTINCT l.cycle) AS average
          FROM bill_lines l JOIN cur ON cur.subscriber_id = l.subscriber_id
         WHERE l.cycle = ANY(${previous}::text[]) GROUP BY l.subscriber_id
      )
      SELECT cur.subscriber_id, s.default_account_id AS account_id, s.service_number, cur.total::bigint AS total, round(hist.average)::bigint AS average
        FROM cur JOIN hist ON hist.subscriber_id = cur.subscriber_id JOIN subscribers s ON s.subscriber_id = cur.subscriber_id
       WHERE cur.total > hist.average * ${factor}
       ORDER BY cur.total - hist.average * ${factor} DESC LIMIT ${limit}`.execute(q);
    return r.rows.map((x) => ({ subscriberId: x.subscriber_id, accountId: x.account_id, serviceNumber: x.service_number, totalFen: Number(x.total), averageFen: Number(x.average) }));
  },
  /** Accounts whose bill the run published (for credit control and the totals). */
  async runAccountsInRange(q: Q, runId: number, lo: number, hi: number) {
    const r = await sql<{ account_id: number }>`SELECT account_id FROM bills WHERE run_id = ${runId} AND account_id > ${lo} AND account_id <= ${hi} ORDER BY account_id`.execute(q);
    return r.rows.map((x) => x.account_id);
  },
  /** Bills of an account with their lines and write-offs (newest cycle first). */
  async accountBills(q: Q, accountId: number, limit: number) {
    const r = await sql<{ bill: Record<string, unknown> }>`
      SELECT jsonb_build_object(
               'billId', b.bill_id, 'accountId', b.account_id, 'cycle', b.cycle, 'status', b.status, 'runId', b.run_id,
               'dueAt', b.due_at, 'publishedAt', b.published_at, 'createdAt', b.created_at,
               'totalFen', coalesce((SELECT sum(amount_fen) FROM bill_lines l WHERE l.account_id = b.account_id AND l.bill_id = b.bill_id), 0),
               'paidFen', coalesce((SELECT sum(paid_fen) FROM bill_lines l WHERE l.account_id = b.account_id AND l.bill_id = b.bill_id), 0),
               'lines', coalesce((SELECT jsonb_agg(jsonb_build_object('lineId', l.line_id, 'subscriberId', l.subscriber_id, 'item', l.item_code,
                          'amountFen', l.amount_fen, 'paidFen', l.paid_fen, 'source', l.source, 'relationId', l.relation_id,
                          'writeOffs', coalesce((SELECT jsonb_agg(jsonb_build_object('writeOffId', w.write_off_id, 'bookId', w.book_id, 'amountFen', w.amount_fen,
                                               'trigger', w.trigger_kind, 'triggerId', w.trigger_id, 'at', w.created_at) ORDER BY w.write_off_id)
                                        FROM write_offs w WHERE w.account_id = l.account_id AND w.line_id = l.line_id), '[]'::jsonb))
                        ORDER BY l.line_id) FROM bill_lines l WHERE l.account_id = b.account_id AND l.bill_id = b.bill_id), '[]'::jsonb)) AS bill
        FROM bills b WHERE b.account_id = ${accountId} ORDER BY b.cycle DESC LIMIT ${limit}`.execute(q);
    return r.rows.map((x) => x.bill);
  },
};

type OfferRow = {
  subscriber_id: number;
  account_id: number;
  subscriber_offer_id: number | null;
  member_role: string | null;
  started_at: Date | null;
  ended_at: Date | null;
  minimum_spend_fen: number | null;
  term_ends_at: Date | null;
  seq: number | null;
  item_code: string | null;
  charge_role: string | null;
  amount_fen: number | null;
};

/** Rows (subscriber × offer × charge, sorted) → subscribers with their offers and charges. */
function groupOffers(rows: OfferRow[]): { subscriberId: number; accountId: number; offers: SubscribedOffer[] }[] {
  const out: { subscriberId: number; accountId: number; offers: SubscribedOffer[] }[] = [];
  let sub: (typeof out)[number] | undefined;
  let offer: SubscribedOffer | undefined;
  for (const r of rows) {
    if (!sub || sub.subscriberId !== r.subscriber_id) {
      sub = { subscriberId: r.subscriber_id, accountId: r.account_id, offers: [] };
      out.push(sub);
      offer = undefined;
    }
    if (r.subscriber_offer_id === null || r.started_at === null) continue;
    if (!offer || offer.subscriberOfferId !== r.subscriber_offer_id) {
      offer = {
        subscriberOfferId: r.subscriber_offer_id,
        subscriberId: r.subscriber_id,
        memberRole: r.member_role,
        startedAt: r.started_at,
        endedAt: r.ended_at,
        minimumSpendFen: r.minimum_spend_fen ?? 0,
        termEndsAt: r.term_ends_at,
        charges: [],
      };
      sub.offers.push(offer);
    }
    if (r.seq !== null && r.item_code !== null && r.amount_fen !== null) offer.charges.push({ seq: r.seq, itemCode: r.item_code, memberRole: r.charge_role, amountFen: r.amount_fen });
  }
  return out;
}
