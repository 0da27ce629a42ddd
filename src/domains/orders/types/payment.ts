// 缴费 PAYMENT (SPEC §4.4, §7.2) as an order, so the front desk prints a receipt for it: the quote is one
// prestore line of the chosen book type (R-ACC-12: a special fund names the items it may pay), which the
// engine pays into the account inside the order's transaction (R-ACC-13: it writes off open bills first).
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { AmountFen } from '../../../platform/schemas.ts';
import type { BillItem, BookType } from '../../accounts/reference.ts';
import { type AccountFacts, accountFailures, loadAccount, yuan } from '../account-facts.ts';
import { loadSubscriber, type SubscriberFacts, subscriberMissing } from '../facts.ts';
import type { BusinessType, QuoteLine } from '../types.ts';

export const PaymentInput = Type.Object(
  {
    accountId: Type.Integer({ minimum: 1 }),
    amountFen: AmountFen(),
    bookType: Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }),
    /** 专款: the bill items the book may pay */
    restrictedItems: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z0-9_]{1,32}$' }), { minItems: 1, maxItems: 20, uniqueItems: true })),
    /** a private book for one subscriber the account pays for (R-ACC-1) */
    subscriberId: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export interface PaymentIn {
  accountId: number;
  amountFen: number;
  bookType: string;
  restrictedItems?: string[];
  subscriberId?: number;
}

export interface PaymentFacts {
  account: AccountFacts | null;
  bookTypes: BookType[];
  items: BillItem[];
  subscriber: SubscriberFacts | null;
  /** accounts that pay for the subscriber: its default account and its payment relations (R-ACC-8) */
  payers: number[];
}

const SUBSCRIBER_ROLE = 'subscriber';

function bookName(f: PaymentFacts, code: string): Text {
  const t = f.bookTypes.find((b) => b.code === code);
  return t ? { zh: t.nameZh, en: t.nameEn } : { zh: code, en: code };
}

export const payment: BusinessType<PaymentIn, PaymentFacts> = {
  code: 'PAYMENT',
  name: { zh: '缴费', en: 'Payment' },
  input: PaymentInput,
  sensitive: false,

  refs: (i) => ({ accountId: i.accountId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [account, ref, subscriber] = await Promise.all([loadAccount(c, i.accountId), c.services.accounts.referenceData(c.q), loadSubscriber(c, i.subscriberId)]);
    const payers = subscriber ? [subscriber.accountId, ...(await c.services.accounts.relations(subscriber.subscriberId, c.q)).relations.map((r) => r.payerAccountId)] : [];
    return { account, bookTypes: ref.bookTypes, items: ref.items, subscriber, payers };
  },

  check(f, i) {
    const out: CheckFailure[] = [...accountFailures(f.account, i.accountId, undefined), ...(i.subscriberId !== undefined ? subscriberMissing(f.subscriber, i.subscriberId) : [])];
    if (!f.bookTypes.some((b) => b.code === i.bookType)) {
      out.push(
        failure('UNKNOWN_BOOK_TYPE', { zh: `帐本类型不存在：${i.bookType}`, en: `Unknown book type: ${i.bookType}` }, { zh: '请重新选择缴费类型', en: 'Choose the kind of payment again' }, {
          known: f.bookTypes.map((b) => b.code),
        }),
      );
    }
    const unknown = (i.restrictedItems ?? []).filter((x) => !f.items.some((it) => it.code === x));
    if (unknown.length) {
      out.push(failure('UNKNOWN_BILL_ITEM', { zh: `帐目项不存在：${unknown.join(',')}`, en: `Unknown bill items: ${unknown.join(',')}` }, { zh: '请重新选择专款可支付的帐目项', en: 'Choose the items the fund may pay again' }, { unknown }));
    }
    // R-ACC-12: a special-fund payment creates a restricted book, so it must say what it may pay
    if (i.bookType === 'restricted_fund' && !i.restrictedItems?.length) {
      out.push(failure('RESTRICTED_FUND_NEEDS_ITEMS', { zh: '专款预存须指定可支付的帐目项', en: 'A restricted fund needs the bill items it may pay' }, { zh: '请选择专款可支付的帐目项（如宽带月租）', en: 'Choose the items it may pay (e.g. broadband rent)' }));
    }
    if (f.subscriber && !f.payers.includes(i.accountId)) {
      out.push(
        failure('SUBSCRIBER_NOT_PAID_BY_ACCOUNT', { zh: `用户 ${f.subscriber.serviceNumber} 不由此帐户付费`, en: `This account does not pay for ${f.subscriber.serviceNumber}` }, { zh: '请核对帐户和号码', en: 'Check the account and the number' }, {
          subscriberId: f.subscriber.subscriberId,
        }),
      );
    }
    return out;
  },

  quote(f, i) {
    const t = bookName(f, i.bookType);
    const line: QuoteLine = {
      feeCode: 'PAYMENT',
      kind: 'prestore',
      name: { zh: `缴费（${t.zh}）`, en: `Payment (${t.en})` },
      itemCode: null,
      bookType: i.bookType,
      restrictedItems: i.restrictedItems,
      memberRole: i.subscriberId !== undefined ? SUBSCRIBER_ROLE : undefined,
      amountFen: i.amountFen,
      waivable: false,
    };
    return [line];
  },

  describe(f, i) {
    const t = bookName(f, i.bookType);
    const out = [
      { label: { zh: '帐户', en: 'Account' }, value: `#${i.accountId} ${f.account?.name ?? ''}`.trim() },
      { label: { zh: '缴费金额', en: 'Amount' }, value: yuan(i.amountFen) },
      { label: { zh: '帐本', en: 'Book' }, value: `${t.zh} / ${t.en}` },
    ];
    if (i.restrictedItems?.length) {
      const names = i.restrictedItems.map((code) => f.items.find((x) => x.code === code)?.nameZh ?? code);
      out.push({ label: { zh: '专款可支付', en: 'May pay' }, value: `${names.join('、')}（${i.restrictedItems.join(', ')}）` });
    }
    if (f.subscriber) out.push({ label: { zh: '指定用户', en: 'For subscriber' }, value: f.subscriber.serviceNumber });
    return out;
  },

  // a payment holds nothing: top-ups are accepted whatever else is in transit (R-BND-11 even in bundle stop)
  subjects: () => [],

  async apply(_c, f, i) {
    const a = f.account as AccountFacts;
    // the engine pays the line into a private book of this subscriber (R-ACC-1)
    const subscribers: Record<string, number> = {};
    if (i.subscriberId !== undefined) subscribers[SUBSCRIBER_ROLE] = i.subscriberId;
    return {
      accountId: a.accountId,
      customerId: a.customerId,
      subscribers,
      result: { accountId: a.accountId, amountFen: i.amountFen, bookType: i.bookType, restrictedItems: i.restrictedItems ?? null },
    };
  },
};
