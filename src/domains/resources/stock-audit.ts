// Stock conservation (SPEC §10, issue 6): every card is in exactly one place and one state, and its
// history agrees with it. `openboss audit stock` and GET /stock/audit print what differs; zero
// differences is the expected state after any sequence of imports, transfers, picks, returns,
// writes and orders. Each check is one set-based query; all run on one snapshot.
import { type RawBuilder, sql } from 'kysely';
import type { Db, Q } from '../../platform/db.ts';

export type StockProblem =
  | 'IN_STOCK_WITHOUT_WAREHOUSE'
  | 'UNKNOWN_WAREHOUSE'
  | 'DEPARTMENT_NOT_WAREHOUSE_OWNER'
  | 'IN_STOCK_BUT_PICKED'
  | 'PICKED_WITHOUT_CHANNEL'
  | 'ACTIVATED_WITHOUT_SUBSCRIBER'
  | 'WRITTEN_WITHOUT_CARD_DATA'
  | 'IMSI_DATA_MISMATCH'
  | 'LOCKED_BY_CLOSED_DOCUMENT'
  | 'LOCKED_WITHOUT_ITEM'
  | 'OPEN_DOCUMENT_NOT_LOCKING'
  | 'IN_TWO_OPEN_DOCUMENTS'
  | 'NO_HISTORY'
  | 'HISTORY_STATE_MISMATCH'
  | 'HISTORY_WAREHOUSE_MISMATCH'
  | 'HISTORY_OF_UNKNOWN_CARD'
  | 'CARD_DATA_OF_UNKNOWN_CARD';

export interface StockDifference {
  iccid: string;
  problem: StockProblem;
  detail: string;
}

export interface StockAuditReport {
  cards: number;
  events: number;
  differences: StockDifference[];
  /** More differences exist than the limit shows. */
  truncated: boolean;
}

const OPEN = sql`('pending', 'out_approved')`;

/** Each check yields (iccid, problem, detail) rows. */
const CHECKS: { name: string; query: RawBuilder<StockDifference> }[] = [
  {
    // in_stock ⇒ at a warehouse, held by the warehouse's department, not picked
    name: 'place',
    query: sql<StockDifference>`
      SELECT iccid, problem, detail FROM (
        SELECT c.iccid,
               CASE WHEN c.state = 'in_stock' AND c.warehouse_code IS NULL THEN 'IN_STOCK_WITHOUT_WAREHOUSE'
                    WHEN c.warehouse_code IS NOT NULL AND w.warehouse_code IS NULL THEN 'UNKNOWN_WAREHOUSE'
                    WHEN c.state = 'in_stock' AND c.department_id IS DISTINCT FROM w.department_id THEN 'DEPARTMENT_NOT_WAREHOUSE_OWNER'
                    WHEN c.state = 'in_stock' AND c.picked_by_department_id IS NOT NULL THEN 'IN_STOCK_BUT_PICKED'
                    WHEN c.state = 'picked' AND (p.department_id IS NULL OR p.kind <> 'channel') THEN 'PICKED_WITHOUT_CHANNEL'
                    WHEN c.state = 'activated' AND s.subscriber_id IS NULL THEN 'ACTIVATED_WITHOUT_SUBSCRIBER'
               END AS problem,
               'card ' || c.state || ' at ' || coalesce(c.warehouse_code, '-') || ' held by ' || coalesce(c.department_id, '-')
                 || coalesce(' (warehouse of ' || w.department_id || ')', '') || coalesce(', picked by ' || c.picked_by_department_id, '') AS detail
          FROM sim_cards c
          LEFT JOIN warehouses w ON w.warehouse_code = c.warehouse_code
          LEFT JOIN departments p ON p.department_id = c.picked_by_department_id
          LEFT JOIN subscribers s ON s.subscriber_id = c.subscriber_id
      ) x WHERE problem IS NOT NULL`,
  },
  {
    // a written or activated blank card carries the IMSI of its card data
    name: 'card data',
    query: sql<StockDifference>`
      SELECT c.iccid,
             CASE WHEN d.iccid IS NULL THEN 'WRITTEN_WITHOUT_CARD_DATA' ELSE 'IMSI_DATA_MISMATCH' END AS problem,
             'card imsi ' || coalesce(c.imsi, '-') || ', card data imsi ' || coalesce(d.imsi, '-') AS detail
        FROM sim_cards c LEFT JOIN sim_card_data d ON d.iccid = c.iccid
       WHERE (d.iccid IS NULL AND c.card_type <> 'finished' AND c.state IN ('written', 'activated'))
          OR (d.iccid IS NOT NULL AND c.imsi IS NOT NULL AND c.imsi <> d.imsi)`,
  },
  {
    // locked ⇒ an open document holds the card and lists it
    name: 'locks',
    query: sql<StockDifference>`
      SELECT c.iccid,
             CASE WHEN o.state IS NULL OR o.state NOT IN ${OPEN} THEN 'LOCKED_BY_CLOSED_DOCUMENT' ELSE 'LOCKED_WITHOUT_ITEM' END AS problem,
             'locked by document ' || c.stock_order_id || ' (' || coalesce(o.state, 'missing') || ')' AS detail
        FROM sim_cards c LEFT JOIN stock_orders o ON o.stock_order_id = c.stock_order_id
       WHERE c.stock_order_id IS NOT NULL
         AND (o.state IS NULL OR o.state NOT IN ${OPEN}
              OR NOT EXISTS (SELECT 1 FROM stock_order_items i WHERE i.stock_order_id = c.stock_order_id AND i.iccid = c.iccid))`,
  },
  {
    // an open document's cards are locked by it, and no card is in two open documents
    name: 'open documents',
    query: sql<StockDifference>`
      SELECT i.iccid, 'OPEN_DOCUMENT_NOT_LOCKING' AS problem,
             'in open document ' || i.stock_order_id || ', locked by ' || coalesce(c.stock_order_id::text, 'none') AS detail
        FROM stock_order_items i
        JOIN stock_orders o ON o.stock_order_id = i.stock_order_id AND o.state IN ${OPEN}
        JOIN sim_cards c ON c.iccid = i.iccid
       WHERE c.stock_order_id IS DISTINCT FROM i.stock_order_id
      UNION ALL
      SELECT i.iccid, 'IN_TWO_OPEN_DOCUMENTS', 'open documents ' || string_agg(i.stock_order_id::text, ', ' ORDER BY i.stock_order_id)
        FROM stock_order_items i JOIN stock_orders o ON o.stock_order_id = i.stock_order_id AND o.state IN ${OPEN}
       GROUP BY i.iccid HAVING count(*) > 1`,
  },
  {
    // the last history row of each card says where it is and in which state
    name: 'history',
    query: sql<StockDifference>`
      SELECT iccid, problem, detail FROM (
        SELECT c.iccid,
               CASE WHEN e.to_state IS NULL THEN 'NO_HISTORY'
                    WHEN e.to_state <> c.state THEN 'HISTORY_STATE_MISMATCH'
                    WHEN e.warehouse_code IS DISTINCT FROM c.warehouse_code THEN 'HISTORY_WAREHOUSE_MISMATCH'
               END AS problem,
               'card ' || c.state || ' at ' || coalesce(c.warehouse_code, '-')
                 || coalesce(', last event ' || e.event || ' → ' || e.to_state || ' at ' || coalesce(e.warehouse_code, '-'), ', no history') AS detail
          FROM sim_cards c
          LEFT JOIN LATERAL (
            SELECT event, to_state, warehouse_code FROM sim_card_events ev WHERE ev.iccid = c.iccid ORDER BY ev.event_id DESC LIMIT 1
          ) e ON true
      ) x WHERE problem IS NOT NULL`,
  },
  {
    // sim_card_data has no foreign key (import speed): card data must belong to a card
    name: 'orphan card data',
    query: sql<StockDifference>`
      SELECT d.iccid, 'CARD_DATA_OF_UNKNOWN_CARD' AS problem, 'imsi ' || d.imsi AS detail
        FROM sim_card_data d WHERE NOT EXISTS (SELECT 1 FROM sim_cards c WHERE c.iccid = d.iccid)`,
  },
  {
    name: 'orphan history',
    query: sql<StockDifference>`
      SELECT e.iccid, 'HISTORY_OF_UNKNOWN_CARD' AS problem, count(*) || ' history rows' AS detail
        FROM sim_card_events e WHERE NOT EXISTS (SELECT 1 FROM sim_cards c WHERE c.iccid = e.iccid)
       GROUP BY e.iccid`,
  },
];

async function check(q: Q, limit: number): Promise<StockAuditReport> {
  const differences: StockDifference[] = [];
  let truncated = false;
  for (const c of CHECKS) {
    const left = limit - differences.length;
    if (left <= 0) {
      truncated = true;
      break;
    }
    const rows = await sql<StockDifference>`SELECT * FROM (${c.query}) d ORDER BY iccid, problem LIMIT ${left + 1}`.execute(q);
    if (rows.rows.length > left) truncated = true;
    differences.push(...rows.rows.slice(0, left));
  }
  const counts = await sql<{ cards: number; events: number }>`
    SELECT (SELECT count(*) FROM sim_cards)::int AS cards, (SELECT count(*) FROM sim_card_events)::int AS events`.execute(q);
  const n = counts.rows[0] ?? { cards: 0, events: 0 };
  return { cards: n.cards, events: n.events, differences, truncated };
}

/** The whole check on one snapshot; at most `limit` differences (default 1,000) are listed. */
export async function auditStock(db: Db, opts: { limit?: number | undefined } = {}): Promise<StockAuditReport> {
  const limit = Math.max(1, opts.limit ?? 1_000);
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute((tx) => check(tx, limit));
}
