import { test } from 'vitest';
import { actorOf, testEnv } from './helpers.ts';
import { freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders } from './order-helpers.ts';
test('debug', async () => {
  const env = await testEnv();
  await setupOrders(env.ctx);
  const c = await newCustomer(env.ctx, { password: undefined });
  const actor = await actorOf(env.ctx, 'front_desk');
  try {
    const r = await (env.ctx as any).orders.create(actor, { businessType: 'OPEN_ACCOUNT', customerId: c.customerId, documents: OWNER_DOCS, newAccount: { billingType: 'virtual', paymentMethod: 'cash' }, members: [{ role: 'main', network: 'wcdma3g', serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx), planCode: 'W3-46' }] });
    console.log('ok', r.orderId);
  } catch (e) { console.log('ERR', e); }
  await env.close();
});
