// One stage of bench/billrun.ts in its own process, so that each stage's peak RSS is its own. Used
// when the CLI has no such command (`openboss usage import`, `openboss billrun …`); it calls the same
// public functions the CLI does (ctx.usage.importFile, ctx.billing.start / work / publish) and prints
// one line `BENCH_RESULT {json}` with its timings and process.resourceUsage().maxRSS.
//
//   node bench/billrun-child.ts import FILE
//   node bench/billrun-child.ts start CYCLE
//   node bench/billrun-child.ts work RUN_ID bill|publish
//   node bench/billrun-child.ts publish RUN_ID WORKERS
//
// The database comes from the environment like the CLI's (DATABASE_URL, else PGlite in OPENBOSS_DATA_DIR).
import pino from 'pino';
import { createContext } from '../src/app/context.ts';
import { accountRepo } from '../src/domains/accounts/repo.ts';
import { moneyRepo } from '../src/domains/accounts/money-repo.ts';
import { billingRepo } from '../src/domains/billing/repo.ts';
import { creditRepo } from '../src/domains/credit/repo.ts';
import { usageRepo } from '../src/domains/usage/repo.ts';
import { systemActor } from '../src/platform/audit.ts';
import { loadConfig } from '../src/platform/config.ts';

const [cmd, arg1, arg2] = process.argv.slice(2);

// Where the time goes: every function of the areas' repositories (their SQL) and a few service
// steps is wrapped to sum its time and calls. Calls that overlap (workers in one process) add up.
const spent = new Map<string, { ms: number; calls: number }>();
function instrument(prefix: string, obj: object, names?: string[]): void {
  const target = obj as Record<string, unknown>;
  for (const name of names ?? Object.keys(target)) {
    const fn = target[name];
    if (typeof fn !== 'function') continue;
    const key = `${prefix}.${name}`;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const t = performance.now();
      const done = () => {
        const e = spent.get(key) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t;
        e.calls++;
        spent.set(key, e);
      };
      const r = (fn as (...a: unknown[]) => unknown).apply(this, args);
      if (r instanceof Promise) return r.finally(done);
      done();
      return r;
    };
  }
}
for (const [name, repo] of Object.entries({ usageRepo, billingRepo, creditRepo, moneyRepo, accountRepo })) instrument(name, repo);
const actor = systemActor('bench-billrun');
const t0 = performance.now();
const ctx = await createContext(loadConfig(), { log: pino({ level: 'warn' }) });
const openedSeconds = (performance.now() - t0) / 1000;
instrument('credit', ctx.credit, ['evaluateAccounts']);
instrument('money', ctx.money, ['settle']);
const out: Record<string, unknown> = { cmd, openedSeconds };
try {
  if (cmd === 'import' && arg1) {
    // importFile stages the whole file, then rates it bucket by bucket (in its worker threads when it has them,
    // where this process's wrappers do not reach): onStaged splits the two
    let rateStarted = 0;
    const started = performance.now();
    let lastLog = started;
    const r = await ctx.usage.importFile(actor, arg1, {
      onStaged: () => (rateStarted = performance.now()),
      onProgress: (p) => {
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          console.error(`[child] import: ${p.rows} rows, ${p.accepted} accepted (${Math.round(p.rows / ((lastLog - started) / 1000))}/s)`);
        }
      },
    });
    const total = (performance.now() - started) / 1000;
    Object.assign(out, {
      status: r.status,
      rowsTotal: r.rowsTotal,
      accepted: r.accepted,
      rejected: r.rejected,
      duplicate: r.duplicate,
      rated: r.rated,
      firstErrors: r.errors.slice(0, 5),
      importSeconds: rateStarted ? (rateStarted - started) / 1000 : total,
      rateSeconds: rateStarted ? total - (rateStarted - started) / 1000 : 0,
      totalSeconds: total,
    });
  } else if (cmd === 'start' && arg1) {
    const started = performance.now();
    const run = await ctx.billing.start(actor, arg1, { workers: 0 });
    Object.assign(out, { runId: run.run_id, state: run.state, chunks: run.chunks_total, accounts: Number(run.accounts_total), totalSeconds: (performance.now() - started) / 1000 });
  } else if (cmd === 'work' && arg1 && (arg2 === 'bill' || arg2 === 'publish')) {
    const started = performance.now();
    const r = await ctx.billing.work(Number(arg1), arg2);
    Object.assign(out, r, { totalSeconds: (performance.now() - started) / 1000 });
  } else if (cmd === 'publish' && arg1) {
    const started = performance.now();
    const v = await ctx.billing.publish(actor, Number(arg1), { workers: Math.max(1, Number(arg2 ?? 1)) });
    Object.assign(out, { state: v.state, errors: v.errors.slice(0, 5), totalSeconds: (performance.now() - started) / 1000 });
  } else {
    throw new Error(`usage: billrun-child.ts import FILE | start CYCLE | work RUN_ID bill|publish | publish RUN_ID WORKERS (got ${process.argv.slice(2).join(' ')})`);
  }
} finally {
  await ctx.close();
}
out.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
out.spent = [...spent.entries()]
  .sort((a, b) => b[1].ms - a[1].ms)
  .slice(0, Number(process.env.BENCH_SPENT_TOP ?? 12))
  .map(([k, v]) => ({ fn: k, seconds: Math.round(v.ms) / 1000, calls: v.calls }));
console.log(`BENCH_RESULT ${JSON.stringify(out)}`);
