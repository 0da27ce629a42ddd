// The only SQL of on-site card writing (R-RES-4, R-RES-5, R-X-11): the card with its card data,
// the write attempts (card_writes) and the card's changes when a write succeeds, fails, expires or
// its order is reversed.
import { type Selectable, sql } from 'kysely';
import type { Actor } from '../../platform/audit.ts';
import type { Q } from '../../platform/db.ts';
import type { CardWritesTable, SimCardsTable } from '../../platform/schema.ts';

export type CardWriteRow = Selectable<CardWritesTable>;
export type CardRow = Selectable<SimCardsTable>;

/** The card locked for a write, with its card data (sealed) and what else holds it. */
export type CardForWrite = CardRow & {
  data_imsi: string | null;
  ki_encrypted: Uint8Array | null;
  opc_encrypted: Uint8Array | null;
  ki_key_id: string | null;
  open_write_id: number | null;
  /** another card already carries this card data's IMSI */
  imsi_taken: boolean;
  has_card_data: boolean;
};

export const cardWriteRepo = {
  /** One round trip: the card row locked, its card data and its open write. */
  async lockCard(q: Q, iccid: string): Promise<CardForWrite | undefined> {
    const r = await sql<CardForWrite>`
      SELECT c.*, d.imsi AS data_imsi, d.ki_encrypted, d.opc_encrypted, d.ki_key_id, d.iccid IS NOT NULL AS has_card_data,
             (SELECT w.write_id FROM card_writes w WHERE w.iccid = c.iccid AND w.state = 'issued') AS open_write_id,
             EXISTS (SELECT 1 FROM sim_cards o WHERE o.imsi = d.imsi AND o.iccid <> c.iccid) AS imsi_taken
        FROM sim_cards c LEFT JOIN sim_card_data d ON d.iccid = c.iccid
       WHERE c.iccid = ${iccid}
         FOR UPDATE OF c`.execute(q);
    const row = r.rows[0];
    return row ? { ...row, open_write_id: row.open_write_id === null ? null : Number(row.open_write_id) } : undefined;
  },

  async card(q: Q, iccid: string): Promise<(CardRow & { has_card_data: boolean }) | undefined> {
    const row = await q
      .selectFrom('sim_cards as c')
      .selectAll('c')
      .select((eb) => eb.exists(eb.selectFrom('sim_card_data as d').select('d.iccid').whereRef('d.iccid', '=', 'c.iccid')).as('has_card_data'))
      .where('c.iccid', '=', iccid)
      .executeTakeFirst();
    return row && { ...row, has_card_data: Boolean(row.has_card_data) };
  },

  insertWrite(q: Q, w: { iccid: string; orderId: number; serviceNumber: string; imsi: string; operatorId: number; departmentId: string; now: Date }) {
    return q
      .insertInto('card_writes')
      .values({
        iccid: w.iccid,
        order_id: w.orderId,
        service_number: w.serviceNumber,
        imsi: w.imsi,
        operator_id: w.operatorId,
        department_id: w.departmentId,
        state: 'issued',
        issued_at: w.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  lockWrite(q: Q, writeId: number) {
    return q.selectFrom('card_writes').selectAll().where('write_id', '=', writeId).forUpdate().executeTakeFirst();
  },

  writesOfOrder(q: Q, orderId: number) {
    return q.selectFrom('card_writes').selectAll().where('order_id', '=', orderId).orderBy('write_id').execute();
  },

  closeWrite(q: Q, writeId: number, c: { state: 'succeeded' | 'failed'; errorCode: string | null; errorMessage: string | null; now: Date }) {
    return q
      .updateTable('card_writes')
      .set({ state: c.state, error_code: c.errorCode, error_message: c.errorMessage, reported_at: c.now })
      .where('write_id', '=', writeId)
      .where('state', 'in', ['issued', 'expired'])
      .returningAll()
      .executeTakeFirst();
  },

  /** picked → written: the blank card now carries its IMSI (and the number it was written for, if still held). */
  markWritten(q: Q, iccid: string, w: { imsi: string; serviceNumber: string | null; now: Date }) {
    return q
      .updateTable('sim_cards')
      .set({ state: 'written', imsi: w.imsi, service_number: w.serviceNumber, written_at: w.now, state_changed_at: w.now })
      .where('iccid', '=', iccid)
      .where('state', '=', 'picked')
      .where('card_type', '<>', 'finished')
      .where('imsi', 'is', null)
      .returningAll()
      .executeTakeFirst();
  },

  /** R-X-11: a written card whose order was reversed is usable again: still written, no number bound. */
  unbindWritten(q: Q, iccid: string, serviceNumber: string, now: Date) {
    return q
      .updateTable('sim_cards')
      .set({ service_number: null, state_changed_at: now })
      .where('iccid', '=', iccid)
      .where('state', '=', 'written')
      .where('service_number', '=', serviceNumber)
      .returningAll()
      .executeTakeFirst();
  },

  /** The number's reservation, when this order holds it (live or not). */
  numberHeldBy(q: Q, serviceNumber: string, orderId: number) {
    return q
      .selectFrom('numbers')
      .select(['service_number', 'state', 'reservation_kind', 'reserved_order_id', 'reserved_until'])
      .where('service_number', '=', serviceNumber)
      .where('state', '=', 'reserved')
      .where('reserved_order_id', '=', orderId)
      .executeTakeFirst();
  },

  /**
   * Issued writes not reported within the card-writing hold expire (R-X-10, R-X-11): each write row,
   * its card's history row, audit entry and outbox event in one statement. The card stays picked;
   * the number's reservation expires with the same hold in the same job.
   */
  async expireIssued(q: Q, now: Date, cutoff: Date, actor: Actor): Promise<number[]> {
    const r = await sql<{ write_id: number }>`
      WITH due AS (
        SELECT write_id FROM card_writes WHERE state = 'issued' AND issued_at <= ${cutoff}::timestamptz ORDER BY write_id FOR UPDATE SKIP LOCKED
      ), done AS (
        UPDATE card_writes w SET state = 'expired', reported_at = NULL
          FROM due WHERE w.write_id = due.write_id
        RETURNING w.write_id, w.iccid, w.order_id, w.service_number
      ), hist AS (
        INSERT INTO sim_card_events (iccid, at, event, from_state, to_state, warehouse_code, holder_department_id, stock_order_id, order_id, operator_id, detail)
        SELECT c.iccid, ${now}::timestamptz, 'write_failed', c.state, c.state, c.warehouse_code, coalesce(c.picked_by_department_id, c.department_id), NULL,
               done.order_id, ${actor.operatorId}::bigint, jsonb_build_object('writeId', done.write_id, 'expired', true)
          FROM done JOIN sim_cards c ON c.iccid = done.iccid
      ), audited AS (
        INSERT INTO audit_log (at, operator_id, department_id, action, target_type, target_id, before, after, request_id)
        SELECT ${now}::timestamptz, ${actor.operatorId}::bigint, ${actor.departmentId}::text, 'card.write.expire', 'card_write', write_id::text,
               jsonb_build_object('state', 'issued'), jsonb_build_object('state', 'expired', 'iccid', iccid, 'orderId', order_id), ${actor.requestId ?? null}::text
          FROM done
      )
      INSERT INTO outbox (event_type, aggregate_type, aggregate_id, payload, occurred_at)
      SELECT 'card.write_expired', 'sim_card', iccid,
             jsonb_build_object('writeId', write_id, 'iccid', iccid, 'orderId', order_id, 'serviceNumber', service_number), ${now}::timestamptz
        FROM done
      RETURNING (payload->>'writeId')::bigint AS write_id`.execute(q);
    return r.rows.map((x) => Number(x.write_id)).sort((a, b) => a - b);
  },
};
