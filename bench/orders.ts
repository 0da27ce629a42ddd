// Load benchmark of open-account orders (新开户) through the HTTP API on PostgreSQL.
//
// One order = POST /api/v1/orders (OPEN_ACCOUNT: a single mobile subscriber on plan W3-46 with a new
// virtual account, a prestore of 100 yuan, a free ordinary number and a finished SIM) → /check →
// /quote → /submit; it counts when submit answers status `completed`. Prints orders/s, p50/p99 of
// the whole order and of each step, errors, SQL statements per order, and pgbench's TPS on the same
// PostgreSQL in the same run with the ratio. Target on the 2-core machine: ≥ 200 orders/s.
//
//   npm run bench:orders            (node bench/orders.ts; settings in bench/README.md)
//
// The server runs in a child process; the load is N concurrent clients, each walking one order at a
// time. Nothing outside the two bench databases is touched.
import os from 'node:os';
import cliProgress from 'cli-progress';
import pg from 'pg';
import pino from 'pino';
import { Pool } from 'undici';
import { type RawBuilder, sql } from 'kysely';
import { type AppContext, createContext } from '../src/app/context.ts';
import { buildServer } from '../src/app/server.ts';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { DEMO_CATALOG } from '../src/domains/catalog/demo-catalog.ts';
import { residentIdCheckChar } from '../src/domains/customers/rules.ts';
import { deriveLevel } from '../src/domains/resources/rules.ts';
import { loadConfig } from '../src/platform/config.ts';
import { openDatabase } from '../src/platform/db.ts';
import { hashSecret } from '../src/platform/passwords.ts';
import {
  commonSettings,
  CpuMeter,
  cpuLine,
  cpuPerOp,
  dbUrl,
  dropDatabase,
  fmt,
  freePort,
  intEnv,
  latencySummary,
  log,
  PgPids,
  type PgbenchRun,
  postgresInfo,
  prepareDatabases,
  round,
  runPgbench,
  Server,
  stopServerOnSignal,
  shown,
} from './lib.ts';

const BENCH_DB = 'openboss_bench_orders';
const PGBENCH_DB = 'openboss_pgbench_orders';
const ADMIN_PASSWORD = 'bench-admin-pw';
const DESK_USER = 'bench_desk';
const DESK_PASSWORD = 'bench-desk-pw';
const DEPARTMENT = 'BENCH-H1';
const SERVICE_PASSWORD = '902417';
const PLAN = 'W3-46';
const PRESTORE_FEN = 10_000;

const TARGET_ORDERS_PER_SEC = 200;

const common = commonSettings({ seconds: 20, connections: 16 });
const settings = {
  ...common,
  /** numbers, SIM cards and customers in stock; the load stops early when they run out */
  stock: intEnv('BENCH_STOCK', 20_000),
  /** orders walked one at a time in this process to count SQL statements per step */
  profileOrders: intEnv('BENCH_PROFILE_ORDERS', 20, 0),
  /** then orders walked one at a time in this process with CPU measured (this process + PostgreSQL), no contention of clients */
  cpuOrders: intEnv('BENCH_CPU_ORDERS', 200, 0),
  /** 1: print the statements of one profiled order */
  showStatements: process.env.BENCH_SHOW_STATEMENTS === '1',
  /** 0: no ANALYZE after the warm-up (plans cached while the tables were empty stay) */
  analyze: process.env.BENCH_ANALYZE !== '0',
};

const STEPS = ['create', 'check', 'quote', 'submit'] as const;
type Step = (typeof STEPS)[number];

// ---------------------------------------------------------------------------------------------
// Counting SQL statements: every pg.Client query passes through the prototype (the prepared-statement
// wrapper of src/platform/db.ts binds it at connect), so one patch sees every round trip.

interface StatementCounter {
  total: number;
  transactionControl: number;
  texts: string[];
}
let counting: StatementCounter | undefined;
{
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (counting) {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
      counting.total++;
      if (/^\s*(begin|commit|rollback|start transaction)\b/i.test(text)) counting.transactionControl++;
      counting.texts.push(text.replace(/\s+/g, ' ').trim());
    }
    return original.apply(this, args);
  };
}

// ---------------------------------------------------------------------------------------------
// Stock

/** A valid 18-character resident ID (GB 11643) for customer i: region 120103, varied birth dates, sequence numbers. */
function residentId(i: number): string {
  const birth = new Date(Date.UTC(1950, 0, 1) + (i % 20_000) * 86_400_000);
  const ymd = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const seq = String(Math.floor(i / 20_000) % 1000).padStart(3, '0');
  const body = `120103${ymd}${seq}`;
  return body + residentIdCheckChar(body);
}

interface Stock {
  customerIds: number[];
  numbers: string[];
  iccids: string[];
}

/**
 * The catalog, a branch and a hall with a front-desk operator, and `n` each of ordinary numbers,
 * finished SIM cards and customers with a service password — set-based inserts, one statement each.
 */
async function seed(ctx: AppContext, n: number): Promise<Stock> {
  const db = ctx.database.db;
  const t0 = performance.now();
  await ctx.catalog.importCatalog(DEMO_CATALOG);
  await db
    .insertInto('departments')
    .values([
      { department_id: 'BENCH-B', parent_id: 'HQ', name: '压测分公司', kind: 'branch', warehouse_code: '139990', writing_warehouse_code: '13ZBNCH' },
      { department_id: DEPARTMENT, parent_id: 'BENCH-B', name: '压测营业厅', kind: 'hall' },
    ])
    .execute();
  await db
    .insertInto('warehouses')
    .values({ warehouse_code: '139990H1', name: '压测营业厅库', department_id: DEPARTMENT, level: 'hall', created_at: ctx.clock.now() })
    .execute();
  const [deskHash, servicePasswordHash] = await Promise.all([hashSecret(DESK_PASSWORD), hashSecret(SERVICE_PASSWORD)]);
  await db.insertInto('operators').values({ username: DESK_USER, name: '压测营业员', department_id: DEPARTMENT, roles: ['front_desk'], password_hash: deskHash }).execute();

  // numbers whose level the rules derive as ordinary (R-X-10), so no premium fee or approval applies
  const levels = await ctx.resources.levels();
  const candidates: string[] = [];
  for (let i = 0; candidates.length < n; i++) {
    const number = `133${String(10_000_000 + ((i * 7919) % 90_000_000)).padStart(8, '0')}`;
    if (deriveLevel(number, levels)?.code === 'ordinary') candidates.push(number);
  }
  await sql`
    INSERT INTO numbers (service_number, number_class, level_code, department_id, state_changed_at, created_at)
    SELECT num, 'mobile', 'ordinary', ${DEPARTMENT}, now(), now() FROM unnest(${candidates}::text[]) AS num`.execute(db);
  // finished cards (成卡) with their IMSI, no number written on them; ICCIDs of 19 digits
  await sql`
    INSERT INTO sim_cards (iccid, imsi, card_type, state, warehouse_code, department_id, state_changed_at, created_at)
    SELECT '8986031' || lpad(g::text, 12, '0'), '46003' || lpad(g::text, 10, '0'), 'finished', 'in_stock', '139990H1', ${DEPARTMENT}, now(), now()
      FROM generate_series(1, ${n}::int) AS g`.execute(db);
  // people with one shared service-password hash (scrypt is deliberately slow to compute n times)
  const ids = Array.from({ length: n }, (_, i) => residentId(i));
  await sql`
    INSERT INTO customers (kind, name, id_type, id_number, contact_phone, address, segment, service_password_hash, department_id, created_at, updated_at)
    SELECT 'person', '压测客户' || i, 'resident_id', idn, '139' || lpad(i::text, 8, '0'), '天津市河西区友谊路 10 号', 'personal', ${servicePasswordHash}, ${DEPARTMENT}, now(), now()
      FROM unnest(${ids}::text[]) WITH ORDINALITY AS t(idn, i)`.execute(db);
  await sql`VACUUM ANALYZE`.execute(db);
  // experiments only: SQL run on the app database once it is seeded, e.g. BENCH_SQL="DROP INDEX orders_open_idx"
  if (process.env.BENCH_SQL) {
    await sql.raw(process.env.BENCH_SQL).execute(db);
    log(`BENCH_SQL: ${process.env.BENCH_SQL}`);
  }

  const [customers, numbers, sims] = await Promise.all([
    db.selectFrom('customers').select('customer_id').where('department_id', '=', DEPARTMENT).orderBy('customer_id').execute(),
    db.selectFrom('numbers').select('service_number').where('state', '=', 'free').where('department_id', '=', DEPARTMENT).orderBy('service_number').execute(),
    db.selectFrom('sim_cards').select('iccid').where('state', '=', 'in_stock').where('department_id', '=', DEPARTMENT).orderBy('iccid').execute(),
  ]);
  log(`seeded the demo catalog, ${fmt(numbers.length)} numbers, ${fmt(sims.length)} SIM cards and ${fmt(customers.length)} customers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { customerIds: customers.map((c) => c.customer_id), numbers: numbers.map((x) => x.service_number), iccids: sims.map((x) => x.iccid) };
}

function orderBody(stock: Stock, k: number) {
  return {
    businessType: 'OPEN_ACCOUNT',
    customerId: stock.customerIds[k],
    documents: { presenter: 'owner', ownerIdOriginal: true },
    newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
    members: [{ role: 'main', network: 'wcdma3g', serviceNumber: stock.numbers[k], iccid: stock.iccids[k], planCode: PLAN }],
    prestoreFen: PRESTORE_FEN,
  };
}

// ---------------------------------------------------------------------------------------------
// The order walk, against any transport (HTTP to the server, or inject into an in-process app)

type Send = (method: string, path: string, body: unknown) => Promise<{ status: number; body: string }>;

interface StepOutcome {
  ok: boolean;
  status: number;
  body: string;
  orderId?: number;
  orderStatus?: string;
}

async function runStep(send: Send, step: Step, stock: Stock, k: number, orderId: number | undefined): Promise<StepOutcome> {
  const path = step === 'create' ? '/api/v1/orders' : `/api/v1/orders/${orderId}/${step}`;
  const r = await send('POST', path, step === 'create' ? orderBody(stock, k) : {});
  let parsed: { orderId?: number; status?: string } = {};
  try {
    parsed = JSON.parse(r.body) as typeof parsed;
  } catch {
    /* not JSON: reported as is */
  }
  const want = { create: [201, 'draft'], check: [200, 'checked'], quote: [200, 'quoted'], submit: [200, 'completed'] } as const;
  const [wantStatus, wantOrderStatus] = want[step];
  return { ok: r.status === wantStatus && parsed.status === wantOrderStatus, status: r.status, body: r.body, orderId: parsed.orderId, orderStatus: parsed.status };
}

// ---------------------------------------------------------------------------------------------
// Statement counts: a few orders walked one at a time through an in-process app on the bench database

interface StatementProfile {
  orders: number;
  completed: number;
  /** the CPU-measured walk after the counted one: orders walked, completed, ms of CPU per order */
  cpu: { orders: number; completed: number; appMs: number; postgresMs: number } | null;
  perStep: Record<Step, number>;
  perOrder: number;
  transactionControlPerOrder: number;
  sample: Record<Step, string[]>;
}

async function profileStatements(ctx: AppContext, stock: Stock, count: number, cpuOrders: number, pgPids: PgPids): Promise<StatementProfile> {
  const app = await buildServer(ctx);
  await app.ready();
  try {
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: DESK_USER, password: DESK_PASSWORD } });
    if (login.statusCode !== 200) throw new Error(`login ${DESK_USER}: ${login.statusCode} ${login.body}`);
    const token = (login.json() as { token: string }).token;
    const send: Send = async (method, url, body) => {
      const r = await app.inject({ method: method as 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      return { status: r.statusCode, body: r.body };
    };
    const perStep: Record<Step, number> = { create: 0, check: 0, quote: 0, submit: 0 };
    const sample: Record<Step, string[]> = { create: [], check: [], quote: [], submit: [] };
    let control = 0;
    let completed = 0;
    for (let k = 0; k < count; k++) {
      let orderId: number | undefined;
      let ok = true;
      for (const step of STEPS) {
        counting = { total: 0, transactionControl: 0, texts: [] };
        const out = await runStep(send, step, stock, k, orderId);
        const c = counting;
        counting = undefined;
        perStep[step] += c.total;
        control += c.transactionControl;
        if (k === 0) sample[step] = c.texts;
        if (!out.ok) {
          log(`profile order ${k}: ${step} → ${out.status} ${out.body.slice(0, 300)}`);
          ok = false;
          break;
        }
        orderId ??= out.orderId;
      }
      if (ok) completed++;
    }
    const n = Math.max(1, count);
    for (const s of STEPS) perStep[s] = round(perStep[s] / n, 2);
    // CPU of one order at a time, in this process (the app through inject, no HTTP) and its PostgreSQL backends
    let cpu: StatementProfile['cpu'] = null;
    if (cpuOrders > 0) {
      const meter = new CpuMeter({ postgres: pgPids.pids });
      const t0 = performance.now();
      meter.start();
      let done = 0;
      for (let k = count; k < count + cpuOrders; k++) {
        let orderId: number | undefined;
        let ok = true;
        for (const step of STEPS) {
          const out = await runStep(send, step, stock, k, orderId);
          if (!out.ok) {
            log(`cpu order ${k}: ${step} → ${out.status} ${out.body.slice(0, 300)}`);
            ok = false;
            break;
          }
          orderId ??= out.orderId;
        }
        if (ok) done++;
      }
      const cores = meter.stop();
      const seconds = (performance.now() - t0) / 1000;
      const per = (c: number | undefined) => round(((c ?? 0) * seconds * 1000) / Math.max(1, cpuOrders), 2);
      cpu = { orders: cpuOrders, completed: done, appMs: per(cores.loadGenerator), postgresMs: per(cores.postgres) };
    }
    return { orders: count, completed: completed + (cpu?.completed ?? 0), cpu, perStep, perOrder: round(STEPS.reduce((a, s) => a + perStep[s], 0), 2), transactionControlPerOrder: round(control / n, 2), sample };
  } finally {
    await app.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The load: `connections` clients, each walking one order at a time over a keep-alive connection

interface LoadOutcome {
  seconds: number;
  started: number;
  completed: number;
  failed: number;
  /** ms per whole order (completed ones) and per step (successful steps) */
  orderMs: number[];
  stepMs: Record<Step, number[]>;
  /** failures per "step status" */
  errors: Record<string, number>;
  failures: string[];
  /** stock indices of the orders that completed */
  completedIndices: number[];
  stockOut: boolean;
}

/** The load generator's HTTP client: undici's pool of keep-alive connections (cheaper per request than
 * node:http, so less of the machine's two cores goes to the load generator instead of the server). */
function httpSender(pool: Pool, token: string): Send {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return async (method, path, body) => {
    const res = await pool.request({ method, path, headers, body: JSON.stringify(body) });
    return { status: res.statusCode, body: await res.body.text() };
  };
}

async function orderLoad(send: Send, stock: Stock, next: { k: number }, seconds: number, label: string, showBar: boolean): Promise<LoadOutcome> {
  const out: LoadOutcome = {
    seconds: 0,
    started: 0,
    completed: 0,
    failed: 0,
    orderMs: [],
    stepMs: { create: [], check: [], quote: [], submit: [] },
    errors: {},
    failures: [],
    completedIndices: [],
    stockOut: false,
  };
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let bar: cliProgress.SingleBar | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (showBar) {
    bar = new cliProgress.SingleBar(
      { format: `[bench] ${label} |{bar}| {value}/{total} s  {rate} orders/s`, noTTYOutput: true, notTTYSchedule: 5000, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(seconds, 0, { rate: 0 });
    let last = 0;
    timer = setInterval(() => {
      bar?.update(Math.min(seconds, Math.round((performance.now() - t0) / 1000)), { rate: out.completed - last });
      last = out.completed;
    }, 1000);
  }
  const worker = async () => {
    while (performance.now() < deadline) {
      const k = next.k++;
      if (k >= stock.customerIds.length) {
        out.stockOut = true;
        return;
      }
      out.started++;
      const began = performance.now();
      let orderId: number | undefined;
      let ok = true;
      for (const step of STEPS) {
        const s0 = performance.now();
        let r: StepOutcome;
        try {
          r = await runStep(send, step, stock, k, orderId);
        } catch (err) {
          r = { ok: false, status: 0, body: err instanceof Error ? err.message : String(err) };
        }
        if (!r.ok) {
          const key = `${step} ${r.status}${r.orderStatus ? ` ${r.orderStatus}` : ''}`;
          out.errors[key] = (out.errors[key] ?? 0) + 1;
          if (out.failures.length < 5) out.failures.push(`${key}: ${r.body.slice(0, 400)}`);
          ok = false;
          break;
        }
        out.stepMs[step].push(performance.now() - s0);
        orderId ??= r.orderId;
      }
      if (ok) {
        out.completed++;
        out.orderMs.push(performance.now() - began);
        out.completedIndices.push(k);
      } else {
        out.failed++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: settings.connections }, worker));
  } finally {
    if (timer) clearInterval(timer);
    bar?.stop();
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks afterwards

interface Checks {
  completedOrders: number;
  answeredCompleted: number;
  ordersWithoutOneSubscriber: number;
  subscribers: number;
  numbersNotInUse: number;
  simsNotActivated: number;
  numbersTakenTwice: number;
  prestoreMismatches: number;
  holdsLeft: number;
  conservationChecked: number;
  conservationDiffering: number;
  ok: boolean;
}

async function verify(url: string, answeredCompleted: number): Promise<Checks> {
  const database = await openDatabase({ databaseUrl: url, poolSize: 2 });
  try {
    const db = database.db;
    const one = async (q: RawBuilder<{ n: number | string }>) => Number((await q.execute(db)).rows[0]?.n ?? -1);
    const completedOrders = await one(sql`SELECT count(*) AS n FROM orders WHERE business_type = 'OPEN_ACCOUNT' AND status = 'completed'`);
    // every completed order: exactly one subscriber of its customer, the one the order names
    const ordersWithoutOneSubscriber = await one(sql`
      SELECT count(*) AS n FROM (
        SELECT o.order_id FROM orders o LEFT JOIN subscribers s ON s.customer_id = o.customer_id
         WHERE o.status = 'completed'
         GROUP BY o.order_id, o.subscriber_id, o.result
        HAVING count(s.subscriber_id) <> 1
            OR max(s.subscriber_id) IS DISTINCT FROM o.subscriber_id
            OR max(s.subscriber_id) IS DISTINCT FROM (o.result->'subscribers'->>'main')::bigint) x`);
    const subscribers = await one(sql`SELECT count(*) AS n FROM subscribers`);
    // its number in use by it, its SIM activated for it with that number
    const numbersNotInUse = await one(sql`
      SELECT count(*) AS n FROM subscribers s
        LEFT JOIN numbers n ON n.service_number = s.service_number AND n.state = 'in_use' AND n.subscriber_id = s.subscriber_id
       WHERE n.service_number IS NULL`);
    const simsNotActivated = await one(sql`
      SELECT count(*) AS n FROM subscribers s
        LEFT JOIN sim_cards c ON c.iccid = s.iccid AND c.state = 'activated' AND c.subscriber_id = s.subscriber_id AND c.service_number = s.service_number
       WHERE c.iccid IS NULL`);
    // no number taken twice: one subscriber per number, in-use numbers and activated cards = subscribers
    const numbersTakenTwice = await one(sql`
      SELECT (SELECT count(*) FROM (SELECT service_number FROM subscribers GROUP BY service_number HAVING count(*) > 1) d)
           + abs((SELECT count(*) FROM numbers WHERE state = 'in_use') - (SELECT count(*) FROM subscribers))
           + abs((SELECT count(*) FROM sim_cards WHERE state = 'activated') - (SELECT count(*) FROM subscribers)) AS n`);
    // the 100-yuan prestore landed once in each order's account
    const prestoreMismatches = await one(sql`
      SELECT count(*) AS n FROM orders o
        LEFT JOIN (SELECT account_id, sum(amount_fen) AS s, count(*) AS c FROM payments GROUP BY account_id) p ON p.account_id = o.account_id
       WHERE o.status = 'completed' AND (p.s IS DISTINCT FROM ${PRESTORE_FEN}::bigint OR p.c <> 1)`);
    const holdsLeft = await one(sql`SELECT count(*) AS n FROM order_holds`);
    const conservation = await checkConservation(db);
    const ok =
      completedOrders === answeredCompleted &&
      ordersWithoutOneSubscriber === 0 &&
      subscribers === completedOrders &&
      numbersNotInUse === 0 &&
      simsNotActivated === 0 &&
      numbersTakenTwice === 0 &&
      prestoreMismatches === 0 &&
      holdsLeft === 0 &&
      conservation.differing.length === 0;
    return {
      completedOrders,
      answeredCompleted,
      ordersWithoutOneSubscriber,
      subscribers,
      numbersNotInUse,
      simsNotActivated,
      numbersTakenTwice,
      prestoreMismatches,
      holdsLeft,
      conservationChecked: conservation.accountsChecked,
      conservationDiffering: conservation.differing.length,
      ok,
    };
  } finally {
    await database.close();
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const benchUrl = dbUrl(settings.baseUrl, BENCH_DB);
  const cpus = os.cpus();
  const cpuModel = cpus[0]?.model.trim() ?? '?';
  const pgInfo = await postgresInfo(settings.baseUrl);

  console.log('OpenBOSS open-account orders benchmark');
  console.log(`  machine     ${cpus.length} CPUs (${cpuModel}), ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, ${os.type()} ${os.release()}`);
  console.log(`  node        ${process.version}`);
  console.log(`  postgres    ${pgInfo.version}`);
  console.log(`              ${pgInfo.settings}`);
  console.log(`  databases   ${shown(benchUrl)} (app), ${shown(dbUrl(settings.baseUrl, PGBENCH_DB))} (pgbench)`);
  if (settings.dbSettings.length) console.log(`  db settings ${settings.dbSettings.map((d) => `${d.name}=${d.value}`).join(' ')} (BENCH_DB_SETTINGS, both databases)`);
  console.log(
    `  load        ${settings.connections} clients × ${settings.seconds} s after ${settings.warmupSeconds} s warm-up, each order create → check → quote → submit; stock ${fmt(settings.stock)}, server pool ${settings.poolSize}`,
  );
  console.log('');

  let server: Server | undefined;
  const releaseSignals = stopServerOnSignal(() => server);

  try {
    const pgbenchRuns = await prepareDatabases(settings, BENCH_DB, PGBENCH_DB);

    // migrations, catalog, stock and the statement counts in this process; then the server
    const ctx = await createContext(loadConfig({ DATABASE_URL: benchUrl, OPENBOSS_DB_POOL_SIZE: '4', OPENBOSS_CLOCK: 'real', LOG_LEVEL: 'warn' }), { log: pino({ level: 'warn' }) });
    let stock: Stock;
    let profile: StatementProfile | undefined;
    try {
      stock = await seed(ctx, settings.stock);
      if (settings.profileOrders > 0) {
        log(`counting SQL statements over ${settings.profileOrders} orders, then CPU over ${settings.cpuOrders}, one at a time`);
        const pids = new PgPids(settings.baseUrl, BENCH_DB);
        await pids.start();
        try {
          profile = await profileStatements(ctx, stock, settings.profileOrders, settings.cpuOrders, pids);
        } finally {
          await pids.stop();
        }
      }
    } finally {
      await ctx.close();
    }
    const next = { k: settings.profileOrders > 0 ? settings.profileOrders + settings.cpuOrders : 0 };

    server = new Server(await freePort(), benchUrl, { poolSize: settings.poolSize, adminPassword: ADMIN_PASSWORD, nodeOptions: settings.serverNodeOptions });
    await server.waitHealthy();
    log(`server up at ${server.url} (pid ${server.pid}, OPENBOSS_DB_POOL_SIZE=${settings.poolSize})`);
    const loginRes = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: DESK_USER, password: DESK_PASSWORD }) });
    if (!loginRes.ok) throw new Error(`login ${DESK_USER}: ${loginRes.status} ${await loginRes.text()}`);
    const { token } = (await loginRes.json()) as { token: string };
    const pool = new Pool(server.url, { connections: settings.connections });
    const send = httpSender(pool, token);

    let warm: LoadOutcome | undefined;
    if (settings.warmupSeconds > 0) {
      log(`warm-up ${settings.warmupSeconds} s`);
      warm = await orderLoad(send, stock, next, settings.warmupSeconds, 'warm-up', false);
      log(`warm-up: ${fmt(warm.completed / warm.seconds, 1)} orders/s, p99 ${latencySummary(warm.orderMs).p99} ms, ${warm.failed} failed`);
    }
    if (settings.analyze) {
      // What autovacuum does within a minute of a running system: the tables the orders fill started
      // empty, and plans cached by the server's connections while they were (a sequential scan of a
      // few rows is the cheapest then) would stay for the whole run; ANALYZE invalidates them.
      const t0 = performance.now();
      const c = new pg.Client({ connectionString: benchUrl });
      await c.connect();
      try {
        await c.query('ANALYZE');
      } finally {
        await c.end();
      }
      log(`ANALYZE after the warm-up: ${fmt((performance.now() - t0) / 1000, 1)} s`);
    }

    const serverPid = server.pid;
    const appPg = new PgPids(settings.baseUrl, BENCH_DB);
    await appPg.start();
    const meter = new CpuMeter({ server: () => (serverPid ? [serverPid] : []), postgres: appPg.pids });
    meter.start();
    const load = await orderLoad(send, stock, next, settings.seconds, 'orders', true);
    const loadCpu = meter.stop();
    await appPg.stop();
    await pool.close();

    log('checking: subscribers, numbers, SIM cards, prestores, holds and conservation (R-ACC-18)');
    const answeredCompleted = (profile?.completed ?? 0) + (warm?.completed ?? 0) + load.completed;
    const checks = await verify(benchUrl, answeredCompleted);

    await server.stop();
    const serverLogs = server.logs.trim();
    server = undefined;

    if (!settings.skipPgbench) pgbenchRuns.push(await runPgbench(settings, PGBENCH_DB, 'after'));

    // ---- the report
    const ordersPerSec = load.completed / load.seconds;
    const order = latencySummary(load.orderMs);
    const steps = Object.fromEntries(STEPS.map((s) => [s, latencySummary(load.stepMs[s])])) as Record<Step, ReturnType<typeof latencySummary>>;
    const pgbenchTps = pgbenchRuns.length ? pgbenchRuns.reduce((a, b) => a + b.tps, 0) / pgbenchRuns.length : undefined;
    const ratio = pgbenchTps ? ordersPerSec / pgbenchTps : undefined;
    const failed = load.failed + (warm?.failed ?? 0) + (profile ? profile.orders + (profile.cpu?.orders ?? 0) - profile.completed : 0);
    const pass = { ordersPerSec: ordersPerSec >= TARGET_ORDERS_PER_SEC, errors: failed === 0, checks: checks.ok };
    const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    const okMark = (n: number) => (n === 0 ? 'OK' : 'FAILED');

    console.log('');
    console.log('============= OpenBOSS open-account orders benchmark =============');
    console.log(`machine        ${cpus.length} CPUs ${cpuModel}; node ${process.version}; ${pgInfo.short}`);
    console.log(`load           OPEN_ACCOUNT (${PLAN}, new virtual account, prestore ${PRESTORE_FEN / 100} yuan, number + finished SIM), ${settings.connections} clients, ${load.seconds.toFixed(1)} s, pool ${settings.poolSize}`);
    console.log(`orders/s       ${fmt(ordersPerSec, 1)}   (${fmt(load.completed)} completed of ${fmt(load.started)} started in ${load.seconds.toFixed(1)} s${load.stockOut ? '; STOCK RAN OUT, raise BENCH_STOCK' : ''})`);
    console.log(`requests/s     ${fmt((load.completed * 4) / load.seconds, 1)}   (4 per order)`);
    console.log(`latency (ms)   ${'p50'.padStart(7)} ${'p90'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)} ${'mean'.padStart(7)}`);
    const latencyRow = (name: string, l: ReturnType<typeof latencySummary>) =>
      console.log(`  ${name.padEnd(13)}${[l.p50, l.p90, l.p99, l.max, l.mean].map((v) => v.toFixed(1).padStart(7)).join(' ')}`);
    latencyRow('whole order', order);
    for (const s of STEPS) latencyRow(s, steps[s]);
    console.log(`errors         ${failed}${failed ? '   ← must be 0' : ''}   ${JSON.stringify({ ...load.errors, ...Object.fromEntries(Object.entries(warm?.errors ?? {}).map(([k, v]) => [`warm-up ${k}`, v])) })}`);
    for (const f of [...(warm?.failures ?? []), ...load.failures].slice(0, 5)) console.log(`               ${f}`);
    console.log(`CPU (cores)    ${cpuLine(loadCpu)}`);
    console.log(`CPU/order      ${cpuPerOp(loadCpu, ordersPerSec)} (ms)`);
    if (profile) {
      console.log(
        `SQL/order      ${profile.perOrder} statements (create ${profile.perStep.create}, check ${profile.perStep.check}, quote ${profile.perStep.quote}, submit ${profile.perStep.submit}; ${profile.transactionControlPerOrder} of them BEGIN/COMMIT; mean of ${profile.orders} orders walked one at a time)`,
      );
      if (profile.cpu) {
        console.log(
          `CPU/order 1×   app ${profile.cpu.appMs}, postgres ${profile.cpu.postgresMs} ms (${profile.cpu.orders} orders walked one at a time in the bench process through inject, after the counted ones; no HTTP, no contention of clients)`,
        );
      }
    }
    const busyElsewhere = Math.max(loadCpu.other ?? 0, ...pgbenchRuns.map((p) => p.cpu.other ?? 0));
    if (busyElsewhere > 0.2) {
      console.log(`WARNING        other processes used up to ${busyElsewhere.toFixed(2)} cores during the measurements: the figures are low; run again on a quiet machine`);
    }
    if (pgbenchTps !== undefined) {
      console.log(
        `pgbench TPS    ${fmt(pgbenchTps, 1)}   (mean of ${pgbenchRuns.map((p) => fmt(p.tps, 1)).join(' before, ')} after; scale ${settings.pgbenchScale}, -c ${settings.connections} -j ${settings.pgbenchThreads} -T ${settings.pgbenchSeconds}, latency avg ${pgbenchRuns.map((p) => p.latencyMs).join('/')} ms)`,
      );
      const last = pgbenchRuns[pgbenchRuns.length - 1] as PgbenchRun;
      console.log(`CPU (cores)    ${cpuLine(last.cpu)}   (pgbench, after)`);
      console.log(`CPU/txn        ${cpuPerOp(last.cpu, last.tps)} (ms)`);
      console.log(`ratio          ${ratio?.toFixed(3)}   (orders/s ÷ pgbench TPS)`);
    } else {
      console.log('pgbench TPS    skipped (BENCH_SKIP_PGBENCH=1)');
    }
    console.log('checks');
    console.log(`  completed orders        ${fmt(checks.completedOrders)} in the database = ${fmt(checks.answeredCompleted)} answered completed (profile + warm-up + load)   ${checks.completedOrders === checks.answeredCompleted ? 'OK' : 'MISMATCH'}`);
    console.log(`  one subscriber each     ${checks.ordersWithoutOneSubscriber} orders without exactly one; ${fmt(checks.subscribers)} subscribers in all   ${checks.ordersWithoutOneSubscriber === 0 && checks.subscribers === checks.completedOrders ? 'OK' : 'FAILED'}`);
    console.log(`  number in use           ${checks.numbersNotInUse} subscribers whose number is not in_use for them   ${okMark(checks.numbersNotInUse)}`);
    console.log(`  SIM activated           ${checks.simsNotActivated} subscribers whose SIM is not activated for them   ${okMark(checks.simsNotActivated)}`);
    console.log(`  no number taken twice   ${checks.numbersTakenTwice} (duplicate numbers + in-use/activated counts off)   ${okMark(checks.numbersTakenTwice)}`);
    console.log(`  prestore 100 yuan once  ${checks.prestoreMismatches} accounts off   ${okMark(checks.prestoreMismatches)}`);
    console.log(`  order holds released    ${checks.holdsLeft} left   ${okMark(checks.holdsLeft)}`);
    console.log(`  conservation (R-ACC-18) ${checks.conservationDiffering} differing of ${fmt(checks.conservationChecked)} accounts   ${okMark(checks.conservationDiffering)}`);
    if (serverLogs) console.log(`server log     ${serverLogs.split('\n').slice(-10).join('\n               ')}`);
    console.log('targets');
    const target = (what: string, ok: boolean, value: string) => console.log(`  ${what.padEnd(26)}${mark(ok)}  ${value}`);
    target(`orders/s ≥ ${TARGET_ORDERS_PER_SEC}`, pass.ordersPerSec, fmt(ordersPerSec, 1));
    target('errors = 0', pass.errors, String(failed));
    target('checks', pass.checks, checks.ok ? 'all OK' : 'FAILED');
    console.log('==================================================================');
    if (settings.showStatements && profile) {
      console.log('statements of the first profiled order:');
      for (const s of STEPS) {
        console.log(`  ${s} (${profile.sample[s].length})`);
        for (const t of profile.sample[s]) console.log(`    ${t.length > 220 ? `${t.slice(0, 220)}…` : t}`);
      }
    }
    console.log(
      JSON.stringify({
        bench: 'orders',
        at: new Date().toISOString(),
        cpus: cpus.length,
        cpuModel,
        node: process.version,
        postgres: pgInfo.short,
        connections: settings.connections,
        poolSize: settings.poolSize,
        seconds: round(load.seconds, 1),
        ordersPerSec: round(ordersPerSec, 1),
        completed: load.completed,
        latencyMs: { order, ...steps },
        errors: failed,
        statementsPerOrder: profile ? { total: profile.perOrder, ...profile.perStep, transactionControl: profile.transactionControlPerOrder } : null,
        cpuPerOrderOneAtATime: profile?.cpu ? { app: profile.cpu.appMs, postgres: profile.cpu.postgresMs, orders: profile.cpu.orders } : null,
        pgbenchTps: pgbenchTps === undefined ? null : round(pgbenchTps, 1),
        pgbenchRuns: pgbenchRuns.map((p) => round(p.tps, 1)),
        ratio: ratio === undefined ? null : round(ratio, 3),
        cpuCores: Object.fromEntries(Object.entries(loadCpu).map(([k, v]) => [k, round(v, 2)])),
        checks,
        pass,
      }),
    );
    if (!pass.errors || !pass.checks) process.exitCode = 1;
  } finally {
    await server?.stop();
    if (settings.keep) {
      log(`kept databases ${BENCH_DB} and ${PGBENCH_DB} (BENCH_KEEP=1)`);
    } else {
      await dropDatabase(settings, BENCH_DB).catch((e: unknown) => log(`could not drop ${BENCH_DB}: ${String(e)}`));
      await dropDatabase(settings, PGBENCH_DB).catch((e: unknown) => log(`could not drop ${PGBENCH_DB}: ${String(e)}`));
    }
    releaseSignals();
  }
}

main().catch((err: unknown) => {
  console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});

