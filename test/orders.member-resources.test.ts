// The order engine's first statement of a step (check, quote, submit) reads the numbers and cards of the
// order's members with the order (orderRepo's member_resources, resources' numberWithSimFacts, as JSON) instead
// of a statement of their own. What the rules see must be what the typed reads give (R-X-10 numbers, R-RES-4
// cards, R-ORD-1 checks): every column and its type, in every state a number or a card can be in.
import { sql } from 'kysely';
import { describe, expect, test } from 'vitest';
import { memberResources } from '../src/domains/orders/members.ts';
import { orderRepo } from '../src/domains/orders/repo.ts';
import { resourceRepo } from '../src/domains/resources/repo.ts';
import { codes, freeNumber, freeSim, newCustomer, openMobile, orderTestFile, OWNER_DOCS } from './order-helpers.ts';

const file = orderTestFile();

const db = () => file.env.ctx.database.db;
const SIM_FACTS = ['iccid', 'card_type', 'state', 'reserved_order_id', 'service_number', 'imsi', 'picked_by_department_id'] as const;

/** A draft OPEN_ACCOUNT order naming these members (number, card). */
async function draft(members: { serviceNumber: string; iccid?: string; network?: string }[]) {
  const c = await newCustomer(file.env.ctx);
  const res = await file.api.call('POST', '/api/v1/orders', { as: 'front_desk', body: {
    businessType: 'OPEN_ACCOUNT',
    customerId: c.customerId,
    documents: OWNER_DOCS,
    newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
    members: members.map((m, i) => ({ role: ['main', 'second', 'third', 'fourth', 'fifth'][i], network: m.network ?? 'wcdma3g', serviceNumber: m.serviceNumber, ...(m.iccid ? { iccid: m.iccid } : {}), planCode: 'W3-46' })),
  } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { orderId: number };
}

describe('R-ORD-1 members\' numbers and cards read with the order', () => {
  test('equal the typed reads of the number (with its level) and the card, in every state', async () => {
    const at = file.env.clock.now();
    const [free, reserved, frozen] = [await freeNumber(file.env.ctx), await freeNumber(file.env.ctx), await freeNumber(file.env.ctx)];
    // a number in use by a subscriber opened through an order (its holders: that subscriber)
    const inUse = (await openMobile(file.env, file.api)).serviceNumber;
    const [simFree, simReserved, simOther] = [await freeSim(file.env.ctx), await freeSim(file.env.ctx), await freeSim(file.env.ctx)];
    const someone = await newCustomer(file.env.ctx);
    // a number reserved online for another customer until tomorrow, one cooling down
    await db()
      .updateTable('numbers')
      .set({ state: 'reserved', reservation_kind: 'online', reserved_customer_id: someone.customerId, reserved_at: at, reserved_until: new Date(at.getTime() + 86_400_000) })
      .where('service_number', '=', reserved)
      .execute();
    await db().updateTable('numbers').set({ state: 'frozen', cooling_until: new Date(at.getTime() + 7 * 86_400_000) }).where('service_number', '=', frozen).execute();
    await db().updateTable('sim_cards').set({ state: 'reserved', service_number: reserved }).where('iccid', '=', simReserved).execute();
    const members = [
      { serviceNumber: free, iccid: simFree },
      { serviceNumber: reserved, iccid: simReserved },
      { serviceNumber: frozen, iccid: simOther },
      { serviceNumber: inUse, iccid: '8986009999999999999' },
      { serviceNumber: '13999999999', iccid: simOther },
    ];
    const { orderId } = await draft(members);

    const o = await orderRepo.withDepartment(db(), orderId);
    const read = memberResources(o as NonNullable<typeof o>);
    expect(read.size).toBe(members.length);
    for (const m of members) {
      const got = read.get(`${m.serviceNumber}\u0000${m.iccid}`);
      const number = await resourceRepo.numberWithLevel(db(), m.serviceNumber);
      if (!number) {
        // an unknown number: nothing read (the loader reads the card on its own, as before)
        expect(got, m.serviceNumber).toBeUndefined();
        continue;
      }
      // the same columns with the same values and types (dates as Date, ids and fen as numbers)
      expect(got?.number, m.serviceNumber).toStrictEqual({ ...number });
      const card = await resourceRepo.simByIccid(db(), m.iccid);
      expect(got?.sim, m.iccid).toStrictEqual(card ? Object.fromEntries(SIM_FACTS.map((k) => [k, card[k]])) : undefined);
      const holders = await db().selectFrom('subscribers').select(['network', 'lifecycle']).where('service_number', '=', m.serviceNumber).orderBy('subscriber_id').execute();
      expect(got?.holders).toStrictEqual(holders);
      if (m.serviceNumber === inUse) expect(holders).toHaveLength(1);
    }
    // the locked reads give the same
    const locked = await db().transaction().execute(async (tx) => {
      const l = await orderRepo.lockWithDepartment(tx, orderId);
      const s = await orderRepo.lockForSubmit(tx, orderId, at);
      return [memberResources(l as NonNullable<typeof l>), memberResources((s as NonNullable<typeof s>).order)];
    });
    expect(locked[0]).toStrictEqual(read);
    expect(locked[1]).toStrictEqual(read);
  });

  test('an order without members reads none; a member without a card is read by its loader', async () => {
    const n = await freeNumber(file.env.ctx);
    const { orderId } = await draft([{ serviceNumber: n }]);
    const o = await orderRepo.withDepartment(db(), orderId);
    expect(memberResources(o as NonNullable<typeof o>).size).toBe(0);
    const other = await sql<{ order_id: number }>`INSERT INTO orders (business_type, status, operator_id, department_id, input, created_at, updated_at)
      SELECT 'PAYMENT', 'draft', operator_id, department_id, '{"members": "not a list"}'::jsonb, now(), now() FROM operators WHERE username = 'front_desk' RETURNING order_id`.execute(db());
    const p = await orderRepo.withDepartment(db(), Number(other.rows[0]?.order_id));
    expect(p?.member_resources).toBeNull();
    expect(memberResources(p as NonNullable<typeof p>).size).toBe(0);
  });

  test('the check and the submission see a number taken after the order was read by another order', async () => {
    const c = await newCustomer(file.env.ctx);
    const [n, sim] = [await freeNumber(file.env.ctx), await freeSim(file.env.ctx)];
    const body = { businessType: 'OPEN_ACCOUNT', customerId: c.customerId, documents: OWNER_DOCS, newAccount: { billingType: 'virtual', paymentMethod: 'cash' }, members: [{ role: 'main', network: 'wcdma3g', serviceNumber: n, iccid: sim, planCode: 'W3-46' }] };
    const as = 'front_desk';
    const created = (await file.api.call('POST', '/api/v1/orders', { as, body })).body as { orderId: number };
    const checked = (await file.api.call('POST', `/api/v1/orders/${created.orderId}/check`, { as, body: {} })).body;
    expect(codes(checked)).toEqual([]);
    expect((await file.api.call('POST', `/api/v1/orders/${created.orderId}/quote`, { as, body: {} })).status).toBe(200);
    // the number goes to someone else between the quote and the submission
    const someone = await newCustomer(file.env.ctx);
    await db()
      .updateTable('numbers')
      .set({ state: 'reserved', reservation_kind: 'online', reserved_customer_id: someone.customerId, reserved_at: file.env.clock.now(), reserved_until: new Date(file.env.clock.now().getTime() + 3_600_000) })
      .where('service_number', '=', n)
      .execute();
    const submitted = await file.api.call('POST', `/api/v1/orders/${created.orderId}/submit`, { as, body: {} });
    expect(submitted.status).toBe(422);
    expect(submitted.body).toMatchObject({ code: 'ORDER_CHECK_FAILED' });
    expect(submitted.body.details.failures.map((f: { code: string }) => f.code)).toContain('NUMBER_RESERVED');
    const again = (await file.api.call('POST', `/api/v1/orders/${created.orderId}/check`, { as, body: {} })).body;
    expect(codes(again)).toContain('NUMBER_RESERVED');
  });
});
