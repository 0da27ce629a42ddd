// Payments, grants, manual bills, reversals: load, call the rules, store result + audit + outbox in one transaction.
import { createHash } from 'node:crypto';
import { type Actor, can } from '../../platform/audit.ts';
import { businessDay, type Clock, compareCycles, cycleOf } from '../../platform/clock.ts';
import { type Db, inTransaction, type Q, type Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Fen } from '../../platform/money.ts';
import { recordChange } from '../../platform/outbox.ts';
import type { AccountingReference } from './reference.ts';
import { assignCharges, type RelationState } from './relations.ts';
import { accountRepo } from './repo.ts';
import { moneyRepo, type NewBook } from './money-repo.ts';
import { type Allocation, type PayFirst, writeOff } from './writeoff.ts';

const ACCOUNT = { zh: '帐户', en: 'Account' };
const PAYMENT = { zh: '缴费记录', en: 'Payment' };

export interface CreditInput {
  amountFen: Fen;
  bookType: string;
  restrictedItems?: string[] | undefined;
  /** A private book for one subscriber (R-ACC-1). */
  subscriberId?: number | undefined;
  startDate?: string | undefined;
  expiryDate?: string | undefined;
}

export interface PaymentInput extends CreditInput {
  channel: string;
  idempotencyKey: string;
  payFirst?: PayFirst | undefined;
}

export interface GrantInput extends CreditInput {
  reason: string;
}

export interface BillInput {
  cycle: string;
  lines: { subscriberId: number; item: string; amountFen: Fen }[];
}

export interface WriteOffView {
  lineId: number;
  bookId: number;
  amountFen: Fen;
}

export class MoneyService {
  private readonly deps: { db: Db; clock: Clock; reference: AccountingReference };
  /** R-X-9 (set by the bill run): parks a payment's write-off while the account has pre-bills; true when parked. */
  parkWriteOff: ((tx: Tx, accountId: number, paymentId: number) => Promise<boolean>) | undefined;
  constructor(deps: { db: Db; clock: Clock; reference: AccountingReference }) {
    this.deps = deps;
  }

  // after-commit listeners (credit control resumes a paid-up line at once, R-CC-2 / R-X-4)
  private readonly creditedListeners: ((e: CreditedEvent) => Promise<void> | void)[] = [];

  /**
   * `fn` runs after a payment, grant or reversal of an account has committed, when this service owned
   * the transaction (inside a caller's transaction, the caller calls it after its own commit). The
   * payment waits for it, so a resumption is done when the payment answers; its errors are its own.
   */
  onCredited(fn: (e: CreditedEvent) => Promise<void> | void): void {
    this.creditedListeners.push(fn);
  }

  private async credited(accountId: number, kind: CreditedEvent['kind'], callerTx: Tx | undefined): Promise<void> {
    if (callerTx) return;
    await this.creditedAfterCommit(accountId, kind);
  }

  /** For a caller that paid inside its own transaction (an order's payment or prestore): call after that commit. */
  async creditedAfterCommit(accountId: number, kind: CreditedEvent['kind'] = 'payment'): Promise<void> {
    for (const fn of this.creditedListeners) {
      try {
        await fn({ accountId, kind });
      } catch {
        /* a listener never undoes or fails the committed money change */
      }
    }
  }

  /** R-ACC-5: write off every open line the account's usable books may pay. */
  async settle(
    tx: Tx,
    accountId: number,
    trigger: { kind: 'payment' | 'grant' | 'bill' | 'reversal'; id: number },
    payFirst?: PayFirst,
    /** What the caller already knows under the account lock (saves round trips on the payment path). */
    known?: { dueBooks: boolean; openLines: boolean },
  ): Promise<Allocation[]> {
    const now = this.deps.clock.now();
    if (known?.dueBooks !== false) await accountRepo.expireDueBooks(tx, accountId, now);
    if (known?.openLines === false) return [];
    const lines = await accountRepo.openLines(tx, accountId);
    if (lines.length === 0) return [];
    const books = await accountRepo.usableBooks(tx, accountId, now);
    if (books.length === 0) return [];
    const { allocations } = writeOff(books, lines, now, payFirst);
    await accountRepo.applyWriteOff(tx, accountId, allocations, trigger, now);
    return allocations;
  }

  private async lockOne(tx: Tx, accountId: number, allowClosed = false) {
    const [acc] = await accountRepo.lockAccounts(tx, [accountId]);
    if (!acc) throw notFound(ACCOUNT, accountId);
    if (acc.status !== 'active' && !allowClosed) throw new DomainError('ACCOUNT_CLOSED', '帐户已关闭', 'The account is closed', 409);
    return acc;
  }

  /** Shared checks of a new book (payment or grant): type, items, subscriber, window. */
  private async checkCredit(q: Tx | Db, accountId: number, c: CreditInput): Promise<{ startAt: Date; expiryAt: Date | null; items: string[] | null }> {
    const type = await this.deps.reference.bookType(c.bookType, q);
    const items = c.restrictedItems && c.restrictedItems.length > 0 ? [...new Set(c.restrictedItems)].sort() : null;
    if (items) await this.deps.reference.assertItems(items, q);
    // R-ACC-12: a special-fund payment creates a restricted book, so it must say what it may pay
    if (type.code === 'restricted_fund' && !items) {
      throw new DomainError('RESTRICTED_FUND_NEEDS_ITEMS', '专款预存须指定可支付的帐目项', 'A restricted fund needs the bill items it may pay', 422);
    }
    if (c.subscriberId !== undefined) {
      const sub = await accountRepo.subscriberById(q, c.subscriberId);
      const relations = sub ? await accountRepo.relationsOf(q, [sub.subscriber_id]) : [];
      if (!sub || (sub.default_account_id !== accountId && !relations.some((r) => r.payer_account_id === accountId))) {
        throw new DomainError('SUBSCRIBER_NOT_PAID_BY_ACCOUNT', '该用户不由此帐户付费', 'This account does not pay for that subscriber', 422, {
          subscriberId: c.subscriberId,
        });
      }
    }
    const now = this.deps.clock.now();
    const startAt = c.startDate ? parseDate(c.startDate, 'startDate') : now;
    const expiryAt = c.expiryDate ? parseDate(c.expiryDate, 'expiryDate') : null;
    if (expiryAt && expiryAt.getTime() <= startAt.getTime()) {
      throw new DomainError('INVALID_BOOK_WINDOW', '失效日期须晚于生效日期', 'The expiry date must be after the start date', 422);
    }
    if (expiryAt && expiryAt.getTime() <= now.getTime()) {
      throw new DomainError('INVALID_BOOK_WINDOW', '失效日期已过', 'The expiry date has already passed', 422);
    }
    return { startAt, expiryAt, items };
  }

  /** R-ACC-12..14: a payment creates its book, then writes off open bills (R-ACC-11, R-ACC-1..5). */
  /** With `callerTx` the payment is part of the caller's transaction (an order's submission, R-ORD-4). */
  /** `allowClosedAccount`: fee recovery (销号费用回收, R-ORD-9) pays the bills left on a cancelled subscriber's closed account. */
  async pay(actor: Actor, accountId: number, input: PaymentInput, callerTx?: Tx, opts: { allowClosedAccount?: boolean } = {}): Promise<{ replayed: boolean; result: PaymentResult }> {
    const hash = requestHash(input);
    const w = await this.checkCredit(callerTx ?? this.deps.db, accountId, input);
    const now = this.deps.clock.now();
    const newPayment = {
      ...newBook(accountId, input, w, now),
      channel: input.channel,
      idempotencyKey: input.idempotencyKey,
      requestHash: hash,
      actor,
      businessDay: businessDay(now),
    };
    // the common case (nothing to write off, nothing expiring, a new key) is one atomic statement,
    // also inside a caller's transaction (an order's prestore); when it writes nothing, the full path runs
    const fast = await moneyRepo.fastPayment(callerTx ?? this.deps.db, newPayment);
    if (fast) {
      await this.credited(accountId, 'payment', callerTx);
      return { replayed: false, result: { payment: paymentView(fast.payment), writeOffs: [], books: fast.books } };
    }
    const out = await inTransaction(this.deps.db, callerTx, async (tx) => {
      await this.lockOne(tx, accountId, opts.allowClosedAccount === true && callerTx !== undefined);
      // one round trip after the lock: the key, and whether expiry or write-off has work to do
      const head = await moneyRepo.paymentHead(tx, accountId, input.idempotencyKey, now);
      // R-ACC-14: the same key makes one payment; the account lock serialises concurrent retries
      if (head.existingPaymentId !== null) {
        if (head.existingHash !== hash) {
          throw new DomainError('IDEMPOTENCY_KEY_REUSED', '幂等键已用于另一笔不同的缴费', 'The idempotency key was used for a different payment', 409, {
            paymentId: head.existingPaymentId,
          });
        }
        return { replayed: true, result: await this.paymentResult(tx, accountId, head.existingPaymentId) };
      }
      const p = await moneyRepo.insertPaymentWithBook(tx, newPayment);
      // R-X-9: pre-bills are open lines, so only a payment with open lines asks whether to park
      const parked = head.openLines && this.parkWriteOff ? await this.parkWriteOff(tx, accountId, p.payment_id) : false;
      const allocations = parked ? [] : await this.settle(tx, accountId, { kind: 'payment', id: p.payment_id }, input.payFirst, { dueBooks: head.dueBooks, openLines: head.openLines });
      const view = { paymentId: p.payment_id, amountFen: input.amountFen, bookType: input.bookType, bookId: p.book_id, channel: input.channel, writtenOffFen: sum(allocations) };
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'payment.create', targetType: 'payment', targetId: p.payment_id, accountId, after: view },
        { type: 'payment.created', aggregateType: 'account', aggregateId: accountId, accountId, payload: { accountId, ...view } },
      );
      return { replayed: false, result: { payment: paymentView(p), writeOffs: allocations.map(writeOffView), books: await moneyRepo.openBooks(tx, accountId) } };
    });
    if (!out.replayed) await this.credited(accountId, 'payment', callerTx);
    return out;
  }

  /** An earlier payment as its first answer showed it (the idempotent replay, R-ACC-14), with today's books. */
  async paymentResult(q: Tx | Db, accountId: number, paymentId: number): Promise<PaymentResult> {
    const p = await moneyRepo.paymentById(q, paymentId);
    if (!p) throw notFound(PAYMENT, paymentId);
    const writeOffs = await moneyRepo.writeOffsOfTrigger(q, accountId, 'payment', paymentId);
    const books = await moneyRepo.openBooks(q, accountId);
    return { payment: paymentView(p), writeOffs: writeOffs.map(writeOffView), books };
  }

  /** Money given to an account (discounts, gifts): a book of its own, then write-off. */
  async grant(actor: Actor, accountId: number, input: GrantInput, callerTx?: Tx) {
    const w = await this.checkCredit(callerTx ?? this.deps.db, accountId, input);
    const out = await inTransaction(this.deps.db, callerTx, async (tx) => {
      await this.lockOne(tx, accountId);
      const now = this.deps.clock.now();
      const g = await moneyRepo.insertGrantWithBook(tx, { ...newBook(accountId, input, w, now), reason: input.reason, actor });
      const allocations = await this.settle(tx, accountId, { kind: 'grant', id: g.grant_id });
      const view = { grantId: g.grant_id, bookId: g.book_id, amountFen: input.amountFen, bookType: input.bookType, reason: input.reason, writtenOffFen: sum(allocations) };
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'grant.create', targetType: 'grant', targetId: g.grant_id, accountId, after: view },
        { type: 'grant.created', aggregateType: 'account', aggregateId: accountId, accountId, payload: { accountId, ...view } },
      );
      return { grant: view, writeOffs: allocations, books: await moneyRepo.openBooks(tx, accountId) };
    });
    await this.credited(accountId, 'grant', callerTx);
    return out;
  }

  /**
   * 帐务调整: posts itemised charges of a cycle for subscribers of this account. Items go to the
   * paying accounts by the payment relations (R-ACC-9), each account's bill is written off at once.
   */
  async postBill(actor: Actor, accountId: number, input: BillInput, callerTx?: Tx) {
    const now = this.deps.clock.now();
    const q = callerTx ?? this.deps.db;
    if (compareCycles(input.cycle, cycleOf(now)) > 0) {
      throw new DomainError('CYCLE_IN_FUTURE', `帐期 ${input.cycle} 尚未开始`, `Cycle ${input.cycle} has not started yet`, 422);
    }
    if (!(await accountRepo.accountById(q, accountId))) throw notFound(ACCOUNT, accountId);
    await this.deps.reference.assertItems(
      input.lines.map((l) => l.item),
      q,
    );
    const subIds = [...new Set(input.lines.map((l) => l.subscriberId))];
    const subs = await accountRepo.subscribersByIds(q, subIds);
    const wrong = subIds.filter((id) => !subs.some((s) => s.subscriber_id === id && s.default_account_id === accountId));
    if (wrong.length) {
      throw new DomainError('SUBSCRIBER_NOT_ON_ACCOUNT', `用户不属于此帐户：${wrong.join(',')}`, `Subscribers not on this account: ${wrong.join(',')}`, 422, {
        subscriberIds: wrong,
      });
    }
    const relations = await accountRepo.relationsOf(q, subIds);
    const payerIds = [...new Set([accountId, ...relations.map((r) => r.payer_account_id)])].sort((a, b) => a - b);
    return inTransaction(this.deps.db, callerTx, async (tx) => {
      const locked = await accountRepo.lockAccounts(tx, payerIds);
      if (!locked.some((a) => a.account_id === accountId)) throw notFound(ACCOUNT, accountId);
      const used = await accountRepo.relationUse(tx, relations.map((r) => r.relation_id), input.cycle);
      const perPayer = new Map<number, { subscriberId: number; itemCode: string; amountFen: Fen; relationId: number | null }[]>();
      for (const subId of subIds) {
        const charges = await Promise.all(
          input.lines
            .filter((l) => l.subscriberId === subId)
            .map(async (l) => ({ itemCode: l.item, amountFen: l.amountFen, itemPriority: await this.deps.reference.itemPriority(l.item, tx) })),
        );
        const rels: RelationState[] = relations
          .filter((r) => r.subscriber_id === subId)
          .map((r) => ({ relationId: r.relation_id, payerAccountId: r.payer_account_id, priority: r.priority, items: r.items, limitFen: r.limit_fen, usedFen: used.get(r.relation_id) ?? 0 }));
        for (const a of assignCharges(charges, rels, accountId)) {
          const list = perPayer.get(a.payerAccountId) ?? [];
          list.push({ subscriberId: subId, itemCode: a.itemCode, amountFen: a.amountFen, relationId: a.relationId });
          perPayer.set(a.payerAccountId, list);
        }
      }
      const bills = [];
      for (const payer of [...perPayer.keys()].sort((a, b) => a - b)) {
        const lines = perPayer.get(payer) ?? [];
        const billId = await moneyRepo.ensureBill(tx, payer, input.cycle, now);
        const inserted = await moneyRepo.insertLines(tx, payer, billId, input.cycle, lines, now);
        const allocations = await this.settle(tx, payer, { kind: 'bill', id: billId });
        const view = {
          accountId: payer,
          billId,
          cycle: input.cycle,
          postedFen: sum(lines),
          lines: inserted.map((l) => ({ lineId: l.line_id, subscriberId: l.subscriber_id, item: l.item_code, amountFen: l.amount_fen, relationId: l.relation_id })),
        };
        await recordChange(
          tx,
          this.deps.clock,
          actor,
          { action: 'bill.manual', targetType: 'bill', targetId: billId, accountId: payer, after: view },
          { type: 'bill.posted', aggregateType: 'account', aggregateId: payer, accountId: payer, payload: { ...view, writtenOffFen: sum(allocations) } },
        );
        bills.push({ ...view, writeOffs: allocations });
      }
      return { bills };
    });
  }

  /** R-ORD-9: formal cancellation hands back the customer's own money as refunds (grants lapse), leaving the account at zero. */
  async refundBalances(tx: Tx, actor: Actor, accountId: number, reason: string): Promise<{ refundedFen: Fen; refunds: { paymentId: number; bookId: number; amountFen: Fen }[] }> {
    await this.lockOne(tx, accountId);
    const now = this.deps.clock.now();
    await accountRepo.expireDueBooks(tx, accountId, now);
    await accountRepo.forfeitGrantBooks(tx, accountId, now);
    const refunds = [];
    for (const b of await moneyRepo.booksWithBalance(tx, accountId)) {
      const r = await moneyRepo.insertRefund(tx, accountId, b, actor, businessDay(now), now);
      await moneyRepo.takeFromBook(tx, accountId, b.book_id, b.balance_fen, now);
      refunds.push({ paymentId: r.payment_id, bookId: b.book_id, amountFen: b.balance_fen });
    }
    const view = { accountId, refundedFen: sum(refunds), refunds, reason };
    if (refunds.length) {
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'payment.refund', targetType: 'account', targetId: accountId, accountId, after: view },
        { type: 'payment.refunded', aggregateType: 'account', aggregateId: accountId, accountId, payload: view },
      );
    }
    return { refundedFen: view.refundedFen, refunds };
  }

  /** A payment as the order engine's rules see it: the row and whether it was reversed. */
  async paymentRecord(paymentId: number, q: Q = this.deps.db) {
    const p = await moneyRepo.paymentById(q, paymentId);
    if (!p) return undefined;
    return { ...paymentView(p), invoicedAt: p.invoiced_at?.toISOString() ?? null, reversed: (await moneyRepo.reversalOf(q, p.account_id, paymentId)) !== undefined };
  }

  /**
   * 补打发票: a payment without an invoice gets one now (invoiced_at set, audited); one that has it gets
   * a reprint, audited only. R-X-8: once invoiced, the payment can no longer be reversed.
   */
  async invoice(tx: Tx, actor: Actor, paymentId: number, meta: { orderId?: number | null | undefined } = {}) {
    const p = await moneyRepo.paymentById(tx, paymentId);
    if (!p) throw notFound(PAYMENT, paymentId);
    const now = this.deps.clock.now();
    const orderId = meta.orderId ?? null;
    const issued = p.invoiced_at ? undefined : await moneyRepo.markInvoiced(tx, p.account_id, paymentId, now);
    const invoicedAt = (issued?.invoiced_at ?? p.invoiced_at ?? now).toISOString();
    const view = { paymentId, accountId: p.account_id, amountFen: p.amount_fen, invoicedAt, reprint: !issued, orderId };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      {
        action: issued ? 'payment.invoice' : 'payment.invoice_reprint',
        targetType: 'payment',
        targetId: paymentId,
        accountId: p.account_id,
        before: { invoicedAt: p.invoiced_at?.toISOString() ?? null },
        after: view,
      },
      { type: issued ? 'payment.invoiced' : 'payment.invoice_reprinted', aggregateType: 'account', aggregateId: p.account_id, accountId: p.account_id, payload: view },
    );
    return view;
  }

  /**
   * R-ACC-15 / R-X-8: undoes exactly the payment's write-offs and book with negative records; the
   * reopened lines are then written off again from the other books.
   */
  async reverse(actor: Actor, paymentId: number, reason: string) {
    const found = await moneyRepo.paymentById(this.deps.db, paymentId);
    if (!found) throw notFound(PAYMENT, paymentId);
    const accountId = found.account_id;
    const out = await this.deps.db.transaction().execute(async (tx) => {
      await accountRepo.lockAccounts(tx, [accountId]);
      const p = await moneyRepo.paymentById(tx, paymentId);
      if (!p) throw notFound(PAYMENT, paymentId);
      const now = this.deps.clock.now();
      if (p.kind === 'reversal') throw new DomainError('CANNOT_REVERSE_REVERSAL', '冲正记录不能再冲正', 'A reversal cannot be reversed', 409);
      if (await moneyRepo.reversalOf(tx, accountId, paymentId)) {
        throw new DomainError('ALREADY_REVERSED', '该笔缴费已冲正', 'The payment has already been reversed', 409);
      }
      if (p.invoiced_at) throw new DomainError('PAYMENT_INVOICED', '已开具发票的缴费不能冲正', 'A payment with an issued invoice cannot be reversed', 409);
      // R-ACC-15: same day by the same department; otherwise the accounting room's permission
      const sameDayAndDept = p.business_day === businessDay(now) && p.department_id !== null && p.department_id === actor.departmentId;
      if (!sameDayAndDept && !can(actor, 'payment.reverse_any')) {
        throw new DomainError('REVERSAL_NOT_ALLOWED', '非当日或非本部门的缴费只能由帐务室冲正', 'Only the accounting room may reverse a payment of another day or department', 403);
      }
      const originals = await moneyRepo.unreversedWriteOffsOfBook(tx, accountId, p.book_id);
      if (await moneyRepo.billsChangedSince(tx, accountId, originals.map((o) => o.line_id), p.created_at)) {
        throw new DomainError('BILL_CHANGED', '相关帐单在缴费后已调整，不能冲正', 'A bill paid by this payment changed since; it cannot be reversed', 409);
      }
      const book = await moneyRepo.bookById(tx, accountId, p.book_id);
      const restored = sum(originals.map((o) => ({ amountFen: o.amount_fen })));
      if (!book || book.balance_fen + restored - p.amount_fen < 0) {
        throw new DomainError('BOOK_WOULD_GO_NEGATIVE', '帐本余额已被使用或失效，冲正会使余额为负', 'The book’s money has expired or moved; reversal would make it negative', 409);
      }
      const rev = await moneyRepo.insertReversal(tx, p, actor, businessDay(now), now);
      await moneyRepo.insertNegativeWriteOffs(tx, accountId, originals, rev.payment_id, now);
      await accountRepo.adjustLinesAndBooks(
        tx,
        accountId,
        originals.map((o) => ({ lineId: o.line_id, bookId: o.book_id, amountFen: -o.amount_fen })),
      );
      await moneyRepo.takeFromBook(tx, accountId, p.book_id, p.amount_fen, now);
      const rewritten = await this.settle(tx, accountId, { kind: 'reversal', id: rev.payment_id });
      const view = { reversalId: rev.payment_id, paymentId, amountFen: -p.amount_fen, reversedWriteOffs: originals.length, reason };
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'payment.reverse', targetType: 'payment', targetId: paymentId, accountId, before: paymentView(p), after: view },
        { type: 'payment.reversed', aggregateType: 'account', aggregateId: accountId, accountId, payload: { accountId, ...view } },
      );
      return {
        reversal: paymentView(rev),
        reversedWriteOffs: originals.map((o) => ({ writeOffId: o.write_off_id, lineId: o.line_id, bookId: o.book_id, amountFen: -o.amount_fen })),
        rewrittenOff: rewritten,
        books: await moneyRepo.openBooks(tx, accountId),
      };
    });
    await this.credited(accountId, 'reversal', undefined);
    return out;
  }
}

/** A committed money change of one account that may change its credit standing. */
export interface CreditedEvent {
  accountId: number;
  kind: 'payment' | 'grant' | 'reversal';
}

export interface PaymentResult {
  payment: ReturnType<typeof paymentView>;
  writeOffs: WriteOffView[];
  books: Awaited<ReturnType<typeof moneyRepo.openBooks>>;
}

export function paymentView(p: {
  payment_id: number;
  account_id: number;
  kind: string;
  amount_fen: number;
  book_type: string;
  book_id: number;
  channel: string;
  idempotency_key: string | null;
  reverses_payment_id: number | null;
  operator_id: number | null;
  department_id: string | null;
  created_at: Date;
}) {
  return {
    paymentId: p.payment_id,
    accountId: p.account_id,
    kind: p.kind,
    amountFen: p.amount_fen,
    bookType: p.book_type,
    bookId: p.book_id,
    channel: p.channel,
    idempotencyKey: p.idempotency_key,
    reversesPaymentId: p.reverses_payment_id,
    operatorId: p.operator_id,
    departmentId: p.department_id,
    createdAt: p.created_at.toISOString(),
  };
}

function newBook(accountId: number, c: CreditInput, w: { startAt: Date; expiryAt: Date | null; items: string[] | null }, now: Date): NewBook {
  return { accountId, amountFen: c.amountFen, bookType: c.bookType, restrictedItems: w.items, subscriberId: c.subscriberId ?? null, startAt: w.startAt, expiryAt: w.expiryAt, now };
}

const writeOffView = (a: Allocation): WriteOffView => ({ lineId: a.lineId, bookId: a.bookId, amountFen: a.amountFen });

function sum(xs: readonly { amountFen: Fen }[]): Fen {
  return xs.reduce((s, x) => s + x.amountFen, 0);
}

function requestHash(input: PaymentInput): string {
  const canonical = JSON.stringify([
    input.amountFen,
    input.bookType,
    [...(input.restrictedItems ?? [])].sort(),
    input.subscriberId ?? null,
    input.startDate ?? null,
    input.expiryDate ?? null,
    input.channel,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Dates are "YYYY-MM-DD" (00:00 Asia/Shanghai) or full ISO instants. */
export function parseDate(s: string, field: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(s) ? new Date(`${s}T00:00:00+08:00`) : new Date(s);
  // JS rolls an impossible day over ("2026-02-30" → 2 March): the written date must exist in the calendar
  const [y, m, day] = s.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(y, m - 1, day));
  const realDay = calendar.getUTCFullYear() === y && calendar.getUTCMonth() === m - 1 && calendar.getUTCDate() === day;
  if (!realDay || Number.isNaN(d.getTime()) || d.getUTCFullYear() > 9999 || d.getUTCFullYear() < 1970) {
    throw new DomainError('INVALID_DATE', `日期不正确：${field}=${s}`, `Invalid date: ${field}=${s}`, 400, { field });
  }
  return d;
}
