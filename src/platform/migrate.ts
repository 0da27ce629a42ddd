import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Database } from './db.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const LOCK_KEY = 7_412_001; // any constant: serialises concurrent starts on one database

export interface MigrationFile {
  version: string;
  text: string;
  checksum: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return { version: f.replace(/\.sql$/, ''), text, checksum: createHash('sha256').update(text).digest('hex') };
    });
}

/** Applies the plain SQL migrations not yet applied, each in its own transaction. Returns the versions applied. */
export async function migrate(database: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = readMigrations(dir);
  await database.execScript(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: string[] = [];
  await database.db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${LOCK_KEY})`.execute(conn);
    try {
      const done = new Map(
        (await conn.selectFrom('schema_migrations').select(['version', 'checksum']).execute()).map((r) => [r.version, r.checksum]),
      );
      for (const f of files) {
        const known = done.get(f.version);
        if (known !== undefined) {
          if (known !== f.checksum) throw new Error(`migration ${f.version} was changed after it was applied`);
          continue;
        }
        const escaped = f.checksum.replaceAll("'", "''");
        await database.execScript(
          `BEGIN;\n${f.text}\n;INSERT INTO schema_migrations (version, checksum) VALUES ('${f.version}', '${escaped}');\nCOMMIT;`,
        );
        applied.push(f.version);
      }
    } finally {
      await sql`SELECT pg_advisory_unlock(${LOCK_KEY})`.execute(conn);
    }
  });
  return applied;
}
