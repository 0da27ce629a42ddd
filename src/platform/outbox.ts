import { type RawBuilder, sql } from 'kysely';
import type { Actor, AuditEntry } from './audit.ts';
import type { Clock } from './clock.ts';
import type { Q } from './db.ts';

export interface OutboxEvent {
  type: string;
  aggregateType: string;
  aggregateId: string | number;
  accountId?: number | null;
  payload: unknown;
}

/** R-INT-1: the event is stored in the caller's transaction, so it exists iff the change does. */
export async function emit(q: Q, clock: Clock, e: OutboxEvent): Promise<void> {
  await emitMany(q, clock, [e]);
}

/** Several events in one statement (the same rows as emit for each, in order). */
export async function emitMany(q: Q, clock: Clock, events: OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const now = clock.now();
  await q
    .insertInto('outbox')
    .values(
      events.map((e) => ({
        event_type: e.type,
        aggregate_type: e.aggregateType,
        aggregate_id: String(e.aggregateId),
        account_id: e.accountId ?? null,
        payload: JSON.stringify(e.payload),
        occurred_at: now,
      })),
    )
    .execute();
}

/**
 * Audit entry and outbox event of one change in a single statement (one round trip on the hot
 * payment path); same meaning as audit() followed by emit().
 */
export async function recordChange(q: Q, clock: Clock, actor: Actor, a: AuditEntry, e: OutboxEvent): Promise<void> {
  const now = clock.now();
  const pending = deferred.get(q);
  if (pending) {
    pending.push(changeRow(now, actor, a, e));
    return;
  }
  await sql`
    WITH a AS (
      INSERT INTO audit_log (at, operator_id, department_id, action, target_type, target_id, account_id, before, after, request_id)
      VALUES (${now}, ${actor.operatorId}, ${actor.departmentId}, ${a.action}, ${a.targetType}, ${String(a.targetId)}, ${a.accountId ?? null},
              ${a.before === undefined ? null : JSON.stringify(a.before)}::jsonb, ${a.after === undefined ? null : JSON.stringify(a.after)}::jsonb,
              ${actor.requestId ?? null})
      RETURNING 1
    )
    INSERT INTO outbox (event_type, aggregate_type, aggregate_id, account_id, payload, occurred_at)
    VALUES (${e.type}, ${e.aggregateType}, ${String(e.aggregateId)}, ${e.accountId ?? null}, ${JSON.stringify(e.payload)}::jsonb, ${now})`.execute(q);
}

/**
 * One change as recordChange writes it: the audit row's and the event's columns. The JSON values travel as
 * themselves inside the statement's one JSON parameter (not as strings in it, which were escaped, sent and
 * parsed twice); each is wrapped as `{ v }` so that a null value stays JSON null, as recordChange stores it.
 */
export interface ChangeRow {
  at: string;
  operator_id: number | null;
  department_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  account_id: number | null;
  before: { v: unknown } | null;
  after: { v: unknown } | null;
  request_id: string | null;
  event_type: string;
  aggregate_type: string;
  aggregate_id: string;
  event_account_id: number | null;
  payload: { v: unknown };
}

function changeRow(now: Date, actor: Actor, a: AuditEntry, e: OutboxEvent): ChangeRow {
  return {
    at: now.toISOString(),
    operator_id: actor.operatorId,
    department_id: actor.departmentId,
    action: a.action,
    target_type: a.targetType,
    target_id: String(a.targetId),
    account_id: a.accountId ?? null,
    before: a.before === undefined ? null : { v: a.before },
    after: a.after === undefined ? null : { v: a.after },
    request_id: actor.requestId ?? null,
    event_type: e.type,
    aggregate_type: e.aggregateType,
    aggregate_id: String(e.aggregateId),
    event_account_id: e.accountId ?? null,
    payload: { v: e.payload },
  };
}

/**
 * The audit rows and events of `rows` as two data-modifying CTEs (`<prefix>_au`, `<prefix>_ob`, each
 * followed by a comma), to put in front of another statement's own CTEs or a final SELECT.
 */
export function changesCtes(rows: ChangeRow[], prefix = 'chg'): RawBuilder<unknown> {
  const x = sql.raw(`${prefix}_x`);
  return sql`
    ${x} AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows.map((r, i) => ({ ...r, ord: i + 1 })))}::jsonb) AS t(
        at timestamptz, operator_id bigint, department_id text, action text, target_type text, target_id text, account_id bigint,
        before jsonb, after jsonb, request_id text, event_type text, aggregate_type text, aggregate_id text, event_account_id bigint, payload jsonb, ord bigint)
    ),
    ${sql.raw(`${prefix}_au`)} AS (
      INSERT INTO audit_log (at, operator_id, department_id, action, target_type, target_id, account_id, before, after, request_id)
      SELECT at, operator_id, department_id, action, target_type, target_id, account_id, before->'v', after->'v', request_id FROM ${x} ORDER BY ord
    ),
    ${sql.raw(`${prefix}_ob`)} AS (
      INSERT INTO outbox (event_type, aggregate_type, aggregate_id, account_id, payload, occurred_at)
      SELECT event_type, aggregate_type, aggregate_id, event_account_id, payload->'v', at FROM ${x} ORDER BY ord
    ),`;
}

/**
 * Several changes (each an audit entry and its event, as recordChange) in one statement: a service
 * that records a change per created row (subscriptions of several offers) writes them together.
 */
export async function recordChanges(q: Q, clock: Clock, actor: Actor, changes: { audit: AuditEntry; event: OutboxEvent }[]): Promise<void> {
  if (changes.length === 0) return;
  if (changes.length === 1) {
    const [c] = changes as [{ audit: AuditEntry; event: OutboxEvent }];
    return recordChange(q, clock, actor, c.audit, c.event);
  }
  const now = clock.now();
  const rows = changes.map((c) => changeRow(now, actor, c.audit, c.event));
  const pending = deferred.get(q);
  if (pending) {
    pending.push(...rows);
    return;
  }
  await writeChanges(q, rows);
}

/** Writes collected changes in one statement. */
export async function writeChanges(q: Q, rows: ChangeRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`WITH ${changesCtes(rows)} done AS (SELECT 1) SELECT 1 FROM done`.execute(q);
}

// Changes recorded inside a transaction that collects them (the order engine's submission): they are
// written by the collector in one statement before it commits, in the same transaction.
const deferred = new WeakMap<object, ChangeRow[]>();

/**
 * From now on, recordChange / recordChanges on this transaction collect their rows instead of writing
 * them; `takeDeferredChanges` ends the collection and returns them for the caller to write (in the
 * same transaction, before it commits — on a rollback they are simply dropped).
 */
export function deferChanges(tx: Q): void {
  if (!deferred.has(tx)) deferred.set(tx, []);
}

export function takeDeferredChanges(tx: Q): ChangeRow[] {
  const rows = deferred.get(tx) ?? [];
  deferred.delete(tx);
  return rows;
}
