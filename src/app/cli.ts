#!/usr/bin/env node
// The `openboss` command: serve, migrate, demo, audit conservation, operator create, clock.
import { readFileSync } from 'node:fs';
import { DEMO_CATALOG } from '../domains/catalog/demo-catalog.ts';
import type { CatalogDefinition } from '../domains/catalog/service.ts';
import { formatYuan } from '../platform/money.ts';
import { Command, Option } from 'commander';
import { checkConservation } from '../domains/accounts/conservation.ts';
import { systemActor } from '../platform/audit.ts';
import { loadConfig } from '../platform/config.ts';
import { type AppContext, createContext } from './context.ts';
import { isDemoLoaded, loadDemo } from './demo.ts';
import { buildServer } from './server.ts';

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

async function clockCall(body?: Record<string, unknown>): Promise<void> {
  const o = clockCmd.opts<{ server: string; username: string; password?: string }>();
  const login = await fetch(`${o.server}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: o.username, password: o.password ?? '' }),
  });
  const auth = (await login.json()) as { token?: string; detail?: string };
  if (!auth.token) throw new Error(`login failed: ${auth.detail ?? login.status}`);
  const res = await fetch(`${o.server}/api/v1/admin/clock`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${auth.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const out = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(String(out.detail ?? res.status));
  console.log(JSON.stringify(out));
}
clockCmd.command('show').action(() => clockCall());
clockCmd
  .command('set <instant>')
  .description('e.g. 2026-12-01T00:00:00+08:00')
  .option('--frozen', 'stop the clock at that instant')
  .action((instant: string, o: { frozen?: boolean }) => clockCall({ now: instant, ...(o.frozen ? { frozen: true } : {}) }));
clockCmd
  .command('advance <duration>')
  .description('e.g. 30d, 12h, 90m, 3600s')
  .action((d: string) => {
    const m = /^(\d+)([dhms])$/.exec(d);
    if (!m) throw new Error('duration like 30d, 12h, 90m or 3600s');
    const mult = { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
    return clockCall({ advanceSeconds: Number(m[1]) * mult });
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
