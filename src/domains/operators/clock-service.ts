// The simulated clock (OPENBOSS_CLOCK=simulated) is set through the admin API and the CLI and survives restarts.
import { type Actor, audit } from '../../platform/audit.ts';
import { type Clock, SimulatedClock } from '../../platform/clock.ts';
import type { Db } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import { emit } from '../../platform/outbox.ts';

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
    const c = this.deps.clock;
    if (!(c instanceof SimulatedClock)) {
      throw new DomainError('CLOCK_NOT_SIMULATED', '系统时钟为真实时钟，不能设置（OPENBOSS_CLOCK=simulated 时可设置）', 'The clock is real; start with OPENBOSS_CLOCK=simulated to set it', 409);
    }
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
    const s = c.state();
    await this.deps.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('clock_state')
        .values({ id: 1, simulated_at: s.simulatedAt, set_at_real: s.setAtReal, frozen: s.frozen })
        .onConflict((oc) => oc.column('id').doUpdateSet({ simulated_at: s.simulatedAt, set_at_real: s.setAtReal, frozen: s.frozen }))
        .execute();
      const after = { now: c.now().toISOString(), frozen: s.frozen };
      await audit(tx, c, actor, { action: 'clock.set', targetType: 'clock', targetId: 'simulated', before: { now: before }, after });
      await emit(tx, c, { type: 'clock.set', aggregateType: 'clock', aggregateId: 'simulated', payload: { before, ...after } });
    });
    return this.view();
  }
}
