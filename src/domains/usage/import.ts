// R-BIL-3 CDR files: streamed through csv-parse in chunks (bounded memory whatever the file size);
// each chunk's records are matched to their subscribers (one lookup of the chunk's numbers) and
// bulk-loaded into the file's unlogged pending table (COPY on PostgreSQL, one INSERT from arrays on
// PGlite). When the whole file is staged, the service rates it whole accounts at a time straight into
// cdrs (R-BIL-1: allowances in start-time order across the whole file), so a CDR is written once,
// rated. Rejected rows go to an error CSV (line, record id, code, reason) and the first of them onto
// the file's row; the rest is imported.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Actor } from '../../platform/audit.ts';
import type { Text } from '../../platform/checks.ts';
import type { Clock } from '../../platform/clock.ts';
import { type Database, type Q, withConnection } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import { recordChange } from '../../platform/outbox.ts';
import { type NumberHolder, PENDING_COLUMNS, type PendingCdr, pendingTable, usageRepo } from './repo.ts';
import { CDR_COLUMNS, type ParsedCdr, parseCdr, REJECT_REASONS, type RejectCode } from './rules.ts';

/** Rows per chunk: one lookup of the chunk's numbers and one COPY into the pending table. */
export const USAGE_CHUNK_ROWS = 20_000;
/** The file's row keeps the first rejections; the error CSV has them all. */
export const MAX_STORED_ERRORS = 1_000;
/** A longer line is rejected without being held in memory. */
export const MAX_LINE_BYTES = 4096;
const TOO_LONG = '\u0000LINE_TOO_LONG';

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

export interface Rejection {
  line: number;
  recordId: string;
  code: RejectCode;
  reason: Text;
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
  chunkRows?: number | undefined;
  /** Import even when this very file was imported before (after fixing what its rows were rejected for); record ids still count once. */
  force?: boolean | undefined;
  /** Records per rating chunk (whole accounts; default RATE_CHUNK_RECORDS of the service). */
  rateChunkRecords?: number | undefined;
  /** Called per chunk; while the file is staged `accepted` counts the records matched to a subscriber, the last call has the stored ones. */
  onProgress?: ((p: UsageProgress) => void) | undefined;
}

/** Rates a staged file (its pending table, indexed) whole accounts at a time; `accounts`: pending records per account. */
export type RateFile = (fileId: number, accounts: Map<number, number>, chunkRecords?: number, session?: pg.PoolClient) => Promise<{ matched: number; accepted: number }>;

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

const rejection = (line: number, recordId: string, code: RejectCode): Rejection => ({ line, recordId: recordId.slice(0, 64), code, reason: REJECT_REASONS[code] });

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
/** COPY text format: the checked fields hold no tab, newline or backslash; area is cleaned. */
const copyField = (s: string | null) => (s === null ? '\\N' : s.replace(/[\t\n\r\\]/g, ' '));

/** The first whole millisecond at or after `us` microseconds. */
const ceilMs = (us: bigint) => Number(us >= 0n ? (us + 999n) / 1000n : -(-us / 1000n));

/**
 * R-BIL-3: each record belongs to the subscriber (not broadband) in service under its number at its
 * start time — the latest activated at or before it, not cancelled by then; a number that never had
 * one is unknown, one whose subscribers were not in service then is refused as such.
 */
export function matchRecords(rows: (ParsedCdr & { line: number })[], holders: NumberHolder[]): { pending: PendingCdr[]; refused: { line: number; recordId: string; code: RejectCode }[] } {
  // a start time (whole ms) is in service from the first ms at or after activation, until the first ms at
  // or after cancellation: the holders' microseconds become those two bounds once, not a BigInt per record
  const byNumber = new Map<string, { h: NumberHolder; fromMs: number; untilMs: number }[]>();
  for (const h of holders) {
    const x = { h, fromMs: ceilMs(h.activatedUs), untilMs: h.cancelledUs === null ? Infinity : ceilMs(h.cancelledUs) };
    const list = byNumber.get(h.serviceNumber);
    if (list) list.push(x);
    else byNumber.set(h.serviceNumber, [x]);
  }
  const pending: PendingCdr[] = [];
  const refused: { line: number; recordId: string; code: RejectCode }[] = [];
  for (const r of rows) {
    const list = byNumber.get(r.serviceNumber);
    const ms = r.startedAt.getTime();
    // holders come newest activation first: the first in service at the start time is the one
    const h = list?.find((x) => x.fromMs <= ms && ms < x.untilMs)?.h;
    if (h) {
      pending.push({ line: r.line, accountId: h.accountId, subscriberId: h.subscriberId, recordId: r.recordId, otherParty: r.otherParty, startedAt: r.startedAt, localStart: r.localStart, cycle: r.cycle, usage: r.usage, scope: r.scope, quantity: r.quantity, area: r.area });
    } else refused.push({ line: r.line, recordId: r.recordId, code: list ? 'NOT_IN_SERVICE' : 'UNKNOWN_NUMBER' });
  }
  return { pending, refused };
}

/** matchRecords with the holders of the rows' numbers looked up in one statement. */
export async function matchChunk(q: Q, rows: (ParsedCdr & { line: number })[]) {
  return matchRecords(rows, await usageRepo.numberHolders(q, [...new Set(rows.map((r) => r.serviceNumber))]));
}

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
 * the rating) becomes 'failed' and its pending table is dropped; what it had rated stays stored, and
 * importing the file again stores the rest (record ids count once, R-BIL-3). On PostgreSQL an import
 * holds a session lock on its file while it runs: a running file whose lock is free has no importer.
 */
export async function releaseAbandonedFiles(database: Database, now: Date): Promise<number[]> {
  const db = database.db;
  const running = await db.selectFrom('usage_files').select('file_id').where('status', '=', 'running').where('kind', '=', 'file').orderBy('file_id').execute();
  const released: number[] = [];
  for (const { file_id: fileId } of running) {
    if (importing.has(fileId)) continue;
    await withConnection(database, async (one, client) => {
      if (client) {
        const r = await client.query<{ free: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS free', [USAGE_FILE_LOCK, fileId]);
        if (!r.rows[0]?.free) return;
      }
      try {
        const n = await one.updateTable('usage_files').set({ status: 'failed', finished_at: now }).where('file_id', '=', fileId).where('status', '=', 'running').executeTakeFirst();
        await usageRepo.dropPending(one, fileId);
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
    try {
      return await this.imported(actor, path, o, { fileId, fileName, sha }, fileLock);
    } finally {
      importing.delete(fileId);
      // closing the session ends its lock whatever happened
      fileLock?.release(true);
    }
  }

  /** `session`: the connection holding the file's lock (PostgreSQL): the COPYs of the staging and the rating lock use it too. */
  private async imported(actor: Actor, path: string, o: FileImportOptions, f: { fileId: number; fileName: string; sha: string }, session: pg.PoolClient | undefined): Promise<ImportResult> {
    const { database, clock } = this.deps;
    const db = database.db;
    const { fileId, fileName, sha } = f;

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
    /** Pending records per account: the rating cuts the file into chunks of whole accounts. */
    const accounts = new Map<number, number>();
    const chunkRows = Math.max(1, o.chunkRows ?? USAGE_CHUNK_ROWS);
    await usageRepo.createPending(db, fileId);
    const copyClient = session;

    const flush = async (rows: (ParsedCdr & { line: number })[], parseErrors: Rejection[]) => {
      const m = rows.length ? await matchChunk(db, rows) : { pending: [], refused: [] };
      const errors = [...parseErrors, ...m.refused.map((x) => rejection(x.line, x.recordId, x.code))].sort((a, b) => a.line - b.line);
      const kept = errors.slice(0, Math.max(0, MAX_STORED_ERRORS - totals.stored));
      const count = (q: Q) =>
        q
          .updateTable('usage_files')
          .set((eb) => ({
            rows_total: eb('rows_total', '+', rows.length + parseErrors.length),
            rejected: eb('rejected', '+', errors.length),
            ...(kept.length ? { errors: sql`errors || ${JSON.stringify(kept)}::jsonb` } : {}),
          }))
          .where('file_id', '=', fileId)
          .execute();
      if (copyClient) {
        if (m.pending.length) {
          const stream = copyClient.query(copyFrom(`COPY ${pendingTable(fileId)} (${PENDING_COLUMNS.join(', ')}) FROM STDIN`));
          const text = m.pending
            .map((r) => `${r.line}\t${r.accountId}\t${r.subscriberId}\t${r.recordId}\t${r.otherParty}\t${r.localStart === undefined ? r.startedAt.toISOString() : `${r.localStart}+08`}\t${r.cycle}\t${r.usage}\t${r.scope}\t${r.quantity}\t${copyField(r.area)}`)
            .join('\n');
          await pipeline(async function* () {
            yield `${text}\n`;
          }, stream);
        }
        await count(db);
      } else {
        await db.transaction().execute(async (tx) => {
          await usageRepo.stagePending(tx, fileId, m.pending);
          await count(tx);
        });
      }
      for (const r of m.pending) accounts.set(r.accountId, (accounts.get(r.accountId) ?? 0) + 1);
      totals.stored += kept.length;
      totals.rows += rows.length + parseErrors.length;
      totals.matched += m.pending.length;
      totals.rejected += errors.length;
      await writeErrors(errors);
      o.onProgress?.({ bytes: totals.bytes, rows: totals.rows, accepted: totals.matched, rejected: totals.rejected, duplicate: 0 });
    };

    try {
      const input = createReadStream(path, { highWaterMark: 256 * 1024 });
      input.on('data', (b) => {
        totals.bytes += b.length;
      });
      // CDR fields hold no commas or quotes: a line is a record (an unbalanced quote cannot swallow the rest of the file)
      const parser = parse({ relax_column_count: true, skip_empty_lines: true, info: true, skip_records_with_error: true, bom: true, quote: false });
      const skipped: Rejection[] = [];
      parser.on('skip', (err: Error & { lines?: number }) => skipped.push(rejection(err.lines ?? 0, '', 'CSV_MALFORMED')));
      input.pipe(new LineCap()).pipe(parser);
      let rows: (ParsedCdr & { line: number })[] = [];
      let errors: Rejection[] = [];
      let first = true;
      const now = clock.now();
      // one chunk's match and COPY run in the database while the next chunk is parsed (never two at once)
      let inflight: Promise<void> = Promise.resolve();
      let failed: { err: unknown } | undefined;
      const flushBehind = async (r: typeof rows, e: Rejection[]) => {
        await inflight;
        if (failed) throw failed.err;
        inflight = flush(r, e).catch((err: unknown) => {
          failed = { err };
        });
      };
      for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        const f = rec.record;
        const line = rec.info.lines;
        if (skipped.length) errors.push(...skipped.splice(0));
        if (first) {
          first = false;
          if ((f[0] ?? '').trim().toLowerCase() === CDR_COLUMNS[0]) continue;
        }
        if (f[0] === TOO_LONG) errors.push(rejection(line, '', 'LINE_TOO_LONG'));
        else if (f.length !== CDR_COLUMNS.length) errors.push(rejection(line, f[0] ?? '', 'COLUMN_COUNT'));
        else {
          const [recordId, serviceNumber, otherParty, startTime, usage, scope, quantity, area] = f as [string, string, string, string, string, string, string, string];
          const p = parseCdr({ recordId, serviceNumber, otherParty, startTime, usage, scope, quantity, area }, now);
          if (typeof p === 'string') errors.push(rejection(line, recordId, p));
          else rows.push({ ...p, line });
        }
        if (rows.length + errors.length >= chunkRows) {
          await flushBehind(rows, errors);
          rows = [];
          errors = [];
        }
      }
      errors.push(...skipped.splice(0));
      if (rows.length || errors.length) await flushBehind(rows, errors);
      await inflight;
      if (failed) throw failed.err;
      // the whole file is staged: rate it (R-BIL-1: allowances in start-time order across the file)
      await usageRepo.indexPending(db, fileId);
      const rated = await this.deps.rateFile(fileId, accounts, o.rateChunkRecords, session);
      totals.accepted = rated.accepted;
      totals.duplicate = rated.matched - rated.accepted;
      o.onProgress?.({ bytes: totals.bytes, rows: totals.rows, accepted: totals.accepted, rejected: totals.rejected, duplicate: totals.duplicate });
    } catch (err) {
      await db.updateTable('usage_files').set({ status: 'failed', finished_at: clock.now() }).where('file_id', '=', fileId).execute();
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
      await tx.updateTable('usage_files').set({ status: 'completed', finished_at: clock.now() }).where('file_id', '=', fileId).execute();
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
