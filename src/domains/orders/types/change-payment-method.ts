// 更改缴费方式 CHANGE_PAYMENT_METHOD (SPEC §3 payment methods, seed 004 §6.10): cash, recharge card,
// bank agency, bank collection (with the bank, the holder and the account number); the documents of
// R-ORD-7 are presented (seed 004 §6.10.3).
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import type { PaymentMethod } from '../../../platform/schema.ts';
import { StrEnum } from '../../../platform/schemas.ts';
import { type AccountFacts, accountFailures, bankDetailFailures, loadAccount, PAYMENT_METHODS, paymentMethodText } from '../account-facts.ts';
import { accountSubject, type CustomerFacts, customerMissing, Documents, type DocumentsInput, documentFailures, loadCustomer } from '../facts.ts';
import type { BusinessType } from '../types.ts';

export const ChangePaymentMethodInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    accountId: Type.Integer({ minimum: 1 }),
    documents: Documents,
    paymentMethod: StrEnum(PAYMENT_METHODS),
    bankName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    bankAccountHolder: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    bankAccountNumber: Type.Optional(Type.String({ pattern: '^[0-9]{8,32}$' })),
  },
  { additionalProperties: false },
);
export interface ChangePaymentMethodIn {
  customerId: number;
  accountId: number;
  documents: DocumentsInput;
  paymentMethod: PaymentMethod;
  bankName?: string;
  bankAccountHolder?: string;
  bankAccountNumber?: string;
}

export interface ChangePaymentMethodFacts {
  customer: CustomerFacts | null;
  account: AccountFacts | null;
}

const usesBank = (m: PaymentMethod) => m === 'bank_collection' || m === 'bank_agency';

export const changePaymentMethod: BusinessType<ChangePaymentMethodIn, ChangePaymentMethodFacts> = {
  code: 'CHANGE_PAYMENT_METHOD',
  name: { zh: '更改缴费方式', en: 'Change payment method' },
  input: ChangePaymentMethodInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, accountId: i.accountId }),

  async load(c, i) {
    const [customer, account] = await Promise.all([loadCustomer(c, i.customerId), loadAccount(c, i.accountId)]);
    return { customer, account };
  },

  check(f, i) {
    const out: CheckFailure[] = [
      ...customerMissing(f.customer, i.customerId),
      ...documentFailures(f.customer, i.documents),
      ...accountFailures(f.account, i.accountId, i.customerId),
      ...bankDetailFailures(i),
    ];
    const a = f.account;
    const bank = usesBank(i.paymentMethod);
    if (
      a &&
      a.paymentMethod === i.paymentMethod &&
      (!bank || ((i.bankName ?? null) === a.bankName && (i.bankAccountHolder ?? null) === a.bankAccountHolder && (i.bankAccountNumber ?? null) === a.bankAccountNumber))
    ) {
      out.push(failure('PAYMENT_METHOD_UNCHANGED', { zh: '缴费方式与现在相同', en: 'The payment method is the same as now' }, { zh: '请选择新的缴费方式或银行帐户', en: 'Choose another payment method or bank account' }));
    }
    return out;
  },

  quote: () => [],

  describe(f, i) {
    return [
      { label: { zh: '帐户', en: 'Account' }, value: `#${i.accountId} ${f.account?.name ?? ''}`.trim() },
      { label: { zh: '原缴费方式', en: 'Payment method before' }, value: f.account ? paymentMethodText(f.account) : '—' },
      { label: { zh: '新缴费方式', en: 'Payment method after' }, value: paymentMethodText(usesBank(i.paymentMethod) ? i : { paymentMethod: i.paymentMethod }) },
    ];
  },

  subjects: (_f, i) => [accountSubject(i.accountId)],

  async apply(c, f, i) {
    const a = f.account as AccountFacts;
    const after = await c.services.accounts.changePaymentMethod(c.tx, c.actor, a.accountId, i, c.orderId);
    return { accountId: a.accountId, customerId: a.customerId, subscribers: {}, result: { accountId: a.accountId, before: a.paymentMethod, after: after.paymentMethod } };
  },
};
