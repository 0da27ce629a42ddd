// For the PostgreSQL run: one migrated template database; each test file clones it.
import pg from 'pg';
import { openDatabase } from '../src/platform/db.ts';
import { migrate } from '../src/platform/migrate.ts';

export const TEMPLATE_DB = 'openboss_test_template';

export function databaseUrlFor(name: string): string {
  const u = new URL(process.env.DATABASE_URL as string);
  u.pathname = `/${name}`;
  return u.toString();
}

export default async function setup(): Promise<void> {
  if (process.env.OPENBOSS_TEST_DB !== 'pg') return;
  if (!process.env.DATABASE_URL) throw new Error('OPENBOSS_TEST_DB=pg needs DATABASE_URL');
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    // drop clones left by an earlier, interrupted run
    const old = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'openboss_t_%' OR datname = $1", [TEMPLATE_DB]);
    for (const r of old.rows) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const database = await openDatabase({ databaseUrl: databaseUrlFor(TEMPLATE_DB), poolSize: 1 });
  await migrate(database);
  await database.close();
}
