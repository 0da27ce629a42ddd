import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
/** Either the database or an open transaction: repositories accept both. */
export type Q = Kysely<DB> | Transaction<DB>;

export interface Database {
  db: Db;
  kind: 'pglite' | 'pg';
  /** Runs parameterless, possibly multi-statement SQL text (migrations, scripts). */
  execScript(sqlText: string): Promise<void>;
  close(): Promise<void>;
}

// int8 as a JS number: every bigint column holds fen or ids far below 2^53 (checked in money.ts).
const INT8_OID = 20;
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

const MAX_PREPARED_PER_CONNECTION = 500;

/**
 * Parameterised queries become named prepared statements, so PostgreSQL parses and plans each
 * query text once per connection instead of on every call (the payment statement is large).
 * Texts are bounded in practice; a connection stops preparing new ones past a cap.
 */
function prepareStatements(client: pg.PoolClient): void {
  const prepared = new Set<string>();
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, cb?: unknown) => {
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && text.length < 20_000) {
      const name = `ob_${createHash('sha1').update(text).digest('base64url')}`;
      if (prepared.has(name) || prepared.size < MAX_PREPARED_PER_CONNECTION) {
        prepared.add(name);
        return original({ name, text, values }, cb);
      }
    }
    return original(text, values, cb);
  };
}

export interface OpenOptions {
  databaseUrl?: string | undefined;
  /** Directory for the embedded database; 'memory://' keeps it in memory (tests). */
  dataDir?: string;
  poolSize?: number;
  /** An existing PGlite instance (tests clone one per file). */
  pglite?: PGlite;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10, types: pgTypes });
    pool.on('error', () => {
      /* idle client errors are reported on next use */
    });
    pool.on('connect', prepareStatements);
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      kind: 'pg',
      async execScript(text) {
        const client = await pool.connect();
        try {
          await client.query(text);
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          client.release();
        }
      },
      close: () => db.destroy(),
    };
  }
  let pglite = opts.pglite;
  if (!pglite) {
    const dir = opts.dataDir ?? './data';
    if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
    pglite = await PGlite.create(dir.startsWith('memory://') ? undefined : dir);
  }
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) });
  const instance = pglite;
  return {
    db,
    kind: 'pglite',
    async execScript(text) {
      try {
        await instance.exec(text);
      } catch (err) {
        await instance.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    close: () => db.destroy(),
  };
}
