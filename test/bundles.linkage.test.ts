// Bundle linkage replayed with the simulated clock across month boundaries (SPEC §8.1, seed 000 1.3):
// the credit engine's next_cycle_if_funded linkage stops the broadband on the 1st after its mobile's
// arrears and resumes it with the mobile (R-BND-10, R-BND-13); a broadband in arrears stops alone and
// its bundle misses the month's grant until the day after it resumes (R-BND-12, R-BND-8); the cascade
// skips members already bundle-stopped or pre-cancelled (R-X-3). Bundles are bound through the real
// BUNDLE_BIND order; time moves with ctx.clockService.travel, which runs every scheduled job in order.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import type { SimulatedNetwork } from '../src/platform/provisioning.ts';
import { boundCustomer } from './bundle-helpers.ts';
import { type Api, system, type TestEnv, testApi, testEnv } from './helpers.ts';
import { setupOrders } from './order-helpers.ts';

let env: TestEnv;
let api: Api;
const db = () => env.ctx.database.db;
const at = (s: string) => new Date(`${s}+08:00`);
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  await setupOrders(env.ctx);
}, 240_000);
afterAll(async () => {
  await api?.app.close();
  await env?.close();
});

let keySeq = 0;
const travel = (to: Date) => env.ctx.clockService.travel(system, { to: to.toISOString() }, env.ctx.jobs);
const sub = (id: number) => db().selectFrom('subscribers').select(['status', 'stop_reasons', 'lifecycle']).where('subscriber_id', '=', id).executeTakeFirstOrThrow();
const creditState = (id: number) => db().selectFrom('credit_states').selectAll().where('subscriber_id', '=', id).executeTakeFirst();
const grantRow = (packageId: number, cycle: string) => db().selectFrom('bundle_grants').selectAll().where('package_id', '=', packageId).where('cycle', '=', cycle).executeTakeFirst();
const net = () => env.ctx.network as SimulatedNetwork;
/** Stop/resume commands of one line (mobile and broadband share their number, R-BND-2: told apart by subscriber). */
const stateCommands = (line: { serviceNumber: string; subscriberId: number }) =>
  net()
    .commandsFor(line.serviceNumber)
    .filter((c) => c.command.subscriberId === line.subscriberId && (c.command.command === 'stop' || c.command.command === 'resume'))
    .map((c) => ({ cmd: c.command.command === 'stop' ? `stop:${c.command.mode}` : 'resume', at: c.at }));
async function smsTo(subscriberId: number, template: string) {
  const rows = await db().selectFrom('outbox').select(['payload']).where('event_type', '=', 'notification.sms').orderBy('event_id').execute();
  return rows.map((r) => r.payload as { templateCode: string; text: string; subscriberId: number }).filter((p) => p.subscriberId === subscriberId && p.templateCode === template);
}
async function pay(accountId: number, amountFen: number) {
  await env.ctx.money.pay(system, accountId, { amountFen, bookType: 'cash', channel: 'counter', idempotencyKey: `link-${++keySeq}` });
}
async function bill(accountId: number, subscriberId: number, amountFen: number, cycle: string) {
  await env.ctx.money.postBill(system, accountId, { cycle, lines: [{ subscriberId, item: 'RENT_PLAN', amountFen }] });
}

describe('bundle linkage across months', () => {
  let a: Awaited<ReturnType<typeof boundCustomer>>;
  let b: Awaited<ReturnType<typeof boundCustomer>>;
  let c: Awaited<ReturnType<typeof boundCustomer>>;
  beforeAll(async () => {
    // bound on 15 November 2026 (T0): (a) a 2G bundle, (b) a 3G bundle (the broadband on its own account),
    // (c) a 2G+宽带+固话 bundle whose fixed line will be pre-cancelled
    a = await boundCustomer(env, api, { billingType: 'monthly', mobilePrestoreFen: 1000 });
    b = await boundCustomer(env, api, { generation: '3G', billingType: 'monthly', offerCode: 'BND-3G-BB' });
    c = await boundCustomer(env, api, { billingType: 'monthly', mobilePrestoreFen: 1000, extra: 'fixed', offerCode: 'BND-2G-BB-FIX' });
  }, 240_000);

  test('R-BND-10 R-BND-13 the mobile in arrears in November: the broadband is told the real stop date, stopped (bundle_stop) on 1 December, and resumes the minute the mobile pays on 10 December', async () => {
    const bb = a.broadband.subscriberId;
    await bill(a.accountId, a.mobile.subscriberId, 5000, '2026-11');
    // the daily credit-control run of the 15th judges the account
    await travel(at('2026-11-16T08:00:00'));
    expect((await sub(a.mobile.subscriberId)).status).toBe('arrears_stop');
    expect((await sub(bb)).status).toBe('normal');
    // it is the credit engine's linkage: linked_pending to the mobile, by the package's next_cycle_if_funded rule
    const pending = await creditState(bb);
    expect(pending).toMatchObject({ state: 'linked_pending', linked_to: a.mobile.subscriberId, rule: 'R-BND-10 next_cycle_if_funded linkage' });
    expect(pending?.linked_stop_at?.toISOString()).toBe(at('2026-12-01T00:00:00').toISOString());
    const pkg = await db().selectFrom('packages').select(['linkage', 'offer_code']).where('package_id', '=', a.packageId).executeTakeFirstOrThrow();
    expect(pkg).toEqual({ linkage: 'next_cycle_if_funded', offer_code: 'BND-2G-BB' });
    const notices = await smsTo(bb, 'BUNDLE_MOBILE_ARREARS');
    expect(notices.map((n) => n.text)).toEqual(['您的手机已经欠费，若未及时缴费，您的宽带将于12月1日停机，为方便您的使用，请尽快缴纳手机欠费！详询10010。']);
    // 1 December: credit-linked-stops at 00:05 stops the broadband; the grant job at 06:00 skips the bundle
    await travel(at('2026-12-01T08:00:00'));
    expect(await sub(bb)).toMatchObject({ status: 'bundle_stop', stop_reasons: ['bundle'] });
    expect(await creditState(bb)).toMatchObject({ state: 'linked_stopped', linked_to: a.mobile.subscriberId, rule: 'R-BND-10 linked stop at the start of the month' });
    expect(stateCommands(a.broadband).map((x) => x.cmd)).toEqual(['stop:two_way']);
    expect(await grantRow(a.packageId, '2026-12')).toMatchObject({ status: 'skipped', reason: 'mobile_not_normal' });
    // 10 December 10:00: the mobile pays; both resume at once, in the same minute
    await travel(at('2026-12-10T10:00:00'));
    await pay(a.accountId, 5000);
    expect((await sub(a.mobile.subscriberId)).status).toBe('normal');
    expect(await sub(bb)).toMatchObject({ status: 'normal', stop_reasons: [] });
    expect(await creditState(bb)).toMatchObject({ state: 'ok', linked_to: null, rule: 'R-CC-2 linked member resumed' });
    const resumes = [...stateCommands(a.mobile), ...stateCommands(a.broadband)].filter((x) => x.cmd === 'resume');
    expect(resumes).toHaveLength(2);
    expect(new Set(resumes.map((r) => r.at.slice(0, 16)))).toEqual(new Set(['2026-12-10T02:00']));
    // the mobile was not normal on the 1st: no catch-up for that (R-BND-8 is about the broadband)
    await travel(at('2026-12-11T08:00:00'));
    expect(await grantRow(a.packageId, '2026-12')).toMatchObject({ status: 'skipped', reason: 'mobile_not_normal' });
  });

  test('R-BND-12 the broadband in arrears on 20 December stops alone; the mobile keeps working and gets no January grant on 1 January', async () => {
    await travel(at('2026-12-20T10:00:00'));
    await bill(b.broadband.accountId, b.broadband.subscriberId, 8000, '2026-12');
    await env.ctx.credit.evaluateAccounts([b.broadband.accountId]);
    expect((await sub(b.broadband.subscriberId)).status).toBe('arrears_stop');
    expect((await sub(b.mobile.subscriberId)).status).toBe('normal');
    expect(stateCommands(b.mobile)).toEqual([]);
    await travel(at('2027-01-01T08:00:00'));
    expect((await sub(b.mobile.subscriberId)).status).toBe('normal');
    expect(await grantRow(b.packageId, '2027-01')).toMatchObject({ status: 'skipped', reason: 'broadband_arrears', pack_ids: [] });
    // the December grant was given (bound in November, everything in order on 1 December)
    expect(await grantRow(b.packageId, '2026-12')).toMatchObject({ status: 'granted', caught_up: false });
  });

  test('R-BND-8 the broadband pays on 5 January after the morning job: the January grant comes with 6 January’s catch-up', async () => {
    await travel(at('2027-01-05T09:00:00'));
    expect(await grantRow(b.packageId, '2027-01')).toMatchObject({ status: 'skipped' });
    await pay(b.broadband.accountId, 8000);
    expect((await sub(b.broadband.subscriberId)).status).toBe('normal');
    await travel(at('2027-01-05T23:00:00'));
    expect(await grantRow(b.packageId, '2027-01')).toMatchObject({ status: 'skipped' });
    await travel(at('2027-01-06T08:00:00'));
    const row = await grantRow(b.packageId, '2027-01');
    expect(row).toMatchObject({ status: 'granted', reason: null, caught_up: true });
    expect(row?.granted_at?.toISOString()).toBe(at('2027-01-06T06:30:00').toISOString());
    expect(row?.pack_ids).toHaveLength(1);
    const pack = await db().selectFrom('subscriber_offers').select(['subscriber_id', 'kind', 'started_at', 'ended_at']).where('subscriber_offer_id', '=', Number(row?.pack_ids[0])).executeTakeFirstOrThrow();
    expect(pack).toMatchObject({ subscriber_id: b.mobile.subscriberId, kind: 'pack' });
    expect(pack.ended_at?.toISOString()).toBe(at('2027-02-01T00:00:00').toISOString());
  });

  test('R-X-3 the cascade skips a member already bundle-stopped and one with a pending cancellation', async () => {
    const fixed = c.fixed!;
    await db().transaction().execute((tx) => env.ctx.accounts.changeLifecycle(tx, system, fixed.subscriberId, 'pre_cancelled', { orderId: null }));
    await bill(c.accountId, c.mobile.subscriberId, 5000, '2026-12');
    await travel(at('2027-01-07T08:00:00'));
    expect((await sub(c.mobile.subscriberId)).status).toBe('arrears_stop');
    expect(await creditState(c.broadband.subscriberId)).toMatchObject({ state: 'linked_pending', linked_to: c.mobile.subscriberId });
    // the pre-cancelled fixed line: no credit state, no SMS, no command
    expect(await creditState(fixed.subscriberId)).toBeUndefined();
    expect(await smsTo(fixed.subscriberId, 'BUNDLE_MOBILE_ARREARS')).toEqual([]);
    expect(stateCommands(fixed)).toEqual([]);
    expect(await sub(fixed.subscriberId)).toMatchObject({ lifecycle: 'pre_cancelled', stop_reasons: [] });
    // 1 February: the broadband is bundle-stopped; later runs of credit control leave it as it is (one SMS, one stop)
    await travel(at('2027-02-03T08:00:00'));
    expect((await sub(c.broadband.subscriberId)).status).toBe('bundle_stop');
    await env.ctx.credit.evaluateAccounts([c.accountId]);
    expect(stateCommands(c.broadband).map((x) => x.cmd)).toEqual(['stop:two_way']);
    expect(await smsTo(c.broadband.subscriberId, 'BUNDLE_MOBILE_ARREARS')).toHaveLength(1);
    expect(await grantRow(c.packageId, '2027-02')).toMatchObject({ status: 'skipped', reason: 'mobile_not_normal' });
  });

  test('R-ACC-18 conservation after the months replayed', async () => {
    const r = await checkConservation(db());
    expect(r.differing).toEqual([]);
  });
});
