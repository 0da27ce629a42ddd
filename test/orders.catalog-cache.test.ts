// The catalog the order engine reads on every step (offers, fees, parameters) is cached briefly;
// a catalog import must take effect for the very next order step.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DEMO_CATALOG } from '../src/domains/catalog/demo-catalog.ts';
import { type Api, type TestEnv, testApi, testEnv } from './helpers.ts';
import { freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  await setupOrders(env.ctx);
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

async function quotedSimFee(): Promise<number | undefined> {
  const c = await newCustomer(env.ctx);
  const w = await walkOrder(
    api,
    {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: OWNER_DOCS,
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      members: [{ role: 'main', network: 'wcdma3g', serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx), planCode: 'W3-46' }],
    },
    { stopAfter: 'quote' },
  );
  return w.quoted.fees.find((f: { feeCode: string }) => f.feeCode === 'SIM_CARD')?.amountFen;
}

test('R-ORD-7 a SIM card fee and a plan changed by a catalog import apply to the next order at once', async () => {
  const demoSim = DEMO_CATALOG.fees.find((f) => f.code === 'SIM_CARD');
  if (!demoSim) throw new Error('the demo catalog has no SIM_CARD fee');
  expect(await quotedSimFee()).toBe(demoSim.amountFen); // the catalog is now cached

  await env.ctx.catalog.importCatalog({ brands: [], fees: [{ ...demoSim, amountFen: demoSim.amountFen + 500 }], offers: [] });
  expect(await quotedSimFee()).toBe(demoSim.amountFen + 500);

  // a plan that ends before today is refused by the next check
  const plan = DEMO_CATALOG.offers.find((o) => o.code === 'W3-46');
  if (!plan) throw new Error('the demo catalog has no W3-46');
  await env.ctx.catalog.importCatalog({ brands: [], fees: [], offers: [{ ...plan, validTo: '2021-01-01' }] });
  const c = await newCustomer(env.ctx);
  const w = await walkOrder(
    api,
    {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: OWNER_DOCS,
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      members: [{ role: 'main', network: 'wcdma3g', serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx), planCode: 'W3-46' }],
    },
    { stopAfter: 'check' },
  );
  expect(w.checked.status).toBe('draft');
  expect(w.checked.checks.failures.map((f: { code: string }) => f.code)).toContain('OFFER_NOT_ONLINE');
});
