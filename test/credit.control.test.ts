// Credit control end to end on the database (SPEC §6, R-CC-1..4, R-X-1..4, R-BND-10/13, R-E9-4,
// R-INT-2/3). Tests that move the simulated clock come last; the clock only moves forward.
import { sql } from 'kysely';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { type SimulatedSms } from '../src/platform/notifications.ts';
import type { SimulatedNetwork } from '../src/platform/provisioning.ts';
import type { Linkage, StopReason } from '../src/platform/schema.ts';
import { creditSetup, packageOf } from './credit-helpers.ts';
import { type Api, freshResidentId, system, T0, type TestEnv, testApi, testEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
let usageOf = new Map<number, number>();
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  usageOf = await creditSetup(env);
  // a fresh database with every migration: slow on a loaded machine
}, 240_000);
afterAll(async () => {
  await api?.app.close();
  await env?.close();
});

const net = () => env.ctx.network as SimulatedNetwork;
const smsAdapter = () => env.ctx.notifications as SimulatedSms;
let seq = 0;

interface Household {
  customerId: number;
  accountId: number;
  mobile: { subscriberId: number; serviceNumber: string };
  broadband: { subscriberId: number; serviceNumber: string }[];
  contactPhone: string;
}

/** A customer with one account, a mobile and optionally broadband lines tied by a package with a linkage. */
async function household(o: { billingType?: 'virtual' | 'quota' | 'monthly'; vipLevel?: string; creditLimitFen?: number; broadband?: number; linkage?: Linkage; secondMobile?: boolean } = {}): Promise<Household & { mobile2?: { subscriberId: number; serviceNumber: string } }> {
  const n = ++seq;
  const contactPhone = `139${String(10000000 + n).padStart(8, '0')}`;
  const c = await env.ctx.customers.create(system, { kind: 'person', name: `信控${n}`, idType: 'resident_id', idNumber: await freshResidentId(), contactPhone, vipLevel: o.vipLevel });
  const a = await env.ctx.accounts.createAccount(system, { customerId: c.customerId, billingType: o.billingType ?? 'monthly', paymentMethod: 'cash', creditLimitFen: o.creditLimitFen });
  const mk = async (serviceNumber: string, network: 'wcdma3g' | 'broadband') => {
    const s = await env.ctx.accounts.createSubscriber(system, { customerId: c.customerId, accountId: a.accountId, serviceNumber, network });
    return { subscriberId: s.subscriberId, serviceNumber };
  };
  const mobile = await mk(`186${String(30000000 + n * 10).padStart(8, '0')}`, 'wcdma3g');
  const mobile2 = o.secondMobile ? await mk(`186${String(30000000 + n * 10 + 1).padStart(8, '0')}`, 'wcdma3g') : undefined;
  const broadband = [];
  for (let i = 0; i < (o.broadband ?? 0); i++) broadband.push(await mk(`tjbb${n}x${i}`, 'broadband'));
  if (o.linkage) await packageOf(env, { customerId: c.customerId, accountId: a.accountId, linkage: o.linkage, subscriberIds: [mobile.subscriberId, ...broadband.map((b) => b.subscriberId)] });
  return { customerId: c.customerId, accountId: a.accountId, mobile, ...(mobile2 ? { mobile2 } : {}), broadband, contactPhone };
}

let keySeq = 0;
async function pay(accountId: number, amountFen: number, o: { bookType?: string; restrictedItems?: string[]; subscriberId?: number } = {}) {
  return env.ctx.money.pay(system, accountId, { amountFen, bookType: o.bookType ?? 'cash', restrictedItems: o.restrictedItems, subscriberId: o.subscriberId, channel: 'counter', idempotencyKey: `credit-${++keySeq}` });
}
async function bill(accountId: number, lines: { subscriberId: number; item: string; amountFen: number }[], cycle = '2026-11') {
  return env.ctx.money.postBill(system, accountId, { cycle, lines });
}
async function sub(id: number) {
  return env.ctx.database.db.selectFrom('subscribers').select(['status', 'stop_reasons', 'lifecycle']).where('subscriber_id', '=', id).executeTakeFirstOrThrow();
}
async function creditState(id: number) {
  return env.ctx.database.db.selectFrom('credit_states').selectAll().where('subscriber_id', '=', id).executeTakeFirst();
}
const commandsOf = (number: string) => net().commandsFor(number).map((c) => (c.command.command === 'stop' ? `stop:${c.command.mode}` : c.command.command));

let delivered = 0;
/** What the outbox relay does for `notification.sms` (R-INT-1): each event to the adapter, keyed by its id. */
async function deliverSms() {
  const rows = await env.ctx.database.db.selectFrom('outbox').select(['event_id', 'payload']).where('event_type', '=', 'notification.sms').where('event_id', '>', delivered).orderBy('event_id').execute();
  for (const r of rows) {
    const p = r.payload as { to: string; templateCode: string; text: string };
    await env.ctx.notifications.send({ eventId: r.event_id, to: p.to, templateCode: p.templateCode, text: p.text });
    delivered = Math.max(delivered, r.event_id);
  }
  return rows.length;
}
async function smsEvents(to: string) {
  const rows = await env.ctx.database.db.selectFrom('outbox').select(['payload']).where('event_type', '=', 'notification.sms').orderBy('event_id').execute();
  return rows.map((r) => r.payload as { to: string; templateCode: string; text: string; params: Record<string, unknown> }).filter((p) => p.to === to);
}

describe('R-CC-1 real-time balance', () => {
  test('R-CC-1 the breakdown: usable books − unpaid bills − unbilled usage + credit limit, with each subscriber judged', async () => {
    const h = await household({ creditLimitFen: 5000 });
    await pay(h.accountId, 5000);
    await bill(h.accountId, [{ subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 8000 }]);
    // the bill is due at the end of next month: its open 3000 is unpaid but not overdue
    await sql`UPDATE bills SET due_at = ${new Date('2026-12-31T16:00:00Z')} WHERE account_id = ${h.accountId}`.execute(env.ctx.database.db);
    usageOf.set(h.accountId, 1500);
    const r = await api.call('GET', `/api/v1/accounts/${h.accountId}/credit`, { as: 'front_desk' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ usableBooksFen: 0, unpaidBillsFen: 3000, notYetDueFen: 3000, unbilledUsageFen: 1500, creditLimitFen: 5000, realtimeBalanceFen: 500, reminderThresholdFen: 1000 });
    expect(r.body.subscribers).toEqual([expect.objectContaining({ subscriberId: h.mobile.subscriberId, ownArrearsFen: 0, judgement: 'remind' })]);
    // usage racing further: below zero is arrears for a monthly account (R-CC-1)
    usageOf.set(h.accountId, 7000);
    const r2 = await api.call('GET', `/api/v1/accounts/${h.accountId}/credit`, { as: 'front_desk' });
    expect(r2.body.realtimeBalanceFen).toBe(-5000);
    expect(r2.body.subscribers[0]).toMatchObject({ judgement: 'arrears', rule: 'R-CC-1 real-time balance below zero' });
    const o = await env.ctx.credit.evaluateAccounts([h.accountId]);
    expect(o[0]?.stopped).toEqual([h.mobile.subscriberId]);
    usageOf.delete(h.accountId);
  });

  test('R-CC-1 an unknown account is a 404, reading needs credit.read', async () => {
    expect((await api.call('GET', '/api/v1/accounts/999999/credit')).status).toBe(404);
    expect((await api.call('GET', '/api/v1/accounts/1/credit', { as: 'nobody' })).status).toBe(403);
  });
});

describe('R-CC-3 reminders', () => {
  test('R-CC-3 a balance below the threshold sends the reminder text from its template through the outbox, once', async () => {
    const h = await household();
    await pay(h.accountId, 500);
    // a payment resumes at once but leaves reminders to the job (nothing was stopped here)
    expect(await smsEvents(h.mobile.serviceNumber)).toEqual([]);
    await env.ctx.jobs.runNow('credit-control');
    const events = await smsEvents(h.mobile.serviceNumber);
    expect(events.map((e) => e.templateCode)).toEqual(['CREDIT_REMINDER']);
    const tpl = await env.ctx.database.db.selectFrom('notification_templates').select('text_zh').where('template_code', '=', 'CREDIT_REMINDER').executeTakeFirstOrThrow();
    expect(tpl.text_zh).toContain('{结余}');
    expect(events[0]?.text).toBe(`尊敬的客户，您的号码${h.mobile.serviceNumber}实时结余为5.00元，已低于10.00元，为避免停机请及时缴费。详询10010。`);
    expect((await sub(h.mobile.subscriberId)).status).toBe('normal');
    expect((await creditState(h.mobile.subscriberId))?.state).toBe('reminded');
    // evaluated again: no second reminder
    await env.ctx.credit.evaluateAccounts([h.accountId]);
    expect((await smsEvents(h.mobile.serviceNumber)).length).toBe(1);
    // R-INT-3: the relay hands it to the SMS adapter; a redelivery sends nothing twice
    await deliverSms();
    const sent = smsAdapter().sent(h.mobile.serviceNumber);
    expect(sent.map((m) => [m.templateCode, m.text])).toEqual([['CREDIT_REMINDER', events[0]?.text]]);
    const again = await env.ctx.notifications.send({ eventId: sent[0]?.eventId as number, to: h.mobile.serviceNumber, templateCode: 'CREDIT_REMINDER', text: 'x' });
    expect(again.messageId).toBe(sent[0]?.messageId);
    expect(smsAdapter().sent(h.mobile.serviceNumber).length).toBe(1);
    // the queue shows who was reminded, why and with what balance
    const q = await api.call('GET', '/api/v1/credit/queue?state=reminded&limit=500', { as: 'front_desk' });
    expect(q.status).toBe(200);
    expect(q.body.items.find((i: { subscriberId: number }) => i.subscriberId === h.mobile.subscriberId)).toMatchObject({ state: 'reminded', balanceFen: 500, rule: expect.stringContaining('R-CC-1') });
    // the admin endpoint lists the simulated SMS
    const adm = await api.call('GET', `/api/v1/admin/notifications/sms?to=${h.mobile.serviceNumber}`);
    expect(adm.body.messages.length).toBe(1);
  });
});

describe('R-CC-4 each subscriber on its own', () => {
  test('R-CC-4 on a joint account the sibling whose lines are paid keeps service', async () => {
    const h = await household({ secondMobile: true });
    const sibling = h.mobile2 as { subscriberId: number; serviceNumber: string };
    await pay(h.accountId, 3000, { subscriberId: sibling.subscriberId });
    await bill(h.accountId, [
      { subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 5000 },
      { subscriberId: sibling.subscriberId, item: 'RENT_PLAN', amountFen: 3000 },
    ]);
    const [o] = await env.ctx.credit.evaluateAccounts([h.accountId]);
    expect(o?.stopped).toEqual([h.mobile.subscriberId]);
    expect(await sub(h.mobile.subscriberId)).toMatchObject({ status: 'arrears_stop', stop_reasons: ['arrears_one_way'] });
    expect((await sub(sibling.subscriberId)).status).toBe('normal');
    expect(commandsOf(h.mobile.serviceNumber)).toEqual(['stop:one_way']);
    expect(commandsOf(sibling.serviceNumber)).toEqual([]);
    expect(net().lineState(h.mobile.serviceNumber).state).toBe('one_way');
    // the stop is audited with the rule and figures, and the queue says since when and why
    const audit = await env.ctx.database.db.selectFrom('audit_log').select(['action', 'after']).where('target_id', '=', String(h.mobile.subscriberId)).where('action', '=', 'credit.stopped').execute();
    expect(audit[0]?.after).toMatchObject({ mode: 'one_way', arrearsFen: 5000, rule: 'R-CC-4 own bill lines unpaid' });
    const q = await api.call('GET', '/api/v1/credit/queue?state=stopped&limit=500', { as: 'auditor' });
    expect(q.body.items.find((i: { subscriberId: number }) => i.subscriberId === h.mobile.subscriberId)).toMatchObject({ state: 'stopped_one_way', arrearsFen: 5000, since: T0.toISOString() });
    const credit = await api.call('GET', `/api/v1/accounts/${h.accountId}/credit`);
    expect(credit.body.subscribers.map((s: { judgement: string }) => s.judgement)).toEqual(['arrears', 'remind']);
  });

  test('R-CC-4 R-E9-4 immediate linkage: the broadband stops with the mobile although its fund has money; R-CC-2 both resume on payment', async () => {
    const h = await household({ billingType: 'virtual', broadband: 1, linkage: 'immediate' });
    const bb = h.broadband[0] as { subscriberId: number; serviceNumber: string };
    await pay(h.accountId, 10000, { bookType: 'prepaid' });
    await pay(h.accountId, 60000, { bookType: 'restricted_fund', restrictedItems: ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'] });
    await bill(h.accountId, [
      { subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 12000 },
      { subscriberId: bb.subscriberId, item: 'RENT_BB', amountFen: 5000 },
    ]);
    // R-BIL-8: a virtual account is judged at once (the bill run / rating call this after charging)
    const [o] = await env.ctx.credit.evaluateAccounts([h.accountId]);
    expect(o).toMatchObject({ stopped: [h.mobile.subscriberId], linkedStopped: [bb.subscriberId] });
    expect(await sub(bb.subscriberId)).toMatchObject({ status: 'bundle_stop', stop_reasons: ['bundle'] });
    const credit = await env.ctx.credit.accountCredit(h.accountId);
    expect(credit.usableBooksFen).toBe(55000); // the broadband fund still holds 550 yuan
    expect(commandsOf(bb.serviceNumber)).toEqual(['stop:two_way']);
    const bbSms = await smsEvents(h.contactPhone);
    expect(bbSms.map((e) => e.templateCode)).toContain('CREDIT_LINKED_STOP');
    expect((await creditState(bb.subscriberId))?.linked_to).toBe(h.mobile.subscriberId);

    // R-CC-2: the payment that clears the mobile's lines resumes both before it answers
    await pay(h.accountId, 2000);
    expect((await sub(h.mobile.subscriberId)).status).toBe('normal');
    expect((await sub(bb.subscriberId)).status).toBe('normal');
    expect(commandsOf(h.mobile.serviceNumber)).toEqual(['stop:one_way', 'resume']);
    expect(commandsOf(bb.serviceNumber)).toEqual(['stop:two_way', 'resume']);
    expect(net().lineState(bb.serviceNumber).state).toBe('open');
    expect((await smsEvents(h.mobile.serviceNumber)).map((e) => e.templateCode)).toEqual(['CREDIT_STOP_ONE_WAY', 'CREDIT_RESUME']);
    expect(await creditState(bb.subscriberId)).toMatchObject({ state: 'ok', linked_to: null });
  });

  test('R-X-3 the cascade skips a pre-cancelled line and a line already stopped for the bundle', async () => {
    const h = await household({ billingType: 'virtual', broadband: 3, linkage: 'immediate' });
    const [open, preCancelled, already] = h.broadband as [Household['mobile'], Household['mobile'], Household['mobile']];
    await env.ctx.database.db.transaction().execute(async (tx) => {
      await env.ctx.accounts.changeLifecycle(tx, system, preCancelled.subscriberId, 'pre_cancelled', { orderId: null });
      await env.ctx.accounts.changeStopReasons(tx, system, already.subscriberId, { add: ['bundle'] });
    });
    await bill(h.accountId, [{ subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 1900 }]);
    const mark = await env.ctx.database.db.selectFrom('audit_log').select(sql<string>`max(audit_id)`.as('m')).executeTakeFirstOrThrow();
    const [o] = await env.ctx.credit.evaluateAccounts([h.accountId]);
    expect(o?.linkedStopped).toEqual([open.subscriberId]);
    expect(await sub(preCancelled.subscriberId)).toMatchObject({ lifecycle: 'pre_cancelled', stop_reasons: [] });
    expect(commandsOf(preCancelled.serviceNumber)).toEqual([]);
    expect(commandsOf(already.serviceNumber)).toEqual([]);
    const audits = await env.ctx.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', 'in', [String(preCancelled.subscriberId), String(already.subscriberId)])
      .where('action', 'in', ['credit.linked_stopped', 'credit.stopped', 'subscriber.status_change'])
      .where('audit_id', '>', Number(mark.m))
      .execute();
    expect(audits).toEqual([]);
  });
});

describe('R-X-1 / R-X-4 resumption', () => {
  test('R-X-1 a lost phone stays stopped after the payment; only the arrears reason goes', async () => {
    const h = await household();
    await env.ctx.database.db.transaction().execute((tx) => env.ctx.accounts.changeStopReasons(tx, system, h.mobile.subscriberId, { add: ['lost'] }));
    await bill(h.accountId, [{ subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 2000 }]);
    await env.ctx.credit.evaluateAccounts([h.accountId]);
    expect((await sub(h.mobile.subscriberId)).stop_reasons).toEqual<StopReason[]>(['arrears_one_way', 'lost']);
    await pay(h.accountId, 5000);
    expect(await sub(h.mobile.subscriberId)).toMatchObject({ status: 'lost', stop_reasons: ['lost'] });
    // the network was two-way barred for the loss all along: nothing to send, no "resumed" SMS
    expect(commandsOf(h.mobile.serviceNumber)).toEqual([]);
    expect((await smsEvents(h.mobile.serviceNumber)).map((e) => e.templateCode)).not.toContain('CREDIT_RESUME');
  });

  test('R-X-4 the resumption is done in the payment itself, never queued behind pending stops', async () => {
    const stopped = await household();
    const pending = await household();
    await bill(stopped.accountId, [{ subscriberId: stopped.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }]);
    await env.ctx.credit.evaluateAccounts([stopped.accountId]);
    expect((await sub(stopped.mobile.subscriberId)).status).toBe('arrears_stop');
    // another account falls into arrears: its stop waits for the next credit-control run
    await bill(pending.accountId, [{ subscriberId: pending.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }]);
    const before = net().commands.length;
    await pay(stopped.accountId, 3000);
    expect((await sub(stopped.mobile.subscriberId)).status).toBe('normal');
    expect(net().commands.slice(before).map((c) => [c.command.serviceNumber, c.command.command])).toEqual([[stopped.mobile.serviceNumber, 'resume']]);
    expect((await sub(pending.mobile.subscriberId)).status).toBe('normal');
    // the next run stops it
    await env.ctx.jobs.runNow('credit-control');
    expect((await sub(pending.mobile.subscriberId)).status).toBe('arrears_stop');
  });

  test('R-CC-2 a payment that does not cover the arrears resumes nothing', async () => {
    const h = await household();
    await bill(h.accountId, [{ subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }]);
    await env.ctx.credit.evaluateAccounts([h.accountId]);
    await pay(h.accountId, 2999);
    expect((await sub(h.mobile.subscriberId)).status).toBe('arrears_stop');
    await pay(h.accountId, 1);
    expect((await sub(h.mobile.subscriberId)).status).toBe('normal');
  });

  test('R-CC-2 a subscriber paid by another account (relation) resumes when that account pays', async () => {
    const child = await household();
    const parent = await household();
    await env.ctx.accounts.createRelation(system, child.mobile.subscriberId, { payerAccountId: parent.accountId, priority: 1 });
    await bill(child.accountId, [{ subscriberId: child.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 2500 }]);
    await env.ctx.credit.evaluateAccounts([child.accountId]);
    expect((await sub(child.mobile.subscriberId)).status).toBe('arrears_stop');
    await pay(parent.accountId, 2500);
    expect((await sub(child.mobile.subscriberId)).status).toBe('normal');
  });
});

describe('R-X-2 special credit reopen', () => {
  test('R-X-2 only with the permission; the line reopens, an unstopped line is refused', async () => {
    const h = await household();
    await bill(h.accountId, [{ subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }]);
    await env.ctx.credit.evaluateAccounts([h.accountId]);
    const url = `/api/v1/subscribers/${h.mobile.subscriberId}/credit-reopen`;
    expect((await api.call('POST', url, { as: 'front_desk', body: { hours: 48, reason: '承诺缴费' } })).status).toBe(403);
    expect((await api.call('POST', url, { as: 'key_account', body: { hours: 100000, reason: 'x' } })).status).toBe(400);
    expect((await api.call('POST', url, { as: 'key_account', body: { hours: 500, reason: 'x' } })).body.code).toBe('REOPEN_TOO_LONG');
    const r = await api.call('POST', url, { as: 'key_account', body: { hours: 48, reason: '客户承诺两日内缴费' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'reopened', reopenUntil: new Date(T0.getTime() + 48 * 3600_000).toISOString(), stopReasons: [] });
    expect((await sub(h.mobile.subscriberId)).status).toBe('normal');
    expect(commandsOf(h.mobile.serviceNumber)).toEqual(['stop:one_way', 'resume']);
    const told = (await smsEvents(h.mobile.serviceNumber)).at(-1);
    expect([told?.templateCode, told?.text]).toEqual(['CREDIT_REOPEN', `尊敬的客户，您的号码${h.mobile.serviceNumber}已办理信用特殊开机，有效期至2026-11-17 10:00，请在此前缴清欠费。`]);
    const again = await api.call('POST', url, { as: 'key_account', body: { hours: 48, reason: 'x' } });
    expect([again.status, again.body.code]).toEqual([409, 'NOT_ARREARS_STOPPED']);
    expect((await api.call('POST', '/api/v1/subscribers/999999/credit-reopen', { as: 'key_account', body: { hours: 1, reason: 'x' } })).status).toBe(404);
    // still in arrears, but the job leaves it open while the reopen lasts
    await env.ctx.jobs.runNow('credit-control');
    expect((await sub(h.mobile.subscriberId)).status).toBe('normal');
    const audit = await env.ctx.database.db.selectFrom('audit_log').select(['operator_id', 'after']).where('action', '=', 'credit.reopened').where('target_id', '=', String(h.mobile.subscriberId)).executeTakeFirstOrThrow();
    expect(audit.operator_id).not.toBeNull();
  });
});

describe('credit-control queue and run API', () => {
  test('R-CC-1 the queue pages through stopped lines with totals; a run by account needs credit.run; bad input is a 400', async () => {
    const a = await household();
    const b = await household();
    for (const h of [a, b]) await bill(h.accountId, [{ subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 1200 }]);
    expect((await api.call('POST', '/api/v1/credit/run', { as: 'front_desk', body: { accountIds: [a.accountId] } })).status).toBe(403);
    const run = await api.call('POST', '/api/v1/credit/run', { as: 'accounting', body: { accountIds: [a.accountId, b.accountId] } });
    expect(run.status).toBe(403); // the accounting room reads the queue but does not run it
    const ok = await api.call('POST', '/api/v1/credit/run', { body: { accountIds: [a.accountId, b.accountId] } });
    expect(ok.status).toBe(200);
    expect(ok.body.results.map((r: { stopped: number[] }) => r.stopped)).toEqual([[a.mobile.subscriberId], [b.mobile.subscriberId]]);
    const all = await api.call('GET', '/api/v1/credit/queue?state=stopped_one_way&limit=500');
    const total = all.body.total as number;
    expect(total).toBeGreaterThanOrEqual(2);
    const page1 = await api.call('GET', '/api/v1/credit/queue?state=stopped_one_way&limit=1&offset=0');
    const page2 = await api.call('GET', '/api/v1/credit/queue?state=stopped_one_way&limit=1&offset=1');
    expect([page1.body.total, page1.body.items.length, page2.body.items.length]).toEqual([total, 1, 1]);
    expect(page1.body.items[0].subscriberId).not.toBe(page2.body.items[0].subscriberId);
    expect((await api.call('GET', '/api/v1/credit/queue?state=asleep')).status).toBe(400);
    expect((await api.call('GET', '/api/v1/credit/queue?limit=0')).status).toBe(400);
    expect((await api.call('POST', '/api/v1/credit/run', { body: { accountIds: [] } })).status).toBe(400);
    const doc = await api.call('GET', '/openapi.json', { as: null });
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/accounts/{id}/credit', '/api/v1/credit/queue', '/api/v1/subscribers/{id}/credit-reopen']));
  });
});

describe('credit control keeps the money untouched (R-ACC-18)', () => {
  test('R-CC-4 R-ACC-18 random bills and payments on a joint account: a line is stopped exactly when its own lines are unpaid; conservation holds (property)', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('bill' as const), who: fc.nat(1), amountFen: fc.integer({ min: 1, max: 5000 }) }),
            fc.record({ kind: fc.constant('pay' as const), who: fc.option(fc.nat(1), { nil: null }), amountFen: fc.integer({ min: 1, max: 5000 }) }),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        async (ops) => {
          const h = await household({ secondMobile: true, creditLimitFen: 100_000 });
          const subs = [h.mobile.subscriberId, (h.mobile2 as Household['mobile']).subscriberId];
          for (const op of ops) {
            if (op.kind === 'bill') await bill(h.accountId, [{ subscriberId: subs[op.who] as number, item: 'RENT_PLAN', amountFen: op.amountFen }]);
            else await pay(h.accountId, op.amountFen, op.who === null ? {} : { subscriberId: subs[op.who] });
            await env.ctx.credit.evaluateAccounts([h.accountId]);
          }
          const open = await env.ctx.database.db
            .selectFrom('bill_lines')
            .select(['subscriber_id', sql<string>`sum(amount_fen - paid_fen)`.as('open')])
            .where('account_id', '=', h.accountId)
            .groupBy('subscriber_id')
            .execute();
          for (const id of subs) {
            const owes = Number(open.find((o) => o.subscriber_id === id)?.open ?? 0) > 0;
            expect((await sub(id)).status).toBe(owes ? 'arrears_stop' : 'normal');
          }
          expect((await checkConservation(env.ctx.database.db, [h.accountId])).differing).toEqual([]);
        },
      ),
      { numRuns: 15 },
    );
  });
});

// ---- from here on the simulated clock moves forward ----

describe('R-X-2 one-way to two-way, VIP exemption, reopen ending', () => {
  test('R-X-2 a one-way stop becomes two-way after 24 h; a VIP is exempt until the 1st; an ended reopen stops again', async () => {
    const plain = await household();
    const vip = await household({ vipLevel: 'gold' });
    const silver = await household({ vipLevel: 'silver' });
    const reopened = await household();
    for (const h of [plain, vip, silver, reopened]) await bill(h.accountId, [{ subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 4000 }]);
    await env.ctx.credit.evaluateAccounts([plain.accountId, vip.accountId, silver.accountId, reopened.accountId]);
    expect((await sub(plain.mobile.subscriberId)).stop_reasons).toEqual(['arrears_one_way']);
    expect((await sub(silver.mobile.subscriberId)).stop_reasons).toEqual(['arrears_one_way']); // silver is not an exempt level
    expect((await sub(vip.mobile.subscriberId)).status).toBe('normal');
    expect(await creditState(vip.mobile.subscriberId)).toMatchObject({ state: 'exempt', exempt_until: new Date('2026-11-30T16:00:00Z') });
    await env.ctx.credit.reopen(await actorWith('credit.reopen'), reopened.mobile.subscriberId, { hours: 6, reason: '特殊开机' });

    env.clock.advance(24 * 3600_000 - 60_000);
    await env.ctx.jobs.runNow('credit-control');
    expect((await sub(plain.mobile.subscriberId)).stop_reasons).toEqual(['arrears_one_way']);
    // the reopen ended after 6 h: stopped one-way again
    expect((await sub(reopened.mobile.subscriberId)).stop_reasons).toEqual(['arrears_one_way']);
    env.clock.advance(60_000);
    await env.ctx.jobs.runNow('credit-control');
    expect((await sub(plain.mobile.subscriberId)).stop_reasons).toEqual(['arrears_two_way']);
    expect(commandsOf(plain.mobile.serviceNumber)).toEqual(['stop:one_way', 'stop:two_way']);
    expect((await smsEvents(plain.mobile.serviceNumber)).map((e) => e.templateCode)).toContain('CREDIT_STOP_TWO_WAY');
    expect((await sub(vip.mobile.subscriberId)).status).toBe('normal');

    // the 1st of next month: the VIP's exemption has ended
    env.clock.set(new Date('2026-11-30T16:00:00Z'));
    await env.ctx.jobs.runNow('credit-control');
    expect((await sub(vip.mobile.subscriberId)).stop_reasons).toEqual(['arrears_one_way']);
    // a payment clears a two-way stop at once too
    await pay(plain.accountId, 4000);
    expect((await sub(plain.mobile.subscriberId)).status).toBe('normal');
    expect(net().lineState(plain.mobile.serviceNumber).state).toBe('open');
  });
});

describe('R-BND-10 next_cycle_if_funded linkage across a month boundary', () => {
  test('R-BND-10 R-BND-13 the broadband is told, stopped on the 1st while the mobile is stopped and the fund has money, and resumes with the mobile', async () => {
    const funded = await household({ broadband: 1, linkage: 'next_cycle_if_funded' });
    const unfunded = await household({ broadband: 1, linkage: 'next_cycle_if_funded' });
    const bb = funded.broadband[0] as Household['mobile'];
    const bb2 = unfunded.broadband[0] as Household['mobile'];
    await pay(funded.accountId, 60000, { bookType: 'restricted_fund', restrictedItems: ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'] });
    const now = env.clock.now();
    for (const h of [funded, unfunded]) await bill(h.accountId, [{ subscriberId: h.mobile.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }]);
    const out = await env.ctx.credit.evaluateAccounts([funded.accountId, unfunded.accountId]);
    expect(out.map((o) => o.linkedPending)).toEqual([[bb.subscriberId], [bb2.subscriberId]]);
    expect((await sub(bb.subscriberId)).status).toBe('normal');
    const next = new Date(Date.UTC(2027, 0, 1) - 8 * 3600_000); // 2027-01-01 00:00 Asia/Shanghai
    expect(now.getTime()).toBeLessThan(next.getTime());
    const notice = (await smsEvents(funded.contactPhone)).find((e) => e.templateCode === 'BUNDLE_MOBILE_ARREARS');
    expect(notice?.text).toBe('您的手机已经欠费，若未及时缴费，您的宽带将于1月1日停机，为方便您的使用，请尽快缴纳手机欠费！详询10010。');
    // before the 1st nothing happens
    expect(await env.ctx.jobs.runNow('credit-linked-stops')).toMatchObject({ result: { due: 0 } });
    env.clock.set(new Date(next.getTime() + 5 * 60_000));
    const run = await env.ctx.jobs.runNow('credit-linked-stops');
    expect(run.result).toMatchObject({ stopped: [bb.subscriberId], dropped: [bb2.subscriberId] });
    expect(await sub(bb.subscriberId)).toMatchObject({ status: 'bundle_stop', stop_reasons: ['bundle'] });
    expect((await sub(bb2.subscriberId)).status).toBe('normal'); // no fund left: not stopped by the linkage
    expect(commandsOf(bb.serviceNumber)).toEqual(['stop:two_way']);
    // idempotent: a second run does nothing
    expect((await env.ctx.jobs.runNow('credit-linked-stops')).result).toMatchObject({ due: 0 });
    // the mobile pays: the broadband resumes at once
    await pay(funded.accountId, 3000);
    expect((await sub(funded.mobile.subscriberId)).status).toBe('normal');
    expect((await sub(bb.subscriberId)).status).toBe('normal');
    expect(commandsOf(bb.serviceNumber)).toEqual(['stop:two_way', 'resume']);
  });

  test('R-INT-3 every credit SMS reaches the adapter through the relay path, once', async () => {
    await deliverSms();
    expect(await deliverSms()).toBe(0);
    const all = smsAdapter().sent();
    expect(new Set(all.map((m) => m.eventId)).size).toBe(all.length);
    expect(all.some((m) => m.templateCode === 'BUNDLE_MOBILE_ARREARS')).toBe(true);
  });

  test('R-ACC-18 conservation over every account after the credit-control tests', async () => {
    const r = await checkConservation(env.ctx.database.db);
    expect(r.differing).toEqual([]);
    expect(r.accountsChecked).toBeGreaterThan(10);
  });
});

async function actorWith(permission: string) {
  return { operatorId: null, username: 'credit-test', departmentId: 'ACCT', permissions: new Set([permission]) };
}
