import { sql } from 'kysely';
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
  await q
    .insertInto('outbox')
    .values({
      event_type: e.type,
      aggregate_type: e.aggregateType,
      aggregate_id: String(e.aggregateId),
      account_id: e.accountId ?? null,
      payload: JSON.stringify(e.payload),
      occurred_at: clock.now(),
    })
    .execute();
}

/**
 * Audit entry and outbox event of one change in a single statement (one round trip on the hot
 * payment path); same meaning as audit() followed by emit().
 */
export async function recordChange(
  q: Q,
  clock: Clock,
  actor: import('./audit.ts').Actor,
  a: import('./audit.ts').AuditEntry,
  e: OutboxEvent,
): Promise<void> {
  const now = clock.now();
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
