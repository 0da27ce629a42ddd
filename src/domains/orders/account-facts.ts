// Facts and checks shared by the orders that change a subscriber's lifecycle, owner or paying account
// (pre-cancellation, cancellation, fee recovery, transfer, joint account, household merge/split, payment).
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../platform/checks.ts';
import { businessDay } from '../../platform/clock.ts';
import { type Fen, formatYuan } from '../../platform/money.ts';
import type { BillingType, PaymentMethod } from '../../platform/schema.ts';
import { StrEnum } from '../../platform/schemas.ts';
import { maskBankAccount } from '../customers/rules.ts';
import type { CustomerFacts, DocumentsInput, SubscriberFacts } from './facts.ts';
import type { LoadContext } from './types.ts';

export const PAYMENT_METHODS = ['cash', 'recharge_card', 'bank_agency', 'bank_collection'] as const;
export const BILLING_TYPES = ['virtual', 'quota', 'monthly'] as const;

/** A new account opened by the order (transfer of ownership, household split). */
export const NewAccountFields = Type.Object(
  {
    billingType: StrEnum(BILLING_TYPES),
    paymentMethod: StrEnum(PAYMENT_METHODS),
    bankName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    bankAccountHolder: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    bankAccountNumber: Type.Optional(Type.String({ pattern: '^[0-9]{8,32}$' })),
  },
  { additionalProperties: false },
);
export interface NewAccountFieldsInput {
  billingType: BillingType;
  paymentMethod: PaymentMethod;
  bankName?: string;
  bankAccountHolder?: string;
  bankAccountNumber?: string;
}

export interface AccountFacts {
  accountId: number;
  customerId: number;
  name: string;
  billingType: BillingType;
  paymentMethod: PaymentMethod;
  bankName: string | null;
  bankAccountHolder: string | null;
  bankAccountNumber: string | null;
  status: 'active' | 'closed';
}

export async function loadAccount(c: LoadContext, id: number | undefined): Promise<AccountFacts | null> {
  if (id === undefined) return null;
  const a = await c.services.accounts.accountRecord(id, c.q);
  if (!a) return null;
  return {
    accountId: a.account_id,
    customerId: a.customer_id,
    name: a.name,
    billingType: a.billing_type,
    paymentMethod: a.payment_method,
    bankName: a.bank_name,
    bankAccountHolder: a.bank_account_holder,
    bankAccountNumber: a.bank_account_number,
    status: a.status,
  };
}

export type Settlement = Awaited<ReturnType<LoadContext['services']['accounts']['settlementPreview']>>;

/** The account's money as a dry run of the write-off (R-ACC-5) sees it; null when the account is unknown. */
export async function loadSettlement(c: LoadContext, accountId: number | undefined): Promise<Settlement | null> {
  if (accountId === undefined) return null;
  if (!(await c.services.accounts.accountRecord(accountId, c.q))) return null;
  return c.services.accounts.settlementPreview(accountId, c.q);
}

/** What a subscriber's own bill lines on the account still owe now (before any write-off of this order). */
export function subscriberArrearsFen(s: Settlement | null, subscriberId: number): Fen {
  return (s?.lines ?? []).filter((l) => l.subscriberId === subscriberId).reduce((sum, l) => sum + l.openFen, 0);
}

/** What the subscriber's lines would still owe after the books usable now paid what they may (R-ACC-1..5). */
export function subscriberShortfallFen(s: Settlement | null, subscriberId: number): Fen {
  return (s?.lines ?? []).filter((l) => l.subscriberId === subscriberId).reduce((sum, l) => sum + l.unpaidFen, 0);
}

/** The same for every line of the account. */
export function accountShortfallFen(s: Settlement | null): Fen {
  return (s?.lines ?? []).reduce((sum, l) => sum + l.unpaidFen, 0);
}

/** The account exists, belongs to the expected customer and is open. `role` names it in the messages. */
export function accountFailures(a: AccountFacts | null, id: number | undefined, customerId: number | undefined, role: Text = { zh: '帐户', en: 'account' }): CheckFailure[] {
  if (id === undefined) return [];
  if (!a) {
    return [failure('ACCOUNT_NOT_FOUND', { zh: `${role.zh}不存在：${id}`, en: `No such ${role.en}: ${id}` }, { zh: '请重新选择帐户', en: 'Choose the account again' }, { accountId: id })];
  }
  const out: CheckFailure[] = [];
  if (customerId !== undefined && a.customerId !== customerId) {
    out.push(
      failure('ACCOUNT_OF_OTHER_CUSTOMER', { zh: `${role.zh} ${id} 不属于此客户`, en: `The ${role.en} ${id} belongs to another customer` }, { zh: '请选择本客户的帐户', en: 'Choose one of this customer’s accounts' }, { accountId: id }),
    );
  }
  if (a.status !== 'active') {
    out.push(failure('ACCOUNT_CLOSED', { zh: `${role.zh} ${id} 已关闭`, en: `The ${role.en} ${id} is closed` }, { zh: '请选择其他帐户或新建帐户', en: 'Choose another account or open a new one' }, { accountId: id }));
  }
  return out;
}

export function bankDetailFailures(a: { paymentMethod: PaymentMethod; bankName?: string | undefined; bankAccountHolder?: string | undefined; bankAccountNumber?: string | undefined } | undefined): CheckFailure[] {
  if (a?.paymentMethod !== 'bank_collection' || (a.bankName && a.bankAccountHolder && a.bankAccountNumber)) return [];
  return [
    failure('BANK_DETAILS_REQUIRED', { zh: '银行托收须填写开户银行、户名和帐号', en: 'Bank collection needs the bank, the holder and the account number' }, {
      zh: '请补全银行信息，并核实托收帐户户主的身份证件',
      en: 'Complete the bank details and check the bank account holder’s ID',
    }),
  ];
}

/** A subscriber's unpaid bills stay on the account it leaves: they are paid before it moves. */
export function arrearsFailures(s: SubscriberFacts | null, settlement: Settlement | null): CheckFailure[] {
  if (!s) return [];
  const owed = subscriberArrearsFen(settlement, s.subscriberId);
  if (owed <= 0) return [];
  return [
    failure(
      'SUBSCRIBER_HAS_ARREARS',
      { zh: `用户 ${s.serviceNumber} 尚欠费 ${formatYuan(owed)} 元`, en: `Subscriber ${s.serviceNumber} owes ${formatYuan(owed)}` },
      { zh: '请先缴清欠费（缴费）再办理', en: 'Have the arrears paid first (payment order), then take this order' },
      { subscriberId: s.subscriberId, arrearsFen: owed },
    ),
  ];
}

/** Seed 004 §6.3.3: a personal subscriber is pre-cancelled / cancelled by the owner in person, never by an agent. */
export function inPersonFailures(customer: CustomerFacts | null, d: DocumentsInput | undefined, what: Text): CheckFailure[] {
  if (customer?.kind !== 'person' || d?.presenter !== 'agent') return [];
  return [
    failure('OWNER_MUST_ATTEND', { zh: `个人用户${what.zh}须机主本人亲临办理，不能代办`, en: `A personal subscriber’s ${what.en} is made by the owner in person, not by an agent` }, {
      zh: '请机主本人携带身份证原件到营业厅办理',
      en: 'Ask the owner to come with the original ID',
    }),
  ];
}

/** International roaming (INTL_ROAMING feature) or international long distance is on (R-ORD-8, R-ORD-10). */
export function hasInternational(s: SubscriberFacts | null): { roaming: boolean; longDistance: boolean } {
  return { roaming: !!s?.offers.some((o) => o.offerCode === 'INTL_ROAMING' && o.endedAt === null), longDistance: s?.longDistanceLevel === 'international' };
}

const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;

/** The same calendar day `months` later in Asia/Shanghai (the end of a shorter month clamps). */
export function addMonthsShanghai(d: Date, months: number): Date {
  const local = new Date(d.getTime() + SHANGHAI_OFFSET_MS);
  const day = local.getUTCDate();
  local.setUTCDate(1);
  local.setUTCMonth(local.getUTCMonth() + months);
  const last = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 0)).getUTCDate();
  local.setUTCDate(Math.min(day, last));
  return new Date(local.getTime() - SHANGHAI_OFFSET_MS);
}

export const day = (d: Date) => businessDay(d);

export function billingTypeName(t: BillingType): Text {
  return { virtual: { zh: '实时预付费（虚扣）', en: 'real-time prepaid (virtual)' }, quota: { zh: '定额', en: 'quota' }, monthly: { zh: '月出帐', en: 'monthly (postpaid)' } }[t];
}

export function paymentMethodName(m: PaymentMethod): Text {
  return { cash: { zh: '现金', en: 'cash' }, recharge_card: { zh: '充值卡', en: 'recharge card' }, bank_agency: { zh: '银行代缴', en: 'bank agency' }, bank_collection: { zh: '银行托收', en: 'bank collection' } }[m];
}

/** R-CUS-2: bank account numbers are masked on receipts. */
export function paymentMethodText(a: { paymentMethod: PaymentMethod; bankName?: string | null | undefined; bankAccountNumber?: string | null | undefined }): string {
  const name = paymentMethodName(a.paymentMethod);
  const bank = a.bankName || a.bankAccountNumber ? `（${a.bankName ?? ''} ${maskBankAccount(a.bankAccountNumber ?? null) ?? ''}）`.replace('（ ', '（').replace(' ）', '）') : '';
  return `${name.zh}${bank} / ${name.en}`;
}

export const yuan = (f: Fen) => `${formatYuan(f)} 元`;
