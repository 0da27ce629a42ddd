// Load benchmark of POST /api/v1/accounts/{id}/payments against the real server on PostgreSQL.
//
// Acceptance: autocannon against the server on PostgreSQL with many accounts; prints payments/s,
// p50/p99 latency, and pgbench's TPS on the same database server in the same run with the ratio.
// Target on the 2-core machine: ≥ 1,000 payments/s, p99 < 50 ms, ratio ≥ 0.3 of pgbench's default
// TPC-B-like TPS.
//
//   npm run bench:payments            (node bench/payments.ts; settings in bench/README.md)
//
// The server runs in a child process (`node src/app/cli.ts serve`), so the load generator and the
// server do not share one event loop. Nothing outside the two bench databases is touched.
import type { EventEmitter } from 'node:events';
import os from 'node:os';
import autocannon from 'autocannon';
import cliProgress from 'cli-progress';
import pg from 'pg';
import { residentIdCheckChar } from '../src/domains/customers/rules.ts';
import {
  CLI,
  commonSettings,
  CpuMeter,
  cpuLine,
  cpuPerOp,
  dbUrl,
  dropDatabase,
  fmt,
  freePort,
  intEnv,
  log,
  PgPids,
  type PgbenchRun,
  postgresInfo,
  prepareDatabases,
  round,
  run,
  runPgbench,
  Server,
  stopServerOnSignal,
  shown,
  sleep,
} from './lib.ts';

const ADMIN_PASSWORD = 'bench-admin-pw';
const BENCH_DB = 'openboss_bench';
const PGBENCH_DB = 'openboss_pgbench';

const TARGET_PAYMENTS_PER_SEC = 1000;
const TARGET_P99_MS = 50;
const TARGET_RATIO = 0.3;

// BENCH_POOL_SIZE defaults to BENCH_CONNECTIONS: a pool smaller than the requests in flight costs
// PostgreSQL twice the CPU per payment here (measured: pool 8 → 3.0 ms, 16 → 1.4 ms, 32 → 0.7 ms
// at 32 connections).
const settings = {
  ...commonSettings({ seconds: 20, connections: 32 }),
  accounts: intEnv('BENCH_ACCOUNTS', 2000),
  seedConcurrency: intEnv('BENCH_SEED_CONCURRENCY', 16),
};

// ---------------------------------------------------------------------------------------------
// The API

async function api<T>(server: Server, token: string | undefined, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** A valid 18-character resident ID (GB 11643) for customer number i: region 110105, varied birth dates, sequence numbers. */
function residentId(i: number): string {
  const birth = new Date(Date.UTC(1950, 0, 1) + (i % 20_000) * 86_400_000);
  const ymd = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const seq = String(Math.floor(i / 20_000) % 1000).padStart(3, '0');
  const body = `110105${ymd}${seq}`;
  return body + residentIdCheckChar(body);
}

async function seedAccounts(server: Server, token: string, n: number): Promise<number[]> {
  const ids: number[] = new Array<number>(n);
  const bar = new cliProgress.SingleBar(
    { format: '[bench] seeding accounts |{bar}| {value}/{total} ({rate}/s)', noTTYOutput: true, notTTYSchedule: 2000, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(n, 0, { rate: 0 });
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const customer = await api<{ customerId: number }>(server, token, 'POST', '/api/v1/customers', {
        kind: 'person',
        name: `压测客户${i + 1}`,
        idType: 'resident_id',
        idNumber: residentId(i),
        contactPhone: `139${String(i).padStart(8, '0')}`,
      });
      const account = await api<{ accountId: number }>(server, token, 'POST', '/api/v1/accounts', {
        customerId: customer.customerId,
        billingType: 'virtual',
        paymentMethod: 'cash',
      });
      ids[i] = account.accountId;
      done++;
      bar.update(done, { rate: Math.round(done / ((performance.now() - started) / 1000)) });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(settings.seedConcurrency, n) }, worker));
  } finally {
    bar.stop();
  }
  log(`seeded ${fmt(n)} customers and accounts in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// The load

interface LoadOutcome {
  result: autocannon.Result;
  /** Keys answered 201 (a new payment). */
  created: string[];
  /** Keys of requests sent but not answered when the load stopped (may or may not have committed). */
  unanswered: string[];
  /** Responses per status code. */
  statuses: Record<string, number>;
  /** First few non-2xx bodies, to show why. */
  failures: string[];
}

interface KeyContext {
  key?: string;
}

async function paymentLoad(server: Server, token: string, accountIds: number[], seconds: number, label: string, showBar: boolean): Promise<LoadOutcome> {
  const runId = `${label}-${Date.now().toString(36)}`;
  let seq = 0;
  const inflight = new Set<string>();
  const created: string[] = [];
  const statuses: Record<string, number> = {};
  const failures: string[] = [];

  let finish: (err: Error | null, result?: autocannon.Result) => void = () => undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (err, result) => (err || !result ? reject(err ?? new Error('autocannon gave no result')) : resolve(result));
  });
  const instance = autocannon(
    {
    url: server.url,
    connections: settings.connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req, context) => {
          const key = `bench-${runId}-${++seq}`;
          (context as KeyContext).key = key;
          inflight.add(key);
          const accountId = accountIds[Math.floor(Math.random() * accountIds.length)] as number;
          return {
            ...req,
            method: 'POST',
            path: `/api/v1/accounts/${accountId}/payments`,
            body: JSON.stringify({ amountFen: 1000 + Math.floor(Math.random() * 9000), bookType: 'cash', channel: 'front_desk', idempotencyKey: key }),
          };
        },
        onResponse: (status, body, context) => {
          const key = (context as KeyContext).key;
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (key !== undefined) {
            inflight.delete(key);
            if (status === 201) created.push(key);
          }
          if ((status < 200 || status >= 300) && failures.length < 5) failures.push(`${status} ${body.slice(0, 300)}`);
        },
      },
    ],
    },
    (err, result) => finish(err, result),
  );

  let bar: cliProgress.SingleBar | undefined;
  if (showBar) {
    bar = new cliProgress.SingleBar(
      { format: `[bench] ${label} |{bar}| {value}/{total} s  {rps} req/s`, noTTYOutput: true, notTTYSchedule: 5000, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(seconds, 0, { rps: 0 });
    let elapsed = 0;
    (instance as unknown as EventEmitter).on('tick', (t: { counter: number }) => {
      elapsed = Math.min(seconds, elapsed + 1);
      bar?.update(elapsed, { rps: t.counter });
    });
  }
  const result = await finished;
  bar?.stop();
  return { result, created, unanswered: [...inflight], statuses, failures };
}

async function main(): Promise<void> {
  const benchUrl = dbUrl(settings.baseUrl, BENCH_DB);
  const pgbenchUrl = dbUrl(settings.baseUrl, PGBENCH_DB);
  const cpus = os.cpus();
  const cpuModel = cpus[0]?.model.trim() ?? '?';
  const pgInfo = await postgresInfo(settings.baseUrl);
  const pgVersion = pgInfo.short;

  console.log('OpenBOSS payments benchmark');
  console.log(`  machine     ${cpus.length} CPUs (${cpuModel}), ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, ${os.type()} ${os.release()}`);
  console.log(`  node        ${process.version}`);
  console.log(`  postgres    ${pgInfo.version}`);
  console.log(`              ${pgInfo.settings}`);
  console.log(`  databases   ${shown(benchUrl)} (app), ${shown(pgbenchUrl)} (pgbench)`);
  if (settings.dbSettings.length) console.log(`  db settings ${settings.dbSettings.map((d) => `${d.name}=${d.value}`).join(' ')} (BENCH_DB_SETTINGS, both databases)`);
  console.log(
    `  load        ${settings.connections} connections × ${settings.seconds} s after ${settings.warmupSeconds} s warm-up, ${fmt(settings.accounts)} accounts, server pool ${settings.poolSize}`,
  );
  console.log('');

  let server: Server | undefined;
  const releaseSignals = stopServerOnSignal(() => server);

  try {
    const pgbenchRuns = await prepareDatabases(settings, BENCH_DB, PGBENCH_DB);

    server = new Server(await freePort(), benchUrl, { poolSize: settings.poolSize, adminPassword: ADMIN_PASSWORD, nodeOptions: settings.serverNodeOptions });
    await server.waitHealthy();
    log(`server up at ${server.url} (pid ${server.pid}, OPENBOSS_DB_POOL_SIZE=${settings.poolSize})`);
    const { token } = await api<{ token: string }>(server, undefined, 'POST', '/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });

    const accountIds = await seedAccounts(server, token, settings.accounts);
    const bench = new pg.Client({ connectionString: benchUrl });
    await bench.connect();
    try {
      // fresh statistics after seeding, as a production database would have
      await bench.query('VACUUM ANALYZE');
      const seedPayments = Number((await bench.query<{ n: string }>('SELECT count(*) AS n FROM payments')).rows[0]?.n ?? 0);

      let warm: LoadOutcome | undefined;
      if (settings.warmupSeconds > 0) {
        log(`warm-up ${settings.warmupSeconds} s`);
        warm = await paymentLoad(server, token, accountIds, settings.warmupSeconds, 'warm-up', false);
        log(`warm-up: ${fmt(warm.result['2xx'] / warm.result.duration)} payments/s, p99 ${warm.result.latency.p99} ms`);
      }

      const serverPid = server.pid;
      const appPg = new PgPids(settings.baseUrl, BENCH_DB);
      await appPg.start();
      const meter = new CpuMeter({ server: () => (serverPid ? [serverPid] : []), postgres: appPg.pids });
      meter.start();
      const load = await paymentLoad(server, token, accountIds, settings.seconds, 'payments', true);
      const loadCpu = meter.stop();
      await appPg.stop();
      const r = load.result;

      // requests cut off when autocannon stopped may still commit: let them finish first
      await sleep(1000);

      // ---- counts and conservation
      log('checking: SQL counts and `openboss audit conservation`');
      const created = [...(warm?.created ?? []), ...load.created];
      const unanswered = [...(warm?.unanswered ?? []), ...load.unanswered];
      const counts = (
        await bench.query<{ total: string; answered: string; cut: string; dupes: string }>(
          `SELECT count(*) AS total,
                  count(*) FILTER (WHERE idempotency_key = ANY($1::text[])) AS answered,
                  count(*) FILTER (WHERE idempotency_key = ANY($2::text[])) AS cut,
                  count(*) - count(DISTINCT (account_id, idempotency_key)) AS dupes
             FROM payments`,
          [created, unanswered],
        )
      ).rows[0];
      const total = Number(counts?.total ?? -1);
      const answered = Number(counts?.answered ?? -1);
      const cut = Number(counts?.cut ?? -1);
      const dupes = Number(counts?.dupes ?? -1);
      // every 201 is a row; every row is a 201, a seeding payment or a request cut off at the stop
      const countsOk = answered === created.length && total === seedPayments + answered + cut && dupes === 0;

      const audit = await run(process.execPath, [CLI, 'audit', 'conservation'], { ...process.env, DATABASE_URL: benchUrl, LOG_LEVEL: 'warn' });
      const differing = Number(/differing: (\d+)/.exec(audit.stdout)?.[1] ?? NaN);
      const auditOk = audit.code === 0 && differing === 0;

      await server.stop();
      const serverLogs = server.logs.trim();
      server = undefined;

      if (!settings.skipPgbench) pgbenchRuns.push(await runPgbench(settings, PGBENCH_DB, 'after'));

      // ---- the report
      const paymentsPerSec = r['2xx'] / r.duration;
      const pgbenchTps = pgbenchRuns.length ? pgbenchRuns.reduce((a, b) => a + b.tps, 0) / pgbenchRuns.length : undefined;
      const ratio = pgbenchTps ? paymentsPerSec / pgbenchTps : undefined;
      const failed = r.non2xx + r.errors + r.timeouts;
      const pass = {
        paymentsPerSec: paymentsPerSec >= TARGET_PAYMENTS_PER_SEC,
        p99: r.latency.p99 < TARGET_P99_MS,
        ratio: ratio !== undefined && ratio >= TARGET_RATIO,
        non2xx: failed === 0,
        conservation: auditOk && countsOk,
      };
      const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
      const target = (what: string, ok: boolean, value: string) => console.log(`  ${what.padEnd(26)}${mark(ok)}  ${value}`);

      console.log('');
      console.log('================ OpenBOSS payments benchmark ================');
      console.log(`machine        ${cpus.length} CPUs ${cpuModel}; node ${process.version}; ${pgVersion}`);
      console.log(`load           POST /api/v1/accounts/{id}/payments, ${settings.connections} connections, ${r.duration} s, ${fmt(settings.accounts)} accounts, pool ${settings.poolSize}`);
      console.log(`payments/s     ${fmt(paymentsPerSec, 1)}   (${fmt(r['2xx'])} × 2xx in ${r.duration} s)`);
      console.log(`latency (ms)   p50 ${r.latency.p50}   p90 ${r.latency.p90}   p99 ${r.latency.p99}   max ${r.latency.max}   mean ${r.latency.average}`);
      console.log(`non-2xx        ${r.non2xx}   errors ${r.errors}   timeouts ${r.timeouts}   status codes ${JSON.stringify(load.statuses)}${failed ? '   ← must be 0' : ''}`);
      for (const f of load.failures) console.log(`               ${f}`);
      console.log(`CPU (cores)    ${cpuLine(loadCpu)}`);
      console.log(`CPU/payment    ${cpuPerOp(loadCpu, paymentsPerSec)} (ms)`);
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
        console.log(`ratio          ${ratio?.toFixed(3)}   (payments/s ÷ pgbench TPS)`);
      } else {
        console.log('pgbench TPS    skipped (BENCH_SKIP_PGBENCH=1)');
      }
      console.log(
        `payments rows  ${fmt(total)} = ${seedPayments} seeded + ${fmt(answered)} answered 201 (warm-up + load) + ${cut} cut off at the stop (of ${unanswered.length} unanswered); duplicate keys ${dupes}   ${countsOk ? 'OK' : 'MISMATCH'}`,
      );
      console.log(`conservation   ${audit.stdout.trim().split('\n')[0] ?? ''}${audit.code === 0 ? '' : ` (exit ${audit.code})`}   ${auditOk ? 'OK' : 'FAILED'}`);
      if (!auditOk) console.log(audit.stdout.trim().split('\n').slice(1, 11).join('\n') + audit.stderr);
      if (serverLogs) console.log(`server log     ${serverLogs.split('\n').slice(-10).join('\n               ')}`);
      console.log('targets');
      target(`payments/s ≥ ${fmt(TARGET_PAYMENTS_PER_SEC)}`, pass.paymentsPerSec, fmt(paymentsPerSec, 1));
      target(`p99 < ${TARGET_P99_MS} ms`, pass.p99, `${r.latency.p99} ms`);
      target(`ratio ≥ ${TARGET_RATIO} × pgbench TPS`, pass.ratio, ratio === undefined ? 'n/a' : ratio.toFixed(3));
      target('non-2xx = 0', pass.non2xx, String(failed));
      target('conservation and counts', pass.conservation, `${differing} differing, counts ${countsOk ? 'OK' : 'MISMATCH'}`);
      console.log('=============================================================');
      console.log(
        JSON.stringify({
          bench: 'payments',
          at: new Date().toISOString(),
          cpus: cpus.length,
          cpuModel,
          node: process.version,
          postgres: pgVersion,
          accounts: settings.accounts,
          connections: settings.connections,
          seconds: r.duration,
          poolSize: settings.poolSize,
          paymentsPerSec: round(paymentsPerSec, 1),
          latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
          responses2xx: r['2xx'],
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          pgbenchTps: pgbenchTps === undefined ? null : round(pgbenchTps, 1),
          pgbenchRuns: pgbenchRuns.map((p) => round(p.tps, 1)),
          ratio: ratio === undefined ? null : round(ratio, 3),
          cpuCores: Object.fromEntries(Object.entries(loadCpu).map(([k, v]) => [k, round(v, 2)])),
          conservationDiffering: differing,
          countsOk,
          pass,
        }),
      );
      if (!pass.non2xx || !pass.conservation) process.exitCode = 1;
    } finally {
      await bench.end();
    }
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
