// CHANGE_PLAN 换套餐 through the API: catalog compatibility (R-ORD-11, §8.4), R-BND-16, R-BND-17,
// R-X-14 minimum-spend terms and next-cycle reservations (R-ORD-5).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { addCycles, cycleOf, cycleStart } from '../src/platform/clock.ts';
import { type Api, system, type TestEnv, testApi, testEnv, stockConservedAfterAll } from './helpers.ts';
import { codes, freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';

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

/** A subscriber opened on a plan through OPEN_ACCOUNT. */
async function openOnPlan(planCode: string, network: 'gsm2g' | 'wcdma3g'): Promise<number> {
  const c = await newCustomer(env.ctx);
  const w = await walkOrder(api, {
    businessType: 'OPEN_ACCOUNT',
    customerId: c.customerId,
    documents: OWNER_DOCS,
    newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
    members: [{ role: 'main', network, serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx), planCode }],
  });
  expect(w.submitted?.status, JSON.stringify(w.checked.checks)).toBe('completed');
  return w.submitted.result.subscribers.main as number;
}

const changePlan = (subscriberId: number, planCode: string, effective: 'now' | 'next_cycle' = 'now') => ({ businessType: 'CHANGE_PLAN', subscriberId, planCode, effective });

/** The subscriber's plan rows (kind plan), oldest first. */
async function plans(subscriberId: number) {
  const rows = await env.ctx.database.db
    .selectFrom('subscriber_offers')
    .select(['offer_code', 'started_at', 'ended_at', 'minimum_spend_fen', 'term_ends_at', 'order_id'])
    .where('subscriber_id', '=', subscriberId)
    .where('kind', '=', 'plan')
    .orderBy('subscriber_offer_id')
    .execute();
  return rows.map((r) => ({
    plan: r.offer_code,
    from: r.started_at.toISOString(),
    to: r.ended_at?.toISOString() ?? null,
    minimumSpendFen: Number(r.minimum_spend_fen),
    termEndsAt: r.term_ends_at?.toISOString() ?? null,
  }));
}

/** A refused order stays a draft and cannot be submitted. */
async function expectRefused(order: { orderId: number; status: string }) {
  expect(order.status).toBe('draft');
  const submit = await api.call('POST', `/api/v1/orders/${order.orderId}/submit`, { as: 'front_desk', body: {} });
  expect(submit.status).toBe(409);
}

describe('change plan', () => {
  test('R-ORD-11 a plan change now ends the old plan and starts the new one at once', async () => {
    const sub = await openOnPlan('G2-18', 'gsm2g');
    const now = env.clock.now().toISOString();
    const w = await walkOrder(api, changePlan(sub, 'SHARED-MIN'));
    expect(codes(w.checked)).toEqual([]);
    expect(w.checked.changes.map((c: { label: { zh: string } }) => c.label.zh)).toEqual(expect.arrayContaining(['原套餐', '新套餐', '生效时间']));
    expect(w.quoted.payableFen).toBe(0);
    expect(w.submitted.status).toBe('completed');
    expect(w.submitted.result).toMatchObject({ from: 'G2-18', to: 'SHARED-MIN', effective: 'now', effectiveAt: now });
    expect(await plans(sub)).toEqual([
      expect.objectContaining({ plan: 'G2-18', to: now }),
      expect.objectContaining({ plan: 'SHARED-MIN', from: now, to: null }),
    ]);
    // completed at once: nothing stays held
    const holds = await env.ctx.database.db.selectFrom('order_holds').selectAll().where('subject', '=', `subscriber:${sub}`).execute();
    expect(holds).toEqual([]);
  });

  test('R-ORD-11 expired, unknown, other-network and non-plan offers and the current plan are refused, changing nothing', async () => {
    const sub = await openOnPlan('G2-18', 'gsm2g');
    const before = await plans(sub);
    const cases: [string, string[]][] = [
      ['SUIYIDA-OLD', ['OFFER_NOT_ONLINE']], // §8.4: expired offers stay queryable but are not sold
      ['W3-46', ['OFFER_NETWORK_MISMATCH']],
      ['e9-C', ['NOT_A_PLAN']],
      ['NO-SUCH-PLAN', ['OFFER_NOT_FOUND']],
      ['G2-18', ['SAME_PLAN']],
    ];
    for (const [plan, want] of cases) {
      const w = await walkOrder(api, changePlan(sub, plan));
      expect(codes(w.checked), plan).toEqual(want);
      await expectRefused(w.checked);
    }
    expect(await plans(sub)).toEqual(before);
  });

  test('R-ORD-11 a package (e9) member cannot change its plan alone', async () => {
    const c = await newCustomer(env.ctx, { segment: 'family' });
    const w = await walkOrder(api, {
      businessType: 'OPEN_ACCOUNT',
      customerId: c.customerId,
      documents: OWNER_DOCS,
      packageCode: 'e9-C',
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      members: [
        { role: 'mobile', network: 'wcdma3g', serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx) },
        { role: 'broadband', network: 'broadband', serviceNumber: `tjplan${c.customerId}`, standardAddress: '天津市河西区友谊路 10 号', installAddress: '友谊路 10 号 1-1-101', bandwidthMbps: 4 },
      ],
    });
    expect(w.submitted.status).toBe('submitted');
    const mobile = w.submitted.result.subscribers.mobile as number;
    const r = await walkOrder(api, changePlan(mobile, 'W3-46'));
    expect(codes(r.checked)).toEqual(['PLAN_IN_PACKAGE']);
    await expectRefused(r.checked);
  });

  test('R-BND-16 no switch between the shared-minutes plan and mobile+fixed 1+1, in either direction', async () => {
    const shared = await openOnPlan('SHARED-MIN', 'gsm2g');
    const oneplus = await openOnPlan('MF-1PLUS1', 'gsm2g');
    const a = await walkOrder(api, changePlan(shared, 'MF-1PLUS1'));
    expect(codes(a.checked)).toEqual(['PLAN_SWITCH_FORBIDDEN']);
    const b = await walkOrder(api, changePlan(oneplus, 'SHARED-MIN', 'next_cycle'));
    expect(codes(b.checked)).toEqual(['PLAN_SWITCH_FORBIDDEN']);
    await expectRefused(a.checked);
    await expectRefused(b.checked);
    expect((await plans(shared)).map((p) => [p.plan, p.to])).toEqual([['SHARED-MIN', null]]);
    expect((await plans(oneplus)).map((p) => [p.plan, p.to])).toEqual([['MF-1PLUS1', null]]);
    // both may still move to an unrelated plan
    expect(codes((await walkOrder(api, changePlan(shared, 'G2-18'), { stopAfter: 'check' })).checked)).toEqual([]);
  });

  test('R-BND-17 only a subscriber on the old Suiyida plan may change to the new Suiyida 1+1', async () => {
    const g2 = await openOnPlan('G2-18', 'gsm2g');
    const refused = await walkOrder(api, changePlan(g2, 'SUIYIDA-1PLUS1'));
    expect(codes(refused.checked)).toEqual(['PLAN_PREDECESSOR_REQUIRED']);
    await expectRefused(refused.checked);
    expect((await plans(g2)).map((p) => p.plan)).toEqual(['G2-18']);

    // SUIYIDA-OLD is expired (§8.4), so OPEN_ACCOUNT cannot sell it any more: a subscriber who took it
    // while it was on sale is seeded here with the account and catalog services directly.
    const c = await newCustomer(env.ctx);
    const acc = await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: 'virtual', paymentMethod: 'cash' });
    const old = await env.ctx.accounts.createSubscriber(system, { customerId: c.customerId, accountId: acc.accountId, serviceNumber: await freeNumber(env.ctx), network: 'gsm2g' });
    const offer = await env.ctx.catalog.offer('SUIYIDA-OLD');
    if (!offer) throw new Error('demo catalog without SUIYIDA-OLD');
    await env.ctx.catalog.subscribe(env.ctx.database.db, system, [{ subscriberId: old.subscriberId, offer, orderId: null, startsAt: new Date('2015-06-01T00:00:00+08:00') }]);

    const w = await walkOrder(api, changePlan(old.subscriberId, 'SUIYIDA-1PLUS1'));
    expect(codes(w.checked)).toEqual([]);
    expect(w.submitted.status).toBe('completed');
    expect((await plans(old.subscriberId)).map((p) => [p.plan, p.to === null])).toEqual([
      ['SUIYIDA-OLD', false],
      ['SUIYIDA-1PLUS1', true],
    ]);
    // the brand follows a plan changed at once
    const row = await env.ctx.database.db.selectFrom('subscribers').select('brand_code').where('subscriber_id', '=', old.subscriberId).executeTakeFirstOrThrow();
    expect(row.brand_code).toBe('RURAL');
  });

  test('R-ORD-5 a next-cycle plan change is a reservation that holds the subscriber’s plan until it takes effect', async () => {
    const sub = await openOnPlan('G2-18', 'gsm2g');
    const nextCycle = cycleStart(addCycles(cycleOf(env.clock.now()), 1));
    const w = await walkOrder(api, changePlan(sub, 'SHARED-MIN', 'next_cycle'));
    expect(codes(w.checked)).toEqual([]);
    expect(w.checked.notices[0].zh).toContain('预约');
    expect(w.submitted.status).toBe('completed');
    expect(w.submitted.result.effectiveAt).toBe(nextCycle.toISOString());
    // 预约单: the old plan runs to the end of this cycle, the new one starts on the 1st
    expect(await plans(sub)).toEqual([
      expect.objectContaining({ plan: 'G2-18', to: nextCycle.toISOString() }),
      expect.objectContaining({ plan: 'SHARED-MIN', from: nextCycle.toISOString(), to: null }),
    ]);
    // the hold on the subscriber's plan outlives the completed order; the subscriber itself is free
    const holds = await env.ctx.database.db.selectFrom('order_holds').selectAll().where('subject', 'in', [`subscriber:${sub}`, `plan:${sub}`]).execute();
    expect(holds.map((h) => [h.subject, h.kind, Number(h.order_id), h.held_until?.toISOString()])).toEqual([[`plan:${sub}`, 'reservation', w.created.orderId, nextCycle.toISOString()]]);

    // a conflicting order for the same subscriber fails its check with the reservation named
    const second = await walkOrder(api, changePlan(sub, 'MF-1PLUS1'));
    expect(codes(second.checked)).toEqual(['RESERVATION_CONFLICT']);
    expect(second.checked.checks.failures[0].details.orderId).toBe(w.created.orderId);
    await expectRefused(second.checked);
    expect((await plans(sub)).map((p) => p.plan)).toEqual(['G2-18', 'SHARED-MIN']);
    // an order that does not touch the plan is not held up by the reservation
    const owner = await env.ctx.database.db.selectFrom('subscribers').select('customer_id').where('subscriber_id', '=', sub).executeTakeFirstOrThrow();
    const ld = await walkOrder(api, { businessType: 'LONG_DISTANCE_LEVEL', customerId: Number(owner.customer_id), subscriberId: sub, documents: OWNER_DOCS, level: 'local' }, { stopAfter: 'check' });
    expect(codes(ld.checked)).toEqual([]);

    // once the new plan is in force the reservation is over: another change is accepted again
    // (now from SHARED-MIN, so MF-1PLUS1 would be R-BND-16's refusal; back to G2-18 instead)
    env.clock.set(new Date(nextCycle.getTime() + 3600_000));
    const again = await walkOrder(api, changePlan(sub, 'G2-18'));
    expect(codes(again.checked)).toEqual([]);
    expect(again.checked.changes.find((c: { label: { zh: string } }) => c.label.zh === '原套餐').value).toContain('共享时长');
    expect(again.submitted.status).toBe('completed');
    expect((await plans(sub)).map((p) => [p.plan, p.to === null])).toEqual([
      ['G2-18', false],
      ['SHARED-MIN', false],
      ['G2-18', true],
    ]);
  });

  test('R-X-14 a minimum-spend term blocks cheaper plans until it ends, and follows the subscriber to an equal or higher plan', async () => {
    // a 3G plan priced at the contract's floor, without a contract of its own (test-only offer)
    await env.ctx.catalog.importCatalog({
      brands: [],
      fees: [],
      offers: [
        {
          code: 'W3-96',
          kind: 'plan',
          zh: '3G 96 元套餐',
          en: '3G plan 96',
          brand: 'TIANYI',
          network: 'wcdma3g',
          validFrom: '2020-01-01',
          charges: [{ kind: 'recurring', item: 'RENT_PLAN', amountFen: 9600 }],
        },
      ],
    });
    const sub = await openOnPlan('W3-96-C24', 'wcdma3g');
    const [contract] = await plans(sub);
    expect(contract?.minimumSpendFen).toBe(9600);
    const termEndsAt = new Date(contract?.termEndsAt ?? '');

    const cheaper = await walkOrder(api, changePlan(sub, 'W3-46'));
    expect(codes(cheaper.checked)).toEqual(['MINIMUM_SPEND_TERM']);
    await expectRefused(cheaper.checked);
    // the same plan is refused only as the same plan, not for the minimum spend
    expect(codes((await walkOrder(api, changePlan(sub, 'W3-96-C24'))).checked)).toEqual(['SAME_PLAN']);

    // equal to the floor: allowed; the agreement goes along with the subscriber
    const up = await walkOrder(api, changePlan(sub, 'W3-96'));
    expect(codes(up.checked)).toEqual([]);
    expect(up.submitted.status).toBe('completed');
    expect(up.submitted.result).toMatchObject({ minimumSpendFen: 9600, termEndsAt: termEndsAt.toISOString() });
    const down = await walkOrder(api, changePlan(sub, 'W3-46'));
    expect(codes(down.checked)).toEqual(['MINIMUM_SPEND_TERM']);
    expect((await plans(sub)).map((p) => p.plan)).toEqual(['W3-96-C24', 'W3-96']);

    // after the term the cheaper plan is allowed
    env.clock.set(new Date(termEndsAt.getTime() + 86_400_000));
    const after = await walkOrder(api, changePlan(sub, 'W3-46'));
    expect(codes(after.checked)).toEqual([]);
    expect(after.submitted.status).toBe('completed');
    expect((await plans(sub)).map((p) => [p.plan, p.to === null])).toEqual([
      ['W3-96-C24', false],
      ['W3-96', false],
      ['W3-46', true],
    ]);
  });
});

stockConservedAfterAll(() => env);
