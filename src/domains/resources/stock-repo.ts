// The only place with SQL for warehouses, stock documents (transfers, picks, returns), counts and limits.
// Card selection is set-based: a fixed number of statements locks or moves N cards whatever N is.
import { type RawBuilder, type Selectable, sql } from 'kysely';
import type { Q } from '../../platform/db.ts';
import type { SimCardType, SimState, StockOrderKind, StockOrderState, StockOrdersTable, WarehouseLevel } from '../../platform/schema.ts';
import type { Selection } from './stock-rules.ts';

export type StockOrderRow = Selectable<StockOrdersTable>;

export interface WarehouseRow {
  warehouse_code: string;
  name: string;
  level: WarehouseLevel;
  category: 'own_outlet' | 'social_channel';
  department_id: string;
  department_name: string | null;
  parent_code: string | null;
}

export interface CardRow {
  iccid: string;
  card_type: SimCardType;
  state: SimState;
  warehouse_code: string | null;
  department_id: string | null;
  picked_by_department_id: string | null;
  picked_at: Date | null;
  service_number: string | null;
  imsi: string | null;
  has_card_data: boolean;
  stock_order_id: number | null;
  state_changed_at: Date;
}

export interface DocumentRow extends StockOrderRow {
  created_by_name: string | null;
  channel_name: string | null;
  iccids: string[] | null;
}

export interface CardFilter {
  /** null: every department (stock.all) */
  departmentId: string | null;
  warehouseCode?: string | undefined;
  state?: SimState | undefined;
  cardType?: SimCardType | undefined;
  channelDepartmentId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  after?: string | undefined;
  limit: number;
}

export interface DocumentFilter {
  departmentId: string | null;
  box?: 'out' | 'in' | undefined;
  kind?: StockOrderKind | undefined;
  state?: StockOrderState | undefined;
  after?: number | undefined;
  limit: number;
}

/** The ICCIDs first shown with a document. */
export const DOCUMENT_ICCIDS = 200;
/** How many offending cards a refusal names. */
const SAMPLE = 50;
/** Array slices of the first offending / shown ICCIDs. */
const FIRST = sql.raw(`[1:${SAMPLE}]`);
const FIRST_SHOWN = sql.raw(`[1:${DOCUMENT_ICCIDS}]`);

const CARD_COLUMNS = sql`c.iccid, c.card_type, c.state, c.warehouse_code, c.department_id, c.picked_by_department_id, c.picked_at, c.service_number,
  coalesce(c.imsi, d.imsi) AS imsi, d.iccid IS NOT NULL AS has_card_data, c.stock_order_id, c.state_changed_at`;

/** The cards a selection names: an ICCID list or an ICCID range of one length. */
function selected(s: Exclude<Selection, { kind: 'quantity' }>, alias = 'c'): RawBuilder<boolean> {
  const col = sql.ref(`${alias}.iccid`);
  return s.kind === 'iccid_list'
    ? sql<boolean>`${col} = ANY(${s.iccids}::text[])`
    : sql<boolean>`${col} BETWEEN ${s.from}::text AND ${s.to}::text AND length(${col}) = ${s.from.length}::int`;
}

export const stockRepo = {
  warehouses(q: Q): Promise<WarehouseRow[]> {
    return q
      .selectFrom('warehouses as w')
      .leftJoin('departments as d', 'd.department_id', 'w.department_id')
      .select(['w.warehouse_code', 'w.name', 'w.level', 'w.category', 'w.department_id', 'd.name as department_name', 'w.parent_code'])
      .orderBy('w.warehouse_code')
      .execute();
  },

  warehouse(q: Q, code: string): Promise<WarehouseRow | undefined> {
    return q
      .selectFrom('warehouses as w')
      .leftJoin('departments as d', 'd.department_id', 'w.department_id')
      .select(['w.warehouse_code', 'w.name', 'w.level', 'w.category', 'w.department_id', 'd.name as department_name', 'w.parent_code'])
      .where('w.warehouse_code', '=', code)
      .executeTakeFirst();
  },

  /** Per warehouse and card type: available (in stock, unlocked), locked by an open document, picked by channels. */
  async stockFigures(q: Q, codes: string[]) {
    if (codes.length === 0) return [];
    const r = await sql<{ warehouse_code: string; card_type: SimCardType; in_stock: number; locked: number; picked: number }>`
      SELECT warehouse_code, card_type,
             count(*) FILTER (WHERE state = 'in_stock' AND stock_order_id IS NULL)::int AS in_stock,
             count(*) FILTER (WHERE state = 'in_stock' AND stock_order_id IS NOT NULL)::int AS locked,
             count(*) FILTER (WHERE state = 'picked')::int AS picked
        FROM sim_cards
       WHERE warehouse_code = ANY(${codes}::text[]) AND state IN ('in_stock', 'picked')
       GROUP BY warehouse_code, card_type`.execute(q);
    return r.rows;
  },

  limits(q: Q, codes: string[]) {
    if (codes.length === 0) return Promise.resolve([]);
    return q.selectFrom('warehouse_stock_limits').selectAll().where('warehouse_code', 'in', codes).execute();
  },

  async upsertLimits(q: Q, code: string, limits: { cardType: SimCardType; minQuantity: number; maxQuantity: number }[], now: Date) {
    await q
      .insertInto('warehouse_stock_limits')
      .values(limits.map((l) => ({ warehouse_code: code, card_type: l.cardType, min_quantity: l.minQuantity, max_quantity: l.maxQuantity, updated_at: now })))
      .onConflict((oc) =>
        oc.columns(['warehouse_code', 'card_type']).doUpdateSet((eb) => ({
          min_quantity: eb.ref('excluded.min_quantity'),
          max_quantity: eb.ref('excluded.max_quantity'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  },

  department(q: Q, id: string) {
    return q.selectFrom('departments').select(['department_id', 'parent_id', 'name', 'kind']).where('department_id', '=', id).executeTakeFirst();
  },

  /** The department and its ancestors, nearest first. */
  async departmentChain(q: Q, id: string) {
    const r = await sql<{ department_id: string; parent_id: string | null; kind: string; depth: number }>`
      WITH RECURSIVE up AS (
        SELECT department_id, parent_id, kind, 0 AS depth FROM departments WHERE department_id = ${id}
        UNION ALL
        SELECT d.department_id, d.parent_id, d.kind, up.depth + 1 FROM departments d JOIN up ON d.department_id = up.parent_id WHERE up.depth < 20
      ) SELECT * FROM up ORDER BY depth`.execute(q);
    return r.rows;
  },

  /** Social channels under these parents (all of them when null). */
  channels(q: Q, parentIds: string[] | null) {
    let query = q.selectFrom('departments').select(['department_id', 'name', 'parent_id']).where('kind', '=', 'channel');
    if (parentIds !== null) {
      if (parentIds.length === 0) return Promise.resolve([]);
      query = query.where('parent_id', 'in', parentIds);
    }
    return query.orderBy('department_id').execute();
  },

  // ---- cards -------------------------------------------------------------------------------

  async cards(q: Q, f: CardFilter): Promise<CardRow[]> {
    const where: RawBuilder<unknown>[] = [sql`true`];
    if (f.departmentId !== null) where.push(sql`(c.department_id = ${f.departmentId}::text OR c.picked_by_department_id = ${f.departmentId}::text)`);
    if (f.warehouseCode) where.push(sql`c.warehouse_code = ${f.warehouseCode}::text`);
    if (f.state) where.push(sql`c.state = ${f.state}::text`);
    if (f.cardType) where.push(sql`c.card_type = ${f.cardType}::text`);
    if (f.channelDepartmentId) where.push(sql`c.picked_by_department_id = ${f.channelDepartmentId}::text`);
    if (f.from) where.push(sql`c.iccid >= ${f.from}::text`);
    if (f.to) where.push(sql`c.iccid <= ${f.to}::text`);
    if (f.after) where.push(sql`c.iccid > ${f.after}::text`);
    const r = await sql<CardRow>`
      SELECT ${CARD_COLUMNS} FROM sim_cards c LEFT JOIN sim_card_data d ON d.iccid = c.iccid
       WHERE ${sql.join(where, sql` AND `)}
       ORDER BY c.iccid LIMIT ${f.limit}::int`.execute(q);
    return r.rows;
  },

  async card(q: Q, iccid: string): Promise<CardRow | undefined> {
    const r = await sql<CardRow>`SELECT ${CARD_COLUMNS} FROM sim_cards c LEFT JOIN sim_card_data d ON d.iccid = c.iccid WHERE c.iccid = ${iccid}::text`.execute(q);
    return r.rows[0];
  },

  history(q: Q, iccid: string) {
    return q
      .selectFrom('sim_card_events as e')
      .leftJoin('operators as o', 'o.operator_id', 'e.operator_id')
      .select(['e.event_id', 'e.at', 'e.event', 'e.from_state', 'e.to_state', 'e.warehouse_code', 'e.holder_department_id', 'e.stock_order_id', 'e.order_id', 'e.operator_id', 'o.name as operator_name', 'e.detail'])
      .where('e.iccid', '=', iccid)
      .orderBy('e.event_id')
      .execute();
  },

  // ---- documents ---------------------------------------------------------------------------

  async insertDocument(
    q: Q,
    d: {
      kind: StockOrderKind;
      source: string;
      target: string | null;
      channel: string | null;
      cardType: SimCardType | null;
      selection: Selection['kind'];
      quantity: number;
      note: string | null;
      operatorId: number;
      departmentId: string;
      now: Date;
    },
  ): Promise<number> {
    const row = await q
      .insertInto('stock_orders')
      .values({
        kind: d.kind,
        source_warehouse_code: d.source,
        target_warehouse_code: d.target,
        channel_department_id: d.channel,
        card_type: d.cardType,
        selection: d.selection,
        quantity: d.quantity,
        note: d.note,
        created_by: d.operatorId,
        created_department_id: d.departmentId,
        created_at: d.now,
      })
      .returning('stock_order_id')
      .executeTakeFirstOrThrow();
    return row.stock_order_id;
  },

  /** Cards of a range that exist (the all-or-nothing check compares it with what was locked). */
  async countSelected(q: Q, s: Exclude<Selection, { kind: 'quantity' }>): Promise<number> {
    if (s.kind === 'iccid_list') return s.iccids.length;
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sim_cards c WHERE ${selected(s)}`.execute(q);
    return r.rows[0]?.n ?? 0;
  },

  /**
   * Locks available cards of the warehouse for the document and lists them as its items (two
   * statements whatever the count). By quantity the first free cards in ICCID order, skipping rows
   * another transaction holds (FOR UPDATE SKIP LOCKED); by list or range exactly the named cards
   * that are available — the caller compares the count. A card on an open document is never taken.
   */
  async lockStock(q: Q, stockOrderId: number, w: { warehouseCode: string; cardType: SimCardType }, s: Selection): Promise<number> {
    const available = sql`c.warehouse_code = ${w.warehouseCode}::text AND c.card_type = ${w.cardType}::text AND c.state = 'in_stock' AND c.stock_order_id IS NULL`;
    const chosen =
      s.kind === 'quantity'
        ? sql`SELECT c.iccid FROM sim_cards c WHERE ${available} ORDER BY c.iccid LIMIT ${s.quantity}::int FOR UPDATE SKIP LOCKED`
        : sql`SELECT c.iccid FROM sim_cards c WHERE ${available} AND ${selected(s)} ORDER BY c.iccid FOR UPDATE`;
    return lockChosen(q, stockOrderId, chosen);
  },

  /** Available (in stock, unlocked) cards of a type at the warehouse. */
  async available(q: Q, warehouseCode: string, cardType: SimCardType): Promise<number> {
    const r = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM sim_cards WHERE warehouse_code = ${warehouseCode}::text AND card_type = ${cardType}::text AND state = 'in_stock' AND stock_order_id IS NULL`.execute(q);
    return r.rows[0]?.n ?? 0;
  },

  /** Why the named cards could not all be locked by the document: unknown, locked elsewhere, or not available. */
  async selectionProblems(q: Q, stockOrderId: number, s: Exclude<Selection, { kind: 'quantity' }>) {
    const base =
      s.kind === 'iccid_list'
        ? sql`SELECT l.iccid, c.iccid IS NULL AS unknown, c.stock_order_id FROM unnest(${s.iccids}::text[]) AS l(iccid) LEFT JOIN sim_cards c ON c.iccid = l.iccid`
        : sql`SELECT c.iccid, false AS unknown, c.stock_order_id FROM sim_cards c WHERE ${selected(s)}`;
    const r = await sql<{ unknown: string[] | null; unknown_n: number; locked: string[] | null; locked_n: number; other: string[] | null; other_n: number }>`
      WITH s AS (${base}), bad AS (SELECT * FROM s WHERE stock_order_id IS DISTINCT FROM ${stockOrderId}::bigint)
      SELECT (array_agg(iccid ORDER BY iccid) FILTER (WHERE unknown))${FIRST} AS unknown, count(*) FILTER (WHERE unknown)::int AS unknown_n,
             (array_agg(iccid ORDER BY iccid) FILTER (WHERE NOT unknown AND stock_order_id IS NOT NULL))${FIRST} AS locked,
             count(*) FILTER (WHERE NOT unknown AND stock_order_id IS NOT NULL)::int AS locked_n,
             (array_agg(iccid ORDER BY iccid) FILTER (WHERE NOT unknown AND stock_order_id IS NULL))${FIRST} AS other,
             count(*) FILTER (WHERE NOT unknown AND stock_order_id IS NULL)::int AS other_n
        FROM bad`.execute(q);
    const row = r.rows[0];
    return {
      unknown: row?.unknown ?? [],
      unknownCount: row?.unknown_n ?? 0,
      locked: row?.locked ?? [],
      lockedCount: row?.locked_n ?? 0,
      unavailable: row?.other ?? [],
      unavailableCount: row?.other_n ?? 0,
    };
  },

  /** R-RES-3: what a return of these cards to the channel would find, without changing anything. */
  async returnFacts(q: Q, channel: string, s: Exclude<Selection, { kind: 'quantity' }>) {
    const base =
      s.kind === 'iccid_list'
        ? sql`SELECT l.iccid, c.iccid IS NULL AS unknown, c.state, c.picked_by_department_id, c.stock_order_id, c.warehouse_code
                FROM unnest(${s.iccids}::text[]) AS l(iccid) LEFT JOIN sim_cards c ON c.iccid = l.iccid`
        : sql`SELECT c.iccid, false AS unknown, c.state, c.picked_by_department_id, c.stock_order_id, c.warehouse_code FROM sim_cards c WHERE ${selected(s)}`;
    const mine = sql`NOT unknown AND picked_by_department_id = ${channel}::text`;
    const r = await sql<{
      found: number;
      unknown: string[] | null;
      mismatched: string[] | null;
      mismatched_n: number;
      not_returnable: string[] | null;
      not_returnable_n: number;
      locked: string[] | null;
      locked_n: number;
      warehouses: string[] | null;
    }>`
      WITH s AS (${base})
      SELECT count(*) FILTER (WHERE NOT unknown)::int AS found,
             (array_agg(iccid ORDER BY iccid) FILTER (WHERE unknown))${FIRST} AS unknown,
             (array_agg(iccid ORDER BY iccid) FILTER (WHERE NOT unknown AND picked_by_department_id IS DISTINCT FROM ${channel}::text))${FIRST} AS mismatched,
             count(*) FILTER (WHERE NOT unknown AND picked_by_department_id IS DISTINCT FROM ${channel}::text)::int AS mismatched_n,
             (array_agg(iccid ORDER BY iccid) FILTER (WHERE ${mine} AND state <> 'picked'))${FIRST} AS not_returnable,
             count(*) FILTER (WHERE ${mine} AND state <> 'picked')::int AS not_returnable_n,
             (array_agg(iccid ORDER BY iccid) FILTER (WHERE ${mine} AND state = 'picked' AND stock_order_id IS NOT NULL))${FIRST} AS locked,
             count(*) FILTER (WHERE ${mine} AND state = 'picked' AND stock_order_id IS NOT NULL)::int AS locked_n,
             array_agg(DISTINCT warehouse_code) FILTER (WHERE ${mine} AND warehouse_code IS NOT NULL) AS warehouses
        FROM s`.execute(q);
    const row = r.rows[0];
    return {
      found: row?.found ?? 0,
      unknown: row?.unknown ?? [],
      mismatched: row?.mismatched ?? [],
      mismatchedCount: row?.mismatched_n ?? 0,
      notReturnable: row?.not_returnable ?? [],
      notReturnableCount: row?.not_returnable_n ?? 0,
      locked: row?.locked ?? [],
      lockedCount: row?.locked_n ?? 0,
      warehouseCodes: row?.warehouses ?? [],
    };
  },

  /** Locks the channel's picked cards of the selection for a return document; the caller compares the count. */
  async lockReturn(q: Q, stockOrderId: number, channel: string, warehouseCode: string, s: Exclude<Selection, { kind: 'quantity' }>): Promise<number> {
    return lockChosen(
      q,
      stockOrderId,
      sql`SELECT c.iccid FROM sim_cards c
           WHERE ${selected(s)} AND c.picked_by_department_id = ${channel}::text AND c.state = 'picked' AND c.stock_order_id IS NULL
             AND c.warehouse_code = ${warehouseCode}::text
           ORDER BY c.iccid FOR UPDATE`,
    );
  },

  order(q: Q, id: number, forUpdate = false) {
    let query = q.selectFrom('stock_orders').selectAll().where('stock_order_id', '=', id);
    if (forUpdate) query = query.forUpdate();
    return query.executeTakeFirst();
  },

  /** The document with its creator's and channel's names and its first ICCIDs. */
  async documents(q: Q, where: RawBuilder<boolean>, limit: number): Promise<DocumentRow[]> {
    const r = await sql<DocumentRow>`
      SELECT o.*, op.name AS created_by_name, ch.name AS channel_name,
             ARRAY(SELECT i.iccid FROM stock_order_items i WHERE i.stock_order_id = o.stock_order_id ORDER BY i.iccid LIMIT ${DOCUMENT_ICCIDS}::int) AS iccids
        FROM stock_orders o
        LEFT JOIN operators op ON op.operator_id = o.created_by
        LEFT JOIN departments ch ON ch.department_id = o.channel_department_id
       WHERE ${where}
       ORDER BY o.stock_order_id DESC LIMIT ${limit}::int`.execute(q);
    return r.rows;
  },

  document(q: Q, id: number): Promise<DocumentRow | undefined> {
    return this.documents(q, sql<boolean>`o.stock_order_id = ${id}::bigint`, 1).then((r) => r[0]);
  },

  listDocuments(q: Q, f: DocumentFilter): Promise<DocumentRow[]> {
    const where: RawBuilder<unknown>[] = [sql`true`];
    if (f.departmentId !== null) {
      const mine = (col: string) => sql`o.${sql.ref(col)} IN (SELECT warehouse_code FROM warehouses WHERE department_id = ${f.departmentId}::text)`;
      const out = sql`(${mine('source_warehouse_code')} OR o.created_department_id = ${f.departmentId}::text)`;
      const inbox = sql`(${mine('target_warehouse_code')} OR o.channel_department_id = ${f.departmentId}::text)`;
      where.push(f.box === 'out' ? out : f.box === 'in' ? inbox : sql`(${out} OR ${inbox})`);
    }
    if (f.kind) where.push(sql`o.kind = ${f.kind}::text`);
    if (f.state) where.push(sql`o.state = ${f.state}::text`);
    if (f.after) where.push(sql`o.stock_order_id < ${f.after}::bigint`);
    return this.documents(q, sql<boolean>`${sql.join(where, sql` AND `)}`, f.limit);
  },

  /** Moves the document from one state to the next when it is still in `from` (the race guard). */
  setState(
    q: Q,
    id: number,
    from: StockOrderState,
    to: StockOrderState,
    s: { operatorId: number | null; now: Date; step: 'out' | 'in' | 'close'; reason?: string | null },
  ) {
    const set =
      s.step === 'out'
        ? { state: to, out_approved_by: s.operatorId, out_approved_at: s.now }
        : s.step === 'in'
          ? { state: to, in_approved_by: s.operatorId, in_approved_at: s.now, closed_by: s.operatorId, closed_at: s.now }
          : { state: to, closed_by: s.operatorId, closed_at: s.now, close_reason: s.reason ?? null };
    return q.updateTable('stock_orders').set(set).where('stock_order_id', '=', id).where('state', '=', from).returningAll().executeTakeFirst();
  },

  /** R-RES-1: both approved, the document's cards move to the target warehouse and its department. */
  async moveToTarget(q: Q, id: number, target: { warehouseCode: string; departmentId: string }): Promise<number> {
    const r = await sql`
      UPDATE sim_cards SET warehouse_code = ${target.warehouseCode}::text, department_id = ${target.departmentId}::text, stock_order_id = NULL
       WHERE stock_order_id = ${id}::bigint`.execute(q);
    return Number(r.numAffectedRows ?? 0);
  },

  /** R-RES-2: the pick is confirmed; its cards are now the channel's (they stay booked on the warehouse). */
  async markPicked(q: Q, id: number, channel: string, now: Date): Promise<number> {
    const r = await sql`
      UPDATE sim_cards SET state = 'picked', picked_by_department_id = ${channel}::text, picked_at = ${now}::timestamptz,
             state_changed_at = ${now}::timestamptz, stock_order_id = NULL
       WHERE stock_order_id = ${id}::bigint AND state = 'in_stock'`.execute(q);
    return Number(r.numAffectedRows ?? 0);
  },

  /** R-RES-3: the return is confirmed; its cards are back in stock at their warehouse. */
  async markReturned(q: Q, id: number, now: Date): Promise<number> {
    const r = await sql`
      UPDATE sim_cards SET state = 'in_stock', picked_by_department_id = NULL, picked_at = NULL, state_changed_at = ${now}::timestamptz, stock_order_id = NULL
       WHERE stock_order_id = ${id}::bigint AND state = 'picked'`.execute(q);
    return Number(r.numAffectedRows ?? 0);
  },

  /** A cancelled or rejected document lets its cards go, where they were. */
  async release(q: Q, id: number): Promise<number> {
    const r = await sql`UPDATE sim_cards SET stock_order_id = NULL WHERE stock_order_id = ${id}::bigint`.execute(q);
    return Number(r.numAffectedRows ?? 0);
  },

  // ---- counts ------------------------------------------------------------------------------

  /** Book quantity: the cards of the type in stock at the warehouse (locked ones included: they are still there). */
  async bookQuantity(q: Q, warehouseCode: string, cardType: SimCardType): Promise<number> {
    const r = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM sim_cards WHERE warehouse_code = ${warehouseCode}::text AND card_type = ${cardType}::text AND state = 'in_stock'`.execute(q);
    return r.rows[0]?.n ?? 0;
  },

  async insertCount(q: Q, c: { warehouseCode: string; cardType: SimCardType; book: number; counted: number; note: string | null; operatorId: number; now: Date }) {
    return q
      .insertInto('stock_counts')
      .values({ warehouse_code: c.warehouseCode, card_type: c.cardType, book_quantity: c.book, counted_quantity: c.counted, note: c.note, operator_id: c.operatorId, counted_at: c.now })
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  /** R-X-12: the missing (in the book, not counted) and unexpected (counted, not in the book) cards, recorded in one statement. */
  async recordDifferences(q: Q, countId: number, warehouseCode: string, cardType: SimCardType, iccids: string[]) {
    const r = await sql<{ kind: 'missing' | 'unexpected'; n: number; sample: string[] }>`
      WITH book AS (
        SELECT iccid FROM sim_cards WHERE warehouse_code = ${warehouseCode}::text AND card_type = ${cardType}::text AND state = 'in_stock'
      ), counted AS (SELECT DISTINCT unnest(${iccids}::text[]) AS iccid),
      diff AS (
        SELECT b.iccid, 'missing' AS kind FROM book b WHERE NOT EXISTS (SELECT 1 FROM counted k WHERE k.iccid = b.iccid)
        UNION ALL
        SELECT k.iccid, 'unexpected' FROM counted k WHERE NOT EXISTS (SELECT 1 FROM book b WHERE b.iccid = k.iccid)
      ),
      ins AS (INSERT INTO stock_count_differences (count_id, iccid, kind) SELECT ${countId}::bigint, iccid, kind FROM diff RETURNING iccid, kind)
      SELECT kind, count(*)::int AS n, (array_agg(iccid ORDER BY iccid))${FIRST_SHOWN} AS sample FROM ins GROUP BY kind`.execute(q);
    return r.rows;
  },

  async differences(q: Q, countId: number) {
    const r = await sql<{ kind: 'missing' | 'unexpected'; n: number; sample: string[] }>`
      SELECT kind, count(*)::int AS n, (array_agg(iccid ORDER BY iccid))${FIRST_SHOWN} AS sample
        FROM stock_count_differences WHERE count_id = ${countId}::bigint GROUP BY kind`.execute(q);
    return r.rows;
  },

  counts(q: Q, f: { warehouseCodes: string[] | null; warehouseCode?: string | undefined; limit: number }) {
    let query = q.selectFrom('stock_counts').selectAll();
    if (f.warehouseCodes !== null) {
      if (f.warehouseCodes.length === 0) return Promise.resolve([]);
      query = query.where('warehouse_code', 'in', f.warehouseCodes);
    }
    if (f.warehouseCode) query = query.where('warehouse_code', '=', f.warehouseCode);
    return query.orderBy('count_id', 'desc').limit(f.limit).execute();
  },
};

/**
 * The chosen cards (a locking SELECT) become the document's items, then its cards are marked by
 * joining the items: two statements whatever the count, each a key lookup per card whatever the
 * planner's row estimates (a 100,000-card array in a WHERE would be searched once per row). The
 * SELECT locks rows in ICCID order, so two documents never deadlock; the locks hold until commit.
 */
async function lockChosen(q: Q, stockOrderId: number, chosen: RawBuilder<unknown>): Promise<number> {
  const ins = await sql`
    WITH chosen AS (${chosen})
    INSERT INTO stock_order_items (stock_order_id, iccid) SELECT ${stockOrderId}::bigint, iccid FROM chosen`.execute(q);
  const n = Number(ins.numAffectedRows ?? 0);
  if (n === 0) return 0;
  const upd = await sql`
    UPDATE sim_cards c SET stock_order_id = ${stockOrderId}::bigint
      FROM stock_order_items i
     WHERE i.stock_order_id = ${stockOrderId}::bigint AND c.iccid = i.iccid`.execute(q);
  return Math.min(n, Number(upd.numAffectedRows ?? 0));
}
