// Credit control of many accounts at once (CreditService.evaluateAccounts → evaluateMany) writes what
// evaluating each account alone (evaluateAccount) writes: credit states, stop reasons, audit and
// outbox rows, network commands (R-CC-1, R-CC-4, R-X-1..3, R-BND-10).
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { creditRepo } from '../src/domains/credit/repo.ts';
import type { CreditOutcome } from '../src/domains/credit/service.ts';
import type { SimulatedNetwork } from '../src/platform/provisioning.ts';
import type { Linkage, StopReason } from '../src/platform/schema.ts';
import { creditSetup, packageOf } from './credit-helpers.ts';
import { freshResidentId, system, type TestEnv, testEnv } from './helpers.ts';

let env: TestEnv;
let usageOf = new Map<number, number>();
beforeAll(async () => {
  env = await testEnv();
  usageOf = await creditSetup(env);
}, 240_000);
afterAll(async () => {
  await env?.close();
});

let seq = 0;
interface Household {
  accountId: number;
  subscribers: number[];
}

async function household(o: { billingType?: 'virtual' | 'quota' | 'monthly'; vipLevel?: string; creditLimitFen?: number; broadband?: number; linkage?: Linkage; noContact?: boolean } = {}): Promise<Household> {
  const n = ++seq;
  const c = await env.ctx.customers.create(system, {
    kind: 'person',
    name: `批量信控${n}`,
    idType: 'resident_id',
    idNumber: await freshResidentId(),
    ...(o.noContact ? {} : { contactPhone: `138${String(20000000 + n).padStart(8, '0')}` }),
    vipLevel: o.vipLevel,
  });
  const a = await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: o.billingType ?? 'monthly', paymentMethod: 'cash', creditLimitFen: o.creditLimitFen });
  const mk = async (serviceNumber: string, network: 'wcdma3g' | 'broadband') =>
    (await env.ctx.accounts.createSubscriber(system, { customerId: c.customerId, accountId: a.accountId, serviceNumber, network })).subscriberId;
  const subscribers = [await mk(`186${String(50000000 + n * 10).padStart(8, '0')}`, 'wcdma3g')];
  for (let i = 0; i < (o.broadband ?? 0); i++) subscribers.push(await mk(`bbbatch${n}x${i}`, 'broadband'));
  if (o.linkage) await packageOf(env, { customerId: c.customerId, accountId: a.accountId, linkage: o.linkage, subscriberIds: subscribers });
  return { accountId: a.accountId, subscribers };
}

let keySeq = 0;
async function pay(accountId: number, amountFen: number, bookType = 'cash', restrictedItems?: string[]) {
  await env.ctx.money.pay(system, accountId, { amountFen, bookType, restrictedItems, channel: 'counter', idempotencyKey: `credit-batch-${++keySeq}` });
}
async function bill(accountId: number, subscriberId: number, amountFen: number, dueAt?: Date) {
  await env.ctx.money.postBill(system, accountId, { cycle: '2026-11', lines: [{ subscriberId, item: 'RENT_PLAN', amountFen }] });
  if (dueAt) await sql`UPDATE bills SET due_at = ${dueAt} WHERE account_id = ${accountId}`.execute(env.ctx.database.db);
}
/** A line already stopped for arrears by an earlier run, `minutesAgo` ago (R-X-2). */
async function stoppedBefore(subscriberId: number, accountId: number, reasons: StopReason[], minutesAgo: number) {
  const db = env.ctx.database.db;
  await db.transaction().execute((tx) => env.ctx.accounts.changeStopReasons(tx, system, subscriberId, { add: reasons }));
  const at = new Date(env.clock.now().getTime() - minutesAgo * 60_000);
  await db
    .insertInto('credit_states')
    .values({ subscriber_id: subscriberId, account_id: accountId, state: reasons.includes('arrears_two_way') ? 'stopped_two_way' : 'stopped_one_way', since: at, rule: 'earlier run', balance_fen: -100, arrears_fen: 100, stopped_at: at, updated_at: at })
    .execute();
}

/** The varied population: every kind of account credit control meets. */
async function population() {
  const hs: Record<string, Household> = {};
  const far = new Date('2027-01-31T16:00:00Z');
  // monthly, own line overdue (R-CC-4): stopped one-way; its broadband (no package) two-way at once
  hs.arrears = await household({ broadband: 1 });
  await bill(hs.arrears.accountId, hs.arrears.subscribers[0] as number, 3000);
  await bill(hs.arrears.accountId, hs.arrears.subscribers[1] as number, 2000);
  // monthly, line not yet due, money below the threshold: reminded (R-CC-1, R-CC-3)
  hs.notDue = await household();
  await bill(hs.notDue.accountId, hs.notDue.subscribers[0] as number, 3000, far);
  // monthly, plenty of money: nothing
  hs.ok = await household();
  await pay(hs.ok.accountId, 50_000);
  // monthly, usage racing below zero (R-CC-1)
  hs.racing = await household({ creditLimitFen: 1000 });
  await pay(hs.racing.accountId, 500);
  // quota, low balance: reminded; an earlier reminder: nothing new
  hs.low = await household({ billingType: 'quota' });
  await pay(hs.low.accountId, 300);
  hs.lowAgain = await household({ billingType: 'quota' });
  await pay(hs.lowAgain.accountId, 300);
  await env.ctx.database.db
    .insertInto('credit_states')
    .values({ subscriber_id: hs.lowAgain.subscribers[0] as number, account_id: hs.lowAgain.accountId, state: 'reminded', since: env.clock.now(), rule: 'earlier', reminded_at: env.clock.now(), updated_at: env.clock.now() })
    .execute();
  // reminded before, now funded: back to ok
  hs.wasReminded = await household();
  await pay(hs.wasReminded.accountId, 50_000);
  await env.ctx.database.db
    .insertInto('credit_states')
    .values({ subscriber_id: hs.wasReminded.subscribers[0] as number, account_id: hs.wasReminded.accountId, state: 'reminded', since: env.clock.now(), rule: 'earlier', reminded_at: env.clock.now(), updated_at: env.clock.now() })
    .execute();
  // virtual, usage line unpaid: arrears at once
  hs.virtual = await household({ billingType: 'virtual' });
  await bill(hs.virtual.accountId, hs.virtual.subscribers[0] as number, 1234);
  // virtual with money: nothing
  hs.virtualOk = await household({ billingType: 'virtual' });
  await pay(hs.virtualOk.accountId, 20_000);
  // stopped one-way past the grace: two-way (R-X-2); within the grace: stays one-way
  hs.pastGrace = await household();
  await bill(hs.pastGrace.accountId, hs.pastGrace.subscribers[0] as number, 2500);
  await stoppedBefore(hs.pastGrace.subscribers[0] as number, hs.pastGrace.accountId, ['arrears_one_way'], 25 * 60);
  hs.inGrace = await household();
  await bill(hs.inGrace.accountId, hs.inGrace.subscribers[0] as number, 2500);
  await stoppedBefore(hs.inGrace.subscribers[0] as number, hs.inGrace.accountId, ['arrears_one_way'], 60);
  // stopped before, paid since: resumed; one also lost (R-X-1: only the arrears reason goes); a broadband without a contact: no SMS
  hs.paid = await household({ vipLevel: 'silver' });
  await stoppedBefore(hs.paid.subscribers[0] as number, hs.paid.accountId, ['arrears_one_way'], 30);
  hs.paidLost = await household();
  await stoppedBefore(hs.paidLost.subscribers[0] as number, hs.paidLost.accountId, ['arrears_two_way', 'lost'], 30);
  hs.paidBroadband = await household({ broadband: 1, noContact: true });
  await pay(hs.paidBroadband.accountId, 10_000);
  await stoppedBefore(hs.paidBroadband.subscribers[1] as number, hs.paidBroadband.accountId, ['arrears_two_way'], 30);
  // VIP in arrears: exempt until the 1st (R-X-2)
  hs.vip = await household({ vipLevel: 'gold' });
  await bill(hs.vip.accountId, hs.vip.subscribers[0] as number, 4000);
  // packages with a linkage (R-CC-4 / R-X-3): evaluated alone, cascades included
  hs.immediate = await household({ broadband: 1, linkage: 'immediate' });
  await bill(hs.immediate.accountId, hs.immediate.subscribers[0] as number, 3000);
  hs.nextCycle = await household({ broadband: 1, linkage: 'next_cycle_if_funded' });
  await pay(hs.nextCycle.accountId, 60_000, 'restricted_fund', ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ']);
  await bill(hs.nextCycle.accountId, hs.nextCycle.subscribers[0] as number, 3000);
  // an account paying another's subscriber by relation (R-ACC-8): that line judged with its own account's money
  // (the payer's id before the child's and after it: each evaluated alone, in id order)
  hs.parent = await household();
  hs.child = await household();
  await env.ctx.accounts.createRelation(system, hs.child.subscribers[0] as number, { payerAccountId: hs.parent.accountId, priority: 1 });
  await bill(hs.child.accountId, hs.child.subscribers[0] as number, 2500);
  hs.child2 = await household();
  hs.parent2 = await household();
  await env.ctx.accounts.createRelation(system, hs.child2.subscribers[0] as number, { payerAccountId: hs.parent2.accountId, priority: 1 });
  await bill(hs.child2.accountId, hs.child2.subscribers[0] as number, 2500);
  // a closed account: nothing
  hs.closed = await household();
  await bill(hs.closed.accountId, hs.closed.subscribers[0] as number, 2500);
  await sql`UPDATE accounts SET status = 'closed' WHERE account_id = ${hs.closed.accountId}`.execute(env.ctx.database.db);
  usageOf.set(hs.racing.accountId, 2000);
  usageOf.set(hs.low.accountId, 100);
  return hs;
}

type Row = Record<string, unknown>;
const canonical = (rows: Row[]) => rows.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();

/** What an evaluation wrote after the marks: credit states and subscribers of the population, audit and outbox rows. */
async function written(subscribers: number[], marks: { audit: number; outbox: number }) {
  const db = env.ctx.database.db;
  const states = await db.selectFrom('credit_states').selectAll().where('subscriber_id', 'in', subscribers).execute();
  const subs = await db.selectFrom('subscribers').select(['subscriber_id', 'status', 'stop_reasons', 'updated_at']).where('subscriber_id', 'in', subscribers).execute();
  const audit = await db.selectFrom('audit_log').select(['at', 'operator_id', 'department_id', 'action', 'target_type', 'target_id', 'account_id', 'before', 'after', 'request_id']).where('audit_id', '>', marks.audit).execute();
  const outbox = await db.selectFrom('outbox').select(['event_type', 'aggregate_type', 'aggregate_id', 'account_id', 'payload', 'occurred_at']).where('event_id', '>', marks.outbox).execute();
  return { states: canonical(states), subscribers: canonical(subs), audit: canonical(audit), outbox: canonical(outbox) };
}

async function marks() {
  const r = await sql<{ a: number | null; o: number | null }>`SELECT (SELECT max(audit_id) FROM audit_log) AS a, (SELECT max(event_id) FROM outbox) AS o`.execute(env.ctx.database.db);
  return { audit: Number(r.rows[0]?.a ?? 0), outbox: Number(r.rows[0]?.o ?? 0) };
}

const sorted = (o: CreditOutcome) => ({
  ...o,
  ...Object.fromEntries((['reminded', 'stopped', 'resumed', 'exempted', 'linkedStopped', 'linkedPending'] as const).map((k) => [k, [...o[k]].sort((a, b) => a - b)])),
  commands: canonical(o.commands as unknown as Row[]),
});

test('R-CC-1 R-CC-4 R-X-1 R-X-2 many accounts evaluated at once write the same credit states, stop reasons, audit and outbox rows as each evaluated alone', async () => {
  const hs = await population();
  const accounts = Object.values(hs).map((h) => h.accountId);
  const subscribers = Object.values(hs).flatMap((h) => h.subscribers);
  const db = env.ctx.database.db;
  // the batch must do the bulk of the work itself: only the package and relation accounts go alone
  const alone = await creditRepo.accountsReachingOut(db, accounts);
  expect([...alone].sort((a, b) => a - b)).toEqual([hs.immediate, hs.nextCycle, hs.parent, hs.child, hs.parent2, hs.child2].map((h) => (h as Household).accountId).sort((a, b) => a - b));

  const statesBefore = await db.selectFrom('credit_states').selectAll().where('subscriber_id', 'in', subscribers).execute();
  const subsBefore = await db.selectFrom('subscribers').select(['subscriber_id', 'stop_reasons', 'updated_at']).where('subscriber_id', 'in', subscribers).execute();
  const net = env.ctx.network as SimulatedNetwork;

  const m1 = await marks();
  const c1 = net.commands.length;
  const one: CreditOutcome[] = [];
  for (const id of [...accounts].sort((a, b) => a - b)) one.push(await env.ctx.credit.evaluateAccount(id));
  const byOne = await written(subscribers, m1);
  const commandsByOne = net.commands.slice(c1).map((c) => c.command);

  // back to where it started (audit and outbox rows are told apart by the marks)
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('credit_states').where('subscriber_id', 'in', subscribers).execute();
    if (statesBefore.length) await tx.insertInto('credit_states').values(statesBefore).execute();
    for (const s of subsBefore) await tx.updateTable('subscribers').set({ stop_reasons: s.stop_reasons, updated_at: s.updated_at }).where('subscriber_id', '=', s.subscriber_id).execute();
  });

  const m2 = await marks();
  const c2 = net.commands.length;
  const many = await env.ctx.credit.evaluateAccounts(accounts);
  const atOnce = await written(subscribers, m2);
  const commandsAtOnce = net.commands.slice(c2).map((c) => c.command);

  expect(atOnce).toEqual(byOne);
  expect(many.map(sorted)).toEqual(one.map(sorted));
  expect(canonical(commandsAtOnce as unknown as Row[])).toEqual(canonical(commandsByOne as unknown as Row[]));

  // the population did exercise each path
  const all = one.map(sorted);
  const of = (h: Household | undefined) => all.find((o) => o.accountId === h?.accountId) as ReturnType<typeof sorted>;
  expect(of(hs.arrears).stopped).toHaveLength(2);
  expect(of(hs.notDue).reminded).toHaveLength(1);
  expect(of(hs.racing).stopped).toHaveLength(1);
  expect(of(hs.low).reminded).toHaveLength(1);
  expect(of(hs.lowAgain).reminded).toHaveLength(0);
  expect(of(hs.virtual).stopped).toHaveLength(1);
  expect(of(hs.pastGrace).stopped).toHaveLength(1);
  expect(of(hs.inGrace).stopped).toHaveLength(0);
  expect(of(hs.paid).resumed).toHaveLength(1);
  expect(of(hs.paidLost).resumed).toHaveLength(1);
  expect(of(hs.paidBroadband).resumed).toHaveLength(1);
  expect(of(hs.vip).exempted).toHaveLength(1);
  expect(of(hs.immediate).linkedStopped).toHaveLength(1);
  expect(of(hs.nextCycle).linkedPending).toHaveLength(1);
  expect(of(hs.parent).stopped).toEqual([hs.child?.subscribers[0]]);
  expect(of(hs.child2).stopped).toEqual([hs.child2?.subscribers[0]]);
  expect(byOne.audit.some((a) => a.includes('"credit.reminded"'))).toBe(true);
  expect(atOnce.states.some((s) => s.includes('"stopped_two_way"') && s.includes('R-X-2 one-way stop became two-way'))).toBe(true);
}, 120_000);
