// Background jobs on pg-boss 12, in the application's own database: PostgreSQL through a small pool
// of its own, or the embedded PGlite through an adapter that shares its one connection with Kysely.
// A job's handler reads business time from the injected Clock (which may be simulated and jump
// months), never from the queue's wall clock.
import type { Logger } from 'pino';
import { type Db as BossDb, PgBoss } from 'pg-boss';
import type { PGlite } from '@electric-sql/pglite';
import type { Clock } from './clock.ts';
import type { Database, Db } from './db.ts';
import { DomainError } from './errors.ts';

export interface JobRun<D = unknown> {
  name: string;
  data: D;
  /** Business time from the Clock when the run starts. */
  now: Date;
  /** `queue`: delivered by pg-boss (sent or scheduled); `now`: runNow (CLI, admin API, tests). */
  via: 'queue' | 'now';
}
export type JobHandler = (run: JobRun) => Promise<unknown>;

export interface JobInfo {
  name: string;
  description: { zh: string; en: string };
  cron: string | null;
}

interface JobDef extends JobInfo {
  handler: JobHandler;
}

const JOB_NAME = /^[a-z][a-z0-9-]{1,62}$/;
/** Cron expressions are read in the business timezone. */
export const CRON_TZ = 'Asia/Shanghai';

/**
 * pg-boss's IDatabase on PGlite. Kysely serialises every use of the one PGlite connection with a
 * mutex; going through `db.connection()` puts pg-boss's statements in the same line, so they never
 * land inside an application transaction and an aborted block of theirs is rolled back before
 * anyone else runs. Parameterless text may hold several statements (pg-boss's BEGIN … COMMIT
 * blocks and schema scripts): it goes through `exec`, and the rows of every statement come back.
 */
export function pgliteJobDatabase(db: Db, pglite: PGlite): BossDb {
  return {
    executeSql: (text: string, values?: unknown[]) =>
      db.connection().execute(async () => {
        try {
          if (values && values.length > 0) return { rows: (await pglite.query(text, values)).rows };
          const results = await pglite.exec(text);
          return { rows: results.flatMap((r) => r.rows) };
        } catch (err) {
          await pglite.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
  };
}

export class Jobs {
  private readonly deps: { database: Database; clock: Clock; log: Logger };
  private readonly defs = new Map<string, JobDef>();
  private boss: PgBoss | undefined;

  constructor(deps: { database: Database; clock: Clock; log: Logger }) {
    this.deps = deps;
  }

  get running(): boolean {
    return this.boss !== undefined;
  }

  register(name: string, handler: JobHandler, description: { zh: string; en: string } = { zh: name, en: name }): void {
    if (!JOB_NAME.test(name)) throw new Error(`job name must match ${JOB_NAME.source}: ${name}`);
    if (this.defs.has(name)) throw new Error(`job ${name} is registered twice`);
    if (this.boss) throw new Error(`job ${name} registered after start`);
    this.defs.set(name, { name, handler, description, cron: null });
  }

  /** A cron expression (Asia/Shanghai) for a registered job; applied when the jobs start. */
  schedule(name: string, cron: string): void {
    const def = this.def(name);
    if (this.boss) throw new Error(`job ${name} scheduled after start`);
    def.cron = cron;
  }

  /** The jobs with a schedule, in registration order (time travel runs them in this order on ties). */
  scheduled(): { name: string; cron: string }[] {
    return [...this.defs.values()].flatMap((d) => (d.cron ? [{ name: d.name, cron: d.cron }] : []));
  }

  list(): JobInfo[] {
    return [...this.defs.values()].map(({ name, description, cron }) => ({ name, description, cron })).sort((a, b) => a.name.localeCompare(b.name));
  }

  async start(): Promise<void> {
    if (this.boss) return;
    const { database, log } = this.deps;
    const raw = database.raw;
    const boss =
      raw.kind === 'pg'
        ? new PgBoss({ connectionString: raw.connectionString, max: 3, application_name: 'openboss-jobs' })
        : new PgBoss({ db: pgliteJobDatabase(database.db, raw.pglite), backend: 'pglite' });
    boss.on('error', (err) => log.error({ err }, 'job queue error'));
    await boss.start();
    try {
      for (const def of this.defs.values()) {
        await boss.createQueue(def.name);
        await boss.work(def.name, async (jobs) => {
          for (const job of jobs) await this.run(def, job.data, 'queue');
        });
        if (def.cron) await boss.schedule(def.name, def.cron, null, { tz: CRON_TZ });
        else await boss.unschedule(def.name);
      }
    } catch (err) {
      await boss.stop({ graceful: false }).catch(() => undefined);
      throw err;
    }
    this.boss = boss;
    log.info({ jobs: this.list().map((j) => j.name), database: raw.kind }, 'jobs started');
  }

  async stop(): Promise<void> {
    const boss = this.boss;
    if (!boss) return;
    this.boss = undefined;
    await boss.stop({ graceful: true, timeout: 10_000 });
  }

  /** Queues a run; a worker (in this or another server process) picks it up. */
  async send(name: string, data: Record<string, unknown> | null = null): Promise<string> {
    this.def(name);
    if (!this.boss) throw new Error('jobs are not started');
    const id = await this.boss.send(name, data);
    if (id === null) throw new Error(`job ${name} was not queued`);
    return id;
  }

  /** Runs the handler here and now (CLI, admin endpoint, tests), with the business time of the Clock. */
  async runNow(name: string, data: unknown = null): Promise<{ name: string; startedAt: string; finishedAt: string; result: unknown }> {
    const def = this.def(name);
    const startedAt = this.deps.clock.now();
    const result = await this.run(def, data, 'now');
    return { name, startedAt: startedAt.toISOString(), finishedAt: this.deps.clock.now().toISOString(), result: result ?? null };
  }

  private async run(def: JobDef, data: unknown, via: 'queue' | 'now'): Promise<unknown> {
    const now = this.deps.clock.now();
    try {
      const result = await def.handler({ name: def.name, data, now, via });
      this.deps.log.info({ job: def.name, via, businessTime: now.toISOString(), result }, 'job done');
      return result;
    } catch (err) {
      this.deps.log.error({ err, job: def.name, via }, 'job failed');
      throw err;
    }
  }

  private def(name: string): JobDef {
    const def = this.defs.get(name);
    if (!def) throw new DomainError('JOB_NOT_FOUND', `后台任务不存在：${name}`, `No such job: ${name}`, 404, { name, jobs: [...this.defs.keys()].sort() });
    return def;
  }
}
