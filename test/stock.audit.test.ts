// Stock conservation (issue 6): every card in exactly one place and state, its history consistent.
// Zero differences after a normal flow (demo stock, imports, allocate, pick, return, an order that
// activates a card); each deliberately broken card is named with its problem. The CLI commands
// `openboss stock import-cards`, `stock import-card-data` and `audit stock` on an embedded database.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import pino from 'pino';
import { createContext } from '../src/app/context.ts';
import { SimulatedClock } from '../src/platform/clock.ts';
import { loadConfig } from '../src/platform/config.ts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEMO_BLANK_CARDS, demoBlankIccid } from '../src/app/demo.ts';
import { luhnCheckDigit } from '../src/domains/resources/rules.ts';
import { auditStock, type StockDifference } from '../src/domains/resources/stock-audit.ts';
import { StockImportService } from '../src/domains/resources/stock-import.ts';
import { actorOf, type Api, system, T0, type TestEnv, testApi, testEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
const db = () => env.ctx.database.db;

const iccid = (serial: number) => {
  const body = `8986077${String(serial).padStart(12, '0')}`;
  return body + luhnCheckDigit(body);
};
const problemsOf = (diffs: StockDifference[], card: string) => diffs.filter((d) => d.iccid === card).map((d) => d.problem);

beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

describe('stock audit', () => {
  test('audit stock: zero differences after demo stock, imports, allocate, pick, return and an activated card', async () => {
    const ctx = env.ctx;
    await ctx.resources.loadDemoStock(db(), ['B1', 'H1']);
    const imports = new StockImportService({ db: db(), clock: ctx.clock, kiBox: ctx.kiBox });
    const keeper = await actorOf(ctx, 'keeper');
    const ess = await actorOf(ctx, 'ess');
    const cards = Array.from({ length: 20 }, (_, i) => iccid(i + 1));
    await imports.importCards(keeper, cards.join('\n'), { warehouseCode: '130041', cardType: 'blank_128k_micro', fileName: 'a.txt' });
    await imports.importCardData(keeper, cards.map((c, i) => `${c},46007${String(i).padStart(10, '0')},${'ab'.repeat(16)}`).join('\n'), { fileName: 'a.csv' });

    const stock = ctx.stock;
    const allocate = await stock.createTransfer(keeper, { kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'blank_128k_micro', quantity: 10 });
    expect((await auditStock(db())).differences).toEqual([]); // locked by an open document
    await stock.act(keeper, allocate.stockOrderId, 'approve-out');
    await stock.act(ess, allocate.stockOrderId, 'approve-in');
    const pick = await stock.createPick(ess, { warehouseCode: '13ZDF16', channelDepartmentId: 'C1', cardType: 'blank_128k_micro', quantity: 6 });
    await stock.act(ess, pick.stockOrderId, 'confirm');
    const picked = (await db().selectFrom('sim_cards').select('iccid').where('state', '=', 'picked').orderBy('iccid').execute()).map((r) => r.iccid);
    expect(picked).toHaveLength(6);
    const back = await stock.createReturn(ess, { channelDepartmentId: 'C1', iccids: picked.slice(0, 2) });
    await stock.act(ess, back.stockOrderId, 'confirm');

    // a finished card activated by an order's resource step (history 'activated')
    const sim = await db().selectFrom('sim_cards').select('iccid').where('card_type', '=', 'finished').where('state', '=', 'in_stock').where('service_number', 'is', null).orderBy('iccid').executeTakeFirstOrThrow();
    const { customerWithAccount } = await import('./helpers.ts');
    const sub = await customerWithAccount(ctx, 'monthly', 7);
    await db().transaction().execute((tx) => ctx.resources.bindSim(tx, sim.iccid, { serviceNumber: '13902200001', subscriberId: sub.subscriberId }));

    const report = await auditStock(db());
    expect(report.differences).toEqual([]);
    expect(report.truncated).toBe(false);
    const counts = await sql<{ cards: number; events: number }>`SELECT (SELECT count(*) FROM sim_cards)::int AS cards, (SELECT count(*) FROM sim_card_events)::int AS events`.execute(db());
    expect(report).toMatchObject(counts.rows[0] as object);
    expect(report.cards).toBe(240 + 20);
    // GET /stock/audit: stock.all only
    const r = await api.call('GET', '/api/v1/stock/audit', { as: 'auditor' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ cards: report.cards, events: report.events, differences: [], truncated: false });
    expect((await api.call('GET', '/api/v1/stock/audit', { as: 'keeper' })).body.code).toBe('FORBIDDEN');
  });

  test('audit stock names each deliberately broken card with its problem (raw SQL breakage)', async () => {
    const some = async (n: number) =>
      (await db().selectFrom('sim_cards').select('iccid').where('state', '=', 'in_stock').where('stock_order_id', 'is', null).where('warehouse_code', '=', '130041').orderBy('iccid', 'desc').limit(n).execute()).map((r) => r.iccid);
    const [wrongDept, wrongPlace, fakePick, noHistory, stale, twoDocs] = (await some(6)) as [string, string, string, string, string, string];
    // held by a department that does not own the warehouse
    await sql`UPDATE sim_cards SET department_id = 'H1' WHERE iccid = ${wrongDept}`.execute(db());
    // moved without history
    await sql`UPDATE sim_cards SET warehouse_code = '130041H1', department_id = 'H1' WHERE iccid = ${wrongPlace}`.execute(db());
    // "picked" by a hall, not a channel
    await sql`UPDATE sim_cards SET state = 'picked', picked_by_department_id = 'H2' WHERE iccid = ${fakePick}`.execute(db());
    // a card with no history at all
    const orphan = iccid(999);
    await sql`INSERT INTO sim_cards (iccid, card_type, warehouse_code, department_id, state_changed_at, created_at) VALUES (${orphan}, 'blank_128k', '130041', 'B1', now(), now())`.execute(db());
    // locked by a closed document
    const op = (await actorOf(env.ctx, 'keeper')).operatorId as number;
    const closed = await sql<{ id: number }>`
      INSERT INTO stock_orders (kind, state, source_warehouse_code, target_warehouse_code, card_type, selection, quantity, created_by, created_department_id, created_at)
      VALUES ('allocate', 'completed', '130041', '13ZDF16', 'blank_128k_micro', 'quantity', 1, ${op}, 'B1', now()) RETURNING stock_order_id AS id`.execute(db());
    await sql`INSERT INTO stock_order_items VALUES (${closed.rows[0]?.id}, ${stale})`.execute(db());
    await sql`UPDATE sim_cards SET stock_order_id = ${closed.rows[0]?.id} WHERE iccid = ${stale}`.execute(db());
    // in two open documents
    const open = await sql<{ id: number }>`
      INSERT INTO stock_orders (kind, source_warehouse_code, target_warehouse_code, card_type, selection, quantity, created_by, created_department_id, created_at)
      VALUES ('allocate', '130041', '13ZDF16', 'blank_128k_micro', 'quantity', 1, ${op}, 'B1', now()), ('transfer', '130041', '130041H1', 'blank_128k_micro', 'quantity', 1, ${op}, 'B1', now())
      RETURNING stock_order_id AS id`.execute(db());
    for (const o of open.rows) await sql`INSERT INTO stock_order_items VALUES (${o.id}, ${twoDocs})`.execute(db());
    await sql`UPDATE sim_cards SET stock_order_id = ${open.rows[0]?.id} WHERE iccid = ${twoDocs}`.execute(db());
    void noHistory;

    const report = await auditStock(db());
    expect(problemsOf(report.differences, wrongDept)).toEqual(['DEPARTMENT_NOT_WAREHOUSE_OWNER']);
    expect(problemsOf(report.differences, wrongPlace)).toEqual(['HISTORY_WAREHOUSE_MISMATCH']);
    expect(problemsOf(report.differences, fakePick).sort()).toEqual(['HISTORY_STATE_MISMATCH', 'PICKED_WITHOUT_CHANNEL']);
    expect(problemsOf(report.differences, orphan)).toEqual(['NO_HISTORY']);
    expect(problemsOf(report.differences, stale)).toEqual(['LOCKED_BY_CLOSED_DOCUMENT']);
    expect(problemsOf(report.differences, twoDocs).sort()).toEqual(['IN_TWO_OPEN_DOCUMENTS', 'OPEN_DOCUMENT_NOT_LOCKING']);
    expect(new Set(report.differences.map((d) => d.iccid))).toEqual(new Set([wrongDept, wrongPlace, fakePick, orphan, stale, twoDocs]));
    expect(report.differences.find((d) => d.iccid === wrongPlace)?.detail).toMatch(/at 130041H1.*last event .* at 130041/);
    // the limit lists fewer and says so
    const short = await auditStock(db(), { limit: 2 });
    expect(short.differences).toHaveLength(2);
    expect(short.truncated).toBe(true);
    // history rows of a card that does not exist
    await sql`INSERT INTO sim_card_events (iccid, at, event, to_state) VALUES (${iccid(998)}, now(), 'imported', 'in_stock')`.execute(db());
    expect(problemsOf((await auditStock(db())).differences, iccid(998))).toEqual(['HISTORY_OF_UNKNOWN_CARD']);
  });
});

test('demo: the 河西 branch store feeds the front-desk flow — allocate 10 micro blank cards to 13ZDF16, pick them for TJ-130041-C01, card data present; audit 0', { timeout: 120_000 }, async () => {
  // the demo's own organisation (the test organisation already owns warehouse 130041), in memory
  const ctx = await createContext(
    { ...loadConfig({}), databaseUrl: undefined, logLevel: 'silent', kiKey: randomBytes(32).toString('hex') },
    { clock: new SimulatedClock(T0, { frozen: true }), log: pino({ level: 'silent' }), db: { dataDir: 'memory://' } },
  );
  try {
    const { loadDemo } = await import('../src/app/demo.ts');
    await loadDemo(ctx);
    const keeper01 = await actorOf(ctx, 'keeper01');
    const ess01 = await actorOf(ctx, 'ess01');
    const stock = ctx.stock;
    const doc = await stock.createTransfer(keeper01, { kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'blank_128k_micro', quantity: 10 });
    await stock.act(keeper01, doc.stockOrderId, 'approve-out');
    await stock.act(ess01, doc.stockOrderId, 'approve-in');
    const pick = await stock.createPick(ess01, { warehouseCode: '13ZDF16', channelDepartmentId: 'TJ-130041-C01', cardType: 'blank_128k_micro', quantity: 10 });
    await stock.act(ess01, pick.stockOrderId, 'confirm');
    const picked = await ctx.database.db
      .selectFrom('sim_cards as c')
      .leftJoin('sim_card_data as d', 'd.iccid', 'c.iccid')
      .select(['c.iccid', 'c.warehouse_code', 'd.imsi', 'd.ki_encrypted'])
      .where('c.state', '=', 'picked')
      .where('c.picked_by_department_id', '=', 'TJ-130041-C01')
      .execute();
    expect(picked).toHaveLength(10);
    for (const c of picked) {
      expect(c.warehouse_code).toBe('13ZDF16');
      expect(c.imsi).toMatch(/^4600\d{11}$/);
      // the card writer can open the Ki with the context's key
      expect(ctx.kiBox.open(c.ki_encrypted as Buffer).toString('hex')).toMatch(/^[0-9a-f]{32}$/);
    }
    expect((await auditStock(ctx.database.db)).differences).toEqual([]);
  } finally {
    await ctx.close();
  }
});

// ---- the CLI on an embedded database -------------------------------------------------------------

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'openboss-stock-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const e: NodeJS.ProcessEnv = { ...process.env, OPENBOSS_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' };
  delete e.DATABASE_URL;
  try {
    const r = await run(process.execPath, ['src/app/cli.ts', ...args], { env: e, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const x = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

test('CLI: demo blank cards with card data, `stock import-cards` / `import-card-data` with their reports, `audit stock` exits 1 naming a broken card', { timeout: 300_000 }, async () => {
  const demo = await cli('demo');
  expect(demo.code, demo.stderr).toBe(0);

  // the demo's 河西 branch store holds ≥ 50 micro and ≥ 50 normal blank cards, all with card data
  const pg = await PGlite.create(join(dir, 'data'));
  const stockRows = (
    await pg.query<{ card_type: string; n: number; with_data: number; events: number }>(`
      SELECT c.card_type, count(*)::int AS n, count(d.iccid)::int AS with_data,
             (SELECT count(*)::int FROM sim_card_events e WHERE e.iccid = ANY(array_agg(c.iccid)))
        FROM sim_cards c LEFT JOIN sim_card_data d ON d.iccid = c.iccid
       WHERE c.warehouse_code = '130041' AND c.department_id = 'TJ-130041' AND c.state = 'in_stock' AND c.card_type <> 'finished' AND c.imsi IS NULL
       GROUP BY c.card_type ORDER BY c.card_type`)
  ).rows;
  await pg.close();
  const byType = Object.fromEntries(stockRows.map((r) => [r.card_type, r]));
  expect(byType.blank_128k_micro?.with_data).toBeGreaterThanOrEqual(50);
  expect(byType.blank_128k?.with_data).toBeGreaterThanOrEqual(50);
  expect(DEMO_BLANK_CARDS.filter(([wh]) => wh === '130041').map(([, type, n]) => [type, n])).toEqual([
    ['blank_128k_micro', 60],
    ['blank_128k', 60],
  ]);

  const ok = await cli('audit', 'stock');
  expect(ok.stdout, ok.stderr).toMatch(/cards checked: \d+; history rows: \d+; differences: 0/);
  expect(ok.code).toBe(0);

  const cardsFile = join(dir, 'cards.txt');
  const fresh = [iccid(5001), iccid(5002), iccid(5003)];
  writeFileSync(cardsFile, ['iccid', fresh[0], '8986BAD', fresh[1], fresh[2], demoBlankIccid(0), ''].join('\n'));
  const imported = await cli('stock', 'import-cards', cardsFile, '--warehouse', '130041', '--type', 'blank_128k');
  expect(imported.stdout).toMatch(/batch \d+ \(cards, cards\.txt\): 5 rows, 3 imported, 2 refused/);
  expect(imported.stdout).toMatch(/line 3 8986BAD ICCID_MALFORMED/);
  expect(imported.stdout).toMatch(new RegExp(`line 6 ${demoBlankIccid(0)} CARD_EXISTS`));
  expect(imported.code).toBe(1); // some rows were refused

  const dataFile = join(dir, 'data.csv');
  writeFileSync(dataFile, fresh.map((c, i) => `${c},46007999000000${i},${'0f'.repeat(16)}`).join('\n'));
  const data = await cli('stock', 'import-card-data', dataFile, '--json');
  expect(data.code, data.stderr).toBe(0);
  expect(JSON.parse(data.stdout)).toMatchObject({ kind: 'card_data', rowsTotal: 3, rowsImported: 3, rowsFailed: 0, state: 'completed' });
  const wrongType = await cli('stock', 'import-cards', cardsFile, '--warehouse', '130041', '--type', 'gold');
  expect(wrongType.code).not.toBe(0);
  expect(wrongType.stderr).toMatch(/gold/);

  expect((await cli('audit', 'stock')).code).toBe(0);
  const db2 = await PGlite.create(join(dir, 'data'));
  await db2.query(`UPDATE sim_cards SET state = 'picked', picked_by_department_id = 'TJ-130041-C01' WHERE iccid = $1`, [fresh[1]]);
  await db2.close();
  const bad = await cli('audit', 'stock');
  expect(bad.code).toBe(1);
  expect(bad.stdout).toMatch(/differences: 1/);
  expect(bad.stdout).toContain(`${fresh[1]} HISTORY_STATE_MISMATCH`);
  const json = await cli('audit', 'stock', '--json');
  expect(JSON.parse(json.stdout).differences).toEqual([{ iccid: fresh[1], problem: 'HISTORY_STATE_MISMATCH', detail: expect.stringContaining('last event data_loaded') }]);
  void system;
});
