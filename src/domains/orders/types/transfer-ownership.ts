// 过户 TRANSFER_OWNERSHIP (SPEC §7.2 R-ORD-10, seed 004 §6.5): both owners' IDs; the new owner pays by
// real-time prepaid (`virtual`) unless by a corporate account (bank collection of an organisation);
// the account's prestore after the order is at least 200 yuan, 500 with international service.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import type { Fen } from '../../../platform/money.ts';
import type { BillingType, PaymentMethod } from '../../../platform/schema.ts';
import { AmountFen } from '../../../platform/schemas.ts';
import {
  type AccountFacts,
  accountFailures,
  arrearsFailures,
  bankDetailFailures,
  billingTypeName,
  hasInternational,
  loadAccount,
  loadSettlement,
  NewAccountFields,
  type NewAccountFieldsInput,
  type Settlement,
  yuan,
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
  planSubject,
  type SubscriberFacts,
  subscriberMissing,
  subscriberSubject,
} from '../facts.ts';
import type { BusinessType, OrderEnv, QuoteLine } from '../types.ts';

export const TransferOwnershipInput = Type.Object(
  {
    /** the old owner, whose service password authorises the order */
    customerId: Type.Integer({ minimum: 1 }),
    subscriberId: Type.Integer({ minimum: 1 }),
    /** the old owner's documents (R-ORD-7) */
    documents: Documents,
    /** the new owner: an existing customer */
    newCustomerId: Type.Integer({ minimum: 1 }),
    newOwnerDocuments: Documents,
    /** an existing account of the new owner; without it and without newAccount, the new owner's real-time account or a new one */
    accountId: Type.Optional(Type.Integer({ minimum: 1 })),
    newAccount: Type.Optional(NewAccountFields),
    /** 预存话费 into the new owner's account */
    prestoreFen: Type.Optional(AmountFen()),
  },
  { additionalProperties: false },
);
export interface TransferOwnershipIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  newCustomerId: number;
  newOwnerDocuments: DocumentsInput;
  accountId?: number;
  newAccount?: NewAccountFieldsInput;
  prestoreFen?: number;
}

export type TransferTarget = { kind: 'existing'; account: AccountFacts | null; settlement: Settlement | null; chosen: boolean } | ({ kind: 'new' } & NewAccountFieldsInput);

export interface TransferFacts {
  customer: CustomerFacts | null;
  newCustomer: CustomerFacts | null;
  subscriber: SubscriberFacts | null;
  /** the subscriber's current account (its own unpaid bills stay there) */
  settlement: Settlement | null;
  target: TransferTarget;
}

const OLD = { zh: '原机主：', en: 'Old owner' };
const NEW = { zh: '新机主：', en: 'New owner' };

function targetBilling(t: TransferTarget): { billingType: BillingType; paymentMethod: PaymentMethod } | null {
  if (t.kind === 'new') return t;
  return t.account ? { billingType: t.account.billingType, paymentMethod: t.account.paymentMethod } : null;
}

/** The money already in the target account that the new owner can use: usable books less what it owes. */
export function targetBalanceFen(t: TransferTarget): Fen {
  if (t.kind === 'new' || !t.settlement) return 0;
  return t.settlement.usableFen - t.settlement.arrearsFen;
}

/** R-ORD-10: the minimum prestore, higher with international long distance or roaming. */
export function minimumPrestoreFen(s: SubscriberFacts | null, env: OrderEnv): { fen: Fen; international: boolean } {
  const intl = hasInternational(s);
  const international = intl.roaming || intl.longDistance;
  return { fen: international ? (env.params.get('transfer_min_prestore_intl_fen') ?? 50000) : (env.params.get('transfer_min_prestore_fen') ?? 20000), international };
}

export const transferOwnership: BusinessType<TransferOwnershipIn, TransferFacts> = {
  code: 'TRANSFER_OWNERSHIP',
  name: { zh: '过户', en: 'Transfer of ownership' },
  input: TransferOwnershipInput,
  sensitive: true,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [customer, newCustomer, subscriber] = await Promise.all([loadCustomer(c, i.customerId), loadCustomer(c, i.newCustomerId), loadSubscriber(c, i.subscriberId)]);
    const settlement = subscriber ? await loadSettlement(c, subscriber.accountId) : null;
    let target: TransferTarget;
    if (i.accountId !== undefined) {
      target = { kind: 'existing', account: await loadAccount(c, i.accountId), settlement: await loadSettlement(c, i.accountId), chosen: true };
    } else if (i.newAccount) {
      target = { kind: 'new', ...i.newAccount };
    } else {
      // an existing real-time account of the new owner takes the number; otherwise a new one is opened
      const own = newCustomer ? await c.services.accounts.accountsOf(newCustomer.customerId, c.q) : [];
      const virtual = own.find((a) => a.status === 'active' && a.billing_type === 'virtual');
      target = virtual
        ? { kind: 'existing', account: await loadAccount(c, virtual.account_id), settlement: await loadSettlement(c, virtual.account_id), chosen: false }
        : { kind: 'new', billingType: 'virtual', paymentMethod: 'cash' };
    }
    return { customer, newCustomer, subscriber, settlement, target };
  },

  check(f, i, env) {
    const s = f.subscriber;
    const out: CheckFailure[] = [
      ...customerMissing(f.customer, i.customerId),
      ...subscriberMissing(s, i.subscriberId),
      ...ownerMismatch(s, i.customerId),
      ...lifecycleFailures(s),
      // seed 004 §6.5.1: both parties' IDs
      ...documentFailures(f.customer, i.documents, OLD),
      ...documentFailures(f.newCustomer, i.newOwnerDocuments, NEW),
      ...arrearsFailures(s, f.settlement),
    ];
    if (!f.newCustomer) {
      out.push(
        failure('NEW_OWNER_NOT_FOUND', { zh: `新机主客户不存在：${i.newCustomerId}`, en: `No such customer for the new owner: ${i.newCustomerId}` }, { zh: '请先查找或新建新机主的客户资料', en: 'Find or create the new owner as a customer first' }, {
          customerId: i.newCustomerId,
        }),
      );
    } else if (i.newCustomerId === i.customerId) {
      out.push(failure('TRANSFER_SAME_OWNER', { zh: '新旧机主是同一客户', en: 'The new owner is the old owner' }, { zh: '请选择新机主', en: 'Choose the new owner' }));
    }
    if (i.accountId !== undefined && i.newAccount) {
      out.push(failure('ACCOUNT_AMBIGUOUS', { zh: '已有帐户与新建帐户只能选一个', en: 'Either an existing account or a new one, not both' }, { zh: '请只保留一个', en: 'Keep one of them' }));
    }
    const t = f.target;
    if (t.kind === 'existing') out.push(...accountFailures(t.account, t.account?.accountId ?? i.accountId, i.newCustomerId, { zh: '新机主帐户', en: 'new owner’s account' }));
    else out.push(...bankDetailFailures(t));
    // seed 004 §6.5.4: real-time prepaid after the transfer, except a corporate account (对公帐号)
    const billing = targetBilling(t);
    const corporate = f.newCustomer?.kind === 'organisation' && billing?.paymentMethod === 'bank_collection';
    if (billing && billing.billingType !== 'virtual' && !corporate) {
      out.push(
        failure(
          'TRANSFER_NEEDS_VIRTUAL_ACCOUNT',
          { zh: `过户后新机主须采用实时预付费（虚扣）帐户，所选为${billingTypeName(billing.billingType).zh}`, en: `After a transfer the new owner pays by a real-time prepaid (virtual) account, not ${billingTypeName(billing.billingType).en}` },
          { zh: '请选择或新建新机主的实时预付费帐户（单位对公帐号银行托收除外）', en: 'Choose or open a real-time prepaid account for the new owner (a company paying by bank collection is the exception)' },
          { billingType: billing.billingType },
        ),
      );
    }
    const min = minimumPrestoreFen(s, env);
    const have = targetBalanceFen(t) + (i.prestoreFen ?? 0);
    if (s && have < min.fen) {
      out.push(
        failure(
          'TRANSFER_PRESTORE_TOO_SMALL',
          {
            zh: `过户后帐户预存款不能低于 ${yuan(min.fen)}${min.international ? '（已开通国际长途/漫游）' : ''}，现为 ${yuan(have)}`,
            en: `After a transfer the account needs at least ${yuan(min.fen)}${min.international ? ' (international service is on)' : ''}; it would hold ${yuan(have)}`,
          },
          { zh: `请新机主再预存 ${yuan(min.fen - have)}`, en: `Have the new owner prestore ${yuan(min.fen - have)} more` },
          { minimumFen: min.fen, balanceFen: targetBalanceFen(t), prestoreFen: i.prestoreFen ?? 0, missingFen: min.fen - have },
        ),
      );
    }
    return out;
  },

  quote(_f, i) {
    if (!i.prestoreFen) return [];
    const line: QuoteLine = { feeCode: 'PRESTORE', kind: 'prestore', name: { zh: '过户预存话费', en: 'Prestore on transfer' }, itemCode: null, bookType: 'prepaid', amountFen: i.prestoreFen, waivable: false };
    return [line];
  },

  describe(f, i) {
    const t = f.target;
    const account =
      t.kind === 'existing' ? `#${t.account?.accountId ?? i.accountId ?? '—'}（${t.account ? billingTypeName(t.account.billingType).zh : ''}）` : `新建（${billingTypeName(t.billingType).zh}） / new (${billingTypeName(t.billingType).en})`;
    return [
      { label: { zh: '号码', en: 'Number' }, value: f.subscriber?.serviceNumber ?? '—' },
      { label: { zh: '原机主', en: 'Old owner' }, value: f.customer?.name ?? '—' },
      { label: { zh: '新机主', en: 'New owner' }, value: f.newCustomer?.name ?? '—' },
      { label: { zh: '付费帐户', en: 'Paying account' }, value: `#${f.subscriber?.accountId ?? '—'} → ${account}` },
      { label: { zh: '过户后帐户预存款', en: 'Account balance after' }, value: yuan(targetBalanceFen(t) + (i.prestoreFen ?? 0)) },
    ];
  },

  notices(f) {
    const out: Text[] = [
      { zh: '请提醒新、旧机主协商好过户前后的一切话费问题，避免纠纷。', en: 'Remind both owners to agree on all charges before and after the transfer, to avoid disputes.' },
    ];
    const left = f.settlement ? f.settlement.usableFen - f.settlement.arrearsFen : 0;
    if (left > 0) {
      out.push({ zh: `原帐户余额 ${yuan(left)} 留在原机主帐户，不随号码转给新机主。`, en: `The ${yuan(left)} in the old account stays with the old owner; it does not move with the number.` });
    }
    return out;
  },

  subjects: (f, i) => [subscriberSubject(i.subscriberId), planSubject(i.subscriberId), ...(f.target.kind === 'existing' && f.target.account ? [accountSubject(f.target.account.accountId)] : [])],

  async apply(c, f, i) {
    const s = f.subscriber as SubscriberFacts;
    const newOwner = f.newCustomer as CustomerFacts;
    const t = f.target;
    const accountId =
      t.kind === 'existing'
        ? (t.account as AccountFacts).accountId
        : (
            await c.services.accounts.createAccount(
              c.actor,
              { customerId: newOwner.customerId, billingType: t.billingType, paymentMethod: t.paymentMethod, bankName: t.bankName, bankAccountHolder: t.bankAccountHolder, bankAccountNumber: t.bankAccountNumber },
              c.tx,
            )
          ).accountId;
    // other accounts paying for the number (他人付费) were the old owner's arrangement: they end with it
    const moved = await c.services.accounts.moveSubscriber(c.tx, c.actor, s.subscriberId, { customerId: newOwner.customerId, accountId }, { orderId: c.orderId, reason: 'transfer_ownership', revokeRelations: true });
    return {
      accountId,
      subscribers: { main: s.subscriberId },
      result: { subscriberId: s.subscriberId, serviceNumber: s.serviceNumber, from: moved.from, to: moved.to, newAccount: t.kind === 'new', prestoreFen: i.prestoreFen ?? 0, revokedRelations: moved.revokedRelations },
    };
  },
};
