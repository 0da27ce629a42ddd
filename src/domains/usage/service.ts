// Usage ingestion and rating (SPEC §5 R-BIL-1..3, R-BIL-8): files and API batches in, rated charges
// per subscriber, cycle and bill item out; virtual accounts are billed and written off as usage arrives.
//
// The bill run: call ratePending() first, then in each chunk transaction chargesForSubscribers()
// and markBilled() (or read usage_charges directly: amount_fen − billed_fen is what is unbilled,
// raise billed_fen to amount_fen in the same transaction after taking the rating lock shared,
// `SELECT pg_advisory_xact_lock_shared(RATING_LOCK)`).
import { sql } from 'kysely';
import { type Actor, can, systemActor } from '../../platform/audit.ts';
import { type Clock, compareCycles, cycleOf } from '../../platform/clock.ts';
import type pg from 'pg';
import { type Database, type Db, type Q, type Tx, withConnection } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Jobs } from '../../platform/jobs.ts';
import type { Fen } from '../../platform/money.ts';
import { recordChange, recordChanges } from '../../platform/outbox.ts';
import type { MoneyService } from '../accounts/money.ts';
import { accountRepo } from '../accounts/repo.ts';
import { type Allocation, writeOff } from '../accounts/writeoff.ts';
import { billingRepo } from '../billing/repo.ts';
import { maskPhone } from '../customers/rules.ts';
import { type FileImportOptions, type ImportResult, type StagedFile, UsageFileImport, type UsageThreads } from './import.ts';
import { matchChunk, type Rejection } from './staging.ts';
import { RATING_LOCK, type RatedChunk, usageRepo } from './repo.ts';
import { firstIndexes, RecordColumns } from './columns.ts';
import { type RatingRecord, rateColumns } from './rating.ts';
import { readBucketColumns, type SpillPlan } from './spill.ts';
import { type ParsedCdr, parseCdr, REJECT_REASONS, type RawCdr } from './rules.ts';

export const RATE_JOB = 'usage-rate';
/** Records per rating chunk (whole accounts, so their allowance order is kept); 25,000: two rating threads' heaps stay ~150 MB lower than with 50,000, at the same speed. */
export const RATE_CHUNK_RECORDS = 25_000;
export const MAX_BATCH_RECORDS = 10_000;
/** PGlite: fewer records per chunk (its memory grows to the largest statement's and never shrinks: peak RSS stays < 1 GiB at 100,000 subscribers). */
export const PGLITE_RATE_CHUNK_RECORDS = 20_000;
/** Chunks of a file rated at once on PostgreSQL (each on its own connection; the machine has 2 cores). */
export const RATE_WORKERS = 2;
/** Chunks whose charged accounts' listeners (credit control, a transaction per account) run at once on PostgreSQL. */
export const LISTEN_LANES = 2;

/** A chunk of more pending records (an account with that many in one file) is rated by the SQL statement: memory stays bounded. */
export const TS_RATING_MAX_RECORDS = 400_000;

/**
 * R-BIL-1..3: the records `order` of `c` (whole accounts, in rating order: RecordColumns.ratingOrder) rated
 * in TypeScript (rating.ts) and stored in cdr_sets (COPY on `client`, the transaction's connection, when
 * given) with the allowance their sets used, their charge totals added set-based; `bySql` rates them with
 * the SQL statement instead when a value would not fit a safe integer. Run under the rating lock.
 */
async function rateInOrder(q: Q, client: pg.ClientBase | undefined, fileId: number, c: RecordColumns, order: Uint32Array, now: Date, bySql: () => Promise<RatedChunk>): Promise<RatedChunk> {
  // R-BIL-3: a record id repeated in the chunk counts once (its first line), one stored before not at all;
  // both are left out before the allowances are counted
  let keep = firstIndexes(c, order);
  const stored = await usageRepo.storedRecordIds(q, c, keep);
  if (stored.size) keep = firstIndexes(c, order, stored);
  const reference = await usageRepo.ratingReference(q, c, keep);
  const rated = rateColumns(c, keep, reference);
  if (!rated) return bySql();
  await usageRepo.storeRated(q, client, fileId, c, rated.rated, now);
  await usageRepo.addUsageTotals(q, client, rated.charges, now, reference);
  // keep is in rating order: an account's records, and a subscriber's within it, come together
  const subscriberIds = new Set<number>();
  const accountIds: number[] = [];
  let lastSubscriber = -1;
  for (const x of keep) {
    const s = c.subscriber[x] as number;
    if (s !== lastSubscriber) subscriberIds.add((lastSubscriber = s));
    if (c.account[x] !== accountIds[accountIds.length - 1]) accountIds.push(c.account[x] as number);
  }
  return { matched: order.length, accepted: keep.length, subscriberIds: [...subscriberIds].sort((a, b) => a - b), accountIds };
}

/**
 * R-BIL-1..3: the pending records of the accounts lo..hi (a file's pending table) rated and stored
 * (rateInOrder); an account with more than TS_RATING_MAX_RECORDS (`pending`) is rated by the SQL
 * statement (usageRepo.rateFileChunk), in the database, not in memory. Run under the rating lock.
 */
export async function rateStagedChunk(q: Q, client: pg.ClientBase | undefined, fileId: number, lo: number, hi: number, now: Date, pending = 0): Promise<RatedChunk> {
  const bySql = () => usageRepo.rateFileChunk(q, fileId, lo, hi, now);
  if (pending > TS_RATING_MAX_RECORDS) return bySql();
  const c = await usageRepo.fileChunkRecords(q, fileId, lo, hi, client);
  return rateInOrder(q, client, fileId, c, Uint32Array.from({ length: c.n }, (_, i) => i), now, bySql);
}

/** R-BIL-1..3: matched records held in memory (whole accounts, in any order) rated and stored: rateHeldColumns. */
export function rateHeldChunk(tx: Tx, client: pg.ClientBase | undefined, fileId: number, rows: readonly RatingRecord[], now: Date): Promise<RatedChunk> {
  const c = RecordColumns.fromRecords(rows);
  return rateHeldColumns(tx, client, fileId, c, c.ratingOrder(), now);
}

/**
 * R-BIL-1..3: the records `order` of `c` (whole accounts, in rating order) rated and stored
 * (rateInOrder); when the SQL statement must rate them they go to a temporary pending table dropped at
 * the commit. Run under the rating lock, in a transaction.
 */
export function rateHeldColumns(tx: Tx, client: pg.ClientBase | undefined, fileId: number, c: RecordColumns, order: Uint32Array, now: Date): Promise<RatedChunk> {
  return rateInOrder(tx, client, fileId, c, order, now, async () => {
    await usageRepo.createPending(tx, fileId, true);
    await usageRepo.stagePending(tx, fileId, Array.from(order, (i) => c.record(i)));
    return usageRepo.rateFileChunk(tx, fileId, c.account[order[0] as number] as number, c.account[order[order.length - 1] as number] as number, now);
  });
}

/** A chunk of a staged file's pending table: its accounts lo..hi (whole accounts) and how many pending records they have. */
export type FileChunk = [lo: number, hi: number, records: number];
export interface RatedFileChunk {
  matched: number;
  accepted: number;
  /** The virtual accounts charged (R-BIL-8): their listeners (credit control) run after the commit. */
  charged: number[];
}

/**
 * R-BIL-1..3, R-BIL-8: one chunk of a file rated (`rate`) in a transaction of its own on `db`, its
 * virtual accounts charged in it and the file's counters raised. `locked`: the caller's session holds
 * the rating lock for the whole file. Run in the import's thread or in one of its worker threads
 * (usage-worker.ts), with the import's clock reading.
 */
async function chunkTransaction(db: Db, clock: Clock, fileId: number, locked: boolean, rate: (tx: Tx, now: Date) => Promise<RatedChunk>): Promise<RatedFileChunk> {
  return db.transaction().execute(async (tx) => {
    if (!locked) await usageRepo.lockRating(tx, false);
    await usageRepo.rateSettings(tx);
    const c = await rate(tx, clock.now());
    const charged = await chargeVirtual(tx, clock, c.subscriberIds, c.accountIds);
    // last: a concurrent chunk waits for this row only until this one commits
    await tx
      .updateTable('usage_files')
      .set((eb) => ({ accepted: eb('accepted', '+', c.accepted), duplicate: eb('duplicate', '+', c.matched - c.accepted) }))
      .where('file_id', '=', fileId)
      .execute();
    return { matched: c.matched, accepted: c.accepted, charged };
  });
}

/** A chunk of the file's pending table rated in a transaction of its own (chunkTransaction; COPY on `client`, its connection, when given). */
export function rateChunkTransaction(db: Db, client: pg.PoolClient | undefined, clock: Clock, fileId: number, [lo, hi, size]: FileChunk, locked: boolean): Promise<RatedFileChunk> {
  return chunkTransaction(db, clock, fileId, locked, (tx, now) => rateStagedChunk(tx, client, fileId, lo, hi, now, size));
}

/**
 * A bucket of the file's spill (spill.ts) read, sorted into rating order and rated in chunks of whole
 * accounts of about `chunkRecords` records, each in a transaction of its own (chunkTransaction); the
 * chunks' results in order (the import tells the listeners each chunk's charged accounts when the bucket is done).
 */
export async function rateBucket(db: Db, client: pg.PoolClient | undefined, clock: Clock, fileId: number, plan: SpillPlan, bucket: number, chunkRecords: number, locked: boolean): Promise<RatedFileChunk[]> {
  const c = readBucketColumns(plan, bucket);
  const order = c.ratingOrder();
  const out: RatedFileChunk[] = [];
  for (let i = 0; i < order.length; ) {
    let j = Math.min(order.length, i + Math.max(1, chunkRecords));
    while (j < order.length && c.account[order[j] as number] === c.account[order[j - 1] as number]) j++;
    const chunk = order.subarray(i, j);
    out.push(await chunkTransaction(db, clock, fileId, locked, (tx, now) => rateHeldColumns(tx, client, fileId, c, chunk, now)));
    i = j;
  }
  return out;
}

/**
 * R-BIL-8: a virtual account's new charges (of the subscribers and accounts just rated) become bill
 * lines (source 'usage') of its bill for the usage's cycle at once and are written off from its books
 * in the same transaction — for all the chunk's virtual accounts at once: their bills, lines and
 * write-offs in a statement each (the write-off is MoneyService.settle's, as the bill run's publish does
 * it for many accounts), an audit record each.
 */
export async function chargeVirtual(tx: Tx, clock: Clock, subscriberIds: number[], ratedAccountIds: number[]): Promise<number[]> {
  const deltas = (await usageRepo.virtualDeltas(tx, subscriberIds, ratedAccountIds)).filter((d) => d.deltaFen > 0);
  if (deltas.length === 0) return [];
  const accountIds = [...new Set(deltas.map((d) => d.accountId))].sort((a, b) => a - b);
  await accountRepo.lockAccounts(tx, accountIds);
  const now = clock.now();
  const pairs = [...new Map(deltas.map((d) => [`${d.accountId}|${d.cycle}`, { accountId: d.accountId, cycle: d.cycle }])).values()];
  const bills = await usageRepo.ensureBills(tx, pairs, now);
  const billOf = (accountId: number, cycle: string) => bills.get(`${accountId}|${cycle}`) as number;
  // per account, its cycles in order (deltas come by account, cycle, subscriber, item)
  const byAccount = new Map<number, typeof deltas>();
  for (const d of deltas) byAccount.set(d.accountId, [...(byAccount.get(d.accountId) ?? []), d]);
  const ordered = accountIds.flatMap((a) => {
    const mine = byAccount.get(a) ?? [];
    return [...new Set(mine.map((d) => d.cycle))].sort(compareCycles).flatMap((c) => mine.filter((d) => d.cycle === c));
  });
  const lines = await usageRepo.postUsageLines(tx, ordered.map((d) => ({ ...d, billId: billOf(d.accountId, d.cycle) })), now);
  // the trigger of each account's write-off: the bill of its latest cycle charged now
  const trigger = new Map<number, number>();
  for (const d of ordered) trigger.set(d.accountId, billOf(d.accountId, d.cycle));
  await billingRepo.expireDueBooks(tx, accountIds, now);
  const books = await billingRepo.bookStates(tx, accountIds, now);
  const withBooks = accountIds.filter((a) => books.has(a));
  const open = await billingRepo.openLines(tx, withBooks);
  const rows: (Allocation & { accountId: number; triggerKind: 'bill'; triggerId: number })[] = [];
  const writtenOff = new Map<number, number>();
  for (const a of withBooks) {
    const o = open.get(a);
    if (!o) continue;
    for (const x of writeOff(books.get(a) ?? [], o, now).allocations) {
      rows.push({ ...x, accountId: a, triggerKind: 'bill', triggerId: trigger.get(a) as number });
      writtenOff.set(a, (writtenOff.get(a) ?? 0) + x.amountFen);
    }
  }
  await billingRepo.applyWriteOffs(tx, rows, now);
  const actor = systemActor(RATE_JOB);
  const posted = new Map<number, { lineId: number; subscriberId: number; itemCode: string; amountFen: number }[]>();
  for (const { accountId, lineId, subscriberId, itemCode, amountFen } of lines) posted.set(accountId, [...(posted.get(accountId) ?? []), { lineId, subscriberId, itemCode, amountFen }]);
  // an audit record and event per account, all in one statement
  await recordChanges(
    tx,
    clock,
    actor,
    accountIds.map((accountId) => {
      const mine = posted.get(accountId) ?? [];
      const view = { accountId, postedFen: mine.reduce((s, l) => s + l.amountFen, 0), lines: mine, writtenOffFen: writtenOff.get(accountId) ?? 0 };
      return {
        audit: { action: 'usage.charge_virtual', targetType: 'account', targetId: accountId, accountId, after: view },
        event: { type: 'usage.charged', aggregateType: 'account', aggregateId: accountId, accountId, payload: view },
      };
    }),
  );
  return accountIds;
}

export interface BatchResult {
  fileId: number;
  received: number;
  accepted: number;
  rejected: number;
  duplicate: number;
  rejections: { index: number; recordId: string; code: string; reason: { zh: string; en: string } }[];
  rated: number;
}

export class UsageService {
  private readonly deps: { database: Database; clock: Clock; money: MoneyService; spillDir?: string | undefined };
  private readonly chargedListeners: ((accountIds: number[]) => Promise<void> | void)[] = [];
  /** `spillDir`: where file imports spill by default (OPENBOSS_SPILL_DIR). */
  constructor(deps: { database: Database; clock: Clock; money: MoneyService; spillDir?: string | undefined }) {
    this.deps = deps;
  }

  private get db(): Db {
    return this.deps.database.db;
  }

  /** R-BIL-8: called after commit with the virtual accounts just charged (credit control acts at once). */
  onCharged(fn: (accountIds: number[]) => Promise<void> | void): void {
    this.chargedListeners.push(fn);
  }

  registerJobs(jobs: Jobs): void {
    jobs.register(RATE_JOB, () => this.ratePending(), { zh: '批价：对尚未批价的话单计费（R-BIL-1）', en: 'Rate the CDRs not yet rated (R-BIL-1)' });
    jobs.schedule(RATE_JOB, '*/5 * * * *');
  }

  /**
   * R-BIL-3: a CSV file; the same file again or a record id seen before changes nothing. The file is
   * staged whole, then rated into cdrs (R-BIL-1) before it completes.
   */
  async importFile(actor: Actor, path: string, o: FileImportOptions = {}): Promise<ImportResult> {
    this.mayImport(actor);
    return new UsageFileImport({ database: this.deps.database, clock: this.deps.clock, rateFile: (fileId, staged, chunk, session, threads) => this.rateFile(fileId, staged, chunk, session, threads) }).run(actor, path, { ...o, spillDir: o.spillDir ?? this.deps.spillDir });
  }

  /**
   * R-BIL-3 over the API: a batch of records; each bad one is rejected with its index, the rest
   * stored and rated in one transaction (R-BIL-8: virtual accounts charged in it).
   */
  async importBatch(actor: Actor, records: RawCdr[]): Promise<BatchResult> {
    this.mayImport(actor);
    if (records.length === 0 || records.length > MAX_BATCH_RECORDS) {
      throw new DomainError('USAGE_BATCH_SIZE', `每批话单须为 1–${MAX_BATCH_RECORDS} 条`, `A batch holds 1 to ${MAX_BATCH_RECORDS} records`, 400, { max: MAX_BATCH_RECORDS });
    }
    const { clock } = this.deps;
    const now = clock.now();
    const rows: (ParsedCdr & { line: number })[] = [];
    const rejections: BatchResult['rejections'] = [];
    records.forEach((r, index) => {
      const p = parseCdr(r, now);
      if (typeof p === 'string') rejections.push({ index, recordId: String(r.recordId).slice(0, 64), code: p, reason: REJECT_REASONS[p] });
      else rows.push({ ...p, line: index });
    });
    const result = await this.db.transaction().execute(async (tx) => {
      const { file_id: fileId } = await tx
        .insertInto('usage_files')
        .values({ kind: 'api', file_name: `api-${now.toISOString()}`, operator_id: actor.operatorId, department_id: actor.departmentId, started_at: now, status: 'completed', finished_at: now })
        .returning('file_id')
        .executeTakeFirstOrThrow();
      const m = rows.length ? await matchChunk(tx, rows) : { pending: [], refused: [] };
      let l = { matched: 0, accepted: 0, subscriberIds: [] as number[], accountIds: [] as number[] };
      let charged: number[] = [];
      if (m.pending.length) {
        await usageRepo.lockRating(tx, false);
        await usageRepo.rateSettings(tx);
        l = await rateHeldChunk(tx, undefined, fileId, m.pending, now);
        charged = await chargeVirtual(tx, this.deps.clock, l.subscriberIds, l.accountIds);
      }
      for (const x of m.refused) rejections.push({ index: x.line, recordId: x.recordId, code: x.code, reason: REJECT_REASONS[x.code] });
      rejections.sort((a, b) => a.index - b.index);
      const stored: Rejection[] = rejections.slice(0, 1000).map((x) => ({ line: x.index, recordId: x.recordId, code: x.code as Rejection['code'], reason: x.reason }));
      await tx
        .updateTable('usage_files')
        .set({ rows_total: records.length, accepted: l.accepted, rejected: rejections.length, duplicate: l.matched - l.accepted, errors: JSON.stringify(stored) })
        .where('file_id', '=', fileId)
        .execute();
      const summary = { fileId, received: records.length, accepted: l.accepted, rejected: rejections.length, duplicate: l.matched - l.accepted };
      await recordChange(
        tx,
        clock,
        actor,
        { action: 'usage.import_batch', targetType: 'usage_file', targetId: fileId, after: summary },
        { type: 'usage.batch_imported', aggregateType: 'usage_file', aggregateId: fileId, payload: summary },
      );
      return { summary, charged };
    });
    if (result.charged.length) for (const fn of this.chargedListeners) await fn(result.charged);
    return { ...result.summary, rejections, rated: result.summary.accepted };
  }

  private mayImport(actor: Actor): void {
    if (!can(actor, 'usage.import')) throw new DomainError('FORBIDDEN', '无权导入话单', 'Not allowed to import usage', 403, { permission: 'usage.import' });
  }

  /**
   * R-BIL-1: rates every record stored unrated (imports rate their records as they store them; this
   * finds records of an older import), whole subscribers per chunk. The bill run calls this first.
   */
  async ratePending(): Promise<{ rated: number }> {
    const pending = await usageRepo.pendingSubscribers(this.db);
    return this.rateChunks(pending);
  }

  /**
   * R-BIL-1..3: a staged file rated into cdrs: each bucket of its spill held in memory and rated in
   * chunks of whole accounts, and the accounts of buckets too large to hold from its pending table
   * (usage_pending_<fileId>), whole accounts per chunk in account order; each chunk in its own transaction, its virtual accounts charged in it (R-BIL-8)
   * and the file's counters raised. On PostgreSQL the rating lock is held for the whole file on the
   * import's session (the bill run waits for the file, not a chunk) and chunks of disjoint accounts
   * are rated at once: a bucket or chunk per worker thread of the import when it has them (`threads`), else
   * RATE_WORKERS on connections of their own in this thread; the onCharged listeners
   * (credit control) run after each chunk's commit beside the rating, LISTEN_LANES chunks at once. On
   * PGlite (one connection, whose transactions must not overlap) chunks are rated one at a time, each
   * under the lock, and the listeners awaited. Returns the records matched and stored.
   */
  private async rateFile(fileId: number, staged: StagedFile, chunkSize?: number, session?: pg.PoolClient, threads?: UsageThreads): Promise<{ matched: number; accepted: number }> {
    const onPg = this.deps.database.kind === 'pg';
    const { clock } = this.deps;
    const chunkRecords = Math.max(1, chunkSize ?? (onPg ? RATE_CHUNK_RECORDS : PGLITE_RATE_CHUNK_RECORDS));
    // the accounts in the pending table (buckets too large to hold) in chunks of whole accounts, in account order
    const ids = [...staged.pending.keys()].sort((a, b) => a - b);
    const chunks: FileChunk[] = [];
    for (let i = 0; i < ids.length; ) {
      const lo = ids[i] as number;
      let size = 0;
      let hi = lo;
      while (i < ids.length && size < chunkRecords) {
        hi = ids[i] as number;
        size += staged.pending.get(hi) ?? 0;
        i++;
      }
      chunks.push([lo, hi, size]);
    }
    const jobs: ({ bucket: number } | { chunk: FileChunk })[] = [...staged.buckets.map(([bucket]) => ({ bucket })), ...chunks.map((chunk) => ({ chunk }))];
    /** A job rated on a connection of this thread. */
    const rateHere = (db: Db, client: pg.PoolClient | undefined, job: (typeof jobs)[number], locked: boolean) =>
      'bucket' in job ? rateBucket(db, client, clock, fileId, staged.plan, job.bucket, chunkRecords, locked) : rateChunkTransaction(db, client, clock, fileId, job.chunk, locked);
    const totals = { matched: 0, accepted: 0 };
    // the listeners of the chunks' charged accounts (disjoint sets) in LISTEN_LANES lanes, a chunk at a time in each
    const lanes: Promise<void>[] = Array.from({ length: LISTEN_LANES }, () => Promise.resolve());
    let told = 0;
    let failed: { err: unknown } | undefined;
    const tell = async (charged: number[]) => {
      if (charged.length === 0) return;
      const run = async () => {
        for (const fn of this.chargedListeners) await fn(charged);
      };
      if (!onPg) return run();
      const lane = told++ % LISTEN_LANES;
      lanes[lane] = (lanes[lane] as Promise<void>)
        .then(() => (failed ? undefined : run()))
        .catch((err: unknown) => {
          failed ??= { err };
        });
    };
    /** A chunk's results, or a bucket's chunks' in order. */
    const counted = async (rated: RatedFileChunk | RatedFileChunk[]) => {
      for (const r of Array.isArray(rated) ? rated : [rated]) {
        totals.matched += r.matched;
        totals.accepted += r.accepted;
        await tell(r.charged);
      }
    };
    if (!onPg) {
      for (const job of jobs) await counted(await rateHere(this.db, undefined, job, false));
      return totals;
    }
    // the rating lock for the whole file on the import's own session (the one holding its file's lock), else a connection of its own
    const locked = async (lockClient: pg.PoolClient) => {
      await lockClient.query('SELECT pg_advisory_lock($1::bigint)', [RATING_LOCK]);
      let next = 0;
      // each job by one of the import's worker threads when it has them (the rating's node work beside this thread's), else on a connection of this one
      const worker = async () => {
        try {
          if (threads) {
            while (next < jobs.length && !failed) {
              const job = jobs[next++] as (typeof jobs)[number];
              const nowMs = clock.now().getTime();
              await counted(await ('bucket' in job ? threads.rateBucket(fileId, staged.plan, job.bucket, chunkRecords, nowMs) : threads.rate(fileId, job.chunk, nowMs)));
            }
          } else
            await withConnection(this.deps.database, async (db, client) => {
              while (next < jobs.length && !failed) await counted(await rateHere(db, client, jobs[next++] as (typeof jobs)[number], true));
            });
        } catch (err) {
          failed ??= { err };
        }
      };
      await Promise.all(Array.from({ length: Math.min(threads?.size ?? RATE_WORKERS, jobs.length) }, worker));
      await lockClient.query('SELECT pg_advisory_unlock($1::bigint)', [RATING_LOCK]);
    };
    if (session) await locked(session);
    else await withConnection(this.deps.database, (_, lockClient) => locked(lockClient as pg.PoolClient));
    await Promise.all(lanes);
    if (failed) throw failed.err;
    return totals;
  }

  private async rateChunks(subs: { subscriberId: number; records: number }[]): Promise<{ rated: number }> {
    let rated = 0;
    let chunk: number[] = [];
    let size = 0;
    const go = async () => {
      if (chunk.length === 0) return;
      const ids = chunk;
      chunk = [];
      size = 0;
      const charged = await this.db.transaction().execute(async (tx) => {
        await usageRepo.lockRating(tx, false);
        await usageRepo.rateSettings(tx);
        const r = await usageRepo.rate(tx, ids, this.deps.clock.now());
        rated += r.rated;
        return chargeVirtual(tx, this.deps.clock, ids, r.accountIds);
      });
      if (charged.length) for (const fn of this.chargedListeners) await fn(charged);
    };
    for (const s of subs) {
      chunk.push(s.subscriberId);
      size += s.records;
      if (size >= RATE_CHUNK_RECORDS) await go();
    }
    await go();
    return { rated };
  }

  /** R-CC-1: rated, not yet billed usage of the account's (non-virtual) subscribers in the cycle. */
  unbilledFen(q: Q, accountId: number, cycle: string): Promise<Fen> {
    return usageRepo.unbilledFen(q, accountId, cycle);
  }

  /** unbilledFen of many accounts in one statement (those with none are left out). */
  unbilledFenMany(q: Q, accountIds: readonly number[], cycle: string): Promise<Map<number, Fen>> {
    return usageRepo.unbilledFenMany(q, accountIds, cycle);
  }

  /**
   * What the bill run bills for these subscribers in the cycle: rated charges not yet billed. Call it
   * and markBilled() in one transaction: it takes the rating lock shared, so no rating commits in between.
   */
  async chargesForSubscribers(q: Q, subscriberIds: number[], cycle: string): Promise<{ subscriberId: number; accountId: number; itemCode: string; amountFen: Fen }[]> {
    if (subscriberIds.length === 0) return [];
    await usageRepo.lockRating(q, true);
    return usageRepo.unbilledCharges(q, subscriberIds, cycle);
  }

  /** The bill run billed these charges: running it twice bills them once. */
  async markBilled(q: Q, subscriberIds: number[], cycle: string): Promise<void> {
    if (subscriberIds.length === 0) return;
    await usageRepo.markBilled(q, subscriberIds, cycle, this.deps.clock.now());
  }

  /** 详单: a subscriber's records of a cycle, paged, with totals per bill item; other parties masked (R-CUS-2). */
  async itemised(subscriberId: number, cycle?: string, page: { limit?: number; offset?: number } = {}) {
    const sub = await this.db.selectFrom('subscribers').select(['subscriber_id', 'service_number']).where('subscriber_id', '=', subscriberId).executeTakeFirst();
    if (!sub) throw notFound({ zh: '用户', en: 'Subscriber' }, subscriberId);
    const c = cycle ?? cycleOf(this.deps.clock.now());
    const limit = Math.min(Math.max(page.limit ?? 100, 1), 1000);
    const offset = Math.max(page.offset ?? 0, 0);
    const [rows, totals, count] = await Promise.all([
      this.db
        .selectFrom('usage_records')
        .selectAll()
        .where('subscriber_id', '=', subscriberId)
        .where('cycle', '=', c)
        .orderBy('started_at')
        .orderBy('record_id')
        .limit(limit)
        .offset(offset)
        .execute(),
      this.db.selectFrom('usage_charges').selectAll().where('subscriber_id', '=', subscriberId).where('cycle', '=', c).orderBy('item_code').execute(),
      // the sets count their records: nothing decoded to count
      sql<{ n: number | string }>`
        SELECT (SELECT count(*) FROM cdrs WHERE subscriber_id = ${subscriberId} AND cycle = ${c})
             + (SELECT coalesce(sum(records), 0) FROM cdr_sets WHERE subscriber_id = ${subscriberId} AND cycle = ${c}) AS n`
        .execute(this.db)
        .then((r) => r.rows[0] as { n: number | string }),
    ]);
    return {
      subscriberId,
      serviceNumber: maskPhone(sub.service_number),
      cycle: c,
      total: Number(count.n),
      limit,
      offset,
      totals: totals.map((t) => ({ itemCode: t.item_code, records: t.records, units: t.units, amountFen: t.amount_fen, billedFen: t.billed_fen })),
      totalFen: totals.reduce((s, t) => s + t.amount_fen, 0),
      records: rows.map((r) => ({
        recordId: r.record_id,
        startedAt: r.started_at.toISOString(),
        usage: r.usage,
        scope: r.scope,
        otherParty: maskPhone(r.other_party),
        quantity: r.quantity,
        area: r.area,
        itemCode: r.item_code,
        unit: r.unit,
        units: r.units,
        freeUnits: r.free_units,
        chargeFen: r.charge_fen,
        freeReason: r.free_reason,
        offerCode: r.offer_code,
        rated: r.rated_at !== null,
      })),
    };
  }

  /** The imported files and API batches, newest first. */
  async files(page: { limit?: number; offset?: number } = {}) {
    const rows = await this.db
      .selectFrom('usage_files')
      .selectAll()
      .orderBy('file_id', 'desc')
      .limit(Math.min(Math.max(page.limit ?? 50, 1), 500))
      .offset(Math.max(page.offset ?? 0, 0))
      .execute();
    return rows.map((f) => ({
      fileId: f.file_id,
      kind: f.kind,
      fileName: f.file_name,
      sha256: f.sha256,
      status: f.status,
      rowsTotal: f.rows_total,
      accepted: f.accepted,
      rejected: f.rejected,
      duplicate: f.duplicate,
      errors: (f.errors as unknown[]).slice(0, 20),
      operatorId: f.operator_id,
      startedAt: f.started_at.toISOString(),
      finishedAt: f.finished_at?.toISOString() ?? null,
    }));
  }
}
