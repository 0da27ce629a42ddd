// Stock imports (SPEC §10): a card file puts cards in stock in a warehouse; a card data file (卡数据)
// gives cards their IMSI and Ki/OPc (sealed with the card-data key, never in clear, never logged).
//
// Files are streamed line by line and handled in chunks (bounded memory whatever the file size):
// each chunk is checked for format here, then checked against the database and imported in one
// set-based statement (unnest of the chunk's columns, INSERT … SELECT … WHERE the row has no
// problem), with its history rows and the batch's counters, in one transaction. Every refused row
// goes to the batch's error report (line, ICCID, code, reason) and the rest is imported; importing
// the same file twice imports nothing new (every row is reported as already present).
//
// IMSIs: a finished card (成卡) carries its IMSI from the card file (`ICCID,IMSI`: the schema wants
// one) and its card data must name the same IMSI; a blank card (白卡) keeps sim_cards.imsi empty
// until it is written on site, when the card-writing step copies the IMSI of its card data.
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { sql } from 'kysely';
import { type Actor, can } from '../../platform/audit.ts';
import type { Text } from '../../platform/checks.ts';
import type { Clock } from '../../platform/clock.ts';
import { bulkPlanSettings, type Db, type Q } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import { recordChange } from '../../platform/outbox.ts';
import type { SimCardType } from '../../platform/schema.ts';
import type { SecretBox } from '../../platform/secrets.ts';
import { hasValidLuhn } from './rules.ts';

export const CARD_TYPES: readonly SimCardType[] = ['blank_128k', 'blank_128k_micro', 'finished'];
/** Rows per chunk (one transaction, one statement). */
export const IMPORT_CHUNK_ROWS = 10_000;
/** The batch keeps the first errors; rows_failed counts them all. */
export const MAX_REPORTED_ERRORS = 1_000;
/** A longer line is refused without being kept in memory. */
export const MAX_LINE_CHARS = 512;
/** Whole file (the API's body limit too). */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;

const ICCID = /^89[0-9]{17,18}$/;
const IMSI = /^[0-9]{15}$/;
const HEX32 = /^[0-9a-fA-F]{32}$/;
const NO_SHA = '0'.repeat(64);

export type ImportErrorCode =
  | 'ROW_MALFORMED'
  | 'LINE_TOO_LONG'
  | 'ICCID_MALFORMED'
  | 'ICCID_CHECK_DIGIT'
  | 'IMSI_MALFORMED'
  | 'IMSI_REQUIRED'
  | 'KI_MALFORMED'
  | 'OPC_MALFORMED'
  | 'DUPLICATE_IN_FILE'
  | 'CARD_EXISTS'
  | 'UNKNOWN_ICCID'
  | 'CARD_DATA_EXISTS'
  | 'IMSI_IN_USE'
  | 'IMSI_MISMATCH'
  | 'STOCK_DEPARTMENT_MISMATCH';

/** What each refused row is told (zh, en). */
export const IMPORT_ERROR_REASONS: Record<ImportErrorCode, Text> = {
  ROW_MALFORMED: { zh: '行格式错误', en: 'Malformed row' },
  LINE_TOO_LONG: { zh: `行过长（超过 ${MAX_LINE_CHARS} 个字符）`, en: `Line too long (over ${MAX_LINE_CHARS} characters)` },
  ICCID_MALFORMED: { zh: 'ICCID 格式错误（89 开头，共 19–20 位数字）', en: 'Malformed ICCID (19–20 digits starting with 89)' },
  ICCID_CHECK_DIGIT: { zh: 'ICCID 校验位错误', en: 'Wrong ICCID check digit (Luhn)' },
  IMSI_MALFORMED: { zh: 'IMSI 格式错误（15 位数字）', en: 'Malformed IMSI (15 digits)' },
  IMSI_REQUIRED: { zh: '成卡须附 IMSI（每行：ICCID,IMSI）', en: 'A finished card needs its IMSI (each line: ICCID,IMSI)' },
  KI_MALFORMED: { zh: 'Ki 格式错误（32 位十六进制）', en: 'Malformed Ki (32 hex digits)' },
  OPC_MALFORMED: { zh: 'OPc 格式错误（32 位十六进制）', en: 'Malformed OPc (32 hex digits)' },
  DUPLICATE_IN_FILE: { zh: '文件内重复（同一 ICCID 或 IMSI 已在前面的行中）', en: 'Duplicate in the file (the ICCID or IMSI is on an earlier line)' },
  CARD_EXISTS: { zh: '卡已在库中（已导入）', en: 'The card is already in stock (already imported)' },
  UNKNOWN_ICCID: { zh: '卡不存在（请先导入号卡文件）', en: 'Unknown card (import the card file first)' },
  CARD_DATA_EXISTS: { zh: '该卡已有卡数据（已导入）', en: 'The card already has card data (already imported)' },
  IMSI_IN_USE: { zh: 'IMSI 已被其他卡使用', en: 'The IMSI belongs to another card' },
  IMSI_MISMATCH: { zh: 'IMSI 与成卡的 IMSI 不一致', en: 'The IMSI differs from the finished card’s IMSI' },
  STOCK_DEPARTMENT_MISMATCH: { zh: '卡不在本部门的仓库中', en: 'The card is not in a warehouse of the operator’s department' },
};

export interface ImportError {
  line: number;
  iccid: string;
  code: ImportErrorCode;
  reason: Text;
}

export interface ImportProgress {
  bytes: number;
  rows: number;
  imported: number;
  failed: number;
}

export interface ImportOptions {
  fileName: string;
  chunkRows?: number | undefined;
  maxBytes?: number | undefined;
  onProgress?: ((p: ImportProgress) => void) | undefined;
}

export type ImportSource = AsyncIterable<Buffer | string> | Iterable<Buffer | string> | string;

export interface BatchView {
  batchId: number;
  kind: 'cards' | 'card_data';
  fileName: string;
  fileSha256: string | null;
  warehouseCode: string | null;
  cardType: SimCardType | null;
  rowsTotal: number;
  rowsImported: number;
  rowsFailed: number;
  errors: ImportError[];
  state: 'running' | 'completed' | 'failed';
  operatorId: number | null;
  departmentId: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface Line {
  line: number;
  text: string;
  tooLong: boolean;
}

const mismatch = (what: string) =>
  new DomainError('STOCK_DEPARTMENT_MISMATCH', `只能导入本部门仓库的库存：${what}`, `Only stock of the operator’s own department’s warehouses can be imported: ${what}`, 403, { warehouseCode: what });

/**
 * Lines of a stream, numbered from 1, hashing the bytes as they pass. A line over MAX_LINE_CHARS
 * is cut (flagged) rather than kept; more than maxBytes in all is refused (413).
 */
async function* linesOf(source: ImportSource, hash: ReturnType<typeof createHash>, counter: { bytes: number }, maxBytes: number): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let overlong = false;
  let n = 0;
  const chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string> = typeof source === 'string' ? [source] : source;
  for await (const chunk of chunks) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    counter.bytes += buf.length;
    if (counter.bytes > maxBytes) {
      throw new DomainError('IMPORT_TOO_LARGE', `文件过大（超过 ${maxBytes} 字节）`, `The file is too large (over ${maxBytes} bytes)`, 413, { maxBytes });
    }
    hash.update(buf);
    const text = rest + decoder.write(buf);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      n++;
      yield { line: n, text: overlong ? '' : text.slice(start, nl), tooLong: overlong || nl - start > MAX_LINE_CHARS };
      overlong = false;
      start = nl + 1;
    }
    rest = text.slice(start);
    if (rest.length > MAX_LINE_CHARS) {
      overlong = true;
      rest = '';
    }
  }
  rest += decoder.end();
  if (rest.length > 0 || overlong) {
    n++;
    yield { line: n, text: rest, tooLong: overlong || rest.length > MAX_LINE_CHARS };
  }
}

function iccidProblem(iccid: string): ImportErrorCode | null {
  if (!ICCID.test(iccid)) return 'ICCID_MALFORMED';
  if (!hasValidLuhn(iccid)) return 'ICCID_CHECK_DIGIT';
  return null;
}

const shown = (s: string) => (s.length > 32 ? `${s.slice(0, 32)}…` : s);

function rowError(line: number, iccid: string, code: ImportErrorCode): ImportError {
  return { line, iccid: shown(iccid), code, reason: IMPORT_ERROR_REASONS[code] };
}

/** One chunk of parsed rows on its way to the database, with the rows this side refused already. */
interface Chunk<R> {
  rows: R[];
  errors: ImportError[];
  total: number;
  /** Refused rows counted but not listed (beyond the reported cap). */
  unlisted?: number | undefined;
}

interface CardRow {
  line: number;
  iccid: string;
  imsi: string | null;
}

interface DataRow {
  line: number;
  iccid: string;
  imsi: string;
  ki: string;
  opc: string | null;
}

function splitFields(text: string): string[] {
  return text.split(',').map((f) => f.trim());
}

/** The first non-empty line may be a header naming the columns. */
const isHeader = (fields: string[]) => fields[0]?.toLowerCase().replace(/^\ufeff/, '') === 'iccid';

export interface ImportDeps {
  db: Db;
  clock: Clock;
  kiBox: SecretBox;
  /** Chunks stored at once (PostgreSQL: 2 uses both cores; PGlite has one connection: 1). */
  chunksInFlight?: number | undefined;
}

/** deadlock_detected, serialization_failure */
const RETRYABLE = new Set(['40P01', '40001']);

export class StockImportService {
  private readonly deps: ImportDeps;
  constructor(deps: ImportDeps) {
    this.deps = deps;
  }

  /** A card file: one ICCID per line (finished cards: ICCID,IMSI), optional header `iccid`. */
  async importCards(actor: Actor, source: ImportSource, o: ImportOptions & { warehouseCode: string; cardType: SimCardType }): Promise<BatchView> {
    if (!CARD_TYPES.includes(o.cardType)) {
      throw new DomainError('UNKNOWN_CARD_TYPE', `卡类型不存在：${String(o.cardType)}`, `Unknown card type: ${String(o.cardType)}`, 422);
    }
    const wh = await this.deps.db.selectFrom('warehouses').select(['warehouse_code', 'department_id']).where('warehouse_code', '=', o.warehouseCode).executeTakeFirst();
    if (!wh) throw new DomainError('WAREHOUSE_NOT_FOUND', `仓库不存在：${o.warehouseCode}`, `Unknown warehouse: ${o.warehouseCode}`, 404, { warehouseCode: o.warehouseCode });
    if (!can(actor, 'stock.all') && actor.departmentId !== wh.department_id) throw mismatch(wh.warehouse_code);
    const finished = o.cardType === 'finished';
    const now = this.deps.clock.now();

    return this.run(actor, source, o, { kind: 'cards', warehouseCode: wh.warehouse_code, cardType: o.cardType }, {
      parse: (l, seen) => {
        const f = splitFields(l.text);
        const iccid = f[0] ?? '';
        if (f.length > (finished ? 2 : 1)) return rowError(l.line, iccid, 'ROW_MALFORMED');
        const bad = iccidProblem(iccid);
        if (bad) return rowError(l.line, iccid, bad);
        const imsi = finished ? (f[1] ?? '') : null;
        if (finished && imsi === '') return rowError(l.line, iccid, 'IMSI_REQUIRED');
        if (imsi !== null && !IMSI.test(imsi)) return rowError(l.line, iccid, 'IMSI_MALFORMED');
        if (seen.has(iccid) || (imsi !== null && seen.has(imsi))) return rowError(l.line, iccid, 'DUPLICATE_IN_FILE');
        seen.add(iccid);
        if (imsi !== null) seen.add(imsi);
        return { line: l.line, iccid, imsi } satisfies CardRow;
      },
      store: async (tx, batchId, rows: CardRow[], at) => {
        const r = await sql<{ line: number; iccid: string; problem: ImportErrorCode }>`
          WITH input AS (
            SELECT * FROM unnest(${rows.map((x) => x.line)}::int[], ${rows.map((x) => x.iccid)}::text[], ${rows.map((x) => x.imsi)}::text[]) AS t(line, iccid, imsi)
          ), verdict AS (
            SELECT i.line, i.iccid, i.imsi,
                   CASE WHEN c.iccid IS NOT NULL THEN CASE WHEN c.batch_id = ${batchId}::bigint THEN 'DUPLICATE_IN_FILE' ELSE 'CARD_EXISTS' END
                        WHEN x.iccid IS NOT NULL OR xd.iccid IS NOT NULL THEN 'IMSI_IN_USE'
                   END AS problem
              FROM input i LEFT JOIN sim_cards c ON c.iccid = i.iccid
              -- IMSIs are unique: at most one row each (joins, not EXISTS: a subplan may be planned as a scan)
              LEFT JOIN sim_cards x ON i.imsi IS NOT NULL AND x.imsi = i.imsi
              LEFT JOIN sim_card_data xd ON i.imsi IS NOT NULL AND xd.imsi = i.imsi AND xd.iccid <> i.iccid
          ), ins AS (
            INSERT INTO sim_cards (iccid, imsi, card_type, state, warehouse_code, department_id, state_changed_at, created_at, batch_id)
            SELECT iccid, imsi, ${o.cardType}::text, 'in_stock', ${wh.warehouse_code}::text, ${wh.department_id}::text, ${now}::timestamptz, ${now}::timestamptz, ${batchId}::bigint
              FROM verdict WHERE problem IS NULL
            ON CONFLICT DO NOTHING
            RETURNING iccid
          ), history AS (
            -- each card's first history row, in the same statement (card-events.ts records the same columns)
            INSERT INTO sim_card_events (iccid, at, event, from_state, to_state, warehouse_code, holder_department_id, operator_id, detail)
            SELECT iccid, ${at}::timestamptz, 'imported', NULL, 'in_stock', ${wh.warehouse_code}::text, ${wh.department_id}::text, ${actor.operatorId}::bigint,
                   ${JSON.stringify({ batchId })}::jsonb
              FROM ins
          )
          SELECT v.line, v.iccid, coalesce(v.problem, 'CARD_EXISTS') AS problem
            FROM verdict v LEFT JOIN ins ON ins.iccid = v.iccid
           WHERE v.problem IS NOT NULL OR ins.iccid IS NULL`.execute(tx);
        return r.rows;
      },
    });
  }

  /** A card data file: `iccid,imsi,ki[,opc]` per line (Ki/OPc 32 hex digits), optional header. */
  async importCardData(actor: Actor, source: ImportSource, o: ImportOptions): Promise<BatchView> {
    const allowed = can(actor, 'stock.all') ? null : await this.warehousesUnder(actor.departmentId);
    const box = this.deps.kiBox;
    const now = this.deps.clock.now();
    return this.run(actor, source, o, { kind: 'card_data', warehouseCode: null, cardType: null }, {
      parse: (l, seen) => {
        const f = splitFields(l.text);
        const iccid = f[0] ?? '';
        if (f.length < 3 || f.length > 4) return rowError(l.line, iccid, 'ROW_MALFORMED');
        const bad = iccidProblem(iccid);
        if (bad) return rowError(l.line, iccid, bad);
        const [, imsi = '', ki = '', opc = ''] = f;
        if (!IMSI.test(imsi)) return rowError(l.line, iccid, 'IMSI_MALFORMED');
        if (!HEX32.test(ki)) return rowError(l.line, iccid, 'KI_MALFORMED');
        if (opc !== '' && !HEX32.test(opc)) return rowError(l.line, iccid, 'OPC_MALFORMED');
        if (seen.has(iccid) || seen.has(imsi)) return rowError(l.line, iccid, 'DUPLICATE_IN_FILE');
        seen.add(iccid);
        seen.add(imsi);
        // sealed here: the clear Ki never reaches the database or a log
        const sealedKi = box.seal(Buffer.from(ki, 'hex')).toString('hex');
        const sealedOpc = opc === '' ? null : box.seal(Buffer.from(opc, 'hex')).toString('hex');
        return { line: l.line, iccid, imsi, ki: sealedKi, opc: sealedOpc } satisfies DataRow;
      },
      store: async (tx, batchId, rows: DataRow[], at) => {
        const r = await sql<{ line: number; iccid: string; problem: ImportErrorCode }>`
          WITH input AS (
            SELECT * FROM unnest(${rows.map((x) => x.line)}::int[], ${rows.map((x) => x.iccid)}::text[], ${rows.map((x) => x.imsi)}::text[],
                                 ${rows.map((x) => x.ki)}::text[], ${rows.map((x) => x.opc)}::text[]) AS t(line, iccid, imsi, ki, opc)
          ), verdict AS (
            SELECT i.line, i.iccid, i.imsi, i.ki, i.opc, c.state, c.warehouse_code, coalesce(c.picked_by_department_id, c.department_id) AS holder,
                   CASE WHEN c.iccid IS NULL THEN 'UNKNOWN_ICCID'
                        WHEN d.iccid IS NOT NULL THEN CASE WHEN d.batch_id = ${batchId}::bigint THEN 'DUPLICATE_IN_FILE' ELSE 'CARD_DATA_EXISTS' END
                        WHEN ${allowed}::text[] IS NOT NULL AND (c.warehouse_code IS NULL OR NOT (c.warehouse_code = ANY(${allowed}::text[]))) THEN 'STOCK_DEPARTMENT_MISMATCH'
                        WHEN c.imsi IS NOT NULL AND c.imsi <> i.imsi THEN 'IMSI_MISMATCH'
                        WHEN di.iccid IS NOT NULL THEN CASE WHEN di.batch_id = ${batchId}::bigint THEN 'DUPLICATE_IN_FILE' ELSE 'IMSI_IN_USE' END
                        WHEN x.iccid IS NOT NULL THEN 'IMSI_IN_USE'
                   END AS problem
              FROM input i
              LEFT JOIN sim_cards c ON c.iccid = i.iccid
              LEFT JOIN sim_card_data d ON d.iccid = i.iccid
              LEFT JOIN sim_card_data di ON di.imsi = i.imsi
              LEFT JOIN sim_cards x ON x.imsi = i.imsi AND x.iccid <> i.iccid
          ), ins AS (
            INSERT INTO sim_card_data (iccid, imsi, ki_encrypted, opc_encrypted, ki_key_id, batch_id, imported_at)
            SELECT iccid, imsi, decode(ki, 'hex'), decode(opc, 'hex'), ${box.keyId}::text, ${batchId}::bigint, ${now}::timestamptz
              FROM verdict WHERE problem IS NULL
            ON CONFLICT DO NOTHING
            RETURNING iccid
          ), history AS (
            INSERT INTO sim_card_events (iccid, at, event, from_state, to_state, warehouse_code, holder_department_id, operator_id, detail)
            SELECT v.iccid, ${at}::timestamptz, 'data_loaded', NULL, v.state, v.warehouse_code, v.holder, ${actor.operatorId}::bigint,
                   ${JSON.stringify({ batchId })}::jsonb
              FROM ins JOIN verdict v ON v.iccid = ins.iccid
          )
          SELECT v.line, v.iccid, coalesce(v.problem, 'CARD_DATA_EXISTS') AS problem
            FROM verdict v LEFT JOIN ins ON ins.iccid = v.iccid
           WHERE v.problem IS NOT NULL OR ins.iccid IS NULL`.execute(tx);
        return r.rows;
      },
    });
  }

  async getBatch(actor: Actor, batchId: number): Promise<BatchView> {
    const b = await this.deps.db.selectFrom('stock_import_batches').selectAll().where('batch_id', '=', batchId).executeTakeFirst();
    if (!b) throw new DomainError('IMPORT_BATCH_NOT_FOUND', `导入批次不存在：${batchId}`, `Unknown import batch: ${batchId}`, 404, { batchId });
    if (!can(actor, 'stock.all') && actor.departmentId !== b.department_id) {
      throw new DomainError('STOCK_DEPARTMENT_MISMATCH', '只能查看本部门的导入批次', 'Only the operator’s own department’s import batches can be read', 403, { batchId });
    }
    return {
      batchId: b.batch_id,
      kind: b.kind,
      fileName: b.file_name,
      fileSha256: b.file_sha256 === NO_SHA ? null : b.file_sha256,
      warehouseCode: b.warehouse_code,
      cardType: b.card_type,
      rowsTotal: b.rows_total,
      rowsImported: b.rows_imported,
      rowsFailed: b.rows_failed,
      // chunks stored side by side append their errors in the order they commit
      errors: ((Array.isArray(b.errors) ? b.errors : []) as unknown as ImportError[]).sort((x, y) => x.line - y.line),
      state: b.state,
      operatorId: b.operator_id,
      departmentId: b.department_id,
      startedAt: b.started_at.toISOString(),
      finishedAt: b.finished_at ? b.finished_at.toISOString() : null,
    };
  }

  /** The warehouses of a department and every warehouse below them (a branch keeper loads its writing warehouses' cards too). */
  private async warehousesUnder(departmentId: string | null): Promise<string[]> {
    if (!departmentId) return [];
    const r = await sql<{ warehouse_code: string }>`
      WITH RECURSIVE tree AS (
        SELECT warehouse_code FROM warehouses WHERE department_id = ${departmentId}
        UNION
        SELECT w.warehouse_code FROM warehouses w JOIN tree t ON w.parent_code = t.warehouse_code
      ) SELECT warehouse_code FROM tree`.execute(this.deps.db);
    return r.rows.map((x) => x.warehouse_code);
  }

  /**
   * The streaming loop shared by both kinds: parse a chunk, store it (while the next one is read),
   * keep the counters and the first errors on the batch, close the batch with its audit entry.
   */
  private async run<R extends { line: number; iccid: string }>(
    actor: Actor,
    source: ImportSource,
    o: ImportOptions,
    batch: { kind: 'cards' | 'card_data'; warehouseCode: string | null; cardType: SimCardType | null },
    k: {
      parse: (l: Line, seen: Set<string>) => R | ImportError;
      store: (tx: Q, batchId: number, rows: R[], at: Date) => Promise<{ line: number; iccid: string; problem: ImportErrorCode }[]>;
    },
  ): Promise<BatchView> {
    const { db, clock } = this.deps;
    const fileName = o.fileName.trim().slice(0, 200) || 'upload';
    const chunkRows = Math.max(1, o.chunkRows ?? IMPORT_CHUNK_ROWS);
    // the batch is opened with the first well-formed row: a file with none (not a card file at
    // all, or empty) is refused whole and changes nothing
    let opened: Promise<number> | undefined;
    const openBatch = () =>
      (opened ??= db
        .insertInto('stock_import_batches')
        .values({
          kind: batch.kind,
          file_name: fileName,
          file_sha256: NO_SHA,
          warehouse_code: batch.warehouseCode,
          card_type: batch.cardType,
          operator_id: actor.operatorId,
          department_id: actor.departmentId,
          started_at: clock.now(),
        })
        .returning('batch_id')
        .executeTakeFirstOrThrow()
        .then((r) => r.batch_id));
    // refused rows of the chunks before the batch exists, stored with the first chunk that opens it
    let early: Chunk<R> = { rows: [], errors: [], total: 0 };

    const hash = createHash('sha256');
    const counter = { bytes: 0 };
    const totals = { rows: 0, imported: 0, failed: 0, reported: 0 };
    let chunk: Chunk<R> = { rows: [], errors: [], total: 0 };
    // duplicates inside a chunk are found here; across chunks, by the batch id of what is stored
    let seen = new Set<string>();
    let first = true;

    const store = (c: Chunk<R>, batchId: number) =>
      db.transaction().execute(async (tx) => {
        // the statements are prepared once per connection; a plan made generic after a few small
        // files would guess 10 rows for the chunk's arrays and join them in O(n²). A chunk's rows
        // are looked up by key: with the default random_page_cost the planner hashes the whole
        // million-row card table for every chunk instead (the import slowed down as the stock grew),
        // and compiles the statement with JIT each time.
        await bulkPlanSettings(tx, { randomPageCost: '1.1' });
        // the history rows of the stored cards are written by the same statement
        const refused = c.rows.length ? await k.store(tx, batchId, c.rows, clock.now()) : [];
        const bad = new Set(refused.map((x) => x.line));
        const stored = c.rows.filter((x) => !bad.has(x.line)).map((x) => x.iccid);
        const errors = [...c.errors, ...refused.map((x) => rowError(x.line, x.iccid, x.problem))].sort((a, b) => a.line - b.line);
        // room for this chunk's errors is taken before the next await, so chunks in flight share the cap
        const failed = errors.length + (c.unlisted ?? 0);
        const kept = errors.slice(0, Math.max(0, MAX_REPORTED_ERRORS - totals.reported));
        totals.reported += kept.length;
        try {
          await tx
            .updateTable('stock_import_batches')
            .set((eb) => ({
              rows_total: eb('rows_total', '+', c.total),
              rows_imported: eb('rows_imported', '+', stored.length),
              rows_failed: eb('rows_failed', '+', failed),
              ...(kept.length ? { errors: sql`errors || ${JSON.stringify(kept)}::jsonb` } : {}),
            }))
            .where('batch_id', '=', batchId)
            .execute();
        } catch (err) {
          totals.reported -= kept.length;
          throw err;
        }
        return { imported: stored.length, failed };
      });
    const flush = async (next: Chunk<R>) => {
      if (next.rows.length === 0 && !opened) {
        // every row of such a chunk is refused; past the reported cap only their count is kept
        const errors = [...early.errors, ...next.errors];
        early = { rows: [], errors: errors.slice(0, MAX_REPORTED_ERRORS), total: early.total + next.total, unlisted: (early.unlisted ?? 0) + Math.max(0, errors.length - MAX_REPORTED_ERRORS) };
        return;
      }
      const c = early.total ? { rows: next.rows, errors: [...early.errors, ...next.errors], total: early.total + next.total, unlisted: early.unlisted } : next;
      early = { rows: [], errors: [], total: 0 };
      const batchId = await openBatch();
      let done: { imported: number; failed: number };
      try {
        done = await store(c, batchId);
      } catch (err) {
        // two chunks in flight that share a duplicate may deadlock on it: the loser runs again
        if (!RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
        done = await store(c, batchId);
      }
      totals.rows += c.total;
      totals.imported += done.imported;
      totals.failed += done.failed;
      o.onProgress?.({ bytes: counter.bytes, rows: totals.rows, imported: totals.imported, failed: totals.failed });
    };

    const inFlight: Promise<void>[] = [];
    const parallel = Math.max(1, this.deps.chunksInFlight ?? 1);
    try {
      for await (const l of linesOf(source, hash, counter, o.maxBytes ?? MAX_IMPORT_BYTES)) {
        if (!l.tooLong && l.text.trim() === '') continue;
        if (first) {
          first = false;
          if (!l.tooLong && isHeader(splitFields(l.text))) continue;
        }
        chunk.total++;
        const parsed = l.tooLong ? rowError(l.line, l.text, 'LINE_TOO_LONG') : k.parse(l, seen);
        if ('code' in parsed) chunk.errors.push(parsed);
        else chunk.rows.push(parsed);
        if (chunk.total >= chunkRows) {
          const ready = chunk;
          chunk = { rows: [], errors: [], total: 0 };
          seen = new Set();
          // chunks in the database while the next is read and parsed, at most `parallel` at once
          if (inFlight.length >= parallel) await inFlight.shift();
          const p = flush(ready);
          // awaited in turn or at the end; until then a failure must not count as unhandled
          p.catch(() => undefined);
          inFlight.push(p);
        }
      }
      if (chunk.total > 0) inFlight.push(flush(chunk));
      while (inFlight.length) await inFlight.shift();
    } catch (err) {
      await Promise.allSettled(inFlight);
      const batchId = opened ? await opened.catch(() => undefined) : undefined;
      if (batchId !== undefined) {
        await db
          .updateTable('stock_import_batches')
          .set({ state: 'failed', finished_at: clock.now(), file_sha256: hash.copy().digest('hex') })
          .where('batch_id', '=', batchId)
          .execute();
      }
      throw err;
    }
    if (!opened) {
      throw new DomainError(
        'IMPORT_NO_VALID_ROWS',
        `文件中没有一行符合格式（共 ${early.total} 行），请检查文件`,
        `No row of the file has the expected format (${early.total} rows); check the file`,
        422,
        { rowsTotal: early.total, errors: early.errors.slice(0, 20) },
      );
    }
    const batchId = await opened;

    const sha = hash.digest('hex');
    await db.transaction().execute(async (tx) => {
      const previous = await tx
        .selectFrom('stock_import_batches')
        .select('batch_id')
        .where('kind', '=', batch.kind)
        .where('file_sha256', '=', sha)
        .where('state', '=', 'completed')
        .orderBy('batch_id')
        .executeTakeFirst();
      await tx.updateTable('stock_import_batches').set({ state: 'completed', finished_at: clock.now(), file_sha256: sha }).where('batch_id', '=', batchId).execute();
      const summary = {
        batchId,
        kind: batch.kind,
        fileName,
        fileSha256: sha,
        warehouseCode: batch.warehouseCode,
        cardType: batch.cardType,
        rowsTotal: totals.rows,
        rowsImported: totals.imported,
        rowsFailed: totals.failed,
        sameFileAsBatch: previous?.batch_id ?? null,
      };
      await recordChange(
        tx,
        clock,
        actor,
        { action: batch.kind === 'cards' ? 'stock.import_cards' : 'stock.import_card_data', targetType: 'stock_import_batch', targetId: batchId, after: summary },
        { type: batch.kind === 'cards' ? 'stock.cards_imported' : 'stock.card_data_imported', aggregateType: 'stock_import_batch', aggregateId: batchId, payload: summary },
      );
    });
    return this.getBatch(actor, batchId);
  }
}
