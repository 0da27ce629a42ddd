// For the PostgreSQL run: one migrated template database; each test file clones it.
import pg from 'pg';
import { openDatabase } from '../src/platform/db.ts';
import { migrate } from '../src/platform/migrate.ts';

/** One template per test run (scripts/test.ts sets the run id), so parallel runs never touch each other. */
export const RUN_ID = process.env.OPENBOSS_TEST_RUN ?? 'local';
export const TEMPLATE_DB = `openboss_tpl_${RUN_ID}`;
export const CLONE_PREFIX = `openboss_t_${RUN_ID}_`;

export function databaseUrlFor(name: string): string {
  const u = new URL(process.env.DATABASE_URL as string);
  u.pathname = `/${name}`;
  return u.toString();
}

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.OPENBOSS_TEST_DB !== 'pg') return async () => undefined;
  if (!process.env.DATABASE_URL) throw new Error('OPENBOSS_TEST_DB=pg needs DATABASE_URL');
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const database = await openDatabase({ databaseUrl: databaseUrlFor(TEMPLATE_DB), poolSize: 2 }); // migrate() holds one connection (advisory lock) and runs each file on another
  await migrate(database);
  await database.close();
  return async () => {
    const a = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await a.connect();
    try {
      const left = await a.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)', [TEMPLATE_DB, CLONE_PREFIX]);
      for (const r of left.rows) await a.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    } finally {
      await a.end();
    }
  };
}
