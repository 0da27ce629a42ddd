// Accounts, minimal subscribers, payment relations and the read side of the money (balance, write-offs).
import { type Actor, audit, can } from '../../platform/audit.ts';
import { addCycles, type Clock, cycleOf } from '../../platform/clock.ts';
import { type Db, inTransaction, type Q, type Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Fen } from '../../platform/money.ts';
import { emit, recordChange, recordChanges } from '../../platform/outbox.ts';
import type { AccountsTable, BillingType, Network, PaymentMethod, StopReason } from '../../platform/schema.ts';
import { maskBankAccount } from '../customers/rules.ts';
import { bookView, moneyRepo } from './money-repo.ts';
import type { AccountingReference } from './reference.ts';
import { groupMode } from './relations.ts';
import { accountRepo } from './repo.ts';
import { type BookState, isUsable, writeOff } from './writeoff.ts';

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

/** What a caller inside its transaction has already read for createSubscriber (see there). */
export interface KnownForSubscriber {
  customerExists?: boolean | undefined;
  /** the customer owning the default account */
  accountCustomerId?: number | undefined;
  /** no live subscriber holds the number in its number space */
  numberFree?: boolean | undefined;
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

/** numberInUse's rule on the subscribers of a number read elsewhere (ResourceService.numberSimAndHolders reads them with the number). */
export function numberHeld(holders: readonly { network: Network; lifecycle: string }[], network: Network): boolean {
  return holders.some((t) => t.lifecycle !== 'cancelled' && (t.network === 'broadband') === (network === 'broadband'));
}

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

  /**
   * `known` (the order engine, inside its transaction): the customer's name it has just read, so the
   * customer is not read again; the foreign key still refuses an unknown customer.
   */
  async createAccount(actor: Actor, input: NewAccount, callerTx?: Tx, known: { customerName?: string | undefined } = {}) {
    if (input.paymentMethod === 'bank_collection' && (!input.bankAccountHolder || !input.bankAccountNumber || !input.bankName)) {
      throw new DomainError('BANK_DETAILS_REQUIRED', '银行托收须填写开户银行、户名和帐号', 'Bank collection needs the bank, the holder and the account number', 422);
    }
    return inTransaction(this.deps.db, callerTx, async (tx) => {
      const c =
        known.customerName !== undefined
          ? { name: known.customerName }
          : await tx.selectFrom('customers').select(['customer_id', 'name']).where('customer_id', '=', input.customerId).executeTakeFirst();
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

  /**
   * `known` (the order engine, inside its transaction, after its checks passed): what the caller has
   * already established in this transaction, so it is not read again — the customer exists, the
   * account's owner, the number is free in its space. The foreign keys and the unique number index
   * (409 SERVICE_NUMBER_TAKEN) still guard against a concurrent change.
   */
  async createSubscriber(actor: Actor, input: NewSubscriber, callerTx?: Tx, details: SubscriberDetails = {}, known: KnownForSubscriber = {}) {
    const number = input.serviceNumber.trim();
    if (!NUMBER_FORMATS[input.network].test(number)) {
      throw new DomainError('INVALID_SERVICE_NUMBER', `号码格式与网络类型不符：${number}`, `The service number does not fit the network ${input.network}: ${number}`, 422);
    }
    return inTransaction(this.deps.db, callerTx, async (tx) => {
      if (!known.customerExists && !(await accountRepo.customerExists(tx, input.customerId))) {
        throw new DomainError('UNKNOWN_CUSTOMER', `客户不存在：${input.customerId}`, `Unknown customer: ${input.customerId}`, 422);
      }
      const acc = known.accountCustomerId !== undefined ? { customer_id: known.accountCustomerId } : await accountRepo.accountById(tx, input.accountId);
      if (!acc) throw new DomainError('UNKNOWN_ACCOUNT', `帐户不存在：${input.accountId}`, `Unknown account: ${input.accountId}`, 422);
      // R-ACC-8: the default relation is to the subscriber's own account; others pay through relations
      if (acc.customer_id !== input.customerId) {
        throw new DomainError('ACCOUNT_OF_OTHER_CUSTOMER', '默认帐户须属于同一客户；他人付费请建立帐务关系', 'The default account must belong to the same customer; use a payment relation for another payer', 422);
      }
      const taken = known.numberFree ? [] : await accountRepo.subscribersByNumber(tx, number);
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

  /** The live (not cancelled) subscriber of a number in its number space (a broadband account or not), e.g. for binding (R-BND-1). */
  async liveSubscriberOf(serviceNumber: string, broadband: boolean, q: Q = this.deps.db): Promise<{ subscriberId: number; network: Network } | undefined> {
    const s = (await accountRepo.subscribersByNumber(q, serviceNumber)).find((t) => t.lifecycle !== 'cancelled' && (t.network === 'broadband') === broadband);
    return s ? { subscriberId: s.subscriber_id, network: s.network } : undefined;
  }

  /** A live (not cancelled) subscriber holds this number in its number space (broadband accounts have their own). */
  async numberInUse(serviceNumber: string, network: Network, q: Q = this.deps.db): Promise<boolean> {
    return numberHeld(await accountRepo.subscribersByNumber(q, serviceNumber), network);
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

  // ---- changes made by general-service orders (SPEC §7.2, seed 004 §6.10), in the order's transaction ----

  /**
   * R-X-1: adds and removes stop reasons of the subscriber's set; the lifecycle is untouched and the
   * displayed status follows from both (a generated column). Audited with the state before and after.
   */
  async changeStopReasons(
    tx: Tx,
    actor: Actor,
    subscriberId: number,
    change: { add?: StopReason[] | undefined; remove?: StopReason[] | undefined },
    meta: { orderId?: number | null | undefined; reason?: string | null | undefined } = {},
  ) {
    const before = await accountRepo.lockSubscriber(tx, subscriberId);
    if (!before) throw notFound(SUBSCRIBER, subscriberId);
    const now = this.deps.clock.now();
    const after = await accountRepo.updateSubscriber(tx, subscriberId, { stop_reasons: reasonsChanged(before.stop_reasons, change), updated_at: now });
    const c = stopReasonsChange(before, after, meta);
    await recordChange(tx, this.deps.clock, actor, c.audit, c.event);
    return { before: c.before, after: c.after };
  }

  /**
   * R-X-1 for many subscribers at once (credit control of many accounts): locked in id order, updated
   * in one statement, each change audited as changeStopReasons does (one statement for all). A
   * subscriber appears at most once; the result is keyed by subscriber id.
   */
  async changeStopReasonsMany(
    tx: Tx,
    actor: Actor,
    changes: { subscriberId: number; add?: StopReason[] | undefined; remove?: StopReason[] | undefined; orderId?: number | null | undefined; reason?: string | null | undefined }[],
  ) {
    const out = new Map<number, { before: ReturnType<typeof statusView>; after: ReturnType<typeof statusView> }>();
    if (changes.length === 0) return out;
    const locked = new Map((await accountRepo.lockSubscribers(tx, changes.map((c) => c.subscriberId))).map((s) => [s.subscriber_id, s]));
    const rows = changes.map((c) => {
      const before = locked.get(c.subscriberId);
      if (!before) throw notFound(SUBSCRIBER, c.subscriberId);
      return { subscriberId: c.subscriberId, stopReasons: reasonsChanged(before.stop_reasons, c) };
    });
    const updated = new Map((await accountRepo.setStopReasons(tx, rows, this.deps.clock.now())).map((s) => [s.subscriber_id, s]));
    const records = changes.map((c) => {
      const x = stopReasonsChange(locked.get(c.subscriberId) as StatusRow, updated.get(c.subscriberId) as StatusRow, c);
      out.set(c.subscriberId, { before: x.before, after: x.after });
      return { audit: x.audit, event: x.event };
    });
    await recordChanges(tx, this.deps.clock, actor, records);
    return out;
  }

  /** 复装: a pre-cancelled subscriber goes back to the normal lifecycle (before formal cancellation, R-ORD-8/9). */
  async reinstate(tx: Tx, actor: Actor, subscriberId: number, meta: { orderId?: number | null | undefined } = {}) {
    const before = await accountRepo.lockSubscriber(tx, subscriberId);
    if (!before) throw notFound(SUBSCRIBER, subscriberId);
    if (before.lifecycle !== 'pre_cancelled') {
      throw new DomainError('NOT_PRE_CANCELLED', `用户 ${before.service_number} 不是预销号状态`, `Subscriber ${before.service_number} is not pre-cancelled`, 409, { lifecycle: before.lifecycle });
    }
    const now = this.deps.clock.now();
    const after = await accountRepo.updateSubscriber(tx, subscriberId, { lifecycle: 'normal', pre_cancelled_at: null, updated_at: now });
    const b = { ...statusView(before), preCancelledAt: before.pre_cancelled_at?.toISOString() ?? null };
    const a = statusView(after);
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'subscriber.reinstate', targetType: 'subscriber', targetId: subscriberId, accountId: after.default_account_id, before: b, after: { ...a, orderId: meta.orderId ?? null } },
      {
        type: 'subscriber.reinstated',
        aggregateType: 'subscriber',
        aggregateId: subscriberId,
        accountId: after.default_account_id,
        payload: { subscriberId, serviceNumber: after.service_number, before: b, after: a, orderId: meta.orderId ?? null },
      },
    );
    return { before: b, after: a };
  }

  /** SIM (补卡), install address (更改资料), long-distance level: the changed fields, audited before/after. */
  async updateSubscriberDetails(
    tx: Tx,
    actor: Actor,
    subscriberId: number,
    change: { iccid?: string | null; imsi?: string | null; installAddress?: string | null; longDistanceLevel?: 'local' | 'domestic' | 'international' },
    meta: { orderId?: number | null | undefined; what: string },
  ) {
    const before = await accountRepo.lockSubscriber(tx, subscriberId);
    if (!before) throw notFound(SUBSCRIBER, subscriberId);
    const cols = { iccid: 'iccid', imsi: 'imsi', installAddress: 'install_address', longDistanceLevel: 'long_distance_level' } as const;
    const set: Record<string, unknown> = {};
    const b: Record<string, unknown> = {};
    const a: Record<string, unknown> = {};
    for (const [k, col] of Object.entries(cols) as [keyof typeof cols, (typeof cols)[keyof typeof cols]][]) {
      if (change[k] === undefined || change[k] === before[col]) continue;
      set[col] = change[k];
      b[k] = before[col];
      a[k] = change[k];
    }
    if (Object.keys(set).length === 0) return { before: b, after: a };
    const after = await accountRepo.updateSubscriber(tx, subscriberId, { ...set, updated_at: this.deps.clock.now() });
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: `subscriber.${meta.what}`, targetType: 'subscriber', targetId: subscriberId, accountId: after.default_account_id, before: b, after: { ...a, orderId: meta.orderId ?? null } },
      {
        type: 'subscriber.updated',
        aggregateType: 'subscriber',
        aggregateId: subscriberId,
        accountId: after.default_account_id,
        payload: { subscriberId, serviceNumber: after.service_number, what: meta.what, before: b, after: a, orderId: meta.orderId ?? null },
      },
    );
    return { before: b, after: a };
  }

  /** 改号: the subscriber carries a new service number (the pool moves are the resources domain's). */
  async changeServiceNumber(tx: Tx, actor: Actor, subscriberId: number, serviceNumber: string, meta: { orderId?: number | null | undefined } = {}) {
    const before = await accountRepo.lockSubscriber(tx, subscriberId);
    if (!before) throw notFound(SUBSCRIBER, subscriberId);
    if (!NUMBER_FORMATS[before.network].test(serviceNumber)) {
      throw new DomainError('INVALID_SERVICE_NUMBER', `号码格式与网络类型不符：${serviceNumber}`, `The service number does not fit the network ${before.network}: ${serviceNumber}`, 422);
    }
    if (await this.numberInUse(serviceNumber, before.network, tx)) {
      throw new DomainError('SERVICE_NUMBER_TAKEN', `号码已被使用：${serviceNumber}`, `The service number is in use: ${serviceNumber}`, 409);
    }
    const after = await accountRepo.updateSubscriber(tx, subscriberId, { service_number: serviceNumber, updated_at: this.deps.clock.now() });
    const change = { oldNumber: before.service_number, newNumber: serviceNumber, orderId: meta.orderId ?? null };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'subscriber.change_number', targetType: 'subscriber', targetId: subscriberId, accountId: after.default_account_id, before: { serviceNumber: before.service_number }, after: change },
      { type: 'subscriber.number_changed', aggregateType: 'subscriber', aggregateId: subscriberId, accountId: after.default_account_id, payload: { subscriberId, ...change } },
    );
    return subscriberView(after);
  }

  /** 打印清单: the subscriber's published bill lines of a cycle, with what is paid. */
  async billLines(subscriberId: number, cycle: string, q: Q = this.deps.db) {
    const rows = await accountRepo.subscriberBillLines(q, subscriberId, cycle);
    return rows.map((r) => ({
      lineId: r.line_id,
      accountId: r.account_id,
      billId: r.bill_id,
      item: r.item_code,
      name: { zh: r.name_zh, en: r.name_en },
      amountFen: r.amount_fen,
      paidFen: r.paid_fen,
      openFen: r.amount_fen - r.paid_fen,
    }));
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
  async relations(subscriberId: number, q: Q = this.deps.db) {
    const sub = await accountRepo.subscriberById(q, subscriberId);
    if (!sub) throw notFound(SUBSCRIBER, subscriberId);
    const rows = await accountRepo.relationsOf(q, [subscriberId]);
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
        badDebt: l.bad_debt,
      });
      bills.set(l.bill_id, bill);
    }
    // R-BIL-10: bad debt is shown apart, not as arrears
    const arrearsFen = lines.filter((l) => l.status === 'published' && !l.bad_debt).reduce((s, l) => s + l.amount_fen - l.paid_fen, 0);
    const badDebtFen = lines.filter((l) => l.status === 'published' && l.bad_debt).reduce((s, l) => s + l.amount_fen - l.paid_fen, 0);
    const usableFen = bookViews.filter((b) => b.status === 'usable').reduce((s, b) => s + b.balanceFen, 0);
    return {
      accountId,
      billingType: a.billing_type,
      books: bookViews,
      openBills: [...bills.values()],
      usableBalanceFen: usableFen,
      arrearsFen,
      badDebtFen,
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

  // ---- lifecycle and ownership (orders R-ORD-8..10, joint account 合帐, household merge/split 合户/分户) ----

  /** R-ORD-8: what the subscriber was billed in its last `months` complete cycles, for the average bill. */
  async recentBilledFen(subscriberId: number, months: number, q: Q = this.deps.db): Promise<{ cycles: string[]; totalFen: Fen }> {
    const current = cycleOf(this.deps.clock.now());
    const cycles = Array.from({ length: months }, (_, i) => addCycles(current, -(i + 1))).reverse();
    return { cycles, totalFen: await accountRepo.billedFen(q, subscriberId, cycles) };
  }

  /**
   * R-ORD-9: a dry run of the write-off (R-ACC-5) with the books usable now: what they would pay and
   * which bill lines would stay open (the arrears to collect before the account can be settled to zero).
   */
  async settlementPreview(accountId: number, q: Q = this.deps.db) {
    const now = this.deps.clock.now();
    const [lines, books] = await Promise.all([accountRepo.openLines(q, accountId), accountRepo.bookStates(q, accountId)]);
    const { allocations, lineOpen } = writeOff(books, lines, now);
    const usableFen = books.filter((b) => isUsable(b, now)).reduce((s, b) => s + b.balanceFen, 0);
    const coveredFen = allocations.reduce((s, a) => s + a.amountFen, 0);
    return {
      accountId,
      /** every book's balance, usable now or not (started later, expired but not yet closed) */
      heldFen: books.reduce((s, b) => s + b.balanceFen, 0),
      usableFen,
      /** open published bill lines now */
      arrearsFen: lines.reduce((s, l) => s + l.openFen, 0),
      /** what the usable books would pay of them */
      coveredFen,
      /** what would stay in the usable books afterwards (handed back on cancellation) */
      remainingBalanceFen: usableFen - coveredFen,
      lines: lines.map((l) => ({ lineId: l.lineId, subscriberId: l.subscriberId, cycle: l.cycle, itemCode: l.itemCode, openFen: l.openFen, unpaidFen: lineOpen.get(l.lineId) ?? l.openFen })),
    };
  }

  /** The accounts of a customer (an existing real-time account may take a transferred subscriber, R-ORD-10). */
  async accountsOf(customerId: number, q: Q = this.deps.db) {
    return accountRepo.accountsOfCustomer(q, customerId);
  }

  /** Who still needs an account: live subscribers paying by default from it and live payment relations. */
  async accountUsers(accountId: number, q: Q = this.deps.db) {
    return accountRepo.accountUsers(q, accountId);
  }

  /**
   * R-ORD-8 / R-ORD-9: pre-cancellation (the line is stopped on the network) and formal cancellation
   * (the subscription is removed); the provisioning command is an outbox event (R-INT-2).
   */
  async changeLifecycle(tx: Tx, actor: Actor, subscriberId: number, to: 'pre_cancelled' | 'cancelled', note: { orderId: number | null; reason?: string | undefined }) {
    const before = await accountRepo.subscriberById(tx, subscriberId);
    if (!before) throw notFound(SUBSCRIBER, subscriberId);
    const now = this.deps.clock.now();
    const s = await accountRepo.updateSubscriber(tx, subscriberId, to === 'pre_cancelled' ? { lifecycle: to, pre_cancelled_at: now, updated_at: now } : { lifecycle: to, cancelled_at: now, updated_at: now });
    const view = { ...subscriberView(s), lifecycle: s.lifecycle, preCancelledAt: s.pre_cancelled_at?.toISOString() ?? null, cancelledAt: s.cancelled_at?.toISOString() ?? null };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: `subscriber.${to === 'pre_cancelled' ? 'pre_cancel' : 'cancel'}`, targetType: 'subscriber', targetId: subscriberId, accountId: s.default_account_id, before: { lifecycle: before.lifecycle, status: before.status }, after: { ...view, reason: note.reason ?? null, orderId: note.orderId } },
      { type: `subscriber.${to}`, aggregateType: 'subscriber', aggregateId: subscriberId, accountId: s.default_account_id, payload: { ...view, reason: note.reason ?? null, orderId: note.orderId } },
    );
    await emit(tx, this.deps.clock, {
      type: 'provisioning.command',
      aggregateType: 'subscriber',
      aggregateId: subscriberId,
      accountId: s.default_account_id,
      payload: { command: to === 'pre_cancelled' ? 'stop' : 'cancel', serviceNumber: s.service_number, network: s.network, subscriberId, orderId: note.orderId, reason: to },
    });
    return view;
  }

  /**
   * Moves a subscriber to another default account of its owner (合帐, 合户/分户) or to a new owner and
   * that owner's account (过户, R-ORD-10). R-ACC-8: the default account belongs to the subscriber's customer.
   */
  async moveSubscriber(
    tx: Tx,
    actor: Actor,
    subscriberId: number,
    to: { customerId: number; accountId: number },
    note: { orderId: number | null; reason: 'transfer_ownership' | 'joint_account' | 'household_merge' | 'household_split'; revokeRelations?: boolean },
  ) {
    const before = await accountRepo.subscriberById(tx, subscriberId);
    if (!before) throw notFound(SUBSCRIBER, subscriberId);
    const acc = await accountRepo.accountById(tx, to.accountId);
    if (!acc) throw new DomainError('UNKNOWN_ACCOUNT', `帐户不存在：${to.accountId}`, `Unknown account: ${to.accountId}`, 422);
    if (acc.status !== 'active') throw new DomainError('ACCOUNT_CLOSED', '帐户已关闭', 'The account is closed', 409);
    if (acc.customer_id !== to.customerId) {
      throw new DomainError('ACCOUNT_OF_OTHER_CUSTOMER', '默认帐户须属于同一客户；他人付费请建立帐务关系', 'The default account must belong to the same customer; use a payment relation for another payer', 422);
    }
    const now = this.deps.clock.now();
    const s = await accountRepo.updateSubscriber(tx, subscriberId, { customer_id: to.customerId, default_account_id: to.accountId, updated_at: now });
    const revoked = note.revokeRelations ? await accountRepo.revokeRelationsOf(tx, subscriberId, now) : [];
    for (const r of revoked) {
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'relation.revoke', targetType: 'payment_relation', targetId: r.relation_id, accountId: r.payer_account_id, before: relationView(r), after: { revokedAt: now.toISOString(), reason: note.reason } },
        { type: 'payment_relation.revoked', aggregateType: 'subscriber', aggregateId: subscriberId, accountId: r.payer_account_id, payload: relationView(r) },
      );
    }
    const change = {
      subscriberId,
      serviceNumber: s.service_number,
      from: { customerId: before.customer_id, accountId: before.default_account_id },
      to,
      reason: note.reason,
      orderId: note.orderId,
      revokedRelations: revoked.map((r) => r.relation_id),
    };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'subscriber.move', targetType: 'subscriber', targetId: subscriberId, accountId: to.accountId, before: change.from, after: change },
      { type: note.reason === 'transfer_ownership' ? 'subscriber.owner_changed' : 'subscriber.account_changed', aggregateType: 'subscriber', aggregateId: subscriberId, accountId: to.accountId, payload: change },
    );
    return change;
  }

  /** Closes an account nobody needs any more: no live subscriber or relation uses it, no money in it, nothing owed. */
  async closeAccount(tx: Tx, actor: Actor, accountId: number, note: { orderId?: number | null; reason?: string } = {}) {
    const [locked] = await accountRepo.lockAccounts(tx, [accountId]);
    if (!locked) throw notFound(ACCOUNT, accountId);
    if (locked.status !== 'active') throw new DomainError('ACCOUNT_CLOSED', '帐户已关闭', 'The account is closed', 409);
    const users = await accountRepo.accountUsers(tx, accountId);
    if (users.subscribers.length || users.relations.length) {
      throw new DomainError('ACCOUNT_IN_USE', '帐户仍有在用用户或帐务关系，不能关闭', 'Live subscribers or payment relations still use the account', 409, {
        subscriberIds: users.subscribers.map((s) => s.subscriber_id),
        relationIds: users.relations.map((r) => r.relation_id),
      });
    }
    const [books, lines] = await Promise.all([moneyRepo.booksWithBalance(tx, accountId), accountRepo.openLines(tx, accountId)]);
    if (books.length || lines.length) {
      throw new DomainError('ACCOUNT_BALANCE_NOT_ZERO', '帐户余额或欠费不为零，不能关闭', 'The account still holds money or owes bills', 409, {
        balanceFen: books.reduce((s, b) => s + b.balance_fen, 0),
        arrearsFen: lines.reduce((s, l) => s + l.openFen, 0),
      });
    }
    const now = this.deps.clock.now();
    const a = await accountRepo.updateAccount(tx, accountId, { status: 'closed', updated_at: now });
    const view = { ...accountView(a, false), reason: note.reason ?? null, orderId: note.orderId ?? null };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'account.close', targetType: 'account', targetId: accountId, accountId, before: { status: 'active' }, after: view },
      { type: 'account.closed', aggregateType: 'account', aggregateId: accountId, accountId, payload: view },
    );
    return view;
  }

  /** 更改缴费方式 (seed 004 §6.10): bank collection needs the bank, the holder and the account number. */
  async changePaymentMethod(
    tx: Tx,
    actor: Actor,
    accountId: number,
    input: { paymentMethod: PaymentMethod; bankName?: string | undefined; bankAccountHolder?: string | undefined; bankAccountNumber?: string | undefined },
    orderId: number | null = null,
  ) {
    const bank = input.paymentMethod === 'bank_collection' || input.paymentMethod === 'bank_agency';
    if (input.paymentMethod === 'bank_collection' && (!input.bankAccountHolder || !input.bankAccountNumber || !input.bankName)) {
      throw new DomainError('BANK_DETAILS_REQUIRED', '银行托收须填写开户银行、户名和帐号', 'Bank collection needs the bank, the holder and the account number', 422);
    }
    const before = await accountRepo.accountById(tx, accountId);
    if (!before) throw notFound(ACCOUNT, accountId);
    if (before.status !== 'active') throw new DomainError('ACCOUNT_CLOSED', '帐户已关闭', 'The account is closed', 409);
    const a = await accountRepo.updateAccount(tx, accountId, {
      payment_method: input.paymentMethod,
      bank_name: bank ? (input.bankName ?? null) : null,
      bank_account_holder: bank ? (input.bankAccountHolder ?? null) : null,
      bank_account_number: bank ? (input.bankAccountNumber ?? null) : null,
      updated_at: this.deps.clock.now(),
    });
    const after = accountView(a, false);
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'account.change_payment_method', targetType: 'account', targetId: accountId, accountId, before: accountView(before, false), after: { ...after, orderId } },
      { type: 'account.payment_method_changed', aggregateType: 'account', aggregateId: accountId, accountId, payload: { ...after, orderId } },
    );
    return after;
  }

  /** Book types and bill items (a payment order checks its book type and restriction, R-ACC-12). */
  async referenceData(q: Q = this.deps.db) {
    return { bookTypes: await this.deps.reference.allBookTypes(q), items: await this.deps.reference.allItems(q) };
  }

  async payments(accountId: number) {
    const a = await accountRepo.accountById(this.deps.db, accountId);
    if (!a) throw notFound(ACCOUNT, accountId);
    return moneyRepo.paymentsOf(this.deps.db, accountId, 200);
  }
}

/** R-X-1 order of the stop reasons as stored (a set; the order only keeps the column stable). */
const STOP_REASONS: StopReason[] = ['arrears_one_way', 'arrears_two_way', 'high_usage', 'on_request', 'lost', 'bundle', 'operator'];

function statusView(s: { status: string; lifecycle: string; stop_reasons: StopReason[] }) {
  return { status: s.status, lifecycle: s.lifecycle, stopReasons: s.stop_reasons };
}

type StatusRow = { subscriber_id: number; service_number: string; default_account_id: number; status: string; lifecycle: string; stop_reasons: StopReason[] };

/** R-X-1: the set after adding and removing, in the schema's order. */
function reasonsChanged(reasons: readonly StopReason[], change: { add?: StopReason[] | undefined; remove?: StopReason[] | undefined }): StopReason[] {
  const set = new Set(reasons);
  for (const r of change.remove ?? []) set.delete(r);
  for (const r of change.add ?? []) set.add(r);
  return STOP_REASONS.filter((r) => set.has(r));
}

/** The audit entry and event of a stop-reason change (changeStopReasons, changeStopReasonsMany). */
function stopReasonsChange(before: StatusRow, after: StatusRow, meta: { orderId?: number | null | undefined; reason?: string | null | undefined }) {
  const subscriberId = after.subscriber_id;
  const b = statusView(before);
  const a = statusView(after);
  const extra = { orderId: meta.orderId ?? null, reason: meta.reason ?? null };
  return {
    before: b,
    after: a,
    audit: { action: 'subscriber.status_change', targetType: 'subscriber', targetId: subscriberId, accountId: after.default_account_id, before: b, after: { ...a, ...extra } },
    event: {
      type: 'subscriber.status_changed',
      aggregateType: 'subscriber',
      aggregateId: subscriberId,
      accountId: after.default_account_id,
      payload: { subscriberId, serviceNumber: after.service_number, before: b, after: a, ...extra },
    },
  };
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
