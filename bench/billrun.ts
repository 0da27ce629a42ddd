// Scale benchmark of rating and the bill run (issue 4): N subscribers (default 100,000) with on
// average 20 CDRs each across voice, SMS and data; times the import + rating of the CDR file
// (CDRs/s), the bill run (subscribers/s) and the publish with its write-off, each in its own child
// process (its own peak RSS), and PostgreSQL's own COPY of the same CDR rows into a plain table of
// the same columns; prints our end-to-end throughput as a ratio to it. Checks the result at the end:
// conservation (R-ACC-18) with zero differences, one bill per account billed, rated charges = usage
// lines billed. Never fails on a time.
//
//   npm run bench:billrun                                (node bench/billrun.ts; 100,000 subscribers)
//   node bench/billrun.ts --subscribers 1000000          (the 5-minute target)
//   node bench/billrun.ts --pglite --subscribers 100000  (embedded PGlite, one worker)
//
// Targets on the 2-core machine: PostgreSQL, 1,000,000 subscribers / 20,000,000 CDRs imported,
// rated, billed and written off in < 5 min (≥ 67,000 CDRs/s end to end, about 0.06 of raw COPY,
// stretch 0.25), rating alone ≥ 300,000 CDRs/s, peak RSS < 1 GiB per process; PGlite, 100,000
// subscribers in < 5 min. Nothing outside its own database (openboss_bench_billrun) or temp
// directory is touched; both are removed at the end unless BENCH_KEEP=1.
//
// What one run does:
// 1. A fresh database (PostgreSQL of BENCH_DATABASE_URL / DATABASE_URL, else local; or PGlite in the
//    temp directory with --pglite), migrations, the demo catalog, then the population set-based
//    (generate_series): per subscriber one customer, one account (monthly; --virtual-percent of them
//    virtual, R-BIL-8), one subscriber activated the cycle before and a plan (W3-46 or G2-18, both
//    with allowances and per-unit tariffs); three accounts in four get a cash prestore (a payment and
//    its book), so write-off has money to use and some accounts end in arrears.
// 2. The CDR file, streamed to the temp directory: 10–30 records per subscriber (--cdrs-per-subscriber
//    20 on average), 50 % voice, 25 % SMS, 25 % data; 70 % local, 20 % long distance, 10 % roaming;
//    start times spread over the last finished cycle (the one billed).
// 3. Each stage in its own process under /usr/bin/time (peak RSS, CPU seconds), via the CLI on
//    PostgreSQL: `openboss usage import FILE --json` (import, then rating: the split is the first
//    imported_at of the file's rated sets — the file is staged whole, then rated into cdr_sets chunk by chunk); `openboss billrun CYCLE --workers 1` beside --workers − 1
//    `openboss billrun worker` processes (the stage ends when the run is prebilled); `openboss billrun
//    CYCLE --publish` with the same workers (ends when published). `--via child` (always on PGlite)
//    runs the same functions through bench/billrun-child.ts instead, which times them from inside and
//    sums the time of every repository function (usageRepo, billingRepo, creditRepo, moneyRepo,
//    accountRepo) and of credit control and settle: where the time goes (of the import's own thread: a
//    large file on PostgreSQL is staged and rated by its worker threads, which these sums do not see).
// 4. Checks: every CDR stored and rated; rated charges = usage_charges = usage bill lines = billed;
//    the run published with one bill per monthly account; conservation (R-ACC-18) 0 differing.
// 5. Baseline: `psql \copy` (PGlite: COPY FROM '/dev/blob') of the same file into a plain table of
//    the same columns; the ratio is our end-to-end CDRs/s ÷ COPY rows/s.
//
// Flags (or environment): --subscribers N (BENCH_SUBSCRIBERS, 100000), --cdrs-per-subscriber N
// (BENCH_CDRS_PER_SUBSCRIBER, 20), --virtual-percent P (BENCH_VIRTUAL_PERCENT, 10), --workers N
// (BENCH_WORKERS, 2; 1 on PGlite), --chunk-accounts N (BENCH_CHUNK_ACCOUNTS: the business parameter
// billrun_chunk_accounts, default 2000), --pglite (BENCH_PGLITE=1), --via cli|child (BENCH_VIA),
// --skip-copy (BENCH_SKIP_COPY=1), --keep (BENCH_KEEP=1), --snapshot save|use (BENCH_SNAPSHOT;
// PostgreSQL via the CLI: `save` keeps a copy of the database once imported and rated as the template
// openboss_bench_billrun_rated, `use` starts from a fresh copy of it and runs only the bill run and
// the publish — minutes less per try, the same population every time); BENCH_DATABASE_URL, BENCH_PSQL
// as in bench/README.md; BENCH_DB_NAME (the database's name, default openboss_bench_billrun, its
// snapshot's name + `_rated`: a database kept with --keep survives another session's bench);
// BENCH_SPENT_TOP (how many functions `--via child` lists per process, 8); BENCH_CHILD_NODE_ARGS (node
// options for each stage's process, e.g. `--cpu-prof --cpu-prof-dir=DIR`). The report ends with a
// fingerprint of what the run wrote (lines, write-offs, books, subscribers' states, audit and outbox
// rows by kind; no ids): two versions of the code on the same snapshot must print the same one. A
// kept database can be examined with bench/billrun-explain.ts (the plan of the rating statement).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, openAsBlob, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pino from 'pino';
import { type AppContext, createContext } from '../src/app/context.ts';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { DEMO_CATALOG } from '../src/domains/catalog/demo-catalog.ts';
import { addCycles, cycleOf, cycleStart } from '../src/platform/clock.ts';
import { loadConfig } from '../src/platform/config.ts';
import { CLI, commonSettings, CpuMeter, cpuLine, dbUrl, dropDatabase, fmt, intEnv, log, PgPids, postgresInfo, recreateDatabase, ROOT, round, run, shown, withAdmin } from './lib.ts';

/** BENCH_DB_NAME: another name, so that a database kept with --keep survives another session's bench. */
const BENCH_DB = process.env.BENCH_DB_NAME ?? 'openboss_bench_billrun';
/** --snapshot save|use: the database right after import + rating, as a template */
const SNAPSHOT_DB = `${BENCH_DB}_rated`;
const CHILD = fileURLToPath(new URL('./billrun-child.ts', import.meta.url));
const TARGET_SECONDS = 300;
const TARGET_E2E_CDRS_PER_SEC = 67_000;
const TARGET_RATE_CDRS_PER_SEC = 300_000;
const TARGET_RSS_MB = 1024;

// ---------------------------------------------------------------------------------------------
// Settings: command-line flags win over the environment

function flag(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1] !== undefined && !args[i + 1]?.startsWith('--') ? args[i + 1] : '1';
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}
function intFlag(name: string, env: string, fallback: number, min = 1): number {
  const raw = flag(name);
  if (raw === undefined) return intEnv(env, fallback, min);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

const pglite = flag('pglite') !== undefined || process.env.BENCH_PGLITE === '1';
const settings = {
  ...commonSettings({ seconds: 20, connections: 4 }),
  pglite,
  subscribers: intFlag('subscribers', 'BENCH_SUBSCRIBERS', 100_000),
  cdrsPerSubscriber: intFlag('cdrs-per-subscriber', 'BENCH_CDRS_PER_SUBSCRIBER', 20, 2),
  virtualPercent: intFlag('virtual-percent', 'BENCH_VIRTUAL_PERCENT', 10, 0),
  workers: pglite ? 1 : intFlag('workers', 'BENCH_WORKERS', 2),
  chunkAccounts: intFlag('chunk-accounts', 'BENCH_CHUNK_ACCOUNTS', 0, 0),
  skipCopy: flag('skip-copy') !== undefined || process.env.BENCH_SKIP_COPY === '1',
  /** cli: the openboss commands; child: bench/billrun-child.ts (same functions, time per repository function). */
  via: (flag('via') ?? process.env.BENCH_VIA) as 'cli' | 'child' | undefined,
  psql: process.env.BENCH_PSQL || 'psql',
  /** save: keep a copy of the database once imported and rated (a template); use: start from that copy (bill run and publish only). */
  snapshot: (flag('snapshot') ?? process.env.BENCH_SNAPSHOT) as 'save' | 'use' | undefined,
};
if (settings.snapshot !== undefined && !['save', 'use'].includes(settings.snapshot)) throw new Error('--snapshot save|use');
if (settings.snapshot && (settings.pglite || settings.via === 'child')) throw new Error('--snapshot: PostgreSQL through the CLI only');
if (flag('keep') !== undefined) settings.keep = true;

// the last finished cycle is billed; subscribers were activated the cycle before it
const CYCLE = addCycles(cycleOf(new Date()), -1);
const CYCLE_FROM = cycleStart(CYCLE);
const CYCLE_TO = cycleStart(addCycles(CYCLE, 1));
const ACTIVATED = cycleStart(addCycles(CYCLE, -1));

// ---------------------------------------------------------------------------------------------
// The population, set-based: one customer, one account and one subscriber per i, a plan each

const PLANS = [
  { code: 'W3-46', network: 'wcdma3g' },
  { code: 'G2-18', network: 'gsm2g' },
] as const;

async function seedPopulation(ctx: AppContext, n: number): Promise<{ monthly: number; virtual: number; prepaidFen: number }> {
  const db = ctx.database.db;
  const at = new Date(ACTIVATED.getTime() - 86_400_000);
  const base = async (table: string, col: string) => Number((await sql<{ m: number }>`SELECT coalesce(max(${sql.ref(col)}), 0)::bigint AS m FROM ${sql.table(table)}`.execute(db)).rows[0]?.m ?? 0);
  const [c0, a0, s0, b0] = [await base('customers', 'customer_id'), await base('accounts', 'account_id'), await base('subscribers', 'subscriber_id'), await base('books', 'book_id')];
  const vp = settings.virtualPercent;
  // batches keep PGlite's memory bounded and give PostgreSQL moderate transactions
  const batch = 200_000;
  for (let lo = 1; lo <= n; lo += batch) {
    const hi = Math.min(n, lo + batch - 1);
    await db.transaction().execute(async (tx) => {
      await sql`INSERT INTO customers (customer_id, kind, name, id_type, id_number, segment, created_at, updated_at)
                SELECT ${c0}::bigint + i, 'person', '压测客户' || i, 'passport', 'BENCH' || lpad(i::text, 10, '0'), 'personal', ${at}, ${at}
                  FROM generate_series(${lo}::int, ${hi}::int) i`.execute(tx);
      await sql`INSERT INTO accounts (account_id, customer_id, name, billing_type, payment_method, created_at, updated_at)
                SELECT ${a0}::bigint + i, ${c0}::bigint + i, '压测帐户' || i, CASE WHEN i % 100 < ${vp}::int THEN 'virtual' ELSE 'monthly' END, 'cash', ${at}, ${at}
                  FROM generate_series(${lo}::int, ${hi}::int) i`.execute(tx);
      await sql`INSERT INTO subscribers (subscriber_id, service_number, network, customer_id, default_account_id, activated_at, created_at, brand_code)
                SELECT ${s0}::bigint + i, '139' || lpad(i::text, 8, '0'), CASE WHEN i % 2 = 0 THEN ${PLANS[0].network} ELSE ${PLANS[1].network} END,
                       ${c0}::bigint + i, ${a0}::bigint + i, ${ACTIVATED}, ${at}, 'TIANYI'
                  FROM generate_series(${lo}::int, ${hi}::int) i`.execute(tx);
      await sql`INSERT INTO subscriber_offers (subscriber_id, offer_code, kind, started_at)
                SELECT ${s0}::bigint + i, CASE WHEN i % 2 = 0 THEN ${PLANS[0].code} ELSE ${PLANS[1].code} END, 'plan', ${ACTIVATED}
                  FROM generate_series(${lo}::int, ${hi}::int) i`.execute(tx);
      // a cash prestore on three accounts in four (0, 30, 60 or 90 yuan): write-off has books to use, some accounts end in arrears
      await sql`INSERT INTO books (account_id, book_id, book_type, start_at, amount_fen, balance_fen, source_kind, created_at)
                SELECT ${a0}::bigint + i, ${b0}::bigint + i, 'cash', ${at}, (i % 4) * 3000, (i % 4) * 3000, 'payment', ${at}
                  FROM generate_series(${lo}::int, ${hi}::int) i WHERE i % 4 <> 0`.execute(tx);
      await sql`INSERT INTO payments (account_id, kind, amount_fen, book_type, book_id, channel, business_day, created_at)
                SELECT ${a0}::bigint + i, 'payment', (i % 4) * 3000, 'cash', ${b0}::bigint + i, 'bench', ${at.toISOString().slice(0, 10)}, ${at}
                  FROM generate_series(${lo}::int, ${hi}::int) i WHERE i % 4 <> 0`.execute(tx);
    });
  }
  for (const [table, col] of [
    ['customers', 'customer_id'],
    ['accounts', 'account_id'],
    ['subscribers', 'subscriber_id'],
    ['books', 'book_id'],
  ] as const) {
    await sql`SELECT setval(pg_get_serial_sequence(${table}, ${col}), (SELECT max(${sql.ref(col)}) FROM ${sql.table(table)}))`.execute(db);
  }
  if (settings.chunkAccounts > 0) await sql`UPDATE business_parameters SET value = ${settings.chunkAccounts} WHERE key = 'billrun_chunk_accounts'`.execute(db);
  await sql`ANALYZE`.execute(db);
  const r = await sql<{ monthly: number; virtual: number; prepaid: number }>`
    SELECT count(*) FILTER (WHERE billing_type = 'monthly')::int AS monthly, count(*) FILTER (WHERE billing_type = 'virtual')::int AS virtual,
           (SELECT coalesce(sum(amount_fen), 0) FROM payments)::bigint AS prepaid FROM accounts`.execute(db);
  const row = r.rows[0] as { monthly: number; virtual: number; prepaid: number };
  return { monthly: Number(row.monthly), virtual: Number(row.virtual), prepaidFen: Number(row.prepaid) };
}

// ---------------------------------------------------------------------------------------------
// The CDR file, streamed: 10..30 records per subscriber (20 on average), deterministic

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const AREAS = ['GZ', 'SZ', 'FS', 'DG', 'BJ', 'SH'];

async function writeCdrFile(path: string, n: number): Promise<{ rows: number; bytes: number; byUsage: Record<string, number> }> {
  const out = createWriteStream(path);
  const rnd = mulberry32(20261130);
  const spanSeconds = Math.floor((CYCLE_TO.getTime() - CYCLE_FROM.getTime()) / 1000) - 1;
  // start times as "YYYY-MM-DD HH:MM:SS" in Asia/Shanghai
  const local0 = CYCLE_FROM.getTime() + 8 * 3600_000;
  const byUsage: Record<string, number> = { voice: 0, sms: 0, data: 0 };
  const spread = settings.cdrsPerSubscriber; // count in [avg/2, avg*3/2]
  let buf = 'record_id,service_number,other_party,start_time,usage,scope,quantity,area\n';
  let rows = 0;
  for (let i = 1; i <= n; i++) {
    const number = `139${String(i).padStart(8, '0')}`;
    const count = Math.floor(spread / 2) + Math.floor(rnd() * (spread + 1));
    for (let k = 0; k < count; k++) {
      const u = rnd();
      const usage = u < 0.5 ? 'voice' : u < 0.75 ? 'sms' : 'data';
      const s = rnd();
      const scope = s < 0.7 ? 'local' : s < 0.9 ? 'long_distance' : 'roaming';
      const quantity = usage === 'voice' ? 1 + Math.floor(rnd() * 600) : usage === 'sms' ? 1 : 1 + Math.floor(rnd() * 5_000_000);
      const d = new Date(local0 + Math.floor(rnd() * spanSeconds) * 1000);
      const start = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
      const other = `1${30 + Math.floor(rnd() * 60)}${String(Math.floor(rnd() * 1e8)).padStart(8, '0')}`;
      buf += `B${i}-${k},${number},${other},${start},${usage},${scope},${quantity},${AREAS[i % AREAS.length]}\n`;
      byUsage[usage] = (byUsage[usage] ?? 0) + 1;
      rows++;
    }
    if (buf.length >= 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return { rows, bytes: statSync(path).size, byUsage };
}

// ---------------------------------------------------------------------------------------------
// Child processes: each stage in its own, under /usr/bin/time for its exact peak RSS

interface ChildRun {
  seconds: number;
  maxRssMb: number;
  cpuSeconds: number;
  result: Record<string, unknown>;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

function childEnv(url: string | undefined, dataDir: string | undefined): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: url ?? '',
    ...(dataDir ? { OPENBOSS_DATA_DIR: dataDir } : {}),
    OPENBOSS_DB_POOL_SIZE: String(Math.max(4, settings.workers + 2)),
    OPENBOSS_CLOCK: 'real',
    LOG_LEVEL: 'warn',
  };
}

interface Proc {
  done: Promise<ChildRun>;
  /** SIGTERM to the node process itself (/usr/bin/time would die and leave it running). */
  stop: () => void;
}

/** BENCH_CHILD_NODE_ARGS: node options for every stage's process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const CHILD_NODE_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

/** node <args> under /usr/bin/time; `needResult`: the child must print BENCH_RESULT (bench/billrun-child.ts). */
function startChild(args: string[], env: NodeJS.ProcessEnv, label: string, needResult: boolean, okCodes = [0]): Proc {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'BENCH_TIME %M %U %S', process.execPath, ...CHILD_NODE_ARGS, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-200_000);
  });
  child.stderr.on('data', (d: Buffer) => {
    const s = d.toString();
    stderr = (stderr + s).slice(-50_000);
    for (const line of s.split('\n')) if (line.startsWith('[child]')) log(`${label}: ${line.slice(8)}`);
  });
  const done = new Promise<ChildRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      const seconds = (performance.now() - t0) / 1000;
      const t = /BENCH_TIME (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
      const res = /BENCH_RESULT (\{.*\})/.exec(stdout);
      if (!okCodes.includes(code ?? -1) || (needResult && !res)) {
        reject(new Error(`${label} (${args.join(' ')}) exited with ${code}:\n${stderr.slice(-4000)}\n${stdout.slice(-2000)}`));
        return;
      }
      resolve({
        seconds,
        maxRssMb: t ? Math.round(Number(t[1]) / 1024) : 0,
        cpuSeconds: t ? Number(t[2]) + Number(t[3]) : 0,
        result: res ? (JSON.parse(res[1] as string) as Record<string, unknown>) : {},
        stdout,
        stderr,
      });
    });
  });
  // awaited later (or never, when an earlier step throws): no unhandled rejection meanwhile
  done.catch(() => undefined);
  return { done, stop: () => stopNode(child) };
}

/** SIGTERM to the node process under /usr/bin/time (time itself would die and leave it running). */
function stopNode(child: ChildProcess): void {
  try {
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const pid of kids) process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
}

const runChild = (args: string[], env: NodeJS.ProcessEnv, label: string) => startChild(args, env, label, true).done;

/** The child's top functions by time (bench/billrun-child.ts wraps the repositories and a few service steps). */
function spentLines(label: string, r: ChildRun): string[] {
  const spent = (r.result.spent ?? []) as { fn: string; seconds: number; calls: number }[];
  return spent.filter((x) => x.seconds >= 0.05).slice(0, Number(process.env.BENCH_SPENT_TOP ?? 8)).map((x) => `    ${label.padEnd(9)} ${x.fn.padEnd(40)} ${x.seconds.toFixed(2).padStart(8)} s  ${fmt(x.calls).padStart(9)} calls`);
}

function stopChildrenOnSignal(): void {
  const onSignal = () => {
    for (const c of children) stopNode(c);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

// ---------------------------------------------------------------------------------------------
// Baseline: PostgreSQL's own COPY of the same CDR rows into a plain table of the same columns

const COPY_COLUMNS = 'record_id text, service_number text, other_party text, start_time timestamptz, usage text, scope text, quantity bigint, area text';

async function copyBaselinePg(url: string, file: string, rows: number): Promise<{ seconds: number; rowsPerSec: number }> {
  const create = await run(settings.psql, [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `SET timezone = 'Asia/Shanghai'; DROP TABLE IF EXISTS bench_copy_cdrs; CREATE TABLE bench_copy_cdrs (${COPY_COLUMNS})`]);
  if (create.code !== 0) throw new Error(`psql: ${create.stderr}`);
  const t0 = performance.now();
  const r = await run(settings.psql, [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy bench_copy_cdrs FROM '${file}' WITH (FORMAT csv, HEADER true)`]);
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`psql \\copy: ${r.stderr}`);
  await run(settings.psql, [url, '-q', '-c', 'DROP TABLE bench_copy_cdrs']);
  return { seconds, rowsPerSec: rows / seconds };
}

/** PGlite: COPY … FROM '/dev/blob' of the file (the file is handed over as a Blob). */
async function copyBaselinePglite(ctx: AppContext, file: string, rows: number): Promise<{ seconds: number; rowsPerSec: number }> {
  if (ctx.database.raw.kind !== 'pglite') throw new Error('not PGlite');
  const pg = ctx.database.raw.pglite;
  await pg.exec(`DROP TABLE IF EXISTS bench_copy_cdrs; CREATE TABLE bench_copy_cdrs (${COPY_COLUMNS})`);
  const blob = await openAsBlob(file);
  const t0 = performance.now();
  await pg.query(`COPY bench_copy_cdrs FROM '/dev/blob' WITH (FORMAT csv, HEADER true)`, [], { blob });
  const seconds = (performance.now() - t0) / 1000;
  await pg.exec('DROP TABLE bench_copy_cdrs');
  return { seconds, rowsPerSec: rows / seconds };
}

// ---------------------------------------------------------------------------------------------
// The checks

interface Checks {
  cdrs: number;
  rated: number;
  ratedChargeFen: number;
  chargesFen: number;
  chargesBilledFen: number;
  usageLinesFen: number;
  usageLinesRunFen: number;
  runState: string;
  runBills: number;
  runBillsPublished: number;
  monthlyAccounts: number;
  virtualBills: number;
  runLinesFen: number;
  writeOffFen: number;
  conservationAccounts: number;
  conservationDiffering: number;
  failures: string[];
}

async function verify(ctx: AppContext, runId: number, expected: { cdrs: number; monthly: number }): Promise<Checks> {
  const db = ctx.database.db;
  const one = async <T>(q: ReturnType<typeof sql<T>>) => (await q.execute(db)).rows[0] as T;
  const c = await one(sql<{ n: number; rated: number; fen: number }>`
    SELECT sum(n)::bigint AS n, sum(rated)::bigint AS rated, sum(fen)::bigint AS fen FROM (
      -- the sets hold rated records only and count them and their charges (nothing to decode)
      SELECT coalesce(sum(records), 0) AS n, coalesce(sum(records), 0) AS rated, coalesce(sum(charge_fen), 0) AS fen FROM cdr_sets WHERE cycle = ${CYCLE}
      UNION ALL
      SELECT count(*), count(rated_at), coalesce(sum(charge_fen), 0) FROM cdrs WHERE cycle = ${CYCLE}) x`);
  const uc = await one(sql<{ amount: number; billed: number }>`
    SELECT coalesce(sum(amount_fen), 0)::bigint AS amount, coalesce(sum(billed_fen), 0)::bigint AS billed FROM usage_charges WHERE cycle = ${CYCLE}`);
  const ul = await one(sql<{ all: number; run: number; runall: number }>`
    SELECT coalesce(sum(amount_fen) FILTER (WHERE source = 'usage'), 0)::bigint AS all,
           coalesce(sum(amount_fen) FILTER (WHERE source = 'usage' AND run_id = ${runId}), 0)::bigint AS run,
           coalesce(sum(amount_fen) FILTER (WHERE run_id = ${runId}), 0)::bigint AS runall
      FROM bill_lines WHERE cycle = ${CYCLE}`);
  const b = await one(sql<{ run: number; published: number; virtual: number; monthly: number }>`
    SELECT count(*) FILTER (WHERE b.run_id = ${runId})::int AS run,
           count(*) FILTER (WHERE b.run_id = ${runId} AND b.status = 'published')::int AS published,
           count(*) FILTER (WHERE a.billing_type = 'virtual')::int AS virtual,
           (SELECT count(*) FROM accounts WHERE billing_type = 'monthly')::int AS monthly
      FROM bills b JOIN accounts a ON a.account_id = b.account_id WHERE b.cycle = ${CYCLE}`);
  const run = await one(sql<{ state: string }>`SELECT state FROM bill_runs WHERE run_id = ${runId}`);
  const wo = await one(sql<{ fen: number }>`SELECT coalesce(sum(amount_fen), 0)::bigint AS fen FROM write_offs`);
  const cons = await checkConservation(db);
  const n = (x: unknown) => Number(x);
  const checks: Checks = {
    cdrs: n(c.n),
    rated: n(c.rated),
    ratedChargeFen: n(c.fen),
    chargesFen: n(uc.amount),
    chargesBilledFen: n(uc.billed),
    usageLinesFen: n(ul.all),
    usageLinesRunFen: n(ul.run),
    runState: run?.state ?? '?',
    runBills: n(b.run),
    runBillsPublished: n(b.published),
    monthlyAccounts: n(b.monthly),
    virtualBills: n(b.virtual),
    runLinesFen: n(ul.runall),
    writeOffFen: n(wo.fen),
    conservationAccounts: cons.accountsChecked,
    conservationDiffering: cons.differing.length,
    failures: [],
  };
  const f = checks.failures;
  if (checks.cdrs !== expected.cdrs) f.push(`CDRs stored ${checks.cdrs} ≠ generated ${expected.cdrs}`);
  if (checks.rated !== checks.cdrs) f.push(`CDRs rated ${checks.rated} ≠ stored ${checks.cdrs}`);
  if (checks.chargesFen !== checks.ratedChargeFen) f.push(`usage_charges ${checks.chargesFen} ≠ sum of rated CDR charges ${checks.ratedChargeFen}`);
  if (checks.usageLinesFen !== checks.ratedChargeFen) f.push(`usage bill lines ${checks.usageLinesFen} ≠ rated charges ${checks.ratedChargeFen}`);
  if (checks.chargesBilledFen !== checks.chargesFen) f.push(`billed ${checks.chargesBilledFen} ≠ charged ${checks.chargesFen}`);
  if (checks.runState !== 'published') f.push(`bill run state ${checks.runState}`);
  if (checks.runBills !== expected.monthly) f.push(`bills of the run ${checks.runBills} ≠ monthly accounts billed ${expected.monthly}`);
  if (checks.runBillsPublished !== checks.runBills) f.push(`published bills ${checks.runBillsPublished} ≠ bills of the run ${checks.runBills}`);
  if (checks.conservationDiffering !== 0) f.push(`conservation: ${checks.conservationDiffering} accounts differ (first: ${JSON.stringify(cons.differing.slice(0, 3))})`);
  return checks;
}

/**
 * What the bill run and publish wrote, without ids (workers take chunks in any order): a digest of the
 * bill lines, write-offs, books, subscribers' states and the audit/outbox rows by kind, to compare a
 * faster version's result with the one before on the same population (--snapshot use).
 */
async function fingerprint(ctx: AppContext): Promise<Record<string, string>> {
  const db = ctx.database.db;
  const digest = async (q: ReturnType<typeof sql<{ d: string; n: number }>>) => {
    const r = (await q.execute(db)).rows[0];
    return `${fmt(Number(r?.n ?? 0))}:${String(r?.d ?? '').slice(0, 10)}`;
  };
  return {
    lines: await digest(sql`SELECT count(*) AS n, md5(string_agg(concat_ws('/', l.account_id, l.subscriber_id, l.cycle, l.item_code, l.amount_fen, l.paid_fen, l.source, l.relation_id IS NULL, b.status, b.due_at),
                                 ',' ORDER BY l.account_id, l.subscriber_id, l.cycle, l.item_code, l.source, l.amount_fen)) AS d
                              FROM bill_lines l JOIN bills b ON b.account_id = l.account_id AND b.bill_id = l.bill_id`),
    writeOffs: await digest(sql`SELECT count(*) AS n, md5(string_agg(concat_ws('/', w.account_id, l.subscriber_id, l.cycle, l.item_code, w.book_id, w.amount_fen, w.trigger_kind),
                                 ',' ORDER BY w.account_id, l.subscriber_id, l.cycle, l.item_code, w.book_id, w.amount_fen)) AS d
                              FROM write_offs w JOIN bill_lines l ON l.account_id = w.account_id AND l.line_id = w.line_id`),
    books: await digest(sql`SELECT count(*) AS n, md5(string_agg(concat_ws('/', account_id, book_id, book_type, balance_fen, closed_at IS NULL), ',' ORDER BY account_id, book_id)) AS d FROM books`),
    subscribers: await digest(sql`SELECT count(*) AS n, md5(string_agg(concat_ws('/', subscriber_id, status, lifecycle, stop_reasons), ',' ORDER BY subscriber_id)) AS d FROM subscribers`),
    audit: await digest(sql`SELECT sum(n) AS n, md5(string_agg(concat_ws('/', action, target_type, n), ',' ORDER BY action, target_type)) AS d
                              FROM (SELECT action, target_type, count(*) AS n FROM audit_log GROUP BY 1, 2) x`),
    outbox: await digest(sql`SELECT sum(n) AS n, md5(string_agg(concat_ws('/', event_type, n), ',' ORDER BY event_type)) AS d
                              FROM (SELECT event_type, count(*) AS n FROM outbox GROUP BY 1) x`),
  };
}

// ---------------------------------------------------------------------------------------------

async function openCtx(url: string | undefined, dataDir: string | undefined): Promise<AppContext> {
  return createContext(loadConfig({ ...(url ? { DATABASE_URL: url } : { OPENBOSS_DATA_DIR: dataDir }), OPENBOSS_DB_POOL_SIZE: '4', OPENBOSS_CLOCK: 'real', LOG_LEVEL: 'warn' }), {
    log: pino({ level: 'warn' }),
    ...(url ? {} : { db: { dataDir } }),
  });
}

/** Does the CLI have these commands yet? (the bench uses bench/billrun-child.ts otherwise) */
async function cliHas(words: string[]): Promise<boolean> {
  const r = await run(process.execPath, [CLI, ...words, '--help'], { ...process.env, LOG_LEVEL: 'warn' });
  return r.code === 0 && !/unknown command/i.test(r.stderr + r.stdout);
}

interface ImportFigures {
  accepted: number;
  rejected: number;
  rated: number;
  importSeconds: number;
  rateSeconds: number;
  openedSeconds: number;
  firstErrors: unknown[];
}

interface SnapshotMeta {
  subscribers: number;
  pop: { monthly: number; virtual: number; prepaidFen: number };
  gen: { rows: number; bytes: number; byUsage: Record<string, number> };
  seedSeconds: number;
  genSeconds: number;
  import: Pick<Stages, 'imp' | 'ir' | 'impCpu'>;
}

interface Stages {
  imp: ChildRun;
  ir: ImportFigures;
  impCpu: Record<string, number>;
  runId: number;
  billSeconds: number;
  billProcs: { label: string; run: ChildRun }[];
  billCpu: Record<string, number>;
  pubSeconds: number;
  pubProcs: { label: string; run: ChildRun }[];
  pubCpu: Record<string, number>;
}

let pgPidsOfBench: PgPids | undefined;
/** The node processes of the stages (children of their /usr/bin/time). */
function nodePids(): number[] {
  const pids: number[] = [];
  for (const c of children) {
    try {
      pids.push(...readFileSync(`/proc/${c.pid}/task/${c.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      /* gone */
    }
  }
  return pids;
}
const meter = () => new CpuMeter({ node: nodePids, postgres: () => pgPidsOfBench?.pids() ?? [] });

/** bench/billrun-child.ts: import, start, W work processes, publish (timings from inside the children). */
async function stagesViaChild(ctx: AppContext | undefined, env: NodeJS.ProcessEnv, file: string): Promise<Stages> {
  log('import + rating (child process) …');
  let m = meter();
  m.start();
  const imp = await runChild([CHILD, 'import', file], env, 'import');
  const impCpu = m.stop();
  const ir = imp.result as unknown as ImportFigures;
  log(`import: ${fmt(ir.accepted)} accepted, ${fmt(ir.rejected)} rejected, ${fmt(ir.rated)} rated; ${imp.seconds.toFixed(1)} s (import ${ir.importSeconds.toFixed(1)} s, rating ${ir.rateSeconds.toFixed(1)} s), peak RSS ${imp.maxRssMb} MB`);
  if (ir.rejected > 0) log(`first rejections: ${JSON.stringify(ir.firstErrors)}`);

  log(`bill run ${CYCLE}: start …`);
  m = meter();
  m.start();
  const startRun = await runChild([CHILD, 'start', CYCLE], env, 'start');
  const runId = Number(startRun.result.runId);
  log(`run ${runId}: ${startRun.result.chunks} chunks, ${fmt(Number(startRun.result.accounts))} accounts; ${settings.workers} worker(s) …`);
  const progress = ctx && !settings.pglite ? billProgress(ctx, runId) : undefined;
  const workers = await Promise.all(Array.from({ length: settings.workers }, (_, i) => runChild([CHILD, 'work', String(runId), 'bill'], env, `worker ${i + 1}`)));
  if (progress) clearInterval(progress);
  const billSeconds = startRun.seconds + Math.max(...workers.map((w) => w.seconds));
  const billCpu = m.stop();
  log(`bill run: ${billSeconds.toFixed(1)} s (start ${startRun.seconds.toFixed(1)} s), chunks per worker ${workers.map((w) => w.result.chunks).join('/')}, failed ${workers.map((w) => w.result.failed).join('/')}, state ${workers.map((w) => w.result.state).join(',')}`);

  log('publish + write-off …');
  m = meter();
  m.start();
  const pub = await runChild([CHILD, 'publish', String(runId), String(settings.workers)], env, 'publish');
  const pubCpu = m.stop();
  log(`publish: ${pub.seconds.toFixed(1)} s, state ${pub.result.state}${(pub.result.errors as unknown[]).length ? `, errors ${JSON.stringify(pub.result.errors)}` : ''}`);
  return {
    imp,
    ir,
    impCpu,
    runId,
    billSeconds,
    billProcs: [{ label: 'start', run: startRun }, ...workers.map((w, i) => ({ label: `worker ${i + 1}`, run: w }))],
    billCpu,
    pubSeconds: pub.seconds,
    pubProcs: [{ label: 'publish', run: pub }],
    pubCpu,
  };
}

/** Polls `fn` every 100 ms until it returns a value. */
async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 3_600_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The CLI (PostgreSQL): `usage import FILE --json`; `billrun CYCLE --workers 1` with W−1 `billrun
 * worker` processes beside it; `billrun CYCLE --publish` with the same. The import/rating split is the
 * first imported_at of the file's sets (rated_at of its cdrs rows) (the file is staged whole, then rated chunk by chunk); a stage ends when the
 * run's state says so, then the worker processes are stopped (SIGTERM).
 */
async function importViaCli(ctx: AppContext, env: NodeJS.ProcessEnv, file: string): Promise<Pick<Stages, 'imp' | 'ir' | 'impCpu'>> {
  const db = ctx.database.db;
  log('import + rating: openboss usage import …');
  const m = meter();
  m.start();
  const t0 = performance.now();
  const wall0 = Date.now();
  const proc = startChild([CLI, 'usage', 'import', file, '--json'], env, 'import', false, [0, 1]);
  let opened = 0;
  const poll = setInterval(() => {
    void sql<{ status: string }>`SELECT status FROM usage_files ORDER BY file_id DESC LIMIT 1`
      .execute(db)
      .then((r) => {
        if (!opened && r.rows[0]) opened = performance.now();
      })
      .catch(() => undefined);
  }, 100);
  const imp = await proc.done;
  clearInterval(poll);
  const impCpu = m.stop();
  const out = JSON.parse(imp.stdout.slice(imp.stdout.indexOf('{'))) as { fileId: number; accepted: number; rejected: number; rated: number; errors: unknown[] };
  // the split: the file is staged whole, then rated into cdr_sets (or cdrs); imported_at (= rated_at) is the clock when its chunk began
  const first = (
    await sql<{ t: Date | null }>`SELECT least((SELECT min(imported_at) FROM cdr_sets WHERE file_id = ${out.fileId}), (SELECT min(rated_at) FROM cdrs WHERE file_id = ${out.fileId})) AS t`.execute(db)
  ).rows[0]?.t;
  const split = first ? Math.min(imp.seconds, Math.max(0, (first.getTime() - wall0) / 1000)) : imp.seconds;
  const ir: ImportFigures = {
    accepted: out.accepted,
    rejected: out.rejected,
    rated: out.rated,
    // opened: the file's row appeared (after the sha256 pass); staged: rating of the first chunk began
    openedSeconds: opened ? (opened - t0) / 1000 : 0,
    importSeconds: split,
    rateSeconds: imp.seconds - split,
    firstErrors: (out.errors ?? []).slice(0, 5),
  };
  log(`import: ${fmt(ir.accepted)} accepted, ${fmt(ir.rejected)} rejected, ${fmt(ir.rated)} rated; ${imp.seconds.toFixed(1)} s (until staged ${ir.importSeconds.toFixed(1)} s, then rating and exit ${ir.rateSeconds.toFixed(1)} s), peak RSS ${imp.maxRssMb} MB`);
  if (ir.rejected > 0) log(`first rejections: ${JSON.stringify(ir.firstErrors)}`);
  return { imp, ir, impCpu };
}

async function billViaCli(ctx: AppContext, env: NodeJS.ProcessEnv): Promise<Omit<Stages, 'imp' | 'ir' | 'impCpu'>> {
  const db = ctx.database.db;
  const stage = async (phase: 'bill' | 'publish') => {
    const args = phase === 'bill' ? [CLI, 'billrun', CYCLE, '--workers', '1'] : [CLI, 'billrun', CYCLE, '--publish', '--workers', '1'];
    const wanted = phase === 'bill' ? ['prebilled', 'failed'] : ['published', 'failed'];
    log(`${phase === 'bill' ? 'bill run' : 'publish + write-off'}: openboss ${args.slice(1).join(' ')}${settings.workers > 1 ? ` + ${settings.workers - 1} × openboss billrun worker` : ''} …`);
    const cpu = meter();
    cpu.start();
    const started = performance.now();
    const main = startChild(args, env, `billrun ${phase}`, false);
    const workers = Array.from({ length: settings.workers - 1 }, (_, i) => startChild([CLI, 'billrun', 'worker', '--workers', '1'], env, `worker ${i + 1}`, false, [0, 143]));
    const runId = await until(async () => (await sql<{ run_id: number }>`SELECT run_id FROM bill_runs WHERE cycle = ${CYCLE}`.execute(db)).rows[0]?.run_id);
    const progress = billProgress(ctx, Number(runId), phase);
    const mainRun = await main.done;
    const state = await until(async () => {
      const r = (await sql<{ state: string }>`SELECT state FROM bill_runs WHERE run_id = ${runId}`.execute(db)).rows[0]?.state;
      return r && wanted.includes(r) ? r : undefined;
    });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(progress);
    for (const w of workers) w.stop();
    const workerRuns = await Promise.all(workers.map((w) => w.done));
    const cores = cpu.stop();
    const procs = [{ label: `billrun ${phase}`, run: mainRun }, ...workerRuns.map((w, i) => ({ label: `worker ${i + 1}`, run: w }))];
    log(`${phase}: ${seconds.toFixed(1)} s, state ${state}; ${procs.map((p) => `${p.label} peak RSS ${p.run.maxRssMb} MB, ${p.run.cpuSeconds.toFixed(1)} CPU-s`).join('; ')}; postgres ${((cores.postgres ?? 0) * seconds).toFixed(1)} CPU-s`);
    log(`${phase}: ${mainRun.stdout.trim().split('\n').slice(-12).join(' | ')}`);
    return { runId: Number(runId), seconds, cores, procs };
  };
  const bill = await stage('bill');
  const pub = await stage('publish');
  return { runId: bill.runId, billSeconds: bill.seconds, billProcs: bill.procs, billCpu: bill.cores, pubSeconds: pub.seconds, pubProcs: pub.procs, pubCpu: pub.cores };
}

async function main(): Promise<void> {
  stopChildrenOnSignal();
  const n = settings.subscribers;
  const dir = mkdtempSync(join(os.tmpdir(), 'openboss-bench-billrun-'));
  const pgDir = settings.pglite ? join(dir, 'pgdata') : undefined;
  const url = settings.pglite ? undefined : dbUrl(settings.baseUrl, BENCH_DB);
  let pgInfo = { short: 'PGlite', settings: '' };
  if (!settings.pglite) {
    pgInfo = await postgresInfo(settings.baseUrl);
    log(`PostgreSQL ${shown(settings.baseUrl)}: ${pgInfo.short}; ${pgInfo.settings}`);
    if (settings.snapshot === 'use') {
      await withAdmin(settings.baseUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
        await c.query(`CREATE DATABASE ${BENCH_DB} TEMPLATE ${SNAPSHOT_DB} STRATEGY FILE_COPY`);
        for (const { name: key, value } of settings.dbSettings) await c.query(`ALTER DATABASE ${BENCH_DB} SET ${key} = '${value}'`);
      });
      log(`database ${BENCH_DB} copied from the snapshot ${SNAPSHOT_DB} (imported and rated): bill run and publish only`);
    } else await recreateDatabase(settings, BENCH_DB);
  } else log(`PGlite in ${pgDir}`);
  log(`${fmt(n)} subscribers, ~${settings.cdrsPerSubscriber} CDRs each, ${settings.virtualPercent} % virtual accounts, cycle ${CYCLE}, ${settings.workers} bill-run worker process(es); ${os.cpus().length} cores, Node ${process.version}`);
  const cliThere = (await cliHas(['usage', 'import'])) && (await cliHas(['billrun']));
  // PGlite: the bench cannot watch the database while a child holds it, so the child reports the stages itself
  const via = settings.pglite ? 'child' : (settings.via ?? (cliThere ? 'cli' : 'child'));
  if (via === 'cli' && !cliThere) throw new Error('--via cli: the CLI has no `usage import` / `billrun` yet');
  log(
    via === 'cli'
      ? `stages run through the CLI, each in its own process: usage import; billrun ${CYCLE} (+ ${settings.workers - 1} \`billrun worker\` process(es)); billrun ${CYCLE} --publish`
      : 'stages run as child processes of bench/billrun-child.ts (ctx.usage.importFile, ctx.billing.start/work/publish, with the time per repository function)',
  );

  let peakParent = process.memoryUsage().rss;
  const parentTimer = setInterval(() => (peakParent = Math.max(peakParent, process.memoryUsage().rss)), 200);
  let ctx: AppContext | undefined = await openCtx(url, pgDir);
  const pgPids = settings.pglite ? undefined : new PgPids(settings.baseUrl, BENCH_DB);
  pgPidsOfBench = pgPids;
  await pgPids?.start();
  let failed = false;
  try {
    // 1. catalog and population; 2. the CDR file (or both from the snapshot)
    let t = performance.now();
    let pop: { monthly: number; virtual: number; prepaidFen: number };
    let gen: { rows: number; bytes: number; byUsage: Record<string, number> };
    let seedSeconds: number;
    let genSeconds: number;
    let fromSnapshot: Pick<Stages, 'imp' | 'ir' | 'impCpu'> | undefined;
    const file = join(dir, 'cdrs.csv');
    if (settings.snapshot === 'use') {
      const meta = (await sql<{ j: SnapshotMeta }>`SELECT j FROM bench_meta`.execute(ctx.database.db)).rows[0]?.j;
      if (!meta || meta.subscribers !== n) throw new Error(`the snapshot ${SNAPSHOT_DB} holds ${meta?.subscribers ?? '?'} subscribers, not ${n}`);
      ({ pop, gen, seedSeconds, genSeconds } = meta);
      fromSnapshot = meta.import;
      if (settings.chunkAccounts > 0) await sql`UPDATE business_parameters SET value = ${settings.chunkAccounts} WHERE key = 'billrun_chunk_accounts'`.execute(ctx.database.db);
      log(`from the snapshot: ${fmt(gen.rows)} CDRs imported and rated (import + rating then ${meta.import.imp.seconds.toFixed(1)} s)`);
    } else {
      await ctx.catalog.importCatalog(DEMO_CATALOG);
      pop = await seedPopulation(ctx, n);
      seedSeconds = (performance.now() - t) / 1000;
      log(`population: ${fmt(n)} customers, accounts (${fmt(pop.monthly)} monthly, ${fmt(pop.virtual)} virtual), subscribers and plans, ${fmt(pop.prepaidFen / 100)} yuan prestored, in ${seedSeconds.toFixed(1)} s`);
      t = performance.now();
      gen = await writeCdrFile(file, n);
      genSeconds = (performance.now() - t) / 1000;
      log(`CDR file: ${fmt(gen.rows)} rows (voice ${fmt(gen.byUsage.voice ?? 0)}, sms ${fmt(gen.byUsage.sms ?? 0)}, data ${fmt(gen.byUsage.data ?? 0)}), ${fmt(gen.bytes / 1024 / 1024, 1)} MiB in ${genSeconds.toFixed(1)} s`);
    }

    if (settings.pglite) {
      await ctx.close(); // PGlite is one process's database: the children open it in turn
      ctx = undefined;
    }
    const env = childEnv(url, pgDir);
    let st: Stages;
    if (via === 'cli') {
      const imported = fromSnapshot ?? (await importViaCli(ctx as AppContext, env, file));
      if (settings.snapshot === 'save') {
        const meta: SnapshotMeta = { subscribers: n, pop, gen, seedSeconds, genSeconds, import: imported };
        await sql`CREATE TABLE bench_meta (j jsonb)`.execute((ctx as AppContext).database.db);
        await sql`INSERT INTO bench_meta VALUES (${JSON.stringify(meta)}::jsonb)`.execute((ctx as AppContext).database.db);
        await (ctx as AppContext).close(); // a template has no other sessions
        await withAdmin(settings.baseUrl, async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${SNAPSHOT_DB} WITH (FORCE)`);
          await c.query(`CREATE DATABASE ${SNAPSHOT_DB} TEMPLATE ${BENCH_DB} STRATEGY FILE_COPY`);
        });
        log(`snapshot saved: ${SNAPSHOT_DB} (use it with --snapshot use; drop it with DROP DATABASE ${SNAPSHOT_DB})`);
        ctx = await openCtx(url, pgDir);
      }
      st = { ...imported, ...(await billViaCli(ctx as AppContext, env)) };
    } else st = await stagesViaChild(ctx, env, file);
    const { imp, ir, runId } = st;

    // 6. checks and the COPY baseline
    ctx ??= await openCtx(url, pgDir);
    log('checks …');
    t = performance.now();
    const checks = await verify(ctx, runId, { cdrs: gen.rows, monthly: pop.monthly });
    const fp = await fingerprint(ctx);
    const checkSeconds = (performance.now() - t) / 1000;
    if (checks.failures.length) failed = true;
    let copy: { seconds: number; rowsPerSec: number } | undefined;
    if (!settings.skipCopy) {
      log(`baseline: ${settings.pglite ? "PGlite COPY FROM '/dev/blob'" : 'psql \\copy'} of the same file …`);
      copy = settings.pglite ? await copyBaselinePglite(ctx, file, gen.rows) : await copyBaselinePg(url as string, file, gen.rows);
    }
    clearInterval(parentTimer);

    // 7. the report
    const rows = gen.rows;
    const { billSeconds, billProcs, billCpu, pubSeconds, pubProcs, pubCpu } = st;
    const e2eSeconds = imp.seconds + billSeconds + pubSeconds;
    const e2eRate = rows / e2eSeconds;
    const rateOnly = ir.rateSeconds > 0 ? rows / ir.rateSeconds : 0;
    const maxRss = Math.max(imp.maxRssMb, ...billProcs.map((p) => p.run.maxRssMb), ...pubProcs.map((p) => p.run.maxRssMb));
    const procs = (list: { label: string; run: ChildRun }[]) => list.map((p) => `${p.label} ${p.run.maxRssMb} MB / ${p.run.cpuSeconds.toFixed(1)} CPU-s`).join(', ');
    const pgCpuSeconds = (c: Record<string, number>, seconds: number) => ((c.postgres ?? 0) * seconds).toFixed(1);
    const ok = (b: boolean) => (b ? 'ok' : 'MISS');
    const cores = (c: Record<string, number>) => cpuLine({ node: c.node ?? 0, postgres: c.postgres ?? 0, other: c.other ?? 0, machine: c.machine ?? 0 });
    console.log('');
    console.log(`bill-run bench — ${pgInfo.short}, ${os.cpus().length} cores, Node ${process.version}, ${fmt(n)} subscribers, ${fmt(rows)} CDRs, ${settings.workers} worker process(es), via ${via}`);
    console.log(`  population (SQL)     ${seedSeconds.toFixed(1).padStart(7)} s   CDR file ${fmt(gen.bytes / 1024 / 1024, 1)} MiB in ${genSeconds.toFixed(1)} s   bench process peak RSS ${Math.round(peakParent / 1024 / 1024)} MB`);
    console.log(`  import + rating${settings.snapshot === 'use' ? ' (of the snapshot)' : ''}      ${imp.seconds.toFixed(1).padStart(7)} s  ${fmt(rows / imp.seconds).padStart(9)} CDRs/s   peak RSS ${imp.maxRssMb} MB, ${imp.cpuSeconds.toFixed(1)} CPU-s; postgres ${pgCpuSeconds(st.impCpu, imp.seconds)} CPU-s; cores: ${cores(st.impCpu)}`);
    console.log(`    import (parse, match, COPY) ${ir.importSeconds.toFixed(1).padStart(6)} s  ${fmt(rows / ir.importSeconds).padStart(9)} CDRs/s   (process start + open ${ir.openedSeconds.toFixed(1)} s)`);
    console.log(`    rating (into cdr_sets)       ${ir.rateSeconds.toFixed(1).padStart(6)} s  ${fmt(rateOnly).padStart(9)} CDRs/s  [target ${fmt(TARGET_RATE_CDRS_PER_SEC)}: ${ok(rateOnly >= TARGET_RATE_CDRS_PER_SEC)}]`);
    console.log(`  bill run (pre-bill)  ${billSeconds.toFixed(1).padStart(7)} s  ${fmt(n / billSeconds).padStart(9)} subscribers/s   ${procs(billProcs)}; postgres ${pgCpuSeconds(billCpu, billSeconds)} CPU-s; cores: ${cores(billCpu)}`);
    console.log(`  publish + write-off  ${pubSeconds.toFixed(1).padStart(7)} s  ${fmt(pop.monthly / pubSeconds).padStart(9)} accounts/s   ${procs(pubProcs)}; postgres ${pgCpuSeconds(pubCpu, pubSeconds)} CPU-s; cores: ${cores(pubCpu)}`);
    // the 5-minute targets are for 1,000,000 subscribers (PostgreSQL) and 100,000 (PGlite): as a rate, 20 M or 2 M CDRs in 300 s
    const targetSubs = settings.pglite ? 100_000 : 1_000_000;
    const targetRate = settings.pglite ? Math.round((targetSubs * 20) / TARGET_SECONDS) : TARGET_E2E_CDRS_PER_SEC;
    const timeVerdict = n === targetSubs ? `< ${TARGET_SECONDS} s: ${ok(e2eSeconds < TARGET_SECONDS)}; ` : `${fmt(targetSubs)} subscribers in < ${TARGET_SECONDS} s ≈ `;
    console.log(`  end to end           ${e2eSeconds.toFixed(1).padStart(7)} s  ${fmt(e2eRate).padStart(9)} CDRs/s  [target ${timeVerdict}≥ ${fmt(targetRate)} CDRs/s: ${ok(e2eRate >= targetRate)}]  peak RSS max ${maxRss} MB [< ${TARGET_RSS_MB}: ${ok(maxRss < TARGET_RSS_MB)}]`);
    if (copy) console.log(`  COPY baseline        ${copy.seconds.toFixed(1).padStart(7)} s  ${fmt(copy.rowsPerSec).padStart(9)} rows/s (plain table, same columns) → end-to-end/COPY ${(e2eRate / copy.rowsPerSec).toFixed(3)} [≈ 0.06, stretch 0.25], rating/COPY ${(rateOnly / copy.rowsPerSec).toFixed(3)}`);
    console.log(`  checks (${checkSeconds.toFixed(1)} s): CDRs ${fmt(checks.cdrs)} stored, ${fmt(checks.rated)} rated, charges ${fmt(checks.ratedChargeFen / 100, 2)} yuan = usage lines ${fmt(checks.usageLinesFen / 100, 2)} (of the run ${fmt(checks.usageLinesRunFen / 100, 2)}, virtual as rated ${fmt((checks.usageLinesFen - checks.usageLinesRunFen) / 100, 2)}); run ${checks.runState}: ${fmt(checks.runBills)} bills for ${fmt(checks.monthlyAccounts)} monthly accounts, ${fmt(checks.runLinesFen / 100, 2)} yuan; virtual bills ${fmt(checks.virtualBills)}; written off ${fmt(checks.writeOffFen / 100, 2)} yuan; conservation ${fmt(checks.conservationAccounts)} accounts, ${checks.conservationDiffering} differing`);
    console.log(`  fingerprint (the same on every run of the same population, whatever the code's speed): ${Object.entries(fp).map(([k, v]) => `${k} ${v}`).join('; ')}`);
    for (const f of checks.failures) console.log(`  CHECK FAILED: ${f}`);
    const spentAll = [...spentLines('import', imp), ...[...billProcs, ...pubProcs].flatMap((p) => spentLines(p.label, p.run))];
    if (spentAll.length) console.log('  where the time goes (summed per function in each child; overlapping calls add up):');
    for (const line of spentAll) console.log(line);
    console.log(
      JSON.stringify({
        database: pgInfo.short,
        subscribers: n,
        cdrs: rows,
        workers: settings.workers,
        via,
        virtualPercent: settings.virtualPercent,
        importRating: { seconds: round(imp.seconds, 2), importSeconds: round(ir.importSeconds, 2), ratingSeconds: round(ir.rateSeconds, 2), cdrsPerSec: Math.round(rows / imp.seconds), ratingCdrsPerSec: Math.round(rateOnly), peakRssMb: imp.maxRssMb },
        billRun: { seconds: round(billSeconds, 2), subscribersPerSec: Math.round(n / billSeconds), peakRssMb: Math.max(...billProcs.map((p) => p.run.maxRssMb)) },
        publish: { seconds: round(pubSeconds, 2), accountsPerSec: Math.round(pop.monthly / pubSeconds), peakRssMb: Math.max(...pubProcs.map((p) => p.run.maxRssMb)) },
        endToEnd: { seconds: round(e2eSeconds, 2), cdrsPerSec: Math.round(e2eRate) },
        copy: copy ? { seconds: round(copy.seconds, 2), rowsPerSec: Math.round(copy.rowsPerSec), ratio: round(e2eRate / copy.rowsPerSec, 4), ratingRatio: round(rateOnly / copy.rowsPerSec, 4) } : null,
        checks: { ...checks, failures: checks.failures.length },
        ok: !failed,
      }),
    );
  } finally {
    clearInterval(parentTimer);
    for (const c of children) stopNode(c); // a stage that threw may leave its neighbours running
    await pgPids?.stop();
    await ctx?.close();
    if (!settings.keep) {
      rmSync(dir, { recursive: true, force: true });
      if (!settings.pglite) await dropDatabase(settings, BENCH_DB);
    } else log(`kept: ${dir}${settings.pglite ? '' : ` and database ${BENCH_DB}`}`);
  }
  if (failed) {
    console.error('[bench] FAILED: a correctness check did not hold (see CHECK FAILED above)');
    process.exitCode = 1;
  }
}

/** Progress of a phase from bill_run_chunks every 10 s (PostgreSQL only: PGlite is the worker's). */
function billProgress(ctx: AppContext, runId: number, phase: 'bill' | 'publish' = 'bill'): NodeJS.Timeout {
  const t0 = performance.now();
  const col = sql.ref(phase === 'bill' ? 'state' : 'publish_state');
  return setInterval(() => {
    void sql<{ done: number; total: number; accounts: number }>`
      SELECT count(*) FILTER (WHERE ${col} = 'done')::int AS done, count(*)::int AS total, coalesce(sum(accounts) FILTER (WHERE ${col} = 'done'), 0)::int AS accounts
        FROM bill_run_chunks WHERE run_id = ${runId}`
      .execute(ctx.database.db)
      .then((r) => {
        const p = r.rows[0];
        if (p) log(`${phase === 'bill' ? 'bill run' : 'publish'}: ${p.done}/${p.total} chunks, ${fmt(p.accounts)} accounts (${fmt(p.accounts / ((performance.now() - t0) / 1000))}/s)`);
      })
      .catch(() => undefined);
  }, 10_000);
}

await main();
