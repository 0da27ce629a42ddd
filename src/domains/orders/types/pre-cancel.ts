// 预销号 PRE_CANCEL (SPEC §7.2 R-ORD-8, seed 004 §6.3): only at designated halls, reason recorded,
// retention offered; international roaming or a high 3-month average bill takes an extra prepayment;
// the line stops and formal cancellation (R-ORD-9) is possible after `cancel_after_months`.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import type { Fen } from '../../../platform/money.ts';
import { StrEnum } from '../../../platform/schemas.ts';
import { addMonthsShanghai, day, hasInternational, inPersonFailures, yuan } from '../account-facts.ts';
import {
  type CustomerFacts,
  customerMissing,
  Documents,
  type DocumentsInput,
  documentFailures,
  lifecycleFailures,
  loadCustomer,
  loadSubscriber,
  ownerMismatch,
  planSubject,
  type SubscriberFacts,
  subscriberMissing,
  subscriberSubject,
} from '../facts.ts';
import type { BusinessType, OrderEnv, QuoteLine } from '../types.ts';

export const PRE_CANCEL_REASONS = ['moving', 'price', 'service', 'other'] as const;
export type PreCancelReason = (typeof PRE_CANCEL_REASONS)[number];
const REASON_NAMES: Record<PreCancelReason, Text> = {
  moving: { zh: '迁离本地', en: 'moving away' },
  price: { zh: '资费原因', en: 'price' },
  service: { zh: '服务或网络质量', en: 'service or network quality' },
  other: { zh: '其他', en: 'other' },
};
/** R-ORD-8: the 3-month average bill is taken over this many complete cycles. */
const AVERAGE_MONTHS = 3;

export const PreCancelInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    subscriberId: Type.Integer({ minimum: 1 }),
    documents: Documents,
    reasonCode: StrEnum(PRE_CANCEL_REASONS),
    /** 销号原因 as the customer manager recorded it */
    reason: Type.String({ maxLength: 200 }),
  },
  { additionalProperties: false },
);
export interface PreCancelIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  reasonCode: PreCancelReason;
  reason: string;
}

export interface PreCancelFacts {
  customer: CustomerFacts | null;
  subscriber: SubscriberFacts | null;
  billed: { cycles: string[]; totalFen: Fen } | null;
}

/** R-ORD-8: why an extra prepayment is taken (none: no prepayment). */
export function prepayReasons(f: PreCancelFacts, env: OrderEnv): Text[] {
  const out: Text[] = [];
  if (hasInternational(f.subscriber).roaming) out.push({ zh: '已开通国际漫游', en: 'international roaming is on' });
  const threshold = env.params.get('pre_cancel_avg_bill_fen') ?? 20000;
  // average > threshold ⇔ total > threshold × months: integer arithmetic, no rounding
  if (f.billed && f.billed.totalFen > threshold * AVERAGE_MONTHS) {
    const avg = Math.floor((2 * f.billed.totalFen + AVERAGE_MONTHS) / (2 * AVERAGE_MONTHS));
    out.push({ zh: `前 3 个月平均话费 ${yuan(avg)}，超过 ${yuan(threshold)}`, en: `the 3-month average bill ${yuan(avg)} is above ${yuan(threshold)}` });
  }
  return out;
}

export const cancellableFrom = (preCancelledAt: Date, env: OrderEnv) => addMonthsShanghai(preCancelledAt, env.params.get('cancel_after_months') ?? 3);

export const preCancel: BusinessType<PreCancelIn, PreCancelFacts> = {
  code: 'PRE_CANCEL',
  name: { zh: '预销号', en: 'Pre-cancellation' },
  input: PreCancelInput,
  sensitive: true,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [customer, subscriber] = await Promise.all([loadCustomer(c, i.customerId), loadSubscriber(c, i.subscriberId)]);
    const billed = subscriber ? await c.services.accounts.recentBilledFen(subscriber.subscriberId, AVERAGE_MONTHS, c.q) : null;
    return { customer, subscriber, billed };
  },

  check(f, i, env) {
    const s = f.subscriber;
    const out: CheckFailure[] = [
      ...customerMissing(f.customer, i.customerId),
      ...subscriberMissing(s, i.subscriberId),
      ...ownerMismatch(s, i.customerId),
      ...lifecycleFailures(s),
      ...documentFailures(f.customer, i.documents),
      ...inPersonFailures(f.customer, i.documents, { zh: '预销号', en: 'pre-cancellation' }),
    ];
    if (!env.departmentCapabilities.includes('pre_cancellation')) {
      out.push(
        failure(
          'PRE_CANCEL_HALL_NOT_DESIGNATED',
          { zh: '本营业厅不是预销号指定营业厅', en: 'This hall is not designated for pre-cancellation' },
          { zh: '预销号须在公司指定的专门营业厅由客户经理办理，请引导客户到指定营业厅', en: 'Pre-cancellation must be done at a designated hall by a customer manager; send the customer to a designated hall' },
          { departmentId: env.departmentId },
        ),
      );
    }
    if (!i.reason.trim()) {
      out.push(failure('PRE_CANCEL_REASON_REQUIRED', { zh: '须记录客户销号原因', en: 'The reason for cancelling must be recorded' }, { zh: '请了解并填写客户销号的原因', en: 'Ask for and record why the customer cancels' }));
    }
    // R-X-14: a minimum-spend agreement blocks cancelling before its term ends
    for (const o of s?.offers ?? []) {
      if (o.minimumSpendFen > 0 && o.termEndsAt && o.termEndsAt.getTime() > env.now.getTime()) {
        out.push(
          failure(
            'MINIMUM_SPEND_TERM_NOT_ENDED',
            { zh: `${o.offerCode} 的保底协议到 ${day(o.termEndsAt)} 才到期`, en: `The minimum-spend agreement of ${o.offerCode} runs until ${day(o.termEndsAt)}` },
            { zh: '协议期内不能销号；请到期后办理，或先按协议办理提前解约', en: 'No cancellation during the term; wait until it ends or end the agreement early as it provides' },
            { offerCode: o.offerCode, termEndsAt: o.termEndsAt.toISOString() },
          ),
        );
      }
    }
    return out;
  },

  quote(f, _i, env) {
    if (prepayReasons(f, env).length === 0) return [];
    const line: QuoteLine = {
      feeCode: 'PRE_CANCEL_PREPAY',
      kind: 'prestore',
      name: { zh: '预销号预交话费', en: 'Pre-cancellation prepayment' },
      itemCode: null,
      bookType: 'prepaid',
      amountFen: env.params.get('pre_cancel_prepay_fen') ?? 50000,
      waivable: false,
    };
    return [line];
  },

  describe(f, i, env) {
    const reasons = prepayReasons(f, env);
    const out = [
      { label: { zh: '号码', en: 'Number' }, value: f.subscriber?.serviceNumber ?? '—' },
      { label: { zh: '销号原因', en: 'Reason' }, value: `${REASON_NAMES[i.reasonCode].zh} / ${REASON_NAMES[i.reasonCode].en}：${i.reason.trim()}` },
      { label: { zh: '状态', en: 'Status' }, value: '正常 → 预销号（停机） / normal → pre-cancelled (stopped)' },
      { label: { zh: '可正式销号日期', en: 'Formal cancellation from' }, value: day(cancellableFrom(env.now, env)) },
    ];
    if (reasons.length) out.push({ label: { zh: '预交话费原因', en: 'Prepayment because' }, value: reasons.map((r) => `${r.zh} / ${r.en}`).join('；') });
    return out;
  },

  notices(f, _i, env) {
    const out: Text[] = [
      {
        zh: '销号挽留：请了解客户销号原因并尽量挽留；客户坚持销号时，可推荐本公司其他品牌，客户在本公司另办新号可享有优先选号的权利。',
        en: 'Retention: ask why the customer leaves and try to keep them; if they insist, offer another of our brands, with priority choice of a new number.',
      },
      {
        zh: `预销号后满 ${env.params.get('cancel_after_months') ?? 3} 个月（${day(cancellableFrom(env.now, env))} 起），机主本人持身份证原件到营业厅办理正式销号，退还多交的话费或补交欠费。`,
        en: `From ${day(cancellableFrom(env.now, env))} the owner comes with the original ID for formal cancellation: overpaid money is refunded, arrears are collected.`,
      },
    ];
    const reasons = prepayReasons(f, env);
    if (reasons.length) {
      const amount = env.params.get('pre_cancel_prepay_fen') ?? 50000;
      out.push({
        zh: `因${reasons.map((r) => r.zh).join('、')}，除交清当月话费外须预交 ${yuan(amount)}，正式销号时多退少补。`,
        en: `Because ${reasons.map((r) => r.en).join(' and ')}, a prepayment of ${yuan(amount)} is taken besides this month's charges; it is settled at formal cancellation.`,
      });
    }
    return out;
  },

  // R-ORD-5: a reserved plan change (next cycle) conflicts with stopping the line
  subjects: (_f, i) => [subscriberSubject(i.subscriberId), planSubject(i.subscriberId)],

  async apply(c, f, i) {
    const s = f.subscriber as SubscriberFacts;
    const reason = `${i.reasonCode}: ${i.reason.trim()}`;
    const changed = await c.services.accounts.changeLifecycle(c.tx, c.actor, s.subscriberId, 'pre_cancelled', { orderId: c.orderId, reason });
    const prepay = prepayReasons(f, c);
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      result: {
        subscriberId: s.subscriberId,
        serviceNumber: s.serviceNumber,
        lifecycle: 'pre_cancelled',
        preCancelledAt: changed.preCancelledAt,
        cancellableFrom: cancellableFrom(c.now, c).toISOString(),
        reasonCode: i.reasonCode,
        reason: i.reason.trim(),
        prepayReasons: prepay,
        averageBill: f.billed,
      },
    };
  },
};
