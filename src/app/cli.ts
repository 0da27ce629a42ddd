#!/usr/bin/env node
// The `openboss` command: serve, migrate, demo, audit conservation, operator create, clock.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import { DEMO_CATALOG } from '../domains/catalog/demo-catalog.ts';
import type { CatalogDefinition } from '../domains/catalog/service.ts';
import { formatYuan } from '../platform/money.ts';
import { Command, Option } from 'commander';
import { checkConservation } from '../domains/accounts/conservation.ts';
import { auditStock } from '../domains/resources/stock-audit.ts';
import { type BatchView, CARD_TYPES, type ImportOptions, StockImportService } from '../domains/resources/stock-import.ts';
import { systemActor } from '../platform/audit.ts';
import { loadConfig } from '../platform/config.ts';
import { RUN_CHANNEL } from '../domains/billing/repo.ts';
import { type AppContext, createContext } from './context.ts';

const program = new Command();
program.name('openboss').description('OpenBOSS — open-source telecom BOSS').version('0.1.0');

async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = await createContext(loadConfig());
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** On an empty database the operator `admin` is created from OPENBOSS_ADMIN_PASSWORD. */
async function bootstrapAdmin(ctx: AppContext): Promise<void> {
  if (!ctx.config.adminPassword || (await ctx.operators.count()) > 0) return;
  await ctx.operators.create(systemActor('bootstrap'), { username: 'admin', name: '系统管理员', departmentId: 'HQ', roles: ['admin'], password: ctx.config.adminPassword });
  ctx.log.info('operator admin created from OPENBOSS_ADMIN_PASSWORD');
}

program
  .command('serve')
  .description('start the server (migrations are applied at start)')
  .option('--demo', 'load the demo data when the database is empty')
  .action(async (opts: { demo?: boolean }) => {
    const config = loadConfig();
    // the server and the demo data are loaded by the commands that need them: every other command
    // (a bill-run worker, an import) starts without compiling the routes
    const [{ buildServer }, { isDemoLoaded, loadDemo }] = await Promise.all([import('./server.ts'), import('./demo.ts')]);
    const ctx = await createContext(config, { startJobs: true });
    await bootstrapAdmin(ctx);
    if (opts.demo && !(await isDemoLoaded(ctx)) && (await ctx.operators.count()) <= 1) {
      await loadDemo(ctx);
    }
    const app = await buildServer(ctx);
    const stop = async () => {
      await app.close();
      await ctx.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await app.listen({ port: config.port, host: config.host });
    // R-INT-1: the outbox relay every OPENBOSS_RELAY_INTERVAL_MS (stopped by ctx.close)
    ctx.relay.start();
    ctx.log.info({ port: config.port, database: ctx.database.kind, clock: ctx.clock.kind }, `OpenBOSS listening on http://localhost:${config.port}`);
  });

program
  .command('migrate')
  .description('apply the SQL migrations and exit')
  .action(() => withContext(async () => console.log('migrations are up to date')));

program
  .command('demo')
  .description('load the demo data into an empty database')
  .action(() =>
    withContext(async (ctx) => {
      const { isDemoLoaded, loadDemo } = await import('./demo.ts');
      if (await isDemoLoaded(ctx)) {
        console.log('demo data is already loaded');
        return;
      }
      const r = await loadDemo(ctx);
      console.log(`demo loaded: ${r.customers} customers, ${r.accounts} accounts, ${r.subscribers} subscribers`);
    }),
  );

const auditCmd = program.command('audit').description('consistency checks');
auditCmd
  .command('conservation')
  .description('R-ACC-18: payments + grants − refunds − expiries = balances + write-offs, per account')
  .option('--account <ids...>', 'only these account ids')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { account?: string[]; json?: boolean }) => {
    const ids = opts.account?.map(Number);
    const report = await withContext((ctx) => checkConservation(ctx.database.db, ids));
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`accounts checked: ${report.accountsChecked}; differing: ${report.differing.length}`);
      for (const r of report.differing) console.log(JSON.stringify(r));
    }
    process.exitCode = report.differing.length > 0 ? 1 : 0;
  });

auditCmd
  .command('stock')
  .description('stock conservation: every card in exactly one place and state, its history consistent')
  .option('--json', 'print the report as JSON')
  .option('--limit <n>', 'list at most n differences', '1000')
  .action(async (opts: { json?: boolean; limit: string }) => {
    const report = await withContext((ctx) => auditStock(ctx.database.db, { limit: Number(opts.limit) || 1000 }));
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`cards checked: ${report.cards}; history rows: ${report.events}; differences: ${report.differences.length}${report.truncated ? '+' : ''}`);
      for (const d of report.differences) console.log(`${d.iccid} ${d.problem} ${d.detail}`);
    }
    process.exitCode = report.differences.length > 0 ? 1 : 0;
  });

/** A file import with a progress bar over the file's bytes; exit 1 when some rows were refused. */
async function importFile(file: string, json: boolean | undefined, go: (imports: StockImportService, source: NodeJS.ReadableStream, o: ImportOptions) => Promise<BatchView>): Promise<void> {
  const size = statSync(file).size;
  const bar = new cliProgress.SingleBar(
    { format: ' {bar} {percentage}% | {rows} rows, {imported} imported, {failed} refused | {duration_formatted}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(size, 1), 0, { rows: 0, imported: 0, failed: 0 });
  let batch: BatchView;
  try {
    batch = await withContext((ctx) =>
      go(new StockImportService({ db: ctx.database.db, clock: ctx.clock, kiBox: ctx.kiBox, chunksInFlight: ctx.database.kind === 'pg' ? 2 : 1 }), createReadStream(file, { highWaterMark: 256 * 1024 }), {
        fileName: basename(file),
        onProgress: (p) => bar.update(p.bytes, { rows: p.rows, imported: p.imported, failed: p.failed }),
      }),
    );
    bar.update(Math.max(size, 1));
  } finally {
    bar.stop();
  }
  if (json) console.log(JSON.stringify(batch, null, 2));
  else {
    console.log(`batch ${batch.batchId} (${batch.kind}, ${batch.fileName}): ${batch.rowsTotal} rows, ${batch.rowsImported} imported, ${batch.rowsFailed} refused`);
    for (const e of batch.errors.slice(0, 50)) console.log(`line ${e.line} ${e.iccid} ${e.code} ${e.reason.zh} / ${e.reason.en}`);
    if (batch.rowsFailed > 50) console.log(`… ${batch.rowsFailed - 50} more (openboss stock import-… --json, or GET /api/v1/stock/imports/${batch.batchId})`);
  }
  process.exitCode = batch.rowsFailed > 0 ? 1 : 0;
}

const stockCmd = program.command('stock').description('SIM stock (号卡库存): card files and card data files');
stockCmd
  .command('import-cards <file>')
  .description('import a card file (one ICCID per line; finished cards ICCID,IMSI) into a warehouse; exit 1 when rows were refused')
  .requiredOption('--warehouse <code>', 'target warehouse, e.g. 130041')
  .addOption(new Option('--type <cardType>', 'card type').choices(CARD_TYPES).makeOptionMandatory())
  .option('--json', 'print the batch as JSON')
  .action((file: string, o: { warehouse: string; type: (typeof CARD_TYPES)[number]; json?: boolean }) =>
    importFile(file, o.json, (imports, source, opts) => imports.importCards(systemActor('cli'), source as AsyncIterable<Buffer>, { ...opts, warehouseCode: o.warehouse, cardType: o.type })),
  );
stockCmd
  .command('import-card-data <file>')
  .description('import a card data file (iccid,imsi,ki[,opc]); Ki/OPc are stored encrypted; exit 1 when rows were refused')
  .option('--json', 'print the batch as JSON')
  .action((file: string, o: { json?: boolean }) => importFile(file, o.json, (imports, source, opts) => imports.importCardData(systemActor('cli'), source as AsyncIterable<Buffer>, opts)));

const usageCmd = program.command('usage').description('usage (话单): CDR files and rating (R-BIL-1..3)');
usageCmd
  .command('import <file>')
  .description('import a CDR file (CSV: record_id,service_number,other_party,start_time,usage,scope,quantity,area) and rate it; exit 1 when rows were rejected')
  .option('--errors <file>', 'where the error CSV goes (default: <file>.errors.csv)')
  .option('--force', 'import a file imported before (e.g. after its unknown numbers were set up); record ids still count once')
  .option('--spill-dir <dir>', "where the matched records wait on disk until rated (default: OPENBOSS_SPILL_DIR, else the OS's temporary directory); about twice the file's size")
  .option('--json', 'print the result as JSON')
  .action(async (file: string, o: { errors?: string; force?: boolean; spillDir?: string; json?: boolean }) => {
    const size = Math.max(statSync(file).size, 1);
    const bar = new cliProgress.SingleBar(
      { format: ' {bar} {percentage}% | {rows} rows, {accepted} accepted, {rejected} rejected, {duplicate} duplicate | {duration_formatted}', stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(size, 0, { rows: 0, accepted: 0, rejected: 0, duplicate: 0 });
    let r: Awaited<ReturnType<AppContext['usage']['importFile']>>;
    try {
      r = await withContext((ctx) =>
        ctx.usage.importFile(systemActor('cli'), file, {
          fileName: basename(file),
          errorsPath: o.errors,
          force: o.force,
          ...(o.spillDir ? { spillDir: o.spillDir } : {}),
          onProgress: (p) => bar.update(Math.min(p.bytes, size), { rows: p.rows, accepted: p.accepted, rejected: p.rejected, duplicate: p.duplicate }),
        }),
      );
      bar.update(size);
    } finally {
      bar.stop();
    }
    if (o.json) console.log(JSON.stringify(r, null, 2));
    else if (r.status === 'duplicate_file') console.log(`file already imported as file ${r.duplicateOfFileId} (sha256 ${r.sha256}); nothing changed`);
    else {
      console.log(`file ${r.fileId} (${r.fileName}): ${r.rowsTotal} rows, ${r.accepted} accepted, ${r.rejected} rejected, ${r.duplicate} duplicate; ${r.rated} rated`);
      if (r.errorsPath) console.log(`errors: ${r.errorsPath}`);
    }
    process.exitCode = r.rejected > 0 ? 1 : 0;
  });

const jobsCmd = program.command('jobs').description('background jobs (they run on their own inside `serve`)');
jobsCmd
  .command('list')
  .description('the jobs and their schedules')
  .action(() => withContext(async (ctx) => console.log(JSON.stringify(ctx.jobs.list(), null, 2))));
jobsCmd
  .command('run <name>')
  .description('run a job now in this process, e.g. release-expired-numbers')
  .action((name: string) =>
    withContext(async (ctx) => {
      console.log(JSON.stringify(await ctx.jobs.runNow(name)));
    }),
  );

const creditCmd = program.command('credit').description('credit control (信控): reminders, arrears stops, resumptions (R-CC-1..4)');
creditCmd
  .command('run')
  .description('run credit control now: every account, or only the given ones (--account 12 --account 13)')
  .option('--account <id>', 'an account id (repeatable)', (v: string, acc: number[]) => [...acc, Number(v)], [] as number[])
  .action((o: { account: number[] }) =>
    withContext(async (ctx) => {
      if (o.account.some((id) => !Number.isInteger(id) || id < 1)) throw new Error('--account takes a positive account id');
      console.log(JSON.stringify(o.account.length ? await ctx.credit.evaluateAccounts(o.account) : (await ctx.jobs.runNow('credit-control')).result));
    }),
  );

const outboxCmd = program.command('outbox').description('outbox relay (事件投递, R-INT-1): webhooks, NATS JetStream, the SMS adapter');
outboxCmd
  .command('relay')
  .description('deliver what is due now (one catch-up run); --follow keeps relaying until Ctrl-C')
  .option('--follow', 'keep relaying (every OPENBOSS_RELAY_INTERVAL_MS, default 2000)')
  .action((o: { follow?: boolean }) =>
    withContext(async (ctx) => {
      if (ctx.relay.sinks.length === 0) console.error('no sink configured (OPENBOSS_WEBHOOK_URL, NATS_URL): nothing to deliver to');
      console.log(JSON.stringify(await ctx.relay.drain()));
      if (!o.follow) return;
      ctx.relay.start(ctx.config.relay.intervalMs || 2000);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }),
  );
outboxCmd
  .command('stats')
  .description('pending, delivered and dead per sink; the oldest pending event')
  .action(() => withContext(async (ctx) => console.log(JSON.stringify(await ctx.relay.stats(), null, 2))));

const catalogCmd = program.command('catalog').description('product catalog (产品目录)');
catalogCmd
  .command('import [file]')
  .description('load or update a catalog definition (JSON: brands, fees, offers, parameters); without a file, the shipped demo catalog')
  .action((file?: string) =>
    withContext(async (ctx) => {
      const def = file ? (JSON.parse(readFileSync(file, 'utf8')) as CatalogDefinition) : DEMO_CATALOG;
      const r = await ctx.catalog.importCatalog(def);
      console.log(`offers: ${r.offers}; fees: ${r.fees}`);
    }),
  );
catalogCmd
  .command('list')
  .option('--all', 'expired offers too')
  .description('offers with their monthly fees and status')
  .action((o: { all?: boolean }) =>
    withContext(async (ctx) => {
      for (const x of await ctx.catalog.list({ status: o.all ? 'all' : 'online' })) {
        console.log(`${x.offerCode.padEnd(16)} ${x.kind.padEnd(8)} ${x.status.padEnd(8)} ${formatYuan(x.monthlyFeeFen).padStart(8)}  ${x.name.zh}`);
      }
    }),
  );

const operatorCmd = program.command('operator').description('operators (工号)');
operatorCmd
  .command('create')
  .description('create an operator, e.g. the first admin of a new PostgreSQL database')
  .requiredOption('--username <name>')
  .option('--name <name>', 'display name', '系统管理员')
  .option('--department <id>', 'department id', 'HQ')
  .option('--roles <roles...>', 'role codes', ['admin'])
  .addOption(new Option('--password <password>', 'password (or OPENBOSS_NEW_PASSWORD)').env('OPENBOSS_NEW_PASSWORD'))
  .action(async (opts: { username: string; name: string; department: string; roles: string[]; password?: string }) => {
    if (!opts.password) throw new Error('give --password or OPENBOSS_NEW_PASSWORD');
    const op = await withContext((ctx) =>
      ctx.operators.create(systemActor('cli'), { username: opts.username, name: opts.name, departmentId: opts.department, roles: opts.roles, password: opts.password as string }),
    );
    console.log(`operator created: ${op.username} (#${op.operatorId}) in ${op.departmentId}, roles ${op.roles.join(',')}`);
  });

const clockCmd = program
  .command('clock')
  .description('show or set the simulated business clock of a running server')
  .option('--server <url>', 'server URL', process.env.OPENBOSS_URL ?? 'http://localhost:8080')
  .option('--username <name>', 'operator', 'admin')
  .addOption(new Option('--password <password>', 'password').env('OPENBOSS_PASSWORD'));

async function clockCall(body?: Record<string, unknown>, path = '', show: (out: Record<string, unknown>) => string = (o) => JSON.stringify(o)): Promise<void> {
  const o = clockCmd.opts<{ server: string; username: string; password?: string }>();
  const login = await fetch(`${o.server}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: o.username, password: o.password ?? '' }),
  });
  const auth = (await login.json()) as { token?: string; detail?: string };
  if (!auth.token) throw new Error(`login failed: ${auth.detail ?? login.status}`);
  const res = await fetch(`${o.server}/api/v1/admin/clock${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${auth.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const out = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(String(out.detail ?? res.status));
  console.log(show(out));
}
clockCmd.command('show').action(() => clockCall());
clockCmd
  .command('set <instant>')
  .description('e.g. 2026-12-01T00:00:00+08:00')
  .option('--frozen', 'stop the clock at that instant')
  .action((instant: string, o: { frozen?: boolean }) => clockCall({ now: instant, ...(o.frozen ? { frozen: true } : {}) }));
clockCmd
  .command('advance [duration]')
  .description('move forward, running every scheduled job for each day passed: e.g. 30d, 12h, or --to 2027-06-01')
  .option('--to <date>', 'target date (midnight Asia/Shanghai) or ISO instant')
  .action(async (d: string | undefined, o: { to?: string }) => {
    if (o.to !== undefined) return clockCall({ to: o.to }, '/travel', summariseTravel);
    const m = /^(\d+)([dhms])$/.exec(d ?? '');
    if (!m) throw new Error('duration like 30d, 12h, 90m or 3600s, or --to 2027-06-01');
    const mult = { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
    return clockCall({ advanceSeconds: Number(m[1]) * mult }, '/travel', summariseTravel);
  });

/** One line per job with its run count, instead of every run. */
function summariseTravel(out: Record<string, unknown>): string {
  const runs = (out.runs as { job: string }[] | undefined) ?? [];
  const perJob = new Map<string, number>();
  for (const r of runs) perJob.set(r.job, (perJob.get(r.job) ?? 0) + 1);
  const jobs = [...perJob].map(([j, n]) => `  ${j}: ${n} run(s)`).join('\n');
  return `clock ${String(out.from)} → ${String(out.now)}: ${String(out.days)} day(s), ${runs.length} job run(s)${jobs ? `\n${jobs}` : ''}`;
}

// ---- bundle grants (捆绑优惠添加, R-BND-7..9) ----
const bundlesCmd = program.command('bundles').description('bundles (捆绑业务): the monthly grants (R-BND-7..9)');
bundlesCmd
  .command('grant <cycle>')
  .description('give the month\'s bundle grants now (the job does it at 06:00 on the 1st); running it again changes nothing')
  .option('--chunk <n>', 'bundles per transaction', '10000')
  .option('--workers <n>', 'chunks worked at once', '2')
  .action((cycle: string, o: { chunk: string; workers: string }) =>
    withContext(async (ctx) => {
      if (!/^\d{4}-\d{2}$/.test(cycle)) throw new Error('bundles grant <YYYY-MM>');
      const total = await ctx.bundleGrants.pending(cycle);
      const bar = new cliProgress.SingleBar(
        { format: 'bundle grants {cycle} |{bar}| {value}/{total} bundles | {granted} granted, {skipped} skipped | ETA {eta_formatted}', stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { cycle, granted: 0, skipped: 0 });
      let r: Awaited<ReturnType<AppContext['bundleGrants']['runMonth']>>;
      try {
        r = await ctx.bundleGrants.runMonth(systemActor('cli-bundle-grants'), cycle, {
          chunkSize: Math.max(1, Number(o.chunk) || 10000),
          workers: ctx.database.raw.kind === 'pg' ? Math.max(1, Number(o.workers) || 1) : 1,
          onChunk: (p) => bar.update(p.done, { granted: p.granted, skipped: p.skipped }),
        });
      } finally {
        bar.stop();
      }
      console.log(`bundle grants ${r.cycle}: ${r.bundles} bundles, ${r.granted} granted (${formatYuan(r.amountFen)} yuan, ${r.packs} packs, ${r.familyNumbers} family numbers), ${r.skipped} skipped`);
      const report = await ctx.bundleGrants.report(cycle, { limit: 1, offset: 0 });
      for (const x of report.byReason) console.log(`  skipped ${x.reason.padEnd(20)} ${x.count}`);
    }),
  );

// ---- the bill run (出账, R-BIL-5..9) ----
program
  .command('billrun <cycleOrWorker>')
  .description('`billrun 2026-11 [--workers N] [--publish]` starts or resumes the bill run of a cycle and works it with a progress bar; `billrun worker` only works chunks of open runs until stopped (safe to kill -9: an unfinished chunk is rolled back and done again)')
  .option('--workers <n>', 'chunks worked at once by this process', '2')
  .option('--publish', 'publish the pre-bills when billing is done (正式出帐)')
  .option('--chunk-accounts <n>', 'accounts per chunk of a new run (default: business parameter billrun_chunk_accounts)')
  .action((target: string, o: { workers: string; publish?: boolean; chunkAccounts?: string }) =>
    withContext(async (ctx) => {
      const actor = systemActor('cli-billrun');
      const workers = Math.max(1, Number(o.workers) || 1);
      if (target === 'worker') return billrunWorker(ctx, workers);
      if (!/^\d{4}-\d{2}$/.test(target)) throw new Error('billrun <YYYY-MM> or billrun worker');
      const bar = new cliProgress.SingleBar(
        { format: 'bill run {cycle} {phase} |{bar}| {value}/{total} accounts | {rate}/s | ETA {eta_formatted}', etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      const first = await ctx.billing.start(actor, target, { workers: 0, ...(o.chunkAccounts ? { chunkAccounts: Number(o.chunkAccounts) } : {}) });
      let started = false;
      const tick = async () => {
        const v = await ctx.billing.view(first.run_id, { totals: false });
        if (!started) {
          bar.start(v.progress.accountsTotal, v.progress.accountsDone, { cycle: v.cycle, phase: v.phase, rate: v.progress.ratePerSecond });
          started = true;
        } else bar.update(v.progress.accountsDone, { phase: v.phase, rate: v.progress.ratePerSecond });
      };
      await tick();
      const timer = setInterval(() => void tick().catch(() => undefined), 500);
      let v: Awaited<ReturnType<typeof ctx.billing.view>>;
      try {
        v = await ctx.billing.run(actor, target, { workers, publish: o.publish === true });
      } finally {
        clearInterval(timer);
        await tick().catch(() => undefined);
        bar.stop();
      }
      console.log(`bill run ${v.cycle} (#${v.runId}): ${v.state}, ${v.progress.accountsDone}/${v.progress.accountsTotal} accounts, ${v.lines} lines, ${formatYuan(v.totalFen)} yuan`);
      for (const t of v.totalsByItem) console.log(`  ${t.item.padEnd(12)} ${formatYuan(t.amountFen).padStart(14)}  ${t.lines} lines`);
      for (const e of v.errors) console.log(`  chunk ${e.chunkNo}: ${e.error} (attempts ${e.attempts})`);
      if (v.state === 'failed') process.exitCode = 1;
    }),
  );

/**
 * Works the chunks of every open run (billing or publishing) until SIGINT/SIGTERM. On PostgreSQL it
 * LISTENs for runs announced by any process (a new run, a publish) and starts at once; it also looks
 * every 2 s (PGlite, or a notification lost with its connection).
 */
async function billrunWorker(ctx: AppContext, workers: number): Promise<void> {
  let stopping = false;
  let announced = false;
  let wake: (() => void) | undefined;
  const nudge = () => {
    announced = true;
    wake?.();
  };
  const stop = () => {
    stopping = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const raw = ctx.database.raw;
  const listener = raw.kind === 'pg' ? await raw.pool.connect() : undefined;
  if (listener) {
    listener.on('notification', (n) => n.channel === RUN_CHANNEL && nudge());
    await listener.query(`LISTEN ${RUN_CHANNEL}`);
  }
  console.log(`bill-run worker ${process.pid}: ${workers} chunk(s) at a time; stop with Ctrl-C`);
  try {
    while (!stopping) {
      announced = false;
      const open = await ctx.billing.openRuns();
      for (const r of open) {
        const results = await Promise.all(
          Array.from({ length: workers }, (_, i) =>
            ctx.billing.work(r.runId, r.phase, { worker: `${process.pid}:${i}`, onChunk: (c) => console.log(`run #${r.runId} ${r.phase}: chunk ${c.chunk_no} done`) }),
          ),
        );
        const n = results.reduce((s, x) => s + x.chunks, 0);
        if (n) console.log(`run #${r.runId} ${r.phase}: ${n} chunk(s) done, state ${results[0]?.state ?? '?'}`);
      }
      if (stopping || announced) continue;
      await new Promise<void>((res) => {
        const timer = setTimeout(res, 2000);
        wake = () => {
          clearTimeout(timer);
          res();
        };
      });
      wake = undefined;
    }
  } finally {
    if (listener) {
      await listener.query(`UNLISTEN ${RUN_CHANNEL}`).catch(() => undefined);
      listener.release();
    }
  }
}

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
