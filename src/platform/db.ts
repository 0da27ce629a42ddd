import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
/** Either the database or an open transaction: repositories accept both. */
export type Q = Kysely<DB> | Transaction<DB>;

/**
 * For the rest of the transaction, plans fit for a big set-based statement over a chunk of rows (stock
 * imports, rating, bundle grants): planned for each chunk's arrays (a generic plan of a prepared
 * statement guesses their size), never JIT-compiled (it costs more than it saves per chunk); with
 * `randomPageCost`, index probes priced as the cached pages they are; with `workMem`, the chunk's
 * sorts and CTEs kept in memory.
 */
export async function bulkPlanSettings(q: Q, o: { randomPageCost?: string; workMem?: string } = {}): Promise<void> {
  await setLocal(q, {
    plan_cache_mode: 'force_custom_plan',
    jit: 'off',
    ...(o.randomPageCost ? { random_page_cost: o.randomPageCost } : {}),
    ...(o.workMem ? { work_mem: o.workMem } : {}),
  });
}

/**
 * For the rest of the transaction: no JIT. Statements over a chunk's thousands of ids look costly to
 * the planner (past jit_above_cost) while their work is index probes; compiling them cost 0.2–0.6 s each.
 */
export async function noJit(q: Q): Promise<void> {
  await setLocal(q, { jit: 'off' });
}

/**
 * For the rest of the transaction: plans for statements whose work is index probes over a batch of ids
 * (credit control): no JIT (noJit) and no parallel workers. A batch's ids made the planner start a worker
 * for overdueBySubscriber: 16–100 ms a call to launch it, for 0.5 ms of work.
 */
export async function probePlanSettings(q: Q): Promise<void> {
  await setLocal(q, { jit: 'off', max_parallel_workers_per_gather: '0' });
}

/** Planner settings for the rest of the transaction (`set_config(name, value, true)`), all in one statement. */
async function setLocal(q: Q, settings: Record<string, string>): Promise<void> {
  await sql`SELECT ${sql.join(Object.entries(settings).map(([name, value]) => sql`set_config(${name}, ${value}, true)`))}`.execute(q);
}

/** Runs `fn` in the caller's transaction when there is one, otherwise in a new one. */
export function inTransaction<T>(db: Db, callerTx: Tx | undefined, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return callerTx ? fn(callerTx) : db.transaction().execute(fn);
}

/**
 * Runs `fn` on one connection of its own: PostgreSQL, a pool client wrapped as a Kysely whose
 * transactions all run on it, and the client itself (COPY inside those transactions); PGlite, the
 * database itself (one connection anyway) and no client. A failed run's client is closed, not reused.
 */
export async function withConnection<T>(database: Database, fn: (db: Db, client: pg.PoolClient | undefined) => Promise<T>): Promise<T> {
  if (database.raw.kind !== 'pg') return fn(database.db, undefined);
  const client = await database.raw.pool.connect();
  const one = { connect: () => Promise.resolve({ query: client.query.bind(client), release: () => undefined }), end: () => Promise.resolve() };
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: one as unknown as pg.Pool }) });
  let failed = false;
  try {
    return await fn(db, client);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await db.destroy();
    client.release(failed);
  }
}

export interface Database {
  db: Db;
  kind: 'pglite' | 'pg';
  /** Runs parameterless, possibly multi-statement SQL text (migrations, scripts). */
  execScript(sqlText: string): Promise<void>;
  /** The driver under Kysely, for libraries that talk to the database themselves (the job queue). */
  raw: { kind: 'pglite'; pglite: PGlite } | { kind: 'pg'; pool: pg.Pool; connectionString: string };
  close(): Promise<void>;
}

// int8 as a JS number: every bigint column holds fen or ids far below 2^53; a value past that is an error, never rounded.
const INT8_OID = 20;
function parseInt8(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${v} does not fit a safe JS integer`);
  return n;
}
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return parseInt8;
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
  const prepared = new Map<string, string>(); // query text → statement name
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, cb?: unknown) => {
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && text.length < 20_000) {
      let name = prepared.get(text);
      if (name === undefined && prepared.size < MAX_PREPARED_PER_CONNECTION) {
        name = `ob_${createHash('sha1').update(text).digest('base64url')}`;
        prepared.set(text, name);
      }
      if (name !== undefined) return original({ name, text, values }, cb);
    }
    return original(text, values, cb);
  };
}

/**
 * PGlite is one process's database: a second process opening the same directory would corrupt it.
 * A lock file with the owner's pid keeps the CLI from opening the embedded database of a running
 * server (a stale lock of a dead process is taken over).
 */
function lockDataDir(dir: string): () => void {
  const path = join(dir, 'openboss.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `the embedded database in ${dir} is in use by process ${owner}; stop it first (or use PostgreSQL through DATABASE_URL)`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`cannot lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
      raw: { kind: 'pg', pool, connectionString: opts.databaseUrl },
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
      close: async () => {
        await db.destroy();
        // Kysely ends the pool only if it ever ran a query itself: a pool used only through withConnection is ended here
        if (!pool.ended) await pool.end();
      },
    };
  }
  let pglite = opts.pglite;
  let unlock = () => {};
  if (!pglite) {
    const dir = opts.dataDir ?? './data';
    if (dir.startsWith('memory://')) pglite = await PGlite.create();
    else {
      mkdirSync(dir, { recursive: true });
      unlock = lockDataDir(dir);
      try {
        pglite = await PGlite.create(dir);
      } catch (err) {
        unlock();
        throw err;
      }
    }
  }
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) });
  const instance = pglite;
  return {
    db,
    kind: 'pglite',
    raw: { kind: 'pglite', pglite: instance },
    async execScript(text) {
      try {
        await instance.exec(text);
      } catch (err) {
        await instance.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    async close() {
      await db.destroy();
      unlock();
    },
  };
}
