// R-BIL-3 staging of a CDR file, one piece at a time: a piece is a run of whole lines of the file
// (the first numbered `firstLine`), parsed, checked, matched to the subscribers in service and appended
// to the file's spill (spill.ts). The same function runs in the import's own thread (PGlite, small
// files) and in the import's worker threads (usage-worker.ts: large files on PostgreSQL), so a
// record is staged the same way whichever thread reads it.
import Papa from 'papaparse';
import type pg from 'pg';
import type { Text } from '../../platform/checks.ts';
import { copyRowsIn } from '../../platform/copy-binary.ts';
import type { Q } from '../../platform/db.ts';
import { type NumberHolder, PENDING_COLUMNS, type PendingCdr, pendingTable, usageRepo } from './repo.ts';
import { spill, type SpillPlan, writePending } from './spill.ts';
import { CDR_COLUMNS, type ParsedCdr, parseCdr, REJECT_REASONS, type RejectCode } from './rules.ts';

/** What LineCap puts in place of a line over MAX_LINE_BYTES. */
export const TOO_LONG = '\u0000LINE_TOO_LONG';

export interface Rejection {
  line: number;
  recordId: string;
  code: RejectCode;
  reason: Text;
}

export const rejection = (line: number, recordId: string, code: RejectCode): Rejection => ({ line, recordId: recordId.slice(0, 64), code, reason: REJECT_REASONS[code] });

/** A piece staged: its records (header and blank lines not counted), those matched, the rejected ones by line, and [bucket, records] of the spill buckets it added to. */
export interface StagedPiece {
  rows: number;
  matched: number;
  errors: Rejection[];
  buckets: [number, number][];
}

/** A piece of whole lines for staging: `firstLine` is the file's number of its first line; `first`: the piece starts the file (BOM, header). */
export interface Piece {
  text: Uint8Array;
  firstLine: number;
  first: boolean;
}

/** The records of a piece, parsed and checked (R-BIL-3), and the rejected lines. */
export function parsePiece(piece: Piece, nowMs: number): { rows: (ParsedCdr & { line: number })[]; errors: Rejection[] } {
  const errors: Rejection[] = [];
  let text = Buffer.from(piece.text.buffer, piece.text.byteOffset, piece.text.byteLength).toString('utf8');
  if (piece.first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // CDR fields hold no commas or quotes: a line is a record (papaparse's fast mode: no quote handling, so an
  // unbalanced quote cannot swallow the rest of the file), and the record's index is its line in the piece
  const { data: records } = Papa.parse<string[]>(text, { delimiter: ',', newline: '\n', fastMode: true, skipEmptyLines: false });
  const rows: (ParsedCdr & { line: number })[] = [];
  const now = new Date(nowMs);
  let header = piece.first;
  records.forEach((f, i) => {
    const line = piece.firstLine + i;
    // CRLF files: the carriage return ends the last field
    const last = f.length - 1;
    if ((f[last] as string).endsWith('\r')) f[last] = (f[last] as string).slice(0, -1);
    if (f.length === 1 && f[0] === '') return;
    // the file's first record may be its header
    const isHeader = header && (f[0] as string).trim().toLowerCase() === CDR_COLUMNS[0];
    header = false;
    if (isHeader) return;
    if (f[0] === TOO_LONG) errors.push(rejection(line, '', 'LINE_TOO_LONG'));
    else if (f.length !== CDR_COLUMNS.length) errors.push(rejection(line, f[0] as string, 'COLUMN_COUNT'));
    else {
      const [recordId, serviceNumber, otherParty, startTime, usage, scope, quantity, area] = f as [string, string, string, string, string, string, string, string];
      const p = parseCdr({ recordId, serviceNumber, otherParty, startTime, usage, scope, quantity, area }, now);
      if (typeof p === 'string') errors.push(rejection(line, recordId, p));
      else {
        // the parsed record takes its line (no copy of it per row)
        const r = p as ParsedCdr & { line: number };
        r.line = line;
        rows.push(r);
      }
    }
  });
  return { rows, errors };
}

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
    let h: NumberHolder | undefined;
    for (const x of list ?? []) {
      if (x.fromMs <= ms && ms < x.untilMs) {
        h = x.h;
        break;
      }
    }
    if (h) {
      pending.push({ line: r.line, accountId: h.accountId, subscriberId: h.subscriberId, recordId: r.recordId, otherParty: r.otherParty, startedUs: ms * 1000, cycle: r.cycle, usage: r.usage, scope: r.scope, quantity: r.quantity, area: r.area });
    } else refused.push({ line: r.line, recordId: r.recordId, code: list ? 'NOT_IN_SERVICE' : 'UNKNOWN_NUMBER' });
  }
  return { pending, refused };
}

/** matchRecords with the holders of the rows' numbers looked up in one statement. */
export async function matchChunk(q: Q, rows: (ParsedCdr & { line: number })[]) {
  return matchRecords(rows, await usageRepo.numberHolders(q, [...new Set(rows.map((r) => r.serviceNumber))]));
}

/** Matched records into the pending table: binary COPY on `client` (PostgreSQL), else one INSERT from arrays. */
export async function copyPending(q: Q, client: pg.ClientBase | undefined, fileId: number, rows: PendingCdr[]): Promise<void> {
  if (rows.length === 0) return;
  if (!client) return usageRepo.stagePending(q, fileId, rows);
  await copyRowsIn(client, `COPY ${pendingTable(fileId)} (${PENDING_COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT binary)`, rows, writePending);
}

/** A piece parsed, matched and appended to the file's spill (R-BIL-3); the lookup of its numbers on `q`. */
export async function stagePiece(q: Q, plan: SpillPlan, piece: Piece, nowMs: number): Promise<StagedPiece> {
  const parsed = parsePiece(piece, nowMs);
  const m = parsed.rows.length ? await matchChunk(q, parsed.rows) : { pending: [], refused: [] };
  const buckets = spill(plan, m.pending);
  const errors = [...parsed.errors, ...m.refused.map((x) => rejection(x.line, x.recordId, x.code))].sort((a, b) => a.line - b.line);
  return { rows: parsed.rows.length + parsed.errors.length, matched: m.pending.length, errors, buckets };
}
