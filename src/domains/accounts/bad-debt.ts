// Bad debt (坏账核销, R-BIL-10): a closed account's published bill lines still unpaid after the last
// credit-control step (every subscriber on them cancelled, due long enough ago) are written off as bad
// debt by permission. No money moves: the lines stay open and visible, stop counting as arrears, and
// a later payment (fee recovery, R-ORD-9) still writes them off — the record then shows what was
// recovered. R-ACC-18 is untouched because a bad-debt record is not a payment, grant or write-off.
import { sql } from 'kysely';
import { type Actor, can } from '../../platform/audit.ts';
import { businessDay, type Clock } from '../../platform/clock.ts';
import type { Db, Q } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Fen } from '../../platform/money.ts';
import { recordChange } from '../../platform/outbox.ts';
import { addDays, billDueDate, POLICY_PARAMETERS } from './late-fees.ts';
import { accountRepo } from './repo.ts';

const ACCOUNT = { zh: '帐户', en: 'Account' };
const OVERDUE_DAYS = 'bad_debt_after_overdue_days';

interface OpenLineRow {
  line_id: number;
  bill_id: number;
  cycle: string;
  subscriber_id: number;
  item_code: string;
  amount_fen: number;
  paid_fen: number;
  due_at: Date | null;
  issued_at: Date;
  lifecycle: string;
  bad_debt_id: number | null;
}

/** R-BIL-10: which lines may be written off as bad debt today, and why the others may not. */
export function badDebtEligibility(
  lines: readonly { lineId: number; cycle: string; dueAt: Date | null; issuedAt?: Date; lifecycle: string; alreadyBadDebt: boolean }[],
  today: string,
  policy: { dueDay: number; afterOverdueDays: number },
): { eligible: number[]; refused: { lineId: number; reason: 'already_bad_debt' | 'subscriber_not_cancelled' | 'not_overdue_long_enough'; eligibleFrom?: string }[] } {
  const eligible: number[] = [];
  const refused: { lineId: number; reason: 'already_bad_debt' | 'subscriber_not_cancelled' | 'not_overdue_long_enough'; eligibleFrom?: string }[] = [];
  for (const l of lines) {
    if (l.alreadyBadDebt) refused.push({ lineId: l.lineId, reason: 'already_bad_debt' });
    else if (l.lifecycle !== 'cancelled') refused.push({ lineId: l.lineId, reason: 'subscriber_not_cancelled' });
    else {
      const from = addDays(billDueDate(l.cycle, l.dueAt, policy.dueDay, l.issuedAt), policy.afterOverdueDays);
      if (today < from) refused.push({ lineId: l.lineId, reason: 'not_overdue_long_enough', eligibleFrom: from });
      else eligible.push(l.lineId);
    }
  }
  return { eligible, refused };
}

const badDebtRepo = {
  async openPublishedLines(q: Q, accountId: number): Promise<OpenLineRow[]> {
    const r = await sql<OpenLineRow>`
      SELECT l.line_id, l.bill_id, l.cycle, l.subscriber_id, l.item_code, l.amount_fen, l.paid_fen, b.due_at, b.created_at AS issued_at, s.lifecycle, bl.bad_debt_id
        FROM bill_lines l
        JOIN bills b ON b.account_id = l.account_id AND b.bill_id = l.bill_id
        JOIN subscribers s ON s.subscriber_id = l.subscriber_id
        LEFT JOIN bad_debt_lines bl ON bl.account_id = l.account_id AND bl.line_id = l.line_id
       WHERE l.account_id = ${accountId} AND l.paid_fen < l.amount_fen AND b.status = 'published'
       ORDER BY l.cycle, l.line_id`.execute(q);
    return r.rows;
  },
  async parameters(q: Q) {
    const rows = await q.selectFrom('business_parameters').select(['key', 'value']).where('key', 'in', [OVERDUE_DAYS, POLICY_PARAMETERS.dueDay]).execute();
    const m = new Map(rows.map((r) => [r.key, Number(r.value)]));
    return { afterOverdueDays: m.get(OVERDUE_DAYS) ?? 90, dueDay: m.get(POLICY_PARAMETERS.dueDay) ?? 20 };
  },
  /** Bad-debt records with their lines; recovered = what the line was paid beyond its paid amount at the write-off. */
  async records(q: Q, accountId: number) {
    const r = await sql<{
      bad_debt_id: number;
      amount_fen: number;
      reason: string;
      operator_id: number | null;
      department_id: string | null;
      created_at: Date;
      line_id: number;
      cycle: string;
      subscriber_id: number;
      item_code: string;
      line_amount_fen: number;
      written_off_fen: number;
      paid_before_fen: number;
      paid_fen: number;
    }>`
      SELECT d.bad_debt_id, d.amount_fen, d.reason, d.operator_id, d.department_id, d.created_at,
             bl.line_id, l.cycle, l.subscriber_id, l.item_code, l.amount_fen AS line_amount_fen,
             bl.amount_fen AS written_off_fen, bl.paid_before_fen, l.paid_fen
        FROM bad_debts d
        JOIN bad_debt_lines bl ON bl.account_id = d.account_id AND bl.bad_debt_id = d.bad_debt_id
        JOIN bill_lines l ON l.account_id = bl.account_id AND l.line_id = bl.line_id
       WHERE d.account_id = ${accountId}
       ORDER BY d.bad_debt_id, bl.line_id`.execute(q);
    return r.rows;
  },
};

export class BadDebtService {
  private readonly deps: { db: Db; clock: Clock };
  constructor(deps: { db: Db; clock: Clock }) {
    this.deps = deps;
  }

  /**
   * R-BIL-10: writes off the account's eligible open lines (all of them, or the listed ones) as bad
   * debt. Refused unless the account is closed; a listed line that is not eligible refuses the lot.
   */
  async writeOff(actor: Actor, accountId: number, input: { reason: string; lineIds?: number[] | undefined }) {
    if (!can(actor, 'bad_debt.write_off')) throw new DomainError('FORBIDDEN', '无权核销坏账', 'Not allowed to write off bad debt', 403, { permission: 'bad_debt.write_off' });
    return this.deps.db.transaction().execute(async (tx) => {
      const [acc] = await accountRepo.lockAccounts(tx, [accountId]);
      if (!acc) throw notFound(ACCOUNT, accountId);
      if (acc.status !== 'closed') {
        throw new DomainError('ACCOUNT_NOT_CLOSED', '只有已关闭（销户）的帐户才能核销坏账', 'Only a closed account’s bills can be written off as bad debt', 409);
      }
      const now = this.deps.clock.now();
      const policy = await badDebtRepo.parameters(tx);
      const open = await badDebtRepo.openPublishedLines(tx, accountId);
      const wanted = input.lineIds ? [...new Set(input.lineIds)] : null;
      if (wanted) {
        const missing = wanted.filter((id) => !open.some((l) => l.line_id === id));
        if (missing.length) {
          throw new DomainError('LINE_NOT_OPEN', `帐单明细不存在、未出正式帐或已结清：${missing.join(',')}`, `Bill lines not open on a published bill of this account: ${missing.join(',')}`, 422, { lineIds: missing });
        }
      }
      const considered = open.filter((l) => (wanted ? wanted.includes(l.line_id) : l.bad_debt_id === null));
      const { eligible, refused } = badDebtEligibility(
        considered.map((l) => ({ lineId: l.line_id, cycle: l.cycle, dueAt: l.due_at, issuedAt: l.issued_at, lifecycle: l.lifecycle, alreadyBadDebt: l.bad_debt_id !== null })),
        businessDay(now),
        policy,
      );
      if (refused.length && wanted) {
        throw new DomainError('BAD_DEBT_NOT_ALLOWED', '所选帐单明细尚不能核销坏账', 'Some of the chosen lines cannot be written off as bad debt yet', 409, { refused });
      }
      if (eligible.length === 0) {
        throw new DomainError('NOTHING_TO_WRITE_OFF', '没有可核销的坏账', 'Nothing can be written off as bad debt', 409, { refused });
      }
      const lines = open.filter((l) => eligible.includes(l.line_id));
      const total: Fen = lines.reduce((s, l) => s + l.amount_fen - l.paid_fen, 0);
      const d = await tx
        .insertInto('bad_debts')
        .values({ account_id: accountId, amount_fen: total, reason: input.reason, operator_id: actor.operatorId, department_id: actor.departmentId, created_at: now })
        .returning('bad_debt_id')
        .executeTakeFirstOrThrow();
      await tx
        .insertInto('bad_debt_lines')
        .values(lines.map((l) => ({ account_id: accountId, line_id: l.line_id, bad_debt_id: d.bad_debt_id, amount_fen: l.amount_fen - l.paid_fen, paid_before_fen: l.paid_fen })))
        .execute();
      const view = {
        badDebtId: d.bad_debt_id,
        accountId,
        amountFen: total,
        reason: input.reason,
        lines: lines.map((l) => ({ lineId: l.line_id, cycle: l.cycle, subscriberId: l.subscriber_id, item: l.item_code, amountFen: l.amount_fen - l.paid_fen })),
        skipped: refused,
      };
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'bad_debt.write_off', targetType: 'account', targetId: accountId, accountId, after: view },
        { type: 'bad_debt.written_off', aggregateType: 'account', aggregateId: accountId, accountId, payload: view },
      );
      return view;
    });
  }

  /** Bad-debt records of an account with what has been recovered since, line by line. */
  async list(accountId: number, q: Q = this.deps.db) {
    if (!(await accountRepo.accountById(q, accountId))) throw notFound(ACCOUNT, accountId);
    const rows = await badDebtRepo.records(q, accountId);
    const records = new Map<number, { badDebtId: number; amountFen: Fen; recoveredFen: Fen; outstandingFen: Fen; reason: string; operatorId: number | null; departmentId: string | null; createdAt: string; lines: unknown[] }>();
    for (const r of rows) {
      const rec = records.get(r.bad_debt_id) ?? {
        badDebtId: r.bad_debt_id,
        amountFen: r.amount_fen,
        recoveredFen: 0,
        outstandingFen: 0,
        reason: r.reason,
        operatorId: r.operator_id,
        departmentId: r.department_id,
        createdAt: r.created_at.toISOString(),
        lines: [],
      };
      const recovered = Math.max(0, Math.min(r.written_off_fen, r.paid_fen - r.paid_before_fen));
      rec.recoveredFen += recovered;
      rec.outstandingFen += r.written_off_fen - recovered;
      rec.lines.push({ lineId: r.line_id, cycle: r.cycle, subscriberId: r.subscriber_id, item: r.item_code, amountFen: r.written_off_fen, recoveredFen: recovered, openFen: r.line_amount_fen - r.paid_fen });
      records.set(r.bad_debt_id, rec);
    }
    const items = [...records.values()];
    return {
      accountId,
      writtenOffFen: items.reduce((s, x) => s + x.amountFen, 0),
      recoveredFen: items.reduce((s, x) => s + x.recoveredFen, 0),
      outstandingFen: items.reduce((s, x) => s + x.outstandingFen, 0),
      items,
    };
  }

  /** What of the account's open lines is bad debt (arrears leave it out, R-BIL-10). */
  async openBadDebtFen(accountId: number, q: Q = this.deps.db): Promise<Fen> {
    const r = await sql<{ s: number }>`
      SELECT coalesce(sum(l.amount_fen - l.paid_fen), 0)::bigint AS s
        FROM bad_debt_lines bl JOIN bill_lines l ON l.account_id = bl.account_id AND l.line_id = bl.line_id
       WHERE bl.account_id = ${accountId}`.execute(q);
    return Number(r.rows[0]?.s ?? 0);
  }
}
