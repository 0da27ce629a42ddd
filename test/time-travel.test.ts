// Issue 4 §6 time travel: moving the simulated clock runs every scheduled job for each day passed,
// in time order, each at its own business time; the CLI and the admin API both do it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { businessDay } from '../src/platform/clock.ts';
import { firingsBetween } from '../src/platform/time-travel.ts';
import { type Api, T0, testApi, testEnv, type TestEnv } from './helpers.ts';
import { expectProblem } from './snapshot.ts';

const P = '/api/v1';

describe('firingsBetween', () => {
  const from = new Date('2026-11-30T12:00:00+08:00');
  const to = new Date('2027-01-02T00:00:00+08:00');

  test('daily and monthly jobs fire once per day / month passed, in time order, in the business timezone', () => {
    const f = firingsBetween(
      [
        { name: 'monthly', cron: '0 6 1 * *' },
        { name: 'daily', cron: '5 0 * * *' },
      ],
      from,
      to,
    );
    const daily = f.filter((x) => x.job === 'daily');
    const monthly = f.filter((x) => x.job === 'monthly');
    // 2026-12-01 … 2027-01-01: 32 mornings; the 30th's 00:05 was before `from`
    expect(daily).toHaveLength(32);
    expect(daily[0]?.at.toISOString()).toBe('2026-11-30T16:05:00.000Z');
    expect(monthly.map((m) => m.at.toISOString())).toEqual(['2026-11-30T22:00:00.000Z', '2026-12-31T22:00:00.000Z']);
    expect(f.map((x) => x.at.getTime())).toEqual([...f.map((x) => x.at.getTime())].sort((a, b) => a - b));
  });

  test('a job that fires many times a day runs once per day, at its last firing of the day; ties keep registration order', () => {
    const f = firingsBetween(
      [
        { name: 'often', cron: '*/5 * * * *' },
        { name: 'late', cron: '55 23 * * *' },
      ],
      from,
      new Date('2026-12-02T12:00:00+08:00'),
    );
    expect(f.map((x) => `${x.job}@${x.at.toISOString()}`)).toEqual([
      'often@2026-11-30T15:55:00.000Z',
      'late@2026-11-30T15:55:00.000Z',
      'often@2026-12-01T15:55:00.000Z',
      'late@2026-12-01T15:55:00.000Z',
      'often@2026-12-02T04:00:00.000Z', // the last day ends at the target
    ]);
  });

  test('nothing to run when the target is not after the start; a firing exactly at the target runs', () => {
    expect(firingsBetween([{ name: 'd', cron: '0 0 * * *' }], to, from)).toEqual([]);
    const at = firingsBetween([{ name: 'd', cron: '0 0 * * *' }], from, new Date('2026-12-01T00:00:00+08:00'));
    expect(at.map((x) => x.at.toISOString())).toEqual(['2026-11-30T16:00:00.000Z']);
  });
});

describe('clock travel through the admin API', () => {
  let env: TestEnv;
  let api: Api;
  const seen: { job: string; day: string; now: string }[] = [];
  let failOn: string | null = null;

  beforeAll(async () => {
    env = await testEnv();
    env.ctx.jobs.register('tt-morning', async ({ now }) => {
      seen.push({ job: 'tt-morning', day: businessDay(now), now: now.toISOString() });
      if (failOn && businessDay(now) === failOn) throw new Error('boom');
      return { ok: true };
    });
    env.ctx.jobs.schedule('tt-morning', '30 1 * * *');
    env.ctx.jobs.register('tt-first', async ({ now }) => {
      seen.push({ job: 'tt-first', day: businessDay(now), now: now.toISOString() });
      return { ok: true };
    });
    env.ctx.jobs.schedule('tt-first', '0 1 1 * *');
    api = await testApi(env);
  });
  afterAll(async () => {
    await api.app.close();
    await env.close();
  });

  test('travel to a date runs every day’s and month’s jobs in order, each at its own time; the clock ends at the target', async () => {
    env.clock.set(T0, true);
    seen.length = 0;
    const r = await api.call('POST', `${P}/admin/clock/travel`, { body: { to: '2027-01-03' } });
    expect(r.status).toBe(200);
    expect(r.body.now).toBe('2027-01-02T16:00:00.000Z');
    expect(r.body.frozen).toBe(true);
    const mine = seen.filter((s) => s.job.startsWith('tt-'));
    // 11-16 … 01-02 mornings (T0 is 11-15 10:00, after that day's 01:30) and the 1st of Dec and Jan
    expect(mine.filter((s) => s.job === 'tt-morning')).toHaveLength(48);
    expect(mine.filter((s) => s.job === 'tt-first').map((s) => s.day)).toEqual(['2026-12-01', '2027-01-01']);
    const dec1 = mine.filter((s) => s.day === '2026-12-01').map((s) => s.job);
    expect(dec1).toEqual(['tt-first', 'tt-morning']);
    expect(mine.every((s, i) => i === 0 || s.now >= (mine[i - 1]?.now ?? ''))).toBe(true);
    expect(r.body.runs.filter((x: { job: string }) => x.job.startsWith('tt-'))).toHaveLength(50);
    // the journey is audited and kept across restarts
    const state = await env.ctx.database.db.selectFrom('clock_state').selectAll().executeTakeFirstOrThrow();
    expect(state.simulated_at.toISOString()).toBe('2027-01-02T16:00:00.000Z');
    const audit = await env.ctx.database.db.selectFrom('audit_log').select('action').where('action', '=', 'clock.travel').execute();
    expect(audit.length).toBeGreaterThan(0);
  });

  test('a failing job stops the journey at its firing, with a 409 that names it', async () => {
    env.clock.set(new Date('2027-02-01T00:00:00+08:00'), true);
    seen.length = 0;
    failOn = '2027-02-03';
    const r = await api.call('POST', `${P}/admin/clock/travel`, { body: { advanceSeconds: 10 * 86400 } });
    failOn = null;
    expectProblem(r, 409, 'TIME_TRAVEL_JOB_FAILED', 'TIME_TRAVEL_JOB_FAILED');
    expect(r.body.job ?? r.body.details?.job).toBe('tt-morning');
    expect(env.clock.now().toISOString()).toBe('2027-02-02T17:30:00.000Z');
    expect(seen.filter((s) => s.job === 'tt-morning').map((s) => s.day)).toEqual(['2027-02-01', '2027-02-02', '2027-02-03']);
  });

  test('refusals: backwards, a bad date, both or neither field, and a front-desk operator', async () => {
    env.clock.set(new Date('2027-03-01T00:00:00+08:00'), true);
    expectProblem(await api.call('POST', `${P}/admin/clock/travel`, { body: { to: '2027-02-01' } }), 422, 'CLOCK_NOT_FORWARD', 'CLOCK_NOT_FORWARD');
    expectProblem(await api.call('POST', `${P}/admin/clock/travel`, { body: { to: '2027-02-31x' } }), 400, 'INVALID_DATE', 'INVALID_DATE');
    expectProblem(await api.call('POST', `${P}/admin/clock/travel`, { body: {} }), 400, 'VALIDATION_FAILED', 'VALIDATION_FAILED');
    expectProblem(await api.call('POST', `${P}/admin/clock/travel`, { body: { to: '2027-04-01', advanceSeconds: 5 } }), 400, 'VALIDATION_FAILED', 'VALIDATION_FAILED');
    expectProblem(await api.call('POST', `${P}/admin/clock/travel`, { as: 'front_desk', body: { to: '2027-04-01' } }), 403, 'FORBIDDEN', 'FORBIDDEN');
    expect(env.clock.now().toISOString()).toBe('2027-02-28T16:00:00.000Z');
  });
});
