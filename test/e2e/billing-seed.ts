// The monthly customer the bill-run screens are shown and tested with (test/e2e/billing.e2e.test.ts,
// scripts/screenshots-billing.ts): 周帐单 with a monthly account, a 2G number on the G2-18 plan (100
// local minutes and 50 SMS included) in service since 1 November 2026, ¥10 cash in the account and
// November's CDRs — 120 local minutes (20 beyond the allowance at ¥0.15), a 5-minute long-distance
// call at ¥0.30, 3 SMS — imported and rated. Seeded through the services of the harness's context.
import { systemActor } from '../../src/platform/audit.ts';
import type { FrontDesk } from './browser.ts';

export const BILLING_NUMBER = '13302201188';
/** 09:00 of 1 November 2026 in Asia/Shanghai. */
const NOV_1 = new Date('2026-11-01T01:00:00Z');

export async function seedMonthlyCustomer(fd: FrontDesk): Promise<{ customerId: number; accountId: number; subscriberId: number }> {
  const ctx = fd.ctx;
  const hall = { ...systemActor('e2e-billing'), departmentId: 'TJ-130041-H1' };
  // in service since 1 November (a CDR of a number not yet in service is rejected)
  const today = ctx.clock.now();
  fd.clock.set(NOV_1);
  const customer = await ctx.customers.create(hall, { kind: 'person', name: '周帐单', idType: 'passport', idNumber: 'E88120451', contactPhone: BILLING_NUMBER, address: '天津市河西区友谊路 10 号' });
  const account = await ctx.accounts.createAccount(hall, { customerId: customer.customerId, billingType: 'monthly', paymentMethod: 'cash' });
  const sub = await ctx.accounts.createSubscriber(hall, { customerId: customer.customerId, accountId: account.accountId, serviceNumber: BILLING_NUMBER, network: 'gsm2g' });
  const plan = await ctx.catalog.offer('G2-18');
  if (!plan) throw new Error('the demo catalog has no G2-18');
  await ctx.database.db.transaction().execute((tx) => ctx.catalog.subscribe(tx, hall, [{ subscriberId: sub.subscriberId, offer: plan, orderId: null, startsAt: NOV_1 }]));
  await ctx.money.pay(hall, account.accountId, { amountFen: 1000, bookType: 'cash', channel: 'front_desk', idempotencyKey: 'e2e-billing-cash' });
  fd.clock.set(today);
  const cdr = (id: string, otherParty: string, startTime: string, usage: string, scope: string, quantity: number) => ({ recordId: `E2E-BIL-${id}`, serviceNumber: BILLING_NUMBER, otherParty, startTime, usage, scope, quantity });
  await ctx.usage.importBatch(hall, [
    cdr('1', '13900000001', '2026-11-03 09:15:00', 'voice', 'local', 6000),
    cdr('2', '13900000002', '2026-11-10 18:40:00', 'voice', 'local', 1200),
    cdr('3', '01065550123', '2026-11-12 20:05:00', 'voice', 'long_distance', 300),
    cdr('4', '13900000001', '2026-11-15 12:00:00', 'sms', 'local', 1),
    cdr('5', '13900000001', '2026-11-15 12:01:00', 'sms', 'local', 1),
    cdr('6', '13900000003', '2026-11-16 08:30:00', 'sms', 'local', 1),
  ]);
  await ctx.usage.ratePending();
  return { customerId: customer.customerId, accountId: account.accountId, subscriberId: sub.subscriberId };
}
