// 分户 HOUSEHOLD_SPLIT (SPEC §7.2 合拆户, R-BND-14): chosen subscribers of an account move to a new account
// of the same customer; their unpaid bills are settled first (they stay on the account they leave).
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import {
  type AccountFacts,
  accountFailures,
  arrearsFailures,
  bankDetailFailures,
  billingTypeName,
  loadAccount,
  loadSettlement,
  NewAccountFields,
  type NewAccountFieldsInput,
  paymentMethodText,
  type Settlement,
} from '../account-facts.ts';
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

export const HouseholdSplitInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    /** the account the subscribers leave */
    accountId: Type.Integer({ minimum: 1 }),
    subscriberIds: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 50, uniqueItems: true }),
    newAccount: NewAccountFields,
    documents: Documents,
  },
  { additionalProperties: false },
);
export interface HouseholdSplitIn {
  customerId: number;
  accountId: number;
  subscriberIds: number[];
  newAccount: NewAccountFieldsInput;
  documents: DocumentsInput;
}

export interface HouseholdSplitFacts {
  customer: CustomerFacts | null;
  account: AccountFacts | null;
  settlement: Settlement | null;
  subscribers: { id: number; facts: SubscriberFacts | null }[];
}

export const householdSplit: BusinessType<HouseholdSplitIn, HouseholdSplitFacts> = {
  code: 'HOUSEHOLD_SPLIT',
  name: { zh: '分户', en: 'Household split' },
  input: HouseholdSplitInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, accountId: i.accountId }),

  async load(c, i) {
    const [customer, account, settlement, subscribers] = await Promise.all([
      loadCustomer(c, i.customerId),
      loadAccount(c, i.accountId),
      loadSettlement(c, i.accountId),
      Promise.all(i.subscriberIds.map(async (id) => ({ id, facts: await loadSubscriber(c, id) }))),
    ]);
    return { customer, account, settlement, subscribers };
  },

  check(f, i) {
    const out: CheckFailure[] = [
      ...customerMissing(f.customer, i.customerId),
      ...documentFailures(f.customer, i.documents),
      ...accountFailures(f.account, i.accountId, i.customerId),
      ...bankDetailFailures(i.newAccount),
    ];
    for (const { id, facts: s } of f.subscribers) {
      out.push(...subscriberMissing(s, id), ...ownerMismatch(s, i.customerId), ...lifecycleFailures(s), ...arrearsFailures(s, f.settlement));
      if (s && s.accountId !== i.accountId) {
        out.push(
          failure('SUBSCRIBER_NOT_ON_ACCOUNT', { zh: `用户 ${s.serviceNumber} 不由帐户 #${i.accountId} 付费`, en: `Subscriber ${s.serviceNumber} does not pay from account #${i.accountId}` }, { zh: '请只选择该帐户下的用户', en: 'Choose subscribers of that account only' }, {
            subscriberId: id,
          }),
        );
      }
    }
    return out;
  },

  quote: () => [],

  describe(f, i) {
    return [
      { label: { zh: '原帐户', en: 'From account' }, value: `#${i.accountId}` },
      { label: { zh: '新帐户', en: 'New account' }, value: `${billingTypeName(i.newAccount.billingType).zh} / ${billingTypeName(i.newAccount.billingType).en}，${paymentMethodText(i.newAccount)}` },
      { label: { zh: '分出用户', en: 'Subscribers moved' }, value: f.subscribers.map((s) => s.facts?.serviceNumber ?? `#${s.id}`).join('、') },
    ];
  },

  subjects: (_f, i) => [accountSubject(i.accountId), ...i.subscriberIds.map(subscriberSubject)],

  async apply(c, f, i) {
    const customerId = (f.customer as CustomerFacts).customerId;
    const n = i.newAccount;
    const created = await c.services.accounts.createAccount(
      c.actor,
      { customerId, billingType: n.billingType, paymentMethod: n.paymentMethod, bankName: n.bankName, bankAccountHolder: n.bankAccountHolder, bankAccountNumber: n.bankAccountNumber },
      c.tx,
    );
    for (const id of i.subscriberIds) {
      await c.services.accounts.moveSubscriber(c.tx, c.actor, id, { customerId, accountId: created.accountId }, { orderId: c.orderId, reason: 'household_split' });
    }
    return { accountId: created.accountId, customerId, subscribers: {}, result: { fromAccountId: i.accountId, newAccountId: created.accountId, movedSubscribers: i.subscriberIds } };
  },
};
