// The simulated clock (OPENBOSS_CLOCK=simulated) is set through the admin API and the CLI and survives restarts.
import { type Actor, audit } from '../../platform/audit.ts';
import { type Clock, SimulatedClock } from '../../platform/clock.ts';
import type { Db } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import type { Jobs } from '../../platform/jobs.ts';
import { emit } from '../../platform/outbox.ts';
import { daysOf, firingsBetween } from '../../platform/time-travel.ts';

export class ClockService {
  private readonly deps: { db: Db; clock: Clock };
  constructor(deps: { db: Db; clock: Clock }) {
    this.deps = deps;
  }

  async restore(): Promise<void> {
    const c = this.deps.clock;
    if (!(c instanceof SimulatedClock)) return;
    const row = await this.deps.db.selectFrom('clock_state').selectAll().where('id', '=', 1).executeTakeFirst();
    if (row) c.restore({ simulatedAt: row.simulated_at.toISOString(), setAtReal: row.set_at_real.toISOString(), frozen: row.frozen });
  }

  view() {
    const c = this.deps.clock;
    return { kind: c.kind, now: c.now().toISOString(), ...(c instanceof SimulatedClock ? { frozen: c.state().frozen } : {}) };
  }

  async set(actor: Actor, input: { now?: string | undefined; advanceSeconds?: number | undefined; frozen?: boolean | undefined }) {
    const c = this.simulated();
    const before = c.now().toISOString();
    if (input.now !== undefined) {
      const d = new Date(input.now);
      if (Number.isNaN(d.getTime())) throw new DomainError('INVALID_DATE', `时间格式不正确：${input.now}`, `Invalid time: ${input.now}`, 400);
      c.set(d, input.frozen ?? c.state().frozen);
    } else if (input.advanceSeconds !== undefined) {
      c.advance(input.advanceSeconds * 1000);
      if (input.frozen !== undefined) c.set(c.now(), input.frozen);
    } else if (input.frozen !== undefined) {
      c.set(c.now(), input.frozen);
    }
    await this.persist(actor, 'clock.set', { now: before }, {});
    return this.view();
  }

  /**
   * Issue 4 §6: moves the simulated clock forward to `to`, running every scheduled job for each day
   * passed, in time order, at its own business time (the clock is held still while a job runs). A
   * failing job stops the journey there: the clock stays at that firing and the error says which.
   */
  async travel(actor: Actor, input: { to?: string | undefined; advanceSeconds?: number | undefined }, jobs: Jobs) {
    const c = this.simulated();
    const from = c.now();
    const to = input.to !== undefined ? businessInstant(input.to) : new Date(from.getTime() + (input.advanceSeconds ?? 0) * 1000);
    if (to.getTime() <= from.getTime()) {
      throw new DomainError('CLOCK_NOT_FORWARD', `目标时间须晚于当前业务时间 ${from.toISOString()}`, `The target must be after the business time ${from.toISOString()}`, 422, {
        now: from.toISOString(),
      });
    }
    const frozen = c.state().frozen;
    const firings = firingsBetween(jobs.scheduled(), from, to);
    const runs: { at: string; job: string; result: unknown }[] = [];
    for (const f of firings) {
      c.set(f.at, true);
      try {
        const r = await jobs.runNow(f.job);
        runs.push({ at: f.at.toISOString(), job: f.job, result: r.result });
      } catch (err) {
        await this.persist(actor, 'clock.travel', { now: from.toISOString() }, { failedJob: f.job, runs: runs.length });
        throw new DomainError(
          'TIME_TRAVEL_JOB_FAILED',
          `时间推进在 ${f.at.toISOString()} 停止：任务 ${f.job} 失败（${err instanceof DomainError ? err.zh : errorText(err)}）`,
          `Time travel stopped at ${f.at.toISOString()}: job ${f.job} failed (${errorText(err)})`,
          409,
          { at: f.at.toISOString(), job: f.job, runsDone: runs.length },
        );
      }
    }
    c.set(to, frozen);
    await this.persist(actor, 'clock.travel', { now: from.toISOString() }, { runs: runs.length, days: daysOf(firings).length });
    return { ...this.view(), from: from.toISOString(), days: daysOf(firings).length, runs };
  }

  private simulated(): SimulatedClock {
    const c = this.deps.clock;
    if (!(c instanceof SimulatedClock)) {
      throw new DomainError('CLOCK_NOT_SIMULATED', '系统时钟为真实时钟，不能设置（OPENBOSS_CLOCK=simulated 时可设置）', 'The clock is real; start with OPENBOSS_CLOCK=simulated to set it', 409);
    }
    return c;
  }

  private async persist(actor: Actor, action: string, before: Record<string, unknown>, extra: Record<string, unknown>): Promise<void> {
    const c = this.simulated();
    const s = c.state();
    await this.deps.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('clock_state')
        .values({ id: 1, simulated_at: s.simulatedAt, set_at_real: s.setAtReal, frozen: s.frozen })
        .onConflict((oc) => oc.column('id').doUpdateSet({ simulated_at: s.simulatedAt, set_at_real: s.setAtReal, frozen: s.frozen }))
        .execute();
      const after = { now: c.now().toISOString(), frozen: s.frozen, ...extra };
      await audit(tx, c, actor, { action, targetType: 'clock', targetId: 'simulated', before, after });
      await emit(tx, c, { type: action, aggregateType: 'clock', aggregateId: 'simulated', payload: { before: before.now, ...after } });
    });
  }
}

/** A bare date (2027-06-01) is midnight in the business timezone; anything else is an ISO instant. */
function businessInstant(s: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00+08:00` : s);
  if (Number.isNaN(d.getTime())) throw new DomainError('INVALID_DATE', `时间格式不正确：${s}`, `Invalid time: ${s}`, 400);
  return d;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
