// Bundle fixtures (SPEC §8, seed 000): a customer with a mobile and a broadband of the same number
// ready to bind (2G: on one joint account, R-BND-4; 3G: each on its own account), an optional fixed
// line or second mobile, the broadband fund (专款, R-BND-7), and BUNDLE_BIND through the API.
import { expect } from 'vitest';
import { type Api, type TestEnv, system } from './helpers.ts';
import { freeNumber, freeSim, newCustomer, OWNER_DOCS, walkOrder } from './order-helpers.ts';

export const BUNDLE_PASSWORD = '902417';
/** What the broadband fund may pay (R-E9-2 / R-BND-7: the broadband's restricted book). */
export const BROADBAND_FUND_ITEMS = ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'];

export interface Line {
  subscriberId: number;
  serviceNumber: string;
  accountId: number;
}

export interface BundleCustomer {
  customerId: number;
  /** the mobile's paying account (the bundle's account) */
  accountId: number;
  mobile: Line;
  broadband: Line;
  fixed?: Line | undefined;
  mobile2?: Line | undefined;
  /** the BUNDLE_BIND members of this customer (roles mobile, broadband and fixed / mobile2 when made) */
  members: { role: string; serviceNumber: string }[];
}

let fixedSeq = 0;

/**
 * A customer with a mobile (2G: gsm2g on G2-18; 3G: wcdma3g on W3-46 or `mobilePlan`) and a broadband
 * (BB-4M, its installation work order still open — in transit, R-BND-1) whose account name is the
 * mobile's number (R-BND-2). 2G: both on the mobile's account (joint account, R-BND-4) unless
 * `jointAccount: false`; 3G: the broadband on its own account unless `jointAccount: true`.
 * `broadbandFundFen` pays a restricted broadband fund private to the broadband (default 60 yuan; 0: none).
 * `extra: 'fixed'` adds a fixed line (created directly: the demo pool has no fixed numbers) on the
 * mobile's account; `extra: 'mobile2'` a second mobile opened through OPEN_ACCOUNT.
 */
export async function bundleCustomer(
  env: TestEnv,
  api: Api,
  opts: {
    generation?: '2G' | '3G';
    jointAccount?: boolean;
    mobilePlan?: string;
    broadbandNumber?: string;
    broadbandFundFen?: number;
    mobilePrestoreFen?: number;
    extra?: 'fixed' | 'mobile2';
    name?: string;
    billingType?: 'virtual' | 'monthly';
  } = {},
): Promise<BundleCustomer> {
  const generation = opts.generation ?? '2G';
  const joint = opts.jointAccount ?? generation === '2G';
  const customer = await newCustomer(env.ctx, { name: opts.name ?? '李捆绑', password: BUNDLE_PASSWORD });
  const customerId = customer.customerId;
  const newAccount = { billingType: opts.billingType ?? 'virtual', paymentMethod: 'cash' };
  const mobileNumber = await freeNumber(env.ctx);
  const m = await walkOrder(api, {
    businessType: 'OPEN_ACCOUNT',
    customerId,
    documents: OWNER_DOCS,
    newAccount,
    members: [
      {
        role: 'main',
        network: generation === '2G' ? 'gsm2g' : 'wcdma3g',
        serviceNumber: mobileNumber,
        iccid: await freeSim(env.ctx),
        planCode: opts.mobilePlan ?? (generation === '2G' ? 'G2-18' : 'W3-46'),
      },
    ],
    prestoreFen: opts.mobilePrestoreFen ?? 10000,
  });
  expect(m.submitted?.status, JSON.stringify(m.checked.checks ?? m.submitted)).toBe('completed');
  const mobile: Line = { subscriberId: m.submitted.result.subscribers.main, serviceNumber: mobileNumber, accountId: m.submitted.result.accountId };

  const bbNumber = opts.broadbandNumber ?? mobileNumber;
  const b = await walkOrder(api, {
    businessType: 'OPEN_ACCOUNT',
    customerId,
    documents: OWNER_DOCS,
    ...(joint ? { accountId: mobile.accountId } : { newAccount }),
    members: [
      { role: 'main', network: 'broadband', serviceNumber: bbNumber, planCode: 'BB-4M', standardAddress: '天津市河西区友谊路 10 号', installAddress: '友谊路 10 号 3-2-501', bandwidthMbps: 4 },
    ],
  });
  // the installation work order stays open: the broadband is an in-transit new installation (R-BND-1)
  expect(b.submitted?.status, JSON.stringify(b.checked.checks ?? b.submitted)).toBe('submitted');
  const broadband: Line = { subscriberId: b.submitted.result.subscribers.main, serviceNumber: bbNumber, accountId: b.submitted.result.accountId };

  const fund = opts.broadbandFundFen ?? 6000;
  if (fund > 0) {
    const r = await api.call('POST', `/api/v1/accounts/${broadband.accountId}/payments`, {
      as: 'front_desk',
      body: { amountFen: fund, bookType: 'restricted_fund', restrictedItems: BROADBAND_FUND_ITEMS, subscriberId: broadband.subscriberId, channel: 'front_desk', idempotencyKey: `bnd-fund-${broadband.subscriberId}` },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }

  const out: BundleCustomer = {
    customerId,
    accountId: mobile.accountId,
    mobile,
    broadband,
    members: [
      { role: 'mobile', serviceNumber: mobile.serviceNumber },
      { role: 'broadband', serviceNumber: broadband.serviceNumber },
    ],
  };
  if (opts.extra === 'fixed') {
    fixedSeq += 1;
    const serviceNumber = `022${String(23000000 + (Date.now() % 1_000_000) * 10 + fixedSeq).slice(-8)}`;
    const s = await env.ctx.accounts.createSubscriber(system, { customerId, accountId: mobile.accountId, serviceNumber, network: 'fixed' });
    const plan = await env.ctx.catalog.offer('FIX-25');
    if (plan) {
      await env.ctx.database.db.transaction().execute((tx) => env.ctx.catalog.subscribe(tx, system, [{ subscriberId: s.subscriberId, offer: plan, orderId: null, startsAt: env.clock.now() }]));
    }
    out.fixed = { subscriberId: s.subscriberId, serviceNumber, accountId: mobile.accountId };
    out.members.push({ role: 'fixed', serviceNumber });
  } else if (opts.extra === 'mobile2') {
    const n = await freeNumber(env.ctx);
    const w = await walkOrder(api, {
      businessType: 'OPEN_ACCOUNT',
      customerId,
      documents: OWNER_DOCS,
      accountId: mobile.accountId,
      members: [{ role: 'main', network: generation === '2G' ? 'gsm2g' : 'wcdma3g', serviceNumber: n, iccid: await freeSim(env.ctx), planCode: generation === '2G' ? 'G2-18' : 'W3-46' }],
    });
    expect(w.submitted?.status, JSON.stringify(w.checked.checks ?? w.submitted)).toBe('completed');
    out.mobile2 = { subscriberId: w.submitted.result.subscribers.main, serviceNumber: n, accountId: mobile.accountId };
    out.members.push({ role: 'mobile2', serviceNumber: n });
  }
  return out;
}

export interface Bound {
  orderId: number;
  packageId: number;
  /** the submitted order as the API returned it */
  order: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** BUNDLE_BIND through the API (create → check → quote → submit); fails the test unless it completes. */
export async function bindBundle(api: Api, p: { customerId: number; offerCode: string; members: { role: string; serviceNumber: string }[]; as?: string }): Promise<Bound> {
  const w = await walkOrder(api, { businessType: 'BUNDLE_BIND', customerId: p.customerId, offerCode: p.offerCode, members: p.members, documents: OWNER_DOCS }, { as: p.as ?? 'front_desk' });
  expect(w.checked.checks?.failures ?? [], JSON.stringify(w.checked.checks)).toEqual([]);
  expect(w.submitted?.status, JSON.stringify(w.submitted)).toBe('completed');
  return { orderId: w.created.orderId, packageId: w.submitted.result.packageId, order: w.submitted };
}

/** A 2G customer (G2-18 mobile + in-transit broadband on one joint account, fund paid) bound into `offerCode` (default BND-2G-BB). */
export async function boundCustomer(env: TestEnv, api: Api, opts: Parameters<typeof bundleCustomer>[2] & { offerCode?: string } = {}) {
  const { offerCode, ...rest } = opts;
  const c = await bundleCustomer(env, api, rest);
  const b = await bindBundle(api, { customerId: c.customerId, offerCode: offerCode ?? 'BND-2G-BB', members: c.members });
  return { ...c, ...b };
}
