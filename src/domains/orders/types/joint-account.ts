// 合帐 JOINT_ACCOUNT (SPEC §2 glossary, §7.2; needed by 2G bundles R-BND-4): a subscriber pays from
// another account of the same customer — its default account changes (R-ACC-8: a default account belongs
// to the subscriber's own customer; another customer pays through a payment relation instead).
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { type AccountFacts, accountFailures, arrearsFailures, billingTypeName, loadAccount, loadSettlement, type Settlement, yuan } from '../account-facts.ts';
import {
  accountSubject,
  type CustomerFacts,
  customerMissing,
  Documents,
  type DocumentsInput,
  documentFailures,
  lifecycleFailures,
  loadCustomer,
  loadSubscriber,
  ownerMismatch,
  type SubscriberFacts,
  subscriberMissing,
  subscriberSubject,
} from '../facts.ts';
import type { BusinessType } from '../types.ts';

export const JointAccountInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    subscriberId: Type.Integer({ minimum: 1 }),
    /** the account that pays from now on */
    accountId: Type.Integer({ minimum: 1 }),
    documents: Documents,
  },
  { additionalProperties: false },
);
export interface JointAccountIn {
  customerId: number;
  subscriberId: number;
  accountId: number;
  documents: DocumentsInput;
}

export interface JointAccountFacts {
  customer: CustomerFacts | null;
  subscriber: SubscriberFacts | null;
  target: AccountFacts | null;
  /** the account the subscriber leaves */
  settlement: Settlement | null;
}

export const jointAccount: BusinessType<JointAccountIn, JointAccountFacts> = {
  code: 'JOINT_ACCOUNT',
  name: { zh: '合帐', en: 'Joint account' },
  input: JointAccountInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId, accountId: i.accountId }),

  async load(c, i) {
    const [customer, subscriber, target] = await Promise.all([loadCustomer(c, i.customerId), loadSubscriber(c, i.subscriberId), loadAccount(c, i.accountId)]);
    const settlement = subscriber ? await loadSettlement(c, subscriber.accountId) : null;
    return { customer, subscriber, target, settlement };
  },

  check(f, i) {
    const s = f.subscriber;
    const out: CheckFailure[] = [
      ...customerMissing(f.customer, i.customerId),
      ...documentFailures(f.customer, i.documents),
      ...subscriberMissing(s, i.subscriberId),
      ...ownerMismatch(s, i.customerId),
      ...lifecycleFailures(s),
      ...arrearsFailures(s, f.settlement),
    ];
    const t = f.target;
    out.push(...accountFailures(t, i.accountId, undefined, { zh: '合帐帐户', en: 'joint account' }));
    if (t && s && t.customerId !== s.customerId) {
      out.push(
        failure('JOINT_ACCOUNT_OTHER_CUSTOMER', { zh: '合帐只能合到同一客户的帐户', en: 'A joint account must belong to the same customer' }, {
          zh: '请选择本客户的帐户；由他人付费请办理帐务关系（他人付费）',
          en: 'Choose one of this customer’s accounts; another payer uses a payment relation',
        }),
      );
    }
    if (t && s && t.accountId === s.accountId) {
      out.push(failure('JOINT_ACCOUNT_SAME_ACCOUNT', { zh: `用户已由帐户 #${t.accountId} 付费`, en: `The subscriber already pays from account #${t.accountId}` }, { zh: '请选择另一个帐户', en: 'Choose another account' }));
    }
    return out;
  },

  quote: () => [],

  describe(f, i) {
    return [
      { label: { zh: '号码', en: 'Number' }, value: f.subscriber?.serviceNumber ?? '—' },
      {
        label: { zh: '付费帐户', en: 'Paying account' },
        value: `#${f.subscriber?.accountId ?? '—'} → #${i.accountId}${f.target ? `（${billingTypeName(f.target.billingType).zh}）` : ''}`,
      },
    ];
  },

  notices(f) {
    const left = f.settlement ? f.settlement.usableFen - f.settlement.arrearsFen : 0;
    const out: Text[] = [];
    if (left > 0) {
      out.push({ zh: `原帐户余额 ${yuan(left)} 留在原帐户，可办理合户转入或退费。`, en: `The ${yuan(left)} in the old account stays there; merge the accounts or refund it.` });
    }
    return out;
  },

  subjects: (f, i) => [...new Set([subscriberSubject(i.subscriberId), accountSubject(i.accountId), ...(f.subscriber ? [accountSubject(f.subscriber.accountId)] : [])])],

  async apply(c, f, i) {
    const s = f.subscriber as SubscriberFacts;
    const moved = await c.services.accounts.moveSubscriber(c.tx, c.actor, s.subscriberId, { customerId: s.customerId, accountId: i.accountId }, { orderId: c.orderId, reason: 'joint_account' });
    return { accountId: i.accountId, customerId: s.customerId, subscribers: { main: s.subscriberId }, result: { subscriberId: s.subscriberId, from: moved.from.accountId, to: moved.to.accountId } };
  },
};
