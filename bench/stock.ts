// Scale benchmark of the SIM stock on PostgreSQL (issue 6): import of a card file and of a card data
// file of BENCH_ROWS rows each (default 1,000,000) through the streaming import (the path of
// `openboss stock import-cards` / `import-card-data`: a file read line by line, chunks of
// BENCH_CHUNK_ROWS rows stored by set-based SQL with validation, history rows and Ki sealing),
// then an allocate + pick + return of BENCH_PICK cards (default 100,000) through the stock service.
// Prints rows/s and the peak RSS of each phase, and the ratio to PostgreSQL's own COPY of the same
// files (`psql \copy` into a bare table with a primary key: the raw load, without validation,
// history, sealing or the card tables' indexes and foreign keys). Target: ≥ 50,000 rows/s.
//
//   npm run bench:stock            (node bench/stock.ts; settings in bench/README.md)
//
// Nothing outside its own database (openboss_bench_stock) is touched; it is dropped at the end
// unless BENCH_KEEP=1.
import { createWriteStream, createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import pino from 'pino';
import { sql } from 'kysely';
import { type AppContext, createContext } from '../src/app/context.ts';
import { luhnCheckDigit } from '../src/domains/resources/rules.ts';
import { auditStock } from '../src/domains/resources/stock-audit.ts';
import { StockImportService } from '../src/domains/resources/stock-import.ts';
import type { Actor } from '../src/platform/audit.ts';
import { loadConfig } from '../src/platform/config.ts';
import { hashSecret } from '../src/platform/passwords.ts';
import { commonSettings, CpuMeter, cpuLine, dbUrl, dropDatabase, fmt, intEnv, log, PgPids, postgresInfo, recreateDatabase, round, run, shown } from './lib.ts';

const BENCH_DB = 'openboss_bench_stock';
const TARGET_ROWS_PER_SEC = 50_000;

const common = commonSettings({ seconds: 20, connections: 4 });
const rows = intEnv('BENCH_ROWS', 1_000_000);
const settings = {
  ...common,
  rows,
  pick: Math.min(intEnv('BENCH_PICK', 100_000), rows),
  chunkRows: intEnv('BENCH_CHUNK_ROWS', 10_000),
  inFlight: intEnv('BENCH_CHUNKS_IN_FLIGHT', 2),
  skipCopy: process.env.BENCH_SKIP_COPY === '1',
  psql: process.env.BENCH_PSQL || 'psql',
};

const BRANCH = 'BENCH-B';
const WRITING = 'BENCH-W';
const CHANNEL = 'BENCH-C';
const BRANCH_WH = 'BENCH01';
const WRITING_WH = 'BENCH01W';

const iccidOf = (i: number) => {
  const body = `8986099${String(i).padStart(12, '0')}`;
  return body + luhnCheckDigit(body);
};
const imsiOf = (i: number) => `46009${String(i).padStart(10, '0')}`;
const kiOf = (i: number) => (i * 2654435761).toString(16).padStart(16, '0').slice(-16).repeat(2);

let pgPids: PgPids | undefined;

/** Time, peak resident set size (sampled every 50 ms) and CPU cores (this process, its PostgreSQL) while `fn` runs. */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number; peakRssMb: number; cpu: string }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const meter = new CpuMeter({ postgres: () => pgPids?.pids() ?? [] });
  meter.start();
  const t0 = performance.now();
  try {
    const result = await fn();
    const seconds = (performance.now() - t0) / 1000;
    peak = Math.max(peak, process.memoryUsage().rss);
    const cores = meter.stop();
    return { result, seconds, peakRssMb: round(peak / 1024 / 1024, 0), cpu: cpuLine({ node: cores.loadGenerator ?? 0, postgres: cores.postgres ?? 0, other: cores.other ?? 0 }) };
  } finally {
    clearInterval(timer);
  }
}

async function writeFile(path: string, n: number, line: (i: number) => string, header: string): Promise<number> {
  const out = createWriteStream(path);
  let buf = `${header}\n`;
  for (let i = 0; i < n; i++) {
    buf += `${line(i)}\n`;
    if (buf.length >= 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return statSync(path).size;
}

async function seed(ctx: AppContext): Promise<{ keeper: Actor; ess: Actor }> {
  const db = ctx.database.db;
  const at = ctx.clock.now();
  await db
    .insertInto('departments')
    .values([
      { department_id: BRANCH, parent_id: 'HQ', name: '压测分公司', kind: 'branch', warehouse_code: BRANCH_WH, writing_warehouse_code: WRITING_WH },
      { department_id: WRITING, parent_id: BRANCH, name: '压测写卡库', kind: 'room' },
      { department_id: CHANNEL, parent_id: BRANCH, name: '压测社会渠道', kind: 'channel' },
    ])
    .execute();
  await db
    .insertInto('warehouses')
    .values([
      { warehouse_code: BRANCH_WH, name: '压测二级库', department_id: BRANCH, level: 'branch', created_at: at },
      { warehouse_code: WRITING_WH, name: '压测写卡库', department_id: WRITING, parent_code: BRANCH_WH, level: 'writing', created_at: at },
    ])
    .onConflict((oc) => oc.doNothing())
    .execute();
  const hash = await hashSecret('bench-keeper-pw');
  const ops = await db
    .insertInto('operators')
    .values([
      { username: 'bench_keeper', name: '压测库管', department_id: BRANCH, roles: ['stock_keeper'], password_hash: hash },
      { username: 'bench_ess', name: '压测写卡库管', department_id: WRITING, roles: ['stock_keeper'], password_hash: hash },
    ])
    .returning(['operator_id', 'username', 'department_id'])
    .execute();
  const perms = new Set((await db.selectFrom('roles').select('permissions').where('role_code', '=', 'stock_keeper').executeTakeFirstOrThrow()).permissions);
  const actor = (u: string): Actor => {
    const o = ops.find((x) => x.username === u);
    if (!o) throw new Error(`no operator ${u}`);
    return { operatorId: o.operator_id, username: u, departmentId: o.department_id, permissions: perms };
  };
  return { keeper: actor('bench_keeper'), ess: actor('bench_ess') };
}

interface CopyRun {
  seconds: number;
  rowsPerSec: number;
}

/** PostgreSQL's own bulk load of the same file: `psql -c "\copy …"` into a bare table with a primary key. */
async function copyBaseline(url: string, table: string, columns: string, file: string, n: number): Promise<CopyRun> {
  const create = await run(settings.psql, [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (${columns})`]);
  if (create.code !== 0) throw new Error(`psql: ${create.stderr}`);
  const t0 = performance.now();
  const r = await run(settings.psql, [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy ${table} FROM '${file}' WITH (FORMAT csv, HEADER true)`]);
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`psql \\copy: ${r.stderr}`);
  await run(settings.psql, [url, '-q', '-c', `DROP TABLE ${table}`]);
  return { seconds, rowsPerSec: n / seconds };
}

async function main(): Promise<void> {
  const url = dbUrl(settings.baseUrl, BENCH_DB);
  const pgInfo = await postgresInfo(settings.baseUrl);
  log(`PostgreSQL ${shown(settings.baseUrl)}: ${pgInfo.short}; ${pgInfo.settings}`);
  log(`rows ${fmt(settings.rows)}, pick ${fmt(settings.pick)}, chunks of ${fmt(settings.chunkRows)} rows, ${settings.inFlight} in flight; ${os.cpus().length} cores`);
  await recreateDatabase(settings, BENCH_DB);
  const dir = mkdtempSync(join(os.tmpdir(), 'openboss-bench-stock-'));
  const ctx = await createContext(loadConfig({ DATABASE_URL: url, OPENBOSS_DB_POOL_SIZE: '4', OPENBOSS_CLOCK: 'real', LOG_LEVEL: 'warn', OPENBOSS_KI_KEY: 'b'.repeat(64) }), {
    log: pino({ level: 'warn' }),
  });
  let failed = false;
  pgPids = new PgPids(settings.baseUrl, BENCH_DB);
  await pgPids.start();
  try {
    const { keeper, ess } = await seed(ctx);
    const cardsFile = join(dir, 'cards.txt');
    const dataFile = join(dir, 'card-data.csv');
    const cardBytes = await writeFile(cardsFile, settings.rows, iccidOf, 'iccid');
    const dataBytes = await writeFile(dataFile, settings.rows, (i) => `${iccidOf(i)},${imsiOf(i)},${kiOf(i)}`, 'iccid,imsi,ki');
    log(`files: ${fmt(cardBytes / 1024 / 1024, 1)} MiB of cards, ${fmt(dataBytes / 1024 / 1024, 1)} MiB of card data in ${dir}`);

    const imports = new StockImportService({ db: ctx.database.db, clock: ctx.clock, kiBox: ctx.kiBox, chunksInFlight: settings.inFlight });
    const progress = (label: string) => {
      let next = 0;
      return (p: { rows: number }) => {
        if (p.rows >= next) {
          log(`${label}: ${fmt(p.rows)} rows`);
          next += Math.max(settings.rows / 5, settings.chunkRows);
        }
      };
    };

    log('import of the card file …');
    const cards = await measured(() =>
      imports.importCards(keeper, createReadStream(cardsFile, { highWaterMark: 256 * 1024 }), {
        warehouseCode: BRANCH_WH,
        cardType: 'blank_128k_micro',
        fileName: 'cards.txt',
        chunkRows: settings.chunkRows,
        onProgress: progress('cards'),
      }),
    );
    if (cards.result.rowsImported !== settings.rows) failed = true;
    log(`cards: ${fmt(cards.result.rowsImported)} imported, ${fmt(cards.result.rowsFailed)} refused in ${cards.seconds.toFixed(1)} s; CPU cores: ${cards.cpu}`);

    log('import of the card data file …');
    const data = await measured(() =>
      imports.importCardData(keeper, createReadStream(dataFile, { highWaterMark: 256 * 1024 }), { fileName: 'card-data.csv', chunkRows: settings.chunkRows, onProgress: progress('card data') }),
    );
    if (data.result.rowsImported !== settings.rows) failed = true;
    log(`card data: ${fmt(data.result.rowsImported)} imported, ${fmt(data.result.rowsFailed)} refused in ${data.seconds.toFixed(1)} s; CPU cores: ${data.cpu}`);

    // allocate down to the writing warehouse, pick for the channel, return them all
    const stock = ctx.stock;
    const n = settings.pick;
    log(`allocate ${fmt(n)} cards ${BRANCH_WH} → ${WRITING_WH} …`);
    const allocate = await measured(async () => {
      const doc = await stock.createTransfer(keeper, { kind: 'allocate', sourceWarehouseCode: BRANCH_WH, targetWarehouseCode: WRITING_WH, cardType: 'blank_128k_micro', quantity: n });
      await stock.act(keeper, doc.stockOrderId, 'approve-out');
      return stock.act(ess, doc.stockOrderId, 'approve-in');
    });
    log(`pick ${fmt(n)} cards for ${CHANNEL} …`);
    const pick = await measured(async () => {
      const doc = await stock.createPick(ess, { warehouseCode: WRITING_WH, channelDepartmentId: CHANNEL, cardType: 'blank_128k_micro', quantity: n });
      return stock.act(ess, doc.stockOrderId, 'confirm');
    });
    const range = await sql<{ from: string; to: string; n: number }>`
      SELECT min(iccid) AS from, max(iccid) AS to, count(*)::int AS n FROM sim_cards WHERE state = 'picked' AND picked_by_department_id = ${CHANNEL}`.execute(ctx.database.db);
    const picked = range.rows[0] as { from: string; to: string; n: number };
    if (picked.n !== n) failed = true;
    log(`return ${fmt(picked.n)} cards by range ${picked.from}–${picked.to} …`);
    const giveBack = await measured(async () => {
      const doc = await stock.createReturn(ess, { channelDepartmentId: CHANNEL, range: { from: picked.from, to: picked.to } });
      return stock.act(ess, doc.stockOrderId, 'confirm');
    });
    const back = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sim_cards WHERE state = 'in_stock' AND warehouse_code = ${WRITING_WH}`.execute(ctx.database.db);
    if (back.rows[0]?.n !== n) failed = true;

    log('audit stock …');
    const audit = await measured(() => auditStock(ctx.database.db, { limit: 10 }));
    if (audit.result.differences.length > 0) {
      failed = true;
      log(`audit differences: ${JSON.stringify(audit.result.differences)}`);
    }

    let copyCards: CopyRun | undefined;
    let copyData: CopyRun | undefined;
    if (!settings.skipCopy) {
      log('baseline: psql \\copy of the same files …');
      copyCards = await copyBaseline(url, 'bench_copy_cards', 'iccid text PRIMARY KEY', cardsFile, settings.rows);
      copyData = await copyBaseline(url, 'bench_copy_card_data', 'iccid text PRIMARY KEY, imsi text UNIQUE, ki text NOT NULL', dataFile, settings.rows);
    }

    const rate = (r: number, s: number) => r / s;
    const cardsRate = rate(settings.rows, cards.seconds);
    const dataRate = rate(settings.rows, data.seconds);
    const verdict = (r: number) => (r >= TARGET_ROWS_PER_SEC ? 'ok' : 'MISS');
    console.log('');
    console.log(`stock bench — ${pgInfo.short}, ${os.cpus().length} cores, Node ${process.version}`);
    console.log(`  card file import    ${fmt(settings.rows).padStart(10)} rows  ${cards.seconds.toFixed(1).padStart(6)} s  ${fmt(cardsRate).padStart(8)} rows/s  peak RSS ${cards.peakRssMb} MB  cores: ${cards.cpu}  [target ${fmt(TARGET_ROWS_PER_SEC)}: ${verdict(cardsRate)}]`);
    console.log(`  card data import    ${fmt(settings.rows).padStart(10)} rows  ${data.seconds.toFixed(1).padStart(6)} s  ${fmt(dataRate).padStart(8)} rows/s  peak RSS ${data.peakRssMb} MB  cores: ${data.cpu}  [target ${fmt(TARGET_ROWS_PER_SEC)}: ${verdict(dataRate)}]`);
    console.log(`  allocate (3 steps)  ${fmt(n).padStart(10)} cards ${allocate.seconds.toFixed(1).padStart(6)} s  ${fmt(rate(n, allocate.seconds)).padStart(8)} cards/s peak RSS ${allocate.peakRssMb} MB  cores: ${allocate.cpu}`);
    console.log(`  pick + confirm      ${fmt(n).padStart(10)} cards ${pick.seconds.toFixed(1).padStart(6)} s  ${fmt(rate(n, pick.seconds)).padStart(8)} cards/s peak RSS ${pick.peakRssMb} MB  cores: ${pick.cpu}`);
    console.log(`  return + confirm    ${fmt(n).padStart(10)} cards ${giveBack.seconds.toFixed(1).padStart(6)} s  ${fmt(rate(n, giveBack.seconds)).padStart(8)} cards/s peak RSS ${giveBack.peakRssMb} MB  cores: ${giveBack.cpu}`);
    console.log(`  audit stock         ${fmt(audit.result.cards).padStart(10)} cards ${audit.seconds.toFixed(1).padStart(6)} s  differences ${audit.result.differences.length}`);
    if (copyCards && copyData) {
      console.log(`  psql \\copy cards    ${fmt(copyCards.rowsPerSec).padStart(10)} rows/s (bare table, primary key) → import/COPY ${(cardsRate / copyCards.rowsPerSec).toFixed(3)}`);
      console.log(`  psql \\copy data     ${fmt(copyData.rowsPerSec).padStart(10)} rows/s (bare table, 2 unique keys) → import/COPY ${(dataRate / copyData.rowsPerSec).toFixed(3)}`);
    }
    console.log(
      JSON.stringify({
        postgres: pgInfo.short,
        rows: settings.rows,
        chunkRows: settings.chunkRows,
        chunksInFlight: settings.inFlight,
        cards: { seconds: round(cards.seconds, 2), rowsPerSec: Math.round(cardsRate), peakRssMb: cards.peakRssMb },
        cardData: { seconds: round(data.seconds, 2), rowsPerSec: Math.round(dataRate), peakRssMb: data.peakRssMb },
        pick: { cards: n, allocateSeconds: round(allocate.seconds, 2), pickSeconds: round(pick.seconds, 2), returnSeconds: round(giveBack.seconds, 2), peakRssMb: Math.max(allocate.peakRssMb, pick.peakRssMb, giveBack.peakRssMb) },
        copy: copyCards && copyData ? { cardsRowsPerSec: Math.round(copyCards.rowsPerSec), cardDataRowsPerSec: Math.round(copyData.rowsPerSec), cardsRatio: round(cardsRate / copyCards.rowsPerSec, 3), cardDataRatio: round(dataRate / copyData.rowsPerSec, 3) } : null,
        auditDifferences: audit.result.differences.length,
        ok: !failed,
      }),
    );
  } finally {
    await pgPids.stop();
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
    if (!settings.keep) await dropDatabase(settings, BENCH_DB);
  }
  if (failed) {
    console.error('[bench] FAILED: counts or the stock audit did not match');
    process.exitCode = 1;
  }
}

await main();
