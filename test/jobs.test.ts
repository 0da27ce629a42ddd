// The background jobs platform: pg-boss on this run's database (PGlite through the shared-connection
// adapter, or PostgreSQL), the admin endpoint and the CLI.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RELEASE_JOB } from '../src/domains/resources/service.ts';
import { Jobs } from '../src/platform/jobs.ts';
import { type Api, onPostgres, T0, testApi, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
});
afterAll(() => env.close());

const silent = pino({ level: 'silent' });

test(`R-X-10 jobs are not started in tests; a job sent through pg-boss is worked on ${onPostgres ? 'PostgreSQL' : 'PGlite'}, with the business time of the clock`, async () => {
  expect(env.ctx.jobs.running).toBe(false);
  const jobs = new Jobs({ database: env.ctx.database, clock: env.clock, log: silent });
  const seen: { data: unknown; now: Date; via: string }[] = [];
  let done: () => void = () => undefined;
  const worked = new Promise<void>((resolve) => (done = resolve));
  jobs.register('echo', async (run) => {
    seen.push({ data: run.data, now: run.now, via: run.via });
    // the handler writes through the application's own database while pg-boss holds its job
    await env.ctx.database.db.selectFrom('number_levels').select('code').execute();
    done();
    return 'ok';
  });
  jobs.schedule('echo', '0 3 * * *');
  await jobs.start();
  try {
    expect(jobs.running).toBe(true);
    const id = await jobs.send('echo', { n: 1 });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await Promise.race([worked, new Promise((_, reject) => setTimeout(() => reject(new Error('the job was not worked within 20 s')), 20_000))]);
    // the simulated clock (frozen at T0), not the wall clock
    expect(seen).toEqual([{ data: { n: 1 }, now: T0, via: 'queue' }]);
    // the application keeps working beside the queue on the same database
    const levels = await env.ctx.resources.levels();
    expect(levels.map((l) => l.code)).toContain('ordinary');
    await expect(jobs.send('nope')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', status: 404 });
  } finally {
    await jobs.stop();
  }
  expect(jobs.running).toBe(false);
  await expect(jobs.send('echo')).rejects.toThrow(/not started/);
});

test('R-X-10 runNow runs a handler in-process at the time of the (simulated) clock', async () => {
  const jobs = new Jobs({ database: env.ctx.database, clock: env.clock, log: silent });
  jobs.register('when', async ({ now, via }) => ({ now: now.toISOString(), via }));
  env.clock.advance(90 * 24 * 3600_000);
  try {
    const r = await jobs.runNow('when');
    expect(r.result).toEqual({ now: new Date(T0.getTime() + 90 * 24 * 3600_000).toISOString(), via: 'now' });
    expect(r.startedAt).toBe(r.finishedAt);
  } finally {
    env.clock.set(T0, true);
  }
  expect(() => jobs.register('when', async () => null)).toThrow(/twice/);
  expect(() => jobs.register('Bad Name', async () => null)).toThrow(/job name/);
});

test('R-X-10 POST /admin/jobs/{name}/run runs the release job for an admin; 404 for an unknown job, 403 for others', async () => {
  const list = await api.call('GET', '/api/v1/admin/jobs');
  expect(list.status).toBe(200);
  expect(list.body).toMatchObject({ running: false, items: expect.arrayContaining([expect.objectContaining({ name: RELEASE_JOB, cron: '*/5 * * * *' })]) });

  const ok = await api.call('POST', `/api/v1/admin/jobs/${RELEASE_JOB}/run`);
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ name: RELEASE_JOB, startedAt: T0.toISOString(), result: { reservationsExpired: 0, recycled: 0, released: 0 } });

  const unknown = await api.call('POST', '/api/v1/admin/jobs/no-such-job/run');
  expect(unknown.status).toBe(404);
  expect(unknown.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(unknown.body).toMatchObject({ code: 'JOB_NOT_FOUND' });

  const bad = await api.call('POST', '/api/v1/admin/jobs/Not%20A%20Job/run');
  expect(bad.status).toBe(400);

  for (const as of ['front_desk', 'accounting', 'auditor']) {
    const r = await api.call('POST', `/api/v1/admin/jobs/${RELEASE_JOB}/run`, { as });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('FORBIDDEN');
  }
});

const run = promisify(execFile);

test('R-X-10 `openboss jobs run release-expired-numbers` runs the job on the embedded database; an unknown job exits 2', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openboss-jobs-'));
  const env2: NodeJS.ProcessEnv = { ...process.env, OPENBOSS_DATA_DIR: dir, LOG_LEVEL: 'warn' };
  delete env2.DATABASE_URL;
  try {
    const ok = await run(process.execPath, ['src/app/cli.ts', 'jobs', 'run', RELEASE_JOB], { env: env2, timeout: 60_000 });
    expect(JSON.parse(ok.stdout)).toMatchObject({ name: RELEASE_JOB, result: { reservationsExpired: 0, recycled: 0, released: 0 } });
    const bad = await run(process.execPath, ['src/app/cli.ts', 'jobs', 'run', 'no-such-job'], { env: env2, timeout: 60_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/No such job: no-such-job/) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
