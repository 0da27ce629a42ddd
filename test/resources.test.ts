// Numbers and SIM cards through the API and the service the order engine calls (R-X-10, R-RES-4).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasValidLuhn } from '../src/domains/resources/rules.ts';
import { RELEASE_JOB } from '../src/domains/resources/service.ts';
import { type Api, actorOf, customerWithAccount, onPostgres, system, T0, TEST_PASSWORD, testApi, testEnv, type TestEnv, stockConservedAfterAll } from './helpers.ts';

let env: TestEnv;
let api: Api;
const P = '/api/v1';
const HOUR = 3600_000;

/** Free numbers of a level from the demo stock, handed out once each so tests do not share numbers. */
const pools = new Map<string, string[]>();
function take(level: string): string {
  const n = pools.get(level)?.shift();
  if (!n) throw new Error(`no free ${level} number left for the tests`);
  return n;
}

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  const db = env.ctx.database.db;
  await db.insertInto('departments').values({ department_id: 'CH1', parent_id: 'B1', name: '友谊路手机卖场（社会渠道）', kind: 'channel' }).execute();
  await env.ctx.operators.create(system, { username: 'agent1', name: 'agent1', departmentId: 'CH1', roles: ['front_desk'], password: TEST_PASSWORD });
  await env.ctx.resources.loadDemoStock(db, ['B1', 'H1']);
  for (const level of ['ordinary', 'luxury_a', 'luxury_b', 'luxury_c']) {
    const r = await env.ctx.resources.searchNumbers({ level, state: 'free', limit: 500 });
    // keep the numbers the paired finished cards carry out of the general pools
    const paired = new Set((await env.ctx.resources.searchSims({ limit: 500 })).items.map((s) => s.serviceNumber).filter(Boolean));
    pools.set(
      level,
      r.items.map((i) => i.serviceNumber).filter((n) => !paired.has(n)),
    );
  }
});
afterAll(() => env.close());

const db = () => env.ctx.database.db;
const runJob = () => api.call('POST', `${P}/admin/jobs/${RELEASE_JOB}/run`);
const numberRow = (n: string) => db().selectFrom('numbers').selectAll().where('service_number', '=', n).executeTakeFirstOrThrow();
const auditOf = (n: string) => db().selectFrom('audit_log').select(['action', 'operator_id', 'before', 'after']).where('target_type', '=', 'number').where('target_id', '=', n).orderBy('audit_id').execute();
const eventsOf = (n: string) => db().selectFrom('outbox').select(['event_type', 'payload']).where('aggregate_type', '=', 'number').where('aggregate_id', '=', n).orderBy('event_id').execute();

let subscriberSeq = 0;
/** A customer with `count` subscribers (outside the demo pool's numbers), for the order-side calls. */
async function subscribers(count: number) {
  const { customer, account } = await customerWithAccount(env.ctx, 'monthly', 900 + count);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const serviceNumber = `1560000${String(++subscriberSeq).padStart(4, '0')}`;
    const s = await env.ctx.accounts.createSubscriber(system, { customerId: customer.customerId, accountId: account.accountId, serviceNumber, network: 'wcdma3g' });
    ids.push(s.subscriberId);
  }
  return { customerId: customer.customerId, subscriberIds: ids };
}

describe('R-X-10 number pool and demo stock', () => {
  test('R-X-10 demo stock: 200 numbers whose levels the pattern data derives, 200 finished cards with Luhn ICCIDs and 46001/46003 IMSIs', async () => {
    const byLevel = await db().selectFrom('numbers').select(['level_code', sql<number>`count(*)::int`.as('n')]).groupBy('level_code').execute();
    const counts = Object.fromEntries(byLevel.map((r) => [r.level_code, r.n]));
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(200);
    for (const code of ['luxury_a', 'luxury_b', 'luxury_c', 'ordinary']) expect(counts[code], code).toBeGreaterThan(0);
    expect((await numberRow('13902208888')).level_code).toBe('luxury_a');
    expect((await numberRow('13902203344')).level_code).toBe('luxury_b');
    expect((await numberRow('18911000168')).level_code).toBe('luxury_c');

    const sims = await db().selectFrom('sim_cards').selectAll().orderBy('iccid').execute();
    const finished = sims.filter((s) => s.card_type === 'finished');
    expect(finished).toHaveLength(200);
    expect(sims.filter((s) => s.card_type !== 'finished').every((s) => s.imsi === null && s.state === 'in_stock')).toBe(true);
    for (const s of sims) {
      expect(s.iccid).toMatch(/^8986[0-9]{16}$/);
      expect(hasValidLuhn(s.iccid), s.iccid).toBe(true);
    }
    expect(new Set(finished.map((s) => s.imsi?.slice(0, 5)))).toEqual(new Set(['46001', '46003']));
    expect(finished.every((s) => /^[0-9]{15}$/.test(s.imsi ?? ''))).toBe(true);
    // the branch's warehouse (seed 003), and 20 cards paired with ordinary numbers
    expect(sims.find((s) => s.department_id === 'B1')?.warehouse_code).toBe('130041');
    const paired = finished.filter((s) => s.service_number !== null);
    expect(paired).toHaveLength(20);
    for (const s of paired) expect((await numberRow(s.service_number as string)).level_code).toBe('ordinary');
    // loading again changes nothing
    expect(await env.ctx.resources.loadDemoStock(db(), ['B1', 'H1'])).toEqual({ numbers: 0, simCards: 0 });
  });

  test('R-X-10 GET /number-levels lists the levels with patterns, price and approval, most valuable first', async () => {
    const r = await api.call('GET', `${P}/number-levels`, { as: 'front_desk' });
    expect(r.status).toBe(200);
    expect(r.body.items.map((l: { code: string }) => l.code)).toEqual(['luxury_a', 'luxury_b', 'luxury_c', 'ordinary']);
    expect(r.body.items[0]).toMatchObject({ nameZh: '靓号A级', priceFen: 200000, requiresApproval: true, agentAllowed: false });
    expect(r.body.items[0].patterns).toContainEqual({ kind: 'tail_shape', shape: 'AAAA' });
    expect(r.body.items[3]).toMatchObject({ code: 'ordinary', priceFen: 0, requiresApproval: false, agentAllowed: true });
  });

  test('R-X-10 GET /numbers searches by state, level, suffix and prefix and shows level and price', async () => {
    const s888 = await api.call('GET', `${P}/numbers?suffix=888&state=free`, { as: 'front_desk' });
    expect(s888.status).toBe(200);
    expect(s888.body.items.length).toBeGreaterThan(0);
    for (const n of s888.body.items) {
      expect(n.serviceNumber).toMatch(/888$/);
      expect(n.level).toMatchObject({ code: 'luxury_a', priceFen: 200000, requiresApproval: true });
    }
    const a = await api.call('GET', `${P}/numbers?level=luxury_a`, { as: 'front_desk' });
    expect(a.body.items.map((n: { serviceNumber: string }) => n.serviceNumber)).toEqual(expect.arrayContaining(['13902208888', ...s888.body.items.map((n: { serviceNumber: string }) => n.serviceNumber)]));
    expect(a.body.items.every((n: { levelCode: string }) => n.levelCode === 'luxury_a')).toBe(true);

    const first = await api.call('GET', `${P}/numbers?prefix=1891100&limit=30`, { as: 'front_desk' });
    expect(first.body.items).toHaveLength(30);
    expect(first.body.items.every((n: { serviceNumber: string }) => n.serviceNumber.startsWith('1891100'))).toBe(true);
    const second = await api.call('GET', `${P}/numbers?prefix=1891100&limit=30&after=${first.body.next}`, { as: 'front_desk' });
    expect(second.body.items[0].serviceNumber > first.body.next).toBe(true);
    const all = await api.call('GET', `${P}/numbers?prefix=1891100&limit=500`, { as: 'front_desk' });
    expect(all.body.items).toHaveLength(100);
    expect(all.body.next).toBeNull();

    const one = await api.call('GET', `${P}/numbers/13902208888`, { as: 'front_desk' });
    expect(one.body).toMatchObject({ serviceNumber: '13902208888', state: 'free', level: { nameZh: '靓号A级' }, reservation: null });
    const sims = await api.call('GET', `${P}/sim-cards?state=in_stock&cardType=finished&limit=5`, { as: 'front_desk' });
    expect(sims.body.items).toHaveLength(5);
    expect(sims.body.items[0]).toMatchObject({ cardType: 'finished', state: 'in_stock', imsi: expect.stringMatching(/^4600[13]/) });
  });
});

describe('R-X-10 reservations expire and are released by the job', () => {
  test('R-X-10 an online reservation holds the number 72 h; after that the release job frees it (simulated clock)', async () => {
    const n = take('ordinary');
    const { customerId } = await subscribers(0);
    const r = await api.call('POST', `${P}/numbers/${n}/reservations`, { as: 'front_desk', body: { kind: 'online', customerId } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ state: 'reserved', reservation: { kind: 'online', customerId, reservedUntil: new Date(T0.getTime() + 72 * HOUR).toISOString() } });
    try {
      env.clock.set(new Date(T0.getTime() + 72 * HOUR - 1000), true);
      const early = await runJob();
      expect(early.body.result.reservationsExpired).toBe(0);
      expect((await numberRow(n)).state).toBe('reserved');

      env.clock.set(new Date(T0.getTime() + 72 * HOUR), true);
      const due = await runJob();
      expect(due.status).toBe(200);
      expect(due.body.result.reservationsExpired).toBe(1);
      const row = await numberRow(n);
      expect(row).toMatchObject({ state: 'free', reservation_kind: null, reserved_customer_id: null, reserved_until: null });
      expect(row.state_changed_at).toEqual(new Date(T0.getTime() + 72 * HOUR));
      expect((await auditOf(n)).map((a) => a.action)).toEqual(['number.reserve', 'number.reservation.expire']);
      expect((await eventsOf(n)).map((e) => e.event_type)).toEqual(['number.reserved', 'number.reservation_expired']);
      expect((await eventsOf(n))[1]?.payload).toMatchObject({ serviceNumber: n, state: 'free', before: { state: 'reserved', reservationKind: 'online', reservedCustomerId: customerId } });
      // running it again finds nothing (idempotent)
      expect((await runJob()).body.result).toEqual({ reservationsExpired: 0, recycled: 0, released: 0 });
    } finally {
      env.clock.set(T0, true);
    }
  });

  test('R-X-10 a card-writing reservation holds the number 12 h', async () => {
    const n = take('ordinary');
    const r = await api.call('POST', `${P}/numbers/${n}/reservations`, { as: 'front_desk', body: { kind: 'card_writing' } });
    expect(r.status).toBe(201);
    expect(r.body.reservation).toMatchObject({ kind: 'card_writing', reservedUntil: new Date(T0.getTime() + 12 * HOUR).toISOString() });
    try {
      env.clock.set(new Date(T0.getTime() + 12 * HOUR), true);
      expect((await env.ctx.jobs.runNow(RELEASE_JOB)).result).toMatchObject({ reservationsExpired: 1 });
      expect((await numberRow(n)).state).toBe('free');
    } finally {
      env.clock.set(T0, true);
    }
  });

  test('R-X-10 a live reservation is neither taken over nor renewed; only its holder or resource.manage gives it back', async () => {
    const n = take('ordinary');
    expect((await api.call('POST', `${P}/numbers/${n}/reservations`, { as: 'front_desk' })).status).toBe(201);
    const other = await api.call('POST', `${P}/numbers/${n}/reservations`, { as: 'hall2' });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ code: 'NUMBER_RESERVED', details: { failures: [expect.objectContaining({ code: 'NUMBER_RESERVED' })] } });
    expect((await api.call('POST', `${P}/numbers/${n}/reservations`, { as: 'front_desk' })).body.code).toBe('NUMBER_RESERVED');
    const notYours = await api.call('DELETE', `${P}/numbers/${n}/reservations`, { as: 'hall2' });
    expect(notYours.status).toBe(403);
    expect(notYours.body.code).toBe('RESERVATION_NOT_YOURS');
    const back = await api.call('DELETE', `${P}/numbers/${n}/reservations`, { as: 'front_desk' });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ serviceNumber: n, state: 'free', reservation: null });
    expect((await api.call('DELETE', `${P}/numbers/${n}/reservations`, { as: 'front_desk' })).body.code).toBe('NUMBER_NOT_RESERVED');
    // an admin (resource.manage through *) may release anyone's
    expect((await api.call('POST', `${P}/numbers/${n}/reservations`, { as: 'hall2' })).status).toBe(201);
    expect((await api.call('DELETE', `${P}/numbers/${n}/reservations`)).status).toBe(200);
    expect((await auditOf(n)).map((a) => a.action)).toEqual(['number.reserve', 'number.reservation.release', 'number.reserve', 'number.reservation.release']);
  });

  test('R-X-10 agent channels cannot reserve 靓号; ordinary numbers they can', async () => {
    const lux = take('luxury_c');
    const r = await api.call('POST', `${P}/numbers/${lux}/reservations`, { as: 'agent1' });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('NUMBER_LEVEL_AGENT_FORBIDDEN');
    expect((await numberRow(lux)).state).toBe('free');
    expect((await api.call('POST', `${P}/numbers/${take('ordinary')}/reservations`, { as: 'agent1' })).status).toBe(201);
    // the hall may hold the same 靓号
    expect((await api.call('POST', `${P}/numbers/${lux}/reservations`, { as: 'front_desk' })).status).toBe(201);
  });
});

describe('R-X-10 what the order engine calls inside its transaction', () => {
  test(`R-X-10 of 20 concurrent takes of one number in separate transactions exactly one wins (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, async () => {
    const n = take('ordinary');
    const { subscriberIds } = await subscribers(20);
    const results = await Promise.allSettled(
      subscriberIds.map((subscriberId, i) => db().transaction().execute((tx) => env.ctx.resources.takeNumber(tx, n, { orderId: 5000 + i, subscriberId }))),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const l of lost) expect(l.reason).toMatchObject({ code: 'NUMBER_TAKEN', status: 409 });
    const row = await numberRow(n);
    expect(row.state).toBe('in_use');
    expect(row.subscriber_id).toBe((won[0] as PromiseFulfilledResult<{ subscriberId: number }>).value.subscriberId);
    expect((await auditOf(n)).map((a) => a.action)).toEqual(['number.take']);
    expect((await eventsOf(n)).map((e) => e.event_type)).toEqual(['number.taken']);
  });

  test('R-X-10 a 靓号 needs approval and is closed to agents; with an approver the hall takes it', async () => {
    const n = take('luxury_a');
    const problems = (ctx: Parameters<typeof env.ctx.resources.numberProblems>[2]) => env.ctx.resources.numberProblems(db(), n, ctx).then((fs) => fs.map((f) => f.code));
    expect(await problems({ channel: 'hall' })).toEqual(['NUMBER_NEEDS_APPROVAL']);
    expect(await problems({ channel: 'agent', approvedBy: 'manager01' })).toEqual(['NUMBER_LEVEL_AGENT_FORBIDDEN']);
    expect(await problems({ channel: 'hall', approvedBy: 'manager01' })).toEqual([]);
    const fs = await env.ctx.resources.numberProblems(db(), n, { channel: 'hall' });
    expect(fs[0]).toMatchObject({ message: { zh: expect.stringContaining('靓号A级') }, fix: { zh: expect.any(String), en: expect.any(String) } });
    // a level may also require a campaign (data, not code)
    await db().updateTable('number_levels').set({ requires_campaign: true }).where('code', '=', 'luxury_a').execute();
    try {
      expect(await problems({ channel: 'hall', approvedBy: 'manager01' })).toEqual(['NUMBER_NEEDS_CAMPAIGN']);
      expect(await problems({ channel: 'hall', approvedBy: 'manager01', campaignCode: 'PRESTORE-300' })).toEqual([]);
    } finally {
      await db().updateTable('number_levels').set({ requires_campaign: false }).where('code', '=', 'luxury_a').execute();
    }
    const { subscriberIds } = await subscribers(1);
    const actor = await actorOf(env.ctx, 'front_desk');
    await db().transaction().execute((tx) => env.ctx.resources.takeNumber(tx, n, { subscriberId: subscriberIds[0] as number, orderId: 77, actor }));
    const [a] = await auditOf(n);
    expect(a).toMatchObject({ action: 'number.take', operator_id: actor.operatorId, before: { state: 'free' }, after: { state: 'in_use', orderId: 77 } });
  });

  test('R-X-10 a number reserved for an order is that order’s; a rolled-back take leaves the reservation', async () => {
    const n = take('ordinary');
    const actor = await actorOf(env.ctx, 'front_desk');
    const held = await env.ctx.resources.reserveNumber(actor, n, { kind: 'order', orderId: 9001 });
    expect(held.reservation).toMatchObject({ kind: 'order', orderId: 9001, reservedUntil: new Date(T0.getTime() + 24 * HOUR).toISOString() });
    expect((await env.ctx.resources.numberProblems(db(), n, { channel: 'hall', orderId: 9001 })).map((f) => f.code)).toEqual([]);
    expect((await env.ctx.resources.numberProblems(db(), n, { channel: 'hall', orderId: 9002 })).map((f) => f.code)).toEqual(['NUMBER_RESERVED']);
    const { subscriberIds } = await subscribers(1);
    const subscriberId = subscriberIds[0] as number;
    await expect(db().transaction().execute((tx) => env.ctx.resources.takeNumber(tx, n, { orderId: 9002, subscriberId }))).rejects.toMatchObject({ code: 'NUMBER_TAKEN' });
    await expect(
      db()
        .transaction()
        .execute(async (tx) => {
          await env.ctx.resources.takeNumber(tx, n, { orderId: 9001, subscriberId });
          throw new Error('the order failed later');
        }),
    ).rejects.toThrow(/failed later/);
    expect(await numberRow(n)).toMatchObject({ state: 'reserved', reserved_order_id: 9001 });
    await expect(env.ctx.resources.reserveNumber(actor, n, { kind: 'order' })).rejects.toMatchObject({ code: 'ORDER_REQUIRED' });
    const taken = await db().transaction().execute((tx) => env.ctx.resources.takeNumber(tx, n, { orderId: 9001, subscriberId }));
    expect(taken).toMatchObject({ state: 'in_use', subscriberId, reservation: null });
  });

  test('R-X-10 a cancelled number is frozen 90 days, recycled, and back on sale after the recycled hold', async () => {
    const n = take('ordinary');
    const { subscriberIds } = await subscribers(1);
    const subscriberId = subscriberIds[0] as number;
    await db().transaction().execute((tx) => env.ctx.resources.takeNumber(tx, n, { subscriberId }));
    const frozen = await db().transaction().execute((tx) => env.ctx.resources.releaseNumber(tx, n, '销户'));
    expect(frozen).toMatchObject({ state: 'frozen', subscriberId, coolingUntil: new Date(T0.getTime() + 90 * 24 * HOUR).toISOString() });
    expect((await env.ctx.resources.numberProblems(db(), n, { channel: 'hall' })).map((f) => f.code)).toEqual(['NUMBER_FROZEN']);
    await db().updateTable('number_policy').set({ recycled_hold_hours: 48 }).execute();
    try {
      env.clock.set(new Date(T0.getTime() + 90 * 24 * HOUR), true);
      expect((await runJob()).body.result).toMatchObject({ recycled: 1, released: 0 });
      expect(await numberRow(n)).toMatchObject({ state: 'recycled', cooling_until: null });
      expect((await env.ctx.resources.numberProblems(db(), n, { channel: 'hall' })).map((f) => f.code)).toEqual(['NUMBER_RECYCLED']);
      env.clock.set(new Date(T0.getTime() + 92 * 24 * HOUR), true);
      expect((await runJob()).body.result).toMatchObject({ recycled: 0, released: 1 });
      expect(await numberRow(n)).toMatchObject({ state: 'free', subscriber_id: null });
      expect((await auditOf(n)).map((a) => a.action)).toEqual(['number.take', 'number.freeze', 'number.recycle', 'number.release']);
      expect((await eventsOf(n)).map((e) => e.event_type)).toEqual(['number.taken', 'number.frozen', 'number.recycled', 'number.released']);
    } finally {
      await db().updateTable('number_policy').set({ recycled_hold_hours: 0 }).execute();
      env.clock.set(T0, true);
    }
  });

  test('R-X-10 every failure and refusal code of numbers: NOT_FOUND, IN_USE, RESERVED, TAKEN, NOT_IN_USE', async () => {
    const codes = async (n: string, ctx: Parameters<typeof env.ctx.resources.numberProblems>[2] = { channel: 'hall' }) =>
      (await env.ctx.resources.numberProblems(db(), n, ctx)).map((f) => f.code);
    expect(await codes('13900000000')).toEqual(['NUMBER_NOT_FOUND']);
    const used = take('ordinary');
    const { subscriberIds } = await subscribers(1);
    await db().transaction().execute((tx) => env.ctx.resources.takeNumber(tx, used, { subscriberId: subscriberIds[0] as number }));
    expect(await codes(used)).toEqual(['NUMBER_IN_USE']);
    await expect(db().transaction().execute((tx) => env.ctx.resources.takeNumber(tx, used, { subscriberId: subscriberIds[0] as number }))).rejects.toMatchObject({
      code: 'NUMBER_TAKEN',
      status: 409,
    });
    const held = take('ordinary');
    await env.ctx.resources.reserveNumber(await actorOf(env.ctx, 'hall2'), held, { kind: 'online' });
    expect(await codes(held, { channel: 'hall', operatorId: (await actorOf(env.ctx, 'front_desk')).operatorId })).toEqual(['NUMBER_RESERVED']);
    expect(await codes(held, { channel: 'hall', operatorId: (await actorOf(env.ctx, 'hall2')).operatorId })).toEqual([]);
    await expect(db().transaction().execute((tx) => env.ctx.resources.releaseNumber(tx, held, '销户'))).rejects.toMatchObject({ code: 'NUMBER_NOT_IN_USE', status: 409 });
    await expect(db().transaction().execute((tx) => env.ctx.resources.releaseNumber(tx, '13900000000', '销户'))).rejects.toMatchObject({ code: 'NUMBER_NOT_FOUND', status: 404 });
  });

  test('R-RES-4 SIM cards: bind a finished card (IMSI back), every failure code, SIM_TAKEN, retire for replacement', async () => {
    const n = take('ordinary');
    const { subscriberIds } = await subscribers(2);
    const [s1, s2] = subscriberIds as [number, number];
    const free = (await env.ctx.resources.searchSims({ state: 'in_stock', cardType: 'finished', limit: 500 })).items;
    const card = free.find((s) => s.serviceNumber === null) as (typeof free)[number];
    const pairedCard = free.find((s) => s.serviceNumber !== null) as (typeof free)[number];
    const blank = (await env.ctx.resources.searchSims({ cardType: 'blank_128k', limit: 1 })).items[0] as (typeof free)[number];
    const problems = async (iccid: string, serviceNumber = n) => (await env.ctx.resources.simProblems(db(), iccid, { serviceNumber })).map((f) => f.code);

    expect(await problems(card.iccid)).toEqual([]);
    expect(await problems('89860000000000000000')).toEqual(['SIM_NOT_FOUND']);
    expect(await problems(pairedCard.iccid)).toEqual(['SIM_NUMBER_MISMATCH']);
    expect(await problems(pairedCard.iccid, pairedCard.serviceNumber as string)).toEqual([]);
    expect(await problems(blank.iccid)).toEqual(['SIM_NOT_WRITTEN']);
    // the order reads number and card in one round trip: the same problems, level and IMSI as apart
    const together = async (num: string, iccid: string) => {
      const r = env.ctx.resources;
      const both = await r.numberAndSimCheck(db(), { serviceNumber: num, ctx: { channel: 'hall' } }, { iccid, ctx: { serviceNumber: num } });
      expect(both).toEqual({ number: await r.numberCheck(db(), num, { channel: 'hall' }), sim: await r.simCheck(db(), iccid, { serviceNumber: num }) });
      return [...both.number.problems, ...both.sim.problems].map((f) => f.code);
    };
    expect(await together(n, card.iccid)).toEqual([]);
    expect((await env.ctx.resources.numberAndSimCheck(db(), { serviceNumber: n, ctx: { channel: 'hall' } }, { iccid: card.iccid, ctx: { serviceNumber: n } })).sim.imsi).toBe(card.imsi);
    expect(await together(n, blank.iccid)).toEqual(['SIM_NOT_WRITTEN']);
    expect(await together(n, pairedCard.iccid)).toEqual(['SIM_NUMBER_MISMATCH']);
    expect(await together(n, '89860000000000000000')).toEqual(['SIM_NOT_FOUND']);
    expect(await together('13999999990', card.iccid)).toContain('NUMBER_NOT_FOUND');

    const bound = await db()
      .transaction()
      .execute(async (tx) => {
        await env.ctx.resources.takeNumber(tx, n, { subscriberId: s1, orderId: 300 });
        return env.ctx.resources.bindSim(tx, card.iccid, { serviceNumber: n, subscriberId: s1, orderId: 300 });
      });
    expect(bound).toEqual({ iccid: card.iccid, imsi: card.imsi });
    expect(await problems(card.iccid)).toEqual(['SIM_NOT_AVAILABLE']);
    expect(await together(n, card.iccid)).toEqual(expect.arrayContaining(['SIM_NOT_AVAILABLE']));
    await expect(db().transaction().execute((tx) => env.ctx.resources.bindSim(tx, card.iccid, { serviceNumber: n, subscriberId: s2 }))).rejects.toMatchObject({ code: 'SIM_TAKEN', status: 409 });
    await expect(db().transaction().execute((tx) => env.ctx.resources.bindSim(tx, pairedCard.iccid, { serviceNumber: n, subscriberId: s2 }))).rejects.toMatchObject({ code: 'SIM_TAKEN' });
    await expect(db().transaction().execute((tx) => env.ctx.resources.bindSim(tx, blank.iccid, { serviceNumber: n, subscriberId: s2 }))).rejects.toMatchObject({ code: 'SIM_TAKEN' });

    // SIM replacement (补换卡): retire the old card, bind a new one for the same subscriber
    const next = free.find((s) => s.serviceNumber === null && s.iccid !== card.iccid) as (typeof free)[number];
    await db()
      .transaction()
      .execute(async (tx) => {
        await env.ctx.resources.retireSim(tx, card.iccid);
        await env.ctx.resources.bindSim(tx, next.iccid, { serviceNumber: n, subscriberId: s1 });
      });
    const rows = await db().selectFrom('sim_cards').select(['iccid', 'state', 'subscriber_id']).where('iccid', 'in', [card.iccid, next.iccid]).orderBy('iccid').execute();
    expect(Object.fromEntries(rows.map((r) => [r.iccid, r.state]))).toEqual({ [card.iccid]: 'retired', [next.iccid]: 'activated' });
    await expect(db().transaction().execute((tx) => env.ctx.resources.retireSim(tx, card.iccid))).rejects.toMatchObject({ code: 'SIM_NOT_ACTIVE', status: 409 });
    await expect(db().transaction().execute((tx) => env.ctx.resources.retireSim(tx, '89860000000000000000'))).rejects.toMatchObject({ code: 'SIM_NOT_FOUND', status: 404 });
    const events = await db().selectFrom('outbox').select('event_type').where('aggregate_type', '=', 'sim_card').where('aggregate_id', 'in', [card.iccid, next.iccid]).orderBy('event_id').execute();
    expect(events.map((e) => e.event_type)).toEqual(['sim.activated', 'sim.retired', 'sim.activated']);
  });

  test('R-X-15 a gift handset is recorded once by a valid IMEI with its order', async () => {
    const h = await db().transaction().execute((tx) => env.ctx.resources.recordHandset(tx, { imei: '490154203237518', model: 'Huawei Mate 70', priceFen: 399900, orderId: 42, campaignCode: 'PRESTORE-300' }));
    expect(h).toMatchObject({ imei: '490154203237518', orderId: 42, priceFen: 399900 });
    await expect(db().transaction().execute((tx) => env.ctx.resources.recordHandset(tx, { imei: '490154203237518', model: 'x', priceFen: 0 }))).rejects.toMatchObject({ code: 'HANDSET_RECORDED', status: 409 });
    await expect(db().transaction().execute((tx) => env.ctx.resources.recordHandset(tx, { imei: '490154203237519', model: 'x', priceFen: 0 }))).rejects.toMatchObject({ code: 'INVALID_IMEI', status: 422 });
    const audit = await db().selectFrom('audit_log').select('action').where('target_type', '=', 'handset').execute();
    expect(audit.map((a) => a.action)).toEqual(['handset.record']);
  });
});

describe('R-X-10 bad input is a 4xx problem and changes nothing', () => {
  test('R-X-10 bad reservations and searches: 400/401/403/404/409/415/422 problem+json, numbers, audit and outbox unchanged', async () => {
    const free = take('ordinary');
    const used = take('ordinary');
    const { subscriberIds } = await subscribers(1);
    await db().transaction().execute((tx) => env.ctx.resources.takeNumber(tx, used, { subscriberId: subscriberIds[0] as number }));
    const snapshot = async () => ({
      numbers: await db().selectFrom('numbers').select(['service_number', 'state', 'reserved_until', 'subscriber_id']).orderBy('service_number').execute(),
      audit: (await db().selectFrom('audit_log').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n,
      outbox: (await db().selectFrom('outbox').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n,
    });
    // logins are audited: log in first so the snapshot sees only what the bad requests do
    for (const u of ['admin', 'nobody', 'accounting', 'front_desk']) await api.token(u);
    const before = await snapshot();
    const cases: [string, string, { as?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }, number, string][] = [
      ['POST', `${P}/numbers/abc/reservations`, {}, 400, 'VALIDATION_FAILED'],
      ['POST', `${P}/numbers/${free}/reservations`, { body: { kind: 'forever' } }, 400, 'VALIDATION_FAILED'],
      ['POST', `${P}/numbers/${free}/reservations`, { body: { kind: 'order' } }, 400, 'VALIDATION_FAILED'],
      ['POST', `${P}/numbers/${free}/reservations`, { body: { kind: 'online', extra: 1 } }, 400, 'VALIDATION_FAILED'],
      ['POST', `${P}/numbers/${free}/reservations`, { body: { customerId: '7' } }, 400, 'VALIDATION_FAILED'],
      ['POST', `${P}/numbers/${free}/reservations`, { raw: '{"kind":' }, 400, 'MALFORMED_JSON'],
      ['POST', `${P}/numbers/${free}/reservations`, { raw: 'online', headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['POST', `${P}/numbers/${free}/reservations`, { body: { customerId: 99999999 } }, 422, 'UNKNOWN_CUSTOMER'],
      ['POST', `${P}/numbers/13900000000/reservations`, {}, 404, 'NUMBER_NOT_FOUND'],
      ['POST', `${P}/numbers/${used}/reservations`, {}, 409, 'NUMBER_IN_USE'],
      ['DELETE', `${P}/numbers/${free}/reservations`, {}, 409, 'NUMBER_NOT_RESERVED'],
      ['DELETE', `${P}/numbers/13900000000/reservations`, {}, 404, 'NUMBER_NOT_FOUND'],
      ['POST', `${P}/numbers/${free}/reservations`, { as: 'nobody' }, 403, 'FORBIDDEN'],
      ['POST', `${P}/numbers/${free}/reservations`, { as: 'accounting' }, 403, 'FORBIDDEN'],
      ['POST', `${P}/numbers/${free}/reservations`, { as: null }, 401, 'AUTH_REQUIRED'],
      ['GET', `${P}/numbers?state=gone`, {}, 400, 'VALIDATION_FAILED'],
      ['GET', `${P}/numbers?suffix=8a8`, {}, 400, 'VALIDATION_FAILED'],
      ['GET', `${P}/numbers?limit=0`, {}, 400, 'VALIDATION_FAILED'],
      ['GET', `${P}/numbers?limit=100000`, {}, 400, 'VALIDATION_FAILED'],
      ['GET', `${P}/numbers?color=gold`, {}, 400, 'VALIDATION_FAILED'],
      ['GET', `${P}/numbers/12`, {}, 400, 'VALIDATION_FAILED'],
      ['GET', `${P}/numbers/13900000000`, {}, 404, 'NUMBER_NOT_FOUND'],
      ['GET', `${P}/sim-cards?cardType=nano`, {}, 400, 'VALIDATION_FAILED'],
      ['GET', `${P}/number-levels`, { as: 'nobody' }, 403, 'FORBIDDEN'],
    ];
    for (const [method, url, opts, status, code] of cases) {
      const r = await api.call(method, url, opts);
      expect(r.status, `${method} ${url} ${JSON.stringify(opts)}`).toBe(status);
      expect(r.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(r.body, url).toMatchObject({ code, status, messages: { zh: expect.any(String), en: expect.any(String) } });
    }
    expect(await snapshot()).toEqual(before);
  });
});

stockConservedAfterAll(() => env);
