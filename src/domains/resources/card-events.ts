// Every card's history (SPEC §10): one appended row per change of place or state. Call after the
// change, in the same transaction: the row records where the card is now (warehouse, holder) and
// its new state, so the last event of a card always matches the card (checked by `audit stock`).
import { sql } from 'kysely';
import type { Q } from '../../platform/db.ts';

export type CardEventName =
  | 'imported'
  | 'data_loaded'
  | 'transfer_locked'
  | 'transferred'
  | 'transfer_released'
  | 'pick_locked'
  | 'picked'
  | 'pick_released'
  | 'return_locked'
  | 'returned'
  | 'return_released'
  | 'write_issued'
  | 'written'
  | 'write_failed'
  | 'reserved'
  | 'activated'
  | 'released'
  | 'replaced'
  | 'retired';

export interface CardEvent {
  event: CardEventName;
  /** The state before, when every card of the batch shared it; null when unknown or mixed. */
  fromState?: string | null;
  stockOrderId?: number | null;
  orderId?: number | null;
  operatorId?: number | null;
  detail?: Record<string, unknown> | null;
}

/** One history row per card in `iccids`, in one statement whatever the count. */
export async function recordCardEvents(q: Q, at: Date, iccids: readonly string[], e: CardEvent): Promise<number> {
  if (iccids.length === 0) return 0;
  const r = await sql`
    INSERT INTO sim_card_events (iccid, at, event, from_state, to_state, warehouse_code, holder_department_id, stock_order_id, order_id, operator_id, detail)
    SELECT c.iccid, ${at}, ${e.event}, ${e.fromState ?? null}, c.state, c.warehouse_code,
           coalesce(c.picked_by_department_id, c.department_id), ${e.stockOrderId ?? null}, ${e.orderId ?? null}, ${e.operatorId ?? null},
           ${e.detail ? JSON.stringify(e.detail) : null}::jsonb
    FROM sim_cards c WHERE c.iccid = ANY(${iccids as string[]}::text[])`.execute(q);
  return Number(r.numAffectedRows ?? 0);
}

/** Same as recordCardEvents for the cards a stock document holds (its items), without listing them. */
export async function recordStockOrderEvents(q: Q, at: Date, stockOrderId: number, e: Omit<CardEvent, 'stockOrderId'>): Promise<number> {
  const r = await sql`
    INSERT INTO sim_card_events (iccid, at, event, from_state, to_state, warehouse_code, holder_department_id, stock_order_id, order_id, operator_id, detail)
    SELECT c.iccid, ${at}, ${e.event}, ${e.fromState ?? null}, c.state, c.warehouse_code,
           coalesce(c.picked_by_department_id, c.department_id), ${stockOrderId}, NULL, ${e.operatorId ?? null},
           ${e.detail ? JSON.stringify(e.detail) : null}::jsonb
    FROM stock_order_items i JOIN sim_cards c ON c.iccid = i.iccid WHERE i.stock_order_id = ${stockOrderId}`.execute(q);
  return Number(r.numAffectedRows ?? 0);
}

