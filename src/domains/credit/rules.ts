// Credit control (信控) rules: pure functions over plain data, no I/O. R-CC-1..4, R-X-1..3, R-BND-10.
import { addCycles, cycleOf, cycleStart } from '../../platform/clock.ts';
import type { Fen } from '../../platform/money.ts';
import type { BillingType, CreditState, Linkage, Network, StopReason } from '../../platform/schema.ts';

export const ARREARS_REASONS: readonly StopReason[] = ['arrears_one_way', 'arrears_two_way'];

export interface BalanceFacts {
  billingType: BillingType;
  /** books with money, started and not expired (R-ACC-4) */
  usableFen: Fen;
  /** open lines of published bills (R-BIL-9), due or not */
  unpaidFen: Fen;
  /** the part of unpaidFen not yet due (monthly bills before their due date) */
  notDueFen: Fen;
  /** rated usage of the current cycle not yet on a bill */
  unbilledUsageFen: Fen;
  creditLimitFen: Fen;
}

/** R-CC-1: 实时结余 = usable books − unpaid bills − unbilled usage of the current cycle + credit limit. */
export function realtimeBalance(b: BalanceFacts): Fen {
  return b.usableFen - b.unpaidFen - b.unbilledUsageFen + b.creditLimitFen;
}

/**
 * What the account's money says before any one subscriber's own lines: this cycle's usage racing
 * ahead of the books and the credit limit (R-CC-1 below zero). Published lines are left out: one
 * not yet due is the customer's time to pay (R-CC-4: a monthly line is arrears from its due date),
 * and an overdue one belongs to its subscriber, so a sibling's arrears never stop a paid-up line.
 */
export function racingBalance(b: BalanceFacts): Fen {
  return b.usableFen - b.unbilledUsageFen + b.creditLimitFen;
}

export type Judgement =
  | { verdict: 'ok'; rule: string }
  | { verdict: 'remind'; rule: string }
  | { verdict: 'arrears'; rule: string; arrearsFen: Fen };

/**
 * R-CC-4 each subscriber on its own: in arrears when its own published lines stay unpaid after
 * write-off (past their due date; `virtual` lines at once — the caller decides what is overdue), or
 * when a monthly/quota account's usage races below zero; a low balance (below the threshold) is a
 * reminder (R-CC-3).
 */
export function judge(p: { overdueFen: Fen; balance: BalanceFacts; thresholdFen: Fen }): Judgement {
  if (p.overdueFen > 0) return { verdict: 'arrears', rule: 'R-CC-4 own bill lines unpaid', arrearsFen: p.overdueFen };
  const racing = racingBalance(p.balance);
  if (p.balance.billingType !== 'virtual' && racing < 0) return { verdict: 'arrears', rule: 'R-CC-1 real-time balance below zero', arrearsFen: -racing };
  if (realtimeBalance(p.balance) < p.thresholdFen) return { verdict: 'remind', rule: 'R-CC-1 real-time balance below the reminder threshold' };
  return { verdict: 'ok', rule: 'R-CC-1 balance above the reminder threshold' };
}

export interface MemberState {
  network: Network;
  lifecycle: string;
  stopReasons: readonly StopReason[];
  vipExempt: boolean;
  state: CreditState | null;
  stoppedAt: Date | null;
  exemptUntil: Date | null;
  reopenUntil: Date | null;
}

export type Action =
  | { kind: 'none'; state: CreditState }
  | { kind: 'remind' }
  | { kind: 'exempt'; until: Date }
  | { kind: 'stop'; mode: 'one_way' | 'two_way' }
  | { kind: 'resume' };

export const isMobile = (n: Network | string): boolean => n === 'gsm2g' || n === 'wcdma3g';

/** The 1st of the month after `now` (Asia/Shanghai), 00:00. */
export function nextMonthStart(now: Date): Date {
  return cycleStart(addCycles(cycleOf(now), 1));
}

/**
 * What credit control does to one subscriber now, from its judgement and where it stands. R-X-2:
 * a mobile stops one-way first and two-way after the grace; other lines (broadband, fixed) have no
 * one-way mode and stop two-way at once; a VIP level is exempt until the 1st of next month; a
 * special reopen holds until it ends. R-X-1: only arrears reasons are cleared by credit control.
 */
export function decide(j: Judgement, m: MemberState, now: Date, graceMinutes: number): Action {
  const arrearsStopped = m.stopReasons.some((r) => ARREARS_REASONS.includes(r));
  if (j.verdict !== 'arrears') {
    if (arrearsStopped) return { kind: 'resume' };
    if (j.verdict === 'remind') return m.state === 'reminded' ? { kind: 'none', state: 'reminded' } : { kind: 'remind' };
    return { kind: 'none', state: 'ok' };
  }
  if (m.reopenUntil && now < m.reopenUntil) return { kind: 'none', state: 'reopened' };
  if (m.stopReasons.includes('arrears_two_way')) return { kind: 'none', state: 'stopped_two_way' };
  if (m.stopReasons.includes('arrears_one_way')) {
    const since = m.stoppedAt ?? now;
    return now.getTime() - since.getTime() >= graceMinutes * 60_000 ? { kind: 'stop', mode: 'two_way' } : { kind: 'none', state: 'stopped_one_way' };
  }
  if (m.vipExempt) {
    const until = m.exemptUntil ?? nextMonthStart(now);
    if (now < until) return { kind: 'exempt', until };
  }
  return { kind: 'stop', mode: isMobile(m.network) ? 'one_way' : 'two_way' };
}

/** The stop reasons after an action (R-X-1: the set keeps every non-arrears reason). */
export function reasonsAfter(reasons: readonly StopReason[], a: Action): { add: StopReason[]; remove: StopReason[] } {
  if (a.kind === 'stop') return a.mode === 'one_way' ? { add: ['arrears_one_way'], remove: [] } : { add: ['arrears_two_way'], remove: ['arrears_one_way'] };
  if (a.kind === 'resume') return { add: [], remove: reasons.filter((r) => ARREARS_REASONS.includes(r)) };
  return { add: [], remove: [] };
}

export interface PackageMember {
  subscriberId: number;
  network: Network;
  lifecycle: string;
  stopReasons: readonly StopReason[];
}

/**
 * R-CC-4 / R-X-3: the members that follow a member's arrears stop under a package's linkage — the
 * lines that depend on a mobile (broadband, fixed) — skipping lines with a pending or done
 * cancellation and, for a stop, lines already stopped for the bundle.
 */
export function dependents(cause: { subscriberId: number; network: Network }, members: readonly PackageMember[], linkage: Linkage | null, direction: 'stop' | 'resume'): PackageMember[] {
  if (!linkage || !isMobile(cause.network)) return [];
  return members.filter((m) => {
    if (m.subscriberId === cause.subscriberId || isMobile(m.network)) return false;
    if (m.lifecycle !== 'normal') return false;
    return direction === 'stop' ? !m.stopReasons.includes('bundle') : true;
  });
}

/** R-BND-10: on the 1st, the pending linked stop happens only if the cause is still stopped and the line still has fund money. */
export function linkedStopDue(p: { causeArrearsStopped: boolean; fundFen: Fen; stopAt: Date | null; now: Date }): 'stop' | 'drop' | 'wait' {
  if (!p.causeArrearsStopped) return 'drop';
  if (p.stopAt && p.now < p.stopAt) return 'wait';
  return p.fundFen > 0 ? 'stop' : 'drop';
}
