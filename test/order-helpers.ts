// Order fixtures: the demo catalog and stock, a hall manager, a designated hall, and the
// create → check → quote → submit walk through the API.
import { afterAll, beforeAll, expect } from 'vitest';
import type { AppContext } from '../src/app/context.ts';
import { DEMO_CATALOG } from '../src/domains/catalog/demo-catalog.ts';
import { hashSecret } from '../src/platform/passwords.ts';
import { type Api, freshResidentId, system, TEST_PASSWORD, type TestEnv, testApi, testEnv } from './helpers.ts';

export async function setupOrders(ctx: AppContext): Promise<void> {
  const db = ctx.database.db;
  await ctx.catalog.importCatalog(DEMO_CATALOG);
  await ctx.resources.loadDemoStock(db, ['H1', 'H2']);
  // R-ORD-8: H1 is a designated hall for pre-cancellation, H2 is not
  await db.updateTable('departments').set({ capabilities: ['pre_cancellation'] }).where('department_id', '=', 'H1').execute();
  await db
    .insertInto('operators')
    .values({ username: 'manager', name: '值班经理', department_id: 'H1', roles: ['front_desk', 'hall_manager'], password_hash: await hashSecret(TEST_PASSWORD) })
    .execute();
}

/**
 * A test file on the order engine: before its tests a test database with the demo catalog and stock
 * (setupOrders) and the API on it, closed after them. The fields are set once beforeAll has run.
 */
export function orderTestFile(): { env: TestEnv; api: Api } {
  const file = {} as { env: TestEnv; api: Api };
  beforeAll(async () => {
    file.env = await testEnv();
    file.api = await testApi(file.env);
    await setupOrders(file.env.ctx);
  }, 240_000);
  afterAll(async () => {
    await file.api?.app.close();
    await file.env?.close();
  });
  return file;
}

let pick = 0;
/** A free ordinary number nobody else in this file took. */
export async function freeNumber(ctx: AppContext): Promise<string> {
  const rows = await ctx.database.db
    .selectFrom('numbers')
    .select('service_number')
    .where('state', '=', 'free')
    .where('level_code', '=', 'ordinary')
    .where('service_number', 'not in', ctx.database.db.selectFrom('sim_cards').select('service_number').where('service_number', 'is not', null) as never)
    .orderBy('service_number')
    .offset(pick++)
    .limit(1)
    .execute();
  if (!rows[0]) throw new Error('no free number left');
  return rows[0].service_number;
}

let simPick = 0;
/** An in-stock finished SIM with no number written on it. */
export async function freeSim(ctx: AppContext): Promise<string> {
  const rows = await ctx.database.db
    .selectFrom('sim_cards')
    .select('iccid')
    .where('state', '=', 'in_stock')
    .where('card_type', '=', 'finished')
    .where('service_number', 'is', null)
    .orderBy('iccid')
    .offset(simPick++)
    .limit(1)
    .execute();
  if (!rows[0]) throw new Error('no free SIM left');
  return rows[0].iccid;
}

/** A person with a service password (R-ORD-7), segment as asked. */
export async function newCustomer(ctx: AppContext, opts: { segment?: 'personal' | 'family' | 'group'; name?: string; password?: string } = {}) {
  return ctx.customers.create(system, {
    kind: 'person',
    name: opts.name ?? '张家庭',
    idType: 'resident_id',
    idNumber: await freshResidentId(),
    contactPhone: '13800001111',
    address: '天津市河西区友谊路 10 号',
    segment: opts.segment ?? 'personal',
    servicePassword: opts.password ?? '902417',
  });
}

export const OWNER_DOCS = { presenter: 'owner', ownerIdOriginal: true };

/**
 * An e9 new-user OPEN_ACCOUNT body (R-E9-1): the package's mobile (number, SIM, EVDO) and broadband
 * on one new virtual account for a new family customer; `mobile` adds fields to the mobile member.
 */
export async function e9OpenAccountBody(ctx: AppContext, packageCode = 'e9-C', mobile: Record<string, unknown> = {}) {
  const c = await newCustomer(ctx, { segment: 'family' });
  return {
    customer: c,
    body: {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: OWNER_DOCS,
      packageCode,
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      members: [
        { role: 'mobile', network: 'wcdma3g', serviceNumber: await freeNumber(ctx), iccid: await freeSim(ctx), features: ['EVDO'], ...mobile },
        { role: 'broadband', network: 'broadband', serviceNumber: `tjadsl${c.customerId}`, standardAddress: '天津市河西区友谊路 10 号', installAddress: '友谊路 10 号 3-2-501', bandwidthMbps: 4 },
      ],
    },
  };
}

export interface Walk {
  created: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  checked: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  quoted?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  submitted?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** create → check → quote → submit; stops at the first step that does not succeed and returns what it got. */
export async function walkOrder(
  api: Api,
  body: Record<string, unknown>,
  opts: { as?: string; servicePassword?: string; waivers?: unknown[]; stopAfter?: 'check' | 'quote' } = {},
): Promise<Walk> {
  const as = opts.as ?? 'front_desk';
  const created = await api.call('POST', '/api/v1/orders', { as, body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.orderId;
  const checked = await api.call('POST', `/api/v1/orders/${id}/check`, { as, body: opts.servicePassword ? { servicePassword: opts.servicePassword } : {} });
  if (checked.status !== 200 || checked.body.status !== 'checked' || opts.stopAfter === 'check') return { created: created.body, checked: checked.body };
  const quoted = await api.call('POST', `/api/v1/orders/${id}/quote`, { as, body: opts.waivers ? { waivers: opts.waivers } : {} });
  if (quoted.status !== 200 || opts.stopAfter === 'quote') return { created: created.body, checked: checked.body, quoted: quoted.body };
  const submitted = await api.call('POST', `/api/v1/orders/${id}/submit`, { as, body: {} });
  return { created: created.body, checked: checked.body, quoted: quoted.body, submitted: submitted.status === 200 ? submitted.body : { httpStatus: submitted.status, ...submitted.body } };
}

export const codes = (order: { checks?: { failures: { code: string }[] } | null }) => (order.checks?.failures ?? []).map((f) => f.code);

export interface Mobile {
  customerId: number;
  subscriberId: number;
  accountId: number;
  serviceNumber: string;
  iccid: string;
}

/** One mobile subscriber on W3-46 opened through OPEN_ACCOUNT, on a new real-time account unless told otherwise. */
export async function openMobile(
  env: TestEnv,
  api: Api,
  opts: { customerId?: number; accountId?: number; newAccount?: Record<string, unknown>; documents?: unknown; prestoreFen?: number; features?: string[]; password?: string } = {},
): Promise<Mobile> {
  const customerId = opts.customerId ?? (await newCustomer(env.ctx, { password: opts.password })).customerId;
  const serviceNumber = await freeNumber(env.ctx);
  const iccid = await freeSim(env.ctx);
  const w = await walkOrder(api, {
    businessType: 'OPEN_ACCOUNT',
    customerId,
    documents: opts.documents ?? OWNER_DOCS,
    ...(opts.accountId ? { accountId: opts.accountId } : { newAccount: opts.newAccount ?? { billingType: 'virtual', paymentMethod: 'cash' } }),
    members: [{ role: 'main', network: 'wcdma3g', serviceNumber, iccid, planCode: 'W3-46', ...(opts.features ? { features: opts.features } : {}) }],
    ...(opts.prestoreFen ? { prestoreFen: opts.prestoreFen } : {}),
  });
  expect(w.submitted?.status, JSON.stringify(w.checked.checks)).toBe('completed');
  return { customerId, subscriberId: w.submitted.result.subscribers.main, accountId: w.submitted.result.accountId, serviceNumber, iccid };
}
