// Catalog rules (SPEC §8.4, R-ORD-11, R-BND-16, R-BND-17, R-X-14, R-E9-4): pure functions over plain offers.
import { type CheckFailure, failure } from '../../platform/checks.ts';
import { addCycles, cycleDays, cycleOf, dayOfCycle } from '../../platform/clock.ts';
import { type Fen, prorate } from '../../platform/money.ts';
import type { Network, OfferKind, OfferMember } from '../../platform/schema.ts';

export interface Offer {
  offerCode: string;
  kind: OfferKind;
  nameZh: string;
  nameEn: string;
  brandCode: string | null;
  network: Network | null;
  validFrom: Date;
  validTo: Date | null;
  allowedPredecessors: string[] | null;
  forbiddenSwitches: string[];
  members: OfferMember[] | null;
  linkage: 'immediate' | 'next_cycle_if_funded' | null;
  requiresSmsConfirmation: boolean;
  minimumSpendFen: Fen;
  termMonths: number;
  customerSegment: 'personal' | 'family' | 'group' | null;
  attributes: Record<string, unknown>;
  charges: { kind: 'recurring' | 'one_off'; itemCode: string; memberRole: string | null; amountFen: Fen }[];
  /** kind 'bundle' (SPEC §8): the bundle's terms and monthly grant items; null for other kinds */
  bundle: BundleTerms | null;
}

/** One month's grant of a bundle member (R-BND-7): money into a discount book, or a function-fee pack (3G). */
export interface BundleGrantItem {
  seq: number;
  role: string;
  kind: 'money' | 'pack';
  amountFen: Fen | null;
  restrictedItems: string[] | null;
  packOfferCode: string | null;
  name: { zh: string; en: string };
}

/** The terms of a bundle offer (bundle_offers, SPEC §8.1–8.3). */
export interface BundleTerms {
  generation: '2G' | '3G' | 'other';
  /** R-BND-4 */
  requiresJointAccount: boolean;
  /** R-BND-2 */
  requiresSameNumber: boolean;
  /** R-BND-9: the two roles set as mutual family numbers each month */
  familyRoles: string[] | null;
  /** §8.2: 3G contract plans may join */
  allowsContractPlans: boolean;
  /** R-BND-16 */
  oncePerMonth: boolean;
  grants: BundleGrantItem[];
}

/** §8.4: an offer is online inside its validity window; outside it is expired (still queryable). */
export function isOnline(o: Pick<Offer, 'validFrom' | 'validTo'>, now: Date): boolean {
  return o.validFrom.getTime() <= now.getTime() && (o.validTo === null || now.getTime() < o.validTo.getTime());
}

export function offerName(o: Pick<Offer, 'nameZh' | 'nameEn'>) {
  return { zh: o.nameZh, en: o.nameEn };
}

/** Monthly recurring fee of an offer, for one member role or (role undefined) in total. */
export function monthlyFeeFen(o: Pick<Offer, 'charges'>, memberRole?: string | null): Fen {
  return o.charges
    .filter((c) => c.kind === 'recurring' && (memberRole === undefined || c.memberRole === memberRole))
    .reduce((s, c) => s + c.amountFen, 0);
}

/** The offer can be sold now on this network. */
export function saleFailures(o: Offer, now: Date, network?: Network): CheckFailure[] {
  const out: CheckFailure[] = [];
  if (!isOnline(o, now)) {
    out.push(
      failure(
        'OFFER_NOT_ONLINE',
        { zh: `${o.nameZh} 不在有效期内，已下线`, en: `${o.nameEn} is outside its validity window (expired)` },
        { zh: '请选择在售的产品', en: 'Choose an offer that is on sale' },
        { offerCode: o.offerCode },
      ),
    );
  }
  if (network && o.network && o.network !== network) {
    out.push(
      failure(
        'OFFER_NETWORK_MISMATCH',
        { zh: `${o.nameZh} 不适用于该网络类型`, en: `${o.nameEn} does not apply to network ${network}` },
        { zh: '请选择与用户网络类型相符的产品', en: 'Choose an offer for the subscriber’s network' },
        { offerCode: o.offerCode, network },
      ),
    );
  }
  return out;
}

/**
 * R-ORD-11 plan change: the target must be on sale for the network, R-BND-16 forbidden switches hold
 * in both directions, R-BND-17 a plan with allowed predecessors only accepts those, R-X-14 a
 * minimum-spend term blocks moving to a cheaper plan before it ends.
 */
export function planChangeFailures(
  from: { offer: Offer; termEndsAt: Date | null; minimumSpendFen: Fen } | null,
  to: Offer,
  network: Network,
  now: Date,
): CheckFailure[] {
  const out = saleFailures(to, now, network);
  if (to.kind !== 'plan') {
    out.push(failure('NOT_A_PLAN', { zh: `${to.nameZh} 不是主套餐`, en: `${to.nameEn} is not a plan` }, { zh: '请选择主套餐', en: 'Choose a plan' }, { offerCode: to.offerCode }));
  }
  if (!from) return out;
  const f = from.offer;
  if (f.offerCode === to.offerCode) {
    out.push(failure('SAME_PLAN', { zh: '新套餐与当前套餐相同', en: 'The new plan is the current plan' }, { zh: '请选择另一个套餐', en: 'Choose another plan' }));
  }
  if (f.forbiddenSwitches.includes(to.offerCode) || to.forbiddenSwitches.includes(f.offerCode)) {
    out.push(
      failure(
        'PLAN_SWITCH_FORBIDDEN',
        { zh: `${f.nameZh} 与 ${to.nameZh} 之间不能互相转换`, en: `Switching between ${f.nameEn} and ${to.nameEn} is not allowed` },
        { zh: '请选择其他套餐，或先退订现有套餐', en: 'Choose another plan, or end the current one first' },
        { from: f.offerCode, to: to.offerCode },
      ),
    );
  }
  if (to.allowedPredecessors && !to.allowedPredecessors.includes(f.offerCode)) {
    out.push(
      failure(
        'PLAN_PREDECESSOR_REQUIRED',
        { zh: `只有 ${to.allowedPredecessors.join('、')} 用户可以办理 ${to.nameZh}`, en: `Only subscribers on ${to.allowedPredecessors.join(', ')} may change to ${to.nameEn}` },
        { zh: '该用户不符合办理条件，请推荐其他套餐', en: 'The subscriber does not qualify; offer another plan' },
        { from: f.offerCode, to: to.offerCode, allowed: to.allowedPredecessors },
      ),
    );
  }
  if (from.termEndsAt && from.termEndsAt.getTime() > now.getTime() && monthlyFeeFen(to) < from.minimumSpendFen) {
    out.push(
      failure(
        'MINIMUM_SPEND_TERM',
        {
          zh: `当前套餐有保底消费协议，${from.termEndsAt.toISOString().slice(0, 10)} 前不能改为更低的套餐`,
          en: `The current plan has a minimum-spend agreement; no cheaper plan before ${from.termEndsAt.toISOString().slice(0, 10)}`,
        },
        { zh: '请选择月费不低于保底金额的套餐，或到期后再办理', en: 'Choose a plan at or above the minimum spend, or wait for the term to end' },
        { minimumSpendFen: from.minimumSpendFen, termEndsAt: from.termEndsAt.toISOString() },
      ),
    );
  }
  return out;
}

/** R-BIL-4 / R-BIL-8: the rent of the activation cycle, pro rata by the days left including the activation day. */
export function firstCycleRentFen(monthlyFen: Fen, activatedAt: Date): Fen {
  const cycle = cycleOf(activatedAt);
  const days = cycleDays(cycle);
  return prorate(monthlyFen, days - dayOfCycle(activatedAt) + 1, days);
}

/**
 * R-E9-4: when only the free-use credit pays the mobile's advance monthly rent (R-BIL-8: charged on
 * the 1st, the activation cycle pro rata), the first cycle whose rent the credit cannot cover. The
 * month counts the activation month as month 1; null when nothing is charged.
 */
export function creditExhaustion(creditFen: Fen, monthlyFen: Fen, activatedAt: Date): { cycle: string; month: number } | null {
  if (monthlyFen <= 0) return null;
  let left = creditFen - firstCycleRentFen(monthlyFen, activatedAt);
  let month = 1;
  const first = cycleOf(activatedAt);
  while (left >= 0) {
    month += 1;
    left -= monthlyFen;
  }
  return { cycle: addCycles(first, month - 1), month };
}
