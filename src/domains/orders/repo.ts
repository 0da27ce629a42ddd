// The only SQL of orders, order fees, holds (R-ORD-5) and work orders.
import { type RawBuilder, type Selectable, sql } from 'kysely';
import type { Actor } from '../../platform/audit.ts';
import type { Q } from '../../platform/db.ts';
import { type NumberWithSimJson, numberWithSimFacts } from '../resources/repo.ts';
import { type ChangeRow, changesCtes } from '../../platform/outbox.ts';
import type { OrderFeesTable, OrdersTable, OrderStatus, WorkOrdersTable } from '../../platform/schema.ts';
import type { FeeLine } from './types.ts';

export type OrderRow = Selectable<OrdersTable>;
export type WorkOrderRow = Selectable<WorkOrdersTable>;
export type FeeRow = Selectable<OrderFeesTable>;
/** The order's customer as the steps' rules read it (orders/facts.ts CustomerFacts), read with the order. */
export interface OrderCustomerRow {
  customer_id: number;
  kind: string;
  name: string;
  id_type: string;
  id_number: string;
  segment: string;
  vip_level: string;
  has_service_password: boolean;
}
/**
 * The order read for a step, with its department's capabilities (R-ORD-8) and its customer read in the
 * same round trip (loadCustomer takes that instead of reading the customer again).
 */
export type LockedOrder = OrderRow & { department_capabilities: string[] | null; order_customer: OrderCustomerRow | null; member_resources?: MemberResourceRow[] | null };

/** A member of the order's input with a number and a card, and what numberWithSimFacts read of them with the order. */
export interface MemberResourceRow {
  serviceNumber: string;
  iccid: string;
  facts: NumberWithSimJson | null;
}

/** The columns of LockedOrder besides the order's own (an order `o` in the query). */
const departmentCapabilities = sql<string[] | null>`(SELECT d.capabilities FROM departments d WHERE d.department_id = o.department_id)`;
const orderCustomer = sql<OrderCustomerRow | null>`(SELECT json_build_object('customer_id', c.customer_id, 'kind', c.kind, 'name', c.name, 'id_type', c.id_type,
    'id_number', c.id_number, 'segment', c.segment, 'vip_level', c.vip_level, 'has_service_password', c.service_password_hash IS NOT NULL)
    FROM customers c WHERE c.customer_id = o.customer_id)`;
/**
 * The numbers and cards of the members the order's input names (`members[]` with `serviceNumber` and `iccid`),
 * read with the order: the step's rules need them (loadMember), and reading them here saves the step a round trip.
 */
const memberResources = sql<MemberResourceRow[] | null>`(SELECT json_agg(json_build_object('serviceNumber', m->>'serviceNumber', 'iccid', m->>'iccid',
      'facts', ${numberWithSimFacts(sql`m->>'serviceNumber'`, sql`m->>'iccid'`)}))
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(o.input->'members') = 'array' THEN o.input->'members' ELSE '[]'::jsonb END) AS m
   WHERE jsonb_typeof(m) = 'object' AND jsonb_typeof(m->'serviceNumber') = 'string' AND jsonb_typeof(m->'iccid') = 'string')`;
const stepContext = [departmentCapabilities.as('department_capabilities'), orderCustomer.as('order_customer'), memberResources.as('member_resources')];

/**
 * R-ORD-5: takes the holds of `rows` (subject, order id, kind, held until); a hold of the same order, or
 * one past its time, is taken over. Returns the subjects taken (the others another order still holds).
 */
function holdsTaken(rows: RawBuilder<unknown>, now: Date) {
  return sql<{ subject: string }>`
    INSERT INTO order_holds (subject, order_id, kind, held_until, created_at)
    SELECT t.subject, t.order_id, t.kind, t.held_until, ${now}::timestamptz FROM (${rows}) AS t(subject, order_id, kind, held_until)
    ON CONFLICT (subject) DO UPDATE SET order_id = excluded.order_id, kind = excluded.kind, held_until = excluded.held_until, created_at = excluded.created_at
      WHERE order_holds.order_id = excluded.order_id OR (order_holds.held_until IS NOT NULL AND order_holds.held_until <= ${now}::timestamptz)
    RETURNING subject`;
}

/** Another order's hold on a subject of this one (R-ORD-5). */
export interface HoldConflict {
  subject: string;
  order_id: number;
  kind: 'in_transit' | 'reservation';
  held_until: Date | null;
  business_type: string;
}

/** An audit entry and its outbox event about the order being written (what recordChange stores). */
export interface OrderRecord {
  action: string;
  event: string;
  /** the summary before the change, if the entry shows one */
  before?: unknown;
  /** the summary after the change (its orderId is set from the row), plus extra fields */
  after: Record<string, unknown>;
}

const JSON_COLUMNS = ['input', 'check_results', 'changes', 'notices', 'result', 'confirmation'];

/**
 * The audit rows and outbox events of `records` about the order row of CTE `row`, as CTEs: the same
 * rows as recordChange (platform/outbox.ts) writes, in one statement with the order's own write.
 */
function recordsOf(row: 'o' | 'u', records: OrderRecord[], actor: Actor, now: Date) {
  const table = sql.table(row);
  return sql`
    rec AS (
      SELECT x.ord, x.r->>'action' AS action, x.r->>'event' AS event, x.r->'before' AS before,
             (x.r->'after') || jsonb_build_object('orderId', ${table}.order_id) AS after, ${table}.order_id, ${table}.account_id
        FROM ${table} CROSS JOIN jsonb_array_elements(${JSON.stringify(records)}::jsonb) WITH ORDINALITY AS x(r, ord)
    ),
    au AS (
      INSERT INTO audit_log (at, operator_id, department_id, action, target_type, target_id, account_id, before, after, request_id)
      SELECT ${now}::timestamptz, ${actor.operatorId}::bigint, ${actor.departmentId}::text, action, 'order', order_id::text, account_id, before, after, ${actor.requestId ?? null}::text
        FROM rec ORDER BY ord
    ),
    ob AS (
      INSERT INTO outbox (event_type, aggregate_type, aggregate_id, account_id, payload, occurred_at)
      SELECT event, 'order', order_id::text, account_id, after, ${now}::timestamptz FROM rec ORDER BY ord
    )`;
}

function feeRow(orderId: number, l: FeeLine) {
  return {
    order_id: orderId,
    line_no: l.lineNo,
    fee_code: l.feeCode,
    kind: l.kind,
    item_code: l.itemCode,
    book_type: l.bookType ?? null,
    restricted_items: l.restrictedItems ?? null,
    name_zh: l.name.zh,
    name_en: l.name.en,
    member_role: l.memberRole ?? null,
    amount_fen: l.amountFen,
    waived_fen: l.waivedFen,
    waived_by: l.waivedBy,
    waiver_reason: l.waiverReason,
  };
}

function assignmentsOf(set: Partial<Record<keyof OrdersTable, unknown>>, now: Date) {
  const assignments = [sql`updated_at = ${now}`, sql`version = version + 1`];
  for (const [k, v] of Object.entries(set)) assignments.push(sql`${sql.ref(k)} = ${JSON_COLUMNS.includes(k) && v !== null ? JSON.stringify(v) : v}`);
  return assignments;
}

export const orderRepo = {
  insert(
    q: Q,
    o: { business_type: string; customer_id: number | null; account_id: number | null; subscriber_id: number | null; operator_id: number; department_id: string; input: unknown; now: Date },
  ) {
    return q
      .insertInto('orders')
      .values({
        business_type: o.business_type,
        status: 'draft',
        customer_id: o.customer_id,
        account_id: o.account_id,
        subscriber_id: o.subscriber_id,
        operator_id: o.operator_id,
        department_id: o.department_id,
        input: JSON.stringify(o.input),
        created_at: o.now,
        updated_at: o.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  /** A new draft with its audit entry and event in one statement (atomic without a transaction). */
  async insertRecorded(
    q: Q,
    o: { business_type: string; customer_id: number | null; account_id: number | null; subscriber_id: number | null; operator_id: number; department_id: string; input: unknown; now: Date },
    records: OrderRecord[],
    actor: Actor,
  ): Promise<OrderRow> {
    const r = await sql<OrderRow>`
      WITH o AS (
        INSERT INTO orders (business_type, status, customer_id, account_id, subscriber_id, operator_id, department_id, input, created_at, updated_at)
        VALUES (${o.business_type}, 'draft', ${o.customer_id}, ${o.account_id}, ${o.subscriber_id}, ${o.operator_id}, ${o.department_id}, ${JSON.stringify(o.input)}, ${o.now}, ${o.now})
        RETURNING *
      ),
      ${recordsOf('o', records, actor, o.now)}
      SELECT * FROM o`.execute(q);
    const row = r.rows[0];
    if (!row) throw new Error('insert into orders returned no row');
    return row;
  },

  byId(q: Q, id: number) {
    return q.selectFrom('orders').selectAll().where('order_id', '=', id).executeTakeFirst();
  },

  lock(q: Q, id: number) {
    return q.selectFrom('orders').selectAll().where('order_id', '=', id).forUpdate().executeTakeFirst();
  },

  /** Locks the order (only its row) and reads its department's capabilities and customer in the same round trip. */
  lockWithDepartment(q: Q, id: number): Promise<LockedOrder | undefined> {
    return q
      .selectFrom('orders as o')
      .selectAll('o')
      .select(stepContext)
      .where('o.order_id', '=', id)
      .forUpdate()
      .executeTakeFirst();
  },

  /** The order, its department's capabilities and customer without a lock (the optimistic steps: check, quote). */
  withDepartment(q: Q, id: number): Promise<LockedOrder | undefined> {
    return q
      .selectFrom('orders as o')
      .selectAll('o')
      .select(stepContext)
      .where('o.order_id', '=', id)
      .executeTakeFirst();
  },

  /**
   * The submission's first statement: lockWithDepartment, the order's fee lines (by line), and the
   * in-transit holds (R-ORD-5) of the subjects its last check found (`hold_subjects`), taken as
   * takeHolds takes them. `held`: those taken; the others are held by another order.
   */
  async lockForSubmit(q: Q, id: number, now: Date): Promise<{ order: LockedOrder; fees: FeeRow[]; held: string[] } | undefined> {
    const r = await sql<LockedOrder & { fee_rows: FeeRow[]; held: string[] | null }>`
      WITH o AS (SELECT * FROM orders WHERE order_id = ${id} FOR UPDATE),
      h AS (${holdsTaken(sql`SELECT s, o.order_id, 'in_transit', NULL::timestamptz FROM o CROSS JOIN unnest(o.hold_subjects) AS s WHERE o.status = 'quoted'`, now)})
      SELECT o.*, ${departmentCapabilities} AS department_capabilities, ${orderCustomer} AS order_customer, ${memberResources} AS member_resources,
             (SELECT coalesce(json_agg(f ORDER BY f.line_no), '[]'::json) FROM order_fees f WHERE f.order_id = o.order_id) AS fee_rows,
             (SELECT array_agg(subject) FROM h) AS held
        FROM o`.execute(q);
    const row = r.rows[0];
    if (!row) return undefined;
    const { fee_rows, held, ...order } = row;
    return { order, fees: fee_rows, held: held ?? [] };
  },

  async update(q: Q, id: number, set: Partial<Record<keyof OrdersTable, unknown>>, now: Date) {
    const values: Record<string, unknown> = { updated_at: now };
    for (const [k, v] of Object.entries(set)) {
      values[k] = JSON_COLUMNS.includes(k) && v !== null ? JSON.stringify(v) : v;
    }
    return q
      .updateTable('orders')
      .set({ ...values, version: sql`version + 1` } as never)
      .where('order_id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  /**
   * update() with the audit entries and events of the change, in one statement. `changes`: other
   * changes of the transaction (collected by deferChanges) written by the same statement;
   * `releaseHolds`: the order's in-transit holds end in the same statement (as releaseHolds).
   */
  async updateRecorded(
    q: Q,
    id: number,
    set: Partial<Record<keyof OrdersTable, unknown>>,
    now: Date,
    records: OrderRecord[],
    actor: Actor,
    changes: ChangeRow[] = [],
    opts: { releaseHolds?: boolean } = {},
  ): Promise<OrderRow> {
    const release = opts.releaseHolds ? sql`rel AS (DELETE FROM order_holds WHERE order_id = ${id} AND kind = 'in_transit'),` : sql``;
    const r = await sql<OrderRow>`
      WITH ${changes.length ? changesCtes(changes) : sql``} ${release} u AS (UPDATE orders SET ${sql.join(assignmentsOf(set, now))} WHERE order_id = ${id} RETURNING *),
      ${recordsOf('u', records, actor, now)}
      SELECT * FROM u`.execute(q);
    const row = r.rows[0];
    if (!row) throw new Error(`order ${id}: update returned no row`);
    return row;
  },

  /**
   * The optimistic step's only write, atomic without a transaction: updates the order if it is still
   * at `version` (no other step changed it since it was read), writes the audit entries and events,
   * and — with `fees` — makes the fee lines `fees` (as replaceFees), all in one statement. Undefined
   * when the order changed meanwhile: nothing is written, the caller runs the step under the lock.
   */
  async updateIfVersion(
    q: Q,
    id: number,
    /** null: unconditionally (the caller holds the order's lock) */
    version: number | null,
    set: Partial<Record<keyof OrdersTable, unknown>>,
    now: Date,
    records: OrderRecord[],
    actor: Actor,
    fees?: FeeLine[],
    /**
     * R-ORD-5 in the same statement: nothing is written while another order's hold on one of these
     * subjects is in force; `busy` then lists those holds and the caller writes again with them as failures.
     */
    holdGuard?: { subjects: string[] },
  ): Promise<{ row: OrderRow; fees: FeeRow[] | undefined } | { busy: HoldConflict[] } | undefined> {
    const feeCtes =
      fees === undefined
        ? sql``
        : sql`
      gone AS (
        DELETE FROM order_fees WHERE order_id = ${id} AND EXISTS (SELECT 1 FROM u)
           AND NOT (line_no = ANY(${fees.map((l) => l.lineNo)}::int[]))
      ),
      fl AS (
        INSERT INTO order_fees (order_id, line_no, fee_code, kind, item_code, book_type, restricted_items, name_zh, name_en, member_role, amount_fen, waived_fen, waived_by, waiver_reason)
        SELECT t.order_id, t.line_no, t.fee_code, t.kind, t.item_code, t.book_type, t.restricted_items, t.name_zh, t.name_en, t.member_role, t.amount_fen, t.waived_fen, t.waived_by, t.waiver_reason
          FROM jsonb_to_recordset(${JSON.stringify(fees.map((l) => feeRow(id, l)))}::jsonb) AS t(
            order_id bigint, line_no int, fee_code text, kind text, item_code text, book_type text, restricted_items text[], name_zh text, name_en text,
            member_role text, amount_fen bigint, waived_fen bigint, waived_by bigint, waiver_reason text)
         WHERE EXISTS (SELECT 1 FROM u)
        ON CONFLICT (order_id, line_no) DO UPDATE SET fee_code = excluded.fee_code, kind = excluded.kind, item_code = excluded.item_code,
          book_type = excluded.book_type, restricted_items = excluded.restricted_items, name_zh = excluded.name_zh, name_en = excluded.name_en,
          member_role = excluded.member_role, amount_fen = excluded.amount_fen, waived_fen = excluded.waived_fen, waived_by = excluded.waived_by,
          waiver_reason = excluded.waiver_reason
        RETURNING *
      ),`;
    const feeRows = fees === undefined ? sql`NULL::json` : sql`(SELECT coalesce(json_agg(f ORDER BY f.line_no), '[]'::json) FROM fl f)`;
    const guarded = holdGuard !== undefined && holdGuard.subjects.length > 0;
    const busyCte = guarded
      ? sql`busy AS (
        SELECT h.subject, h.order_id, h.kind, h.held_until, o.business_type FROM order_holds h JOIN orders o ON o.order_id = h.order_id
         WHERE h.subject = ANY(${holdGuard.subjects}::text[]) AND h.order_id <> ${id} AND (h.held_until IS NULL OR h.held_until > ${now})
      ),`
      : sql``;
    const r = await sql<OrderRow & { fee_rows: FeeRow[] | null; busy_holds: HoldConflict[] | null }>`
      WITH ${busyCte} u AS (UPDATE orders SET ${sql.join(assignmentsOf(set, now))} WHERE order_id = ${id} ${version === null ? sql`` : sql`AND version = ${version}`}
                 ${guarded ? sql`AND NOT EXISTS (SELECT 1 FROM busy)` : sql``} RETURNING *),
      ${feeCtes}
      ${recordsOf('u', records, actor, now)}
      SELECT u.*, ${feeRows} AS fee_rows, NULL::json AS busy_holds FROM u
      ${guarded ? sql`UNION ALL SELECT u.*, NULL::json, (SELECT json_agg(b ORDER BY b.subject) FROM busy b) FROM (SELECT 1) one LEFT JOIN u ON false WHERE EXISTS (SELECT 1 FROM busy)` : sql``}`.execute(q);
    const got = r.rows[0];
    if (!got) return undefined;
    const { fee_rows, busy_holds, ...row } = got;
    if (busy_holds) return { busy: busy_holds.map((h) => ({ ...h, held_until: h.held_until === null ? null : new Date(h.held_until) })) };
    return { row: row as OrderRow, fees: fee_rows ?? undefined };
  },

  list(q: Q, f: { customerId?: number | undefined; subscriberId?: number | undefined; status?: OrderStatus | undefined; limit: number }) {
    let s = q.selectFrom('orders').selectAll();
    if (f.customerId !== undefined) s = s.where('customer_id', '=', f.customerId);
    if (f.subscriberId !== undefined) s = s.where('subscriber_id', '=', f.subscriberId);
    if (f.status !== undefined) s = s.where('status', '=', f.status);
    return s.orderBy('order_id', 'desc').limit(f.limit).execute();
  },

  fees(q: Q, orderId: number) {
    return q.selectFrom('order_fees').selectAll().where('order_id', '=', orderId).orderBy('line_no').execute();
  },

  /** The order's fee lines become `lines` (numbered 1..n) in one statement; returns the stored rows by line. */
  async replaceFees(q: Q, orderId: number, lines: FeeLine[]): Promise<FeeRow[]> {
    if (lines.length === 0) {
      await q.deleteFrom('order_fees').where('order_id', '=', orderId).execute();
      return [];
    }
    // lines beyond the new ones go, lines 1..n are written over: disjoint rows, so one statement
    const rows = await q
      .with('gone', (db) => db.deleteFrom('order_fees').where('order_id', '=', orderId).where('line_no', 'not in', lines.map((l) => l.lineNo)))
      .insertInto('order_fees')
      .values(lines.map((l) => feeRow(orderId, l)))
      .onConflict((oc) =>
        oc.columns(['order_id', 'line_no']).doUpdateSet((eb) => ({
          fee_code: eb.ref('excluded.fee_code'),
          kind: eb.ref('excluded.kind'),
          item_code: eb.ref('excluded.item_code'),
          book_type: eb.ref('excluded.book_type'),
          restricted_items: eb.ref('excluded.restricted_items'),
          name_zh: eb.ref('excluded.name_zh'),
          name_en: eb.ref('excluded.name_en'),
          member_role: eb.ref('excluded.member_role'),
          amount_fen: eb.ref('excluded.amount_fen'),
          waived_fen: eb.ref('excluded.waived_fen'),
          waived_by: eb.ref('excluded.waived_by'),
          waiver_reason: eb.ref('excluded.waiver_reason'),
        })),
      )
      .returningAll()
      .execute();
    return rows.sort((a, b) => a.line_no - b.line_no);
  },

  /** Takes the holds; a hold past its time is taken over. Returns the subjects another order still holds. */
  async takeHolds(q: Q, orderId: number, subjects: string[], kind: 'in_transit' | 'reservation', heldUntil: Date | null, now: Date): Promise<string[]> {
    if (subjects.length === 0) return [];
    const taken = await holdsTaken(sql`SELECT s, ${orderId}::bigint, ${kind}::text, ${heldUntil}::timestamptz FROM unnest(${subjects}::text[]) AS s`, now).execute(q);
    const got = new Set(taken.rows.map((r) => r.subject));
    return subjects.filter((s) => !got.has(s));
  },

  /** Ends the order's in-transit holds; a reservation (预约单) stays until its held_until passes. */
  releaseHolds(q: Q, orderId: number) {
    return q.deleteFrom('order_holds').where('order_id', '=', orderId).where('kind', '=', 'in_transit').execute();
  },

  insertWorkOrder(q: Q, w: { order_id: number; kind: 'installation' | 'removal' | 'reinstall'; subscriber_id: number; address: string | null; measurement_room?: string | null; now: Date }) {
    return q
      .insertInto('work_orders')
      .values({ order_id: w.order_id, kind: w.kind, subscriber_id: w.subscriber_id, address: w.address, measurement_room: w.measurement_room ?? null, created_at: w.now })
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  workOrdersOf(q: Q, orderId: number) {
    return q.selectFrom('work_orders').selectAll().where('order_id', '=', orderId).orderBy('work_order_id').execute();
  },

  lockWorkOrder(q: Q, id: number) {
    return q.selectFrom('work_orders').selectAll().where('work_order_id', '=', id).forUpdate().executeTakeFirst();
  },

  completeWorkOrder(q: Q, id: number, operatorId: number | null, note: string | null, now: Date) {
    return q
      .updateTable('work_orders')
      .set({ status: 'completed', completed_at: now, completed_by: operatorId, note })
      .where('work_order_id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  listWorkOrders(q: Q, f: { status?: 'open' | 'completed' | 'cancelled' | undefined; limit: number }) {
    let s = q.selectFrom('work_orders').selectAll();
    if (f.status) s = s.where('status', '=', f.status);
    return s.orderBy('work_order_id', 'desc').limit(f.limit).execute();
  },

  department(q: Q, id: string) {
    return q.selectFrom('departments').select(['department_id', 'name', 'capabilities']).where('department_id', '=', id).executeTakeFirst();
  },

  operator(q: Q, id: number) {
    return q.selectFrom('operators').select(['operator_id', 'username', 'name']).where('operator_id', '=', id).executeTakeFirst();
  },

  /** R-ORD-6: confirmations past their deadline. */
  expiredConfirmations(q: Q, now: Date) {
    return q
      .selectFrom('orders')
      .select('order_id')
      .where('status', '=', 'awaiting_confirmation')
      .where(sql<boolean>`(confirmation->>'expiresAt')::timestamptz <= ${now}`)
      .orderBy('order_id')
      .execute();
  },
};
