// Issue 4 acceptance (R-BIL-6): a bill-run worker process killed with SIGKILL half-way; the run is
// finished afterwards with the same totals an uninterrupted run gives, nothing billed twice, R-ACC-18
// holding. On PostgreSQL the test process watches the run while the worker works; on PGlite the worker
// holds the embedded database alone (one process), so the test watches its output instead.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, expect, test } from 'vitest';
import { type AppContext, createContext } from '../src/app/context.ts';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { SimulatedClock } from '../src/platform/clock.ts';
import { loadConfig } from '../src/platform/config.ts';
import { actorOf, customerWithAccount, onPostgres, seedOrganisation, system, testEnv, type TestEnv } from './helpers.ts';

const CYCLE = '2026-11';
const ACCOUNTS = 120;
const CHUNK = 4; // 30 chunks
const NOW = new Date('2026-12-02T10:00:00+08:00');
const rentOf = (i: number) => (i % 3 === 0 ? 4600 : 1800);

let env: TestEnv | undefined;
let dataDir: string | undefined;
let child: ChildProcess | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  await env?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function embedded(dir: string): Promise<AppContext> {
  const config = { ...loadConfig({}), databaseUrl: undefined, dataDir: dir, logLevel: 'silent', clock: 'simulated' as const };
  return createContext(config, { clock: new SimulatedClock(NOW, { frozen: true }), log: pino({ level: 'silent' }), db: { dataDir: dir } });
}

async function seed(ctx: AppContext): Promise<void> {
  const db = ctx.database.db;
  await sql`INSERT INTO offers (offer_code, kind, name_zh, name_en, network, valid_from, created_at, updated_at)
            VALUES ('K-18', 'plan', 'K-18', 'K-18', 'wcdma3g', '2020-01-01', now(), now()), ('K-46', 'plan', 'K-46', 'K-46', 'wcdma3g', '2020-01-01', now(), now())`.execute(db);
  await sql`INSERT INTO offer_charges (offer_code, seq, kind, item_code, amount_fen) VALUES ('K-18', 1, 'recurring', 'RENT_PLAN', 1800), ('K-46', 1, 'recurring', 'RENT_PLAN', 4600)`.execute(db);
  for (let i = 0; i < ACCOUNTS; i++) {
    const a = await customerWithAccount(ctx, 'monthly', 5000 + i);
    await sql`INSERT INTO subscriber_offers (subscriber_id, offer_code, kind, started_at) VALUES (${a.subscriberId}, ${rentOf(i) === 4600 ? 'K-46' : 'K-18'}, 'plan', '2026-10-01T00:00:00+08:00')`.execute(db);
  }
  // the business clock the worker process restores (OPENBOSS_CLOCK=simulated)
  await ctx.clockService.set(system, { now: NOW.toISOString(), frozen: true });
  await ctx.billing.start(await actorOf(ctx, 'accounting'), CYCLE, { workers: 0, chunkAccounts: CHUNK });
}

/** Starts `openboss billrun worker` and resolves once it has reported `chunks` finished chunks. */
function workerUntil(envVars: NodeJS.ProcessEnv, chunks: number): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['src/app/cli.ts', 'billrun', 'worker', '--workers', '1'], { env: { ...process.env, ...envVars, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child = p;
  let seen = 0;
  let err = '';
  return new Promise((resolve, reject) => {
    p.stdout?.on('data', (b: Buffer) => {
      if (process.env.DEBUG_KILL) console.log('child:', b.toString());
      seen += (b.toString().match(/chunk \d+ done/g) ?? []).length;
      if (seen >= chunks) resolve(p);
    });
    p.stderr?.on('data', (b: Buffer) => {
      if (process.env.DEBUG_KILL) console.log('child err:', b.toString());
      err += b.toString();
    });
    p.on('exit', (code) => reject(new Error(`worker exited (${code}) after ${seen} chunks: ${err}`)));
  });
}

async function killed(p: ChildProcess): Promise<void> {
  p.removeAllListeners('exit'); // the exit is ours now, not a failure
  const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGKILL');
  await gone;
}

test(`R-BIL-6 a bill-run worker killed with SIGKILL half-way on ${onPostgres ? 'PostgreSQL' : 'PGlite'}: resumed, the totals equal an uninterrupted run, nothing billed twice`, async () => {
  let ctx: AppContext | undefined;
  let vars: NodeJS.ProcessEnv;
  if (onPostgres) {
    env = await testEnv();
    ctx = env.ctx;
    const raw = ctx.database.raw;
    if (raw.kind !== 'pg') throw new Error('expected PostgreSQL');
    await seed(ctx);
    vars = { DATABASE_URL: raw.connectionString, OPENBOSS_CLOCK: 'simulated' };
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'openboss-kill-'));
    const first = await embedded(dataDir);
    await seedOrganisation(first);
    await seed(first);
    await first.close(); // the worker process takes the embedded database
    vars = { DATABASE_URL: '', OPENBOSS_DATA_DIR: dataDir, OPENBOSS_CLOCK: 'simulated' };
  }

  if (process.env.DEBUG_KILL) console.log('seeded', new Date().toISOString());
  const p = await workerUntil(vars, 3);
  if (onPostgres) {
    // SIGKILL while the worker is inside a chunk's transaction (another chunk has been claimed)
    await killed(p);
  } else {
    await killed(p);
    ctx = await embedded(dataDir as string); // takes over the dead process's lock
  }
  if (!ctx) throw new Error('no context');
  const db = ctx.database.db;
  const chunks = await db.selectFrom('bill_run_chunks').select(['state']).execute();
  const done = chunks.filter((c) => c.state === 'done').length;
  expect(chunks).toHaveLength(ACCOUNTS / CHUNK);
  expect(done).toBeGreaterThanOrEqual(3);
  expect(done).toBeLessThan(chunks.length); // killed half-way

  // resume: the same command finishes the run and publishes it
  const accounting = await actorOf(ctx, 'accounting');
  await ctx.billing.run(accounting, CYCLE, { publish: true });
  const expected = Array.from({ length: ACCOUNTS }, (_, i) => rentOf(i)).reduce((s, x) => s + x, 0);
  const totals = await sql<{ bills: number; lines: number; total: number; charges: number }>`
    SELECT (SELECT count(*)::int FROM bills WHERE cycle = ${CYCLE} AND status = 'published') AS bills,
           (SELECT count(*)::int FROM bill_lines WHERE cycle = ${CYCLE}) AS lines,
           (SELECT coalesce(sum(amount_fen), 0)::bigint FROM bill_lines WHERE cycle = ${CYCLE}) AS total,
           (SELECT count(*)::int FROM recurring_charges WHERE cycle = ${CYCLE}) AS charges`.execute(db);
  expect(totals.rows[0]).toEqual({ bills: ACCOUNTS, lines: ACCOUNTS, total: expected, charges: ACCOUNTS });
  const run = await ctx.billing.view((await db.selectFrom('bill_runs').select('run_id').where('cycle', '=', CYCLE).executeTakeFirstOrThrow()).run_id);
  expect(run.state).toBe('published');
  expect(run.totalFen).toBe(expected);
  expect((await checkConservation(db)).differing).toEqual([]);
  if (!onPostgres) await ctx.close();
}, 300_000);
