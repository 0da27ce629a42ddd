// SQL of the monthly bundle grants (R-BND-7..9): one set-based statement per chunk of bundles writes the
// grant ledger row, the discount books and grants, the packs, the family numbers, audit rows and outbox
// events. Ids of the new books, grants and packs are drawn from their sequences first, so one statement
// can tie each item to its bundle.
import { sql } from 'kysely';
import type { Actor } from '../../platform/audit.ts';
import { bulkPlanSettings, type Q } from '../../platform/db.ts';
import type { BundleGrantSkip } from '../../platform/schema.ts';

/**
 * "The bundle has no row for the month", probed per bundle through the primary key (package_id, cycle).
 * Written as NOT (cycle = ANY (the bundle's cycles)) so that it stays a per-row subplan: as a NOT EXISTS
 * the planner turns it into an anti-join, and with the month's rows estimated at ~1 (the statistics
 * never know the month being written) it materialised the month's rows and compared every candidate
 * with every one of them (10,000 × 320,000 per chunk, 245 s, at 1,000,000 bundles).
 */
const noRowFor = (cycle: string) => sql`NOT (${cycle}::text = ANY (SELECT g.cycle FROM bundle_grants g WHERE g.package_id = p.package_id))`;

/** The skip reasons a later day can make good (R-BND-8: the broadband resumed or got its fund back). */
export const CATCHABLE: BundleGrantSkip[] = ['broadband_arrears', 'broadband_stopped', 'broadband_no_fund'];

export interface ChunkParams {
  mode: 'month' | 'catchup';
  ids: number[];
  cycle: string;
  /** 1st of the month 00:00 Asia/Shanghai, and the 1st of the next month */
  start: Date;
  end: Date;
  now: Date;
  /** the month before `cycle` (its bundle family numbers end with it) */
  previousCycle: string;
  actor: Actor;
  seq: { book: string; grant: string; pack: string };
}

export interface ChunkResult {
  bundles: number;
  granted: number;
  skipped: number;
  amountFen: number;
  books: number;
  packs: number;
  familyNumbers: number;
  /** receiving accounts with open bill lines: the new book may pay them (money.settle) */
  settle: { accountId: number; grantId: number }[];
  /** lines whose family numbers changed (R-BND-9; granted, or skipped after a month with them): the network is told after the commit */
  familyLines: { subscriberId: number; serviceNumber: string }[];
}

export const grantsRepo = {
  /** The sequences behind the identity columns the chunk statement fills itself. */
  async sequences(q: Q): Promise<ChunkParams['seq']> {
    const r = await sql<{ book: string; grant: string; pack: string }>`
      SELECT pg_get_serial_sequence('books', 'book_id') AS book, pg_get_serial_sequence('grants', 'grant_id') AS grant,
             pg_get_serial_sequence('subscriber_offers', 'subscriber_offer_id') AS pack`.execute(q);
    const row = r.rows[0];
    if (!row) throw new Error('identity sequences not found');
    return row;
  },

  /** Active bundles started before the month without a row for it, in package order after `after`. */
  async monthChunk(q: Q, cycle: string, start: Date, after: number, limit: number): Promise<number[]> {
    const r = await sql<{ package_id: number }>`
      SELECT p.package_id FROM packages p JOIN bundle_offers bo ON bo.offer_code = p.offer_code
       WHERE p.package_id > ${after} AND p.ended_at IS NULL AND p.started_at < ${start}
         AND ${noRowFor(cycle)}
       ORDER BY p.package_id LIMIT ${limit}`.execute(q);
    return r.rows.map((x) => Number(x.package_id));
  },
  async monthPending(q: Q, cycle: string, start: Date): Promise<number> {
    const r = await sql<{ n: string | number }>`
      SELECT count(*) AS n FROM packages p JOIN bundle_offers bo ON bo.offer_code = p.offer_code
       WHERE p.ended_at IS NULL AND p.started_at < ${start}
         AND ${noRowFor(cycle)}`.execute(q);
    return Number(r.rows[0]?.n ?? 0);
  },
  /** Skipped rows of the month a later day may grant (R-BND-8), of bundles still active. */
  async catchUpChunk(q: Q, cycle: string, after: number, limit: number): Promise<number[]> {
    const r = await sql<{ package_id: number }>`
      SELECT g.package_id FROM bundle_grants g JOIN packages p ON p.package_id = g.package_id
       WHERE g.cycle = ${cycle} AND g.status = 'skipped' AND g.reason = ANY(${CATCHABLE}::text[]) AND g.package_id > ${after} AND p.ended_at IS NULL
       ORDER BY g.package_id LIMIT ${limit}`.execute(q);
    return r.rows.map((x) => Number(x.package_id));
  },

  /**
   * R-BND-7 for a chunk of bundles in one statement. Eligibility: the mobile is `normal`; the broadband
   * (when the bundle has one) is neither in arrears (arrears stop or its own overdue published lines,
   * as credit control judges, R-CC-4) nor otherwise stopped, and its fund — a restricted fund of its
   * paying account or a book private to it, usable now (creditRepo.fundFen) — holds money.
   * `month` inserts the (package, cycle) row (ON CONFLICT DO NOTHING: a second run, or a concurrent
   * one, writes nothing); `catchup` turns a skipped row into a granted one. Only bundles whose row this
   * statement wrote get books, grants, packs and family numbers.
   */
  async grantChunk(q: Q, p: ChunkParams): Promise<ChunkResult> {
    const r = await chunkStatement(p).execute(q);
    const row = r.rows[0];
    const s = row?.summary ?? {};
    const n = (k: string) => Number(s[k] ?? 0);
    return {
      bundles: n('bundles'),
      granted: n('granted'),
      skipped: n('skipped'),
      amountFen: n('amountFen'),
      books: n('books'),
      packs: n('packs'),
      familyNumbers: n('familyNumbers'),
      settle: (row?.settle ?? []).map((x) => ({ accountId: Number(x.accountId), grantId: Number(x.grantId) })),
      familyLines: (row?.family ?? []).map((x) => ({ subscriberId: Number(x.subscriberId), serviceNumber: String(x.serviceNumber) })),
    };
  },

  /**
   * Locks the chunk's bundles (in id order): a concurrent run (or catch-up, or an unbind) touching the
   * same bundles waits for this chunk's commit, and then its own statement sees the rows written here.
   * Disjoint chunks run in parallel.
   */
  async lockBundles(q: Q, ids: number[]): Promise<void> {
    await sql`SELECT package_id FROM packages WHERE package_id = ANY(${ids}::bigint[]) ORDER BY package_id FOR UPDATE`.execute(q);
  },

  /**
   * The planner settings of a chunk's transaction (as the stock import and rating set theirs). A custom
   * plan for each chunk: the statement is a named prepared statement, and after five chunks PostgreSQL
   * may keep a generic plan that cannot see the ids (at 1,000,000 bundles that plan joins the members by
   * sequential scans and probes the overdue lines with a hash join per broadband). Index probes priced
   * as the cached pages they are (random_page_cost 1.1): with the default 4 the members were joined by
   * two sequential scans of bundle_members per chunk (0.45 s at 1,000,000 bundles, growing with the
   * table). No JIT (0.12 s of compiling per chunk, more than it saves), and work_mem for the chunk's
   * CTEs to stay in memory (4 MB spilled the audit view to a temporary file).
   */
  async chunkSettings(q: Q): Promise<void> {
    await bulkPlanSettings(q, { randomPageCost: '1.1', workMem: '64MB' });
  },

  /** The family numbers a line has at `at` (what the network should hold, R-BND-9). */
  async familyNumbersAt(q: Q, subscriberIds: number[], at: Date): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    if (subscriberIds.length === 0) return out;
    const r = await sql<{ subscriber_id: number; numbers: string[] }>`
      SELECT subscriber_id, array_agg(DISTINCT family_number ORDER BY family_number) AS numbers FROM family_numbers
       WHERE subscriber_id = ANY(${subscriberIds}::bigint[]) AND valid_from <= ${at} AND (valid_to IS NULL OR valid_to > ${at})
       GROUP BY subscriber_id`.execute(q);
    for (const x of r.rows) out.set(Number(x.subscriber_id), x.numbers);
    return out;
  },

  // ---- the report ----

  async totals(q: Q, cycle: string) {
    const r = await sql<{ bundles: string | number; granted: string | number; skipped: string | number; amount_fen: string | number }>`
      SELECT count(*) AS bundles, count(*) FILTER (WHERE status = 'granted') AS granted, count(*) FILTER (WHERE status = 'skipped') AS skipped,
             coalesce(sum(amount_fen), 0)::bigint AS amount_fen
        FROM bundle_grants WHERE cycle = ${cycle}`.execute(q);
    const t = r.rows[0];
    return { bundles: Number(t?.bundles ?? 0), granted: Number(t?.granted ?? 0), skipped: Number(t?.skipped ?? 0), amountFen: Number(t?.amount_fen ?? 0) };
  },
  async byReason(q: Q, cycle: string) {
    const r = await sql<{ reason: string; count: string | number }>`
      SELECT reason, count(*) AS count FROM bundle_grants WHERE cycle = ${cycle} AND status = 'skipped' GROUP BY reason ORDER BY reason`.execute(q);
    return r.rows.map((x) => ({ reason: x.reason, count: Number(x.count) }));
  },
  async byOffer(q: Q, cycle: string) {
    const r = await sql<{ offer_code: string; granted: string | number; skipped: string | number; amount_fen: string | number }>`
      SELECT p.offer_code, count(*) FILTER (WHERE g.status = 'granted') AS granted, count(*) FILTER (WHERE g.status = 'skipped') AS skipped,
             coalesce(sum(g.amount_fen), 0)::bigint AS amount_fen
        FROM bundle_grants g JOIN packages p ON p.package_id = g.package_id
       WHERE g.cycle = ${cycle} GROUP BY p.offer_code ORDER BY p.offer_code`.execute(q);
    return r.rows.map((x) => ({ offerCode: x.offer_code, granted: Number(x.granted), skipped: Number(x.skipped), amountFen: Number(x.amount_fen) }));
  },
  async items(q: Q, cycle: string, p: { status?: 'granted' | 'skipped' | undefined; limit: number; offset: number }) {
    const filter = p.status ? sql`AND g.status = ${p.status}` : sql``;
    const r = await sql<{
      package_id: number;
      offer_code: string;
      mobile_number: string | null;
      broadband_number: string | null;
      status: 'granted' | 'skipped';
      reason: BundleGrantSkip | null;
      amount_fen: string | number;
      granted_at: Date | null;
      caught_up: boolean;
    }>`
      SELECT g.package_id, p.offer_code, g.status, g.reason, g.amount_fen, g.granted_at, g.caught_up,
             (SELECT s.service_number FROM bundle_members m JOIN subscribers s ON s.subscriber_id = m.subscriber_id
               WHERE m.package_id = g.package_id AND m.member_role = 'mobile' ORDER BY m.left_at NULLS FIRST LIMIT 1) AS mobile_number,
             (SELECT s.service_number FROM bundle_members m JOIN subscribers s ON s.subscriber_id = m.subscriber_id
               WHERE m.package_id = g.package_id AND m.member_role = 'broadband' ORDER BY m.left_at NULLS FIRST LIMIT 1) AS broadband_number
        FROM bundle_grants g JOIN packages p ON p.package_id = g.package_id
       WHERE g.cycle = ${cycle} ${filter}
       ORDER BY g.package_id LIMIT ${p.limit} OFFSET ${p.offset}`.execute(q);
    const c = await sql<{ n: string | number }>`SELECT count(*) AS n FROM bundle_grants g WHERE g.cycle = ${cycle} ${filter}`.execute(q);
    return {
      total: Number(c.rows[0]?.n ?? 0),
      items: r.rows.map((x) => ({
        packageId: Number(x.package_id),
        offerCode: x.offer_code,
        mobileNumber: x.mobile_number,
        broadbandNumber: x.broadband_number,
        status: x.status,
        reason: x.reason,
        amountFen: Number(x.amount_fen),
        grantedAt: x.granted_at ? new Date(x.granted_at).toISOString() : null,
        caughtUp: x.caught_up,
      })),
    };
  },
};

/** The chunk statement of grantsRepo.grantChunk (exported for EXPLAIN in the bench). */
export function chunkStatement(p: ChunkParams) {
  const { cycle, start, end, now, actor } = p;

  const candFrom =
    p.mode === 'month'
      ? sql`FROM packages p JOIN bundle_offers bo ON bo.offer_code = p.offer_code`
      : sql`FROM packages p JOIN bundle_offers bo ON bo.offer_code = p.offer_code
            JOIN bundle_grants g0 ON g0.package_id = p.package_id AND g0.cycle = ${cycle} AND g0.status = 'skipped' AND g0.reason = ANY(${CATCHABLE}::text[])`;
  const candWhere =
    p.mode === 'month'
      ? sql`p.started_at < ${start} AND ${noRowFor(cycle)}`
      : sql`true`;
  const write =
    p.mode === 'month'
      ? sql`INSERT INTO bundle_grants (package_id, cycle, account_id, status, reason, amount_fen, grant_ids, pack_ids, checked_at, granted_at)
            SELECT package_id, ${cycle}, account_id, CASE WHEN reason IS NULL THEN 'granted' ELSE 'skipped' END, reason, amount_fen, grant_ids, pack_ids,
                   ${now}::timestamptz, CASE WHEN reason IS NULL THEN ${now}::timestamptz END
              FROM agg
            ON CONFLICT (package_id, cycle) DO NOTHING
            RETURNING package_id, account_id, status, reason, amount_fen, grant_ids, pack_ids, caught_up`
      : sql`UPDATE bundle_grants g SET status = 'granted', reason = NULL, account_id = agg.account_id, amount_fen = agg.amount_fen, grant_ids = agg.grant_ids,
                   pack_ids = agg.pack_ids, checked_at = ${now}, granted_at = ${now}, caught_up = true
              FROM agg
             WHERE agg.reason IS NULL AND g.package_id = agg.package_id AND g.cycle = ${cycle} AND g.status = 'skipped'
            RETURNING g.package_id, g.account_id, g.status, g.reason, g.amount_fen, g.grant_ids, g.pack_ids, g.caught_up`;
  return sql<{ summary: Record<string, string | number>; settle: { accountId: number; grantId: number }[] | null; family: { subscriberId: number; serviceNumber: string }[] | null }>`
    WITH base AS MATERIALIZED (
      SELECT p.package_id, p.offer_code, p.account_id AS package_account, bo.family_roles,
             ms.subscriber_id AS mobile_id, ms.status AS mobile_status, ms.default_account_id AS mobile_account,
             bs.subscriber_id AS bb_id, bs.status AS bb_status, bs.default_account_id AS bb_account
        ${candFrom}
        LEFT JOIN bundle_members mm ON mm.package_id = p.package_id AND mm.member_role = 'mobile' AND mm.left_at IS NULL
        LEFT JOIN subscribers ms ON ms.subscriber_id = mm.subscriber_id
        LEFT JOIN bundle_members bm ON bm.package_id = p.package_id AND bm.member_role = 'broadband' AND bm.left_at IS NULL
        LEFT JOIN subscribers bs ON bs.subscriber_id = bm.subscriber_id
       WHERE p.package_id = ANY(${p.ids}::bigint[]) AND p.ended_at IS NULL AND ${candWhere}
    ),
    cand AS MATERIALIZED (
      SELECT b.*,
             CASE
               WHEN b.mobile_id IS NOT NULL AND b.mobile_status <> 'normal' THEN 'mobile_not_normal'
               WHEN b.bb_id IS NULL THEN NULL
               WHEN b.bb_status = 'arrears_stop' OR EXISTS (
                 SELECT 1 FROM bill_lines l
                   JOIN bills bl ON bl.account_id = l.account_id AND bl.bill_id = l.bill_id
                   JOIN accounts a ON a.account_id = l.account_id
                  WHERE l.subscriber_id = b.bb_id AND l.paid_fen < l.amount_fen AND bl.status = 'published'
                    AND (a.billing_type = 'virtual' OR bl.due_at IS NULL OR bl.due_at <= ${now})) THEN 'broadband_arrears'
               WHEN b.bb_status <> 'normal' THEN 'broadband_stopped'
               WHEN NOT EXISTS (
                 SELECT 1 FROM books k
                  WHERE k.account_id = b.bb_account AND k.balance_fen > 0 AND k.start_at <= ${now} AND (k.expiry_at IS NULL OR k.expiry_at > ${now})
                    AND (k.subscriber_id = b.bb_id OR (k.subscriber_id IS NULL AND k.book_type = 'restricted_fund'))) THEN 'broadband_no_fund'
             END AS reason
        FROM base b
    ),
    it AS MATERIALIZED (
      SELECT c.package_id, gi.seq, gi.kind, gi.amount_fen, gi.restricted_items, gi.pack_offer_code, gi.member_role, gi.name_zh,
             rs.subscriber_id AS receiver_id, rs.default_account_id AS receiver_account,
             CASE WHEN gi.kind = 'money' THEN nextval(${p.seq.book}::regclass) END AS book_id,
             CASE WHEN gi.kind = 'money' THEN nextval(${p.seq.grant}::regclass) END AS grant_id,
             CASE WHEN gi.kind = 'pack' THEN nextval(${p.seq.pack}::regclass) END AS pack_id
        FROM cand c
        JOIN bundle_grant_items gi ON gi.offer_code = c.offer_code
        JOIN bundle_members r ON r.package_id = c.package_id AND r.member_role = gi.member_role AND r.left_at IS NULL
        JOIN subscribers rs ON rs.subscriber_id = r.subscriber_id
       WHERE c.reason IS NULL
    ),
    agg AS (
      SELECT c.package_id, c.reason, coalesce(c.mobile_account, c.package_account) AS account_id,
             coalesce(sum(it.amount_fen) FILTER (WHERE it.kind = 'money'), 0)::bigint AS amount_fen,
             coalesce(array_agg(it.grant_id ORDER BY it.seq) FILTER (WHERE it.kind = 'money'), '{}'::bigint[]) AS grant_ids,
             coalesce(array_agg(it.pack_id ORDER BY it.seq) FILTER (WHERE it.kind = 'pack'), '{}'::bigint[]) AS pack_ids
        FROM cand c LEFT JOIN it ON it.package_id = c.package_id
       GROUP BY c.package_id, c.reason, c.mobile_account, c.package_account
    ),
    bg AS (${write}),
    -- the items of the granted bundles: it holds only eligible ones, and with the bundles locked (lockBundles)
    -- every row of agg is written (joining bg here would make the planner loop over it per item)
    ok AS (SELECT * FROM it),
    bk AS (
      INSERT INTO books (account_id, book_id, book_type, restricted_items, subscriber_id, start_at, expiry_at, amount_fen, balance_fen, source_kind, created_at)
      SELECT receiver_account, book_id, 'discount', restricted_items, receiver_id, ${start}::timestamptz, ${end}::timestamptz, amount_fen, amount_fen, 'grant', ${now}::timestamptz
        FROM ok WHERE kind = 'money'
      RETURNING account_id
    ),
    gr AS (
      INSERT INTO grants (account_id, grant_id, amount_fen, book_type, book_id, reason, operator_id, created_at)
      SELECT receiver_account, grant_id, amount_fen, 'discount', book_id, '捆绑赠送 ' || ${cycle}::text || ' ' || name_zh || ' (bundle ' || package_id || ')',
             ${actor.operatorId}::bigint, ${now}::timestamptz
        FROM ok WHERE kind = 'money'
      RETURNING account_id
    ),
    so AS (
      INSERT INTO subscriber_offers (subscriber_offer_id, subscriber_id, offer_code, kind, package_id, member_role, order_id, started_at, ended_at)
      SELECT pack_id, receiver_id, pack_offer_code, 'pack', NULL, member_role, NULL, ${start}::timestamptz, ${end}::timestamptz FROM ok WHERE kind = 'pack'
      RETURNING subscriber_id
    ),
    -- the family numbers of the granted family bundles: driven from cand (800 of 10,000 bundles), not from bg,
    -- whose few-rows estimate made the planner probe the members of every granted bundle first; as for ok,
    -- every eligible candidate's row is written
    fam AS (
      INSERT INTO family_numbers (subscriber_id, family_number, valid_from, valid_to, rate_fen, source, source_id, created_at)
      SELECT a.subscriber_id, os.service_number, ${start}::timestamptz, ${end}::timestamptz, 0, 'bundle', c.package_id || ':' || ${cycle}::text, ${now}::timestamptz
        FROM cand c
        JOIN bundle_members a ON a.package_id = c.package_id AND a.left_at IS NULL AND a.member_role = ANY(c.family_roles)
        JOIN bundle_members o ON o.package_id = c.package_id AND o.left_at IS NULL AND o.member_role = ANY(c.family_roles) AND o.subscriber_id <> a.subscriber_id
        JOIN subscribers os ON os.subscriber_id = o.subscriber_id
       WHERE c.reason IS NULL AND c.family_roles IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM family_numbers f WHERE f.source = 'bundle' AND f.source_id = c.package_id || ':' || ${cycle}::text AND f.subscriber_id = a.subscriber_id)
      RETURNING subscriber_id, family_number, source_id
    ),
    fa AS (
      SELECT source_id, jsonb_agg(jsonb_build_object('subscriberId', subscriber_id, 'familyNumber', family_number) ORDER BY subscriber_id) AS numbers FROM fam GROUP BY source_id
    ),
    v AS (
      SELECT bg.package_id, bg.account_id, bg.status,
             jsonb_build_object('packageId', bg.package_id, 'offerCode', c.offer_code, 'cycle', ${cycle}::text, 'status', bg.status, 'reason', bg.reason,
                                'accountId', bg.account_id, 'amountFen', bg.amount_fen, 'grantIds', to_jsonb(bg.grant_ids), 'packIds', to_jsonb(bg.pack_ids),
                                'caughtUp', bg.caught_up,
                                'familyNumbers', coalesce(fa.numbers, '[]'::jsonb)) AS view
        FROM bg JOIN cand c ON c.package_id = bg.package_id
        LEFT JOIN fa ON fa.source_id = bg.package_id || ':' || ${cycle}::text
    ),
    au AS (
      INSERT INTO audit_log (at, operator_id, department_id, action, target_type, target_id, account_id, before, after, request_id)
      SELECT ${now}::timestamptz, ${actor.operatorId}::bigint, ${actor.departmentId}::text, CASE WHEN v.status = 'granted' THEN 'bundle.grant' ELSE 'bundle.grant_skip' END,
             'bundle', v.package_id::text, v.account_id, NULL, v.view, ${actor.requestId ?? null}::text
        FROM v
      RETURNING 1
    ),
    ob AS (
      INSERT INTO outbox (event_type, aggregate_type, aggregate_id, account_id, payload, occurred_at)
      SELECT CASE WHEN v.status = 'granted' THEN 'bundle.granted' ELSE 'bundle.grant_skipped' END, 'bundle', v.package_id::text, v.account_id, v.view, ${now}::timestamptz
        FROM v
      RETURNING 1
    ),
    -- a family bundle skipped this month whose lines had last month's bundle family numbers: the network is told again
    stale AS (
      SELECT m.subscriber_id FROM bg
        JOIN cand c ON c.package_id = bg.package_id
        JOIN bundle_members m ON m.package_id = bg.package_id AND m.left_at IS NULL AND m.member_role = ANY(c.family_roles)
       WHERE bg.status = 'skipped' AND c.family_roles IS NOT NULL
         AND EXISTS (SELECT 1 FROM family_numbers f WHERE f.source = 'bundle' AND f.source_id = bg.package_id || ':' || ${p.previousCycle}::text AND f.subscriber_id = m.subscriber_id)
    ),
    st AS (
      SELECT ok.receiver_account AS account_id, min(ok.grant_id) AS grant_id FROM ok
       WHERE ok.kind = 'money' AND EXISTS (SELECT 1 FROM bill_lines l WHERE l.account_id = ok.receiver_account AND l.paid_fen < l.amount_fen)
       GROUP BY ok.receiver_account
    )
    SELECT jsonb_build_object(
             'bundles', (SELECT count(*) FROM bg), 'granted', (SELECT count(*) FROM bg WHERE status = 'granted'),
             'skipped', (SELECT count(*) FROM bg WHERE status = 'skipped'), 'amountFen', (SELECT coalesce(sum(amount_fen), 0) FROM bg),
             'books', (SELECT count(*) FROM bk), 'grants', (SELECT count(*) FROM gr), 'packs', (SELECT count(*) FROM so),
             'familyNumbers', (SELECT count(*) FROM fam), 'audits', (SELECT count(*) FROM au), 'events', (SELECT count(*) FROM ob)) AS summary,
           (SELECT jsonb_agg(jsonb_build_object('accountId', account_id, 'grantId', grant_id) ORDER BY account_id) FROM st) AS settle,
           (SELECT jsonb_agg(DISTINCT jsonb_build_object('subscriberId', f.subscriber_id, 'serviceNumber', s.service_number))
              FROM (SELECT subscriber_id FROM fam UNION SELECT subscriber_id FROM stale) f JOIN subscribers s ON s.subscriber_id = f.subscriber_id) AS family`;
}
