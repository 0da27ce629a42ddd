// 补打发票 REPRINT_INVOICE (seed 004 §6.10.1): reprints the invoice of one payment into the subscriber's
// account and changes nothing else — but a payment that never had its invoice gets it issued now
// (payments.invoiced_at set, audited). R-X-8: an invoiced payment can no longer be reversed.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import { formatYuan } from '../../../platform/money.ts';
import { Documents, type DocumentsInput } from '../facts.ts';
import { baseFailures, feeLine, type GeneralFacts, loadGeneral, subscriberLine } from '../general.ts';
import type { BusinessType } from '../types.ts';

export const ReprintInvoiceInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    subscriberId: Type.Integer({ minimum: 1 }),
    paymentId: Type.Integer({ minimum: 1 }),
    /** the payment receipt is enough; documents are recorded when shown */
    documents: Type.Optional(Documents),
  },
  { additionalProperties: false },
);

export interface ReprintInvoiceIn {
  customerId: number;
  subscriberId: number;
  paymentId: number;
  documents?: DocumentsInput;
}

export interface ReprintInvoiceFacts extends GeneralFacts {
  payment: { paymentId: number; accountId: number; kind: string; amountFen: number; createdAt: string; invoicedAt: string | null; reversed: boolean } | undefined;
}

export const reprintInvoice: BusinessType<ReprintInvoiceIn, ReprintInvoiceFacts> = {
  code: 'REPRINT_INVOICE',
  name: { zh: '补打发票', en: 'Reprint invoice' },
  input: ReprintInvoiceInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [g, payment] = await Promise.all([loadGeneral(c, i), c.services.money.paymentRecord(i.paymentId, c.q)]);
    return { ...g, payment };
  },

  check(f, i) {
    const out: CheckFailure[] = baseFailures(f, i, { documents: false, allowPreCancelled: true });
    const p = f.payment;
    if (!p) {
      out.push(failure('PAYMENT_NOT_FOUND', { zh: `缴费记录不存在：${i.paymentId}`, en: `No such payment: ${i.paymentId}` }, { zh: '请核对缴费流水号', en: 'Check the payment number' }, { paymentId: i.paymentId }));
      return out;
    }
    if (f.subscriber && p.accountId !== f.subscriber.accountId) {
      out.push(failure('PAYMENT_OF_OTHER_ACCOUNT', { zh: '该笔缴费不属于此用户的帐户', en: 'The payment is not into this subscriber’s account' }, { zh: '请核对号码和缴费流水号', en: 'Check the number and the payment' }, { paymentId: p.paymentId }));
    }
    if (p.kind !== 'payment') {
      out.push(failure('NOT_A_PAYMENT', { zh: '冲正或退费记录不开发票', en: 'A reversal or refund has no invoice' }, { zh: '请选择缴费记录', en: 'Choose a payment' }, { kind: p.kind }));
    } else if (p.reversed) {
      out.push(failure('PAYMENT_REVERSED', { zh: '该笔缴费已冲正，不能开具发票', en: 'The payment was reversed; it gets no invoice' }, { zh: '请选择有效的缴费记录', en: 'Choose a payment that stands' }, { paymentId: p.paymentId }));
    }
    return out;
  },

  // the first invoice of a payment is free; a reprint takes the INVOICE_REPRINT fee when the carrier charges one
  quote: (f, _i, env) => (f.payment?.invoicedAt ? feeLine(env, 'INVOICE_REPRINT') : []),

  describe(f, i) {
    const p = f.payment;
    return [
      ...subscriberLine(f.subscriber),
      { label: { zh: '缴费流水', en: 'Payment' }, value: `#${i.paymentId}${p ? `（${formatYuan(p.amountFen)} 元，${p.createdAt.slice(0, 10)}）` : ''}` },
      { label: { zh: '发票', en: 'Invoice' }, value: p?.invoicedAt ? '补打 / reprint' : '首次开具 / first issue' },
    ];
  },

  notices: (f) => (f.payment && !f.payment.invoicedAt ? [{ zh: '开具发票后该笔缴费不能再冲正（R-X-8）。', en: 'Once invoiced, the payment can no longer be reversed (R-X-8).' }] : []),

  subjects: (_f, i) => [`payment:${i.paymentId}`],

  async apply(c, f, i) {
    const s = f.subscriber as NonNullable<GeneralFacts['subscriber']>;
    const invoice = await c.services.money.invoice(c.tx, c.actor, i.paymentId, { orderId: c.orderId });
    return { accountId: s.accountId, customerId: s.customerId, subscribers: { main: s.subscriberId }, result: { invoice } };
  },
};
