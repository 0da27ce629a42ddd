// The operator's view of the outbox relay (事件投递): events with their state per sink, dead letters,
// figures per sink, and a retry that puts dead deliveries back in the queue (audited, R-INT-1).
import { sql } from 'kysely';
import type { Actor } from './audit.ts';
import type { Clock } from './clock.ts';
import type { Db, Q } from './db.ts';
import { DomainError } from './errors.ts';
import { recordChange, recordChanges } from './outbox.ts';

export type EventStatus = 'pending' | 'delivered' | 'dead';

export interface DeliveryView {
  sink: string;
  status: EventStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface EventView {
  eventId: number;
  type: string;
  aggregateType: string;
  aggregateId: string;
  accountId: number | null;
  occurredAt: string;
  publishedAt: string | null;
  /** dead: some sink gave up; delivered: every sink has it; pending: otherwise. */
  status: EventStatus;
  deliveries: DeliveryView[];
  payload?: unknown;
}

export interface ListQuery {
  status?: EventStatus;
  /** An event type, or a prefix ending in `*` (`payment.*`). */
  type?: string;
  /** Events older than this id (the `next` of the previous page). */
  before?: number;
  limit?: number;
}

export interface DeadQuery {
  type?: string;
  sink?: string;
  before?: number;
  limit?: number;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function typeFilter(type: string | undefined) {
  if (!type) return sql`TRUE`;
  if (type.endsWith('*')) return sql`left(o.event_type, ${type.length - 1}) = ${type.slice(0, -1)}`;
  return sql`o.event_type = ${type}`;
}

interface EventRow {
  event_id: number;
  event_type: string;
  aggregate_type: string;
  aggregate_id: string;
  account_id: number | null;
  occurred_at: Date;
  published_at: Date | null;
  payload?: unknown;
}

async function withDeliveries(q: Q, rows: EventRow[]): Promise<EventView[]> {
  if (rows.length === 0) return [];
  const ds = await q
    .selectFrom('outbox_deliveries')
    .selectAll()
    .where(
      'event_id',
      'in',
      rows.map((r) => r.event_id),
    )
    .orderBy('sink')
    .execute();
  return rows.map((r) => {
    const deliveries: DeliveryView[] = ds
      .filter((d) => Number(d.event_id) === Number(r.event_id))
      .map((d) => ({
        sink: d.sink,
        status: d.status,
        attempts: d.attempts,
        nextAttemptAt: d.status === 'pending' ? iso(d.next_attempt_at) : null,
        lastAttemptAt: iso(d.last_attempt_at),
        lastError: d.last_error,
        deliveredAt: iso(d.delivered_at),
      }));
    const status: EventStatus = deliveries.some((d) => d.status === 'dead') ? 'dead' : r.published_at ? 'delivered' : 'pending';
    return {
      eventId: Number(r.event_id),
      type: r.event_type,
      aggregateType: r.aggregate_type,
      aggregateId: r.aggregate_id,
      accountId: r.account_id === null ? null : Number(r.account_id),
      occurredAt: iso(r.occurred_at) as string,
      publishedAt: iso(r.published_at),
      status,
      deliveries,
      ...(r.payload !== undefined ? { payload: r.payload } : {}),
    };
  });
}

/** Events newest first with their state per sink; `next` continues the list. */
export async function listEvents(db: Db, q: ListQuery): Promise<{ items: EventView[]; next: number | null }> {
  const limit = q.limit ?? 50;
  const dead = sql`o.event_id IN (SELECT event_id FROM outbox_deliveries WHERE status = 'dead')`;
  const status =
    q.status === 'dead' ? dead : q.status === 'pending' ? sql`o.published_at IS NULL AND NOT ${dead}` : q.status === 'delivered' ? sql`o.published_at IS NOT NULL` : sql`TRUE`;
  const rows = (
    await sql<EventRow>`
      SELECT o.event_id, o.event_type, o.aggregate_type, o.aggregate_id, o.account_id, o.occurred_at, o.published_at
      FROM outbox o
      WHERE ${status} AND ${typeFilter(q.type)} AND (${q.before ?? null}::bigint IS NULL OR o.event_id < ${q.before ?? null}::bigint)
      ORDER BY o.event_id DESC
      LIMIT ${limit + 1}`.execute(db)
  ).rows;
  const page = rows.slice(0, limit);
  return { items: await withDeliveries(db, page), next: rows.length > limit ? Number(page[page.length - 1]?.event_id) : null };
}

/** One event with its payload and its state per sink. */
export async function eventDetail(db: Q, eventId: number): Promise<EventView> {
  const row = await db
    .selectFrom('outbox')
    .select(['event_id', 'event_type', 'aggregate_type', 'aggregate_id', 'account_id', 'occurred_at', 'published_at', 'payload'])
    .where('event_id', '=', eventId)
    .executeTakeFirst();
  if (!row) throw new DomainError('OUTBOX_EVENT_NOT_FOUND', `事件不存在：${eventId}`, `No such event: ${eventId}`, 404, { eventId });
  const [view] = await withDeliveries(db, [row as EventRow]);
  return view as EventView;
}

/** Deliveries that gave up, newest event first. */
export async function deadLetters(db: Db, q: DeadQuery) {
  const limit = q.limit ?? 50;
  const rows = (
    await sql<{ event_id: number; sink: string; event_type: string; aggregate_type: string; aggregate_id: string; occurred_at: Date; attempts: number; last_error: string | null; last_attempt_at: Date | null }>`
      SELECT d.event_id, d.sink, o.event_type, o.aggregate_type, o.aggregate_id, o.occurred_at, d.attempts, d.last_error, d.last_attempt_at
      FROM outbox_deliveries d JOIN outbox o ON o.event_id = d.event_id
      WHERE d.status = 'dead' AND ${typeFilter(q.type)} AND (${q.sink ?? null}::text IS NULL OR d.sink = ${q.sink ?? null}::text)
        AND (${q.before ?? null}::bigint IS NULL OR d.event_id < ${q.before ?? null}::bigint)
      ORDER BY d.event_id DESC, d.sink
      LIMIT ${limit + 1}`.execute(db)
  ).rows;
  const page = rows.slice(0, limit);
  // a page never splits one event's dead sinks: `next` is the last whole event
  let next: number | null = null;
  if (rows.length > limit) {
    const last = Number(page[page.length - 1]?.event_id);
    const whole = page.filter((r) => Number(r.event_id) !== last);
    next = whole.length > 0 ? Number(whole[whole.length - 1]?.event_id) : last;
    if (whole.length > 0) page.splice(whole.length);
  }
  return {
    items: page.map((r) => ({
      eventId: Number(r.event_id),
      sink: r.sink,
      type: r.event_type,
      aggregateType: r.aggregate_type,
      aggregateId: r.aggregate_id,
      occurredAt: iso(r.occurred_at),
      attempts: r.attempts,
      lastError: r.last_error,
      lastAttemptAt: iso(r.last_attempt_at),
    })),
    next,
  };
}

/** Pending, delivered and dead per sink, and how old the oldest pending event is. */
export async function stats(db: Db, now: Date, configured: string[]) {
  const counts = (await sql<{ sink: string; status: EventStatus; n: number }>`SELECT sink, status, count(*)::int AS n FROM outbox_deliveries GROUP BY sink, status`.execute(db)).rows;
  const oldest = (
    await sql<{ sink: string; at: Date }>`
      SELECT d.sink, min(o.occurred_at) AS at FROM outbox_deliveries d JOIN outbox o ON o.event_id = d.event_id
      WHERE d.status = 'pending' GROUP BY d.sink`.execute(db)
  ).rows;
  const waiting = (
    await sql<{ n: number; at: Date | null }>`
      SELECT count(*)::int AS n, min(o.occurred_at) AS at FROM outbox o
      WHERE o.published_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = o.event_id)`.execute(db)
  ).rows[0] ?? { n: 0, at: null };
  const age = (at: Date | null) => (at ? Math.max(0, Math.floor((now.getTime() - new Date(at).getTime()) / 1000)) : null);
  const names = [...new Set([...configured, ...counts.map((c) => c.sink)])];
  return {
    now: now.toISOString(),
    sinks: names.map((sink) => {
      const n = (s: EventStatus) => Number(counts.find((c) => c.sink === sink && c.status === s)?.n ?? 0);
      const at = oldest.find((o) => o.sink === sink)?.at ?? null;
      return { sink, configured: configured.includes(sink), pending: n('pending'), delivered: n('delivered'), dead: n('dead'), oldestPendingAt: iso(at), oldestPendingAgeSeconds: age(at) };
    }),
    waiting: { events: Number(waiting.n), oldestAt: iso(waiting.at), oldestAgeSeconds: age(waiting.at) },
  };
}

/** Dead deliveries of an event (or of one sink) back to pending, due now, with fresh attempts; audited. */
export async function retry(db: Db, clock: Clock, actor: Actor, eventId: number, sink?: string): Promise<EventView> {
  return db.transaction().execute(async (tx) => {
    await eventDetail(tx, eventId);
    let q = tx.selectFrom('outbox_deliveries').select(['sink', 'attempts', 'last_error']).where('event_id', '=', eventId).where('status', '=', 'dead');
    if (sink) q = q.where('sink', '=', sink);
    const dead = await q.forUpdate().execute();
    if (dead.length === 0) {
      throw new DomainError(
        'OUTBOX_NOT_DEAD',
        sink ? `事件 ${eventId} 在 ${sink} 没有投递失败的记录，无需重投` : `事件 ${eventId} 没有投递失败的记录，无需重投`,
        sink ? `Event ${eventId} is not a dead letter for ${sink}; nothing to retry` : `Event ${eventId} is not a dead letter; nothing to retry`,
        409,
        { eventId, sink: sink ?? null },
      );
    }
    const sinks = dead.map((d) => d.sink);
    await tx
      .updateTable('outbox_deliveries')
      .set({ status: 'pending', attempts: 0, next_attempt_at: clock.now() })
      .where('event_id', '=', eventId)
      .where('sink', 'in', sinks)
      .where('status', '=', 'dead')
      .execute();
    await recordChange(
      tx,
      clock,
      actor,
      { action: 'outbox.retry', targetType: 'outbox_event', targetId: eventId, before: { status: 'dead', deliveries: dead.map((d) => ({ sink: d.sink, attempts: d.attempts, lastError: d.last_error })) }, after: { status: 'pending', sinks } },
      { type: 'outbox.retried', aggregateType: 'outbox_event', aggregateId: eventId, payload: { eventId, sinks } },
    );
    return eventDetail(tx, eventId);
  });
}

export interface RetryAllQuery {
  type?: string;
  sink?: string;
}

/** At most this many dead letters are put back per call (the operator repeats it for more). */
export const RETRY_ALL_LIMIT = 1000;

/**
 * Every dead letter matching the filter (oldest first, up to RETRY_ALL_LIMIT events) back to pending,
 * due now; one audit row and event per retried event, as a single retry would write.
 */
export async function retryDead(db: Db, clock: Clock, actor: Actor, q: RetryAllQuery): Promise<{ retried: number; eventIds: number[]; more: boolean }> {
  return db.transaction().execute(async (tx) => {
    const rows = (
      await sql<{ event_id: number; sink: string; attempts: number; last_error: string | null }>`
        SELECT d.event_id, d.sink, d.attempts, d.last_error FROM outbox_deliveries d JOIN outbox o ON o.event_id = d.event_id
        WHERE d.status = 'dead' AND ${typeFilter(q.type)} AND (${q.sink ?? null}::text IS NULL OR d.sink = ${q.sink ?? null}::text)
          AND d.event_id IN (
            SELECT DISTINCT d2.event_id FROM outbox_deliveries d2 JOIN outbox o ON o.event_id = d2.event_id
            WHERE d2.status = 'dead' AND ${typeFilter(q.type)} AND (${q.sink ?? null}::text IS NULL OR d2.sink = ${q.sink ?? null}::text)
            ORDER BY d2.event_id LIMIT ${RETRY_ALL_LIMIT + 1})
        ORDER BY d.event_id, d.sink
        FOR UPDATE OF d`.execute(tx)
    ).rows;
    const ids = [...new Set(rows.map((r) => Number(r.event_id)))];
    const more = ids.length > RETRY_ALL_LIMIT;
    const take = new Set(ids.slice(0, RETRY_ALL_LIMIT));
    const chosen = rows.filter((r) => take.has(Number(r.event_id)));
    if (chosen.length === 0) return { retried: 0, eventIds: [], more: false };
    await sql`
      UPDATE outbox_deliveries d SET status = 'pending', attempts = 0, next_attempt_at = ${clock.now()}
      FROM jsonb_to_recordset(${JSON.stringify(chosen.map((r) => ({ event_id: Number(r.event_id), sink: r.sink })))}::jsonb) AS r(event_id bigint, sink text)
      WHERE d.event_id = r.event_id AND d.sink = r.sink AND d.status = 'dead'`.execute(tx);
    const byEvent = new Map<number, typeof chosen>();
    for (const r of chosen) byEvent.set(Number(r.event_id), [...(byEvent.get(Number(r.event_id)) ?? []), r]);
    await recordChanges(
      tx,
      clock,
      actor,
      [...byEvent].map(([eventId, ds]) => ({
        audit: {
          action: 'outbox.retry',
          targetType: 'outbox_event',
          targetId: eventId,
          before: { status: 'dead', deliveries: ds.map((d) => ({ sink: d.sink, attempts: d.attempts, lastError: d.last_error })) },
          after: { status: 'pending', sinks: ds.map((d) => d.sink) },
        },
        event: { type: 'outbox.retried', aggregateType: 'outbox_event', aggregateId: eventId, payload: { eventId, sinks: ds.map((d) => d.sink) } },
      })),
    );
    return { retried: byEvent.size, eventIds: [...byEvent.keys()], more };
  });
}
