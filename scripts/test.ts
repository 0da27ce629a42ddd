// `npm test`: the whole suite on the embedded PGlite, then the browser tests (test/e2e, once: they
// run the server on PGlite with the demo data), then, when DATABASE_URL is set, the suite on PostgreSQL.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const args = process.argv.slice(2);
const vitest = ['node_modules/vitest/vitest.mjs', 'run', ...args];
// a file or name filter meant for the unit tests may match no browser test: that is not a failure
const e2e = ['node_modules/vitest/vitest.mjs', 'run', '--config', 'vitest.e2e.config.ts', ...args, ...(args.length ? ['--passWithNoTests'] : [])];
const runId = randomBytes(4).toString('hex');
const runs: { name: string; argv: string[]; env: NodeJS.ProcessEnv }[] = [
  { name: 'PGlite', argv: vitest, env: { ...process.env, OPENBOSS_TEST_DB: 'pglite' } },
  { name: 'the browser (E2E, PGlite)', argv: e2e, env: { ...process.env, OPENBOSS_TEST_DB: 'pglite' } },
];
if (process.env.DATABASE_URL) runs.push({ name: 'PostgreSQL', argv: vitest, env: { ...process.env, OPENBOSS_TEST_DB: 'pg', OPENBOSS_TEST_RUN: runId } });
else console.log('DATABASE_URL is not set: the PostgreSQL run is skipped (set it to run the suite on PostgreSQL too)');

let failed = false;
for (const run of runs) {
  console.log(`\n=== test suite on ${run.name} ===`);
  const r = spawnSync(process.execPath, run.argv, { stdio: 'inherit', env: run.env });
  if (r.status !== 0) {
    failed = true;
    console.log(`=== ${run.name}: FAILED ===`);
  }
}
process.exit(failed ? 1 : 0);
