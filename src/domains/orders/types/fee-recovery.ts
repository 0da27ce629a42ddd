// 销号费用回收 FEE_RECOVERY (SPEC §7.2 R-ORD-9, seed 004 §6.4.3): a cancelled number still owes bills
// (e.g. the cancellation month billed later): the customer pays them and the payment writes them off,
// even though the account was closed at cancellation.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import type { Fen } from '../../../platform/money.ts';
import { loadSettlement, type Settlement, subscriberShortfallFen, yuan } from '../account-facts.ts';
import { type CustomerFacts, customerMissing, loadCustomer, loadSubscriber, ownerMismatch, type SubscriberFacts, subscriberMissing, subscriberSubject } from '../facts.ts';
import type { BusinessType, QuoteLine } from '../types.ts';

export const FEE_RECOVERY_CODE = 'FEE_RECOVERY';

export const FeeRecoveryInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    subscriberId: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export interface FeeRecoveryIn {
  customerId: number;
  subscriberId: number;
}

export interface FeeRecoveryFacts {
  customer: CustomerFacts | null;
  subscriber: SubscriberFacts | null;
  settlement: Settlement | null;
}

/** What the cancelled number still owes after what the account's usable books may pay. */
export function owedFen(f: FeeRecoveryFacts): Fen {
  return f.subscriber ? subscriberShortfallFen(f.settlement, f.subscriber.subscriberId) : 0;
}

export const feeRecovery: BusinessType<FeeRecoveryIn, FeeRecoveryFacts> = {
  code: 'FEE_RECOVERY',
  name: { zh: '销号费用回收', en: 'Fee recovery after cancellation' },
  input: FeeRecoveryInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [customer, subscriber] = await Promise.all([loadCustomer(c, i.customerId), loadSubscriber(c, i.subscriberId)]);
    const settlement = subscriber ? await loadSettlement(c, subscriber.accountId) : null;
    return { customer, subscriber, settlement };
  },

  check(f, i) {
    const s = f.subscriber;
    const out: CheckFailure[] = [...customerMissing(f.customer, i.customerId), ...subscriberMissing(s, i.subscriberId), ...ownerMismatch(s, i.customerId)];
    if (s && s.lifecycle !== 'cancelled') {
      out.push(
        failure('NOT_CANCELLED', { zh: `号码 ${s.serviceNumber} 未销号`, en: `Number ${s.serviceNumber} is not cancelled` }, {
          zh: s.lifecycle === 'pre_cancelled' ? '预销号用户请办理正式销号，结清欠费' : '在网用户请直接办理缴费',
          en: s.lifecycle === 'pre_cancelled' ? 'A pre-cancelled line settles its arrears in the formal cancellation' : 'A live line pays with a payment order',
        }),
      );
    } else if (s && owedFen(f) <= 0) {
      out.push(failure('NOTHING_TO_RECOVER', { zh: `号码 ${s.serviceNumber} 没有欠费`, en: `Number ${s.serviceNumber} owes nothing` }, { zh: '无须办理销号费用回收', en: 'No fee recovery is needed' }));
    }
    return out;
  },

  quote(f) {
    const owed = owedFen(f);
    if (owed <= 0) return [];
    const line: QuoteLine = { feeCode: FEE_RECOVERY_CODE, kind: 'prestore', name: { zh: '销号欠费回收', en: 'Arrears after cancellation' }, itemCode: null, bookType: 'cash', amountFen: owed, waivable: false };
    return [line];
  },

  describe(f) {
    const s = f.subscriber;
    const lines = (f.settlement?.lines ?? []).filter((l) => s && l.subscriberId === s.subscriberId && l.unpaidFen > 0);
    return [
      { label: { zh: '号码', en: 'Number' }, value: s?.serviceNumber ?? '—' },
      { label: { zh: '欠费帐期', en: 'Cycles owed' }, value: [...new Set(lines.map((l) => l.cycle))].join('、') || '—' },
      { label: { zh: '回收金额', en: 'Recovered' }, value: yuan(owedFen(f)) },
    ];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId)],

  async apply(c, f, _i, fees) {
    const s = f.subscriber as SubscriberFacts;
    const paidLines: { lineNo: number; paymentId: number }[] = [];
    let writtenOffFen = 0;
    for (const l of fees.filter((x) => x.feeCode === FEE_RECOVERY_CODE && x.kind === 'prestore' && x.amountFen - x.waivedFen > 0)) {
      // the account was closed at cancellation: the payment goes in anyway and writes off this number's bills first
      const { result } = await c.services.money.pay(
        c.actor,
        s.accountId,
        { amountFen: l.amountFen - l.waivedFen, bookType: l.bookType ?? 'cash', channel: 'front_desk', idempotencyKey: `order:${c.orderId}:${l.lineNo}`, payFirst: { subscriberIds: [s.subscriberId] } },
        c.tx,
        { allowClosedAccount: true },
      );
      paidLines.push({ lineNo: l.lineNo, paymentId: result.payment.paymentId });
      writtenOffFen += result.writeOffs.reduce((sum, w) => sum + w.amountFen, 0);
    }
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      paidLines,
      result: { subscriberId: s.subscriberId, serviceNumber: s.serviceNumber, recoveredFen: owedFen(f), writtenOffFen },
    };
  },
};
