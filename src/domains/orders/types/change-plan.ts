// CHANGE_PLAN 换套餐 (SPEC §7.2 R-ORD-11, §8.3 R-BND-16/17, §8.4, R-X-14): the catalog's compatibility
// rules decide; 'now' switches at once, 'next_cycle' is a reservation (预约单, R-ORD-5) that holds the
// subscriber's plan until the new plan starts on the 1st.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { addCycles, businessDay, cycleOf, cycleStart } from '../../../platform/clock.ts';
import { formatYuan } from '../../../platform/money.ts';
import { StrEnum } from '../../../platform/schemas.ts';
import { monthlyFeeFen, type Offer, offerName, planChangeFailures } from '../../catalog/rules.ts';
import { lifecycleFailures, loadSubscriber, planSubject, type SubscriberFacts, subscriberMissing, subscriberSubject, type Subscription } from '../facts.ts';
import type { BusinessType } from '../types.ts';

export const ChangePlanInput = Type.Object(
  {
    subscriberId: Type.Integer({ minimum: 1 }),
    planCode: Type.String({ minLength: 1, maxLength: 40 }),
    /** 'now': at once; 'next_cycle': a reservation effective 00:00 on the 1st of next month (Asia/Shanghai) */
    effective: StrEnum(['now', 'next_cycle'] as const),
  },
  { additionalProperties: false },
);

export interface ChangePlanIn {
  subscriberId: number;
  planCode: string;
  effective: 'now' | 'next_cycle';
}

export interface ChangePlanFacts {
  subscriber: SubscriberFacts | null;
  to: Offer | undefined;
}

/** The instant the change takes effect. */
export function effectiveAt(effective: ChangePlanIn['effective'], now: Date): Date {
  return effective === 'now' ? now : cycleStart(addCycles(cycleOf(now), 1));
}

type CurrentPlan = Subscription & { offer: Offer | undefined };

/** The subscriber's own plan (not a package membership), with its offer. */
function ownPlan(s: SubscriberFacts): (CurrentPlan & { offer: Offer }) | null {
  const p = s.plan;
  return p && p.kind === 'plan' && p.offer ? { ...p, offer: p.offer } : null;
}

/** R-X-14: an agreement still running when the change takes effect is carried to the new plan. */
function runningAgreement(p: CurrentPlan | null, at: Date): { minimumSpendFen: number; termEndsAt: Date } | undefined {
  if (!p || p.minimumSpendFen <= 0 || !p.termEndsAt || p.termEndsAt.getTime() <= at.getTime()) return undefined;
  return { minimumSpendFen: p.minimumSpendFen, termEndsAt: p.termEndsAt };
}

export const changePlan: BusinessType<ChangePlanIn, ChangePlanFacts> = {
  code: 'CHANGE_PLAN',
  name: { zh: '换套餐', en: 'Change plan' },
  input: ChangePlanInput,
  sensitive: false,

  refs: (i) => ({ subscriberId: i.subscriberId }),

  async load(c, i) {
    const [subscriber, to] = await Promise.all([loadSubscriber(c, i.subscriberId), c.services.catalog.offer(i.planCode, c.q)]);
    return { subscriber, to };
  },

  check(f, i, env) {
    const s = f.subscriber;
    const out: CheckFailure[] = [...subscriberMissing(s, i.subscriberId), ...lifecycleFailures(s)];
    if (!f.to) {
      out.push(failure('OFFER_NOT_FOUND', { zh: `产品不存在：${i.planCode}`, en: `No such offer: ${i.planCode}` }, { zh: '请重新选择套餐', en: 'Choose the plan again' }, { offerCode: i.planCode }));
    }
    if (!s) return out;
    // e9 and other packages: the member's plan is the package's; it changes with the whole package
    if (s.packageId !== null || (s.plan?.packageId ?? null) !== null || s.plan?.kind === 'package') {
      out.push(
        failure(
          'PLAN_IN_PACKAGE',
          { zh: `用户 ${s.serviceNumber} 是融合套餐成员，不能单独换套餐`, en: `Subscriber ${s.serviceNumber} is a package member; its plan cannot change alone` },
          { zh: '请办理融合套餐变更或先退出融合套餐', en: 'Change the whole package, or leave the package first' },
          { packageId: s.packageId ?? s.plan?.packageId ?? null },
        ),
      );
      return out;
    }
    if (f.to) {
      const p = ownPlan(s);
      out.push(...planChangeFailures(p && { offer: p.offer, termEndsAt: p.termEndsAt, minimumSpendFen: p.minimumSpendFen }, f.to, s.network, env.now));
    }
    return out;
  },

  quote: () => [],

  describe(f, i, env) {
    const s = f.subscriber;
    const p = s ? ownPlan(s) : null;
    const at = effectiveAt(i.effective, env.now);
    const out: { label: Text; value: string }[] = [];
    if (s) out.push({ label: { zh: '号码', en: 'Number' }, value: s.serviceNumber });
    out.push({ label: { zh: '原套餐', en: 'Current plan' }, value: p ? `${offerName(p.offer).zh}（${formatYuan(monthlyFeeFen(p.offer))} 元/月）` : '—' });
    if (f.to) out.push({ label: { zh: '新套餐', en: 'New plan' }, value: `${offerName(f.to).zh}（${formatYuan(monthlyFeeFen(f.to))} 元/月）` });
    out.push({ label: { zh: '生效时间', en: 'Effective' }, value: i.effective === 'now' ? `立即（${businessDay(at)}）` : `下月 1 日（${businessDay(at)}，预约）` });
    const kept = runningAgreement(p, at);
    if (kept) out.push({ label: { zh: '保底协议', en: 'Minimum spend' }, value: `${formatYuan(kept.minimumSpendFen)} 元/月，至 ${businessDay(kept.termEndsAt)}` });
    return out;
  },

  notices(f, i, env) {
    if (i.effective !== 'next_cycle' || !f.to) return [];
    const day = businessDay(effectiveAt(i.effective, env.now));
    return [
      {
        zh: `新套餐 ${f.to.nameZh} 于 ${day} 生效；生效前该号码不能办理其他冲突业务（预约单）。`,
        en: `${f.to.nameEn} takes effect on ${day}; until then the number cannot take conflicting orders (reservation).`,
      },
    ];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId), planSubject(i.subscriberId)],

  async apply(c, f, i) {
    const s = f.subscriber as SubscriberFacts;
    const to = f.to as Offer;
    const at = effectiveAt(i.effective, c.now);
    const old = ownPlan(s);
    if (old) await c.services.catalog.unsubscribe(c.tx, c.actor, [{ subscriberOfferId: old.subscriberOfferId, subscriberId: s.subscriberId, offerCode: old.offerCode }], at, c.orderId);
    const [row] = await c.services.catalog.subscribe(c.tx, c.actor, [{ subscriberId: s.subscriberId, offer: to, orderId: c.orderId, startsAt: at, keepAgreement: runningAgreement(old, at) }]);
    // the brand follows the plan at once; for a reservation it changes when the new plan starts (not tracked here)
    if (i.effective === 'now' && to.brandCode && to.brandCode !== s.brandCode) await c.services.accounts.setBrandAndPackage(c.tx, c.actor, s.subscriberId, { brandCode: to.brandCode });
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      result: {
        from: old?.offerCode ?? null,
        to: to.offerCode,
        effective: i.effective,
        effectiveAt: at.toISOString(),
        subscriberOfferId: row?.subscriber_offer_id ?? null,
        minimumSpendFen: row?.minimum_spend_fen ?? 0,
        termEndsAt: row?.term_ends_at?.toISOString() ?? null,
      },
      // R-ORD-5: until the 1st the reservation blocks other plan/product changes of the subscriber, not
      // its payments, suspension, loss or resumption (R-X-4: a reopen is never held up)
      reservation: i.effective === 'next_cycle' ? { until: at, subjects: [planSubject(s.subscriberId)] } : undefined,
    };
  },
};
