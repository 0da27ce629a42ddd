import { createHash, randomBytes } from 'node:crypto';
import { type Actor, audit } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import { emit } from '../../platform/outbox.ts';
import { hashSecret, verifySecret } from '../../platform/passwords.ts';

export interface OperatorDeps {
  db: Db;
  clock: Clock;
  tokenTtlSeconds: number;
  /** Wall time for sessions and rate limits: security must not follow a simulated business clock. */
  wallNow?: () => number;
}

const MAX_FAILURES = 5;
const FAILURE_WINDOW_MS = 15 * 60 * 1000;
const ACTOR_CACHE_MS = 30 * 1000;

export interface NewOperator {
  username: string;
  name: string;
  departmentId: string;
  roles: string[];
  password: string;
}

export class OperatorService {
  private readonly failures = new Map<string, number[]>();
  private readonly cache = new Map<string, { actor: Actor; until: number; expiresAt: number }>();
  private readonly wallNow: () => number;

  private readonly deps: OperatorDeps;
  constructor(deps: OperatorDeps) {
    this.deps = deps;
    this.wallNow = deps.wallNow ?? (() => Date.now());
  }

  /** Failed logins are limited per user name and per client address (5 in 15 minutes). */
  private checkRate(keys: string[]): void {
    const now = this.wallNow();
    for (const k of keys) {
      const recent = (this.failures.get(k) ?? []).filter((t) => now - t < FAILURE_WINDOW_MS);
      this.failures.set(k, recent);
      if (recent.length >= MAX_FAILURES) {
        const retryAfter = Math.ceil((FAILURE_WINDOW_MS - (now - (recent[0] as number))) / 1000);
        throw new DomainError('LOGIN_RATE_LIMITED', `登录失败次数过多，请 ${retryAfter} 秒后再试`, `Too many failed logins; retry in ${retryAfter} s`, 429, {
          retryAfterSeconds: retryAfter,
        });
      }
    }
  }

  private recordFailure(keys: string[]): void {
    const now = this.wallNow();
    for (const k of keys) this.failures.set(k, [...(this.failures.get(k) ?? []), now]);
  }

  async login(username: string, password: string, ip: string): Promise<{ token: string; expiresAt: string; operator: OperatorView }> {
    const keys = [`u:${username.toLowerCase()}`, `ip:${ip}`];
    this.checkRate(keys);
    const op = await this.deps.db.selectFrom('operators').selectAll().where('username', '=', username).executeTakeFirst();
    const ok = op !== undefined && op.status === 'active' && (await verifySecret(password, op.password_hash));
    if (!op || !ok) {
      this.recordFailure(keys);
      throw new DomainError('LOGIN_FAILED', '工号或密码错误', 'Wrong user name or password', 401);
    }
    this.failures.delete(keys[0] as string);
    const token = randomBytes(32).toString('base64url');
    const now = this.wallNow();
    const expiresAt = new Date(now + this.deps.tokenTtlSeconds * 1000);
    await this.deps.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('sessions')
        .values({ token_hash: sha256(token), operator_id: op.operator_id, created_at: new Date(now), expires_at: expiresAt })
        .execute();
      await audit(tx, this.deps.clock, { operatorId: op.operator_id, username: op.username, departmentId: op.department_id, permissions: new Set() }, {
        action: 'operator.login',
        targetType: 'operator',
        targetId: op.operator_id,
      });
    });
    return { token, expiresAt: expiresAt.toISOString(), operator: await this.view(op.operator_id) };
  }

  async logout(actor: Actor, token: string): Promise<void> {
    const h = sha256(token);
    this.cache.delete(h);
    await this.deps.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('sessions').where('token_hash', '=', h).execute();
      await audit(tx, this.deps.clock, actor, { action: 'operator.logout', targetType: 'operator', targetId: actor.operatorId ?? 0 });
    });
  }

  /** Resolves a bearer token to its operator; cached briefly so each request costs no query. */
  async authenticate(token: string): Promise<Actor | null> {
    const h = sha256(token);
    const now = this.wallNow();
    const hit = this.cache.get(h);
    if (hit && hit.until > now && hit.expiresAt > now) return { ...hit.actor };
    const row = await this.deps.db
      .selectFrom('sessions as s')
      .innerJoin('operators as o', 'o.operator_id', 's.operator_id')
      .select(['o.operator_id', 'o.username', 'o.department_id', 'o.roles', 'o.status', 's.expires_at'])
      .where('s.token_hash', '=', h)
      .executeTakeFirst();
    if (!row || row.status !== 'active' || row.expires_at.getTime() <= now) {
      this.cache.delete(h);
      return null;
    }
    const permissions = await this.permissionsOf(row.roles);
    const actor: Actor = { operatorId: row.operator_id, username: row.username, departmentId: row.department_id, permissions };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(h, { actor, until: now + ACTOR_CACHE_MS, expiresAt: row.expires_at.getTime() });
    return { ...actor };
  }

  private async permissionsOf(roles: string[]): Promise<Set<string>> {
    if (roles.length === 0) return new Set();
    const rows = await this.deps.db.selectFrom('roles').select('permissions').where('role_code', 'in', roles).execute();
    return new Set(rows.flatMap((r) => r.permissions));
  }

  async create(actor: Actor, input: NewOperator): Promise<OperatorView> {
    if (input.password.length < 8) {
      throw new DomainError('WEAK_PASSWORD', '密码至少 8 位', 'The password needs at least 8 characters', 422);
    }
    const hash = await hashSecret(input.password);
    return this.deps.db.transaction().execute(async (tx) => {
      const dept = await tx.selectFrom('departments').select('department_id').where('department_id', '=', input.departmentId).executeTakeFirst();
      if (!dept) throw new DomainError('UNKNOWN_DEPARTMENT', `部门不存在：${input.departmentId}`, `Unknown department: ${input.departmentId}`, 422);
      const known = await tx.selectFrom('roles').select('role_code').where('role_code', 'in', input.roles.length ? input.roles : ['']).execute();
      const missing = input.roles.filter((r) => !known.some((k) => k.role_code === r));
      if (missing.length) throw new DomainError('UNKNOWN_ROLE', `角色不存在：${missing.join(',')}`, `Unknown roles: ${missing.join(',')}`, 422);
      const exists = await tx.selectFrom('operators').select('operator_id').where('username', '=', input.username).executeTakeFirst();
      if (exists) throw new DomainError('OPERATOR_EXISTS', `工号已存在：${input.username}`, `Operator exists: ${input.username}`, 409);
      const row = await tx
        .insertInto('operators')
        .values({
          username: input.username,
          name: input.name,
          department_id: input.departmentId,
          roles: input.roles,
          password_hash: hash,
          joined_at: this.deps.clock.now(),
        })
        .returning('operator_id')
        .executeTakeFirstOrThrow();
      const after = { username: input.username, name: input.name, departmentId: input.departmentId, roles: input.roles };
      await audit(tx, this.deps.clock, actor, { action: 'operator.create', targetType: 'operator', targetId: row.operator_id, after });
      await emit(tx, this.deps.clock, { type: 'operator.created', aggregateType: 'operator', aggregateId: row.operator_id, payload: after });
      return { operatorId: row.operator_id, ...after };
    });
  }

  async view(operatorId: number): Promise<OperatorView> {
    const o = await this.deps.db
      .selectFrom('operators as o')
      .leftJoin('departments as d', 'd.department_id', 'o.department_id')
      .select(['o.operator_id', 'o.username', 'o.name', 'o.department_id', 'o.roles', 'd.name as department_name'])
      .where('o.operator_id', '=', operatorId)
      .executeTakeFirstOrThrow();
    return { operatorId: o.operator_id, username: o.username, name: o.name, departmentId: o.department_id, departmentName: o.department_name, roles: o.roles };
  }

  async count(): Promise<number> {
    const r = await this.deps.db.selectFrom('operators').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

export interface OperatorView {
  operatorId: number;
  username: string;
  name: string;
  departmentId: string;
  /** Shown in the front desk's top bar (login and view). */
  departmentName?: string | null;
  roles: string[];
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
