// On-site card writing (SPEC §10, seed 003): R-RES-4 only the channel that picked a blank card may
// write it and open an account with it; R-RES-5 the card-reader driver and its four exact messages,
// a failed write leaving card and number free; R-X-10 the 12 h card-writing hold; R-X-11 the result
// always reported and a failed network activation reversing the order.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CARD_READER_MESSAGES, CardReaderError, type CardReaderErrorCode, cardScriptHeader, SimulatedCardReader } from '../src/domains/resources/card-reader.ts';
import { recordCardEvents } from '../src/domains/resources/card-events.ts';
import { luhnCheckDigit } from '../src/domains/resources/rules.ts';
import { RELEASE_JOB } from '../src/domains/resources/service.ts';
import { SimulatedNetwork } from '../src/platform/provisioning.ts';
import { type Api, T0, testApi, testEnv, type TestEnv, stockConservedAfterAll } from './helpers.ts';
import { codes, freeNumber, freeSim, newCustomer, OWNER_DOCS, setupOrders, walkOrder } from './order-helpers.ts';
import { expectProblem, snapshotTables } from './snapshot.ts';

let env: TestEnv;
let api: Api;
const P = '/api/v1';
const HOUR = 3600_000;
const MESSAGES = {
  READER_NOT_CONNECTED: '连接写卡器失败，请尝试重新插入白卡！',
  DRIVER_NOT_INSTALLED: '写卡器驱动未安装。',
  CARD_NOT_BLANK: '请更换白卡！',
  SCRIPT_MISSING: '写卡脚本内容不存在，请把号卡文件维护到数据库！',
} as const;

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  await setupOrders(env.ctx);
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

const db = () => env.ctx.database.db;
const network = () => env.ctx.network as SimulatedNetwork;

let cardSeq = 0;
/**
 * A blank card picked by a channel, created directly with its history row (the pick itself is
 * tested in stock.documents.test.ts): in the writing warehouse 13ZDF16, state picked, with its card
 * data (Ki sealed with the configured key) unless told otherwise.
 */
async function pickedCard(opts: { channel?: string; data?: boolean; cardType?: 'blank_128k' | 'blank_128k_micro' } = {}) {
  const seq = ++cardSeq;
  const body = `8986012690${String(seq).padStart(9, '0')}`;
  const iccid = body + luhnCheckDigit(body);
  const imsi = `4600190${String(seq).padStart(8, '0')}`;
  const ki = randomBytes(16);
  const now = env.ctx.clock.now();
  await db()
    .insertInto('sim_cards')
    .values({
      iccid,
      card_type: opts.cardType ?? 'blank_128k',
      state: 'picked',
      warehouse_code: '13ZDF16',
      department_id: 'W1',
      picked_by_department_id: opts.channel ?? 'C1',
      picked_at: now,
      state_changed_at: now,
      created_at: now,
    })
    .execute();
  await recordCardEvents(db(), now, [iccid], { event: 'picked', fromState: 'in_stock' });
  if (opts.data !== false) {
    await db()
      .insertInto('sim_card_data')
      .values({ iccid, imsi, ki_encrypted: env.ctx.kiBox.seal(ki), ki_key_id: env.ctx.kiBox.keyId, imported_at: now })
      .execute();
  }
  return { iccid, imsi, kiHex: ki.toString('hex') };
}

/** An OPEN_ACCOUNT draft of one mobile on W3-46 with this card, taken by `as`. */
async function agentOrder(iccid: string, opts: { as?: string; serviceNumber?: string } = {}) {
  const c = await newCustomer(env.ctx);
  const serviceNumber = opts.serviceNumber ?? (await freeNumber(env.ctx));
  const body = {
    businessType: 'OPEN_ACCOUNT',
    customerId: c.customerId,
    documents: OWNER_DOCS,
    newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
    members: [{ role: 'main', network: 'wcdma3g', serviceNumber, iccid, planCode: 'W3-46' }],
    prestoreFen: 5000,
  };
  const r = await api.call('POST', `${P}/orders`, { as: opts.as ?? 'agent', body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { orderId: r.body.orderId as number, serviceNumber, customerId: c.customerId, body };
}

const issue = (orderId: number, iccid: string, as = 'agent') => api.call('POST', `${P}/orders/${orderId}/card-writes`, { as, body: { iccid } });
const report = (writeId: number, body: { success: boolean; errorCode?: string }, as = 'agent') => api.call('POST', `${P}/card-writes/${writeId}/result`, { as, body });
const cardRow = (iccid: string) => db().selectFrom('sim_cards').selectAll().where('iccid', '=', iccid).executeTakeFirstOrThrow();
const numberRow = (n: string) => db().selectFrom('numbers').selectAll().where('service_number', '=', n).executeTakeFirstOrThrow();
const history = async (iccid: string) => (await db().selectFrom('sim_card_events').select(['event', 'to_state']).where('iccid', '=', iccid).orderBy('event_id').execute()).map((e) => `${e.event}:${e.to_state}`);

/** The front end's part: connect, read the card, write the issued script; the reader's error code if it failed. */
async function runReader(reader: SimulatedCardReader, script: string): Promise<CardReaderErrorCode | null> {
  try {
    await reader.connect();
    const card = await reader.readCard();
    if (!card.blank) throw new CardReaderError('CARD_NOT_BLANK');
    await reader.writeCard(script);
    return null;
  } catch (err) {
    if (err instanceof CardReaderError) return err.code;
    throw err;
  }
}

/** Issue → reader → report success: the card is written for the order's number. */
async function writeOk(orderId: number, iccid: string, as = 'agent') {
  const w = await issue(orderId, iccid, as);
  expect(w.status, JSON.stringify(w.body)).toBe(201);
  const reader = new SimulatedCardReader();
  reader.insert(iccid);
  expect(await runReader(reader, w.body.script)).toBeNull();
  const r = await report(w.body.writeId, { success: true }, as);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

describe('R-RES-5 the card reader driver and its messages', () => {
  test('R-RES-5 the simulated reader fails in each of the four ways with the exact messages of the seed', async () => {
    for (const [code, zh] of Object.entries(MESSAGES)) {
      expect(CARD_READER_MESSAGES[code as CardReaderErrorCode].zh).toBe(zh);
      expect(CARD_READER_MESSAGES[code as CardReaderErrorCode].en.length).toBeGreaterThan(0);
      expect(new CardReaderError(code as CardReaderErrorCode).message).toBe(zh);
    }
    // the natural causes
    const noDriver = new SimulatedCardReader({ driverInstalled: false });
    noDriver.insert('89860126900000000017');
    await expect(noDriver.connect()).rejects.toMatchObject({ code: 'DRIVER_NOT_INSTALLED', message: MESSAGES.DRIVER_NOT_INSTALLED });
    const empty = new SimulatedCardReader();
    await expect(empty.connect()).rejects.toMatchObject({ code: 'READER_NOT_CONNECTED', message: MESSAGES.READER_NOT_CONNECTED });
    const finished = new SimulatedCardReader();
    finished.insert('89860126100000000007', { blank: false });
    await finished.connect();
    expect(await finished.readCard()).toEqual({ iccid: '89860126100000000007', blank: false });
    await expect(finished.writeCard('x')).rejects.toMatchObject({ code: 'CARD_NOT_BLANK', message: MESSAGES.CARD_NOT_BLANK });
    const blank = new SimulatedCardReader();
    blank.insert('89860126900000000017');
    await blank.connect();
    await expect(blank.writeCard('')).rejects.toMatchObject({ code: 'SCRIPT_MISSING', message: MESSAGES.SCRIPT_MISSING });
    await expect(blank.writeCard('bm90IGEgc2NyaXB0')).rejects.toMatchObject({ code: 'SCRIPT_MISSING' });
    blank.remove();
    await expect(blank.readCard()).rejects.toMatchObject({ code: 'READER_NOT_CONNECTED' });
    // failNext: the next operation fails that way, once
    const r = new SimulatedCardReader();
    r.insert('89860126900000000017');
    for (const code of Object.keys(MESSAGES) as (keyof typeof MESSAGES)[]) {
      r.failNext(code);
      await expect(r.connect()).rejects.toMatchObject({ code, message: MESSAGES[code] });
      await r.connect();
    }
  });

  test('R-RES-5 each reader failure reported through the API leaves the card picked and the number free; the retry succeeds', async () => {
    const card = await pickedCard();
    const o = await agentOrder(card.iccid);
    for (const code of Object.keys(MESSAGES) as (keyof typeof MESSAGES)[]) {
      const w = await issue(o.orderId, card.iccid);
      expect(w.status, JSON.stringify(w.body)).toBe(201);
      expect(w.body).toMatchObject({ orderId: o.orderId, iccid: card.iccid, serviceNumber: o.serviceNumber });
      expect(w.body.expiresAt).toBe(new Date(T0.getTime() + 12 * HOUR).toISOString());
      // while the write is out the number is held for the order (R-X-10, 12 h card-writing hold)
      expect(await numberRow(o.serviceNumber)).toMatchObject({ state: 'reserved', reservation_kind: 'card_writing', reserved_order_id: o.orderId });
      const reader = new SimulatedCardReader();
      reader.insert(card.iccid);
      // fail at the step where each failure shows up
      if (code === 'CARD_NOT_BLANK' || code === 'SCRIPT_MISSING') {
        await reader.connect();
        await reader.readCard();
        reader.failNext(code);
        await expect(reader.writeCard(w.body.script)).rejects.toMatchObject({ code, message: MESSAGES[code] });
      } else {
        reader.failNext(code);
        expect(await runReader(reader, w.body.script)).toBe(code);
      }
      const r = await report(w.body.writeId, { success: false, errorCode: code });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ writeId: w.body.writeId, state: 'failed', errorCode: code, errorMessage: { zh: MESSAGES[code] }, card: { iccid: card.iccid, state: 'picked', serviceNumber: null } });
      expect(r.body.number).toMatchObject({ serviceNumber: o.serviceNumber, state: 'free' });
      expect(await cardRow(card.iccid)).toMatchObject({ state: 'picked', imsi: null, service_number: null, written_at: null });
      expect((await numberRow(o.serviceNumber)).state).toBe('free');
    }
    const done = await writeOk(o.orderId, card.iccid);
    expect(done).toMatchObject({ state: 'succeeded', card: { state: 'written', serviceNumber: o.serviceNumber, imsi: `${card.imsi.slice(0, 8)}****${card.imsi.slice(-3)}` } });
    expect(await cardRow(card.iccid)).toMatchObject({ state: 'written', imsi: card.imsi, service_number: o.serviceNumber });
    expect(await numberRow(o.serviceNumber)).toMatchObject({ state: 'reserved', reservation_kind: 'card_writing', reserved_order_id: o.orderId });
    expect(await history(card.iccid)).toEqual(['picked:picked', ...Array(4).fill(['write_issued:picked', 'write_failed:picked']).flat(), 'write_issued:picked', 'written:written']);
    const list = await api.call('GET', `${P}/orders/${o.orderId}/card-writes`, { as: 'agent' });
    expect(list.status).toBe(200);
    expect(list.body.items.map((w: { state: string; errorCode: string | null }) => `${w.state}:${w.errorCode}`)).toEqual([
      'failed:READER_NOT_CONNECTED',
      'failed:DRIVER_NOT_INSTALLED',
      'failed:CARD_NOT_BLANK',
      'failed:SCRIPT_MISSING',
      'succeeded:null',
    ]);
    // every step audited with its event
    const actions = (await db().selectFrom('audit_log').select('action').where('target_type', '=', 'card_write').execute()).map((a) => a.action);
    expect(actions.filter((a) => a === 'card.write.issue')).toHaveLength(5);
    expect(actions.filter((a) => a === 'card.write.fail')).toHaveLength(4);
    const events = (await db().selectFrom('outbox').select('event_type').where('aggregate_id', '=', card.iccid).execute()).map((e) => e.event_type);
    expect(events.filter((e) => e === 'card.written')).toHaveLength(1);
    expect(events.filter((e) => e === 'card.write_failed')).toHaveLength(4);
    // reporting the same outcome again answers the same; the other outcome is refused
    const again = await report(done.writeId, { success: true });
    expect(again.body).toMatchObject({ writeId: done.writeId, state: 'succeeded' });
    expectProblem(await report(done.writeId, { success: false, errorCode: 'CARD_NOT_BLANK' }), 409, 'CARD_WRITE_CLOSED', 'contradicting report');
  });

  test('R-RES-5 the script is built from the card data for this card only, and is never stored or logged', async () => {
    const card = await pickedCard();
    const o = await agentOrder(card.iccid);
    const w = await issue(o.orderId, card.iccid);
    expect(w.status).toBe(201);
    const header = cardScriptHeader(w.body.script);
    expect(header).toMatchObject({ v: 1, writeId: w.body.writeId, iccid: card.iccid });
    expect(env.ctx.cardWriting.openScript(w.body.script)).toMatchObject({ iccid: card.iccid, imsi: card.imsi, ki: card.kiHex, writeId: w.body.writeId });
    // the Ki is not readable in the script without the transport key
    expect(Buffer.from(w.body.script, 'base64').toString('latin1')).not.toContain(card.kiHex);
    // a reader holding another card refuses the script
    const other = new SimulatedCardReader();
    other.insert('89860126900000000017');
    expect(await runReader(other, w.body.script)).toBe('SCRIPT_CARD_MISMATCH');
    expect(await runReader(new SimulatedCardReader(), w.body.script)).toBe('READER_NOT_CONNECTED');
    const reader = new SimulatedCardReader();
    reader.insert(card.iccid);
    expect(await runReader(reader, w.body.script)).toBeNull();
    // a card the reader has written reads as not blank: "请更换白卡！"
    await reader.connect();
    expect(await reader.readCard()).toEqual({ iccid: card.iccid, blank: false });
    await expect(reader.writeCard(w.body.script)).rejects.toMatchObject({ code: 'CARD_NOT_BLANK', message: MESSAGES.CARD_NOT_BLANK });
    expect((await report(w.body.writeId, { success: true })).status).toBe(200);
    // neither the Ki nor the script is anywhere in the database
    for (const [table, column] of [
      ['audit_log', 'after'],
      ['outbox', 'payload'],
      ['sim_card_events', 'detail'],
    ] as const) {
      const rows = await db().selectFrom(table).select(column).execute();
      const text = JSON.stringify(rows);
      expect(text, table).not.toContain(card.kiHex);
      expect(text, table).not.toContain(w.body.script.slice(0, 40));
    }
    const writes = JSON.stringify(await db().selectFrom('card_writes').selectAll().execute());
    expect(writes).not.toContain(card.kiHex);
    expect(writes).not.toContain(w.body.script.slice(0, 40));
  });
});

describe('refusals', () => {
  test('R-RES-5 a card written twice is refused with 请更换白卡！, and so is a finished card; nothing changes', async () => {
    const card = await pickedCard();
    const o = await agentOrder(card.iccid);
    await writeOk(o.orderId, card.iccid);
    const hall = await agentOrder(await freeSim(env.ctx), { as: 'front_desk' });
    const before = await snapshotTables(env.ctx);
    const twice = await issue(o.orderId, card.iccid);
    expectProblem(twice, 409, 'CARD_NOT_BLANK', 'written twice');
    expect(twice.body.messages.zh).toBe(MESSAGES.CARD_NOT_BLANK);
    expect(twice.body.details).toMatchObject({ reason: 'written' });
    // a finished card in a hall order
    const finished = await issue(hall.orderId, hall.body.members[0]!.iccid, 'front_desk');
    expectProblem(finished, 409, 'CARD_NOT_BLANK', 'finished card');
    expect(finished.body.messages.zh).toBe(MESSAGES.CARD_NOT_BLANK);
    const after = await snapshotTables(env.ctx);
    for (const t of Object.keys(before.contents).filter((t) => t !== 'sessions')) expect({ t, h: after.contents[t] }).toEqual({ t, h: before.contents[t] });
  });

  test('R-RES-5 a card with no IMSI/Ki data is refused with 写卡脚本内容不存在…; nothing changes, the number stays free', async () => {
    const card = await pickedCard({ data: false });
    const o = await agentOrder(card.iccid);
    const before = await snapshotTables(env.ctx);
    const r = await issue(o.orderId, card.iccid);
    expectProblem(r, 422, 'CARD_DATA_MISSING', 'no card data');
    expect(r.body.messages.zh).toBe(MESSAGES.SCRIPT_MISSING);
    const after = await snapshotTables(env.ctx);
    for (const t of Object.keys(before.contents).filter((t) => t !== 'sessions')) expect({ t, h: after.contents[t] }).toEqual({ t, h: before.contents[t] });
    expect((await numberRow(o.serviceNumber)).state).toBe('free');
  });

  test('R-RES-4 the operator’s department must be the one that picked the card: writing and opening are refused elsewhere', async () => {
    const card = await pickedCard({ channel: 'C1' });
    // another channel's agent, and a hall operator
    for (const as of ['agent2', 'front_desk']) {
      const o = await agentOrder(card.iccid, { as });
      const before = await snapshotTables(env.ctx);
      const r = await issue(o.orderId, card.iccid, as);
      expectProblem(r, 403, 'CARD_DEPARTMENT_MISMATCH', as);
      expect(r.body.details).toMatchObject({ pickedByDepartmentId: 'C1' });
      const after = await snapshotTables(env.ctx);
      for (const t of Object.keys(before.contents).filter((t) => t !== 'sessions')) expect({ t, h: after.contents[t] }).toEqual({ t, h: before.contents[t] });
    }
    // C1 writes it; another channel cannot open an account with the written card
    const mine = await agentOrder(card.iccid);
    await writeOk(mine.orderId, card.iccid);
    const theirs = await agentOrder(card.iccid, { as: 'agent2' });
    const checked = await api.call('POST', `${P}/orders/${theirs.orderId}/check`, { as: 'agent2', body: {} });
    expect(codes(checked.body)).toContain('CARD_DEPARTMENT_MISMATCH');
    // the other channel cannot see C1's order nor report C1's writes
    expectProblem(await issue(mine.orderId, card.iccid, 'agent2'), 404, 'NOT_FOUND', 'another channel’s order');
    const writes = await api.call('GET', `${P}/orders/${mine.orderId}/card-writes`, { as: 'agent' });
    expectProblem(await report(writes.body.items[0].writeId, { success: false }, 'agent2'), 403, 'CARD_DEPARTMENT_MISMATCH', 'report another channel’s write');
  });

  test('R-RES-5 card writes are refused for orders that cannot take them and for bad input', async () => {
    const card = await pickedCard();
    const o = await agentOrder(card.iccid);
    expectProblem(await issue(o.orderId, '89860126900000099999'), 422, 'CARD_NOT_IN_ORDER', 'a card not in the order');
    expectProblem(await api.call('POST', `${P}/orders/${o.orderId}/card-writes`, { as: 'agent', body: { iccid: card.iccid, extra: 1 } }), 400, 'VALIDATION_FAILED', 'extra field');
    expectProblem(await api.call('POST', `${P}/orders/${o.orderId}/card-writes`, { as: 'agent', body: { iccid: 'abc' } }), 400, 'VALIDATION_FAILED', 'bad iccid');
    expectProblem(await api.call('POST', `${P}/orders/${o.orderId}/card-writes`, { as: 'nobody', body: { iccid: card.iccid } }), 403, undefined, 'no card.write');
    expectProblem(await issue(999999, card.iccid), 404, 'NOT_FOUND', 'no such order');
    expectProblem(await report(999999, { success: true }), 404, 'NOT_FOUND', 'no such write');
    expectProblem(await api.call('POST', `${P}/card-writes/1/result`, { as: 'agent', body: { success: 'yes' } }), 400, 'VALIDATION_FAILED', 'bad result');
    // a second write while one is out: report the first
    const w = await issue(o.orderId, card.iccid);
    expect(w.status).toBe(201);
    const dup = await issue(o.orderId, card.iccid);
    expectProblem(dup, 409, 'CARD_WRITE_IN_PROGRESS', 'open write');
    expect(dup.body.details.writeId).toBe(w.body.writeId);
    expect((await report(w.body.writeId, { success: false, errorCode: 'READER_NOT_CONNECTED' })).status).toBe(200);
    // a cancelled order takes no write
    await api.call('POST', `${P}/orders/${o.orderId}/cancel`, { as: 'agent', body: { reason: 'x' } });
    expectProblem(await issue(o.orderId, card.iccid), 409, 'ORDER_STATE', 'cancelled order');
  });
});

describe('R-X-10 the number held while the card is written', () => {
  test('R-X-10 a number the agent reserved online becomes the order’s 12 h card-writing hold; one reserved by someone else is refused', async () => {
    const card = await pickedCard();
    const n = await freeNumber(env.ctx);
    const reserved = await api.call('POST', `${P}/numbers/${n}/reservations`, { as: 'agent', body: { kind: 'online' } });
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(201);
    const o = await agentOrder(card.iccid, { serviceNumber: n });
    const w = await issue(o.orderId, card.iccid);
    expect(w.status, JSON.stringify(w.body)).toBe(201);
    expect(await numberRow(n)).toMatchObject({ state: 'reserved', reservation_kind: 'card_writing', reserved_order_id: o.orderId, reserved_until: new Date(T0.getTime() + 12 * HOUR) });
    expect((await report(w.body.writeId, { success: false, errorCode: 'CARD_NOT_BLANK' })).body.number.state).toBe('free');
    // another channel's agent holds the number: the write is refused and nothing changes
    const other = await freeNumber(env.ctx);
    expect((await api.call('POST', `${P}/numbers/${other}/reservations`, { as: 'agent2', body: { kind: 'online' } })).status).toBe(201);
    const card2 = await pickedCard();
    const o2 = await agentOrder(card2.iccid, { serviceNumber: other });
    const before = await snapshotTables(env.ctx);
    expectProblem(await issue(o2.orderId, card2.iccid), 409, 'NUMBER_RESERVED', 'number held by another channel');
    const after = await snapshotTables(env.ctx);
    for (const t of Object.keys(before.contents).filter((t) => t !== 'sessions')) expect({ t, h: after.contents[t] }).toEqual({ t, h: before.contents[t] });
  });

  test('R-RES-5 R-X-10 cancelling an order gives back its card-writing hold; the card written for it keeps its IMSI but no number', async () => {
    const card = await pickedCard();
    const o = await agentOrder(card.iccid);
    await writeOk(o.orderId, card.iccid);
    const c = await api.call('POST', `${P}/orders/${o.orderId}/cancel`, { as: 'agent', body: { reason: '客户改日办理' } });
    expect(c.body.status).toBe('cancelled');
    expect((await numberRow(o.serviceNumber)).state).toBe('free');
    expect(await cardRow(card.iccid)).toMatchObject({ state: 'written', imsi: card.imsi, service_number: null });
    expect((await history(card.iccid)).at(-1)).toBe('released:written');
    // the channel's next order uses the written card with any number
    const next = await agentOrder(card.iccid);
    expect((await walkOrder(api, next.body, { as: 'agent' })).submitted.status).toBe('completed');
  });
});

describe('R-X-11 the result is always reported', () => {
  test('R-X-10 R-X-11 a write never reported expires with its 12 h number hold; the card can be written again', async () => {
    const card = await pickedCard();
    const o = await agentOrder(card.iccid);
    const w = await issue(o.orderId, card.iccid);
    expect(w.status).toBe(201);
    env.clock.advance(12 * HOUR - 1000);
    expect((await env.ctx.jobs.runNow(RELEASE_JOB)).result).not.toHaveProperty('cardWritesExpired');
    env.clock.advance(2000);
    const swept = (await env.ctx.jobs.runNow(RELEASE_JOB)).result as { cardWritesExpired: number; reservationsExpired: number };
    expect(swept.cardWritesExpired).toBe(1);
    expect(swept.reservationsExpired).toBeGreaterThanOrEqual(1);
    const row = await db().selectFrom('card_writes').selectAll().where('write_id', '=', w.body.writeId).executeTakeFirstOrThrow();
    expect(row.state).toBe('expired');
    expect((await cardRow(card.iccid)).state).toBe('picked');
    expect((await numberRow(o.serviceNumber)).state).toBe('free');
    expect(await history(card.iccid)).toEqual(['picked:picked', 'write_issued:picked', 'write_failed:picked']);
    // a late report still closes it (the result is always reported): failure here
    const late = await report(w.body.writeId, { success: false, errorCode: 'READER_NOT_CONNECTED' });
    expect(late.body).toMatchObject({ state: 'failed', errorMessage: { zh: MESSAGES.READER_NOT_CONNECTED } });
    const again = await writeOk(o.orderId, card.iccid);
    expect(again.card).toMatchObject({ state: 'written', serviceNumber: o.serviceNumber });
    env.clock.set(T0);
  });
});

describe('R-RES-4 the agent’s account opening with on-site writing', () => {
  test('R-RES-4 an agent of channel C1 opens an account with a card C1 picked: create → write → check → quote → submit → activated', async () => {
    const card = await pickedCard({ cardType: 'blank_128k_micro' });
    const o = await agentOrder(card.iccid);
    // before writing, the order does not pass: the blank card is not written yet
    const early = await api.call('POST', `${P}/orders/${o.orderId}/check`, { as: 'agent', body: {} });
    expect(codes(early.body)).toEqual(['SIM_NOT_WRITTEN']);
    // read card → write card (one "请更换白卡！" from a badly inserted card, then success)
    const w1 = await issue(o.orderId, card.iccid);
    const reader = new SimulatedCardReader();
    reader.insert(card.iccid, { blank: false });
    expect(await runReader(reader, w1.body.script)).toBe('CARD_NOT_BLANK');
    expect((await report(w1.body.writeId, { success: false, errorCode: 'CARD_NOT_BLANK' })).body.state).toBe('failed');
    const w2 = await issue(o.orderId, card.iccid);
    reader.insert(card.iccid);
    expect(await runReader(reader, w2.body.script)).toBeNull();
    expect((await report(w2.body.writeId, { success: true })).body.card.state).toBe('written');
    const sent = network().commands.length;
    // → fee → pre-submit → final submit
    const checked = await api.call('POST', `${P}/orders/${o.orderId}/check`, { as: 'agent', body: {} });
    expect(checked.body.status, JSON.stringify(checked.body.checks)).toBe('checked');
    const quoted = await api.call('POST', `${P}/orders/${o.orderId}/quote`, { as: 'agent', body: {} });
    expect(quoted.status).toBe(200);
    expect(quoted.body.fees.map((f: { feeCode: string }) => f.feeCode)).toEqual(['SIM_CARD', 'PRESTORE']);
    const submitted = await api.call('POST', `${P}/orders/${o.orderId}/submit`, { as: 'agent', body: {} });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    expect(submitted.body.status).toBe('completed');
    const subscriberId = submitted.body.result.subscribers.main;
    // the card's IMSI was opened with the number on the network
    expect(network().commands.slice(sent)).toEqual([
      expect.objectContaining({ ok: true, command: { command: 'activate', imsi: card.imsi, iccid: card.iccid, serviceNumber: o.serviceNumber, subscriberId, orderId: o.orderId } }),
    ]);
    expect(await cardRow(card.iccid)).toMatchObject({ state: 'activated', service_number: o.serviceNumber, subscriber_id: subscriberId, imsi: card.imsi });
    expect(await numberRow(o.serviceNumber)).toMatchObject({ state: 'in_use', subscriber_id: subscriberId });
    const sub = await db().selectFrom('subscribers').select(['imsi', 'iccid', 'service_number']).where('subscriber_id', '=', subscriberId).executeTakeFirstOrThrow();
    expect(sub).toEqual({ imsi: card.imsi, iccid: card.iccid, service_number: o.serviceNumber });
    expect(await history(card.iccid)).toEqual(['picked:picked', 'write_issued:picked', 'write_failed:picked', 'write_issued:picked', 'written:written', 'activated:activated']);
    const order = await db().selectFrom('orders').select(['department_id']).where('order_id', '=', o.orderId).executeTakeFirstOrThrow();
    expect(order.department_id).toBe('C1');
  });

  test('R-RES-4 a hall order with a finished card is activated through the same adapter', async () => {
    const sent = network().commands.length;
    const iccid = await freeSim(env.ctx);
    const o = await agentOrder(iccid, { as: 'front_desk' });
    const w = await walkOrder(api, o.body, { as: 'front_desk' });
    expect(w.submitted.status).toBe('completed');
    const news = network().commands.slice(sent);
    expect(news.map((c) => [c.command.command, c.command.iccid, c.command.serviceNumber, c.ok])).toEqual([['activate', iccid, o.serviceNumber, true]]);
  });
});

describe('R-X-11 a failed network activation reverses the order', () => {
  test('R-X-11 the network refuses: the order is cancelled with the reason, no subscriber, the number free, the card written with no number; it serves the next order', async () => {
    const card = await pickedCard();
    const o = await agentOrder(card.iccid);
    await writeOk(o.orderId, card.iccid);
    expect((await api.call('POST', `${P}/orders/${o.orderId}/check`, { as: 'agent', body: {} })).body.status).toBe('checked');
    expect((await api.call('POST', `${P}/orders/${o.orderId}/quote`, { as: 'agent', body: {} })).status).toBe(200);
    const counts = async () => ({
      subscribers: Number((await db().selectFrom('subscribers').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      accounts: Number((await db().selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).where('customer_id', '=', o.customerId).executeTakeFirstOrThrow()).n),
      payments: Number((await db().selectFrom('payments').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      fees: Number((await db().selectFrom('order_fees').select((eb) => eb.fn.countAll().as('n')).where('order_id', '=', o.orderId).executeTakeFirstOrThrow()).n),
    });
    const before = await counts();
    const sent = network().commands.length;
    network().failNext();
    const r = await api.call('POST', `${P}/orders/${o.orderId}/submit`, { as: 'agent', body: {} });
    expectProblem(r, 502, 'NETWORK_ACTIVATION_FAILED', 'network refuses');
    expect(r.body.details).toMatchObject({ orderId: o.orderId, network: { code: 'NETWORK_REJECTED' }, activation: { iccid: card.iccid, serviceNumber: o.serviceNumber }, order: { status: 'cancelled' } });
    expect(network().commands.slice(sent).map((c) => `${c.command.command}:${c.ok}`)).toEqual(['activate:false']);
    // nothing of the order persists but the cancelled order with its reason
    const order = await db().selectFrom('orders').selectAll().where('order_id', '=', o.orderId).executeTakeFirstOrThrow();
    expect(order.status).toBe('cancelled');
    expect(order.cancel_reason).toContain('网络开通失败');
    expect(order.submitted_at).toBeNull();
    expect(await counts()).toEqual({ ...before });
    expect(await db().selectFrom('subscribers').select('subscriber_id').where('service_number', '=', o.serviceNumber).execute()).toEqual([]);
    expect(await db().selectFrom('outbox').select('event_type').where('aggregate_type', '=', 'order').where('aggregate_id', '=', String(o.orderId)).where('event_type', '=', 'order.submitted').execute()).toEqual([]);
    const audit = await db().selectFrom('audit_log').select(['action']).where('target_type', '=', 'order').where('target_id', '=', String(o.orderId)).orderBy('audit_id').execute();
    expect(audit.map((a) => a.action).at(-1)).toBe('order.reverse');
    // the number is free, the card still written (its IMSI is on the chip) but bound to no number
    expect((await numberRow(o.serviceNumber)).state).toBe('free');
    expect(await cardRow(card.iccid)).toMatchObject({ state: 'written', imsi: card.imsi, service_number: null, subscriber_id: null });
    expect((await history(card.iccid)).at(-1)).toBe('released:written');
    // the same channel opens the next account with the card and another number
    const next = await agentOrder(card.iccid);
    const ok = await walkOrder(api, next.body, { as: 'agent' });
    expect(ok.submitted.status, JSON.stringify(ok.checked.checks)).toBe('completed');
    expect(await cardRow(card.iccid)).toMatchObject({ state: 'activated', service_number: next.serviceNumber });
    // a rewrite of the written card is still refused
    const other = await agentOrder(card.iccid);
    expectProblem(await issue(other.orderId, card.iccid), 409, 'CARD_NOT_BLANK', 'activated card');
  });

  test('R-X-11 a hall order refused by the network is reversed too: the finished card stays in stock', async () => {
    const iccid = await freeSim(env.ctx);
    const o = await agentOrder(iccid, { as: 'front_desk' });
    await api.call('POST', `${P}/orders/${o.orderId}/check`, { as: 'front_desk', body: {} });
    await api.call('POST', `${P}/orders/${o.orderId}/quote`, { as: 'front_desk', body: {} });
    network().failNext({ code: 'HLR_TIMEOUT', zh: 'HLR 超时', en: 'HLR timed out' });
    const r = await api.call('POST', `${P}/orders/${o.orderId}/submit`, { as: 'front_desk', body: {} });
    expectProblem(r, 502, 'NETWORK_ACTIVATION_FAILED', 'hall order');
    expect(r.body.messages.zh).toContain('HLR 超时');
    expect((await cardRow(iccid)).state).toBe('in_stock');
    expect((await numberRow(o.serviceNumber)).state).toBe('free');
    expect((await db().selectFrom('orders').select('status').where('order_id', '=', o.orderId).executeTakeFirstOrThrow()).status).toBe('cancelled');
  });
});

describe('concurrency', () => {
  // on PostgreSQL the two race on the card's row lock; on PGlite (one connection) they run one after the other
  test('R-RES-5 two writes of one card racing: one is issued, the other refused', async () => {
    const card = await pickedCard();
    const o = await agentOrder(card.iccid);
    const rs = await Promise.all([issue(o.orderId, card.iccid), issue(o.orderId, card.iccid)]);
    expect(rs.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(await db().selectFrom('card_writes').select('state').where('iccid', '=', card.iccid).execute()).toEqual([{ state: 'issued' }]);
  });
});

test('R-INT-2 the simulated network records commands, fails the next one when told, and keeps a bounded log', async () => {
  const n = new SimulatedNetwork({ keep: 3 });
  const a = { imsi: '460019000000001', iccid: '89860126900000000017', serviceNumber: '13902200001', subscriberId: 1 };
  n.failNext();
  await expect(n.activate(a)).rejects.toMatchObject({ name: 'ProvisioningError', code: 'NETWORK_REJECTED' });
  await n.activate(a);
  await n.send({ command: 'deactivate', ...a, reason: 'test' });
  await n.activate({ ...a, serviceNumber: '13902200002' });
  await n.activate({ ...a, serviceNumber: '13902200003' });
  expect(n.commands).toHaveLength(3);
  expect(n.commandsFor('13902200001').map((c) => c.command.command)).toEqual(['deactivate']);
});

stockConservedAfterAll(() => env);
