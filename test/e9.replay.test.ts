// Issue 4 acceptance: an e9 customer (SPEC §9.1) who never tops up, driven month by month with the
// simulated clock. The month the mobile stops follows from the tariffs and the 100-yuan credit
// (R-BIL-8 advance rent, R-CC-1/R-CC-4); the broadband stops with it (linkage `immediate`) although
// its 600 special fund still has money; the order screen's forecast (R-E9-4) names the same month.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { creditExhaustion, monthlyFeeFen } from '../src/domains/catalog/rules.ts';
import { addCycles, cycleOf } from '../src/platform/clock.ts';
import { type Api, system, T0, type TestEnv, testApi, testEnv } from './helpers.ts';
import { e9OpenAccountBody, setupOrders, walkOrder } from './order-helpers.ts';

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

const FUND_ITEMS = ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'];

async function openE9(packageCode: string) {
  const { body } = await e9OpenAccountBody(env.ctx, packageCode);
  const w = await walkOrder(api, body);
  expect(w.submitted?.status, JSON.stringify(w.checked?.checks)).toBe('submitted');
  const done = await api.call('POST', `/api/v1/work-orders/${w.submitted.workOrders[0].workOrderId}/complete`, { as: 'manager', body: { note: '装机完成' } });
  expect(done.status).toBe(200);
  const accountId = w.submitted.result.accountId as number;
  const { mobile, broadband } = w.submitted.result.subscribers as { mobile: number; broadband: number };
  // R-E9-2: the 600 special fund, private to the broadband
  const fund = await api.call('POST', `/api/v1/accounts/${accountId}/payments`, {
    as: 'front_desk',
    body: { amountFen: 60000, bookType: 'restricted_fund', restrictedItems: FUND_ITEMS, subscriberId: broadband, channel: 'front_desk', idempotencyKey: `replay-fund-${accountId}` },
  });
  expect(fund.status, JSON.stringify(fund.body)).toBe(201);
  return { accountId, mobile, broadband, notice: String(w.checked.notices[0]?.zh ?? '') };
}

async function status(subscriberId: number): Promise<string> {
  const r = await env.ctx.database.db.selectFrom('subscribers').select('status').where('subscriber_id', '=', subscriberId).executeTakeFirstOrThrow();
  return r.status;
}

describe('e9 replay with the simulated clock', () => {
  for (const [packageCode, expectedMonth] of [
    ['e9-C', 6],
    ['e9-G', 4],
  ] as const) {
    test(`R-E9-4 R-CC-4 R-BIL-8 ${packageCode}: the mobile stops in the forecast month and the broadband with it (linkage immediate)`, async () => {
      env.clock.set(T0, true);
      const e9 = await openE9(packageCode);
      const pkg = await env.ctx.catalog.offer(packageCode);
      if (!pkg) throw new Error(`no offer ${packageCode}`);
      const mobileRow = await env.ctx.database.db.selectFrom('subscribers').select('activated_at').where('subscriber_id', '=', e9.mobile).executeTakeFirstOrThrow();
      const forecast = creditExhaustion(10000, monthlyFeeFen(pkg, 'mobile'), mobileRow.activated_at);
      expect(forecast?.month).toBe(expectedMonth);
      // the order screen said the same month
      expect(e9.notice).toContain(`第 ${forecast?.month} 个月`);

      // month by month: travel to the 2nd of each next cycle and look at both lines
      const seen: { cycle: string; mobile: string; broadband: string }[] = [];
      let cycle = cycleOf(env.clock.now());
      for (let i = 0; i < expectedMonth + 1; i++) {
        cycle = addCycles(cycle, 1);
        await env.ctx.clockService.travel(system, { to: `${cycle}-02` }, env.ctx.jobs);
        seen.push({ cycle, mobile: await status(e9.mobile), broadband: await status(e9.broadband) });
      }
      const firstStop = seen.find((s) => s.mobile !== 'normal');
      expect(firstStop?.cycle, JSON.stringify(seen)).toBe(forecast?.cycle);
      expect(firstStop?.mobile).toBe('arrears_stop');
      // the broadband stops in the same month although its fund still has money
      expect(firstStop?.broadband).not.toBe('normal');
      for (const s of seen.filter((x) => x.cycle < (forecast?.cycle ?? ''))) expect(s, JSON.stringify(seen)).toMatchObject({ mobile: 'normal', broadband: 'normal' });
      const fund = await env.ctx.database.db
        .selectFrom('books')
        .select('balance_fen')
        .where('account_id', '=', e9.accountId)
        .where('book_type', '=', 'restricted_fund')
        .executeTakeFirstOrThrow();
      expect(fund.balance_fen).toBeGreaterThan(0);
      // R-ACC-18 after months of charges
      const report = await checkConservation(env.ctx.database.db, [e9.accountId]);
      expect(report.differing).toEqual([]);
    }, 300_000); // months of daily jobs
  }
});
