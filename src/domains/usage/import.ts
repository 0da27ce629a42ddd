// R-BIL-3 CDR files: streamed in pieces of whole lines (bounded memory whatever the file size); each
// piece is parsed, checked, matched to its subscribers (one lookup of the piece's numbers) and its
// records appended to the file's spill on local disk, by ranges of account ids (staging.ts, spill.ts),
// by worker threads when the file is large (usage-worker.ts); the pieces are counted in file order
// either way. When the whole file is staged, the service rates it a bucket at a time, whole accounts
// per chunk, straight into cdrs (R-BIL-1: allowances in start-time order across the whole file), by
// the same threads when it has them, so a CDR is written to the database once, rated; a bucket too
// large to hold in memory goes through the file's pending table instead. Rejected rows go to an error
// CSV (line, record id, code, reason) and the first of them onto the file's row; the rest is imported.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';
import { sql } from 'kysely';
import type pg from 'pg';
import type { Actor } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import { type Database, withConnection } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import { recordChange } from '../../platform/outbox.ts';
import { ThreadPool } from '../../platform/thread-pool.ts';
import { usageRepo } from './repo.ts';
import type { FileChunk, RatedFileChunk } from './service.ts';
import { bucketBatches, bucketsFor, removeSpill, spillPlan, type SpillPlan } from './spill.ts';
import { copyPending, type Piece, type Rejection, type StagedPiece, stagePiece, TOO_LONG } from './staging.ts';

/** Lines per piece: one lookup of the piece's numbers and one append to each spill bucket it touches. */
export const USAGE_CHUNK_ROWS = 20_000;
/** Worker threads of a large file's import on PostgreSQL (each stages pieces, then rates chunks, on a connection of its own). */
export const USAGE_THREADS = 2;
/** A smaller file is staged and rated by the import's own thread (starting the threads costs more than they save). */
export const USAGE_THREADS_MIN_BYTES = 8 * 1024 * 1024;
/** The file's row keeps the first rejections; the error CSV has them all. */
export const MAX_STORED_ERRORS = 1_000;
/** A longer line is rejected without being held in memory. */
export const MAX_LINE_BYTES = 4096;
/** A spill bucket of more records is rated from the file's pending table, not held in memory (~300 bytes a record). */
export const HOLD_RECORDS = 250_000;
/** Records per COPY of a bucket too large to hold into the pending table. */
const PENDING_BATCH = 20_000;

/**
 * Cuts every line longer than MAX_LINE_BYTES down to a marker, keeping the line count: memory stays
 * bounded even for a file without line breaks, and the parser never sees an oversized record.
 */
export class LineCap extends Transform {
  /** The start of the current line (at most MAX_LINE_BYTES), held until its newline arrives. */
  private pending: Buffer[] = [];
  private run = 0;
  private cut = false;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const last = chunk.lastIndexOf(0x0a);
    if (last !== -1 && !this.cut && this.fits(chunk, last)) {
      // every line ending in this chunk fits (the usual case): its complete lines go on in one piece
      const lines = chunk.subarray(0, last + 1);
      const out = this.pending.length ? Buffer.concat([...this.pending, lines]) : lines;
      this.pending = [];
      this.run = 0;
      this.keepRest(chunk, last + 1);
      done(null, out);
      return;
    }
    const out: Buffer[] = [];
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, start)) {
      if (this.cut || this.run + (i - start) > MAX_LINE_BYTES) out.push(Buffer.from(`${TOO_LONG}\n`));
      else out.push(...this.pending, chunk.subarray(start, i + 1));
      start = i + 1;
      this.pending = [];
      this.run = 0;
      this.cut = false;
    }
    this.keepRest(chunk, start);
    done(null, Buffer.concat(out));
  }
  /** Whether every line ending in chunk[0..last] (the first one continuing the pending start) is at most MAX_LINE_BYTES. */
  private fits(chunk: Buffer, last: number): boolean {
    let start = 0;
    let run = this.run;
    for (let i = chunk.indexOf(0x0a); i !== -1 && i <= last; i = chunk.indexOf(0x0a, start)) {
      if (run + (i - start) > MAX_LINE_BYTES) return false;
      run = 0;
      start = i + 1;
    }
    return true;
  }
  /** The start of a line not ended in this chunk: held (copied) until its newline, or cut when too long. */
  private keepRest(chunk: Buffer, start: number): void {
    const rest = chunk.length - start;
    if (this.cut || this.run + rest > MAX_LINE_BYTES) {
      this.cut = true;
      this.pending = [];
    } else if (rest > 0) this.pending.push(Buffer.from(chunk.subarray(start)));
    this.run += rest;
  }
  override _flush(done: TransformCallback): void {
    done(null, this.cut ? Buffer.from(TOO_LONG) : this.pending.length ? Buffer.concat(this.pending) : undefined);
  }
}

/**
 * Cuts a stream of whole lines (LineCap's output) into pieces of `lines` lines, each with the file's
 * number of its first line; the last piece may end without a newline.
 */
export async function* pieces(source: AsyncIterable<Buffer>, lines: number): AsyncGenerator<Piece> {
  let parts: Buffer[] = [];
  let count = 0;
  let firstLine = 1;
  for await (const b of source) {
    let start = 0;
    for (let i = b.indexOf(0x0a); i !== -1; i = b.indexOf(0x0a, i + 1)) {
      if (++count < lines) continue;
      parts.push(b.subarray(start, i + 1));
      yield { text: Buffer.concat(parts), firstLine, first: firstLine === 1 };
      firstLine += count;
      count = 0;
      parts = [];
      start = i + 1;
    }
    if (start < b.length) parts.push(b.subarray(start));
  }
  if (parts.length) yield { text: Buffer.concat(parts), firstLine, first: firstLine === 1 };
}

/** What the import's worker threads are asked (usage-worker.ts): a piece to stage, a bucket of the spill or a chunk of the pending table to rate. */
export type UsageThreadRequest =
  | { kind: 'stage'; plan: SpillPlan; nowMs: number; piece: Piece }
  | { kind: 'bucket'; fileId: number; nowMs: number; plan: SpillPlan; bucket: number; chunkRecords: number }
  | { kind: 'rate'; fileId: number; nowMs: number; chunk: FileChunk };

/**
 * The worker threads of one large import (usage-worker.ts), each with a connection of its own: they
 * stage the file's pieces, then rate its chunks (each in its own transaction; the import's session
 * holds the rating lock), so the parsing, matching, rating and COPY encoding run beside the import's thread.
 */
export class UsageThreads {
  private readonly pool: ThreadPool<UsageThreadRequest, unknown>;
  constructor(threads: number, databaseUrl: string) {
    // the young generation capped at 16 MB (V8's default grows to far more): the import's peak RSS at 100,000 subscribers 813 → 571 MB, ~3 % slower;
    // the old generation is not capped: 256 MB made the import 15 % slower, 160 MB 50 %
    this.pool = new ThreadPool(new URL('./usage-worker.ts', import.meta.url), threads, { databaseUrl }, { maxYoungGenerationSizeMb: 16 });
  }
  get size(): number {
    return this.pool.size;
  }
  stage(plan: SpillPlan, piece: Piece, nowMs: number): Promise<StagedPiece> {
    return this.pool.run({ kind: 'stage', plan, nowMs, piece }) as Promise<StagedPiece>;
  }
  /** `nowMs`: the import's clock when the bucket is handed over (its chunks' rating, charges and audit time). */
  rateBucket(fileId: number, plan: SpillPlan, bucket: number, chunkRecords: number, nowMs: number): Promise<RatedFileChunk[]> {
    return this.pool.run({ kind: 'bucket', fileId, nowMs, plan, bucket, chunkRecords }) as Promise<RatedFileChunk[]>;
  }
  /** `nowMs`: the import's clock when the chunk is handed over (the chunk's rating, charges and audit time). */
  rate(fileId: number, chunk: FileChunk, nowMs: number): Promise<RatedFileChunk> {
    return this.pool.run({ kind: 'rate', fileId, nowMs, chunk }) as Promise<RatedFileChunk>;
  }
  /** `done`: each thread finishes, closes its connection and ends; else they are stopped where they are. */
  close(done: boolean): Promise<void> {
    return this.pool.close(done);
  }
}

export interface UsageProgress {
  bytes: number;
  rows: number;
  accepted: number;
  rejected: number;
  duplicate: number;
}

export interface FileImportOptions {
  fileName?: string | undefined;
  /** Where the error CSV goes; default: next to the input (`<file>.errors.csv`). */
  errorsPath?: string | undefined;
  /** Lines per piece staged (one lookup of its numbers and one COPY). */
  chunkRows?: number | undefined;
  /** Worker threads staging and rating the file (PostgreSQL): default USAGE_THREADS for a file of USAGE_THREADS_MIN_BYTES or more, else 0 (this thread). */
  threads?: number | undefined;
  /** Import even when this very file was imported before (after fixing what its rows were rejected for); record ids still count once. */
  force?: boolean | undefined;
  /** Records per rating chunk (whole accounts; default RATE_CHUNK_RECORDS of the service). */
  rateChunkRecords?: number | undefined;
  /** Where the file's spill goes (a directory of its own is made in it, removed when the import ends); default the OS's temporary directory. */
  spillDir?: string | undefined;
  /** Account ranges the spill is cut into (default: one per SPILL_BUCKET_BYTES of the file). */
  spillBuckets?: number | undefined;
  /** A spill bucket of more records is rated from the pending table (default HOLD_RECORDS). */
  holdRecords?: number | undefined;
  /** Called once the whole file is staged, as its rating starts. */
  onStaged?: (() => void) | undefined;
  /** Called per chunk; while the file is staged `accepted` counts the records matched to a subscriber, the last call has the stored ones. */
  onProgress?: ((p: UsageProgress) => void) | undefined;
}

/** A staged file: its spill, the buckets to rate from memory ([bucket, records]) and the records per account of those loaded into its pending table (indexed). */
export interface StagedFile {
  plan: SpillPlan;
  buckets: [number, number][];
  pending: Map<number, number>;
}

/** Rates a staged file, whole accounts at a time. */
export type RateFile = (fileId: number, staged: StagedFile, chunkRecords?: number, session?: pg.PoolClient, threads?: UsageThreads) => Promise<{ matched: number; accepted: number }>;

export interface ImportResult {
  fileId: number | null;
  fileName: string;
  sha256: string;
  /** 'duplicate_file': this very file was imported before (same sha256); nothing changed. */
  status: 'completed' | 'duplicate_file';
  duplicateOfFileId: number | null;
  rowsTotal: number;
  accepted: number;
  rejected: number;
  duplicate: number;
  errorsPath: string | null;
  errors: Rejection[];
  /** Records rated (every stored record is rated before the file completes). */
  rated: number;
}

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The class of the advisory lock an importing session holds on its file (two-key form: this, file id). */
export const USAGE_FILE_LOCK = 7_573_617;
/** Files this process is importing (PGlite: one process owns the database, so any other 'running' file was abandoned). */
const importing = new Set<number>();

/**
 * A file left 'running' by an import that is gone (its process crashed between staging and the end of
 * the rating) becomes 'failed' and its spill and pending table are removed; what it had rated stays stored, and
 * importing the file again stores the rest (record ids count once, R-BIL-3). On PostgreSQL an import
 * holds a session lock on its file while it runs: a running file whose lock is free has no importer.
 */
export async function releaseAbandonedFiles(database: Database, now: Date): Promise<number[]> {
  const db = database.db;
  const running = await db.selectFrom('usage_files').select(['file_id', 'spill_dir']).where('status', '=', 'running').where('kind', '=', 'file').orderBy('file_id').execute();
  const released: number[] = [];
  for (const { file_id: fileId, spill_dir: spillDir } of running) {
    if (importing.has(fileId)) continue;
    await withConnection(database, async (one, client) => {
      if (client) {
        const r = await client.query<{ free: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS free', [USAGE_FILE_LOCK, fileId]);
        if (!r.rows[0]?.free) return;
      }
      try {
        const n = await one.updateTable('usage_files').set({ status: 'failed', finished_at: now }).where('file_id', '=', fileId).where('status', '=', 'running').executeTakeFirst();
        await usageRepo.dropPending(one, fileId);
        // (a spill made on another machine is not here: nothing to remove)
        removeSpill(spillDir);
        if (Number(n.numUpdatedRows) > 0) released.push(fileId);
      } finally {
        await client?.query('SELECT pg_advisory_unlock($1::int, $2::int)', [USAGE_FILE_LOCK, fileId]);
      }
    });
  }
  return released;
}

export class UsageFileImport {
  private readonly deps: { database: Database; clock: Clock; rateFile: RateFile };
  constructor(deps: { database: Database; clock: Clock; rateFile: RateFile }) {
    this.deps = deps;
  }

  async run(actor: Actor, path: string, o: FileImportOptions = {}): Promise<ImportResult> {
    const { database, clock } = this.deps;
    const db = database.db;
    const fileName = (o.fileName ?? path.split('/').pop() ?? 'cdrs.csv').slice(0, 200);
    // the file's identity comes first: the same bytes imported again change nothing and say so
    const sha = await sha256File(path);
    const previous = await db.selectFrom('usage_files').select('file_id').where('sha256', '=', sha).where('status', '=', 'completed').orderBy('file_id').executeTakeFirst();
    if (previous && !o.force) {
      return { fileId: null, fileName, sha256: sha, status: 'duplicate_file', duplicateOfFileId: previous.file_id, rowsTotal: 0, accepted: 0, rejected: 0, duplicate: 0, errorsPath: null, errors: [], rated: 0 };
    }
    await releaseAbandonedFiles(database, clock.now());
    // the file's row and the lock that says its import is alive (held until it ends, on a connection of its own)
    const fileLock = database.raw.kind === 'pg' ? await database.raw.pool.connect() : undefined;
    let fileId: number;
    try {
      fileId = await db.transaction().execute(async (tx) => {
        const row = await tx
          .insertInto('usage_files')
          .values({ kind: 'file', file_name: fileName, sha256: sha, operator_id: actor.operatorId, department_id: actor.departmentId, started_at: clock.now() })
          .returning('file_id')
          .executeTakeFirstOrThrow();
        // before the row commits, so no one sees it running without its lock
        await fileLock?.query('SELECT pg_advisory_lock($1::int, $2::int)', [USAGE_FILE_LOCK, row.file_id]);
        return row.file_id;
      });
    } catch (err) {
      fileLock?.release(true);
      throw err;
    }
    importing.add(fileId);
    let plan: SpillPlan | undefined;
    try {
      // the spill: ranges of the account ids there are, about SPILL_BUCKET_BYTES of the file each, in a directory of its own
      const ids = await db.selectFrom('accounts').select((eb) => [eb.fn.min('account_id').as('lo'), eb.fn.max('account_id').as('hi')]).executeTakeFirst();
      const base = o.spillDir ?? tmpdir();
      try {
        plan = spillPlan(base, fileId, Number(ids?.lo ?? 0), Number(ids?.hi ?? 0), o.spillBuckets ?? bucketsFor(statSync(path).size));
      } catch (err) {
        await db.updateTable('usage_files').set({ status: 'failed', finished_at: this.deps.clock.now() }).where('file_id', '=', fileId).execute();
        const why = (err as Error).message;
        throw new DomainError('USAGE_SPILL_FAILED', `无法在 ${base} 暂存话单：${why}`, `The CDR file cannot be spilled in ${base}: ${why}`, 422, { spillDir: base });
      }
      await db.updateTable('usage_files').set({ spill_dir: plan.dir }).where('file_id', '=', fileId).execute();
      return await this.imported(actor, path, o, { fileId, fileName, sha, plan }, fileLock);
    } finally {
      importing.delete(fileId);
      removeSpill(plan?.dir);
      // closing the session ends its lock whatever happened
      fileLock?.release(true);
    }
  }

  /**
   * The buckets of a staged file to rate from memory, and those of more than `hold` records loaded into
   * the file's pending table (a batch at a time: memory stays bounded), indexed, with the records of each of their accounts.
   */
  private async held(fileId: number, plan: SpillPlan, buckets: Map<number, number>, hold: number, session: pg.PoolClient | undefined): Promise<StagedFile> {
    const db = this.deps.database.db;
    const staged: StagedFile = { plan, buckets: [], pending: new Map() };
    for (const [bucket, n] of [...buckets].sort((a, b) => a[0] - b[0])) {
      if (n <= hold) {
        staged.buckets.push([bucket, n]);
        continue;
      }
      if (staged.pending.size === 0) await usageRepo.createPending(db, fileId);
      for await (const batch of bucketBatches(plan, bucket, PENDING_BATCH)) {
        await copyPending(db, session, fileId, batch);
        for (const r of batch) staged.pending.set(r.accountId, (staged.pending.get(r.accountId) ?? 0) + 1);
      }
    }
    if (staged.pending.size) await usageRepo.indexPending(db, fileId, this.deps.database.kind === 'pg' ? '256MB' : undefined);
    return staged;
  }

  /** `plan`: the file's spill; `session`: the connection holding the file's lock (PostgreSQL): the COPYs into the pending table and the rating lock use it too. */
  private async imported(actor: Actor, path: string, o: FileImportOptions, f: { fileId: number; fileName: string; sha: string; plan: SpillPlan }, session: pg.PoolClient | undefined): Promise<ImportResult> {
    const { database, clock } = this.deps;
    const db = database.db;
    const { fileId, fileName, sha, plan } = f;

    const errorsPath = o.errorsPath ?? `${path}.errors.csv`;
    let errorsOut: WriteStream | undefined;
    const writeErrors = async (list: Rejection[]) => {
      if (list.length === 0) return;
      if (!errorsOut) {
        errorsOut = createWriteStream(errorsPath);
        errorsOut.write('line,record_id,code,reason_zh,reason_en\n');
      }
      const text = list.map((e) => [String(e.line), csvField(e.recordId), e.code, csvField(e.reason.zh), csvField(e.reason.en)].join(',')).join('\n') + '\n';
      if (!errorsOut.write(text)) await once(errorsOut, 'drain');
    };

    const totals = { bytes: 0, rows: 0, matched: 0, accepted: 0, rejected: 0, duplicate: 0, stored: 0 };
    /** Spilled records per bucket: the rating holds a bucket in memory, or loads it into the pending table. */
    const buckets = new Map<number, number>();
    const nowMs = clock.now().getTime();
    const threads = database.raw.kind === 'pg' ? (o.threads ?? (statSync(path).size >= USAGE_THREADS_MIN_BYTES ? USAGE_THREADS : 0)) : 0;
    const pool = threads > 0 && database.raw.kind === 'pg' ? new UsageThreads(threads, database.raw.connectionString) : undefined;
    // in this thread: the numbers' lookups on the pool
    const stage = (piece: Piece) => (pool ? pool.stage(plan, piece, nowMs) : stagePiece(db, plan, piece, nowMs));

    /** A staged piece counted, in file order: the file's row, the error CSV, the buckets, the progress. */
    const settle = async (p: StagedPiece) => {
      const kept = p.errors.slice(0, Math.max(0, MAX_STORED_ERRORS - totals.stored));
      await db
        .updateTable('usage_files')
        .set((eb) => ({
          rows_total: eb('rows_total', '+', p.rows),
          rejected: eb('rejected', '+', p.errors.length),
          ...(kept.length ? { errors: sql`errors || ${JSON.stringify(kept)}::jsonb` } : {}),
        }))
        .where('file_id', '=', fileId)
        .execute();
      for (const [b, n] of p.buckets) buckets.set(b, (buckets.get(b) ?? 0) + n);
      totals.stored += kept.length;
      totals.rows += p.rows;
      totals.matched += p.matched;
      totals.rejected += p.errors.length;
      await writeErrors(p.errors);
      o.onProgress?.({ bytes: totals.bytes, rows: totals.rows, accepted: totals.matched, rejected: totals.rejected, duplicate: 0 });
    };

    try {
      const input = createReadStream(path, { highWaterMark: 256 * 1024 });
      input.on('data', (b) => {
        totals.bytes += b.length;
      });
      // pieces staged at once (by the worker threads, or here: one parsed while another waits on the database); settled in file order
      const window = Math.max(2, threads * 2);
      const inflight: Promise<{ ok: StagedPiece } | { err: unknown }>[] = [];
      const next = async () => {
        const r = await (inflight.shift() as Promise<{ ok: StagedPiece } | { err: unknown }>);
        if ('err' in r) throw r.err;
        await settle(r.ok);
      };
      let done = false;
      let rated: { matched: number; accepted: number };
      try {
        for await (const piece of pieces(input.pipe(new LineCap()), Math.max(1, o.chunkRows ?? USAGE_CHUNK_ROWS))) {
          inflight.push(stage(piece).then((ok) => ({ ok }), (err: unknown) => ({ err })));
          if (inflight.length >= window) await next();
        }
        while (inflight.length) await next();
        // the whole file is staged: rate it (R-BIL-1: allowances in start-time order across the file), by the same threads
        o.onStaged?.();
        rated = await this.deps.rateFile(fileId, await this.held(fileId, plan, buckets, o.holdRecords ?? HOLD_RECORDS, session), o.rateChunkRecords, session, pool);
        done = true;
      } finally {
        if (done || !pool) await Promise.all(inflight);
        await pool?.close(done);
      }
      totals.accepted = rated.accepted;
      totals.duplicate = rated.matched - rated.accepted;
      o.onProgress?.({ bytes: totals.bytes, rows: totals.rows, accepted: totals.accepted, rejected: totals.rejected, duplicate: totals.duplicate });
    } catch (err) {
      await db.updateTable('usage_files').set({ status: 'failed', finished_at: clock.now(), spill_dir: null }).where('file_id', '=', fileId).execute();
      await usageRepo.dropPending(db, fileId);
      throw err instanceof DomainError ? err : new DomainError('USAGE_FILE_UNREADABLE', `话单文件读取失败：${(err as Error).message}`, `The CDR file could not be read: ${(err as Error).message}`, 422);
    } finally {
      if (errorsOut) {
        errorsOut.end();
        await once(errorsOut, 'finish');
      }
    }

    const summary = { fileId, fileName, sha256: sha, rowsTotal: totals.rows, accepted: totals.accepted, rejected: totals.rejected, duplicate: totals.duplicate };
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('usage_files').set({ status: 'completed', finished_at: clock.now(), spill_dir: null }).where('file_id', '=', fileId).execute();
      await recordChange(
        tx,
        clock,
        actor,
        { action: 'usage.import_file', targetType: 'usage_file', targetId: fileId, after: summary },
        { type: 'usage.file_imported', aggregateType: 'usage_file', aggregateId: fileId, payload: summary },
      );
    });
    await usageRepo.dropPending(db, fileId);
    const stored = await db.selectFrom('usage_files').select('errors').where('file_id', '=', fileId).executeTakeFirstOrThrow();
    return {
      ...summary,
      status: 'completed',
      duplicateOfFileId: null,
      errorsPath: totals.rejected > 0 ? errorsPath : null,
      errors: (stored.errors as Rejection[]).sort((a, b) => a.line - b.line),
      rated: totals.accepted,
    };
  }
}
