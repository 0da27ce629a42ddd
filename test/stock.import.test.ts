// Stock imports (SPEC §10, issue 6): card files and card data files through the API and the
// service, with their error reports, idempotence, scoping, Ki sealing and the streaming path.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BatchView, StockImportService } from '../src/domains/resources/stock-import.ts';
import { luhnCheckDigit } from '../src/domains/resources/rules.ts';
import { actorOf, type Api, system, type TestEnv, testApi, testEnv, stockConservedAfterAll } from './helpers.ts';

let env: TestEnv;
let api: Api;
const db = () => env.ctx.database.db;
const P = '/api/v1/stock';

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

/** A valid ICCID (Luhn) of a serial in a series of its own per test. */
const iccid = (series: number, serial: number) => {
  const body = `8986${String(series).padStart(3, '0')}${String(serial).padStart(12, '0')}`;
  return body + luhnCheckDigit(body);
};
const wrongCheckDigit = (i: string) => i.slice(0, -1) + String((Number(i.at(-1)) + 1) % 10);
const imsiOf = (series: number, serial: number) => `4600${String(series).padStart(3, '0')}${String(serial).padStart(8, '0')}`;
const kiOf = (serial: number) => serial.toString(16).padStart(8, '0').repeat(4);

function upload(path: string, text: string, as: string | null, contentType = 'text/plain') {
  return api.call('POST', `${P}/imports/${path}`, { as, raw: text, headers: { 'content-type': contentType } });
}

async function counts() {
  const r = await sql<{ cards: number; events: number; data: number; batches: number }>`
    SELECT (SELECT count(*) FROM sim_cards)::int AS cards, (SELECT count(*) FROM sim_card_events)::int AS events,
           (SELECT count(*) FROM sim_card_data)::int AS data, (SELECT count(*) FROM stock_import_batches)::int AS batches`.execute(db());
  return r.rows[0] as { cards: number; events: number; data: number; batches: number };
}

describe('card files', () => {
  const good = [iccid(1, 1), iccid(1, 2), iccid(1, 3), iccid(1, 4), iccid(1, 5)];
  const file = ['iccid', good[0], good[1], '', wrongCheckDigit(iccid(1, 9)), '89860X12', good[2], `  ${good[3]}  `, good[1], good[4]].join('\r\n') + '\r\n';

  test('card file: a malformed row in the middle is reported by line, the rest is imported in stock at the warehouse with history', async () => {
    const r = await upload('cards?warehouseCode=130041&cardType=blank_128k_micro&fileName=micro-1.txt', file, 'keeper');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const b = r.body as BatchView;
    expect(b).toMatchObject({ kind: 'cards', fileName: 'micro-1.txt', warehouseCode: '130041', cardType: 'blank_128k_micro', rowsTotal: 8, rowsImported: 5, rowsFailed: 3, state: 'completed' });
    expect(b.fileSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.errors.map((e) => [e.line, e.code])).toEqual([
      [5, 'ICCID_CHECK_DIGIT'],
      [6, 'ICCID_MALFORMED'],
      [9, 'DUPLICATE_IN_FILE'],
    ]);
    expect(b.errors[0]?.reason).toEqual({ zh: 'ICCID 校验位错误', en: 'Wrong ICCID check digit (Luhn)' });
    const cards = await db().selectFrom('sim_cards').selectAll().where('iccid', 'in', good).orderBy('iccid').execute();
    expect(cards).toHaveLength(5);
    for (const c of cards) expect(c).toMatchObject({ state: 'in_stock', card_type: 'blank_128k_micro', warehouse_code: '130041', department_id: 'B1', imsi: null, batch_id: b.batchId });
    const events = await db().selectFrom('sim_card_events').selectAll().where('iccid', 'in', good).execute();
    expect(events).toHaveLength(5);
    for (const e of events) expect(e).toMatchObject({ event: 'imported', to_state: 'in_stock', warehouse_code: '130041', holder_department_id: 'B1', detail: { batchId: b.batchId } });
    const audit = await db().selectFrom('audit_log').selectAll().where('action', '=', 'stock.import_cards').where('target_id', '=', String(b.batchId)).execute();
    expect(audit).toHaveLength(1);
    const out = await db().selectFrom('outbox').selectAll().where('event_type', '=', 'stock.cards_imported').where('aggregate_id', '=', String(b.batchId)).execute();
    expect(out).toHaveLength(1);
    expect(out[0]?.payload).toMatchObject({ rowsImported: 5, rowsFailed: 3, sameFileAsBatch: null });
    // the batch reads back the same
    const again = await api.call('GET', `${P}/imports/${b.batchId}`, { as: 'keeper' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(b);
  });

  test('card file: the same file twice imports nothing new, every row reported as already present (text/csv)', async () => {
    const before = await counts();
    const r = await upload('cards?warehouseCode=130041&cardType=blank_128k_micro', file, 'keeper', 'text/csv; charset=utf-8');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ rowsTotal: 8, rowsImported: 0, rowsFailed: 8, fileName: 'upload' });
    const codes = (r.body as BatchView).errors.map((e) => e.code);
    expect(codes.filter((c) => c === 'CARD_EXISTS')).toHaveLength(5);
    const after = await counts();
    expect(after).toEqual({ ...before, batches: before.batches + 1 });
    const out = await db().selectFrom('outbox').select('payload').where('event_type', '=', 'stock.cards_imported').orderBy('event_id', 'desc').executeTakeFirstOrThrow();
    expect(out.payload).toMatchObject({ rowsImported: 0, sameFileAsBatch: expect.any(Number) });
  });

  test('STOCK_DEPARTMENT_MISMATCH: an operator imports only into its own department’s warehouse; nothing changes', async () => {
    const before = await counts();
    const r = await upload('cards?warehouseCode=130041&cardType=blank_128k', `${iccid(2, 1)}\n`, 'ess');
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('STOCK_DEPARTMENT_MISMATCH');
    expect(r.body.messages.zh).toMatch(/本部门/);
    expect(await counts()).toEqual(before);
    // stock.all (admin) may import anywhere; an agent may not import at all
    expect((await upload('cards?warehouseCode=13ZDF16&cardType=blank_128k', `${iccid(2, 1)}\n`, 'admin')).status).toBe(201);
    expect((await upload('cards?warehouseCode=13ZDF16&cardType=blank_128k', `${iccid(2, 2)}\n`, 'agent')).body.code).toBe('FORBIDDEN');
  });

  test('card file refusals: unknown warehouse 404, bad card type and missing query 400, JSON body 415, no token 401', async () => {
    const before = await counts();
    const unknown = await upload('cards?warehouseCode=999999&cardType=blank_128k', `${iccid(2, 3)}\n`, 'admin');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'WAREHOUSE_NOT_FOUND']);
    expect((await upload('cards?warehouseCode=130041&cardType=gold', `${iccid(2, 3)}\n`, 'keeper')).status).toBe(400);
    expect((await upload('cards?cardType=blank_128k', `${iccid(2, 3)}\n`, 'keeper')).status).toBe(400);
    expect((await upload('cards?warehouseCode=130041&cardType=blank_128k&x=1', `${iccid(2, 3)}\n`, 'keeper')).status).toBe(400);
    const json = await api.call('POST', `${P}/imports/cards?warehouseCode=130041&cardType=blank_128k`, { as: 'keeper', body: { iccids: [iccid(2, 3)] } });
    expect([json.status, json.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect((await upload('cards?warehouseCode=130041&cardType=blank_128k', `${iccid(2, 3)}\n`, null)).status).toBe(401);
    expect(await counts()).toEqual(before);
  });

  test('finished cards need ICCID,IMSI; an IMSI of another card and an over-long line are refused rows', async () => {
    const taken = imsiOf(3, 1);
    const text = [`${iccid(3, 1)},${taken}`, iccid(3, 2), `${iccid(3, 3)},${taken}`, `${iccid(3, 4)},46001`, 'x'.repeat(5000), `${iccid(3, 5)},${imsiOf(3, 5)}`].join('\n');
    const r = await upload('cards?warehouseCode=130041&cardType=finished', text, 'keeper');
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ rowsTotal: 6, rowsImported: 2, rowsFailed: 4 });
    expect((r.body as BatchView).errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'IMSI_REQUIRED'],
      [3, 'DUPLICATE_IN_FILE'],
      [4, 'IMSI_MALFORMED'],
      [5, 'LINE_TOO_LONG'],
    ]);
    expect((await db().selectFrom('sim_cards').select('imsi').where('iccid', '=', iccid(3, 5)).executeTakeFirstOrThrow()).imsi).toBe(imsiOf(3, 5));
    // a second file with the same IMSI on a new card
    const again = await upload('cards?warehouseCode=130041&cardType=finished', `${iccid(3, 6)},${taken}\n`, 'keeper');
    expect((again.body as BatchView).errors.map((e) => e.code)).toEqual(['IMSI_IN_USE']);
  });

  test('GET /stock/imports/{id}: another department is refused 403, an unknown batch is 404', async () => {
    const mine = (await db().selectFrom('stock_import_batches').select('batch_id').where('department_id', '=', 'B1').executeTakeFirstOrThrow()).batch_id;
    expect((await api.call('GET', `${P}/imports/${mine}`, { as: 'ess' })).body.code).toBe('STOCK_DEPARTMENT_MISMATCH');
    expect((await api.call('GET', `${P}/imports/${mine}`, { as: 'auditor' })).status).toBe(200);
    expect((await api.call('GET', `${P}/imports/999999`, { as: 'keeper' })).status).toBe(404);
  });
});

describe('card data files', () => {
  const cards = Array.from({ length: 6 }, (_, i) => iccid(4, i + 1));
  beforeAll(async () => {
    const r = await upload('cards?warehouseCode=130041&cardType=blank_128k', cards.join('\n'), 'keeper');
    expect(r.body.rowsImported).toBe(6);
  });

  test('card data: Ki and OPc are stored sealed (not in clear), bad rows are reported, the rest loaded with history', async () => {
    const opc = 'f0e0d0c0b0a090807060504030201000';
    const rows = [
      'ICCID,IMSI,KI,OPC',
      `${cards[0]},${imsiOf(4, 1)},${kiOf(1)},${opc}`,
      `${cards[1]},${imsiOf(4, 2)},${kiOf(2)}`,
      `${iccid(4, 99)},${imsiOf(4, 99)},${kiOf(99)}`, // unknown card
      `${cards[2]},${imsiOf(4, 3)},not-hex-ki`,
      `${cards[3]},${imsiOf(4, 2)},${kiOf(4)}`, // IMSI of line 3
      `${cards[4]},${imsiOf(4, 5)}`, // too few fields
      `${cards[5]},${imsiOf(4, 6)},${kiOf(6)},${opc.slice(1)}`,
    ];
    const r = await upload('card-data?fileName=data-1.csv', rows.join('\n'), 'keeper', 'text/csv');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ kind: 'card_data', rowsTotal: 7, rowsImported: 2, rowsFailed: 5 });
    expect((r.body as BatchView).errors.map((e) => [e.line, e.code])).toEqual([
      [4, 'UNKNOWN_ICCID'],
      [5, 'KI_MALFORMED'],
      [6, 'DUPLICATE_IN_FILE'],
      [7, 'ROW_MALFORMED'],
      [8, 'OPC_MALFORMED'],
    ]);
    const data = await db().selectFrom('sim_card_data').selectAll().where('iccid', 'in', cards).orderBy('iccid').execute();
    expect(data.map((d) => d.iccid)).toEqual([cards[0], cards[1]]);
    const [d0, d1] = data as [(typeof data)[number], (typeof data)[number]];
    for (const [d, ki] of [
      [d0, kiOf(1)],
      [d1, kiOf(2)],
    ] as const) {
      const clear = Buffer.from(ki, 'hex');
      expect(d.ki_encrypted.length).toBe(12 + 16 + 16);
      expect(d.ki_encrypted.includes(clear)).toBe(false);
      expect(d.ki_encrypted.toString('hex')).not.toContain(ki);
      expect(d.ki_key_id).toBe(env.ctx.kiBox.keyId);
      expect(env.ctx.kiBox.open(d.ki_encrypted).toString('hex')).toBe(ki);
    }
    expect(d0.opc_encrypted?.includes(Buffer.from(opc, 'hex'))).toBe(false);
    expect(env.ctx.kiBox.open(d0.opc_encrypted as Buffer).toString('hex')).toBe(opc);
    expect(d1.opc_encrypted).toBeNull();
    // blank cards get their IMSI on sim_cards only when written
    expect((await db().selectFrom('sim_cards').select('imsi').where('iccid', '=', cards[0] as string).executeTakeFirstOrThrow()).imsi).toBeNull();
    const events = await db().selectFrom('sim_card_events').selectAll().where('event', '=', 'data_loaded').where('iccid', 'in', cards).execute();
    expect(events.map((e) => e.iccid).sort()).toEqual([cards[0], cards[1]]);
    expect(events[0]).toMatchObject({ to_state: 'in_stock', warehouse_code: '130041' });
    // the clear Ki is nowhere in the audit trail or the outbox
    const trail = await sql<{ t: string }>`SELECT coalesce(string_agg(after::text, ''), '') || (SELECT coalesce(string_agg(payload::text, ''), '') FROM outbox) AS t FROM audit_log`.execute(db());
    expect(trail.rows[0]?.t).not.toContain(kiOf(1));
    expect(trail.rows[0]?.t).not.toContain(kiOf(2));
  });

  test('card data twice: the card already has data; an IMSI of another card is refused; nothing new', async () => {
    const before = await counts();
    const r = await upload('card-data', [`${cards[0]},${imsiOf(4, 1)},${kiOf(1)}`, `${cards[2]},${imsiOf(4, 2)},${kiOf(3)}`].join('\n'), 'keeper');
    expect((r.body as BatchView).errors.map((e) => e.code)).toEqual(['CARD_DATA_EXISTS', 'IMSI_IN_USE']);
    expect(await counts()).toEqual({ ...before, batches: before.batches + 1 });
  });

  test('card data scoping: a card outside the operator’s warehouses (and those below them) is a refused row', async () => {
    // ess keeps 13ZDF16 only; the cards are at 130041
    const r = await upload('card-data', `${cards[2]},${imsiOf(4, 3)},${kiOf(3)}\n`, 'ess');
    expect((r.body as BatchView).errors.map((e) => e.code)).toEqual(['STOCK_DEPARTMENT_MISMATCH']);
    // the branch keeper reaches the writing warehouse below its branch store
    await upload('cards?warehouseCode=13ZDF16&cardType=blank_128k', `${iccid(4, 50)}\n`, 'ess');
    const below = await upload('card-data', `${iccid(4, 50)},${imsiOf(4, 50)},${kiOf(50)}\n`, 'keeper');
    expect(below.body).toMatchObject({ rowsImported: 1, rowsFailed: 0 });
  });
});

describe('streaming', () => {
  test('a 50,000-row card file and its card data go through the streaming path in bounded chunks', { timeout: 240_000 }, async () => {
    const service = new StockImportService({ db: db(), clock: env.ctx.clock, kiBox: env.ctx.kiBox });
    const N = 50_000;
    const CHUNK = 5_000;
    let produced = 0;
    let maxAhead = 0;
    const progress: number[] = [];
    // the file arrives in 64 KiB pieces, never as one string
    async function* file(line: (i: number) => string) {
      let buf = '';
      for (let i = 0; i < N; i++) {
        buf += `${line(i)}\n`;
        produced++;
        if (buf.length >= 65_536) {
          yield Buffer.from(buf);
          buf = '';
        }
      }
      yield Buffer.from(buf);
    }
    const onProgress = (p: { rows: number }) => {
      progress.push(p.rows);
      maxAhead = Math.max(maxAhead, produced - p.rows);
    };
    const keeper = await actorOf(env.ctx, 'keeper');
    const cards = await service.importCards(keeper, file((i) => iccid(5, i)), { warehouseCode: '130041', cardType: 'blank_128k', fileName: 'big.txt', chunkRows: CHUNK, onProgress });
    expect(cards).toMatchObject({ rowsTotal: N, rowsImported: N, rowsFailed: 0, state: 'completed' });
    expect(progress).toEqual(Array.from({ length: N / CHUNK }, (_, i) => (i + 1) * CHUNK));
    // the reader is never more than two chunks (plus one network piece) ahead of the database
    expect(maxAhead).toBeLessThan(2 * CHUNK + 3_000);

    produced = 0;
    maxAhead = 0;
    progress.length = 0;
    const data = await service.importCardData(system, file((i) => `${iccid(5, i)},${imsiOf(5, i)},${kiOf(i)}`), { fileName: 'big.csv', chunkRows: CHUNK, onProgress });
    expect(data).toMatchObject({ rowsTotal: N, rowsImported: N, rowsFailed: 0 });
    expect(maxAhead).toBeLessThan(2 * CHUNK + 3_000);
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sim_card_events WHERE detail->>'batchId' IN (${String(cards.batchId)}, ${String(data.batchId)})`.execute(db());
    expect(r.rows[0]?.n).toBe(2 * N);
  });

  test('an upload over the JSON body limit (1 MiB) streams through the API', { timeout: 60_000 }, async () => {
    // 4,000 rows padded to 500 characters: 2 MB of text, far over Fastify's JSON limit
    const text = Array.from({ length: 4_000 }, (_, i) => iccid(7, i).padEnd(500, ' ')).join('\n');
    expect(text.length).toBeGreaterThan(2_000_000);
    const r = await upload('cards?warehouseCode=130041&cardType=blank_128k&fileName=padded.txt', text, 'keeper');
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(201);
    expect(r.body).toMatchObject({ rowsTotal: 4_000, rowsImported: 4_000, rowsFailed: 0 });
  });

  test('a file over the size limit is refused 413; stopped after stored chunks, its batch is marked failed', async () => {
    const service = new StockImportService({ db: db(), clock: env.ctx.clock, kiBox: env.ctx.kiBox });
    const text = Array.from({ length: 100 }, (_, i) => iccid(6, i)).join('\n');
    const before = await counts();
    const tooLarge = { code: 'IMPORT_TOO_LARGE', status: 413 };
    await expect(service.importCards(system, text, { warehouseCode: '130041', cardType: 'blank_128k', fileName: 'big.txt', maxBytes: 1000 })).rejects.toMatchObject(tooLarge);
    expect(await counts()).toEqual(before); // refused before a chunk was stored
    // line by line: 47 lines of 21 bytes fit in 1,000 bytes, so 4 chunks of 10 are stored first
    const pieces = text.split('\n').map((l) => `${l}\n`);
    await expect(service.importCards(system, pieces, { warehouseCode: '130041', cardType: 'blank_128k', fileName: 'big.txt', maxBytes: 1000, chunkRows: 10 })).rejects.toMatchObject(tooLarge);
    const b = await db().selectFrom('stock_import_batches').selectAll().orderBy('batch_id', 'desc').executeTakeFirstOrThrow();
    expect(b).toMatchObject({ state: 'failed', rows_total: 40, rows_imported: 40 });
  });
});

describe('concurrency', () => {
  test('the same card file imported twice at once: every card once, one history row each, the other import reports them present', { timeout: 60_000 }, async () => {
    const service = new StockImportService({ db: db(), clock: env.ctx.clock, kiBox: env.ctx.kiBox, chunksInFlight: 2 });
    const cards = Array.from({ length: 3_000 }, (_, i) => iccid(9, i));
    const text = cards.join('\n');
    const go = () => service.importCards(system, text, { warehouseCode: '130041', cardType: 'blank_128k', fileName: 'race.txt', chunkRows: 500 });
    const [a, b] = await Promise.all([go(), go()]);
    expect(a.rowsImported + b.rowsImported).toBe(3_000);
    expect(a.rowsFailed + b.rowsFailed).toBe(3_000);
    expect([...a.errors, ...b.errors].every((e) => e.code === 'CARD_EXISTS')).toBe(true);
    const r = await sql<{ cards: number; events: number; per: number }>`
      SELECT count(DISTINCT c.iccid)::int AS cards, count(e.event_id)::int AS events, max(n)::int AS per FROM sim_cards c
        JOIN sim_card_events e ON e.iccid = c.iccid
        JOIN LATERAL (SELECT count(*) AS n FROM sim_card_events x WHERE x.iccid = c.iccid) k ON true
       WHERE c.iccid = ANY(${cards}::text[])`.execute(db());
    expect(r.rows[0]).toEqual({ cards: 3_000, events: 3_000, per: 1 });
  });
});

describe('files with no well-formed row', () => {
  test('IMPORT_NO_VALID_ROWS: a file with no well-formed row (or an empty one) is refused whole with its first errors; nothing changes', async () => {
    const before = await counts();
    const r = await upload('card-data', '{"iccids": []}\nhello\n', 'keeper');
    expect([r.status, r.body.code]).toEqual([422, 'IMPORT_NO_VALID_ROWS']);
    expect(r.body.details).toMatchObject({ rowsTotal: 2, errors: [{ line: 1, code: 'ROW_MALFORMED' }, { line: 2, code: 'ROW_MALFORMED' }] });
    const empty = await upload('cards?warehouseCode=130041&cardType=blank_128k', '\n\n', 'keeper');
    expect([empty.status, empty.body.code, empty.body.details.rowsTotal]).toEqual([422, 'IMPORT_NO_VALID_ROWS', 0]);
    expect(await counts()).toEqual(before);
    // malformed rows before the first good one are still reported once the batch exists
    const service = new StockImportService({ db: db(), clock: env.ctx.clock, kiBox: env.ctx.kiBox });
    const late = await service.importCards(system, ['bad-1', 'bad-2', 'bad-3', iccid(8, 1)].join('\n'), { warehouseCode: '130041', cardType: 'blank_128k', fileName: 'late.txt', chunkRows: 2 });
    expect(late).toMatchObject({ rowsTotal: 4, rowsImported: 1, rowsFailed: 3 });
    expect(late.errors.map((e) => e.line)).toEqual([1, 2, 3]);
  });

  test('the error report lists the first 1,000 refused rows and counts them all', async () => {
    const service = new StockImportService({ db: db(), clock: env.ctx.clock, kiBox: env.ctx.kiBox });
    const lines = [...Array.from({ length: 1_500 }, (_, i) => `bad-${i}`), iccid(8, 2), ...Array.from({ length: 700 }, (_, i) => `worse-${i}`)];
    const b = await service.importCards(system, lines.join('\n'), { warehouseCode: '130041', cardType: 'blank_128k', fileName: 'noisy.txt', chunkRows: 100 });
    expect(b).toMatchObject({ rowsTotal: 2_201, rowsImported: 1, rowsFailed: 2_200 });
    expect(b.errors).toHaveLength(1_000);
    expect(b.errors[0]).toMatchObject({ line: 1, iccid: 'bad-0', code: 'ICCID_MALFORMED' });
    expect(b.errors.at(-1)?.line).toBe(1_000);
  });
});

stockConservedAfterAll(() => env);
