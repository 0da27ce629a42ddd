// `npm test`: the whole suite on the embedded PGlite, then, when DATABASE_URL is set, on PostgreSQL.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const vitest = ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)];
const runId = randomBytes(4).toString('hex');
const runs: { name: string; env: NodeJS.ProcessEnv }[] = [{ name: 'PGlite', env: { ...process.env, OPENBOSS_TEST_DB: 'pglite' } }];
if (process.env.DATABASE_URL) runs.push({ name: 'PostgreSQL', env: { ...process.env, OPENBOSS_TEST_DB: 'pg', OPENBOSS_TEST_RUN: runId } });
else console.log('DATABASE_URL is not set: the PostgreSQL run is skipped (set it to run the suite on PostgreSQL too)');

let failed = false;
for (const run of runs) {
  console.log(`\n=== test suite on ${run.name} ===`);
  const r = spawnSync(process.execPath, vitest, { stdio: 'inherit', env: run.env });
  if (r.status !== 0) {
    failed = true;
    console.log(`=== ${run.name}: FAILED ===`);
  }
}
process.exit(failed ? 1 : 0);
