// Test harness: a fresh database per test file (PGlite in memory, or a clone of the PostgreSQL
// template), a frozen simulated clock, operators for each role, and an HTTP client with tokens.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { expect, test } from 'vitest';
import { type AppContext, createContext } from '../src/app/context.ts';
import { buildServer } from '../src/app/server.ts';
import { auditStock } from '../src/domains/resources/stock-audit.ts';
import type { FaultInjector } from '../src/domains/orders/types.ts';
import { type Actor, systemActor } from '../src/platform/audit.ts';
import { SimulatedClock } from '../src/platform/clock.ts';
import { loadConfig } from '../src/platform/config.ts';
import { hashSecret } from '../src/platform/passwords.ts';
import { CLONE_PREFIX, databaseUrlFor, TEMPLATE_DB } from './global-setup.ts';

export const onPostgres = process.env.OPENBOSS_TEST_DB === 'pg';
/** 2026-11-15 10:00 Asia/Shanghai. */
export const T0 = new Date('2026-11-15T02:00:00Z');

export interface TestEnv {
  ctx: AppContext;
  clock: SimulatedClock;
  close(): Promise<void>;
}

let passwordHash: Promise<string> | undefined;

export async function testEnv(opts: { poolSize?: number; faults?: FaultInjector } = {}): Promise<TestEnv> {
  const clock = new SimulatedClock(T0, { frozen: true });
  // tests tell clients apart by X-Forwarded-For (login rate limits)
  const config = { ...loadConfig({}), databaseUrl: undefined, logLevel: 'silent', trustProxy: true, kiKey: randomBytes(32).toString('hex') };
  let dropDb: (() => Promise<void>) | undefined;
  let dbOpts: { databaseUrl?: string; dataDir?: string; poolSize?: number } = { dataDir: 'memory://' };
  if (onPostgres) {
    const name = `${CLONE_PREFIX}${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
    await admin.end();
    dbOpts = { databaseUrl: databaseUrlFor(name), poolSize: opts.poolSize ?? 20 };
    dropDb = async () => {
      const a = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  }
  const ctx = await createContext(config, { clock, log: pino({ level: 'silent' }), db: dbOpts, faults: opts.faults });
  await seedOrganisation(ctx);
  return {
    ctx,
    clock,
    async close() {
      await ctx.close();
      await dropDb?.();
    },
  };
}

export const TEST_PASSWORD = 'test-password';

/** Departments and one operator per role; usernames equal the role code (plus hall2 for another department). */
export async function seedOrganisation(ctx: AppContext): Promise<void> {
  const db = ctx.database.db;
  await db
    .insertInto('departments')
    .values([
      { department_id: 'B1', parent_id: 'HQ', name: '河西分公司', kind: 'branch', warehouse_code: '130041', writing_warehouse_code: '13ZDF16' },
      { department_id: 'H1', parent_id: 'B1', name: '友谊路营业厅', kind: 'hall' },
      { department_id: 'H2', parent_id: 'B1', name: '南京路营业厅', kind: 'hall' },
      { department_id: 'ACCT', parent_id: 'HQ', name: '帐务室', kind: 'room' },
      // seed 003: the branch's social-channel writing warehouse 13ZDF16 has its own department (ESS 工号)
      { department_id: 'W1', parent_id: 'B1', name: '河西分公司社会渠道写卡库', kind: 'room' },
      { department_id: 'C1', parent_id: 'B1', name: '河西宏达通讯（社会渠道）', kind: 'channel' },
      { department_id: 'C2', parent_id: 'B1', name: '友谊手机卖场（社会渠道）', kind: 'channel' },
    ])
    .execute();
  const at = ctx.clock.now();
  await db
    .insertInto('warehouses')
    .values([
      { warehouse_code: '130041', name: '河西分公司二级库', department_id: 'B1', level: 'branch', created_at: at },
      { warehouse_code: '13ZDF16', name: '河西社会渠道现场写卡库', department_id: 'W1', parent_code: '130041', level: 'writing', created_at: at },
      { warehouse_code: '130041H1', name: '友谊路营业厅库', department_id: 'H1', parent_code: '130041', level: 'hall', created_at: at },
      { warehouse_code: '130041H2', name: '南京路营业厅库', department_id: 'H2', parent_code: '130041', level: 'hall', created_at: at },
    ])
    .onConflict((oc) => oc.doNothing())
    .execute();
  passwordHash ??= hashSecret(TEST_PASSWORD);
  const hash = await passwordHash;
  const ops: [string, string, string[]][] = [
    ['admin', 'HQ', ['admin']],
    ['front_desk', 'H1', ['front_desk']],
    ['hall2', 'H2', ['front_desk']],
    ['accounting', 'ACCT', ['accounting']],
    ['key_account', 'B1', ['key_account']],
    ['auditor', 'HQ', ['auditor']],
    ['nobody', 'H1', []],
    ['keeper', 'B1', ['stock_keeper']],
    ['ess', 'W1', ['stock_keeper']],
    ['agent', 'C1', ['agent']],
    ['agent2', 'C2', ['agent']],
  ];
  await db
    .insertInto('operators')
    .values(ops.map(([u, d, roles]) => ({ username: u, name: u, department_id: d, roles, password_hash: hash })))
    .execute();
}

/** An actor as a service sees it (for service-level tests). */
export async function actorOf(ctx: AppContext, username: string): Promise<Actor> {
  const op = await ctx.database.db.selectFrom('operators').selectAll().where('username', '=', username).executeTakeFirstOrThrow();
  const perms = await ctx.database.db.selectFrom('roles').select('permissions').where('role_code', 'in', op.roles.length ? op.roles : ['']).execute();
  return { operatorId: op.operator_id, username, departmentId: op.department_id, permissions: new Set(perms.flatMap((p) => p.permissions)) };
}

export const system = systemActor('test');

export interface Api {
  app: FastifyInstance;
  token(username: string): Promise<string>;
  call(method: string, url: string, opts?: { as?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Record<string, unknown> }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
}

export async function testApi(env: TestEnv): Promise<Api> {
  const app = await buildServer(env.ctx);
  await app.ready();
  const tokens = new Map<string, string>();
  const api: Api = {
    app,
    async token(username) {
      const t = tokens.get(username);
      if (t) return t;
      const r = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: TEST_PASSWORD } });
      if (r.statusCode !== 200) throw new Error(`login ${username}: ${r.statusCode} ${r.body}`);
      const token = (r.json() as { token: string }).token;
      tokens.set(username, token);
      return token;
    },
    async call(method, url, opts = {}) {
      const as = opts.as === undefined ? 'admin' : opts.as;
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (as) headers.authorization = `Bearer ${await api.token(as)}`;
      let payload: string | undefined;
      if (opts.raw !== undefined) {
        payload = opts.raw;
        headers['content-type'] ??= 'application/json';
      } else if (opts.body !== undefined) {
        payload = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
      const r = await app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
      let body: unknown = r.body;
      try {
        body = r.body ? JSON.parse(r.body) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: r.statusCode, body, headers: r.headers as Record<string, unknown> };
    },
  };
  return api;
}

let idSeq = 100;
/** A valid resident ID (GB 11643) that no other test used. */
export async function freshResidentId(): Promise<string> {
  const { residentIdCheckChar } = await import('../src/domains/customers/rules.ts');
  idSeq++;
  // region 110105, birth 198Y-0M-1D, then a 3-digit sequence
  const birth = `198${idSeq % 10}0${1 + (idSeq % 9)}1${idSeq % 9}`;
  const body = `110105${birth}${String(idSeq % 1000).padStart(3, '0')}`;
  return body + residentIdCheckChar(body);
}

/** A customer, an account and a mobile subscriber on it. */
export async function customerWithAccount(ctx: AppContext, billingType: 'virtual' | 'quota' | 'monthly' = 'monthly', n = 0) {
  const customer = await ctx.customers.create(system, { kind: 'person', name: `客户${n}`, idType: 'resident_id', idNumber: await freshResidentId() });
  const account = await ctx.accounts.createAccount(system, { customerId: customer.customerId, billingType, paymentMethod: 'cash' });
  const number = `186${String(20000000 + idSeq * 100 + n).padStart(8, '0')}`;
  const sub = await ctx.accounts.createSubscriber(system, { customerId: customer.customerId, accountId: account.accountId, serviceNumber: number, network: 'wcdma3g' });
  return { customer, account, sub, accountId: account.accountId, subscriberId: sub.subscriberId };
}

/**
 * Stock conservation after a file's tests (issue 6): every card in exactly one place and state, its
 * history agreeing — the check of `openboss audit stock`. Put last in files that move cards.
 */
export function stockConservedAfterAll(getEnv: () => TestEnv): void {
  test('stock audit: zero differences after the tests of this file (openboss audit stock)', async () => {
    const report = await auditStock(getEnv().ctx.database.db);
    expect(report.differences).toEqual([]);
    expect(report.cards).toBeGreaterThan(0);
  });
}
