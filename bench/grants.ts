// Scale benchmark of the monthly bundle grants (R-BND-7, issue 5): N bound bundles (default 100,000)
// on PostgreSQL, each a customer with one joint account, a 2G mobile and a broadband of the same number,
// the broadband's restricted fund (专款) and the bundle rows; then times BundleGrantService.runMonth for
// the month (bundles/s, seconds, peak RSS of this process) and checks the result: every eligible
// bundle granted exactly once, every other one skipped with its reason, a second run writes nothing,
// conservation (R-ACC-18) with zero differences. Never fails on a time.
//
//   npm run bench:grants                       (node bench/grants.ts; 100,000 bundles)
//   node bench/grants.ts --bundles 1000000     (the target: < 60 s on 2 cores)
//
// The mix: 5 % of mobiles suspended (mobile_not_normal), 3 % of broadbands arrears-stopped
// (broadband_arrears), 2 % without a fund (broadband_no_fund), 1 ‰ of accounts with an open bill line
// of the month the new book pays (money.settle); 8 % of bundles are 2G+宽带+固话 with family numbers
// (a fixed line as third member). Flags (or environment): --bundles N (BENCH_BUNDLES), --chunk N
// (BENCH_GRANT_CHUNK, 10000), --workers N (BENCH_WORKERS, 2: chunks worked at once), --keep (BENCH_KEEP=1); BENCH_DATABASE_URL / DATABASE_URL as in
// bench/README.md. Nothing outside its own database (openboss_bench_grants) is touched; it is dropped
// at the end unless --keep.
//   --reuse (BENCH_REUSE=1, implies --keep): no population; the kept database's bundles get the month after
//     the last one granted there (the simulated clock on its 1st), with the 1 ‰ open lines of that month
//     added first, and the same checks for that month. Each reuse adds a month of rows (as production does).
//   --explain: before the run, EXPLAIN (ANALYZE, BUFFERS) of the first chunk's statement, rolled back.
import os from 'node:os';
import { CompiledQuery, sql } from 'kysely';
import pino from 'pino';
import type { AppContext } from '../src/app/context.ts';
import { createContext } from '../src/app/context.ts';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { chunkStatement, grantsRepo } from '../src/domains/bundles/grants-repo.ts';
import { systemActor } from '../src/platform/audit.ts';
import { addCycles, cycleOf, cycleStart } from '../src/platform/clock.ts';
import { SimulatedClock } from '../src/platform/clock.ts';
import { loadConfig } from '../src/platform/config.ts';
import type { Db } from '../src/platform/db.ts';
import { CpuMeter, commonSettings, cpuLine, dbUrl, dropDatabase, fmt, intEnv, log, PgPids, postgresInfo, recreateDatabase, round, shown, withAdmin } from './lib.ts';

const BENCH_DB = 'openboss_bench_grants';
const TARGET_SECONDS_PER_MILLION = 60;

function flag(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1] !== undefined && !args[i + 1]?.startsWith('--') ? args[i + 1] : '1';
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
function intFlag(name: string, env: string, fallback: number): number {
  const raw = flag(name);
  if (raw === undefined) return intEnv(env, fallback);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

const settings = { ...commonSettings({ seconds: 20, connections: 4 }), bundles: intFlag('bundles', 'BENCH_BUNDLES', 100_000), chunk: intFlag('chunk', 'BENCH_GRANT_CHUNK', 10_000), workers: intFlag('workers', 'BENCH_WORKERS', 2) };
const reuse = flag('reuse') !== undefined || process.env.BENCH_REUSE === '1';
if (flag('keep') !== undefined || reuse) settings.keep = true;

// the month granted is the current one (a new database) or the month after the last one granted (--reuse);
// the bundles were bound the month before the current one
let CYCLE = cycleOf(new Date());
let START = cycleStart(CYCLE);
const BOUND = cycleStart(addCycles(CYCLE, -1));
const FUND_ITEMS = ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'];

// the mix, by i modulo 1000 (see the header)
const MIX = sql`CASE WHEN i % 1000 < 50 THEN 'mobile_not_normal' WHEN i % 1000 < 80 THEN 'broadband_arrears' WHEN i % 1000 < 100 THEN 'broadband_no_fund' END`;

/** EXPLAIN (ANALYZE, BUFFERS) of the first chunk's statement as runMonth would run it, rolled back. */
async function explainChunk(ctx: AppContext, db: Db, n: number): Promise<void> {
  const ids = await grantsRepo.monthChunk(db, CYCLE, START, 0, settings.chunk);
  const seq = await grantsRepo.sequences(db);
  const now = ctx.clock.now();
  const params = { mode: 'month' as const, ids, cycle: CYCLE, start: START, end: cycleStart(addCycles(CYCLE, 1)), now, previousCycle: addCycles(CYCLE, -1), actor: systemActor('bench'), seq };
  const rollback = new Error('rollback');
  try {
    await db.transaction().execute(async (tx) => {
      await grantsRepo.lockBundles(tx, ids);
      await grantsRepo.chunkSettings(tx);
      const q = chunkStatement(params).compile(tx);
      const t = performance.now();
      const r = await tx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN (ANALYZE, BUFFERS, WAL) ${q.sql}`, [...q.parameters]));
      log(`EXPLAIN (ANALYZE, BUFFERS, WAL) of one chunk (${fmt(ids.length)} of ${fmt(n)} bundles, rolled back) in ${round((performance.now() - t) / 1000, 2)} s:`);
      for (const row of r.rows) console.log(row['QUERY PLAN']);
      throw rollback;
    });
  } catch (err) {
    if (err !== rollback) throw err;
  }
}

async function main(): Promise<void> {
  const url = dbUrl(settings.baseUrl, BENCH_DB);
  const pgInfo = await postgresInfo(settings.baseUrl);
  if (reuse) {
    const last = await withAdmin(url, async (c) => (await c.query<{ cycle: string | null }>('SELECT max(cycle) AS cycle FROM bundle_grants')).rows[0]?.cycle);
    if (!last) throw new Error(`--reuse: no granted month in ${BENCH_DB} (make one with --keep first)`);
    CYCLE = addCycles(last, 1);
    START = cycleStart(CYCLE);
  } else {
    await recreateDatabase(settings, BENCH_DB);
  }
  const END = cycleStart(addCycles(CYCLE, 1));
  log(`${pgInfo.short} at ${shown(settings.baseUrl)} (${pgInfo.settings}); ${reuse ? 'the kept database' : `${fmt(settings.bundles)} bundles`}, month ${CYCLE}, chunk ${fmt(settings.chunk)}, ${settings.workers} workers`);
  log('note: the machine is shared with other work; the figures are of one run on it');
  const clock = new SimulatedClock(new Date(START.getTime() + 6 * 3600_000), { frozen: true });
  const ctx = await createContext({ ...loadConfig({}), logLevel: 'warn' }, { clock, log: pino({ level: 'warn' }), db: { databaseUrl: url, poolSize: 4 } });
  let rssPeak = 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 100);
  try {
    const db = ctx.database.db;
    // ---- the population, set-based (or the month's open lines on a kept database) ----
    const t0 = performance.now();
    let n = settings.bundles;
    if (reuse) {
      n = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM packages`.execute(db)).rows[0]?.n ?? 0;
      await db.transaction().execute(async (tx) => {
        await sql`INSERT INTO bills (account_id, cycle, status, created_at, published_at)
                  SELECT i, ${CYCLE}, 'published', ${START}, ${START} FROM generate_series(1, ${n}::int) i WHERE i % 1000 = 999`.execute(tx);
        await sql`INSERT INTO bill_lines (account_id, bill_id, cycle, subscriber_id, item_code, amount_fen, source, created_at)
                  SELECT b.account_id, b.bill_id, ${CYCLE}, 3 * b.account_id - 2, 'RENT_PLAN', 1500, 'manual', ${START} FROM bills b WHERE b.cycle = ${CYCLE}`.execute(tx);
      });
    } else {
      await sql`INSERT INTO offers (offer_code, kind, name_zh, name_en, valid_from, members, linkage, created_at, updated_at) VALUES
        ('BENCH-2G-BB', 'bundle', '压测2G+宽带', 'bench 2G+BB', ${BOUND}, '[{"role":"mobile","network":"gsm2g"},{"role":"broadband","network":"broadband"}]', 'next_cycle_if_funded', ${BOUND}, ${BOUND}),
        ('BENCH-2G-BB-FIX', 'bundle', '压测2G+宽带+固话', 'bench 2G+BB+fixed', ${BOUND}, '[{"role":"mobile","network":"gsm2g"},{"role":"broadband","network":"broadband"},{"role":"fixed","network":"fixed"}]', 'next_cycle_if_funded', ${BOUND}, ${BOUND})`.execute(db);
      await sql`INSERT INTO bundle_offers (offer_code, generation, requires_joint_account, family_roles) VALUES ('BENCH-2G-BB', '2G', true, NULL), ('BENCH-2G-BB-FIX', '2G', true, '{mobile,fixed}')`.execute(db);
      await sql`INSERT INTO bundle_grant_items (offer_code, seq, member_role, kind, amount_fen, name_zh, name_en) VALUES
        ('BENCH-2G-BB', 1, 'mobile', 'money', 2000, '话费', 'call credit'), ('BENCH-2G-BB-FIX', 1, 'mobile', 'money', 3000, '话费', 'call credit')`.execute(db);
      const batch = 200_000;
      const at = new Date(BOUND.getTime() - 86_400_000);
      for (let lo = 1; lo <= n; lo += batch) {
        const hi = Math.min(n, lo + batch - 1);
        const gs = sql`generate_series(${lo}::int, ${hi}::int) i`;
        await db.transaction().execute(async (tx) => {
          await sql`INSERT INTO customers (customer_id, kind, name, id_type, id_number, segment, created_at, updated_at)
                    SELECT i, 'person', '捆绑压测' || i, 'passport', 'BNDB' || lpad(i::text, 10, '0'), 'personal', ${at}::timestamptz, ${at}::timestamptz FROM ${gs}`.execute(tx);
          await sql`INSERT INTO accounts (account_id, customer_id, name, billing_type, payment_method, created_at, updated_at)
                    SELECT i, i, '捆绑压测' || i, 'monthly', 'cash', ${at}::timestamptz, ${at}::timestamptz FROM ${gs}`.execute(tx);
          await sql`INSERT INTO packages (package_id, offer_code, customer_id, account_id, linkage, started_at)
                    SELECT i, CASE WHEN i % 100 >= 92 THEN 'BENCH-2G-BB-FIX' ELSE 'BENCH-2G-BB' END, i, i, 'next_cycle_if_funded', ${BOUND}::timestamptz FROM ${gs}`.execute(tx);
          // subscriber ids: mobile 3i-2, broadband 3i-1, fixed 3i (8 % of bundles)
          await sql`INSERT INTO subscribers (subscriber_id, service_number, network, customer_id, default_account_id, activated_at, created_at, stop_reasons, package_id)
                    SELECT 3 * i - 2, '133' || lpad(i::text, 8, '0'), 'gsm2g', i, i, ${at}::timestamptz, ${at}::timestamptz,
                           CASE WHEN ${MIX} = 'mobile_not_normal' THEN '{on_request}'::text[] ELSE '{}'::text[] END, i FROM ${gs}
                    UNION ALL
                    SELECT 3 * i - 1, '133' || lpad(i::text, 8, '0'), 'broadband', i, i, ${at}::timestamptz, ${at}::timestamptz,
                           CASE WHEN ${MIX} = 'broadband_arrears' THEN '{arrears_two_way}'::text[] ELSE '{}'::text[] END, i FROM ${gs}
                    UNION ALL
                    SELECT 3 * i, '0223' || lpad(i::text, 7, '0'), 'fixed', i, i, ${at}::timestamptz, ${at}::timestamptz, '{}'::text[], i FROM ${gs} WHERE i % 100 >= 92`.execute(tx);
          // the broadband fund: a restricted book private to the broadband, from a payment
          await sql`INSERT INTO books (account_id, book_id, book_type, restricted_items, subscriber_id, start_at, amount_fen, balance_fen, source_kind, created_at)
                    SELECT i, i, 'restricted_fund', ${FUND_ITEMS}::text[], 3 * i - 1, ${at}, 6000, 6000, 'payment', ${at} FROM ${gs}
                     WHERE ${MIX} IS DISTINCT FROM 'broadband_no_fund'`.execute(tx);
          await sql`INSERT INTO payments (account_id, kind, amount_fen, book_type, book_id, channel, business_day, created_at)
                    SELECT i, 'payment', 6000, 'restricted_fund', i, 'bench', ${at.toISOString().slice(0, 10)}, ${at} FROM ${gs}
                     WHERE ${MIX} IS DISTINCT FROM 'broadband_no_fund'`.execute(tx);
          await sql`INSERT INTO bundle_members (package_id, subscriber_id, member_role, account_id, joined_at)
                    SELECT i, 3 * i - 2, 'mobile', i, ${BOUND}::timestamptz FROM ${gs}
                    UNION ALL SELECT i, 3 * i - 1, 'broadband', i, ${BOUND}::timestamptz FROM ${gs}
                    UNION ALL SELECT i, 3 * i, 'fixed', i, ${BOUND}::timestamptz FROM ${gs} WHERE i % 100 >= 92`.execute(tx);
          // 1 ‰: the mobile's rent of the month charged (published, open) — the grant's book pays it
          await sql`INSERT INTO bills (account_id, bill_id, cycle, status, created_at, published_at)
                    SELECT i, i, ${CYCLE}, 'published', ${START}, ${START} FROM ${gs} WHERE i % 1000 = 999`.execute(tx);
          await sql`INSERT INTO bill_lines (account_id, line_id, bill_id, cycle, subscriber_id, item_code, amount_fen, source, created_at)
                    SELECT i, i, i, ${CYCLE}, 3 * i - 2, 'RENT_PLAN', 1500, 'manual', ${START} FROM ${gs} WHERE i % 1000 = 999`.execute(tx);
        });
      }
      for (const [table, col] of [
        ['customers', 'customer_id'],
        ['accounts', 'account_id'],
        ['subscribers', 'subscriber_id'],
        ['books', 'book_id'],
        ['packages', 'package_id'],
        ['bills', 'bill_id'],
        ['bill_lines', 'line_id'],
      ] as const) {
        await sql`SELECT setval(pg_get_serial_sequence(${table}, ${col}), (SELECT max(${sql.ref(col)}) FROM ${sql.table(table)}))`.execute(db);
      }
    }
    await sql`ANALYZE`.execute(db);
    const expected = (await sql<{ reason: string | null; n: number }>`SELECT ${MIX} AS reason, count(*)::int AS n FROM generate_series(1, ${n}::int) i GROUP BY 1 ORDER BY 1`.execute(db)).rows;
    const eligible = expected.find((r) => r.reason === null)?.n ?? 0;
    log(`population: ${fmt(n)} bundles (${fmt(eligible)} eligible) in ${round((performance.now() - t0) / 1000, 1)} s`);

    if (flag('explain') !== undefined) await explainChunk(ctx, db, n);

    // ---- the run ----
    const pgPids = new PgPids(settings.baseUrl, BENCH_DB);
    await pgPids.start();
    const meter = new CpuMeter({ postgres: pgPids.pids });
    const load0 = os.loadavg()[0] ?? 0;
    meter.start();
    rssPeak = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t1 = performance.now();
    let lastLog = t1;
    const out = await ctx.bundleGrants.runMonth(systemActor('bench'), CYCLE, {
      chunkSize: settings.chunk,
      workers: settings.workers,
      onChunk: (p) => {
        if (performance.now() - lastLog > 5000) {
          lastLog = performance.now();
          log(`  ${fmt(p.done)} bundles, ${round((performance.now() - t1) / 1000, 1)} s`);
        }
      },
    });
    const seconds = (performance.now() - t1) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cores = meter.stop();
    await pgPids.stop();
    const load1 = os.loadavg()[0] ?? 0;
    const runRss = rssPeak;
    log(
      `runMonth ${CYCLE}: ${fmt(out.bundles)} bundles in ${round(seconds, 2)} s = ${fmt(out.bundles / seconds)} bundles/s; ${fmt(out.granted)} granted (${fmt(out.amountFen / 100)} yuan), ${fmt(out.skipped)} skipped, ${fmt(out.familyNumbers)} family numbers, ${fmt(out.settledAccounts)} accounts settled, ${out.chunks} chunks`,
    );
    log(`  node CPU ${round((cpu.user + cpu.system) / 1e6, 1)} s; postgres CPU ${round((cores.postgres ?? 0) * seconds, 1)} s; peak RSS ${Math.round(runRss / 1048576)} MB`);
    log(`  cores: ${cpuLine({ node: cores.loadGenerator ?? 0, postgres: cores.postgres ?? 0, other: cores.other ?? 0, machine: cores.machine ?? 0 })}; load average ${load0.toFixed(2)} → ${load1.toFixed(2)}`);
    const perMillion = (seconds * 1_000_000) / n;
    log(`  target: 1,000,000 bundles < ${TARGET_SECONDS_PER_MILLION} s → ${n === 1_000_000 ? `${round(seconds, 1)} s` : `${round(perMillion, 1)} s per million at this size (linear estimate)`}`);

    // ---- checks ----
    const t2 = performance.now();
    const again = await ctx.bundleGrants.runMonth(systemActor('bench'), CYCLE, { chunkSize: settings.chunk });
    const checks: [string, boolean, string][] = [];
    checks.push(['a second run writes nothing', again.bundles === 0, `${again.bundles} bundles`]);
    const byReason = (await sql<{ reason: string | null; n: number }>`SELECT reason, count(*)::int AS n FROM bundle_grants WHERE cycle = ${CYCLE} GROUP BY 1 ORDER BY 1`.execute(db)).rows;
    checks.push(['rows by reason = the mix', JSON.stringify(byReason) === JSON.stringify(expected), JSON.stringify(byReason)]);
    const g = (
      await sql<{ granted: number; grants: number; books: number; distinct_pk: number; family: number }>`
      SELECT (SELECT count(*)::int FROM bundle_grants WHERE cycle = ${CYCLE} AND status = 'granted') AS granted,
             (SELECT count(*)::int FROM grants WHERE reason LIKE ${`捆绑赠送 ${CYCLE} %`}) AS grants,
             (SELECT count(*)::int FROM books WHERE book_type = 'discount' AND start_at = ${START}) AS books,
             (SELECT count(DISTINCT substring(reason FROM '\\(bundle ([0-9]+)\\)'))::int FROM grants WHERE reason LIKE ${`捆绑赠送 ${CYCLE} %`}) AS distinct_pk,
             (SELECT count(*)::int FROM family_numbers WHERE source = 'bundle' AND valid_from = ${START}) AS family`.execute(db)
    ).rows[0];
    checks.push(['every eligible bundle granted exactly once', g?.granted === eligible && g.grants === eligible && g.books === eligible && g.distinct_pk === eligible, JSON.stringify(g)]);
    const settledOpen = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM bill_lines WHERE cycle = ${CYCLE} AND paid_fen < amount_fen`.execute(db)).rows[0]?.n ?? -1;
    const settledExpected = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM generate_series(1, ${n}::int) i WHERE i % 1000 = 999 AND ${MIX} IS NOT NULL`.execute(db)).rows[0]?.n ?? -2;
    checks.push(['open rent lines of granted accounts paid by the grant', settledOpen === settledExpected, `${settledOpen} still open (skipped bundles: ${settledExpected})`]);
    const events = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox WHERE event_type IN ('bundle.granted', 'bundle.grant_skipped') AND occurred_at >= ${START} AND occurred_at < ${END}`.execute(db)).rows[0]?.n ?? 0;
    checks.push(['one event per bundle', events === n, `${events}`]);
    const cons = await checkConservation(db);
    checks.push(['conservation (R-ACC-18): 0 differing', cons.differing.length === 0 && cons.accountsChecked === n, `${cons.differing.length} differing of ${fmt(cons.accountsChecked)}`]);
    log(`checks (${round((performance.now() - t2) / 1000, 1)} s):`);
    for (const [name, ok, detail] of checks) log(`  ${ok ? 'ok  ' : 'FAIL'} ${name} — ${detail}`);
    console.log(
      `BENCH_RESULT ${JSON.stringify({ bundles: n, seconds: round(seconds, 2), bundlesPerSec: Math.round(out.bundles / seconds), peakRssMb: Math.round(runRss / 1048576), granted: out.granted, skipped: out.skipped, checksOk: checks.every((c) => c[1]) })}`,
    );
    if (!checks.every((c) => c[1])) process.exitCode = 1;
  } finally {
    clearInterval(sampler);
    await ctx.close();
    if (!settings.keep) await dropDatabase(settings, BENCH_DB);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
