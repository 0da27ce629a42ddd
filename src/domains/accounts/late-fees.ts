// Late fees (滞纳金, R-ACC-17, R-X-7): the daily rate on what an overdue postpaid bill line still
// owes, billed as LATE_FEE lines of the cycle whose days they are, each linked to its principal line.
// The ledger (late_fee_accruals) records which days of which line were charged, so none is charged
// twice; the write-off (writeoff.ts) pays a late fee together with its principal (R-X-7).
import { sql } from 'kysely';
import { type Actor, can, systemActor } from '../../platform/audit.ts';
import { addCycles, businessDay, type Clock, cycleDays, cycleStart } from '../../platform/clock.ts';
import type { Db, Q, Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import { type Fen, prorate } from '../../platform/money.ts';
import { recordChange } from '../../platform/outbox.ts';
import type { MoneyService } from './money.ts';
import { moneyRepo } from './money-repo.ts';
import { accountRepo } from './repo.ts';

/** R-X-7: the legal cap of the daily rate, 3‰ (in 1/10,000). */
export const LEGAL_MAX_RATE_PER_10K = 30;
const LATE_FEE_ITEM = 'LATE_FEE';
const DAY_MS = 86_400_000;

export interface LateFeePolicy {
  /** daily rate in 1/10,000 (30 = 3‰), never above the legal cap */
  ratePer10k: number;
  /** the first day charged is the due date plus this many days (1 = the day after) */
  startOffsetDays: number;
  /** per account and cycle; 0 = no cap */
  cycleCapFen: Fen;
  /** R-ACC-17: the day of the month after the cycle a bill is due when it carries no due date */
  dueDay: number;
}

export const POLICY_PARAMETERS = {
  ratePer10k: 'late_fee_daily_rate_per_10k',
  startOffsetDays: 'late_fee_start_offset_days',
  cycleCapFen: 'late_fee_cycle_cap_fen',
  dueDay: 'bill_due_day',
} as const;

/** R-X-7: the policy from business parameters; the rate is held to the legal cap of 3‰. */
export function latefeePolicy(params: ReadonlyMap<string, number>): LateFeePolicy {
  const get = (k: string, d: number) => params.get(k) ?? d;
  return {
    ratePer10k: Math.max(0, Math.min(LEGAL_MAX_RATE_PER_10K, get(POLICY_PARAMETERS.ratePer10k, LEGAL_MAX_RATE_PER_10K))),
    startOffsetDays: Math.max(0, get(POLICY_PARAMETERS.startOffsetDays, 1)),
    cycleCapFen: Math.max(0, get(POLICY_PARAMETERS.cycleCapFen, 0)),
    dueDay: Math.max(1, Math.min(28, get(POLICY_PARAMETERS.dueDay, 20))),
  };
}

// ---- business days ("YYYY-MM-DD", Asia/Shanghai) ----

function dayNumber(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) / DAY_MS;
}
function dayString(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}
export function addDays(day: string, n: number): string {
  return dayString(dayNumber(day) + n);
}
/** 00:00 of a business day in Asia/Shanghai. */
export function dayStart(day: string): Date {
  return new Date(`${day}T00:00:00+08:00`);
}

/**
 * The due date of a cycle's bill: the bill's own due date when the bill run gave it one
 * (bills.due_at, its business day), else the `dueDay` of the month after the cycle, and never
 * before the day the bill was made (a bill posted late is not overdue before it exists). The one
 * place that decides it, so the bill run's column and this fallback cannot drift apart.
 */
export function billDueDate(cycle: string, dueAt: Date | null, dueDay: number, issuedAt?: Date): string {
  if (dueAt) return businessDay(dueAt);
  const next = addCycles(cycle, 1);
  const byCycle = `${next}-${String(Math.min(dueDay, cycleDays(next))).padStart(2, '0')}`;
  const issued = issuedAt ? businessDay(issuedAt) : byCycle;
  return issued > byCycle ? issued : byCycle;
}

/** What the accrual needs to know of one principal line. */
export interface PrincipalState {
  lineId: number;
  subscriberId: number;
  cycle: string;
  amountFen: Fen;
  dueDate: string;
  /** every write-off of the line (negative ones undo, R-X-8) */
  writeOffs: readonly { at: Date; amountFen: Fen }[];
  /** the last day already charged (the ledger), if any */
  chargedThrough: string | null;
  /** R-X-7 stops at cancellation; R-BIL-10 bad debt stops it too: the first day not charged */
  stopDay: string | null;
}

export interface Accrual {
  lineId: number;
  subscriberId: number;
  dueDate: string;
  firstDay: string;
  lastDay: string;
  days: number;
  /** sum over the days of what was still open at the end of each day */
  baseFenDays: number;
  computedFen: Fen;
}

/**
 * R-ACC-17 / R-X-7: the late fee of one principal line for the days of `cycle` that ended before
 * `today`: from due date + offset, after the days already charged, before the stop day. A day is
 * charged on what was still open at its end (a payment that day spares it). Half-up to the fen.
 */
export function accrue(p: PrincipalState, cycle: string, today: string, policy: LateFeePolicy): Accrual | null {
  const cycleFirst = businessDay(cycleStart(cycle));
  const cycleLast = addDays(businessDay(cycleStart(addCycles(cycle, 1))), -1);
  const starts = [cycleFirst, addDays(p.dueDate, policy.startOffsetDays), ...(p.chargedThrough ? [addDays(p.chargedThrough, 1)] : [])];
  const ends = [cycleLast, addDays(today, -1), ...(p.stopDay ? [addDays(p.stopDay, -1)] : [])];
  const first = starts.reduce((a, b) => (a > b ? a : b));
  const last = ends.reduce((a, b) => (a < b ? a : b));
  if (first > last) return null;
  const writeOffs = [...p.writeOffs].sort((a, b) => a.at.getTime() - b.at.getTime());
  let base = 0;
  let w = 0;
  let paid = 0;
  const days = dayNumber(last) - dayNumber(first) + 1;
  for (let i = 0; i < days; i++) {
    const endOfDay = dayStart(addDays(first, i + 1)).getTime();
    while (w < writeOffs.length && (writeOffs[w] as { at: Date }).at.getTime() < endOfDay) paid += (writeOffs[w++] as { amountFen: Fen }).amountFen;
    base += Math.max(0, p.amountFen - paid);
  }
  return { lineId: p.lineId, subscriberId: p.subscriberId, dueDate: p.dueDate, firstDay: first, lastDay: last, days, baseFenDays: base, computedFen: prorate(base, policy.ratePer10k, 10_000) };
}

/** R-X-7: the per-cycle cap, taken by the accruals in order after what the cycle already billed. */
export function applyCycleCap(computed: readonly Fen[], alreadyBilledFen: Fen, capFen: Fen): Fen[] {
  if (capFen <= 0) return [...computed];
  let room = Math.max(0, capFen - alreadyBilledFen);
  return computed.map((c) => {
    const take = Math.min(c, room);
    room -= take;
    return take;
  });
}

interface CandidateRow {
  line_id: number;
  subscriber_id: number;
  cycle: string;
  amount_fen: number;
  due_at: Date | null;
  issued_at: Date;
  cancelled_at: Date | null;
  bad_debt_at: Date | null;
  charged_through: string | null;
}

const lateFeeRepo = {
  /**
   * R-ACC-17: principal lines of the account's published bills of earlier cycles that may owe a late
   * fee for days from `since`: postpaid (monthly) account, item not exempt, open now or written off
   * after `since` (open for part of the window), not yet charged through `through`.
   */
  async candidates(q: Q, accountId: number, cycle: string, since: Date, through: string): Promise<CandidateRow[]> {
    const r = await sql<CandidateRow>`
      SELECT l.line_id, l.subscriber_id, l.cycle, l.amount_fen, b.due_at, b.created_at AS issued_at, s.cancelled_at, bd.created_at AS bad_debt_at, f.charged_through
        FROM bill_lines l
        JOIN bills b ON b.account_id = l.account_id AND b.bill_id = l.bill_id
        JOIN accounts a ON a.account_id = l.account_id
        JOIN subscribers s ON s.subscriber_id = l.subscriber_id
        LEFT JOIN bad_debt_lines bl ON bl.account_id = l.account_id AND bl.line_id = l.line_id
        LEFT JOIN bad_debts bd ON bd.account_id = bl.account_id AND bd.bad_debt_id = bl.bad_debt_id
        LEFT JOIN LATERAL (SELECT max(last_day) AS charged_through FROM late_fee_accruals x
                            WHERE x.account_id = l.account_id AND x.principal_line_id = l.line_id) f ON true
       WHERE l.account_id = ${accountId} AND l.cycle < ${cycle} AND b.status = 'published' AND a.billing_type = 'monthly'
         AND l.item_code <> ${LATE_FEE_ITEM}
         AND NOT EXISTS (SELECT 1 FROM late_fee_exempt_items e WHERE e.item_code = l.item_code)
         AND (l.paid_fen < l.amount_fen
              OR EXISTS (SELECT 1 FROM write_offs w WHERE w.account_id = l.account_id AND w.line_id = l.line_id AND w.created_at >= ${since}))
         AND (f.charged_through IS NULL OR f.charged_through < ${through})
       ORDER BY l.cycle, l.line_id`.execute(q);
    return r.rows;
  },
  async writeOffsOf(q: Q, accountId: number, lineIds: number[]) {
    return q.selectFrom('write_offs').select(['line_id', 'amount_fen', 'created_at']).where('account_id', '=', accountId).where('line_id', 'in', lineIds).execute();
  },
  async parameters(q: Q): Promise<Map<string, number>> {
    const rows = await q.selectFrom('business_parameters').select(['key', 'value']).where('key', 'in', Object.values(POLICY_PARAMETERS)).execute();
    return new Map(rows.map((r) => [r.key, Number(r.value)]));
  },
  async billedInCycle(q: Q, accountId: number, cycle: string): Promise<Fen> {
    const r = await q
      .selectFrom('late_fee_accruals')
      .select(sql<number>`coalesce(sum(amount_fen), 0)::bigint`.as('s'))
      .where('account_id', '=', accountId)
      .where('cycle', '=', cycle)
      .executeTakeFirst();
    return Number(r?.s ?? 0);
  },
  /**
   * The account's bill of the cycle. A new one is a pre-bill while that cycle's bill run has not
   * published (the run publishes it with the rest), otherwise published like a manual bill.
   */
  async ensureBill(q: Q, accountId: number, cycle: string, now: Date): Promise<{ billId: number; status: string }> {
    const r = await sql<{ bill_id: number; status: string }>`
      WITH run AS (SELECT run_id, state FROM bill_runs WHERE cycle = ${cycle}),
      ins AS (
        INSERT INTO bills (account_id, cycle, status, run_id, created_at)
        SELECT ${accountId}, ${cycle}, CASE WHEN EXISTS (SELECT 1 FROM run WHERE state <> 'published') THEN 'prebill' ELSE 'published' END,
               (SELECT run_id FROM run WHERE state <> 'published'), ${now}
        ON CONFLICT (account_id, cycle) DO NOTHING
        RETURNING bill_id, status
      )
      SELECT bill_id, status FROM ins
      UNION ALL
      SELECT bill_id, status FROM bills WHERE account_id = ${accountId} AND cycle = ${cycle}`.execute(q);
    const row = r.rows[0] as { bill_id: number; status: string };
    return { billId: row.bill_id, status: row.status };
  },
  accrualById(q: Q, accrualId: number) {
    return q.selectFrom('late_fee_accruals').selectAll().where('accrual_id', '=', accrualId).executeTakeFirst();
  },
  accrualsOf(q: Q, accountId: number) {
    return q
      .selectFrom('late_fee_accruals as f')
      .leftJoin('bill_lines as l', (j) => j.onRef('l.account_id', '=', 'f.account_id').onRef('l.line_id', '=', 'f.late_fee_line_id'))
      .innerJoin('bill_lines as p', (j) => j.onRef('p.account_id', '=', 'f.account_id').onRef('p.line_id', '=', 'f.principal_line_id'))
      .select([
        'f.accrual_id',
        'f.principal_line_id',
        'p.cycle as principal_cycle',
        'p.item_code as principal_item',
        'p.amount_fen as principal_fen',
        'f.subscriber_id',
        'f.cycle',
        'f.due_date',
        'f.first_day',
        'f.last_day',
        'f.days',
        'f.base_fen_days',
        'f.rate_per_10k',
        'f.computed_fen',
        'f.amount_fen',
        'f.waived_fen',
        'f.late_fee_line_id',
        'l.paid_fen',
        'f.created_at',
      ])
      .where('f.account_id', '=', accountId)
      .orderBy('f.accrual_id')
      .execute();
  },
};

type AccrualRow = Awaited<ReturnType<typeof lateFeeRepo.accrualsOf>>[number];

function accrualView(r: AccrualRow) {
  return {
    accrualId: r.accrual_id,
    principal: { lineId: r.principal_line_id, cycle: r.principal_cycle, item: r.principal_item, amountFen: r.principal_fen },
    subscriberId: r.subscriber_id,
    cycle: r.cycle,
    dueDate: r.due_date,
    firstDay: r.first_day,
    lastDay: r.last_day,
    days: r.days,
    baseFenDays: r.base_fen_days,
    ratePer10k: r.rate_per_10k,
    computedFen: r.computed_fen,
    amountFen: r.amount_fen,
    lateFeeLineId: r.late_fee_line_id,
    paidFen: r.paid_fen ?? 0,
    waivedFen: r.waived_fen,
    openFen: r.late_fee_line_id === null ? 0 : r.amount_fen - (r.paid_fen ?? 0),
  };
}

const ACCRUAL = { zh: '滞纳金记录', en: 'Late fee' };
/** Late fees are charged by the bill run, not by an operator. */
const LATE_FEE_ACTOR = systemActor('late-fees');

export class LateFeeService {
  private readonly deps: { db: Db; clock: Clock; money: MoneyService };
  constructor(deps: { db: Db; clock: Clock; money: MoneyService }) {
    this.deps = deps;
  }

  async policy(q: Q = this.deps.db): Promise<LateFeePolicy> {
    return latefeePolicy(await lateFeeRepo.parameters(q));
  }

  /**
   * R-ACC-17: bills the late fee accrued during `cycle` on the account's overdue published bills of
   * earlier cycles as LATE_FEE lines on the cycle's bill, one per principal line. Idempotent: days
   * already charged are never charged again, so the bill run may call it again after a crash.
   */
  async chargeLateFees(tx: Tx, accountId: number, cycle: string) {
    const now = this.deps.clock.now();
    const today = businessDay(now);
    const since = cycleStart(cycle);
    const cycleLast = addDays(businessDay(cycleStart(addCycles(cycle, 1))), -1);
    const through = cycleLast < addDays(today, -1) ? cycleLast : addDays(today, -1);
    const empty = { accountId, cycle, chargedFen: 0, accruals: [] as ReturnType<typeof accrualView>[] };
    if (since.getTime() >= now.getTime()) return empty;
    // most accounts owe nothing overdue: one read, no lock
    if ((await lateFeeRepo.candidates(tx, accountId, cycle, since, through)).length === 0) return empty;
    await accountRepo.lockAccounts(tx, [accountId]);
    const rows = await lateFeeRepo.candidates(tx, accountId, cycle, since, through);
    if (rows.length === 0) return empty;
    const policy = await this.policy(tx);
    const history = await lateFeeRepo.writeOffsOf(
      tx,
      accountId,
      rows.map((r) => r.line_id),
    );
    const accruals: Accrual[] = [];
    for (const r of rows) {
      const stops = [r.cancelled_at, r.bad_debt_at].filter((d): d is Date => d !== null).map(businessDay);
      const a = accrue(
        {
          lineId: r.line_id,
          subscriberId: r.subscriber_id,
          cycle: r.cycle,
          amountFen: r.amount_fen,
          dueDate: billDueDate(r.cycle, r.due_at, policy.dueDay, r.issued_at),
          writeOffs: history.filter((h) => h.line_id === r.line_id).map((h) => ({ at: h.created_at, amountFen: h.amount_fen })),
          chargedThrough: r.charged_through,
          stopDay: stops.length ? stops.reduce((x, y) => (x < y ? x : y)) : null,
        },
        cycle,
        today,
        policy,
      );
      if (a) accruals.push(a);
    }
    if (accruals.length === 0) return empty;
    const amounts = applyCycleCap(
      accruals.map((a) => a.computedFen),
      await lateFeeRepo.billedInCycle(tx, accountId, cycle),
      policy.cycleCapFen,
    );
    const charged = accruals.map((a, i) => ({ ...a, amountFen: amounts[i] as Fen }));
    const toBill = charged.filter((a) => a.amountFen > 0);
    let bill: { billId: number; status: string } | null = null;
    const lineOf = new Map<number, number>();
    if (toBill.length) {
      bill = await lateFeeRepo.ensureBill(tx, accountId, cycle, now);
      const inserted = await tx
        .insertInto('bill_lines')
        .values(
          toBill.map((a) => ({
            account_id: accountId,
            bill_id: (bill as { billId: number }).billId,
            cycle,
            subscriber_id: a.subscriberId,
            item_code: LATE_FEE_ITEM,
            amount_fen: a.amountFen,
            relation_id: null,
            source: 'late_fee' as never,
            created_at: now,
          })),
        )
        .returning(['line_id'])
        .execute();
      toBill.forEach((a, i) => lineOf.set(a.lineId, (inserted[i] as { line_id: number }).line_id));
    }
    await tx
      .insertInto('late_fee_accruals')
      .values(
        charged.map((a) => ({
          account_id: accountId,
          principal_line_id: a.lineId,
          subscriber_id: a.subscriberId,
          cycle,
          due_date: a.dueDate,
          first_day: a.firstDay,
          last_day: a.lastDay,
          days: a.days,
          base_fen_days: a.baseFenDays,
          rate_per_10k: policy.ratePer10k,
          computed_fen: a.computedFen,
          amount_fen: a.amountFen,
          late_fee_line_id: lineOf.get(a.lineId) ?? null,
          created_at: now,
        })),
      )
      .execute();
    // a bill already published (no bill run pending) is written off at once, like a manual bill
    if (bill?.status === 'published') await this.deps.money.settle(tx, accountId, { kind: 'bill', id: bill.billId });
    const view = {
      accountId,
      cycle,
      billId: bill?.billId ?? null,
      chargedFen: toBill.reduce((s, a) => s + a.amountFen, 0),
      ratePer10k: policy.ratePer10k,
      accruals: charged.map((a) => ({ principalLineId: a.lineId, lateFeeLineId: lineOf.get(a.lineId) ?? null, firstDay: a.firstDay, lastDay: a.lastDay, days: a.days, computedFen: a.computedFen, amountFen: a.amountFen })),
    };
    await recordChange(
      tx,
      this.deps.clock,
      LATE_FEE_ACTOR,
      { action: 'late_fee.charge', targetType: 'account', targetId: accountId, accountId, after: view },
      { type: 'late_fee.charged', aggregateType: 'account', aggregateId: accountId, accountId, payload: view },
    );
    return { accountId, cycle, chargedFen: view.chargedFen, accruals: (await lateFeeRepo.accrualsOf(tx, accountId)).filter((r) => r.cycle === cycle).map(accrualView) };
  }

  /** The late-fee ledger of an account with what is paid, waived and open of each. */
  async list(accountId: number, q: Q = this.deps.db) {
    if (!(await accountRepo.accountById(q, accountId))) throw notFound({ zh: '帐户', en: 'Account' }, accountId);
    const rows = await lateFeeRepo.accrualsOf(q, accountId);
    return { accountId, policy: await this.policy(q), items: rows.map(accrualView) };
  }

  /**
   * R-ACC-17 滞纳金减免: with permission, waives (part of) what a late fee still owes. The money is a
   * discount grant written off on exactly that line, so conservation (R-ACC-18) needs nothing new.
   */
  async waive(actor: Actor, accrualId: number, input: { reason: string; amountFen?: Fen | undefined }) {
    if (!can(actor, 'late_fee.waive')) throw new DomainError('FORBIDDEN', '无权减免滞纳金', 'Not allowed to waive late fees', 403, { permission: 'late_fee.waive' });
    const found = await lateFeeRepo.accrualById(this.deps.db, accrualId);
    if (!found) throw notFound(ACCRUAL, accrualId);
    const accountId = found.account_id;
    return this.deps.db.transaction().execute(async (tx) => {
      await accountRepo.lockAccounts(tx, [accountId]);
      const a = (await lateFeeRepo.accrualById(tx, accrualId)) as NonNullable<typeof found>;
      const line = a.late_fee_line_id === null ? undefined : await tx.selectFrom('bill_lines').selectAll().where('account_id', '=', accountId).where('line_id', '=', a.late_fee_line_id).executeTakeFirst();
      const openFen = line ? line.amount_fen - line.paid_fen : 0;
      if (!line || openFen <= 0) {
        throw new DomainError('LATE_FEE_NOT_OPEN', '该滞纳金已结清或未计费，无可减免', 'Nothing of this late fee is open to waive', 409, { accrualId, openFen });
      }
      const amountFen = input.amountFen ?? openFen;
      if (amountFen > openFen) {
        throw new DomainError('WAIVER_ABOVE_OPEN', `减免金额超过未缴滞纳金 ${openFen} 分`, `The waiver is above the open late fee of ${openFen} fen`, 422, { openFen });
      }
      const now = this.deps.clock.now();
      const g = await moneyRepo.insertGrantWithBook(tx, {
        accountId,
        amountFen,
        bookType: 'discount',
        restrictedItems: [LATE_FEE_ITEM],
        subscriberId: line.subscriber_id,
        startAt: now,
        expiryAt: null,
        now,
        reason: `滞纳金减免 #${accrualId}: ${input.reason}`,
        actor,
      });
      await accountRepo.applyWriteOff(tx, accountId, [{ lineId: line.line_id, bookId: g.book_id, amountFen }], { kind: 'grant', id: g.grant_id }, now);
      await tx.updateTable('books').set({ closed_at: now }).where('account_id', '=', accountId).where('book_id', '=', g.book_id).execute();
      const w = await tx
        .insertInto('late_fee_waivers')
        .values({ account_id: accountId, accrual_id: accrualId, grant_id: g.grant_id, amount_fen: amountFen, reason: input.reason, operator_id: actor.operatorId, created_at: now })
        .returning('waiver_id')
        .executeTakeFirstOrThrow();
      await tx
        .updateTable('late_fee_accruals')
        .set((eb) => ({ waived_fen: eb('waived_fen', '+', amountFen) }))
        .where('account_id', '=', accountId)
        .where('accrual_id', '=', accrualId)
        .execute();
      const view = { waiverId: w.waiver_id, accrualId, accountId, lateFeeLineId: line.line_id, grantId: g.grant_id, amountFen, reason: input.reason };
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'late_fee.waive', targetType: 'late_fee', targetId: accrualId, accountId, before: { openFen }, after: view },
        { type: 'late_fee.waived', aggregateType: 'account', aggregateId: accountId, accountId, payload: view },
      );
      return { ...view, openFen: openFen - amountFen };
    });
  }
}
