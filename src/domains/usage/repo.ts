// SQL of usage: loading CDRs from the staging table, rating them set-based, charge totals.
import { sql } from 'kysely';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { copyRowsIn } from '../../platform/copy-binary.ts';
import { bulkPlanSettings, type Db, inTransaction, type Q, type Tx } from '../../platform/db.ts';
import type { Fen } from '../../platform/money.ts';
import { RecordColumns } from './columns.ts';
import type { ChargeTotal, FamilyNumber, OfferTariff, RatedColumns, RatingRecord, RatingReference, VpmnPeer } from './rating.ts';
import { allowanceKey, chargeKey, poolOf } from './rating.ts';
import { decodePools, type EncodedSet, hashKey, SetEncoder, setRecordIds } from './sets.ts';

/**
 * Rating takes this advisory lock exclusively for each chunk it rates; the bill run takes it shared
 * (chargesForSubscribers) so that no rating commits between its reading and marking the charges.
 */
export const RATING_LOCK = 7_573_616_765;

/** rules.ts USAGES index of voice. */
const VOICE = 0;

/** A record matched to its subscriber, waiting to be rated (R-BIL-3): in a spill file (spill.ts), a pending table or memory. */
export type PendingCdr = RatingRecord;

/** The columns of a pending table, in COPY order. */
export const PENDING_COLUMNS = ['line', 'account_id', 'subscriber_id', 'record_id', 'other_party', 'started_at', 'cycle', 'usage', 'scope', 'quantity', 'area'] as const;

/** A subscriber a number belonged to (not broadband): times in microseconds since the epoch, exact. */
export interface NumberHolder {
  serviceNumber: string;
  subscriberId: number;
  accountId: number;
  activatedUs: bigint;
  cancelledUs: bigint | null;
}

/** The pending table of one file or API batch: its matched records until they are rated into cdrs. */
export const pendingTable = (fileId: number) => `usage_pending_${fileId}`;

export interface RatedChunk {
  /** Pending records of the chunk (duplicates included). */
  matched: number;
  /** Records stored (and rated) in cdrs; matched − accepted were already stored. */
  accepted: number;
  subscriberIds: number[];
  /** the accounts of the records stored (R-BIL-8: the virtual ones among them are charged at once) */
  accountIds: number[];
}

/** A timestamptz as microseconds since the epoch (exact). */
const usText = (col: string) => `(extract(epoch FROM ${col}) * 1000000)::bigint`;
const us = (col: string) => sql.raw(usText(col));
const usOrNull = (v: number | string | null) => (v === null ? null : Number(v));
/** Microseconds since the epoch as an ISO 8601 timestamp with microseconds (UTC). */
export function isoMicros(t: number): string {
  const ms = Math.floor(t / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(t - ms * 1000).padStart(3, '0')}Z`;
}

/**
 * Accounts (ascending, each once) as a condition on the leading column of cdr_sets' (or cdrs') primary
 * key: one range when they are neighbours (a file's chunk holds most accounts of its id range), a probe
 * per account when they are scattered (an API batch: its range would read every set in between).
 */
function accountsKey(accounts: readonly number[]) {
  const lo = accounts[0] as number;
  const hi = accounts[accounts.length - 1] as number;
  return hi - lo < 4 * accounts.length ? sql`account_id BETWEEN ${lo}::bigint AND ${hi}::bigint` : sql`account_id = ANY(${accounts}::bigint[])`;
}

/** The columns of cdr_sets a set is stored with, in COPY order. */
const SET_COLUMNS = 'account_id, subscriber_id, cycle, file_id, part, records, charge_fen, imported_at, body, hashes, pools';

export const usageRepo = {
  /**
   * The subscribers (not broadband) these numbers have belonged to, newest activation first: the
   * import matches each record to the one in service at its start time (R-BIL-3).
   */
  async numberHolders(q: Q, numbers: string[]): Promise<NumberHolder[]> {
    if (numbers.length === 0) return [];
    const r = await sql<{ service_number: string; subscriber_id: number; account_id: number; activated_us: string; cancelled_us: string | null }>`
      SELECT service_number, subscriber_id, default_account_id AS account_id,
             (extract(epoch FROM activated_at) * 1000000)::bigint::text AS activated_us,
             (extract(epoch FROM cancelled_at) * 1000000)::bigint::text AS cancelled_us
        FROM subscribers WHERE service_number = ANY(${numbers}::text[]) AND network <> 'broadband'
       ORDER BY service_number, activated_at DESC, subscriber_id DESC`.execute(q);
    return r.rows.map((x) => ({
      serviceNumber: x.service_number,
      subscriberId: Number(x.subscriber_id),
      accountId: Number(x.account_id),
      activatedUs: BigInt(x.activated_us),
      cancelledUs: x.cancelled_us === null ? null : BigInt(x.cancelled_us),
    }));
  },

  /**
   * A file's pending table (unlogged: its rows are rated into cdrs before the file completes; after a
   * crash the next import marks the file failed and drops it, releaseAbandonedFiles, and the file is
   * imported again). `temp`: dropped at commit (API batches).
   */
  async createPending(q: Q, fileId: number, temp = false): Promise<void> {
    await sql`CREATE ${sql.raw(temp ? 'TEMP' : 'UNLOGGED')} TABLE ${sql.table(pendingTable(fileId))} (
      line bigint NOT NULL, account_id bigint NOT NULL, subscriber_id bigint NOT NULL, record_id text NOT NULL, other_party text NOT NULL,
      started_at timestamptz NOT NULL, cycle text NOT NULL, usage text NOT NULL, scope text NOT NULL, quantity bigint NOT NULL, area text
    )${sql.raw(temp ? ' ON COMMIT DROP' : '')}`.execute(q);
  },

  /** PGlite and API batches: matched records into the pending table as one INSERT from arrays. */
  async stagePending(q: Q, fileId: number, rows: PendingCdr[]): Promise<void> {
    if (rows.length === 0) return;
    await sql`
      INSERT INTO ${sql.table(pendingTable(fileId))} (${sql.raw(PENDING_COLUMNS.join(', '))})
      SELECT * FROM unnest(${rows.map((r) => r.line)}::bigint[], ${rows.map((r) => r.accountId)}::bigint[], ${rows.map((r) => r.subscriberId)}::bigint[],
        ${rows.map((r) => r.recordId)}::text[], ${rows.map((r) => r.otherParty)}::text[], ${rows.map((r) => isoMicros(r.startedUs))}::timestamptz[],
        ${rows.map((r) => r.cycle)}::text[], ${rows.map((r) => r.usage)}::text[], ${rows.map((r) => r.scope)}::text[], ${rows.map((r) => r.quantity)}::bigint[],
        ${rows.map((r) => r.area)}::text[])`.execute(q);
  },

  /**
   * After the last chunk is staged: the index the rating chunks read by (built once, in bulk) and statistics.
   * `sortMemory` (PostgreSQL): maintenance_work_mem for the build, so 20,000,000 rows sort in few runs
   * (PGlite keeps its largest allocation for good: left at its default there).
   */
  async indexPending(q: Q, fileId: number, sortMemory?: string): Promise<void> {
    const t = pendingTable(fileId);
    const build = async (tx: Q) => {
      if (sortMemory) await sql`SELECT set_config('maintenance_work_mem', ${sortMemory}, true)`.execute(tx);
      await sql`CREATE INDEX ${sql.id(`${t}_account_idx`)} ON ${sql.table(t)} (account_id)`.execute(tx);
    };
    await inTransaction(q as Db, q.isTransaction ? (q as Tx) : undefined, build);
    await sql`ANALYZE ${sql.table(t)}`.execute(q);
  },

  async dropPending(q: Q, fileId: number): Promise<void> {
    await sql`DROP TABLE IF EXISTS ${sql.table(pendingTable(fileId))}`.execute(q);
  },

  /**
   * R-BIL-1/R-BIL-2/R-BIL-3: the pending records of the accounts lo..hi (whole accounts, so every
   * allowance pool and every record id of an account is in one chunk) rated and stored in cdrs in one
   * statement: a record id stored before, or earlier in the same file, is a duplicate and left out
   * before the allowances are counted. Run under the rating lock (lockRating), so no other import
   * stores the same record in between.
   */
  async rateFileChunk(q: Q, fileId: number, lo: number, hi: number, now: Date): Promise<RatedChunk> {
    const r = await rateFileStatement(fileId, lo, hi, now).execute(q);
    const row = r.rows[0] as { matched: number; accepted: number; subscriber_ids: number[] | null; account_ids: number[] | null };
    return { matched: Number(row.matched), accepted: Number(row.accepted), subscriberIds: (row.subscriber_ids ?? []).map(Number), accountIds: (row.account_ids ?? []).map(Number) };
  },

  /**
   * The pending records of the accounts lo..hi (whole accounts) as columns, in rating order (columns.ts
   * ratingOrder: account, subscriber, cycle, usage, start time, record id, line), duplicates included:
   * the caller leaves out the repeated and the stored ones (firstIndexes, storedRecordIds).
   */
  async fileChunkRecords(q: Q, fileId: number, lo: number, hi: number, client?: pg.ClientBase): Promise<RecordColumns> {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) throw new RangeError('account ids must be integers');
    // PostgreSQL: the rows as binary COPY (no text to print and parse back, no row objects); the ids are
    // checked integers, written into the statement (COPY takes no parameters)
    const select = (started: string) => `
      SELECT p.line, p.account_id, p.subscriber_id, p.record_id, p.other_party, ${started} AS started, p.cycle, p.usage, p.scope, p.quantity, p.area
        FROM ${pendingTable(fileId)} p WHERE p.account_id BETWEEN ${lo} AND ${hi}
       ORDER BY p.account_id, p.subscriber_id, p.cycle COLLATE "C", p.usage COLLATE "C", p.started_at, p.record_id COLLATE "C", p.line`;
    if (client) {
      const parts: Buffer[] = [];
      for await (const chunk of client.query(copyTo(`COPY (${select('p.started_at')}) TO STDOUT WITH (FORMAT binary)`))) parts.push(chunk as Buffer);
      return RecordColumns.fromCopy(Buffer.concat(parts), false);
    }
    const r = await sql.raw<{ line: number; account_id: number; subscriber_id: number; record_id: string; other_party: string; started: number; cycle: string; usage: string; scope: string; quantity: number; area: string | null }>(
      select(usText('p.started_at')),
    ).execute(q);
    return RecordColumns.fromRecords(
      r.rows.map((x) => ({ line: Number(x.line), accountId: Number(x.account_id), subscriberId: Number(x.subscriber_id), recordId: x.record_id, otherParty: x.other_party, startedUs: Number(x.started), cycle: x.cycle, usage: x.usage, scope: x.scope, quantity: Number(x.quantity), area: x.area })),
    );
  },

  /**
   * R-BIL-3: which of these records' ids (of whole accounts, in rating order) are stored already, as
   * `account|record id`: in cdr_sets, the hashes of every set of the records' accounts (by the leading
   * column of its primary key: a range, or a probe per account when they are scattered), looked up in memory, a match confirmed
   * against that set's record ids (a hash collision never drops a record); in cdrs (the rating statement's
   * rows and those stored before the sets), a primary-key probe per record, made only when cdrs holds a
   * row of one of these accounts.
   */
  async storedRecordIds(q: Q, c: RecordColumns, idx: Uint32Array): Promise<Set<string>> {
    const stored = new Set<string>();
    if (idx.length === 0) return stored;
    // the accounts, each once (idx is in rating order): a file's chunk holds most accounts of its id range (one
    // range of the primary key reads them); an API batch's are scattered (a probe per account, or its range
    // would read every set in between)
    const accounts: number[] = [];
    for (const x of idx) if (c.account[x] !== accounts[accounts.length - 1]) accounts.push(c.account[x] as number);
    const which = accountsKey(accounts);
    const sets = await sql<{ account_id: number; subscriber_id: number; cycle: string; file_id: number; part: number; hashes: Uint8Array }>`
      SELECT account_id, subscriber_id, cycle, file_id, part, hashes FROM cdr_sets WHERE ${which}`.execute(q);
    if (sets.rows.length) {
      // per account, each hash key with the sets that hold it
      const byAccount = new Map<number, Map<number, number[]>>();
      sets.rows.forEach((z, i) => {
        const a = Number(z.account_id);
        let keys = byAccount.get(a);
        if (!keys) byAccount.set(a, (keys = new Map()));
        const h = Buffer.from(z.hashes.buffer, z.hashes.byteOffset, z.hashes.byteLength);
        for (let o = 0; o + 8 <= h.length; o += 8) {
          const k = hashKey(h.readUInt32BE(o), h.readUInt32BE(o + 4));
          const l = keys.get(k);
          if (l) l.push(i);
          else keys.set(k, [i]);
        }
      });
      // per set that may hold one of the records, those records
      const candidates = new Map<number, number[]>();
      for (const x of idx) {
        const keys = byAccount.get(c.account[x] as number);
        if (!keys) continue;
        for (const i of keys.get(hashKey(c.ridH1[x] as number, c.ridH2[x] as number)) ?? []) {
          const l = candidates.get(i);
          if (l) l.push(x);
          else candidates.set(i, [x]);
        }
      }
      if (candidates.size) {
        const which = [...candidates.keys()].map((i) => sets.rows[i] as (typeof sets.rows)[number]);
        const bodies = await sql<{ i: number; body: Uint8Array }>`
          SELECT t.i, z.body FROM unnest(${which.map((_, i) => i)}::int[], ${which.map((z) => z.account_id)}::bigint[], ${which.map((z) => z.subscriber_id)}::bigint[],
                                         ${which.map((z) => z.cycle)}::text[], ${which.map((z) => z.file_id)}::bigint[], ${which.map((z) => z.part)}::int[]) AS t (i, a, s, c, f, p)
            JOIN cdr_sets z ON z.account_id = t.a AND z.subscriber_id = t.s AND z.cycle = t.c AND z.file_id = t.f AND z.part = t.p`.execute(q);
        const list = [...candidates.values()];
        for (const { i, body } of bodies.rows) {
          const ids = new Set(setRecordIds(Buffer.from(body.buffer, body.byteOffset, body.byteLength)));
          for (const x of list[i] as number[]) if (ids.has(c.recordId(x))) stored.add(`${c.account[x]}|${c.recordId(x)}`);
        }
      }
    }
    const legacy = await sql`SELECT 1 FROM cdrs WHERE ${which} LIMIT 1`.execute(q);
    if (legacy.rows.length) for (const k of await this.storedInCdrs(q, c, idx)) stored.add(k);
    return stored;
  },

  /**
   * R-BIL-3: which of these records' ids are stored in cdrs, as `account|record id` (a primary-key probe
   * per record). Planned with sequential scans off: a statement planned while cdrs was still empty took a
   * scan of cdrs per record, which other chunks then filled (minutes per chunk).
   */
  async storedInCdrs(q: Q, c: RecordColumns, idx: Uint32Array): Promise<Set<string>> {
    const was = await sql<{ v: string }>`SELECT current_setting('enable_seqscan') AS v, set_config('enable_seqscan', 'off', true)`.execute(q);
    const r = await sql<{ account_id: number; record_id: string }>`
      SELECT t.a AS account_id, t.r AS record_id FROM unnest(${Array.from(idx, (x) => c.account[x] as number)}::bigint[], ${Array.from(idx, (x) => c.recordId(x))}::text[]) AS t (a, r)
       -- OFFSET 0: never the hashed subplan, which reads all of cdrs
       WHERE EXISTS (SELECT 1 FROM cdrs x WHERE x.account_id = t.a AND x.record_id = t.r OFFSET 0)`.execute(q);
    await sql`SELECT set_config('enable_seqscan', ${was.rows[0]?.v ?? 'on'}, true)`.execute(q);
    return new Set(r.rows.map((x) => `${Number(x.account_id)}|${x.record_id}`));
  },

  /**
   * What rating these records needs (rating.ts): the subscribers' offers with their tariffs, family
   * numbers, VPMN peers among the voice records' other parties, the standard rates and what each
   * pool used before (usage_allowances and the sets' pools, of the records' accounts and cycles).
   */
  async ratingReference(q: Q, c: RecordColumns, idx: Uint32Array): Promise<RatingReference> {
    // idx is in rating order: a set is asked only when the subscriber or account changes
    const subSet = new Set<number>();
    const accountSet = new Set<number>();
    const cycleCodes = new Set<number>();
    let lastSub = -1;
    let lastAccount = -1;
    for (const x of idx) {
      const s = c.subscriber[x] as number;
      const a = c.account[x] as number;
      if (s !== lastSub) subSet.add((lastSub = s));
      if (a !== lastAccount) accountSet.add((lastAccount = a));
      cycleCodes.add(c.cycle[x] as number);
    }
    const subs = [...subSet];
    const accounts = [...accountSet];
    const cycles = [...cycleCodes].map((k) => c.cycles[k] as string);
    if (subs.length === 0) return { tariffs: [], family: [], vpmn: [], base: new Map(), used: new Map(), charged: new Set() };
    // VPMN peers are read for the voice records' other parties of members only (a chunk seldom has one):
    // the parties of a whole chunk as an array parameter cost more than the rest of the reading
    const members = await sql<{ subscriber_id: number }>`SELECT DISTINCT subscriber_id FROM usage_vpmn_members WHERE subscriber_id = ANY(${subs}::bigint[])`.execute(q);
    const memberSet = new Set(members.rows.map((m) => Number(m.subscriber_id)));
    const parties = memberSet.size ? [...new Set(Array.from(idx).filter((x) => c.usage[x] === VOICE && memberSet.has(c.subscriber[x] as number)).map((x) => c.otherParty(x)))] : [];
    const [offers, fam, vp, base, used, pools, charged] = await Promise.all([
      sql<{ subscriber_id: number; started_us: number; ended_us: number | null; offer_code: string; rank: number; member_role: string | null }>`
        SELECT so.subscriber_id, ${us('so.started_at')} AS started_us, ${us('so.ended_at')} AS ended_us, so.offer_code,
               CASE so.kind WHEN 'plan' THEN 1 WHEN 'package' THEN 2 ELSE 3 END AS rank, so.member_role
          FROM unnest(${subs}::bigint[]) AS cs (subscriber_id)
          JOIN LATERAL (SELECT * FROM subscriber_offers x WHERE x.subscriber_id = cs.subscriber_id AND x.kind IN ('plan', 'package', 'pack') OFFSET 0) so ON true`.execute(q),
      sql<{ subscriber_id: number; family_number: string; from_us: number; to_us: number | null; rate_fen: number }>`
        SELECT subscriber_id, family_number, ${us('valid_from')} AS from_us, ${us('valid_to')} AS to_us, rate_fen
          FROM family_numbers WHERE subscriber_id = ANY(${subs}::bigint[])`.execute(q),
      parties.length === 0
        ? Promise.resolve({ rows: [] })
        : sql<{ subscriber_id: number; from_us: number; to_us: number | null; peer_number: string; peer_short: string | null; peer_from_us: number; peer_to_us: number | null; rate_fen: number }>`
        SELECT m.subscriber_id, ${us('m.valid_from')} AS from_us, ${us('m.valid_to')} AS to_us, o.service_number AS peer_number, o.short_number AS peer_short,
               ${us('o.valid_from')} AS peer_from_us, ${us('o.valid_to')} AS peer_to_us, g.voice_rate_fen AS rate_fen
          FROM usage_vpmn_members m
          JOIN usage_vpmn_members o ON o.group_code = m.group_code AND o.subscriber_id <> m.subscriber_id
           AND (o.service_number = ANY(${parties}::text[]) OR o.short_number = ANY(${parties}::text[]))
          JOIN usage_vpmn_groups g ON g.group_code = m.group_code
         WHERE m.subscriber_id = ANY(${subs}::bigint[])`.execute(q),
      sql<{ usage: string; scope: string; unit: string; rate_fen: number }>`SELECT usage, scope, unit, rate_fen FROM usage_base_tariffs`.execute(q),
      sql<{ account_id: number; subscriber_id: number; cycle: string; usage: string; scope: string; used_units: number }>`
        SELECT u.account_id, u.subscriber_id, u.cycle, u.usage, u.scope, u.used_units
          FROM unnest(${accounts}::bigint[]) AS a (id)
          -- by key, account by account (OFFSET 0): with = ANY over the whole chunk PostgreSQL read all of
          -- usage_allowances in parallel, 0.22 s per chunk at 1,000,000 subscribers and growing as it filled
          JOIN LATERAL (SELECT * FROM usage_allowances x WHERE x.account_id = a.id AND x.cycle = ANY(${cycles}::text[]) OFFSET 0) u ON true`.execute(q),
      // the pools of the accounts' sets (sets.ts), what the rating in TypeScript stores instead of usage_allowances' rows
      sql<{ account_id: number; subscriber_id: number; cycle: string; pools: Uint8Array }>`
        SELECT account_id, subscriber_id, cycle, pools FROM cdr_sets WHERE ${accountsKey(accounts)} AND cycle = ANY(${cycles}::text[]) AND pools IS NOT NULL`.execute(q),
      sql<{ account_id: number; subscriber_id: number; cycle: string; item_code: string }>`
        SELECT u.account_id, u.subscriber_id, u.cycle, u.item_code
          FROM unnest(${accounts}::bigint[]) AS a (id)
          JOIN LATERAL (SELECT x.account_id, x.subscriber_id, x.cycle, x.item_code FROM usage_charges x WHERE x.account_id = a.id AND x.cycle = ANY(${cycles}::text[]) OFFSET 0) u ON true`.execute(q),
    ]);
    // the tariffs of the chunk's offers (a few dozen), each read once and joined to the subscribers' offers
    // here: joined in the statement they came back once per subscriber and tariff (3.5 rows a subscriber in the
    // bench, 13 s of PostgreSQL at 1,000,000 subscribers). code_order ranks the offer codes in the database's
    // order, which is all the rating compares it for.
    const codes = [...new Set(offers.rows.map((o) => o.offer_code))];
    const tariffRows = codes.length
      ? (
          await sql<{ offer_code: string; member_role: string | null; usage: string; tscope: string; unit: string; rate_fen: number; included: number; code_order: number }>`
            SELECT t.offer_code, t.member_role, t.usage, t.scope AS tscope, t.unit, t.rate_fen,
                   t.included_units * CASE t.unit WHEN 'mb' THEN 1024 ELSE 1 END AS included,
                   dense_rank() OVER (ORDER BY t.offer_code)::int AS code_order
              FROM offer_tariffs t WHERE t.offer_code = ANY(${codes}::text[])`.execute(q)
        ).rows
      : [];
    const tariffsOf = Map.groupBy(tariffRows, (t) => t.offer_code);
    const usedBefore = new Map(used.rows.map((x) => [allowanceKey(Number(x.account_id), Number(x.subscriber_id), x.cycle, x.usage, x.scope), Number(x.used_units)]));
    for (const z of pools.rows) {
      for (const [code, units] of decodePools(z.pools)) {
        const { usage, scope } = poolOf(code);
        const k = allowanceKey(Number(z.account_id), Number(z.subscriber_id), z.cycle, usage, scope);
        usedBefore.set(k, (usedBefore.get(k) ?? 0) + units);
      }
    }
    return {
      tariffs: offers.rows.flatMap((o) =>
        (tariffsOf.get(o.offer_code) ?? [])
          .filter((t) => t.member_role === null || t.member_role === o.member_role)
          .map((t): OfferTariff => ({
            subscriberId: Number(o.subscriber_id), startedUs: Number(o.started_us), endedUs: usOrNull(o.ended_us), usage: t.usage, tscope: t.tscope, unit: t.unit,
            rateFen: Number(t.rate_fen), offerCode: o.offer_code, rank: Number(o.rank), codeOrder: Number(t.code_order), included: Number(t.included),
          })),
      ),
      family: fam.rows.map((x): FamilyNumber => ({ subscriberId: Number(x.subscriber_id), number: x.family_number, fromUs: Number(x.from_us), toUs: usOrNull(x.to_us), rateFen: Number(x.rate_fen) })),
      vpmn: vp.rows.map((x): VpmnPeer => ({
        subscriberId: Number(x.subscriber_id), fromUs: Number(x.from_us), toUs: usOrNull(x.to_us), peerNumber: x.peer_number, peerShort: x.peer_short,
        peerFromUs: Number(x.peer_from_us), peerToUs: usOrNull(x.peer_to_us), rateFen: Number(x.rate_fen),
      })),
      base: base.rows.reduce((m, x) => m.set(x.usage, (m.get(x.usage) ?? new Map()).set(x.scope, { unit: x.unit, rateFen: Number(x.rate_fen) })), new Map<string, Map<string, { unit: string; rateFen: number }>>()),
      used: usedBefore,
      charged: new Set(charged.rows.map((x) => chargeKey(Number(x.account_id), Number(x.subscriber_id), x.cycle, x.item_code))),
    };
  },

  /**
   * Rated records (in rating order) into cdr_sets, a set per account, subscriber and cycle (sets.ts):
   * binary COPY on the transaction's own connection (`client`, PostgreSQL), else INSERTs from arrays of
   * 500 sets (PGlite). A record id stored before was left out (storedRecordIds), under the rating lock.
   */
  async storeRated(q: Q, client: pg.ClientBase | undefined, fileId: number, c: RecordColumns, rated: RatedColumns, now: Date): Promise<void> {
    if (rated.idx.length === 0) return;
    const encoder = new SetEncoder(Math.min(1 << 22, 64 * rated.idx.length));
    const sets = encoder.encode(c, rated);
    const { body, hashes, pools } = encoder;
    if (client) {
      const nowUs = now.getTime() * 1000;
      await copyRowsIn(client, `COPY cdr_sets (${SET_COLUMNS}) FROM STDIN WITH (FORMAT binary)`, sets, (w, z) => {
        w.row(11).int8(z.accountId).int8(z.subscriberId).text(z.cycle).int8(fileId).int4(z.part).int4(z.records).int8(z.chargeFen).timestamptz(nowUs);
        w.bytea(body, z.bodyStart, z.bodyEnd).bytea(hashes, z.hashStart, z.hashEnd).bytea(z.poolEnd > z.poolStart ? pools : null, z.poolStart, z.poolEnd);
      });
      return;
    }
    // PGlite: its memory grows with the largest statement and never shrinks; bytea as hex text
    for (let i = 0; i < sets.length; i += 500) {
      const part = sets.slice(i, i + 500);
      const col = <T>(f: (z: EncodedSet) => T) => part.map(f);
      await sql`
        INSERT INTO cdr_sets (${sql.raw(SET_COLUMNS)})
        SELECT a, s, c, ${fileId}::bigint, p, n, f, ${now}::timestamptz, decode(b, 'hex'), decode(h, 'hex'), decode(o, 'hex')
          FROM unnest(${col((z) => z.accountId)}::bigint[], ${col((z) => z.subscriberId)}::bigint[], ${col((z) => z.cycle)}::text[], ${col((z) => z.part)}::int[],
                      ${col((z) => z.records)}::int[], ${col((z) => z.chargeFen)}::bigint[], ${col((z) => body.toString('hex', z.bodyStart, z.bodyEnd))}::text[],
                      ${col((z) => hashes.toString('hex', z.hashStart, z.hashEnd))}::text[],
                      ${col((z) => (z.poolEnd > z.poolStart ? pools.toString('hex', z.poolStart, z.poolEnd) : null))}::text[]) AS t (a, s, c, p, n, f, b, h, o)`.execute(q);
    }
  },

  /**
   * The charges of rated records added to the items' totals (as the rating statement does; the allowance
   * they used travels in their sets' pools). On PostgreSQL (`client`, the transaction's connection) with
   * the chunk's `reference`, the totals that have no row yet (the usual case: a cycle's first import) go
   * in by binary COPY: no conflict to look for and no arrays to parse (as upserts they cost PostgreSQL
   * 5–7 µs each); the reference was read in this transaction under the rating lock, so no other writer
   * adds such a row in between.
   */
  async addUsageTotals(q: Q, client: pg.ClientBase | undefined, charges: ChargeTotal[], now: Date, reference?: Pick<RatingReference, 'charged'>): Promise<void> {
    if (client && reference) {
      const chargesBy = Object.groupBy(charges, (c) => (reference.charged.has(chargeKey(c.accountId, c.subscriberId, c.cycle, c.itemCode)) ? 'stored' : 'new'));
      if (chargesBy.new) {
        const nowUs = now.getTime() * 1000;
        await copyRowsIn(client, 'COPY usage_charges (account_id, subscriber_id, cycle, item_code, amount_fen, units, records, updated_at) FROM STDIN WITH (FORMAT binary)', chargesBy.new, (w, c) => {
          w.row(8).int8(c.accountId).int8(c.subscriberId).text(c.cycle).text(c.itemCode).int8(c.amountFen).int8(c.units).int8(c.records).timestamptz(nowUs);
        });
      }
      charges = chargesBy.stored ?? [];
    }
    if (charges.length) {
      await sql`
        INSERT INTO usage_charges (account_id, subscriber_id, cycle, item_code, amount_fen, units, records, updated_at)
        SELECT a, s, c, i, f, u, n, ${now}::timestamptz
          FROM unnest(${charges.map((c) => c.accountId)}::bigint[], ${charges.map((c) => c.subscriberId)}::bigint[], ${charges.map((c) => c.cycle)}::text[],
                      ${charges.map((c) => c.itemCode)}::text[], ${charges.map((c) => c.amountFen)}::bigint[], ${charges.map((c) => c.units)}::bigint[],
                      ${charges.map((c) => c.records)}::bigint[]) AS t (a, s, c, i, f, u, n)
        ON CONFLICT (account_id, subscriber_id, cycle, item_code) DO UPDATE
          SET amount_fen = usage_charges.amount_fen + EXCLUDED.amount_fen, units = usage_charges.units + EXCLUDED.units,
              records = usage_charges.records + EXCLUDED.records, updated_at = EXCLUDED.updated_at`.execute(q);
    }
  },

  /** The file rating statement's plan with its timings (it runs: use inside a transaction to roll back). */
  async explainRateFile(q: Q, fileId: number, lo: number, hi: number, now: Date): Promise<string> {
    const r = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, BUFFERS) ${rateFileStatement(fileId, lo, hi, now)}`.execute(q);
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  },

  /** Subscribers with unrated records and how many each has (to cut the rating into chunks). */
  async pendingSubscribers(q: Q): Promise<{ subscriberId: number; records: number }[]> {
    const r = await sql<{ subscriber_id: number; n: number }>`
      SELECT subscriber_id, count(*)::int AS n FROM cdrs WHERE rated_at IS NULL GROUP BY subscriber_id ORDER BY subscriber_id`.execute(q);
    return r.rows.map((x) => ({ subscriberId: Number(x.subscriber_id), records: Number(x.n) }));
  },

  /**
   * The rating statement is large and runs on big chunks: planned for each chunk's arrays (a generic
   * plan would guess their size), never JIT-compiled (seconds per statement), sorted in memory.
   */
  async rateSettings(q: Q): Promise<void> {
    await bulkPlanSettings(q, { workMem: '64MB' });
  },

  async lockRating(q: Q, shared: boolean): Promise<void> {
    if (shared) await sql`SELECT pg_advisory_xact_lock_shared(${RATING_LOCK}::bigint)`.execute(q);
    else await sql`SELECT pg_advisory_xact_lock(${RATING_LOCK}::bigint)`.execute(q);
  },

  /**
   * R-BIL-1/R-BIL-2: rates every unrated record of these subscribers in one statement.
   * - tariff: the offers (plan, package, pack) in force at the record's start; a tariff of the
   *   record's own scope before one for `any`; the price of a plan before a package's before a pack's;
   *   the included units of every such offer add up (a data pack adds to the plan's MB).
   * - family numbers (rate 0 = free) and the VPMN group tariff come first and use no allowance;
   *   usage no offer prices falls to the standard rates (usage_base_tariffs).
   * - allowance: the first `included` base units a pool (usage × tariff scope) uses in the cycle,
   *   in start-time order (then record id), after what earlier batches used (usage_allowances).
   * Returns the number of records rated and their accounts.
   */
  async rate(q: Q, subscriberIds: number[], now: Date): Promise<{ rated: number; accountIds: number[] }> {
    const r = await rateStatement(subscriberIds, now).execute(q);
    return { rated: Number(r.rows[0]?.n ?? 0), accountIds: (r.rows[0]?.account_ids ?? []).map(Number) };
  },

  /** The rating statement's plan with its timings (it runs: use inside a transaction to roll back). */
  async explainRate(q: Q, subscriberIds: number[], now: Date): Promise<string> {
    const r = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, BUFFERS) ${rateStatement(subscriberIds, now)}`.execute(q);
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  },

  /** R-BIL-8: rated, not yet billed charges of these subscribers on those of these accounts that are virtual. */
  async virtualDeltas(q: Q, subscriberIds: number[], accountIds: number[]) {
    if (subscriberIds.length === 0 || accountIds.length === 0) return [];
    const r = await sql<{ account_id: number; subscriber_id: number; cycle: string; item_code: string; delta: number }>`
      SELECT uc.account_id, uc.subscriber_id, uc.cycle, uc.item_code, (uc.amount_fen - uc.billed_fen) AS delta
        FROM (SELECT a.account_id FROM accounts a WHERE a.account_id = ANY(${accountIds}::bigint[]) AND a.billing_type = 'virtual') v
        -- the virtual accounts first (a tenth of the bench's), then their charges by the primary key's leading
        -- column (OFFSET 0: never a scan of usage_charges); reading every charge of the chunk's subscribers and
        -- then their accounts cost ≈ 0.25 µs a record
        JOIN LATERAL (SELECT * FROM usage_charges x WHERE x.account_id = v.account_id OFFSET 0) uc ON true
       WHERE uc.billed_fen < uc.amount_fen AND uc.subscriber_id = ANY(${subscriberIds}::bigint[])
       ORDER BY uc.account_id, uc.cycle, uc.subscriber_id, uc.item_code`.execute(q);
    return r.rows.map((x) => ({ accountId: Number(x.account_id), subscriberId: Number(x.subscriber_id), cycle: x.cycle, itemCode: x.item_code, deltaFen: Number(x.delta) }));
  },

  /** R-BIL-8: the bill of each (account, cycle), created when missing (as moneyRepo.ensureBill, for many at once). */
  async ensureBills(q: Q, pairs: { accountId: number; cycle: string }[], now: Date): Promise<Map<string, number>> {
    if (pairs.length === 0) return new Map();
    const r = await sql<{ account_id: number; cycle: string; bill_id: number }>`
      INSERT INTO bills (account_id, cycle, created_at)
      SELECT a, c, ${now}::timestamptz FROM unnest(${pairs.map((p) => p.accountId)}::bigint[], ${pairs.map((p) => p.cycle)}::text[]) AS t (a, c)
      ON CONFLICT (account_id, cycle) DO UPDATE SET cycle = EXCLUDED.cycle
      RETURNING account_id, cycle, bill_id`.execute(q);
    return new Map(r.rows.map((x) => [`${x.account_id}|${x.cycle}`, Number(x.bill_id)]));
  },

  /** Bill lines of source 'usage' on the accounts' bills (in the given order); the charges they carry are billed. */
  async postUsageLines(q: Q, lines: { accountId: number; billId: number; cycle: string; subscriberId: number; itemCode: string; deltaFen: Fen }[], now: Date) {
    if (lines.length === 0) return [];
    const arrays = sql`unnest(${lines.map((l) => l.accountId)}::bigint[], ${lines.map((l) => l.billId)}::bigint[], ${lines.map((l) => l.cycle)}::text[],
                              ${lines.map((l) => l.subscriberId)}::bigint[], ${lines.map((l) => l.itemCode)}::text[], ${lines.map((l) => l.deltaFen)}::bigint[])
                       WITH ORDINALITY AS t (acc, bill, cyc, s, i, a, n)`;
    const r = await sql<{ account_id: number; line_id: number; subscriber_id: number; item_code: string; amount_fen: number }>`
      WITH l AS (
        INSERT INTO bill_lines (account_id, bill_id, cycle, subscriber_id, item_code, amount_fen, source, created_at)
        SELECT acc, bill, cyc, s, i, a, 'usage', ${now}::timestamptz FROM ${arrays} ORDER BY n
        RETURNING account_id, line_id, subscriber_id, item_code, amount_fen
      ), b AS (
        UPDATE usage_charges uc SET billed_fen = uc.billed_fen + t.a, billed_at = ${now}::timestamptz
          FROM ${arrays}
         WHERE uc.account_id = t.acc AND uc.cycle = t.cyc AND uc.subscriber_id = t.s AND uc.item_code = t.i
      )
      SELECT * FROM l ORDER BY account_id, line_id`.execute(q);
    return r.rows.map((x) => ({ accountId: Number(x.account_id), lineId: Number(x.line_id), subscriberId: Number(x.subscriber_id), itemCode: x.item_code, amountFen: Number(x.amount_fen) }));
  },

  async unbilledFen(q: Q, accountId: number, cycle: string): Promise<Fen> {
    return (await this.unbilledFenMany(q, [accountId], cycle)).get(accountId) ?? 0;
  },

  /** R-CC-1: rated usage of the cycle not yet billed, per account (a virtual account's is billed as rated: none); accounts with none are left out. */
  async unbilledFenMany(q: Q, accountIds: readonly number[], cycle: string): Promise<Map<number, Fen>> {
    if (accountIds.length === 0) return new Map();
    const r = await sql<{ account_id: number; s: number | string }>`
      SELECT uc.account_id, sum(uc.amount_fen - uc.billed_fen)::bigint AS s
        FROM accounts a JOIN usage_charges uc ON uc.account_id = a.account_id AND uc.cycle = ${cycle} AND uc.billed_fen < uc.amount_fen
       WHERE a.account_id = ANY(${[...accountIds]}::bigint[]) AND a.billing_type <> 'virtual'
       GROUP BY uc.account_id`.execute(q);
    return new Map(r.rows.map((x) => [Number(x.account_id), Number(x.s)]));
  },

  async unbilledCharges(q: Q, subscriberIds: number[], cycle: string) {
    const r = await sql<{ subscriber_id: number; account_id: number; item_code: string; amount: number }>`
      SELECT subscriber_id, account_id, item_code, (amount_fen - billed_fen) AS amount
        FROM usage_charges WHERE subscriber_id = ANY(${subscriberIds}::bigint[]) AND cycle = ${cycle} AND billed_fen < amount_fen
       ORDER BY subscriber_id, item_code`.execute(q);
    return r.rows.map((x) => ({ subscriberId: Number(x.subscriber_id), accountId: Number(x.account_id), itemCode: x.item_code, amountFen: Number(x.amount) }));
  },

  async markBilled(q: Q, subscriberIds: number[], cycle: string, now: Date): Promise<number> {
    const r = await q
      .updateTable('usage_charges')
      .set((eb) => ({ billed_fen: eb.ref('amount_fen'), billed_at: now }))
      .where('subscriber_id', 'in', subscriberIds.length ? subscriberIds : [0])
      .where('cycle', '=', cycle)
      .whereRef('billed_fen', '<', 'amount_fen')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  },
};

/**
 * The rating of the records of a CTE `c` (account_id, record_id, subscriber_id, cycle, usage, scope,
 * other_party, started_at, quantity and any other columns, carried along): CTEs cs, pu, tf, bc, p, u, w, f and r,
 * r holding per record the rated columns, `pool` and `factor` (see usageRepo.rate).
 */
const RATED = sql`
      cs AS MATERIALIZED (
        SELECT DISTINCT subscriber_id FROM c
      ), pu AS MATERIALIZED (
        -- what each pool of the chunk's accounts used before: usage_allowances' rows and the sets' pools
        -- (migrations/0024), the accounts' rows of both read once
        SELECT account_id, subscriber_id, cycle, usage, scope, sum(used_units)::bigint AS used_units
          FROM (SELECT a.account_id, a.subscriber_id, a.cycle, a.usage, a.scope, a.used_units FROM usage_allowances a
                 WHERE a.account_id IN (SELECT DISTINCT account_id FROM c)
                UNION ALL
                SELECT z.account_id, z.subscriber_id, z.cycle, p.usage COLLATE "C", p.scope COLLATE "C", p.used_units
                  FROM cdr_sets z CROSS JOIN LATERAL cdr_set_pools(z.pools) p
                 WHERE z.account_id IN (SELECT DISTINCT account_id FROM c) AND z.pools IS NOT NULL) x
         GROUP BY account_id, subscriber_id, cycle, usage, scope
      ), tf AS MATERIALIZED (
        -- the offers of the chunk's subscribers with their tariffs, loaded once per chunk (materialized:
        -- never planned into a lookup per record)
        SELECT so.subscriber_id, so.started_at, so.ended_at, t.usage, t.scope AS tscope, t.unit, t.rate_fen, t.offer_code,
               CASE so.kind WHEN 'plan' THEN 1 WHEN 'package' THEN 2 ELSE 3 END AS rank,
               t.included_units * CASE t.unit WHEN 'mb' THEN 1024 ELSE 1 END AS included
          FROM cs
          -- an index lookup per subscriber, never a scan of every subscriber's offers (OFFSET 0 keeps the
          -- planner from flattening the LATERAL into a join)
          JOIN LATERAL (SELECT * FROM subscriber_offers x WHERE x.subscriber_id = cs.subscriber_id AND x.kind IN ('plan', 'package', 'pack') OFFSET 0) so ON true
          JOIN offer_tariffs t ON t.offer_code = so.offer_code AND (t.member_role IS NULL OR t.member_role = so.member_role)
      ), bc AS (
        -- per record, the tariffs in force at its start: own scope before 'any'; a plan's price before a
        -- package's before a pack's; the allowance: every such offer's included units of that scope, in base units
        SELECT c.account_id, c.record_id, tf.tscope, tf.unit, tf.rate_fen, tf.offer_code,
               sum(tf.included) OVER (PARTITION BY c.account_id, c.record_id, tf.tscope)::bigint AS included,
               row_number() OVER (PARTITION BY c.account_id, c.record_id ORDER BY (tf.tscope = 'any'), tf.rank, tf.offer_code) AS k
          FROM c JOIN tf ON tf.subscriber_id = c.subscriber_id AND tf.usage = c.usage AND tf.tscope IN (c.scope, 'any')
           AND tf.started_at <= c.started_at AND (tf.ended_at IS NULL OR tf.ended_at > c.started_at)
      ), p AS (
        -- family numbers and the VPMN group: index lookups per voice record
        SELECT c.*,
               CASE WHEN fam.rate_fen IS NOT NULL THEN 'family' WHEN vp.rate_fen IS NOT NULL THEN 'vpmn' END AS special,
               CASE WHEN fam.rate_fen IS NOT NULL OR vp.rate_fen IS NOT NULL THEN 'minute' ELSE coalesce(b.unit, bt.unit) END AS unit,
               coalesce(fam.rate_fen, vp.rate_fen, b.rate_fen, bt.rate_fen) AS rate_fen,
               CASE WHEN fam.rate_fen IS NULL AND vp.rate_fen IS NULL THEN b.offer_code END AS offer_code,
               CASE WHEN fam.rate_fen IS NULL AND vp.rate_fen IS NULL THEN coalesce(b.tscope, c.scope) END AS pool,
               coalesce(b.included, 0) AS included,
               CASE c.usage WHEN 'sms' THEN 'SMS' WHEN 'data' THEN 'DATA'
                    ELSE CASE c.scope WHEN 'local' THEN 'VOICE_LOCAL' WHEN 'long_distance' THEN 'VOICE_LD' ELSE 'VOICE_ROAM' END END AS item_code
          FROM c
          LEFT JOIN bc b ON b.account_id = c.account_id AND b.record_id = c.record_id AND b.k = 1
          LEFT JOIN LATERAL (
            SELECT f.rate_fen FROM family_numbers f
             WHERE c.usage = 'voice' AND f.subscriber_id = c.subscriber_id AND f.family_number = c.other_party
               AND f.valid_from <= c.started_at AND (f.valid_to IS NULL OR f.valid_to > c.started_at)
             ORDER BY f.rate_fen LIMIT 1
          ) fam ON true
          LEFT JOIN LATERAL (
            SELECT g.voice_rate_fen AS rate_fen
              FROM usage_vpmn_members m
              JOIN usage_vpmn_members o ON o.group_code = m.group_code AND o.subscriber_id <> m.subscriber_id
               AND (o.service_number = c.other_party OR o.short_number = c.other_party)
               AND o.valid_from <= c.started_at AND (o.valid_to IS NULL OR o.valid_to > c.started_at)
              JOIN usage_vpmn_groups g ON g.group_code = m.group_code
             WHERE c.usage = 'voice' AND m.subscriber_id = c.subscriber_id AND m.valid_from <= c.started_at AND (m.valid_to IS NULL OR m.valid_to > c.started_at)
             ORDER BY g.voice_rate_fen LIMIT 1
          ) vp ON true
          LEFT JOIN usage_base_tariffs bt ON bt.usage = c.usage AND bt.scope = c.scope
      ), u AS (
        SELECT p.*,
               CASE p.unit WHEN 'minute' THEN (p.quantity + 59) / 60 WHEN 'message' THEN p.quantity
                           WHEN 'kb' THEN (p.quantity + 1023) / 1024 ELSE (p.quantity + 1048575) / 1048576 END AS units,
               CASE p.unit WHEN 'mb' THEN 1024 ELSE 1 END AS factor
          FROM p
      ), w AS (
        SELECT u.*,
               coalesce(a.used_units, 0) + coalesce(sum(u.units * u.factor) OVER (
                 PARTITION BY u.account_id, u.subscriber_id, u.cycle, u.usage, u.pool ORDER BY u.started_at, u.record_id COLLATE "C"
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS used_before
          FROM u
          LEFT JOIN pu a ON a.account_id = u.account_id AND a.subscriber_id = u.subscriber_id AND a.cycle = u.cycle
           AND a.usage = u.usage AND a.scope = u.pool
      ), f AS (
        SELECT w.*,
               CASE WHEN w.special = 'family' AND w.rate_fen = 0 THEN w.units
                    WHEN w.special IS NOT NULL THEN 0
                    ELSE greatest(0, least(w.units * w.factor, w.included - w.used_before)) / w.factor END AS free_units
          FROM w
      ), r AS (
        SELECT f.*, (f.units - f.free_units) * f.rate_fen AS charge_fen,
               coalesce(f.special, CASE WHEN f.free_units > 0 THEN 'allowance' END) AS free_reason
          FROM f
      )`;

/** The allowance used and the charges of the rated records `r`, added to the pools' and items' totals (CTEs `al`, `ch`). */
function usageTotals(now: Date) {
  return sql`al AS (
        INSERT INTO usage_allowances (account_id, subscriber_id, cycle, usage, scope, used_units)
        SELECT account_id, subscriber_id, cycle, usage, pool, sum(units * factor) FROM r WHERE pool IS NOT NULL
         GROUP BY account_id, subscriber_id, cycle, usage, pool
        ON CONFLICT (account_id, subscriber_id, cycle, usage, scope) DO UPDATE SET used_units = usage_allowances.used_units + EXCLUDED.used_units
      ), ch AS (
        INSERT INTO usage_charges (account_id, subscriber_id, cycle, item_code, amount_fen, units, records, updated_at)
        SELECT account_id, subscriber_id, cycle, item_code, sum(charge_fen), sum(units), count(*), ${now}::timestamptz FROM r
         GROUP BY account_id, subscriber_id, cycle, item_code
        ON CONFLICT (account_id, subscriber_id, cycle, item_code) DO UPDATE
          SET amount_fen = usage_charges.amount_fen + EXCLUDED.amount_fen, units = usage_charges.units + EXCLUDED.units,
              records = usage_charges.records + EXCLUDED.records, updated_at = EXCLUDED.updated_at
      )`;
}

/** R-BIL-1/R-BIL-2: see usageRepo.rate (records stored unrated in cdrs). */
function rateStatement(subscriberIds: number[], now: Date) {
  return sql<{ n: number; account_ids: number[] | null }>`
      WITH c AS (
        SELECT account_id, record_id, subscriber_id, cycle, usage, scope, other_party, started_at, quantity
          FROM cdrs WHERE subscriber_id = ANY(${subscriberIds}::bigint[]) AND rated_at IS NULL
      ), ${RATED}, upd AS (
        UPDATE cdrs x SET rated_at = ${now}::timestamptz, item_code = r.item_code, unit = r.unit, units = r.units, free_units = r.free_units,
               rate_fen = r.rate_fen, charge_fen = r.charge_fen, offer_code = r.offer_code, free_reason = r.free_reason
          FROM r WHERE x.account_id = r.account_id AND x.record_id = r.record_id
        RETURNING x.account_id
      ), ${usageTotals(now)}
      SELECT count(*)::int AS n, array_agg(DISTINCT account_id) AS account_ids FROM upd`;
}

/** R-BIL-1..3: see usageRepo.rateFileChunk (a file's pending records rated straight into cdrs). */
function rateFileStatement(fileId: number, lo: number, hi: number, now: Date) {
  const t = sql.table(pendingTable(fileId));
  return sql<{ matched: number; accepted: number; subscriber_ids: number[] | null }>`
      WITH s AS (
        SELECT DISTINCT ON (account_id, record_id) * FROM ${t} WHERE account_id BETWEEN ${lo}::bigint AND ${hi}::bigint
         ORDER BY account_id, record_id, line
      ), z AS MATERIALIZED (
        -- the record ids of the sets of the chunk's accounts, decoded once (the sets' own check is by hash: storedRecordIds)
        SELECT z.account_id, r.record_id FROM cdr_sets z CROSS JOIN LATERAL cdr_set_records(z.body) r
         WHERE z.account_id IN (SELECT DISTINCT account_id FROM s)
      ), c AS (
        SELECT s.* FROM s WHERE NOT EXISTS (SELECT 1 FROM cdrs x WHERE x.account_id = s.account_id AND x.record_id = s.record_id)
           AND NOT EXISTS (SELECT 1 FROM z WHERE z.account_id = s.account_id AND z.record_id = s.record_id)
      ), ${RATED}, ins AS (
        INSERT INTO cdrs (account_id, record_id, subscriber_id, cycle, usage, scope, other_party, started_at, quantity, area, file_id, line, imported_at,
                          rated_at, item_code, unit, units, free_units, rate_fen, charge_fen, offer_code, free_reason)
        SELECT account_id, record_id, subscriber_id, cycle, usage, scope, other_party, started_at, quantity, area, ${fileId}::bigint, line, ${now}::timestamptz,
               ${now}::timestamptz, item_code, unit, units, free_units, rate_fen, charge_fen, offer_code, free_reason
          FROM r
        RETURNING account_id, subscriber_id
      ), ${usageTotals(now)}
      SELECT (SELECT count(*) FROM ${t} WHERE account_id BETWEEN ${lo}::bigint AND ${hi}::bigint)::int AS matched,
             (SELECT count(*) FROM ins)::int AS accepted,
             (SELECT array_agg(DISTINCT subscriber_id) FROM ins) AS subscriber_ids,
             (SELECT array_agg(DISTINCT account_id) FROM ins) AS account_ids`;
}
