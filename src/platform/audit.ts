import type { Clock } from './clock.ts';
import type { Q } from './db.ts';

/** Who is acting: an operator (工号) in a department, or a job. */
export interface Actor {
  operatorId: number | null;
  username: string;
  departmentId: string | null;
  permissions: ReadonlySet<string>;
  requestId?: string | undefined;
}

export const systemActor = (name = 'system'): Actor => ({
  operatorId: null,
  username: name,
  departmentId: null,
  permissions: new Set(['*']),
});

export function can(actor: Actor, permission: string): boolean {
  return actor.permissions.has('*') || actor.permissions.has(permission);
}

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId: string | number;
  accountId?: number | null;
  /** Snapshots must already be masked (R-CUS-2: no whole ID or phone numbers in logs). */
  before?: unknown;
  after?: unknown;
}

/** Appends to the audit log inside the caller's transaction. */
export async function audit(q: Q, clock: Clock, actor: Actor, e: AuditEntry): Promise<void> {
  await q
    .insertInto('audit_log')
    .values({
      at: clock.now(),
      operator_id: actor.operatorId,
      department_id: actor.departmentId,
      action: e.action,
      target_type: e.targetType,
      target_id: String(e.targetId),
      account_id: e.accountId ?? null,
      before: e.before === undefined ? null : JSON.stringify(e.before),
      after: e.after === undefined ? null : JSON.stringify(e.after),
      request_id: actor.requestId ?? null,
    })
    .execute();
}
