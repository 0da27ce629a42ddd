// The only place with SQL for number levels, the number pool, SIM cards and handsets.
import { type Insertable, type RawBuilder, type Selectable, sql } from 'kysely';
import type { Actor } from '../../platform/audit.ts';
import type { Q } from '../../platform/db.ts';
import type { HandsetsTable, Network, NumberLevelsTable, NumbersTable, NumberState, ReservationKind, SimCardsTable, SimCardType, SimState } from '../../platform/schema.ts';

export type NumberRow = Selectable<NumbersTable>;
export type LevelRow = Selectable<NumberLevelsTable>;
export type SimRow = Selectable<SimCardsTable>;
/** What the order's rules read of a SIM card. */
export type SimFacts = Pick<SimRow, 'iccid' | 'card_type' | 'state' | 'reserved_order_id' | 'service_number' | 'imsi' | 'picked_by_department_id'>;
export type NumberWithLevel = NumberRow & {
  level_name_zh: string;
  level_name_en: string;
  price_fen: number;
  requires_approval: boolean;
  requires_campaign: boolean;
  agent_allowed: boolean;
  patterns: unknown;
  priority: number;
};

/** The state a guarded change found, for the audit's `before`. */
export interface Before {
  before_state: NumberState;
  before_kind: ReservationKind | null;
  before_order_id: number | null;
  before_customer_id: number | null;
  before_operator_id: number | null;
  before_until: Date | null;
}

export interface NumberFilter {
  state?: NumberState | undefined;
  level?: string | undefined;
  prefix?: string | undefined;
  suffix?: string | undefined;
  departmentId?: string | undefined;
  numberClass?: 'mobile' | 'fixed' | undefined;
  after?: string | undefined;
  limit: number;
}

export interface SimFilter {
  state?: SimState | undefined;
  cardType?: SimCardType | undefined;
  serviceNumber?: string | undefined;
  warehouseCode?: string | undefined;
  after?: string | undefined;
  limit: number;
}

const CLEAR_RESERVATION = sql`reservation_kind = NULL, reserved_order_id = NULL, reserved_customer_id = NULL, reserved_operator_id = NULL, reserved_at = NULL, reserved_until = NULL`;
const OLD_COLUMNS = sql`old.state AS before_state, old.reservation_kind AS before_kind, old.reserved_order_id AS before_order_id,
  old.reserved_customer_id AS before_customer_id, old.reserved_operator_id AS before_operator_id, old.reserved_until AS before_until`;

interface TakeClaim {
  subscriberId: number;
  orderId: number | null;
  customerId: number | null;
  operatorId: number | null;
  now: Date;
}
/**
 * R-X-10 the guarded UPDATE of take() and takeWithSim() (after a CTE `old` that locked the row): the
 * number is takeable when free, reserved for this claim (order, customer, or a bare hold of this
 * operator), or reserved past its expiry.
 */
const takeUpdate = (t: TakeClaim) => sql`UPDATE numbers n
   SET state = 'in_use', subscriber_id = ${t.subscriberId}::bigint, ${CLEAR_RESERVATION}, cooling_until = NULL, state_changed_at = ${t.now}::timestamptz
  FROM old
 WHERE n.service_number = old.service_number
   AND (n.state = 'free'
        OR (n.state = 'reserved'
            AND (n.reserved_until <= ${t.now}::timestamptz
                 OR n.reserved_order_id = ${t.orderId}::bigint
                 OR n.reserved_customer_id = ${t.customerId}::bigint
                 OR (n.reserved_order_id IS NULL AND n.reserved_customer_id IS NULL AND n.reserved_operator_id = ${t.operatorId}::bigint))))
RETURNING n.*, ${OLD_COLUMNS}`;

/** Digits only (checked by the caller); `~<~` with ':' (after '9') bounds a text_pattern_ops range scan. */
const startsWith = (expr: RawBuilder<string>, digits: string) => sql<boolean>`${expr} ~>=~ ${digits}::text AND ${expr} ~<~ ${`${digits}:`}::text`;

/** What the order and reservation rules read of a number's level (R-X-10). */
const LEVEL_COLUMNS = [
  'l.name_zh as level_name_zh',
  'l.name_en as level_name_en',
  'l.price_fen',
  'l.requires_approval',
  'l.requires_campaign',
  'l.agent_allowed',
  'l.patterns',
  'l.priority',
] as const;

/** The number with its level, what the order's rules read of a SIM card (undefined when the card is unknown) and the number's subscribers (network, lifecycle: AccountService.numberInUse's facts). */
export interface NumberWithSim {
  number: NumberWithLevel;
  sim: SimFacts | undefined;
  holders: { network: Network; lifecycle: string }[];
}

/** NumberWithSim as JSON: timestamps are strings. */
export interface NumberWithSimJson {
  number: Omit<NumberWithLevel, 'reserved_at' | 'reserved_until' | 'state_changed_at' | 'cooling_until' | 'created_at'> & Record<'reserved_at' | 'reserved_until' | 'cooling_until', string | null> & Record<'state_changed_at' | 'created_at', string>;
  sim: SimFacts | null;
  holders: { network: Network; lifecycle: string }[];
}

/**
 * NumberWithSim of the number and card the two SQL expressions give, as one JSON value (null: no such number):
 * a column of numberWithSim's own statement, and of the order engine's first read of a step, which reads its
 * members' numbers and cards with the order (orderRepo's member_resources).
 */
export function numberWithSimFacts(serviceNumber: RawBuilder<unknown>, iccid: RawBuilder<unknown>): RawBuilder<NumberWithSimJson | null> {
  return sql<NumberWithSimJson | null>`(SELECT json_build_object(
      'number', to_jsonb(n) || jsonb_build_object('level_name_zh', l.name_zh, 'level_name_en', l.name_en, 'price_fen', l.price_fen, 'requires_approval', l.requires_approval,
                                                  'requires_campaign', l.requires_campaign, 'agent_allowed', l.agent_allowed, 'patterns', l.patterns, 'priority', l.priority),
      'sim', (SELECT json_build_object('iccid', s.iccid, 'card_type', s.card_type, 'state', s.state, 'reserved_order_id', s.reserved_order_id,
                                       'service_number', s.service_number, 'imsi', s.imsi, 'picked_by_department_id', s.picked_by_department_id)
                FROM sim_cards s WHERE s.iccid = ${iccid}),
      'holders', (SELECT coalesce(json_agg(json_build_object('network', x.network, 'lifecycle', x.lifecycle) ORDER BY x.subscriber_id), '[]'::json)
                    FROM subscribers x WHERE x.service_number = n.service_number))
    FROM numbers n JOIN number_levels l ON l.code = n.level_code WHERE n.service_number = ${serviceNumber})`;
}

const dateOrNull = (v: string | null) => (v === null ? null : new Date(v));

export function decodeNumberWithSim(j: NumberWithSimJson | null): NumberWithSim | undefined {
  if (!j) return undefined;
  const n = j.number;
  return {
    number: {
      ...n,
      reserved_at: dateOrNull(n.reserved_at),
      reserved_until: dateOrNull(n.reserved_until),
      cooling_until: dateOrNull(n.cooling_until),
      state_changed_at: new Date(n.state_changed_at),
      created_at: new Date(n.created_at),
    },
    sim: j.sim ?? undefined,
    holders: j.holders,
  };
}

export const resourceRepo = {
  levels(q: Q) {
    return q.selectFrom('number_levels').selectAll().orderBy('priority').execute();
  },
  policy(q: Q) {
    return q.selectFrom('number_policy').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  },
  departmentsByIds(q: Q, ids: string[]) {
    if (ids.length === 0) return Promise.resolve([]);
    // a department's own stock place: its (first) warehouse
    return q
      .selectFrom('departments as d')
      .select((eb) => [
        'd.department_id',
        'd.kind',
        eb.selectFrom('warehouses as w').select('w.warehouse_code').whereRef('w.department_id', '=', 'd.department_id').orderBy('w.warehouse_code').limit(1).as('warehouse_code'),
      ])
      .where('d.department_id', 'in', ids)
      .execute();
  },
  customerExists(q: Q, id: number) {
    return q.selectFrom('customers').select('customer_id').where('customer_id', '=', id).executeTakeFirst();
  },

  numberWithLevel(q: Q, serviceNumber: string): Promise<NumberWithLevel | undefined> {
    return q
      .selectFrom('numbers as n')
      .innerJoin('number_levels as l', 'l.code', 'n.level_code')
      .selectAll('n')
      .select(LEVEL_COLUMNS)
      .where('n.service_number', '=', serviceNumber)
      .executeTakeFirst();
  },

  /** The number with its level, the card, and the number's subscribers in one statement (numberWithSimFacts). */
  async numberWithSim(q: Q, serviceNumber: string, iccid: string): Promise<NumberWithSim | undefined> {
    const r = await sql<{ f: NumberWithSimJson | null }>`SELECT ${numberWithSimFacts(sql`${serviceNumber}::text`, sql`${iccid}::text`)} AS f`.execute(q);
    return decodeNumberWithSim(r.rows[0]?.f ?? null);
  },

  searchNumbers(q: Q, f: NumberFilter): Promise<NumberWithLevel[]> {
    let query = q
      .selectFrom('numbers as n')
      .innerJoin('number_levels as l', 'l.code', 'n.level_code')
      .selectAll('n')
      .select(LEVEL_COLUMNS);
    if (f.state) query = query.where('n.state', '=', f.state);
    if (f.level) query = query.where('n.level_code', '=', f.level);
    if (f.departmentId) query = query.where('n.department_id', '=', f.departmentId);
    if (f.numberClass) query = query.where('n.number_class', '=', f.numberClass);
    if (f.prefix) query = query.where(startsWith(sql`n.service_number`, f.prefix));
    if (f.suffix) query = query.where(startsWith(sql`reverse(n.service_number)`, [...f.suffix].reverse().join('')));
    if (f.after) query = query.where('n.service_number', '>', f.after);
    return query.orderBy('n.service_number').limit(f.limit).execute();
  },

  /**
   * R-X-10: takes the number for a subscriber in one guarded statement. It is takeable when free,
   * or reserved for this claim (order, customer, or a bare hold of this operator), or reserved past
   * its expiry. Concurrent takes queue on the row lock; the losers find the guard false.
   */
  async take(q: Q, serviceNumber: string, t: TakeClaim) {
    const r = await sql<NumberRow & Before>`
      WITH old AS (SELECT * FROM numbers WHERE service_number = ${serviceNumber} FOR UPDATE)
      ${takeUpdate(t)}`.execute(q);
    return r.rows[0];
  },

  /** Holds a free number (or one whose reservation expired) for a claim until `until`. */
  async reserve(
    q: Q,
    serviceNumber: string,
    r: { kind: ReservationKind; orderId: number | null; customerId: number | null; operatorId: number | null; now: Date; until: Date },
  ) {
    const res = await sql<NumberRow & Before>`
      WITH old AS (SELECT * FROM numbers WHERE service_number = ${serviceNumber} FOR UPDATE)
      UPDATE numbers n
         SET state = 'reserved', reservation_kind = ${r.kind}::text, reserved_order_id = ${r.orderId}::bigint, reserved_customer_id = ${r.customerId}::bigint,
             reserved_operator_id = ${r.operatorId}::bigint, reserved_at = ${r.now}::timestamptz, reserved_until = ${r.until}::timestamptz,
             state_changed_at = ${r.now}::timestamptz
        FROM old
       WHERE n.service_number = old.service_number
         AND (n.state = 'free' OR (n.state = 'reserved' AND n.reserved_until <= ${r.now}::timestamptz))
      RETURNING n.*, ${OLD_COLUMNS}`.execute(q);
    return res.rows[0];
  },

  async releaseReservation(q: Q, serviceNumber: string, now: Date) {
    const r = await sql<NumberRow & Before>`
      WITH old AS (SELECT * FROM numbers WHERE service_number = ${serviceNumber} FOR UPDATE)
      UPDATE numbers n SET state = 'free', ${CLEAR_RESERVATION}, state_changed_at = ${now}::timestamptz
        FROM old
       WHERE n.service_number = old.service_number AND n.state = 'reserved'
      RETURNING n.*, ${OLD_COLUMNS}`.execute(q);
    return r.rows[0];
  },

  /** in_use → frozen until the cooling ends; the subscriber stays recorded until the number is recycled. */
  freeze(q: Q, serviceNumber: string, now: Date, coolingUntil: Date) {
    return q
      .updateTable('numbers')
      .set({ state: 'frozen', cooling_until: coolingUntil, state_changed_at: now })
      .where('service_number', '=', serviceNumber)
      .where('state', '=', 'in_use')
      .returningAll()
      .executeTakeFirst();
  },

  /** R-X-10: reservations past their expiry go back to free. */
  expireReservations(q: Q, now: Date, actor: Actor) {
    return sweep(q, {
      now,
      actor,
      due: sql`state = 'reserved' AND reserved_until <= ${now}::timestamptz`,
      set: CLEAR_RESERVATION,
      after: 'free',
      action: 'number.reservation.expire',
      eventType: 'number.reservation_expired',
    });
  },
  /** Frozen numbers whose cooling is over are recycled. */
  recycleCooled(q: Q, now: Date, actor: Actor) {
    return sweep(q, {
      now,
      actor,
      due: sql`state = 'frozen' AND cooling_until <= ${now}::timestamptz`,
      set: sql`cooling_until = NULL`,
      after: 'recycled',
      action: 'number.recycle',
      eventType: 'number.recycled',
    });
  },
  /** Recycled numbers recycled at or before the cutoff go back on sale. */
  releaseRecycled(q: Q, now: Date, cutoff: Date, actor: Actor) {
    return sweep(q, {
      now,
      actor,
      due: sql`state = 'recycled' AND state_changed_at <= ${cutoff}::timestamptz`,
      set: sql`subscriber_id = NULL`,
      after: 'free',
      action: 'number.release',
      eventType: 'number.released',
    });
  },

  simByIccid(q: Q, iccid: string) {
    return q.selectFrom('sim_cards').selectAll().where('iccid', '=', iccid).executeTakeFirst();
  },

  /** Activates the card for a subscriber when it is available to this order (the guard mirrors rules.simFailures). */
  /** Activates the card for the subscriber and appends its `activated` history row, in one statement (the account-opening hot path). */
  bindSim(q: Q, iccid: string, b: { serviceNumber: string; subscriberId: number; orderId: number | null; operatorId: number | null; now: Date }) {
    return q
      .with('u', (qb) =>
        qb
          .updateTable('sim_cards')
          .set({ state: 'activated', service_number: b.serviceNumber, subscriber_id: b.subscriberId, reserved_order_id: null, activated_at: b.now, state_changed_at: b.now })
          .where('iccid', '=', iccid)
          .where((eb) =>
            eb.and([
              eb.or([eb('service_number', 'is', null), eb('service_number', '=', b.serviceNumber)]),
              eb.or([
                eb.and([eb('card_type', '<>', 'finished'), eb('state', '=', 'written')]),
                eb.and([
                  eb('card_type', '=', 'finished'),
                  eb.or([eb('state', '=', 'in_stock'), eb.and([eb('state', '=', 'reserved'), eb('reserved_order_id', '=', b.orderId)])]),
                ]),
              ]),
            ]),
          )
          .returningAll(),
      )
      // the card's history row (card-events.ts records the same columns)
      .with('ev', (qb) =>
        qb
          .insertInto('sim_card_events')
          .columns(['iccid', 'at', 'event', 'to_state', 'warehouse_code', 'holder_department_id', 'order_id', 'operator_id'])
          .expression(
            qb
              .selectFrom('u')
              .select((eb) => [
                'u.iccid',
                sql<Date>`${b.now}::timestamptz`.as('at'),
                sql<string>`'activated'`.as('event'),
                'u.state',
                'u.warehouse_code',
                eb.fn.coalesce('u.picked_by_department_id', 'u.department_id').as('holder'),
                sql<number | null>`${b.orderId}::bigint`.as('order_id'),
                sql<number | null>`${b.operatorId}::bigint`.as('operator_id'),
              ]),
          ),
      )
      .selectFrom('u')
      .selectAll()
      .executeTakeFirst();
  },

  /**
   * take() and bindSim() of a new subscriber's number and card in one statement (the account-opening
   * hot path): the same guards and writes. No row: the number was not taken; `sim_bound` null: the
   * card was not activated (the caller throws and the transaction rolls back either way).
   */
  async takeWithSim(
    q: Q,
    serviceNumber: string,
    t: TakeClaim,
    iccid: string,
  ): Promise<(NumberRow & Before & { sim_bound: { iccid: string; imsi: string | null } | null }) | undefined> {
    const r = await sql<NumberRow & Before & { sim_bound: { iccid: string; imsi: string | null } | null }>`
      WITH old AS (SELECT * FROM numbers WHERE service_number = ${serviceNumber} FOR UPDATE),
      tk AS (
        ${takeUpdate(t)}
      ),
      u AS (
        UPDATE sim_cards
           SET state = 'activated', service_number = ${serviceNumber}::text, subscriber_id = ${t.subscriberId}::bigint, reserved_order_id = NULL,
               activated_at = ${t.now}::timestamptz, state_changed_at = ${t.now}::timestamptz
         WHERE iccid = ${iccid}
           AND (service_number IS NULL OR service_number = ${serviceNumber}::text)
           AND ((card_type <> 'finished' AND state = 'written')
                OR (card_type = 'finished' AND (state = 'in_stock' OR (state = 'reserved' AND reserved_order_id = ${t.orderId}::bigint))))
        RETURNING *
      ),
      ev AS (
        INSERT INTO sim_card_events (iccid, at, event, to_state, warehouse_code, holder_department_id, order_id, operator_id)
        SELECT u.iccid, ${t.now}::timestamptz, 'activated', u.state, u.warehouse_code, coalesce(u.picked_by_department_id, u.department_id), ${t.orderId}::bigint, ${t.operatorId}::bigint
          FROM u
      )
      SELECT tk.*, (SELECT json_build_object('iccid', u.iccid, 'imsi', u.imsi) FROM u) AS sim_bound FROM tk`.execute(q);
    return r.rows[0];
  },

  retireSim(q: Q, iccid: string, now: Date) {
    return q
      .updateTable('sim_cards')
      .set({ state: 'retired', state_changed_at: now })
      .where('iccid', '=', iccid)
      .where('state', '=', 'activated')
      .returningAll()
      .executeTakeFirst();
  },

  /** 改号: the active card now carries the subscriber's new number. */
  setSimNumber(q: Q, iccid: string, serviceNumber: string, now: Date) {
    return q
      .updateTable('sim_cards')
      .set({ service_number: serviceNumber, state_changed_at: now })
      .where('iccid', '=', iccid)
      .where('state', '=', 'activated')
      .returningAll()
      .executeTakeFirst();
  },

  searchSims(q: Q, f: SimFilter) {
    let query = q.selectFrom('sim_cards').selectAll();
    if (f.state) query = query.where('state', '=', f.state);
    if (f.cardType) query = query.where('card_type', '=', f.cardType);
    if (f.serviceNumber) query = query.where('service_number', '=', f.serviceNumber);
    if (f.warehouseCode) query = query.where('warehouse_code', '=', f.warehouseCode);
    if (f.after) query = query.where('iccid', '>', f.after);
    return query.orderBy('iccid').limit(f.limit).execute();
  },

  insertHandset(q: Q, row: Insertable<HandsetsTable>) {
    return q.insertInto('handsets').values(row).onConflict((oc) => oc.column('imei').doNothing()).returningAll().executeTakeFirst();
  },

  async insertNumbers(q: Q, rows: Insertable<NumbersTable>[]): Promise<number> {
    if (rows.length === 0) return 0;
    const r = await q.insertInto('numbers').values(rows).onConflict((oc) => oc.column('service_number').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0);
  },
  async insertSims(q: Q, rows: Insertable<SimCardsTable>[]): Promise<number> {
    if (rows.length === 0) return 0;
    const r = await q.insertInto('sim_cards').values(rows).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0);
  },
};

/**
 * R-X-10 release job, one set-based statement per sweep: the rows that are due change state, and
 * each gets its audit entry and outbox event in the same statement. Rows locked by an order in
 * flight are skipped and picked up by the next run.
 */
async function sweep(
q: Q,
  s: { now: Date; actor: Actor; due: RawBuilder<boolean>; set: RawBuilder<unknown>; action: string; eventType: string; after: NumberState },
): Promise<string[]> {
  const r = await sql<{ aggregate_id: string }>`
    WITH due AS (
      SELECT service_number, state, reservation_kind, reserved_order_id, reserved_customer_id, reserved_until, subscriber_id, cooling_until
        FROM numbers WHERE ${s.due} ORDER BY service_number FOR UPDATE SKIP LOCKED
    ), done AS (
      UPDATE numbers n SET ${s.set}, state = ${s.after}::text, state_changed_at = ${s.now}::timestamptz
        FROM due WHERE n.service_number = due.service_number
      RETURNING n.service_number,
        jsonb_strip_nulls(jsonb_build_object('state', due.state, 'reservationKind', due.reservation_kind, 'reservedOrderId', due.reserved_order_id,
          'reservedCustomerId', due.reserved_customer_id, 'reservedUntil', due.reserved_until, 'subscriberId', due.subscriber_id,
          'coolingUntil', due.cooling_until)) AS before
    ), audited AS (
      INSERT INTO audit_log (at, operator_id, department_id, action, target_type, target_id, before, after, request_id)
      SELECT ${s.now}::timestamptz, ${s.actor.operatorId}::bigint, ${s.actor.departmentId}::text, ${s.action}::text, 'number', service_number,
             before, jsonb_build_object('state', ${s.after}::text), ${s.actor.requestId ?? null}::text
        FROM done
    )
    INSERT INTO outbox (event_type, aggregate_type, aggregate_id, payload, occurred_at)
    SELECT ${s.eventType}::text, 'number', service_number,
           jsonb_build_object('serviceNumber', service_number, 'before', before, 'state', ${s.after}::text), ${s.now}::timestamptz
      FROM done
    RETURNING aggregate_id`.execute(q);
  return r.rows.map((x) => x.aggregate_id).sort();
}
