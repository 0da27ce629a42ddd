// Bill-run rules: pure functions, no I/O. R-BIL-4 (pro rata by day), R-BIL-8 (virtual accounts pay
// rent in advance), R-X-14 (minimum-spend shortfall), R-BIL-9 (anomalies), R-BIL-7 (rate, ETA).
import { addCycles, compareCycles, cycleDays, cycleOf, cycleStart, dayOfCycle } from '../../platform/clock.ts';
import { type Fen, prorate } from '../../platform/money.ts';

const DAY_MS = 86_400_000;
const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;

/** The business day (Asia/Shanghai) of an instant as a day number. */
export function dayNumber(d: Date): number {
  return Math.floor((d.getTime() + SHANGHAI_OFFSET_MS) / DAY_MS);
}

/**
 * R-BIL-4: the days of `cycle` an offer is in service. The day it starts counts, the day it ends does
 * not (an offer ended at 10:00 on the 15th served 1st–14th; the plan that replaced it serves from the
 * 15th), so a plan change splits the month without a day paid twice or lost.
 */
export function daysInService(cycle: string, startedAt: Date, endedAt: Date | null): number {
  const from = Math.max(dayNumber(cycleStart(cycle)), dayNumber(startedAt));
  const to = Math.min(dayNumber(cycleStart(addCycles(cycle, 1))), endedAt === null ? Number.POSITIVE_INFINITY : dayNumber(endedAt));
  return Math.max(0, to - from);
}

/** A subscribed offer with its recurring charges, as the bill run reads it. */
export interface SubscribedOffer {
  subscriberOfferId: number;
  subscriberId: number;
  /** the holder's role in a package (charges with a role go to the member holding it) */
  memberRole: string | null;
  startedAt: Date;
  endedAt: Date | null;
  minimumSpendFen: Fen;
  termEndsAt: Date | null;
  charges: { seq: number; itemCode: string; memberRole: string | null; amountFen: Fen }[];
}

export interface RecurringCharge {
  subscriberId: number;
  subscriberOfferId: number;
  chargeSeq: number;
  kind: 'recurring' | 'minimum_spend';
  itemCode: string;
  amountFen: Fen;
  days: number;
  cycleDays: number;
}

/** A package charge with a role is the member's with that role; a charge without one is the holder's. */
function chargeApplies(o: SubscribedOffer, c: { memberRole: string | null }): boolean {
  return c.memberRole === null || c.memberRole === o.memberRole;
}

/**
 * R-BIL-4: recurring fees of a postpaid cycle, each offer pro rata by its own days in service
 * (activation, cancellation, plan change mid-month), half-up to the fen. Zero amounts are left out.
 */
export function recurringCharges(cycle: string, offers: readonly SubscribedOffer[]): RecurringCharge[] {
  const whole = cycleDays(cycle);
  const out: RecurringCharge[] = [];
  for (const o of offers) {
    const days = daysInService(cycle, o.startedAt, o.endedAt);
    if (days === 0) continue;
    for (const c of o.charges) {
      if (!chargeApplies(o, c)) continue;
      const amountFen = prorate(c.amountFen, days, whole);
      if (amountFen > 0) out.push({ subscriberId: o.subscriberId, subscriberOfferId: o.subscriberOfferId, chargeSeq: c.seq, kind: 'recurring', itemCode: c.itemCode, amountFen, days, cycleDays: whole });
    }
  }
  return out;
}

/**
 * R-X-14: when a subscriber's charges of the month stay below the floor of a running minimum-spend
 * agreement (pro rata by the agreement's days in service), the difference is charged as MIN_SPEND.
 * Of several agreements the highest floor counts. `monthFen` is everything else charged this cycle.
 */
export function minimumSpendShortfall(cycle: string, offers: readonly SubscribedOffer[], monthFen: Fen): RecurringCharge | null {
  const whole = cycleDays(cycle);
  const start = cycleStart(cycle);
  let best: RecurringCharge | null = null;
  for (const o of offers) {
    if (o.minimumSpendFen <= 0) continue;
    if (o.termEndsAt !== null && o.termEndsAt.getTime() <= start.getTime()) continue;
    const days = daysInService(cycle, o.startedAt, o.endedAt);
    if (days === 0) continue;
    const floor = prorate(o.minimumSpendFen, days, whole);
    const shortfall = floor - monthFen;
    if (shortfall > 0 && (best === null || shortfall > best.amountFen)) {
      best = { subscriberId: o.subscriberId, subscriberOfferId: o.subscriberOfferId, chargeSeq: 0, kind: 'minimum_spend', itemCode: 'MIN_SPEND', amountFen: shortfall, days, cycleDays: whole };
    }
  }
  return best;
}

/**
 * R-BIL-8: a virtual account pays rent in advance. For every cycle from the offer's start up to
 * `now`'s cycle: the start cycle pro rata from the start day to the month's end (as
 * firstCycleRentFen), every later cycle in full if the offer is still in service on its 1st.
 * `charged` holds the keys already in the ledger ("cycle/seq"); those are left out.
 */
export function advanceRentCharges(o: SubscribedOffer, now: Date, charged: ReadonlySet<string>): (RecurringCharge & { cycle: string })[] {
  const out: (RecurringCharge & { cycle: string })[] = [];
  if (o.startedAt.getTime() > now.getTime()) return out;
  const first = cycleOf(o.startedAt);
  const last = cycleOf(now);
  for (let c = first; compareCycles(c, last) <= 0; c = addCycles(c, 1)) {
    const whole = cycleDays(c);
    let days: number;
    if (c === first) days = daysInService(c, o.startedAt, o.endedAt);
    else if (o.endedAt !== null && o.endedAt.getTime() <= cycleStart(c).getTime()) break;
    else days = whole;
    if (days === 0) continue;
    for (const ch of o.charges) {
      if (!chargeApplies(o, ch) || charged.has(`${c}/${ch.seq}`)) continue;
      const amountFen = prorate(ch.amountFen, days, whole);
      if (amountFen > 0) out.push({ cycle: c, subscriberId: o.subscriberId, subscriberOfferId: o.subscriberOfferId, chargeSeq: ch.seq, kind: 'recurring', itemCode: ch.itemCode, amountFen, days, cycleDays: whole });
    }
  }
  return out;
}

/**
 * The due date of a cycle's bill (R-ACC-17 counts late fees from it): 00:00 Asia/Shanghai on day
 * `dueDay` of the month after the cycle — a 2026-10 bill is due on 2026-11-20. A bill published after
 * that day (a late or re-run cycle) is due on day `dueDay` of the month after its publication, so the
 * customer always has time to pay. Late fees count from the stored `bills.due_at`; a manual bill
 * without one falls back to `billDueDate` in accounts/late-fees.ts.
 */
export function dueDate(cycle: string, publishedAt: Date, dueDay: number): Date {
  const onDay = (c: string) => new Date(cycleStart(c).getTime() + (Math.min(Math.max(1, dueDay), cycleDays(c)) - 1) * DAY_MS);
  const byCycle = onDay(addCycles(cycle, 1));
  return byCycle.getTime() >= startOfBusinessDay(publishedAt).getTime() ? byCycle : onDay(addCycles(cycleOf(publishedAt), 1));
}

/** 00:00 Asia/Shanghai of the day containing `d`. */
function startOfBusinessDay(d: Date): Date {
  return new Date(cycleStart(cycleOf(d)).getTime() + (dayOfCycle(d) - 1) * DAY_MS);
}

/** R-BIL-9: a subscriber's bill far above its usual: more than `factor` × its recent average and above a floor. */
export function isAnomaly(totalFen: Fen, averageFen: Fen | null, factor: number, minFen: Fen): boolean {
  if (averageFen === null || totalFen < minFen) return false;
  return totalFen > averageFen * factor;
}

/** R-BIL-7: accounts per second and seconds left, from what is done and the time spent. */
export function progress(done: number, total: number, elapsedMs: number): { ratePerSecond: number; etaSeconds: number | null } {
  if (done <= 0 || elapsedMs <= 0) return { ratePerSecond: 0, etaSeconds: done >= total ? 0 : null };
  const rate = done / (elapsedMs / 1000);
  return { ratePerSecond: Math.round(rate * 10) / 10, etaSeconds: Math.ceil(Math.max(0, total - done) / rate) };
}
