// The order engine's check and quote run without a transaction and write with one statement guarded
// by the order's version; an order changed meanwhile is checked or quoted again under its lock
// (SPEC §7.1). The outcome, audit entries and events are those of the locked step. Also: an order's
// prestore into an account it did not open still lets credit control resume a line it pays (R-CC-2).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OrderService } from '../src/domains/orders/service.ts';
import { numberSubject } from '../src/domains/orders/facts.ts';
import { orderRepo } from '../src/domains/orders/repo.ts';
import type { Q, Tx } from '../src/platform/db.ts';
import { type Api, system, type TestEnv, testApi, testEnv } from './helpers.ts';
import { freeNumber, freeSim, newCustomer, openMobile, OWNER_DOCS, setupOrders } from './order-helpers.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  await setupOrders(env.ctx);
}, 240_000);
afterAll(async () => {
  await api?.app.close();
  await env?.close();
});

const frontDesk = async () => {
  const op = await env.ctx.database.db.selectFrom('operators').select(['operator_id', 'department_id']).where('username', '=', 'front_desk').executeTakeFirstOrThrow();
  return { operatorId: op.operator_id, username: 'front_desk', departmentId: op.department_id, permissions: new Set(['*']) };
};

/**
 * An OrderService whose step, after it has read the order, sees another step change it: `race` runs
 * (committed on its own) the first time the catalog's parameters are read (env() reads them right
 * after the order); by default the other step only bumps the order's version.
 */
function racedOrders(orderId: () => number, times: number, race?: () => Promise<unknown>) {
  const c = env.ctx;
  let left = times;
  const catalog = Object.create(c.catalog) as typeof c.catalog;
  catalog.parameters = async (q?: Q) => {
    if (left > 0) {
      left--;
      await (race ? race() : orderRepo.update(c.database.db, orderId(), {}, env.clock.now()));
    }
    return c.catalog.parameters(q);
  };
  return new OrderService({ db: c.database.db, clock: c.clock, customers: c.customers, accounts: c.accounts, money: c.money, catalog, resources: c.resources, bundles: c.bundles, network: c.network });
}

async function body() {
  const customer = await newCustomer(env.ctx);
  return {
    businessType: 'OPEN_ACCOUNT',
    customerId: customer.customerId,
    documents: OWNER_DOCS,
    newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
    members: [{ role: 'main', network: 'wcdma3g', serviceNumber: await freeNumber(env.ctx), iccid: await freeSim(env.ctx), planCode: 'W3-46' }],
    prestoreFen: 10000,
  };
}

async function trail(orderId: number) {
  const db = env.ctx.database.db;
  const audit = await db.selectFrom('audit_log').select('action').where('target_type', '=', 'order').where('target_id', '=', String(orderId)).orderBy('audit_id').execute();
  const events = await db.selectFrom('outbox').select('event_type').where('aggregate_type', '=', 'order').where('aggregate_id', '=', String(orderId)).orderBy('event_id').execute();
  return { audit: audit.map((a) => a.action), events: events.map((e) => e.event_type) };
}

describe('optimistic check and quote', () => {
  test('R-ORD-1 a check whose order changed after it was read is done again under the lock: the new input checked once, one audit entry and event', async () => {
    const actor = await frontDesk();
    const first = await body();
    const created = await env.ctx.orders.create(actor, first);
    const id = created.orderId;
    // meanwhile the draft's input changes (another number): the check must judge and describe the new one
    const second = { ...first, members: [{ ...first.members[0], serviceNumber: await freeNumber(env.ctx) }] };
    const orders = racedOrders(() => id, 1, () => env.ctx.orders.update(actor, id, second));
    const before = await orderRepo.byId(env.ctx.database.db, id);
    const checked = await orders.check(actor, id);
    expect(checked.status).toBe('checked');
    expect(checked.checks?.passed).toBe(true);
    const newNumber = String(second.members[0]?.serviceNumber);
    expect(JSON.stringify(checked.changes)).toContain(newNumber);
    expect(JSON.stringify(checked.changes)).not.toContain(String(first.members[0]?.serviceNumber));
    const after = await orderRepo.byId(env.ctx.database.db, id);
    // the concurrent change and the one check; the optimistic write wrote nothing
    expect(after?.version).toBe((before?.version ?? 0) + 2);
    expect(await trail(id)).toEqual({ audit: ['order.create', 'order.update', 'order.check'], events: ['order.created', 'order.updated', 'order.checked'] });
  });

  test('R-ORD-1 a failed check clears the fee lines in its one statement; raced, it does so under the lock', async () => {
    const actor = await frontDesk();
    const orders = env.ctx.orders;
    const b = await body();
    const created = await orders.create(actor, b);
    const id = created.orderId;
    expect((await orders.check(actor, id)).status).toBe('checked');
    expect((await orders.quote(actor, id)).fees.length).toBeGreaterThan(0);
    // the number goes meanwhile: the check fails, the quote's fee lines go
    await env.ctx.database.db.updateTable('numbers').set({ state: 'frozen', cooling_until: new Date(env.clock.now().getTime() + 86_400_000) }).where('service_number', '=', b.members[0]?.serviceNumber ?? '').execute();
    const failed = await racedOrders(() => id, 1).check(actor, id);
    expect(failed.status).toBe('draft');
    expect(failed.fees).toEqual([]);
    expect(await orderRepo.fees(env.ctx.database.db, id)).toEqual([]);
    expect((await trail(id)).audit).toEqual(['order.create', 'order.check', 'order.quote', 'order.check']);
    expect((await trail(id)).events).toEqual(['order.created', 'order.checked', 'order.quoted', 'order.check_failed']);
  });

  test('R-ORD-2 a quote whose order changed after it was read is done again under the lock: the fee lines once, one audit entry and event', async () => {
    const actor = await frontDesk();
    const orders = env.ctx.orders;
    const created = await orders.create(actor, await body());
    const id = created.orderId;
    await orders.check(actor, id);
    const raced = racedOrders(() => id, 1);
    const quoted = await raced.quote(actor, id, { waivers: [] });
    expect(quoted.status).toBe('quoted');
    const stored = await orderRepo.fees(env.ctx.database.db, id);
    expect(stored.map((f) => [f.line_no, f.fee_code, f.amount_fen])).toEqual(quoted.fees.map((f) => [f.lineNo, f.feeCode, f.amountFen]));
    expect(stored.length).toBeGreaterThan(0);
    expect(await trail(id)).toEqual({ audit: ['order.create', 'order.check', 'order.quote'], events: ['order.created', 'order.checked', 'order.quoted'] });
    // quoting again writes the lines over in its one statement
    const requoted = await orders.quote(actor, id, {});
    expect(requoted.fees.map((f) => f.lineNo)).toEqual(stored.map((f) => f.line_no));
    const submitted = await orders.submit(actor, id);
    expect(submitted.status).toBe('completed');
  });

  test('R-ORD-5 a hold another order takes after the check read its facts is found by the check\'s own write: one failed check naming that order', async () => {
    const actor = await frontDesk();
    const b = await body();
    const created = await env.ctx.orders.create(actor, b);
    const id = created.orderId;
    const other = await env.ctx.orders.create(actor, await body());
    const subject = numberSubject(String(b.members[0]?.serviceNumber));
    // the other order takes the number after this check has loaded its facts (the guard of the write sees it)
    const orders = racedOrders(() => id, 1, () => orderRepo.takeHolds(env.ctx.database.db, other.orderId, [subject], 'in_transit', null, env.clock.now()));
    const checked = await orders.check(actor, id);
    expect(checked.status).toBe('draft');
    expect(checked.checks?.failures.map((f) => [f.code, f.details?.orderId])).toEqual([['ORDER_IN_TRANSIT', other.orderId]]);
    expect(await trail(id)).toEqual({ audit: ['order.create', 'order.check'], events: ['order.created', 'order.check_failed'] });
    // once the other order lets go, the same order checks clean
    await orderRepo.releaseHolds(env.ctx.database.db, other.orderId);
    expect((await env.ctx.orders.check(actor, id)).status).toBe('checked');
  });

  test('R-ORD-5 the submission takes the holds of the subjects its check found with the order\'s lock; held by another order after the quote, it is refused and changes nothing', async () => {
    const actor = await frontDesk();
    const orders = env.ctx.orders;
    const db = env.ctx.database.db;
    const b = await body();
    const id = (await orders.create(actor, b)).orderId;
    const subject = numberSubject(String(b.members[0]?.serviceNumber));
    expect((await orders.check(actor, id)).status).toBe('checked');
    expect((await orderRepo.byId(db, id))?.hold_subjects).toEqual([subject]);
    await orders.quote(actor, id);
    const other = await orders.create(actor, await body());
    await orderRepo.takeHolds(db, other.orderId, [subject], 'in_transit', null, env.clock.now());
    await expect(orders.submit(actor, id)).rejects.toMatchObject({ code: 'ORDER_IN_TRANSIT', status: 409, details: { subjects: [subject] } });
    expect((await orderRepo.byId(db, id))?.status).toBe('quoted');
    expect(await db.selectFrom('order_holds').select(['subject', 'order_id']).where('subject', '=', subject).execute()).toEqual([{ subject, order_id: other.orderId }]);
    expect(await db.selectFrom('subscribers').select('subscriber_id').where('service_number', '=', String(b.members[0]?.serviceNumber)).execute()).toEqual([]);
    // released by the other order, the same submission completes and lets its own holds go
    await orderRepo.releaseHolds(db, other.orderId);
    expect((await orders.submit(actor, id)).status).toBe('completed');
    expect(await db.selectFrom('order_holds').select('subject').where('order_id', '=', id).execute()).toEqual([]);
  });

  test('R-ORD-1 a step that finds the order in another state after the race answers as the locked step would (409 ORDER_STATE)', async () => {
    const actor = await frontDesk();
    const created = await env.ctx.orders.create(actor, await body());
    const id = created.orderId;
    await env.ctx.orders.check(actor, id);
    await env.ctx.orders.quote(actor, id);
    // meanwhile the order is cancelled: the quote's optimistic write fails, the locked one refuses
    const c = env.ctx;
    const catalog = Object.create(c.catalog) as typeof c.catalog;
    let once = true;
    catalog.parameters = async (q?: Q) => {
      if (once) {
        once = false;
        await c.orders.cancel(actor, id, '客户改主意');
      }
      return c.catalog.parameters(q);
    };
    const orders = new OrderService({ db: c.database.db, clock: c.clock, customers: c.customers, accounts: c.accounts, money: c.money, catalog, resources: c.resources, bundles: c.bundles, network: c.network });
    await expect(orders.quote(actor, id)).rejects.toMatchObject({ code: 'ORDER_STATE' });
    expect((await orderRepo.byId(c.database.db, id))?.status).toBe('cancelled');
    expect((await trail(id)).audit).toEqual(['order.create', 'order.check', 'order.quote', 'order.cancel']);
  });
});

describe('prestores and credit control', () => {
  test('R-CC-2 a prestore of an order into an existing account resumes the line it stopped for arrears; a new account needs nothing', async () => {
    const first = await openMobile(env, api, { newAccount: { billingType: 'monthly', paymentMethod: 'cash' } });
    await env.ctx.money.postBill(system, first.accountId, { cycle: '2026-11', lines: [{ subscriberId: first.subscriberId, item: 'RENT_PLAN', amountFen: 3000 }] });
    await env.ctx.credit.evaluateAccounts([first.accountId]);
    const status = async (id: number) => (await env.ctx.database.db.selectFrom('subscribers').select('status').where('subscriber_id', '=', id).executeTakeFirstOrThrow()).status;
    expect(await status(first.subscriberId)).toBe('arrears_stop');
    // a second line on the same account with a prestore that covers the arrears
    const second = await openMobile(env, api, { customerId: first.customerId, accountId: first.accountId, prestoreFen: 5000 });
    expect(await status(first.subscriberId)).toBe('normal');
    expect(await status(second.subscriberId)).toBe('normal');
    // an order that opens its account: the line is normal and its prestore in its books
    const third = await openMobile(env, api, { prestoreFen: 5000 });
    expect(await status(third.subscriberId)).toBe('normal');
    const books = await env.ctx.database.db.selectFrom('books').select((eb) => eb.fn.sum<string>('balance_fen').as('total')).where('account_id', '=', third.accountId).executeTakeFirstOrThrow();
    expect(Number(books.total)).toBe(5000);
  });
});

describe('a new subscriber’s number and card in one statement', () => {
  test('R-RES-4 takeNumberAndBindSim writes what takeNumber and bindSim write; NUMBER_TAKEN before SIM_TAKEN, nothing kept', async () => {
    const db = env.ctx.database.db;
    const m = await openMobile(env, api);
    const n = await freeNumber(env.ctx);
    const card = await freeSim(env.ctx);
    const state = async () => ({
      number: (await db.selectFrom('numbers').select(['state', 'subscriber_id']).where('service_number', '=', n).executeTakeFirstOrThrow()),
      card: (await db.selectFrom('sim_cards').select(['state', 'subscriber_id', 'service_number']).where('iccid', '=', card).executeTakeFirstOrThrow()),
    });
    const before = await state();
    const lastAudit = (await db.selectFrom('audit_log').select((eb) => eb.fn.max('audit_id').as('id')).executeTakeFirstOrThrow()).id ?? 0;
    class Rollback extends Error {}
    // a new line of the customer's account, in the transaction (as the order creates it)
    const newLine = async (tx: Tx, serviceNumber: string) =>
      (await env.ctx.accounts.createSubscriber(system, { customerId: m.customerId, accountId: m.accountId, serviceNumber, network: 'wcdma3g' }, tx)).subscriberId;
    await expect(
      db.transaction().execute(async (tx) => {
        const sub = await newLine(tx, n);
        const r = await env.ctx.resources.takeNumberAndBindSim(tx, n, card, { subscriberId: sub });
        expect(r.sim.iccid).toBe(card);
        expect(r.number).toMatchObject({ serviceNumber: n, state: 'in_use' });
        expect(await tx.selectFrom('numbers').select(['state', 'subscriber_id']).where('service_number', '=', n).executeTakeFirstOrThrow()).toEqual({ state: 'in_use', subscriber_id: sub });
        expect(await tx.selectFrom('sim_cards').select(['state', 'subscriber_id', 'service_number']).where('iccid', '=', card).executeTakeFirstOrThrow()).toEqual({
          state: 'activated',
          subscriber_id: sub,
          service_number: n,
        });
        const events = await tx.selectFrom('sim_card_events').select(['event', 'to_state']).where('iccid', '=', card).where('event', '=', 'activated').execute();
        expect(events).toEqual([{ event: 'activated', to_state: 'activated' }]);
        const audit = await tx.selectFrom('audit_log').select(['action', 'target_id']).where('audit_id', '>', Number(lastAudit)).where('action', '<>', 'subscriber.create').orderBy('audit_id').execute();
        expect(audit).toEqual([
          { action: 'number.take', target_id: n },
          { action: 'sim.bind', target_id: card },
        ]);
        const outbox = await tx.selectFrom('outbox').select('event_type').where('aggregate_id', 'in', [n, card]).orderBy('event_id').execute();
        expect(outbox.map((e) => e.event_type)).toEqual(['number.taken', 'sim.activated']);
        throw new Rollback('look only');
      }),
    ).rejects.toBeInstanceOf(Rollback);
    expect(await state()).toEqual(before);
    // the card is another line's: SIM_TAKEN, and the number stays free
    await expect(db.transaction().execute(async (tx) => env.ctx.resources.takeNumberAndBindSim(tx, n, m.iccid, { subscriberId: await newLine(tx, n) }))).rejects.toMatchObject({ code: 'SIM_TAKEN', status: 409 });
    // the number is in use: NUMBER_TAKEN first, and the card stays in stock
    await expect(db.transaction().execute(async (tx) => env.ctx.resources.takeNumberAndBindSim(tx, m.serviceNumber, card, { subscriberId: await newLine(tx, '19999999999') }))).rejects.toMatchObject({
      code: 'NUMBER_TAKEN',
      status: 409,
    });
    expect(await state()).toEqual(before);
  });
});
