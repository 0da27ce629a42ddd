// 正式销号 CANCEL (SPEC §7.2 R-ORD-9, seed 004 §6.4): any hall, after `cancel_after_months` of
// pre-cancellation. The account is settled to zero: arrears the prestore does not cover are paid first
// (a prestore line 补交欠费), then written off, and the rest of the books is refunded; the subscriber
// is cancelled, its products end, the number is frozen for cooling, the SIM retired, and the account
// closed when nobody else uses it.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { DomainError } from '../../../platform/errors.ts';
import type { Fen } from '../../../platform/money.ts';
import {
  accountShortfallFen,
  day,
  inPersonFailures,
  loadSettlement,
  type Settlement,
  subscriberArrearsFen,
  subscriberShortfallFen,
  yuan,
} from '../account-facts.ts';
import {
  accountSubject,
  type CustomerFacts,
  customerMissing,
  Documents,
  type DocumentsInput,
  documentFailures,
  loadCustomer,
  loadSubscriber,
  ownerMismatch,
  planSubject,
  type SubscriberFacts,
  subscriberMissing,
  subscriberSubject,
} from '../facts.ts';
import type { BusinessType, OrderEnv, QuoteLine } from '../types.ts';
import { cancellableFrom } from './pre-cancel.ts';

export const ARREARS_FEE_CODE = 'ARREARS_PAYMENT';

export const CancelInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    subscriberId: Type.Integer({ minimum: 1 }),
    documents: Documents,
  },
  { additionalProperties: false },
);
export interface CancelIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
}

export interface CancelFacts {
  customer: CustomerFacts | null;
  subscriber: SubscriberFacts | null;
  settlement: Settlement | null;
  /** other live subscribers or payment relations still using the account: then it is not settled to zero */
  othersOnAccount: number;
  numberInPool: boolean;
  simKnown: boolean;
}

/** The whole account is settled and closed only when this subscriber is its last user. */
const settlesAccount = (f: CancelFacts) => f.othersOnAccount === 0;

/** What must be paid before the settlement: the arrears the usable books cannot pay (seed 004 §6.4.6). */
export function shortfallFen(f: CancelFacts): Fen {
  if (!f.subscriber) return 0;
  return settlesAccount(f) ? accountShortfallFen(f.settlement) : subscriberShortfallFen(f.settlement, f.subscriber.subscriberId);
}

function arrearsFen(f: CancelFacts): Fen {
  if (!f.subscriber) return 0;
  return settlesAccount(f) ? (f.settlement?.arrearsFen ?? 0) : subscriberArrearsFen(f.settlement, f.subscriber.subscriberId);
}

/** What the customer gets back: the usable books after they paid the arrears (only when the account is settled). */
function refundFen(f: CancelFacts): Fen {
  return settlesAccount(f) && f.settlement ? f.settlement.remainingBalanceFen : 0;
}

/** R-ORD-9: where the subscriber stands in its lifecycle decides what the counter can do. */
export function cancelLifecycleFailures(s: SubscriberFacts | null, env: OrderEnv): CheckFailure[] {
  if (!s) return [];
  if (s.lifecycle === 'cancelled') {
    return [
      failure('ALREADY_CANCELLED', { zh: `号码 ${s.serviceNumber} 已销号`, en: `Number ${s.serviceNumber} is already cancelled` }, {
        zh: '已销号的号码不用再做销号，请直接办理“销号费用回收”（FEE_RECOVERY）收取欠费',
        en: 'A cancelled number needs no cancellation; take a fee recovery order (FEE_RECOVERY) for what it still owes',
      }),
    ];
  }
  if (s.lifecycle === 'normal') {
    return [
      failure('NOT_PRE_CANCELLED', { zh: `号码 ${s.serviceNumber} 未办理预销号`, en: `Number ${s.serviceNumber} is not pre-cancelled` }, {
        zh: '请先到指定营业厅办理预销号，满 3 个月后再办理正式销号',
        en: 'Take a pre-cancellation at a designated hall first; formal cancellation follows after 3 months',
      }),
    ];
  }
  const from = s.preCancelledAt ? cancellableFrom(s.preCancelledAt, env) : null;
  if (from && env.now.getTime() < from.getTime()) {
    return [
      failure(
        'CANCEL_TOO_EARLY',
        { zh: `预销号于 ${day(s.preCancelledAt as Date)}，须满 ${env.params.get('cancel_after_months') ?? 3} 个月才能正式销号`, en: `Pre-cancelled on ${day(s.preCancelledAt as Date)}; formal cancellation needs ${env.params.get('cancel_after_months') ?? 3} months` },
        { zh: `请于 ${day(from)} 及以后再办理正式销号`, en: `Take the formal cancellation on or after ${day(from)}` },
        { preCancelledAt: s.preCancelledAt?.toISOString(), cancellableFrom: from.toISOString() },
      ),
    ];
  }
  return [];
}

export const cancel: BusinessType<CancelIn, CancelFacts> = {
  code: 'CANCEL',
  name: { zh: '正式销号', en: 'Formal cancellation' },
  input: CancelInput,
  sensitive: true,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [customer, subscriber] = await Promise.all([loadCustomer(c, i.customerId), loadSubscriber(c, i.subscriberId)]);
    if (!subscriber) return { customer, subscriber, settlement: null, othersOnAccount: 0, numberInPool: false, simKnown: false };
    const r = c.services.resources;
    const [settlement, users, level, imsi] = await Promise.all([
      loadSettlement(c, subscriber.accountId),
      c.services.accounts.accountUsers(subscriber.accountId, c.q),
      subscriber.network === 'broadband' ? Promise.resolve(null) : r.numberLevelOf(c.q, subscriber.serviceNumber),
      subscriber.iccid ? r.simImsi(c.q, subscriber.iccid) : Promise.resolve(null),
    ]);
    const others = users.subscribers.filter((s) => s.subscriber_id !== subscriber.subscriberId).length + users.relations.filter((x) => x.subscriber_id !== subscriber.subscriberId).length;
    return { customer, subscriber, settlement, othersOnAccount: others, numberInPool: level !== null, simKnown: imsi !== null };
  },

  check(f, i, env) {
    return [
      ...customerMissing(f.customer, i.customerId),
      ...subscriberMissing(f.subscriber, i.subscriberId),
      ...ownerMismatch(f.subscriber, i.customerId),
      ...cancelLifecycleFailures(f.subscriber, env),
      // seed 004 §6.4.2 / §6.3.6: the owner with the original ID
      ...documentFailures(f.customer, i.documents),
      ...inPersonFailures(f.customer, i.documents, { zh: '销号', en: 'cancellation' }),
    ];
  },

  quote(f) {
    const short = shortfallFen(f);
    if (short <= 0) return [];
    const line: QuoteLine = { feeCode: ARREARS_FEE_CODE, kind: 'prestore', name: { zh: '补交欠费', en: 'Arrears payment' }, itemCode: null, bookType: 'cash', amountFen: short, waivable: false };
    return [line];
  },

  describe(f) {
    const s = f.subscriber;
    const arrears = arrearsFen(f);
    const short = shortfallFen(f);
    const out = [
      { label: { zh: '号码', en: 'Number' }, value: s?.serviceNumber ?? '—' },
      { label: { zh: '状态', en: 'Status' }, value: '预销号 → 销号 / pre-cancelled → cancelled' },
      {
        label: { zh: '欠费', en: 'Arrears' },
        value: arrears > 0 ? `${yuan(arrears)}（预存抵扣 ${yuan(arrears - short)}，补交 ${yuan(short)}）` : '无 / none',
      },
      {
        label: { zh: '退还预存款', en: 'Refund of prestore' },
        value: settlesAccount(f) ? yuan(refundFen(f)) : '帐户仍有其他用户，余额保留 / the account stays with its other users',
      },
      { label: { zh: '号码处理', en: 'Number' }, value: f.numberInPool ? '冷冻，冷冻期满后回收 / frozen, recycled after cooling' : '—' },
      { label: { zh: 'SIM 卡', en: 'SIM card' }, value: s?.iccid ? `${s.iccid} 作废 / retired` : '—' },
      { label: { zh: '帐户', en: 'Account' }, value: s ? (settlesAccount(f) ? `#${s.accountId} 结清归零并关闭 / settled to zero and closed` : `#${s.accountId} 保留 / kept`) : '—' },
    ];
    return out;
  },

  notices(f) {
    const out: Text[] = [];
    const short = shortfallFen(f);
    if (short > 0) {
      out.push({
        zh: `预存款不足以抵扣欠费，须先补交 ${yuan(short)}，再以预存款销帐后办理销号。`,
        en: `The prestore does not cover the arrears: ${yuan(short)} is paid first, then written off, then the line is cancelled.`,
      });
    }
    if (settlesAccount(f) && refundFen(f) > 0) out.push({ zh: `结清后退还客户预存款 ${yuan(refundFen(f))}。`, en: `After settlement ${yuan(refundFen(f))} is refunded to the customer.` });
    if (!settlesAccount(f)) {
      out.push({ zh: '该帐户仍有其他用户使用，帐户余额保留，不退还。', en: 'Other subscribers still use the account: its balance stays and is not refunded.' });
    }
    return out;
  },

  subjects: (f, i) => [subscriberSubject(i.subscriberId), planSubject(i.subscriberId), ...(f.subscriber ? [accountSubject(f.subscriber.accountId)] : [])],

  async apply(c, f, _i, fees) {
    const s = f.subscriber as SubscriberFacts;
    const { accounts, money, catalog, resources } = c.services;
    const accountId = s.accountId;
    const settleAll = settlesAccount(f);
    const paidLines: { lineNo: number; paymentId: number }[] = [];
    // seed 004 §6.4.6: the missing money comes in first, and its payment writes off the arrears (R-ACC-13)
    let collectedFen = 0;
    const line = fees.find((l) => l.feeCode === ARREARS_FEE_CODE && l.kind === 'prestore' && l.amountFen - l.waivedFen > 0);
    if (line) {
      collectedFen = line.amountFen - line.waivedFen;
      const { result } = await money.pay(
        c.actor,
        accountId,
        { amountFen: collectedFen, bookType: line.bookType ?? 'cash', channel: 'front_desk', idempotencyKey: `order:${c.orderId}:${line.lineNo}`, payFirst: { subscriberIds: [s.subscriberId] } },
        c.tx,
      );
      paidLines.push({ lineNo: line.lineNo, paymentId: result.payment.paymentId });
    }
    const after = await accounts.settlementPreview(accountId, c.tx);
    const stillOwed = settleAll ? after.arrearsFen : subscriberArrearsFen(after, s.subscriberId);
    if (stillOwed > 0) {
      throw new DomainError('CANCEL_ARREARS_REMAIN', `结清后仍欠费 ${yuan(stillOwed)}，不能销号`, `${yuan(stillOwed)} is still owed after settlement; the line cannot be cancelled`, 409, { arrearsFen: stillOwed });
    }
    // R-ORD-9: the account ends at zero — what is left in its books goes back to the customer
    const refund = settleAll ? await money.refundBalances(c.tx, c.actor, accountId, `正式销号 ${s.serviceNumber}（受理单 ${c.orderId}）`) : { refundedFen: 0, refunds: [] };
    await accounts.changeLifecycle(c.tx, c.actor, s.subscriberId, 'cancelled', { orderId: c.orderId, reason: 'formal cancellation' });
    const subs = (await catalog.subscriptions([s.subscriberId], c.tx)).map((x) => ({ subscriberOfferId: x.subscriberOfferId, subscriberId: x.subscriberId, offerCode: x.offerCode, startedAt: x.startedAt }));
    const now = c.now.getTime();
    const current = subs.filter((x) => x.startedAt.getTime() <= now);
    await catalog.unsubscribe(c.tx, c.actor, current.map(({ startedAt: _, ...x }) => x), c.now, c.orderId);
    // reservations that had not started end where they would have begun
    for (const { startedAt, ...p } of subs.filter((x) => x.startedAt.getTime() > now)) await catalog.unsubscribe(c.tx, c.actor, [p], startedAt, c.orderId);
    if (f.numberInPool) await resources.releaseNumber(c.tx, s.serviceNumber, 'cancelled', c.actor);
    if (s.iccid && f.simKnown) await resources.retireSim(c.tx, s.iccid, c.actor);
    const closed = settleAll ? await accounts.closeAccount(c.tx, c.actor, accountId, { orderId: c.orderId, reason: 'cancel' }) : null;
    const arrearsBefore = arrearsFen(f);
    return {
      accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      paidLines,
      result: {
        subscriberId: s.subscriberId,
        serviceNumber: s.serviceNumber,
        lifecycle: 'cancelled',
        arrearsFen: arrearsBefore,
        arrearsPaidFen: arrearsBefore - stillOwed,
        arrearsCollectedFen: collectedFen,
        refundedFen: refund.refundedFen,
        refunds: refund.refunds,
        endedOffers: subs.map((x) => x.offerCode),
        numberFrozen: f.numberInPool,
        simRetired: !!(s.iccid && f.simKnown),
        accountClosed: closed !== null,
      },
    };
  },
};
