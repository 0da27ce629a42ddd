// Diagnostics for bench/billrun.ts (kept database, BENCH_KEEP=1): EXPLAIN ANALYZE (auto_explain into the
// PostgreSQL log) of the rating statement for all subscribers, rolled back.
//   DATABASE_URL=postgres://…/openboss_bench_billrun node bench/billrun-explain.ts
import { sql } from 'kysely';
import pino from 'pino';
import { createContext } from '../src/app/context.ts';
import { usageRepo } from '../src/domains/usage/repo.ts';
import { loadConfig } from '../src/platform/config.ts';

const ctx = await createContext(loadConfig(), { log: pino({ level: 'warn' }) });
class Rollback extends Error {}
try {
  await ctx.database.db.transaction().execute(async (tx) => {
    await sql`UPDATE cdrs SET rated_at = NULL, item_code = NULL, charge_fen = NULL`.execute(tx);
    await sql`DELETE FROM usage_charges`.execute(tx);
    await sql`DELETE FROM usage_allowances`.execute(tx);
    const ids = (await usageRepo.pendingSubscribers(tx)).map((s) => s.subscriberId);
    await sql`LOAD 'auto_explain'`.execute(tx);
    await sql`SET LOCAL auto_explain.log_min_duration = 0`.execute(tx);
    await sql`SET LOCAL auto_explain.log_analyze = on`.execute(tx);
    await sql`SET LOCAL auto_explain.log_buffers = on`.execute(tx);
    const t = performance.now();
    const n = await usageRepo.rate(tx, ids, new Date());
    console.log(`rated ${n} records of ${ids.length} subscribers in ${((performance.now() - t) / 1000).toFixed(2)} s`);
    throw new Rollback();
  });
} catch (err) {
  if (!(err instanceof Rollback)) throw err;
} finally {
  await ctx.close();
}
