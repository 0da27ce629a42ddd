// 合户 HOUSEHOLD_MERGE (SPEC §7.2 合拆户, R-BND-14): every subscriber of a source account moves to a target
// account of the same customer, and the source is closed — only when it holds no money and owes nothing.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import { type AccountFacts, accountFailures, billingTypeName, loadAccount, loadSettlement, type Settlement, yuan } from '../account-facts.ts';
import { accountSubject, type CustomerFacts, customerMissing, Documents, type DocumentsInput, documentFailures, loadCustomer, subscriberSubject } from '../facts.ts';
import type { BusinessType } from '../types.ts';

export const HouseholdMergeInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    /** the account that is merged away and closed */
    sourceAccountId: Type.Integer({ minimum: 1 }),
    /** the account that pays for everyone afterwards */
    targetAccountId: Type.Integer({ minimum: 1 }),
    documents: Documents,
  },
  { additionalProperties: false },
);
export interface HouseholdMergeIn {
  customerId: number;
  sourceAccountId: number;
  targetAccountId: number;
  documents: DocumentsInput;
}

export interface HouseholdMergeFacts {
  customer: CustomerFacts | null;
  source: AccountFacts | null;
  target: AccountFacts | null;
  settlement: Settlement | null;
  /** live subscribers paying by default from the source */
  subscribers: { subscriberId: number; serviceNumber: string }[];
  /** payment relations paying from the source for live subscribers (他人付费) */
  relations: number;
}

const SOURCE = { zh: '被合并帐户', en: 'source account' };
const TARGET = { zh: '合并到的帐户', en: 'target account' };

export const householdMerge: BusinessType<HouseholdMergeIn, HouseholdMergeFacts> = {
  code: 'HOUSEHOLD_MERGE',
  name: { zh: '合户', en: 'Household merge' },
  input: HouseholdMergeInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, accountId: i.targetAccountId }),

  async load(c, i) {
    const [customer, source, target] = await Promise.all([loadCustomer(c, i.customerId), loadAccount(c, i.sourceAccountId), loadAccount(c, i.targetAccountId)]);
    if (!source) return { customer, source, target, settlement: null, subscribers: [], relations: 0 };
    const [settlement, users] = await Promise.all([loadSettlement(c, source.accountId), c.services.accounts.accountUsers(source.accountId, c.q)]);
    return {
      customer,
      source,
      target,
      settlement,
      subscribers: users.subscribers.map((s) => ({ subscriberId: s.subscriber_id, serviceNumber: s.service_number })),
      relations: users.relations.length,
    };
  },

  check(f, i) {
    const out: CheckFailure[] = [
      ...customerMissing(f.customer, i.customerId),
      ...documentFailures(f.customer, i.documents),
      ...accountFailures(f.source, i.sourceAccountId, i.customerId, SOURCE),
      ...accountFailures(f.target, i.targetAccountId, i.customerId, TARGET),
    ];
    if (i.sourceAccountId === i.targetAccountId) {
      out.push(failure('MERGE_SAME_ACCOUNT', { zh: '被合并帐户与合并到的帐户相同', en: 'The source and the target account are the same' }, { zh: '请选择两个不同的帐户', en: 'Choose two different accounts' }));
    }
    const s = f.settlement;
    if (s && (s.heldFen > 0 || s.arrearsFen > 0)) {
      out.push(
        failure(
          'ACCOUNT_BALANCE_NOT_ZERO',
          { zh: `被合并帐户余额 ${yuan(s.heldFen)}、欠费 ${yuan(s.arrearsFen)}，须为零才能合户`, en: `The source account holds ${yuan(s.heldFen)} and owes ${yuan(s.arrearsFen)}; both must be zero to merge` },
          { zh: '请先缴清欠费，并将余额退费或用完后再办理合户', en: 'Have the arrears paid and the balance refunded or used up first, then merge' },
          { accountId: i.sourceAccountId, balanceFen: s.heldFen, arrearsFen: s.arrearsFen },
        ),
      );
    }
    if (f.relations > 0) {
      out.push(
        failure('ACCOUNT_PAYS_FOR_OTHERS', { zh: '被合并帐户仍在为其他用户付费（帐务关系）', en: 'The source account still pays for other subscribers (payment relations)' }, {
          zh: '请先撤销或改由目标帐户建立这些帐务关系',
          en: 'Revoke those payment relations or set them up on the target account first',
        }),
      );
    }
    return out;
  },

  quote: () => [],

  describe(f, i) {
    return [
      { label: { zh: '被合并帐户', en: 'Source account' }, value: `#${i.sourceAccountId}${f.source ? `（${billingTypeName(f.source.billingType).zh}）` : ''} → 关闭 / closed` },
      { label: { zh: '合并到', en: 'Into' }, value: `#${i.targetAccountId}${f.target ? `（${billingTypeName(f.target.billingType).zh}）` : ''}` },
      { label: { zh: '转入用户', en: 'Subscribers moved' }, value: f.subscribers.map((s) => s.serviceNumber).join('、') || '—' },
    ];
  },

  subjects: (f, i) => [...new Set([accountSubject(i.sourceAccountId), accountSubject(i.targetAccountId), ...f.subscribers.map((s) => subscriberSubject(s.subscriberId))])],

  async apply(c, f, i) {
    const customerId = (f.customer as CustomerFacts).customerId;
    for (const s of f.subscribers) {
      await c.services.accounts.moveSubscriber(c.tx, c.actor, s.subscriberId, { customerId, accountId: i.targetAccountId }, { orderId: c.orderId, reason: 'household_merge' });
    }
    await c.services.accounts.closeAccount(c.tx, c.actor, i.sourceAccountId, { orderId: c.orderId, reason: 'household_merge' });
    return {
      accountId: i.targetAccountId,
      customerId,
      subscribers: {},
      result: { sourceAccountId: i.sourceAccountId, targetAccountId: i.targetAccountId, movedSubscribers: f.subscribers.map((s) => s.subscriberId), sourceClosed: true },
    };
  },
};
