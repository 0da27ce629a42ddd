// Diagnostics for bench/billrun.ts (kept database, BENCH_KEEP=1): EXPLAIN (ANALYZE, BUFFERS) of the
// rating statement (usageRepo.rateFileChunk) over the first accounts of the last imported file (about
// RATE_CHUNK_RECORDS records), rolled back: their records (cdr_sets, read through usage_records) are put
// back into a pending table as the import staged them and their sets removed, usage_charges and
// usage_allowances emptied (and the pools of the chunk's accounts' other sets), then the chunk is rated.
//   DATABASE_URL=postgres://…/openboss_bench_billrun node bench/billrun-explain.ts
import { sql } from 'kysely';
import pino from 'pino';
import { createContext } from '../src/app/context.ts';
import { PENDING_COLUMNS, pendingTable, usageRepo } from '../src/domains/usage/repo.ts';
import { RATE_CHUNK_RECORDS } from '../src/domains/usage/service.ts';
import { loadConfig } from '../src/platform/config.ts';

const ctx = await createContext(loadConfig(), { log: pino({ level: 'warn' }) });
class Rollback extends Error {}
try {
  await ctx.database.db.transaction().execute(async (tx) => {
    const fileId = Number((await sql<{ f: number }>`SELECT max(file_id) AS f FROM cdr_sets`.execute(tx)).rows[0]?.f);
    const hi = Number(
      (
        await sql<{ hi: number }>`
          SELECT max(account_id) AS hi FROM (SELECT account_id, sum(records) OVER (ORDER BY account_id, subscriber_id, cycle, part) AS n FROM cdr_sets WHERE file_id = ${fileId}) x
           WHERE n <= ${RATE_CHUNK_RECORDS}`.execute(tx)
      ).rows[0]?.hi,
    );
    const t = sql.table(pendingTable(fileId));
    await usageRepo.createPending(tx, fileId);
    await sql`INSERT INTO ${t} (${sql.raw(PENDING_COLUMNS.join(', '))})
              SELECT ${sql.raw(PENDING_COLUMNS.join(', '))} FROM usage_records WHERE file_id = ${fileId} AND account_id <= ${hi}`.execute(tx);
    await sql`DELETE FROM cdr_sets WHERE file_id = ${fileId} AND account_id <= ${hi}`.execute(tx);
    await sql`DELETE FROM usage_charges`.execute(tx);
    await sql`DELETE FROM usage_allowances`.execute(tx);
    await sql`UPDATE cdr_sets SET pools = NULL WHERE account_id <= ${hi}`.execute(tx);
    await usageRepo.indexPending(tx, fileId);
    await usageRepo.rateSettings(tx);
    const started = performance.now();
    console.log(await usageRepo.explainRateFile(tx, fileId, 0, hi, new Date()));
    console.log(`file ${fileId}: accounts ≤ ${hi} in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    throw new Rollback();
  });
} catch (err) {
  if (!(err instanceof Rollback)) throw err;
} finally {
  await ctx.close();
}
