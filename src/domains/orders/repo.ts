// The only SQL of orders, order fees, holds (R-ORD-5) and work orders.
import { type Selectable, sql } from 'kysely';
import type { Q } from '../../platform/db.ts';
import type { OrdersTable, OrderStatus, WorkOrdersTable } from '../../platform/schema.ts';
import type { FeeLine } from './types.ts';

export type OrderRow = Selectable<OrdersTable>;
export type WorkOrderRow = Selectable<WorkOrdersTable>;

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

  byId(q: Q, id: number) {
    return q.selectFrom('orders').selectAll().where('order_id', '=', id).executeTakeFirst();
  },

  lock(q: Q, id: number) {
    return q.selectFrom('orders').selectAll().where('order_id', '=', id).forUpdate().executeTakeFirst();
  },

  async update(q: Q, id: number, set: Partial<Record<keyof OrdersTable, unknown>>, now: Date) {
    const values: Record<string, unknown> = { updated_at: now };
    for (const [k, v] of Object.entries(set)) {
      values[k] = ['input', 'check_results', 'changes', 'notices', 'result', 'confirmation'].includes(k) && v !== null ? JSON.stringify(v) : v;
    }
    return q
      .updateTable('orders')
      .set({ ...values, version: sql`version + 1` } as never)
      .where('order_id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
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

  async replaceFees(q: Q, orderId: number, lines: FeeLine[]) {
    await q.deleteFrom('order_fees').where('order_id', '=', orderId).execute();
    if (lines.length === 0) return;
    await q
      .insertInto('order_fees')
      .values(
        lines.map((l) => ({
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
        })),
      )
      .execute();
  },

  /** R-ORD-5: holds of other orders on any of these subjects that are still in force. */
  conflictingHolds(q: Q, subjects: string[], orderId: number, now: Date) {
    if (subjects.length === 0) return Promise.resolve([]);
    return q
      .selectFrom('order_holds as h')
      .innerJoin('orders as o', 'o.order_id', 'h.order_id')
      .select(['h.subject', 'h.order_id', 'h.kind', 'h.held_until', 'o.business_type'])
      .where('h.subject', 'in', subjects)
      .where('h.order_id', '<>', orderId)
      .where((eb) => eb.or([eb('h.held_until', 'is', null), eb('h.held_until', '>', now)]))
      .execute();
  },

  /** Takes the holds; a hold past its time is taken over. Returns the subjects another order still holds. */
  async takeHolds(q: Q, orderId: number, subjects: string[], kind: 'in_transit' | 'reservation', heldUntil: Date | null, now: Date): Promise<string[]> {
    if (subjects.length === 0) return [];
    const taken = await sql<{ subject: string }>`
      INSERT INTO order_holds (subject, order_id, kind, held_until, created_at)
      SELECT s, ${orderId}, ${kind}, ${heldUntil}, ${now} FROM unnest(${subjects}::text[]) AS s
      ON CONFLICT (subject) DO UPDATE SET order_id = excluded.order_id, kind = excluded.kind, held_until = excluded.held_until, created_at = excluded.created_at
        WHERE order_holds.order_id = excluded.order_id OR (order_holds.held_until IS NOT NULL AND order_holds.held_until <= ${now})
      RETURNING subject`.execute(q);
    const got = new Set(taken.rows.map((r) => r.subject));
    return subjects.filter((s) => !got.has(s));
  },

  /** Ends the order's in-transit holds; a reservation (预约单) stays until its held_until passes. */
  releaseHolds(q: Q, orderId: number) {
    return q.deleteFrom('order_holds').where('order_id', '=', orderId).where('kind', '=', 'in_transit').execute();
  },

  insertWorkOrder(q: Q, w: { order_id: number; kind: 'installation' | 'removal' | 'reinstall'; subscriber_id: number; address: string | null; now: Date }) {
    return q
      .insertInto('work_orders')
      .values({ order_id: w.order_id, kind: w.kind, subscriber_id: w.subscriber_id, address: w.address, created_at: w.now })
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
