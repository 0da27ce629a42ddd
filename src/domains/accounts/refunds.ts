// Refund cases (退费, R-ACC-16, seed 004 §6.6): a complaint about a bank-collection over-deduction
// opens a case; the accounting room confirms it; the front desk records the customer's and the bank
// account holder's ID; the refund is booked against the bank-collection book the payment created:
// a negative payment of kind 'refund' drawn from that book (R-X-8: the original never changes), so
// R-ACC-18 (payments + grants − refunds = books + write-offs + expiries) holds with no new term.
import { type Actor, can } from '../../platform/audit.ts';
import { businessDay, type Clock } from '../../platform/clock.ts';
import type { Selectable } from 'kysely';
import type { Db, Q, Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Fen } from '../../platform/money.ts';
import { recordChange } from '../../platform/outbox.ts';
import type { RefundCaseState, RefundCasesTable } from '../../platform/schema.ts';
import { checkIdNumber, type IdType, maskIdNumber } from '../customers/rules.ts';
import { moneyRepo } from './money-repo.ts';
import { accountRepo } from './repo.ts';

const CASE = { zh: '退费工单', en: 'Refund case' };
const PAYMENT = { zh: '缴费记录', en: 'Payment' };
const BANK_COLLECTION = 'bank_collection';

type CaseRow = Selectable<RefundCasesTable>;

export interface OpenRefundInput {
  paymentId: number;
  amountFen: Fen;
  complaintRef: string;
  note?: string | undefined;
}

export interface IdentityInput {
  customer: { idType: IdType; idNumber: string };
  holder: { name: string; idType: IdType; idNumber: string };
}

/** R-CUS-2: ID numbers are masked unless the operator may see them whole. */
export function refundCaseView(c: CaseRow, whole = false) {
  const id = (n: string | null) => (whole ? n : maskIdNumber(n));
  return {
    caseId: c.case_id,
    accountId: c.account_id,
    paymentId: c.payment_id,
    bookId: c.book_id,
    amountFen: c.amount_fen,
    complaintRef: c.complaint_ref,
    note: c.note,
    state: c.state,
    openedBy: c.opened_by,
    openedAt: c.opened_at.toISOString(),
    confirmedBy: c.confirmed_by,
    confirmedAt: c.confirmed_at?.toISOString() ?? null,
    rejectedReason: c.rejected_reason,
    customerId: c.customer_id_type ? { idType: c.customer_id_type, idNumber: id(c.customer_id_number) } : null,
    holder: c.holder_id_type ? { name: c.holder_name, idType: c.holder_id_type, idNumber: id(c.holder_id_number) } : null,
    identifiedBy: c.identified_by,
    identifiedAt: c.identified_at?.toISOString() ?? null,
    refundPaymentId: c.refund_payment_id,
    refundedBy: c.refunded_by,
    refundedAt: c.refunded_at?.toISOString() ?? null,
    masked: !whole,
  };
}

function wrongState(c: CaseRow, expected: RefundCaseState[]): DomainError {
  return new DomainError(
    'REFUND_CASE_WRONG_STATE',
    `退费工单 ${c.case_id} 当前状态为 ${c.state}，不能执行此操作`,
    `Refund case ${c.case_id} is ${c.state}; this step needs ${expected.join(' or ')}`,
    409,
    { state: c.state, expected },
  );
}

function need(actor: Actor, permission: string): void {
  if (!can(actor, permission)) throw new DomainError('FORBIDDEN', '无此操作权限', 'Not allowed', 403, { permission });
}

function checkDocument(who: { zh: string; en: string }, idType: IdType, idNumber: string): void {
  const r = checkIdNumber(idType, idNumber);
  if (!r.ok) {
    throw new DomainError('INVALID_ID_NUMBER', `${who.zh}证件号码不正确：${maskIdNumber(idNumber)}`, `The ${who.en} ID number is invalid: ${maskIdNumber(idNumber)}`, 422, {
      field: who.en,
      reason: r.reason,
    });
  }
}

const refundRepo = {
  byId(q: Q, caseId: number) {
    return q.selectFrom('refund_cases').selectAll().where('case_id', '=', caseId).executeTakeFirst();
  },
  update(q: Q, c: CaseRow, set: Partial<Omit<CaseRow, 'case_id' | 'account_id'>>) {
    return q.updateTable('refund_cases').set(set).where('account_id', '=', c.account_id).where('case_id', '=', c.case_id).returningAll().executeTakeFirstOrThrow();
  },
  list(q: Q, f: { accountId?: number | undefined; state?: RefundCaseState | undefined }) {
    let query = q.selectFrom('refund_cases').selectAll();
    if (f.accountId !== undefined) query = query.where('account_id', '=', f.accountId);
    if (f.state !== undefined) query = query.where('state', '=', f.state);
    return query.orderBy('case_id', 'desc').limit(200).execute();
  },
};

export class RefundService {
  private readonly deps: { db: Db; clock: Clock };
  constructor(deps: { db: Db; clock: Clock }) {
    this.deps = deps;
  }

  /** The payment a case concerns: a bank-collection payment, not reversed, whose book still holds the amount. */
  private async checkPayment(q: Q, paymentId: number, amountFen: Fen) {
    const p = await moneyRepo.paymentById(q, paymentId);
    if (!p) throw notFound(PAYMENT, paymentId);
    if (p.kind !== 'payment' || (p.book_type !== BANK_COLLECTION && p.channel !== BANK_COLLECTION)) {
      throw new DomainError('NOT_BANK_COLLECTION', '只能对银行托收的扣款办理退费', 'Only a bank-collection deduction can be refunded this way', 422, {
        paymentId,
        kind: p.kind,
        channel: p.channel,
        bookType: p.book_type,
      });
    }
    if (await moneyRepo.reversalOf(q, p.account_id, paymentId)) {
      throw new DomainError('PAYMENT_REVERSED', '该笔托收已冲正，不能退费', 'The collection was reversed; there is nothing to refund', 409, { paymentId });
    }
    const book = await moneyRepo.bookById(q, p.account_id, p.book_id);
    const leftFen = book?.balance_fen ?? 0;
    if (amountFen > leftFen) {
      throw new DomainError('REFUND_ABOVE_BALANCE', `退费金额超过该笔托收剩余的 ${leftFen} 分`, `The refund is above the ${leftFen} fen the collection has left`, 409, { leftFen, amountFen });
    }
    return { payment: p, leftFen };
  }

  /** 前台接到扣费投诉: opens a case for a bank-collection payment (the complaint is a free-text reference for now). */
  async open(actor: Actor, input: OpenRefundInput) {
    need(actor, 'refund.open');
    return this.deps.db.transaction().execute(async (tx) => {
      const { payment } = await this.checkPayment(tx, input.paymentId, input.amountFen);
      const now = this.deps.clock.now();
      const c = await tx
        .insertInto('refund_cases')
        .values({
          account_id: payment.account_id,
          payment_id: payment.payment_id,
          book_id: payment.book_id,
          amount_fen: input.amountFen,
          complaint_ref: input.complaintRef,
          note: input.note ?? null,
          state: 'opened',
          opened_by: actor.operatorId,
          opened_department: actor.departmentId,
          opened_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.record(tx, actor, 'open', c, null);
      return refundCaseView(c, can(actor, 'customer.pii'));
    });
  }

  /** 帐务室确认多扣: the accounting room confirms the over-deduction (or rejects the case). */
  async confirm(actor: Actor, caseId: number, decision: { accept: boolean; reason?: string | undefined } = { accept: true }) {
    need(actor, 'refund.confirm');
    return this.step(actor, caseId, ['opened'], async (tx, c, now) => {
      if (decision.accept) {
        await this.checkPayment(tx, c.payment_id, c.amount_fen);
        return refundRepo.update(tx, c, { state: 'confirmed', confirmed_by: actor.operatorId, confirmed_at: now, updated_at: now });
      }
      return refundRepo.update(tx, c, { state: 'rejected', confirmed_by: actor.operatorId, confirmed_at: now, rejected_reason: decision.reason ?? '', updated_at: now });
    });
  }

  /** seed 004 §6.6.3: the customer's ID and the bank account holder's ID, checked like every ID (R-CUS-1). */
  async identify(actor: Actor, caseId: number, input: IdentityInput) {
    need(actor, 'refund.identify');
    const customerId = input.customer.idNumber.trim().toUpperCase();
    const holderId = input.holder.idNumber.trim().toUpperCase();
    checkDocument({ zh: '客户', en: 'customer' }, input.customer.idType, customerId);
    checkDocument({ zh: '银行帐户户主', en: 'bank account holder' }, input.holder.idType, holderId);
    return this.step(actor, caseId, ['confirmed', 'identified'], async (tx, c, now) => {
      const account = await accountRepo.accountById(tx, c.account_id);
      const customer = account ? await tx.selectFrom('customers').select(['id_type', 'id_number']).where('customer_id', '=', account.customer_id).executeTakeFirst() : undefined;
      // the person asking must be the account's customer
      if (!customer || customer.id_type !== input.customer.idType || customer.id_number !== customerId) {
        throw new DomainError('REFUND_CUSTOMER_MISMATCH', '客户证件与帐户客户不符', 'The customer’s ID does not match the account’s customer', 422);
      }
      if (account?.bank_account_holder && account.bank_account_holder !== input.holder.name.trim()) {
        throw new DomainError('REFUND_HOLDER_MISMATCH', '银行帐户户主姓名与托收帐户不符', 'The holder’s name does not match the bank-collection account', 422);
      }
      return refundRepo.update(tx, c, {
        state: 'identified',
        customer_id_type: input.customer.idType,
        customer_id_number: customerId,
        holder_name: input.holder.name.trim(),
        holder_id_type: input.holder.idType,
        holder_id_number: holderId,
        identified_by: actor.operatorId,
        identified_at: now,
        updated_at: now,
      });
    });
  }

  /** seed 004 §6.6.4: the refund leaves the bank-collection book of the payment (退掉银行托收帐目的相应金额). */
  async refund(actor: Actor, caseId: number) {
    need(actor, 'refund.execute');
    return this.step(actor, caseId, ['identified', 'confirmed'], async (tx, c, now) => {
      if (c.state !== 'identified' || !c.customer_id_number || !c.holder_id_number) {
        throw new DomainError('REFUND_IDENTITIES_MISSING', '退费前须登记客户和银行帐户户主的证件', 'The customer’s and the bank account holder’s IDs must be recorded first', 409);
      }
      await this.checkPayment(tx, c.payment_id, c.amount_fen);
      const book = await moneyRepo.bookById(tx, c.account_id, c.book_id);
      const r = await tx
        .insertInto('payments')
        .values({
          account_id: c.account_id,
          kind: 'refund',
          amount_fen: -c.amount_fen,
          book_type: book?.book_type ?? BANK_COLLECTION,
          book_id: c.book_id,
          channel: 'front_desk',
          // one refund per case, whatever happens
          idempotency_key: `refund-case:${c.case_id}`,
          operator_id: actor.operatorId,
          department_id: actor.departmentId,
          business_day: businessDay(now),
          created_at: now,
        })
        .returning('payment_id')
        .executeTakeFirstOrThrow();
      await tx
        .updateTable('books')
        .set((eb) => ({ balance_fen: eb('balance_fen', '-', c.amount_fen) }))
        .where('account_id', '=', c.account_id)
        .where('book_id', '=', c.book_id)
        .execute();
      return refundRepo.update(tx, c, { state: 'refunded', refund_payment_id: r.payment_id, refunded_by: actor.operatorId, refunded_at: now, updated_at: now });
    });
  }

  async get(actor: Actor, caseId: number) {
    const c = await refundRepo.byId(this.deps.db, caseId);
    if (!c) throw notFound(CASE, caseId);
    return refundCaseView(c, can(actor, 'customer.pii'));
  }

  async list(actor: Actor, f: { accountId?: number | undefined; state?: RefundCaseState | undefined }) {
    const rows = await refundRepo.list(this.deps.db, f);
    return { items: rows.map((c) => refundCaseView(c, can(actor, 'customer.pii'))) };
  }

  /** One state step: account lock (money may move), the case re-read under it, its state checked, audit + event. */
  private async step(actor: Actor, caseId: number, from: RefundCaseState[], fn: (tx: Tx, c: CaseRow, now: Date) => Promise<CaseRow>) {
    const found = await refundRepo.byId(this.deps.db, caseId);
    if (!found) throw notFound(CASE, caseId);
    return this.deps.db.transaction().execute(async (tx) => {
      await accountRepo.lockAccounts(tx, [found.account_id]);
      const c = (await refundRepo.byId(tx, caseId)) as CaseRow;
      if (!from.includes(c.state)) throw wrongState(c, from);
      const after = await fn(tx, c, this.deps.clock.now());
      await this.record(tx, actor, after.state, after, c);
      return refundCaseView(after, can(actor, 'customer.pii'));
    });
  }

  private async record(tx: Q, actor: Actor, step: string, after: CaseRow, before: CaseRow | null) {
    const action = { open: 'open', confirmed: 'confirm', rejected: 'reject', identified: 'identify', refunded: 'refund' }[step] ?? step;
    const view = refundCaseView(after);
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: `refund_case.${action}`, targetType: 'refund_case', targetId: after.case_id, accountId: after.account_id, before: before ? { state: before.state } : undefined, after: view },
      { type: `refund_case.${after.state}`, aggregateType: 'account', aggregateId: after.account_id, accountId: after.account_id, payload: view },
    );
  }
}
