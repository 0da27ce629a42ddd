// Stock documents through the API (SPEC §10): transfers with two-step approval (R-RES-1), sender
// cancel and reject (R-X-12), agent picks (R-RES-2) and returns (R-RES-3), counts and min/max alerts,
// department scoping. Test cards are inserted directly (the importer is tested on its own).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { recordCardEvents } from '../src/domains/resources/card-events.ts';
import { auditStock } from '../src/domains/resources/stock-audit.ts';
import { luhnCheckDigit } from '../src/domains/resources/rules.ts';
import type { SimCardType } from '../src/platform/schema.ts';
import { type Api, onPostgres, testApi, testEnv, type TestEnv } from './helpers.ts';
import { expectProblem, snapshotTables } from './snapshot.ts';

let env: TestEnv;
let api: Api;
const P = '/api/v1';

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  // a channel of another branch, which 13ZDF16's keeper may not pick for
  await env.ctx.database.db
    .insertInto('departments')
    .values([
      { department_id: 'B2', parent_id: 'HQ', name: '和平分公司', kind: 'branch' },
      { department_id: 'C9', parent_id: 'B2', name: '和平渠道（社会渠道）', kind: 'channel' },
    ])
    .execute();
  // log every operator in first: a login is a change of its own (sessions, audit) that snapshots would see
  for (const u of ['admin', 'keeper', 'ess', 'agent', 'agent2', 'auditor', 'hall2', 'front_desk', 'nobody']) await api.token(u);
});
afterAll(() => env.close());

const db = () => env.ctx.database.db;
const OWNER: Record<string, string> = { '130041': 'B1', '13ZDF16': 'W1', '130041H1': 'H1', '130041H2': 'H2' };

let serial = 0;
/** `n` new cards in stock at the warehouse, consecutive ICCIDs (Luhn), each with its history row. */
async function cards(n: number, warehouseCode: string, cardType: SimCardType = 'blank_128k_micro'): Promise<string[]> {
  const now = env.ctx.clock.now();
  const rows = Array.from({ length: n }, () => {
    const body = `898601269${String(++serial).padStart(10, '0')}`;
    // finished cards (成卡) come with their IMSI
    const imsi = cardType === 'finished' ? `46001${String(8_000_000_000 + serial)}` : null;
    return { iccid: body + luhnCheckDigit(body), imsi, card_type: cardType, warehouse_code: warehouseCode, department_id: OWNER[warehouseCode] ?? null, state_changed_at: now, created_at: now };
  });
  await db().insertInto('sim_cards').values(rows).execute();
  const iccids = rows.map((r) => r.iccid);
  await recordCardEvents(db(), now, iccids, { event: 'imported' });
  return iccids;
}

const cardRows = (iccids: string[]) => db().selectFrom('sim_cards').selectAll().where('iccid', 'in', iccids).orderBy('iccid').execute();
const eventsOf = (iccid: string) => db().selectFrom('sim_card_events').select(['event', 'from_state', 'to_state', 'warehouse_code', 'holder_department_id', 'stock_order_id']).where('iccid', '=', iccid).orderBy('event_id').execute();
const auditOf = (id: number) => db().selectFrom('audit_log').select(['action', 'operator_id']).where('target_type', '=', 'stock_order').where('target_id', '=', String(id)).orderBy('audit_id').execute();
const outboxOf = (id: number) => db().selectFrom('outbox').select('event_type').where('aggregate_type', '=', 'stock_order').where('aggregate_id', '=', String(id)).orderBy('event_id').execute();
const act = (id: number, action: string, as: string, body?: unknown) => api.call('POST', `${P}/stock/documents/${id}/${action}`, { as, ...(body === undefined ? {} : { body }) });

/** Every card is on at most one document's items among open documents, and each locked card's lock is its open document. */
async function expectNoCardInTwoPlaces() {
  const twice = await sql<{ iccid: string }>`
    SELECT i.iccid FROM stock_order_items i JOIN stock_orders o ON o.stock_order_id = i.stock_order_id
     WHERE o.state IN ('pending', 'out_approved') GROUP BY i.iccid HAVING count(*) > 1`.execute(db());
  expect(twice.rows).toEqual([]);
  const wrongLock = await sql<{ iccid: string }>`
    SELECT c.iccid FROM sim_cards c LEFT JOIN stock_orders o ON o.stock_order_id = c.stock_order_id
     WHERE c.stock_order_id IS NOT NULL AND (o.state NOT IN ('pending', 'out_approved')
           OR NOT EXISTS (SELECT 1 FROM stock_order_items i WHERE i.stock_order_id = c.stock_order_id AND i.iccid = c.iccid))`.execute(db());
  expect(wrongLock.rows).toEqual([]);
}

/** The last history row of every card matches the card (place, holder, state). */
async function expectHistoryMatchesCards() {
  const off = await sql<{ iccid: string }>`
    SELECT c.iccid FROM sim_cards c
      JOIN LATERAL (SELECT * FROM sim_card_events e WHERE e.iccid = c.iccid ORDER BY e.event_id DESC LIMIT 1) e ON true
     WHERE e.to_state <> c.state OR e.warehouse_code IS DISTINCT FROM c.warehouse_code
        OR e.holder_department_id IS DISTINCT FROM coalesce(c.picked_by_department_id, c.department_id)`.execute(db());
  expect(off.rows).toEqual([]);
}

describe('R-RES-1 transfers with two-step approval', () => {
  test('R-RES-1 allocate 10 micro blank cards down to 13ZDF16: locked at the source, moved only when approved out then in, both audited', async () => {
    const iccids = await cards(10, '130041');
    const created = await api.call('POST', `${P}/stock/transfers`, {
      as: 'keeper',
      body: { kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'blank_128k_micro', quantity: 10, note: '下拨写卡库' },
    });
    expect(created.status).toBe(201);
    const doc = created.body;
    expect(doc).toMatchObject({ kind: 'allocate', state: 'pending', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', quantity: 10, selection: 'quantity', createdBy: { name: 'keeper' } });
    expect(doc.confirmMessage).toBeUndefined();
    expect([...doc.iccids].sort()).toEqual(iccids);
    const id = doc.stockOrderId as number;
    // locked, still at the source
    for (const c of await cardRows(iccids)) expect(c).toMatchObject({ warehouse_code: '130041', department_id: 'B1', state: 'in_stock', stock_order_id: id });
    const wh = await api.call('GET', `${P}/stock/warehouses`, { as: 'keeper' });
    expect(wh.body.items.map((w: { warehouseCode: string }) => w.warehouseCode)).toEqual(['130041']);
    expect(wh.body.items[0].stock.find((s: { cardType: string }) => s.cardType === 'blank_128k_micro')).toMatchObject({ inStock: 0, locked: 10 });

    // approving in before out: refused, nothing changes
    const before = await snapshotTables(env.ctx);
    const early = await act(id, 'approve-in', 'ess');
    expectProblem(early, 409, 'TRANSFER_NOT_OUT_APPROVED', 'in before out');
    // the target cannot approve out, the source cannot approve in
    expectProblem(await act(id, 'approve-out', 'ess'), 403, 'STOCK_DEPARTMENT_MISMATCH', 'target approves out');
    expect((await snapshotTables(env.ctx)).contents).toEqual(before.contents);

    const out = await act(id, 'approve-out', 'keeper');
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ state: 'out_approved', inApprovedAt: null });
    expect(out.body.outApprovedAt).toBeTruthy();
    for (const c of await cardRows(iccids)) expect(c).toMatchObject({ warehouse_code: '130041', stock_order_id: id });
    // double approval
    expectProblem(await act(id, 'approve-out', 'keeper'), 409, 'STOCK_DOCUMENT_STATE', 'double out');
    expectProblem(await act(id, 'approve-in', 'keeper'), 403, 'STOCK_DEPARTMENT_MISMATCH', 'source approves in');

    const inn = await act(id, 'approve-in', 'ess');
    expect(inn.status).toBe(200);
    expect(inn.body).toMatchObject({ state: 'completed' });
    for (const c of await cardRows(iccids)) expect(c).toMatchObject({ warehouse_code: '13ZDF16', department_id: 'W1', state: 'in_stock', stock_order_id: null });
    expectProblem(await act(id, 'approve-in', 'ess'), 409, 'STOCK_DOCUMENT_STATE', 'double in');

    expect((await eventsOf(iccids[0] as string)).map((e) => [e.event, e.warehouse_code, e.stock_order_id])).toEqual([
      ['imported', '130041', null],
      ['transfer_locked', '130041', id],
      ['transferred', '13ZDF16', id],
    ]);
    expect((await auditOf(id)).map((a) => a.action)).toEqual(['stock_order.create', 'stock_order.approve_out', 'stock_order.approve_in']);
    expect((await outboxOf(id)).map((e) => e.event_type)).toEqual(['stock_order.created', 'stock_order.out_approved', 'stock_order.completed']);
    const detail = await api.call('GET', `${P}/stock/cards/${iccids[0]}`, { as: 'ess' });
    expect(detail.body.card).toMatchObject({ iccid: iccids[0], warehouseCode: '13ZDF16', state: 'in_stock' });
    expect(detail.body.history.map((h: { event: string }) => h.event)).toEqual(['imported', 'transfer_locked', 'transferred']);
    expect(detail.body.history[2]).toMatchObject({ operatorName: 'ess', stockOrderId: id, toState: 'in_stock' });
  });

  test('R-RES-1 by ICCID list and range, all or nothing; an allocation goes down the tree; the source department only', async () => {
    const micro = await cards(6, '130041');
    const normal = await cards(2, '130041', 'blank_128k');
    const listed = await api.call('POST', `${P}/stock/transfers`, {
      as: 'keeper',
      body: { kind: 'transfer', sourceWarehouseCode: '130041', targetWarehouseCode: '130041H1', cardType: 'blank_128k_micro', iccids: micro.slice(0, 2) },
    });
    expect(listed.status).toBe(201);
    expect(listed.body).toMatchObject({ selection: 'iccid_list', quantity: 2, iccids: micro.slice(0, 2) });
    const ranged = await api.call('POST', `${P}/stock/transfers`, {
      as: 'keeper',
      body: { kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '130041H1', cardType: 'blank_128k_micro', range: { from: micro[2], to: micro[4] } },
    });
    expect(ranged.status).toBe(201);
    expect(ranged.body).toMatchObject({ selection: 'range', quantity: 3, iccids: micro.slice(2, 5) });

    const before = await snapshotTables(env.ctx);
    const base = { kind: 'transfer', sourceWarehouseCode: '130041', targetWarehouseCode: '130041H2', cardType: 'blank_128k_micro' };
    // one card of another type spoils the list: nothing is taken
    expectProblem(await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { ...base, iccids: [micro[5], normal[0]] } }), 409, 'STOCK_CARDS_UNAVAILABLE', 'wrong type in list');
    // a card already on an open document
    const locked = await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { ...base, iccids: [micro[5], micro[0]] } });
    expectProblem(locked, 409, 'STOCK_CARDS_LOCKED', 'locked card');
    expect(locked.body.details.failures[0].details.iccids).toEqual([micro[0]]);
    // a range that covers a locked card
    expectProblem(await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { ...base, range: { from: micro[4], to: micro[5] } } }), 409, 'STOCK_CARDS_LOCKED', 'range');
    expectProblem(await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { ...base, iccids: ['89860126999999999990'] } }), 422, 'SIM_NOT_FOUND', 'unknown card');
    expectProblem(await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { ...base, quantity: 100000 } }), 409, 'STOCK_INSUFFICIENT', 'too many');
    // allocation up the tree, the same warehouse, somebody else's warehouse, an unknown one
    expectProblem(
      await api.call('POST', `${P}/stock/transfers`, { as: 'ess', body: { ...base, kind: 'allocate', sourceWarehouseCode: '13ZDF16', targetWarehouseCode: '130041', quantity: 1 } }),
      422,
      'TRANSFER_NOT_DOWNWARD',
      'upward allocation',
    );
    expectProblem(await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { ...base, targetWarehouseCode: '130041', quantity: 1 } }), 422, 'TRANSFER_SAME_WAREHOUSE', 'same');
    expectProblem(await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { ...base, sourceWarehouseCode: '13ZDF16', quantity: 1 } }), 403, 'STOCK_DEPARTMENT_MISMATCH', 'not mine');
    expectProblem(await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { ...base, targetWarehouseCode: 'ZZZZ99', quantity: 1 } }), 404, 'WAREHOUSE_NOT_FOUND', 'unknown');
    // an agent may not transfer at all
    expectProblem(await api.call('POST', `${P}/stock/transfers`, { as: 'agent', body: { ...base, quantity: 1 } }), 403, 'FORBIDDEN', 'agent');
    const after = await snapshotTables(env.ctx);
    expect(after.counts).toEqual(before.counts);
    expect(after.contents).toEqual(before.contents);
    await expectNoCardInTwoPlaces();
  });
});

describe('R-X-12 the sender cancels until received; the target rejects', () => {
  test('R-X-12 cancel while pending and after the out approval releases the cards; after receipt TRANSFER_ALREADY_RECEIVED', async () => {
    const iccids = await cards(9, '130041');
    const mk = async (range: string[]) =>
      (
        await api.call('POST', `${P}/stock/transfers`, {
          as: 'keeper',
          body: { kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'blank_128k_micro', iccids: range },
        })
      ).body.stockOrderId as number;
    const a = await mk(iccids.slice(0, 3));
    const b = await mk(iccids.slice(3, 6));
    const c = await mk(iccids.slice(6, 9));

    // the receiver cannot cancel the sender's document
    expectProblem(await act(a, 'cancel', 'ess'), 403, 'STOCK_DEPARTMENT_MISMATCH', 'target cancels');
    const ca = await act(a, 'cancel', 'keeper', { reason: '数量有误' });
    expect(ca.body).toMatchObject({ state: 'cancelled', closeReason: '数量有误' });
    for (const r of await cardRows(iccids.slice(0, 3))) expect(r).toMatchObject({ warehouse_code: '130041', stock_order_id: null, state: 'in_stock' });
    expect((await eventsOf(iccids[0] as string)).map((e) => e.event)).toEqual(['imported', 'transfer_locked', 'transfer_released']);
    expectProblem(await act(a, 'cancel', 'keeper'), 409, 'STOCK_DOCUMENT_STATE', 'cancel twice');
    expectProblem(await act(a, 'approve-out', 'keeper'), 409, 'STOCK_DOCUMENT_STATE', 'approve a cancelled one');

    expect((await act(b, 'approve-out', 'keeper')).status).toBe(200);
    const cb = await act(b, 'cancel', 'keeper');
    expect(cb.body.state).toBe('cancelled');
    for (const r of await cardRows(iccids.slice(3, 6))) expect(r).toMatchObject({ warehouse_code: '130041', stock_order_id: null });
    expectProblem(await act(b, 'approve-in', 'ess'), 409, 'STOCK_DOCUMENT_STATE', 'receive a cancelled one');

    await act(c, 'approve-out', 'keeper');
    await act(c, 'approve-in', 'ess');
    const before = await snapshotTables(env.ctx);
    const late = await act(c, 'cancel', 'keeper');
    expectProblem(late, 409, 'TRANSFER_ALREADY_RECEIVED', 'cancel after receipt');
    expect((await snapshotTables(env.ctx)).contents).toEqual(before.contents);
    for (const r of await cardRows(iccids.slice(6, 9))) expect(r).toMatchObject({ warehouse_code: '13ZDF16', department_id: 'W1' });
    expect((await auditOf(a)).map((x) => x.action)).toEqual(['stock_order.create', 'stock_order.cancel']);
  });

  test('R-X-12 the target rejects after the out approval (not before); the cards stay at the source', async () => {
    const iccids = await cards(2, '130041');
    const id = (
      await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'blank_128k_micro', iccids } })
    ).body.stockOrderId as number;
    expectProblem(await act(id, 'reject', 'ess'), 409, 'STOCK_DOCUMENT_STATE', 'reject before out');
    await act(id, 'approve-out', 'keeper');
    expectProblem(await act(id, 'reject', 'keeper'), 403, 'STOCK_DEPARTMENT_MISMATCH', 'the sender rejects');
    const r = await act(id, 'reject', 'ess', { reason: '库位已满' });
    expect(r.body).toMatchObject({ state: 'rejected', closeReason: '库位已满' });
    for (const c of await cardRows(iccids)) expect(c).toMatchObject({ warehouse_code: '130041', department_id: 'B1', stock_order_id: null });
    expect((await eventsOf(iccids[0] as string)).map((e) => e.event)).toEqual(['imported', 'transfer_locked', 'transfer_released']);
    expect((await outboxOf(id)).map((e) => e.event_type)).toEqual(['stock_order.created', 'stock_order.out_approved', 'stock_order.rejected']);
    // the inbox and outbox
    const inbox = await api.call('GET', `${P}/stock/documents?box=in&kind=allocate&limit=200`, { as: 'ess' });
    expect(inbox.body.items.map((d: { stockOrderId: number }) => d.stockOrderId)).toContain(id);
    const outbox = await api.call('GET', `${P}/stock/documents?box=out&limit=200`, { as: 'ess' });
    expect(outbox.body.items.map((d: { stockOrderId: number }) => d.stockOrderId)).not.toContain(id);
    expect((await api.call('GET', `${P}/stock/documents/${id}`, { as: 'hall2' })).status).toBe(403);
    expect((await api.call('GET', `${P}/stock/documents/${id}`, { as: 'auditor' })).body.state).toBe('rejected');
  });
});

describe('R-RES-2 agent batch pick', () => {
  test('R-RES-2 the writing warehouse keeper picks for a channel: pending with 批量领卡成功，确认正式提交？, then confirmed', async () => {
    const iccids = await cards(5, '13ZDF16');
    const channels = await api.call('GET', `${P}/stock/channels`, { as: 'ess' });
    expect(channels.body.items.map((c: { departmentId: string }) => c.departmentId)).toEqual(['C1', 'C2']);
    const p = await api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { warehouseCode: '13ZDF16', channelDepartmentId: 'C1', cardType: 'blank_128k_micro', iccids } });
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({ kind: 'pick', state: 'pending', channelDepartmentId: 'C1', channelName: '河西宏达通讯（社会渠道）', quantity: 5 });
    expect(p.body.confirmMessage.zh).toBe('批量领卡成功，确认正式提交？');
    const id = p.body.stockOrderId as number;
    for (const c of await cardRows(iccids)) expect(c).toMatchObject({ state: 'in_stock', stock_order_id: id, picked_by_department_id: null });
    // the agent sees the pending pick for its channel, but may not confirm it
    expect((await api.call('GET', `${P}/stock/documents/${id}`, { as: 'agent' })).body.confirmMessage).toBeDefined();
    expectProblem(await act(id, 'confirm', 'agent'), 403, 'FORBIDDEN', 'agent confirms');
    expectProblem(await act(id, 'approve-out', 'ess'), 422, 'STOCK_DOCUMENT_KIND', 'approve a pick');

    const ok = await act(id, 'confirm', 'ess');
    expect(ok.status).toBe(200);
    expect(ok.body.state).toBe('completed');
    expect(ok.body.confirmMessage).toBeUndefined();
    for (const c of await cardRows(iccids)) expect(c).toMatchObject({ state: 'picked', picked_by_department_id: 'C1', warehouse_code: '13ZDF16', department_id: 'W1', stock_order_id: null });
    expectProblem(await act(id, 'confirm', 'ess'), 409, 'STOCK_DOCUMENT_STATE', 'confirm twice');
    expect((await eventsOf(iccids[0] as string)).map((e) => [e.event, e.to_state, e.holder_department_id])).toEqual([
      ['imported', 'in_stock', 'W1'],
      ['pick_locked', 'in_stock', 'W1'],
      ['picked', 'picked', 'C1'],
    ]);
    // the channel's agent sees its cards; another channel's does not
    const mine = await api.call('GET', `${P}/stock/cards?channelDepartmentId=C1&state=picked&limit=500`, { as: 'agent' });
    expect(mine.body.items.map((c: { iccid: string }) => c.iccid)).toEqual(expect.arrayContaining(iccids));
    const theirs = await api.call('GET', `${P}/stock/cards?channelDepartmentId=C1&limit=500`, { as: 'agent2' });
    expect(theirs.body.items).toEqual([]);
    expectProblem(await api.call('GET', `${P}/stock/cards/${iccids[0]}`, { as: 'agent2' }), 403, 'STOCK_DEPARTMENT_MISMATCH', 'other channel card');

    // a quantity pick, cancelled: the cards are released
    await cards(3, '13ZDF16', 'blank_128k');
    const q = await api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { warehouseCode: '13ZDF16', channelDepartmentId: 'C2', cardType: 'blank_128k', quantity: 3 } });
    expect(q.status).toBe(201);
    const cancelled = await act(q.body.stockOrderId, 'cancel', 'ess');
    expect(cancelled.body.state).toBe('cancelled');
    expect(await db().selectFrom('sim_cards').select('iccid').where('stock_order_id', '=', q.body.stockOrderId).execute()).toEqual([]);
    await expectHistoryMatchesCards();
  });

  test("R-RES-2 refused when the operator's department is not the warehouse's, for another branch's channel, or an unknown one; nothing changes", async () => {
    await cards(2, '13ZDF16');
    const before = await snapshotTables(env.ctx);
    const body = { warehouseCode: '13ZDF16', channelDepartmentId: 'C1', cardType: 'blank_128k_micro', quantity: 1 };
    const mismatch = await api.call('POST', `${P}/stock/picks`, { as: 'keeper', body });
    expectProblem(mismatch, 403, 'STOCK_DEPARTMENT_MISMATCH', 'department mismatch');
    expect(mismatch.body.messages.zh).toContain('部门不一致');
    expectProblem(await api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { ...body, channelDepartmentId: 'C9' } }), 403, 'STOCK_CHANNEL_NOT_ALLOWED', 'foreign channel');
    expectProblem(await api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { ...body, channelDepartmentId: 'H1' } }), 422, 'UNKNOWN_CHANNEL', 'a hall is no channel');
    expectProblem(await api.call('POST', `${P}/stock/picks`, { as: 'agent', body }), 403, 'FORBIDDEN', 'agent picks');
    expectProblem(await api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { ...body, warehouseCode: 'NONE1' } }), 404, 'WAREHOUSE_NOT_FOUND', 'unknown warehouse');
    const after = await snapshotTables(env.ctx);
    expect(after.counts).toEqual(before.counts);
    expect(after.contents).toEqual(before.contents);
  });

  test('R-RES-2 concurrent picks of the same cards: one wins, no card in two places', async () => {
    const iccids = await cards(12, '13ZDF16', 'finished');
    const N = 6;
    const body = { warehouseCode: '13ZDF16', channelDepartmentId: 'C1', cardType: 'finished', iccids };
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { ...body, channelDepartmentId: i % 2 ? 'C1' : 'C2' } })));
    expect(rs.map((r) => r.status).sort()).toEqual([201, ...Array<number>(N - 1).fill(409)]);
    for (const r of rs.filter((x) => x.status !== 201)) expectProblem(r, 409, 'STOCK_CARDS_LOCKED', 'loser');
    const winner = rs.find((r) => r.status === 201)?.body.stockOrderId as number;
    for (const c of await cardRows(iccids)) expect(c.stock_order_id).toBe(winner);
    const items = await db().selectFrom('stock_order_items').select('stock_order_id').where('iccid', 'in', iccids).execute();
    expect(new Set(items.map((i) => i.stock_order_id))).toEqual(new Set([winner]));
    await expectNoCardInTwoPlaces();
  });

  test('R-RES-2 concurrent picks by quantity take disjoint cards (FOR UPDATE SKIP LOCKED); the ones left short are refused', async () => {
    const iccids = await cards(30, '13ZDF16', 'blank_128k');
    const available = async () => (await api.call('GET', `${P}/stock/warehouses`, { as: 'ess' })).body.items[0].stock.find((s: { cardType: string }) => s.cardType === 'blank_128k').inStock as number;
    const total = await available();
    expect(total).toBeGreaterThanOrEqual(30);
    const N = 8;
    const each = Math.floor(total / 3) + 1; // at most 2 can win
    const rs = await Promise.all(
      Array.from({ length: N }, () => api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { warehouseCode: '13ZDF16', channelDepartmentId: 'C1', cardType: 'blank_128k', quantity: each } })),
    );
    const won = rs.filter((r) => r.status === 201);
    // at most two fit; under contention SKIP LOCKED may leave a would-be winner short (refused, never doubled)
    expect(won.length).toBeGreaterThanOrEqual(1);
    expect(won.length).toBeLessThanOrEqual(2);
    for (const r of rs.filter((x) => x.status !== 201)) expectProblem(r, 409, 'STOCK_INSUFFICIENT', 'short');
    const taken = won.flatMap((r) => r.body.iccids as string[]);
    expect(new Set(taken).size).toBe(taken.length);
    const locked = await db().selectFrom('sim_cards').select(['iccid', 'stock_order_id']).where('stock_order_id', 'in', won.map((r) => r.body.stockOrderId)).execute();
    expect(locked).toHaveLength(won.length * each);
    expect(await available()).toBe(total - won.length * each);
    await expectNoCardInTwoPlaces();
    // confirm both in parallel, then everything taken was picked exactly once
    const confirmed = await Promise.all(won.map((r) => act(r.body.stockOrderId, 'confirm', 'ess')));
    expect(confirmed.map((r) => r.status)).toEqual(won.map(() => 200));
    const picked = await db().selectFrom('sim_cards').select('iccid').where('iccid', 'in', iccids).where('state', '=', 'picked').execute();
    expect(picked.length).toBeLessThanOrEqual(30);
    await expectHistoryMatchesCards();
  });

  test('R-RES-2 R-RES-1 picks and transfers racing for overlapping cards by list, range and quantity: disjoint winners, never a 500', async () => {
    for (let round = 0; round < 4; round++) {
      const iccids = await cards(8, '13ZDF16', 'blank_128k_micro');
      const base = { warehouseCode: '13ZDF16', channelDepartmentId: 'C1', cardType: 'blank_128k_micro' };
      const transfer = { kind: 'transfer', sourceWarehouseCode: '13ZDF16', targetWarehouseCode: '130041H1', cardType: 'blank_128k_micro' };
      const rs = await Promise.all([
        api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { ...base, iccids: iccids.slice(0, 5) } }),
        api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { ...base, channelDepartmentId: 'C2', range: { from: iccids[3], to: iccids[7] } } }),
        api.call('POST', `${P}/stock/transfers`, { as: 'ess', body: { ...transfer, iccids: [iccids[7], iccids[4], iccids[0]] } }),
        api.call('POST', `${P}/stock/transfers`, { as: 'ess', body: { ...transfer, range: { from: iccids[1], to: iccids[2] } } }),
        api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { ...base, quantity: 2 } }),
      ]);
      for (const r of rs) expect([201, 409], JSON.stringify(r.body).slice(0, 200)).toContain(r.status);
      const won = rs.filter((r) => r.status === 201);
      expect(won.length).toBeGreaterThanOrEqual(1);
      // the first two overlap (cards 3 and 4), all or nothing: they cannot both win
      expect(rs[0]?.status === 201 && rs[1]?.status === 201).toBe(false);
      const taken = won.flatMap((r) => r.body.iccids as string[]);
      expect(new Set(taken).size, `round ${round}`).toBe(taken.length);
      for (const r of won) {
        const rows = await db().selectFrom('sim_cards').select('stock_order_id').where('iccid', 'in', r.body.iccids).execute();
        expect(rows.every((c) => c.stock_order_id === r.body.stockOrderId)).toBe(true);
      }
      await expectNoCardInTwoPlaces();
      // release them for the next rounds' quantity picks
      for (const r of won) expect((await act(r.body.stockOrderId, 'cancel', 'ess')).status).toBe(200);
    }
    await expectHistoryMatchesCards();
  });

  test('R-RES-1 concurrent double approval: one wins, the other gets STOCK_DOCUMENT_STATE; the cards move once', async () => {
    const iccids = await cards(4, '130041', 'finished');
    const id = (
      await api.call('POST', `${P}/stock/transfers`, { as: 'keeper', body: { kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'finished', iccids } })
    ).body.stockOrderId as number;
    const outs = await Promise.all([act(id, 'approve-out', 'keeper'), act(id, 'approve-out', 'keeper'), act(id, 'cancel', 'keeper')]);
    expect(outs.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    const state = (await api.call('GET', `${P}/stock/documents/${id}`, { as: 'keeper' })).body.state;
    if (state === 'out_approved') {
      const ins = await Promise.all([act(id, 'approve-in', 'ess'), act(id, 'approve-in', 'ess')]);
      expect(ins.map((r) => r.status).sort()).toEqual([200, 409]);
      for (const c of await cardRows(iccids)) expect(c.warehouse_code).toBe('13ZDF16');
      expect((await eventsOf(iccids[0] as string)).filter((e) => e.event === 'transferred')).toHaveLength(1);
    }
    for (const r of outs.filter((x) => x.status !== 200)) expect(r.status).toBe(409);
    await expectNoCardInTwoPlaces();
  });
});

describe('R-RES-3 agent batch return', () => {
  const pick = async (iccids: string[], channel: string) => {
    const p = await api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { warehouseCode: '13ZDF16', channelDepartmentId: channel, cardType: 'blank_128k_micro', iccids } });
    expect(p.status).toBe(201);
    expect((await act(p.body.stockOrderId, 'confirm', 'ess')).status).toBe(200);
  };

  test('R-RES-3 a return mixing two channels is refused with 卡库位不一致 and nothing changes', async () => {
    const c1 = await cards(3, '13ZDF16');
    const c2 = await cards(2, '13ZDF16');
    await pick(c1, 'C1');
    await pick(c2, 'C2');
    const before = await snapshotTables(env.ctx);
    const mixed = await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'C1', iccids: [...c1, c2[0]] } });
    expectProblem(mixed, 422, 'CARD_LOCATION_MISMATCH', 'mixed channels');
    expect(mixed.body.messages.zh).toBe('卡库位不一致');
    expect(mixed.body.details.failures[0].details.iccids).toEqual([c2[0]]);
    // by range: the range c1[0]..c2[1] spans both channels' cards
    const ranged = await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'C1', range: { from: c1[0], to: c2[1] } } });
    expectProblem(ranged, 422, 'CARD_LOCATION_MISMATCH', 'range over two channels');
    expect(ranged.body.messages.zh).toBe('卡库位不一致');
    // a card still in stock was never picked
    const [stock] = await cards(1, '13ZDF16');
    const beforeStock = await snapshotTables(env.ctx);
    expectProblem(await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'C1', iccids: [c1[0], stock] } }), 422, 'CARD_LOCATION_MISMATCH', 'in stock card');
    // the wrong department, an unknown card, an unknown channel
    expectProblem(await api.call('POST', `${P}/stock/returns`, { as: 'keeper', body: { channelDepartmentId: 'C1', iccids: c1 } }), 403, 'STOCK_DEPARTMENT_MISMATCH', 'keeper returns');
    expectProblem(await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'C1', iccids: [c1[0], '89860126999999999990'] } }), 422, 'SIM_NOT_FOUND', 'unknown');
    expectProblem(await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'NOPE', iccids: c1 } }), 422, 'UNKNOWN_CHANNEL', 'channel');
    const after = await snapshotTables(env.ctx);
    expect(after.counts).toEqual(beforeStock.counts);
    expect(after.contents).toEqual(beforeStock.contents);
    expect(before.counts.stock_orders).toBe(beforeStock.counts.stock_orders);
    for (const c of await cardRows(c1)) expect(c).toMatchObject({ state: 'picked', picked_by_department_id: 'C1', stock_order_id: null });
  });

  test('R-RES-3 return by range and by list: pending until confirmed, then back in stock at the writing warehouse', async () => {
    const iccids = await cards(6, '13ZDF16');
    await pick(iccids, 'C1');
    const r = await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'C1', range: { from: iccids[0], to: iccids[3] } } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'return', state: 'pending', selection: 'range', quantity: 4, sourceWarehouseCode: '13ZDF16', channelDepartmentId: 'C1', iccids: iccids.slice(0, 4) });
    // a card of a pending return cannot be returned twice
    expectProblem(await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'C1', iccids: [iccids[0]] } }), 409, 'STOCK_CARDS_LOCKED', 'twice');
    const ok = await act(r.body.stockOrderId, 'confirm', 'ess');
    expect(ok.body.state).toBe('completed');
    for (const c of await cardRows(iccids.slice(0, 4))) expect(c).toMatchObject({ state: 'in_stock', picked_by_department_id: null, picked_at: null, warehouse_code: '13ZDF16', department_id: 'W1', stock_order_id: null });
    for (const c of await cardRows(iccids.slice(4))) expect(c).toMatchObject({ state: 'picked', picked_by_department_id: 'C1' });
    expect((await eventsOf(iccids[0] as string)).map((e) => [e.event, e.to_state])).toEqual([
      ['imported', 'in_stock'],
      ['pick_locked', 'in_stock'],
      ['picked', 'picked'],
      ['return_locked', 'picked'],
      ['returned', 'in_stock'],
    ]);
    // a written card cannot be returned
    await db().updateTable('sim_cards').set({ state: 'written', imsi: '460011234567890' }).where('iccid', '=', iccids[5] as string).execute();
    expectProblem(await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'C1', iccids: iccids.slice(4) } }), 409, 'CARD_NOT_RETURNABLE', 'written');
    const l = await api.call('POST', `${P}/stock/returns`, { as: 'ess', body: { channelDepartmentId: 'C1', iccids: [iccids[4]] } });
    expect(l.body).toMatchObject({ selection: 'iccid_list', quantity: 1 });
    expect((await act(l.body.stockOrderId, 'cancel', 'ess')).body.state).toBe('cancelled');
    expect((await cardRows([iccids[4] as string]))[0]).toMatchObject({ state: 'picked', stock_order_id: null });
    await db().updateTable('sim_cards').set({ state: 'picked', imsi: null }).where('iccid', '=', iccids[5] as string).execute();
  });
});

describe('R-X-12 counts and min/max alerts', () => {
  test('R-X-12 a count records its difference; by ICCID list the missing and unexpected cards', async () => {
    await cards(4, '130041H2', 'finished');
    const byQty = await api.call('POST', `${P}/stock/counts`, { as: 'admin', body: { warehouseCode: '130041H2', cardType: 'finished', countedQuantity: 3, note: '月末盘点' } });
    expect(byQty.status).toBe(201);
    expect(byQty.body).toMatchObject({ bookQuantity: 4, countedQuantity: 3, difference: -1, missing: [], unexpected: [] });
    const book = (await db().selectFrom('sim_cards').select('iccid').where('warehouse_code', '=', '130041H2').where('card_type', '=', 'finished').orderBy('iccid').execute()).map((r) => r.iccid);
    const [stranger] = await cards(1, '130041H1', 'finished');
    const byList = await api.call('POST', `${P}/stock/counts`, { as: 'admin', body: { warehouseCode: '130041H2', cardType: 'finished', iccids: [...book.slice(1), stranger] } });
    expect(byList.body).toMatchObject({ bookQuantity: 4, countedQuantity: 4, difference: 0, missing: [book[0]], unexpected: [stranger], missingCount: 1, unexpectedCount: 1 });
    const rows = await db().selectFrom('stock_count_differences').select(['iccid', 'kind']).where('count_id', '=', byList.body.countId).orderBy('kind').execute();
    expect(rows).toEqual([
      { iccid: book[0], kind: 'missing' },
      { iccid: stranger, kind: 'unexpected' },
    ]);
    const list = await api.call('GET', `${P}/stock/counts?warehouseCode=130041H2`, { as: 'auditor' });
    expect(list.body.items.map((c: { countId: number }) => c.countId)).toEqual([byList.body.countId, byQty.body.countId]);
    expect(await db().selectFrom('audit_log').select('action').where('action', '=', 'stock.count').execute()).toHaveLength(2);
    // the keeper of another warehouse cannot count it; a hall operator without stock.count cannot count at all
    expectProblem(await api.call('POST', `${P}/stock/counts`, { as: 'ess', body: { warehouseCode: '130041H2', cardType: 'finished', countedQuantity: 1 } }), 403, 'STOCK_DEPARTMENT_MISMATCH', 'count');
    expectProblem(await api.call('POST', `${P}/stock/counts`, { as: 'hall2', body: { warehouseCode: '130041H2', cardType: 'finished', countedQuantity: 1 } }), 403, 'FORBIDDEN', 'no stock.count');
    expect((await api.call('GET', `${P}/stock/counts`, { as: 'ess' })).body.items).toEqual([]);
  });

  test('R-X-12 min/max per warehouse and card type: alerts in the overview, an alert event when a move crosses a bound', async () => {
    await cards(6, '13ZDF16', 'blank_128k_micro');
    const wh = async () => (await api.call('GET', `${P}/stock/warehouses`, { as: 'ess' })).body.items[0].stock.find((s: { cardType: string }) => s.cardType === 'blank_128k_micro');
    const available = (await wh()).inStock as number;
    const set = await api.call('PUT', `${P}/stock/warehouses/13ZDF16/limits`, { as: 'ess', body: { limits: [{ cardType: 'blank_128k_micro', minQuantity: available - 2, maxQuantity: available + 5 }] } });
    expect(set.status).toBe(200);
    expect(set.body.stock.find((s: { cardType: string }) => s.cardType === 'blank_128k_micro')).toMatchObject({ inStock: available, minQuantity: available - 2, alert: null });
    expect((await api.call('GET', `${P}/stock/alerts`, { as: 'ess' })).body.items).toEqual([]);

    // a pick of 3 takes the available stock below the minimum
    const p = await api.call('POST', `${P}/stock/picks`, { as: 'ess', body: { warehouseCode: '13ZDF16', channelDepartmentId: 'C1', cardType: 'blank_128k_micro', quantity: 3 } });
    expect(p.status).toBe(201);
    expect(await wh()).toMatchObject({ inStock: available - 3, alert: 'below_min' });
    const alerts = await api.call('GET', `${P}/stock/alerts`, { as: 'ess' });
    expect(alerts.body.items).toEqual([{ warehouseCode: '13ZDF16', name: '河西社会渠道现场写卡库', departmentId: 'W1', cardType: 'blank_128k_micro', inStock: available - 3, minQuantity: available - 2, maxQuantity: available + 5, alert: 'below_min' }]);
    const events = await db().selectFrom('outbox').select(['event_type', 'payload']).where('event_type', '=', 'stock.alert_raised').execute();
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toMatchObject({ warehouseCode: '13ZDF16', alert: 'below_min' });
    // the keeper of the branch does not see the writing warehouse's alert; the auditor does
    expect((await api.call('GET', `${P}/stock/alerts`, { as: 'keeper' })).body.items).toEqual([]);
    expect((await api.call('GET', `${P}/stock/alerts`, { as: 'auditor' })).body.items).toHaveLength(1);
    // cancelling releases the cards: no longer below the minimum
    await act(p.body.stockOrderId, 'cancel', 'ess');
    expect((await wh()).alert).toBeNull();
    // above the maximum
    await api.call('PUT', `${P}/stock/warehouses/13ZDF16/limits`, { as: 'ess', body: { limits: [{ cardType: 'blank_128k_micro', minQuantity: 0, maxQuantity: 1 }] } });
    expect((await wh()).alert).toBe('above_max');

    const before = await snapshotTables(env.ctx);
    const bad = [
      { limits: [{ cardType: 'blank_128k_micro', minQuantity: 5, maxQuantity: 2 }] },
      { limits: [{ cardType: 'finished', minQuantity: 1, maxQuantity: 2 }, { cardType: 'finished', minQuantity: 1, maxQuantity: 3 }] },
    ];
    for (const body of bad) expectProblem(await api.call('PUT', `${P}/stock/warehouses/13ZDF16/limits`, { as: 'ess', body }), 422, 'STOCK_LIMITS_INVALID', JSON.stringify(body));
    expectProblem(await api.call('PUT', `${P}/stock/warehouses/130041/limits`, { as: 'ess', body: { limits: [{ cardType: 'finished', minQuantity: 0, maxQuantity: 9 }] } }), 403, 'STOCK_DEPARTMENT_MISMATCH', 'not mine');
    expectProblem(await api.call('PUT', `${P}/stock/warehouses/ZZZZ99/limits`, { as: 'admin', body: { limits: [{ cardType: 'finished', minQuantity: 0, maxQuantity: 9 }] } }), 404, 'WAREHOUSE_NOT_FOUND', 'unknown');
    const after = await snapshotTables(env.ctx);
    expect(after.contents).toEqual(before.contents);
  });
});

describe('scoping by department', () => {
  test('warehouses, cards and documents are filtered by the operator\'s department; stock.all sees all with whole IMSIs', async () => {
    const [card] = await cards(1, '130041', 'finished');
    await db().updateTable('sim_cards').set({ imsi: '460011234567890' }).where('iccid', '=', card as string).execute();
    const keeperView = await api.call('GET', `${P}/stock/cards/${card}`, { as: 'keeper' });
    expect(keeperView.body.card.imsi).toBe('46001123****890');
    expect(keeperView.body.card.hasCardData).toBe(false);
    expect((await api.call('GET', `${P}/stock/cards/${card}`, { as: 'auditor' })).body.card.imsi).toBe('460011234567890');
    expectProblem(await api.call('GET', `${P}/stock/cards/${card}`, { as: 'ess' }), 403, 'STOCK_DEPARTMENT_MISMATCH', 'other department');
    expectProblem(await api.call('GET', `${P}/stock/cards/89860126999999999990`, { as: 'ess' }), 404, 'SIM_NOT_FOUND', 'unknown');
    const essCards = await api.call('GET', `${P}/stock/cards?warehouseCode=130041`, { as: 'ess' });
    expect(essCards.body.items).toEqual([]);
    const all = await api.call('GET', `${P}/stock/warehouses`, { as: 'auditor' });
    expect(all.body.items.map((w: { warehouseCode: string }) => w.warehouseCode)).toEqual(['130041', '130041H1', '130041H2', '13ZDF16']);
    expect((await api.call('GET', `${P}/stock/warehouses`, { as: 'agent' })).body.items).toEqual([]);
    const page1 = await api.call('GET', `${P}/stock/cards?warehouseCode=130041&limit=2`, { as: 'keeper' });
    expect(page1.body.items).toHaveLength(2);
    const page2 = await api.call('GET', `${P}/stock/cards?warehouseCode=130041&limit=2&after=${page1.body.next}`, { as: 'keeper' });
    expect(page2.body.items[0].iccid > page1.body.items[1].iccid).toBe(true);
    const docs = await api.call('GET', `${P}/stock/documents?limit=200`, { as: 'hall2' });
    expect(docs.body.items).toEqual([]);
    expect((await api.call('GET', `${P}/stock/stock`, { as: 'nobody' })).status).toBe(404);
    expectProblem(await api.call('GET', `${P}/stock/warehouses`, { as: 'nobody' }), 403, 'FORBIDDEN', 'no stock.read');
    await expectHistoryMatchesCards();
  });
});

describe('bad input', () => {
  test('bad input → 4xx problem+json and nothing changes', async () => {
    const [a, b] = await cards(2, '13ZDF16', 'finished');
    const before = await snapshotTables(env.ctx);
    const pick = { warehouseCode: '13ZDF16', channelDepartmentId: 'C1', cardType: 'finished' };
    const cases: [string, string, unknown, number, string?][] = [
      ['POST', '/stock/picks', { ...pick }, 422, 'STOCK_SELECTION_INVALID'],
      ['POST', '/stock/picks', { ...pick, quantity: 1, iccids: [a] }, 422, 'STOCK_SELECTION_INVALID'],
      ['POST', '/stock/picks', { ...pick, iccids: [a, a] }, 422, 'STOCK_SELECTION_INVALID'],
      ['POST', '/stock/picks', { ...pick, range: { from: b, to: a } }, 422, 'STOCK_SELECTION_INVALID'],
      ['POST', '/stock/picks', { ...pick, range: { from: '8986012690000000001', to: b } }, 422, 'STOCK_SELECTION_INVALID'],
      ['POST', '/stock/picks', { ...pick, range: { from: '89860126000000000000', to: '89860126000000000001' } }, 422, 'STOCK_SELECTION_INVALID'],
      ['POST', '/stock/picks', { ...pick, quantity: 0 }, 400],
      ['POST', '/stock/picks', { ...pick, quantity: '1' }, 400],
      ['POST', '/stock/picks', { ...pick, iccids: [] }, 400],
      ['POST', '/stock/picks', { ...pick, iccids: ['12ab'] }, 400],
      ['POST', '/stock/picks', { ...pick, cardType: 'gold', quantity: 1 }, 400],
      ['POST', '/stock/picks', { ...pick, quantity: 1, extra: true }, 400],
      ['POST', '/stock/returns', { channelDepartmentId: 'C1', quantity: 1 }, 400],
      ['POST', '/stock/returns', { channelDepartmentId: 'C1' }, 422, 'STOCK_SELECTION_INVALID'],
      ['POST', '/stock/transfers', { kind: 'sideways', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'finished', quantity: 1 }, 400],
      ['POST', '/stock/transfers', { kind: 'allocate', sourceWarehouseCode: 'x', targetWarehouseCode: '13ZDF16', cardType: 'finished', quantity: 1 }, 400],
      ['POST', '/stock/counts', { warehouseCode: '13ZDF16', cardType: 'finished' }, 422, 'STOCK_SELECTION_INVALID'],
      ['POST', '/stock/counts', { warehouseCode: '13ZDF16', cardType: 'finished', countedQuantity: -1 }, 400],
      ['PUT', '/stock/warehouses/13ZDF16/limits', { limits: [] }, 400],
      ['PUT', '/stock/warehouses/bad code/limits', { limits: [{ cardType: 'finished', minQuantity: 0, maxQuantity: 1 }] }, 400],
      ['POST', '/stock/documents/987654/confirm', undefined, 404, 'STOCK_DOCUMENT_NOT_FOUND'],
      ['POST', '/stock/documents/abc/confirm', undefined, 400],
      ['POST', '/stock/documents/987654/cancel', { reason: '' }, 400],
      ['GET', '/stock/documents/987654', undefined, 404, 'STOCK_DOCUMENT_NOT_FOUND'],
      ['GET', '/stock/cards?state=lost', undefined, 400],
      ['GET', '/stock/cards?limit=0', undefined, 400],
      ['GET', '/stock/documents?box=sideways', undefined, 400],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await api.call(method, `${P}${path.replace(' ', '%20')}`, { as: 'ess', ...(body === undefined ? {} : { body }) });
      expectProblem(r, status, code, `${method} ${path} ${JSON.stringify(body)}`);
    }
    const after = await snapshotTables(env.ctx);
    expect(after.counts).toEqual(before.counts);
    expect(after.contents).toEqual(before.contents);
  });
});

test('stock conservation after every document above: openboss audit stock finds no difference', async () => {
  const report = await auditStock(db());
  expect(report.cards).toBeGreaterThan(100);
  expect(report.differences).toEqual([]);
});

test('the stock routes are in the OpenAPI document with examples', async () => {
  const doc = await api.call('GET', '/openapi.json', { as: null });
  const paths = doc.body.paths as Record<string, Record<string, { requestBody?: { content: Record<string, { example?: unknown }> } }>>;
  for (const [path, method] of [
    ['/api/v1/stock/warehouses', 'get'],
    ['/api/v1/stock/warehouses/{code}/limits', 'put'],
    ['/api/v1/stock/alerts', 'get'],
    ['/api/v1/stock/channels', 'get'],
    ['/api/v1/stock/cards', 'get'],
    ['/api/v1/stock/cards/{iccid}', 'get'],
    ['/api/v1/stock/transfers', 'post'],
    ['/api/v1/stock/picks', 'post'],
    ['/api/v1/stock/returns', 'post'],
    ['/api/v1/stock/documents', 'get'],
    ['/api/v1/stock/documents/{id}', 'get'],
    ['/api/v1/stock/documents/{id}/approve-out', 'post'],
    ['/api/v1/stock/documents/{id}/approve-in', 'post'],
    ['/api/v1/stock/documents/{id}/confirm', 'post'],
    ['/api/v1/stock/documents/{id}/cancel', 'post'],
    ['/api/v1/stock/documents/{id}/reject', 'post'],
    ['/api/v1/stock/counts', 'post'],
    ['/api/v1/stock/counts', 'get'],
  ] as const) {
    expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
  }
  for (const p of ['/api/v1/stock/transfers', '/api/v1/stock/picks', '/api/v1/stock/returns', '/api/v1/stock/counts']) {
    expect(paths[p]?.post?.requestBody?.content['application/json']?.example, p).toBeDefined();
  }
  expect(onPostgres || env.ctx.database.kind === 'pglite').toBe(true);
});
