// Accounts, minimal subscribers, payment relations and the read side of the money (balance, write-offs).
import { type Actor, audit, can } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import { type Db, inTransaction, type Q, type Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Fen } from '../../platform/money.ts';
import { emit, recordChange } from '../../platform/outbox.ts';
import type { AccountsTable, BillingType, Network, PaymentMethod } from '../../platform/schema.ts';
import { maskBankAccount } from '../customers/rules.ts';
import { bookView, moneyRepo } from './money-repo.ts';
import type { AccountingReference } from './reference.ts';
import { groupMode } from './relations.ts';
import { accountRepo } from './repo.ts';
import { type BookState, isUsable } from './writeoff.ts';

const ACCOUNT = { zh: '帐户', en: 'Account' };
const SUBSCRIBER = { zh: '用户', en: 'Subscriber' };

export interface NewAccount {
  customerId: number;
  billingType: BillingType;
  paymentMethod: PaymentMethod;
  name?: string | undefined;
  bankName?: string | undefined;
  bankAccountHolder?: string | undefined;
  bankAccountNumber?: string | undefined;
  creditLimitFen?: Fen | undefined;
}

export interface NewSubscriber {
  customerId: number;
  accountId: number;
  serviceNumber: string;
  network: Network;
}

/** What an order records on a new subscriber besides the number (SPEC §3). */
export interface SubscriberDetails {
  brandCode?: string | null;
  iccid?: string | null;
  imsi?: string | null;
  standardAddress?: string | null;
  installAddress?: string | null;
  bandwidthMbps?: number | null;
  accountManager?: string | null;
  packageId?: number | null;
}

export interface NewRelation {
  payerAccountId: number;
  priority: number;
  items?: string[] | undefined;
  limitFen?: Fen | undefined;
}

const NUMBER_FORMATS: Record<Network, RegExp> = {
  gsm2g: /^1\d{10}$/,
  wcdma3g: /^1\d{10}$/,
  broadband: /^[A-Za-z0-9_.@-]{4,40}$/,
  fixed: /^0\d{9,11}$|^\d{7,8}$/,
};

type AccountRow = { [K in keyof AccountsTable]: AccountsTable[K] extends { __select__: infer S } ? S : AccountsTable[K] };

function accountView(a: AccountRow, whole: boolean) {
  return {
    accountId: a.account_id,
    customerId: a.customer_id,
    name: a.name,
    billingType: a.billing_type,
    paymentMethod: a.payment_method,
    bankName: a.bank_name,
    bankAccountHolder: a.bank_account_holder,
    bankAccountNumber: whole ? a.bank_account_number : maskBankAccount(a.bank_account_number),
    creditLimitFen: a.credit_limit_fen,
    status: a.status,
    createdAt: a.created_at.toISOString(),
  };
}

export class AccountService {
  private readonly deps: { db: Db; clock: Clock; reference: AccountingReference };
  constructor(deps: { db: Db; clock: Clock; reference: AccountingReference }) {
    this.deps = deps;
  }

  async createAccount(actor: Actor, input: NewAccount, callerTx?: Tx) {
    if (input.paymentMethod === 'bank_collection' && (!input.bankAccountHolder || !input.bankAccountNumber || !input.bankName)) {
      throw new DomainError('BANK_DETAILS_REQUIRED', '银行托收须填写开户银行、户名和帐号', 'Bank collection needs the bank, the holder and the account number', 422);
    }
    return inTransaction(this.deps.db, callerTx, async (tx) => {
      const c = await tx.selectFrom('customers').select(['customer_id', 'name']).where('customer_id', '=', input.customerId).executeTakeFirst();
      if (!c) throw new DomainError('UNKNOWN_CUSTOMER', `客户不存在：${input.customerId}`, `Unknown customer: ${input.customerId}`, 422);
      const now = this.deps.clock.now();
      const row = await accountRepo.insertAccount(tx, {
        customer_id: input.customerId,
        name: input.name ?? c.name,
        billing_type: input.billingType,
        payment_method: input.paymentMethod,
        bank_name: input.bankName ?? null,
        bank_account_holder: input.bankAccountHolder ?? null,
        bank_account_number: input.bankAccountNumber ?? null,
        credit_limit_fen: input.creditLimitFen ?? 0,
        created_at: now,
        updated_at: now,
      });
      const masked = accountView(row, false);
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'account.create', targetType: 'account', targetId: row.account_id, accountId: row.account_id, after: masked },
        { type: 'account.created', aggregateType: 'account', aggregateId: row.account_id, accountId: row.account_id, payload: masked },
      );
      return accountView(row, can(actor, 'customer.pii'));
    });
  }

  async getAccount(actor: Actor, id: number) {
    const a = await accountRepo.accountById(this.deps.db, id);
    if (!a) throw notFound(ACCOUNT, id);
    const subs = await accountRepo.subscribersOfAccount(this.deps.db, id);
    return {
      ...accountView(a, can(actor, 'customer.pii')),
      subscribers: subs.map((s) => ({ subscriberId: s.subscriber_id, serviceNumber: s.service_number, network: s.network, status: s.status })),
    };
  }

  async createSubscriber(actor: Actor, input: NewSubscriber, callerTx?: Tx, details: SubscriberDetails = {}) {
    const number = input.serviceNumber.trim();
    if (!NUMBER_FORMATS[input.network].test(number)) {
      throw new DomainError('INVALID_SERVICE_NUMBER', `号码格式与网络类型不符：${number}`, `The service number does not fit the network ${input.network}: ${number}`, 422);
    }
    return inTransaction(this.deps.db, callerTx, async (tx) => {
      if (!(await accountRepo.customerExists(tx, input.customerId))) {
        throw new DomainError('UNKNOWN_CUSTOMER', `客户不存在：${input.customerId}`, `Unknown customer: ${input.customerId}`, 422);
      }
      const acc = await accountRepo.accountById(tx, input.accountId);
      if (!acc) throw new DomainError('UNKNOWN_ACCOUNT', `帐户不存在：${input.accountId}`, `Unknown account: ${input.accountId}`, 422);
      // R-ACC-8: the default relation is to the subscriber's own account; others pay through relations
      if (acc.customer_id !== input.customerId) {
        throw new DomainError('ACCOUNT_OF_OTHER_CUSTOMER', '默认帐户须属于同一客户；他人付费请建立帐务关系', 'The default account must belong to the same customer; use a payment relation for another payer', 422);
      }
      const taken = await accountRepo.subscribersByNumber(tx, number);
      if (taken.some((t) => t.lifecycle !== 'cancelled' && (t.network === 'broadband') === (input.network === 'broadband'))) {
        throw new DomainError('SERVICE_NUMBER_TAKEN', `号码已被使用：${number}`, `The service number is in use: ${number}`, 409);
      }
      const now = this.deps.clock.now();
      const s = await accountRepo.insertSubscriber(tx, {
        service_number: number,
        network: input.network,
        customer_id: input.customerId,
        default_account_id: input.accountId,
        brand_code: details.brandCode ?? null,
        iccid: details.iccid ?? null,
        imsi: details.imsi ?? null,
        standard_address: details.standardAddress ?? null,
        install_address: details.installAddress ?? null,
        bandwidth_mbps: details.bandwidthMbps ?? null,
        account_manager: details.accountManager ?? null,
        package_id: details.packageId ?? null,
        activated_at: now,
        created_at: now,
        updated_at: now,
      });
      const view = subscriberView(s);
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'subscriber.create', targetType: 'subscriber', targetId: s.subscriber_id, accountId: input.accountId, after: view },
        { type: 'subscriber.created', aggregateType: 'subscriber', aggregateId: s.subscriber_id, accountId: input.accountId, payload: view },
      );
      return view;
    });
  }

  /** The stored account row, for the order engine's rules. */
  async accountRecord(id: number, q: Q = this.deps.db) {
    return accountRepo.accountById(q, id);
  }

  /** A live (not cancelled) subscriber holds this number in its number space (broadband accounts have their own). */
  async numberInUse(serviceNumber: string, network: Network, q: Q = this.deps.db): Promise<boolean> {
    const taken = await accountRepo.subscribersByNumber(q, serviceNumber);
    return taken.some((t) => t.lifecycle !== 'cancelled' && (t.network === 'broadband') === (network === 'broadband'));
  }

  /** 开打时间: the moment service starts (a broadband line when its installation work order is done). */
  async markActivated(tx: Tx, actor: Actor, subscriberId: number) {
    const now = this.deps.clock.now();
    const s = await accountRepo.updateSubscriber(tx, subscriberId, { activated_at: now, updated_at: now });
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'subscriber.activate', targetType: 'subscriber', targetId: subscriberId, accountId: s.default_account_id, after: { activatedAt: now.toISOString() } },
      { type: 'subscriber.activated', aggregateType: 'subscriber', aggregateId: subscriberId, accountId: s.default_account_id, payload: { subscriberId, activatedAt: now.toISOString() } },
    );
  }

  /**
   * A subscriber's brand and package change with its products (换套餐 to another brand, 加装 into an
   * e9 package, R-E9-3); only the fields given are set. Inside the order's transaction.
   */
  async setBrandAndPackage(tx: Tx, actor: Actor, subscriberId: number, p: { brandCode?: string | null | undefined; packageId?: number | null | undefined }) {
    const before = await accountRepo.subscriberById(tx, subscriberId);
    if (!before) throw notFound(SUBSCRIBER, subscriberId);
    const now = this.deps.clock.now();
    const s = await accountRepo.updateSubscriber(tx, subscriberId, {
      ...(p.brandCode !== undefined ? { brand_code: p.brandCode } : {}),
      ...(p.packageId !== undefined ? { package_id: p.packageId } : {}),
      updated_at: now,
    });
    const view = (x: typeof s) => ({ subscriberId, brandCode: x.brand_code, packageId: x.package_id });
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'subscriber.product_change', targetType: 'subscriber', targetId: subscriberId, accountId: s.default_account_id, before: view(before), after: view(s) },
      { type: 'subscriber.changed', aggregateType: 'subscriber', aggregateId: subscriberId, accountId: s.default_account_id, payload: view(s) },
    );
    return view(s);
  }

  /** A broadband account may share its mobile's number; `network` picks one, otherwise the mobile or fixed line comes first. */
  async getSubscriber(serviceNumber: string, network?: Network) {
    const all = await accountRepo.subscribersByNumber(this.deps.db, serviceNumber);
    const s = network ? all.find((x) => x.network === network) : (all.find((x) => x.network !== 'broadband') ?? all[0]);
    if (!s) throw notFound(SUBSCRIBER, serviceNumber);
    return { ...subscriberView(s), sameNumber: all.filter((x) => x !== s).map(subscriberView) };
  }

  async createRelation(actor: Actor, subscriberId: number, input: NewRelation) {
    if (input.items) await this.deps.reference.assertItems(input.items);
    return this.deps.db.transaction().execute(async (tx) => {
      const sub = await accountRepo.subscriberById(tx, subscriberId);
      if (!sub) throw notFound(SUBSCRIBER, subscriberId);
      const payer = await accountRepo.accountById(tx, input.payerAccountId);
      if (!payer) throw new DomainError('UNKNOWN_ACCOUNT', `帐户不存在：${input.payerAccountId}`, `Unknown account: ${input.payerAccountId}`, 422);
      if (payer.account_id === sub.default_account_id) {
        throw new DomainError('RELATION_IS_DEFAULT', '该帐户已是用户的默认付费帐户', 'That account is already the subscriber’s default account', 409);
      }
      const existing = await accountRepo.relationsOf(tx, [subscriberId]);
      if (existing.some((r) => r.payer_account_id === input.payerAccountId)) {
        throw new DomainError('RELATION_EXISTS', '该帐户已为此用户付费', 'That account already pays for this subscriber', 409);
      }
      const r = await accountRepo.insertRelation(tx, {
        payer_account_id: input.payerAccountId,
        subscriber_id: subscriberId,
        priority: input.priority,
        items: input.items && input.items.length ? [...new Set(input.items)].sort() : null,
        limit_fen: input.limitFen ?? null,
        created_at: this.deps.clock.now(),
      });
      const view = relationView(r);
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'relation.create', targetType: 'payment_relation', targetId: r.relation_id, accountId: input.payerAccountId, after: view },
        { type: 'payment_relation.created', aggregateType: 'subscriber', aggregateId: subscriberId, accountId: input.payerAccountId, payload: view },
      );
      return view;
    });
  }

  async revokeRelation(actor: Actor, subscriberId: number, relationId: number) {
    return this.deps.db.transaction().execute(async (tx) => {
      const r = await accountRepo.revokeRelation(tx, relationId, this.deps.clock.now());
      if (!r || r.subscriber_id !== subscriberId) throw notFound({ zh: '帐务关系', en: 'Payment relation' }, relationId);
      await audit(tx, this.deps.clock, actor, { action: 'relation.revoke', targetType: 'payment_relation', targetId: relationId, accountId: r.payer_account_id, before: relationView(r) });
      await emit(tx, this.deps.clock, { type: 'payment_relation.revoked', aggregateType: 'subscriber', aggregateId: subscriberId, accountId: r.payer_account_id, payload: relationView(r) });
      return relationView(r);
    });
  }

  /** R-ACC-8: the extra relations in priority order, then the default relation to the own account. */
  async relations(subscriberId: number) {
    const sub = await accountRepo.subscriberById(this.deps.db, subscriberId);
    if (!sub) throw notFound(SUBSCRIBER, subscriberId);
    const rows = await accountRepo.relationsOf(this.deps.db, [subscriberId]);
    return {
      subscriberId,
      relations: rows.map(relationView),
      defaultRelation: { payerAccountId: sub.default_account_id, items: null, limitFen: null, isDefault: true },
    };
  }

  /** Books, open bills, arrears and the real-time balance (R-CC-1 without usage). */
  async balance(accountId: number, q: Q = this.deps.db) {
    const a = await accountRepo.accountById(q, accountId);
    if (!a) throw notFound(ACCOUNT, accountId);
    const now = this.deps.clock.now();
    const [books, states, lines] = await Promise.all([moneyRepo.allBooks(q, accountId), accountRepo.bookStates(q, accountId), moneyRepo.openBillLines(q, accountId)]);
    const stateOf = new Map(states.map((s) => [s.bookId, s]));
    const bookViews = books
      .filter((b) => b.balanceFen > 0 || b.closedAt === null)
      .map((b) => {
        const state = stateOf.get(b.bookId) as BookState;
        const status = isUsable(state, now) ? 'usable' : state.startAt > now ? 'not_started' : state.expiryAt && state.expiryAt <= now ? 'expired' : 'empty';
        return { ...b, status };
      });
    const bills = new Map<number, { billId: number; cycle: string; status: string; openFen: Fen; lines: unknown[] }>();
    for (const l of lines) {
      const bill = bills.get(l.bill_id) ?? { billId: l.bill_id, cycle: l.cycle, status: l.status, openFen: 0, lines: [] };
      bill.openFen += l.amount_fen - l.paid_fen;
      bill.lines.push({
        lineId: l.line_id,
        subscriberId: l.subscriber_id,
        serviceNumber: l.service_number,
        item: l.item_code,
        amountFen: l.amount_fen,
        paidFen: l.paid_fen,
        openFen: l.amount_fen - l.paid_fen,
      });
      bills.set(l.bill_id, bill);
    }
    const arrearsFen = lines.filter((l) => l.status === 'published').reduce((s, l) => s + l.amount_fen - l.paid_fen, 0);
    const usableFen = bookViews.filter((b) => b.status === 'usable').reduce((s, b) => s + b.balanceFen, 0);
    return {
      accountId,
      billingType: a.billing_type,
      books: bookViews,
      openBills: [...bills.values()],
      usableBalanceFen: usableFen,
      arrearsFen,
      creditLimitFen: a.credit_limit_fen,
      realtimeBalanceFen: usableFen - arrearsFen + a.credit_limit_fen,
      asOf: now.toISOString(),
    };
  }

  async writeOffs(accountId: number, cycle?: string) {
    const a = await accountRepo.accountById(this.deps.db, accountId);
    if (!a) throw notFound(ACCOUNT, accountId);
    const rows = await moneyRepo.writeOffLines(this.deps.db, accountId, cycle, 5000);
    return {
      accountId,
      writeOffs: rows.map((r) => ({
        writeOffId: r.write_off_id,
        createdAt: r.created_at.toISOString(),
        cycle: r.cycle,
        billId: r.bill_id,
        lineId: r.line_id,
        subscriberId: r.subscriber_id,
        serviceNumber: r.service_number,
        item: r.item_code,
        bookId: r.book_id,
        bookType: r.book_type,
        amountFen: r.amount_fen,
        trigger: { kind: r.trigger_kind, id: r.trigger_id },
        reversesWriteOffId: r.reverses_write_off_id,
      })),
    };
  }

  async payments(accountId: number) {
    const a = await accountRepo.accountById(this.deps.db, accountId);
    if (!a) throw notFound(ACCOUNT, accountId);
    return moneyRepo.paymentsOf(this.deps.db, accountId, 200);
  }
}

function subscriberView(s: { subscriber_id: number; service_number: string; network: string; customer_id: number; default_account_id: number; status: string; activated_at: Date }) {
  return {
    subscriberId: s.subscriber_id,
    serviceNumber: s.service_number,
    network: s.network,
    customerId: s.customer_id,
    defaultAccountId: s.default_account_id,
    status: s.status,
    activatedAt: s.activated_at.toISOString(),
  };
}

function relationView(r: { relation_id: number; payer_account_id: number; subscriber_id: number; priority: number; items: string[] | null; limit_fen: number | null; created_at: Date }) {
  return {
    relationId: r.relation_id,
    subscriberId: r.subscriber_id,
    payerAccountId: r.payer_account_id,
    priority: r.priority,
    items: r.items,
    limitFen: r.limit_fen,
    mode: groupMode({ items: r.items, limitFen: r.limit_fen }),
    createdAt: r.created_at.toISOString(),
  };
}

export { bookView };
