// The order engine (SPEC §7.1): draft → checked → quoted → [awaiting_confirmation] → submitted → completed | cancelled.
// Business types plug in through types.ts; the engine owns state, holds (R-ORD-5), waivers (R-ORD-2),
// the receipt (R-ORD-3), the one-transaction submission (R-ORD-4) and SMS confirmation (R-ORD-6).
import { type Actor, can, systemActor } from '../../platform/audit.ts';
import { type CheckFailure, failure, type Text } from '../../platform/checks.ts';
import type { Q, Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Jobs } from '../../platform/jobs.ts';
import type { Fen } from '../../platform/money.ts';
import { type ChangeRow, deferChanges, recordChange, takeDeferredChanges } from '../../platform/outbox.ts';
import { type Activation, ProvisioningError } from '../../platform/provisioning.ts';
import { maskIdNumber, maskPhone } from '../customers/rules.ts';
import { orderCustomerFacts } from './facts.ts';
import { memberResources } from './members.ts';
import type { ReceiptData } from './receipt-model.ts';
import { type HoldConflict, type LockedOrder, type OrderRecord, type OrderRow, orderRepo, type WorkOrderRow } from './repo.ts';
import { businessType } from './registry.ts';
import type { AnyBusinessType, FaultInjector, FeeLine, LoadContext, OrderEnv, OrderServices, QuoteLine } from './types.ts';

export const CONFIRMATION_JOB = 'expire-sms-confirmations';
const ORDER = { zh: '受理单', en: 'Order' };
const WORK_ORDER = { zh: '工单', en: 'Work order' };
const OPEN: readonly string[] = ['draft', 'checked', 'quoted', 'awaiting_confirmation'];
/** Marks a submission's view whose account the order opened itself (ApplyResult.accountOpened); afterMoney takes it off. */
const ACCOUNT_OPENED = Symbol('accountOpened');

export interface Waiver {
  lineNo?: number | undefined;
  feeCode?: string | undefined;
  /** omitted: the whole line */
  amountFen?: Fen | undefined;
  reason: string;
}

export interface OrderDeps extends OrderServices {
  faults?: FaultInjector | undefined;
}

/** R-X-11: the network refused (or did not answer) an activation; the submission rolls back and the order is reversed. */
class ActivationFailed extends Error {
  readonly activation: Activation;
  readonly network: { code: string; zh: string; en: string };
  constructor(activation: Activation, cause: unknown) {
    const network =
      cause instanceof ProvisioningError
        ? { code: cause.code, zh: cause.zh, en: cause.en }
        : { code: 'NETWORK_UNAVAILABLE', zh: '网络开通无应答', en: 'The network did not answer the activation' };
    super(network.en);
    this.name = 'ActivationFailed';
    this.activation = activation;
    this.network = network;
  }
}

export class OrderService {
  private readonly deps: OrderDeps;
  constructor(deps: OrderDeps) {
    this.deps = deps;
  }

  /** The order was locked with its department's capabilities (one round trip); parameters and fees come from the catalog's cache. */
  private async env(q: Tx | OrderServices['db'], actor: Actor, order: LockedOrder): Promise<OrderEnv> {
    // one after the other: the first fills the catalog's cache when it is cold, the second reads it
    const params = await this.deps.catalog.parameters(q);
    const fees = await this.deps.catalog.fees(q);
    return {
      now: this.deps.clock.now(),
      actor,
      orderId: order.order_id,
      departmentId: order.department_id,
      departmentCapabilities: order.department_capabilities ?? [],
      orderCustomer: orderCustomerFacts(order.order_customer),
      params,
      fees,
    };
  }

  private type(code: string): AnyBusinessType {
    const t = businessType(code);
    if (!t) throw new DomainError('UNKNOWN_BUSINESS_TYPE', `未知业务类型：${code}`, `Unknown business type: ${code}`, 422);
    return t;
  }

  async create(actor: Actor, body: { businessType: string } & Record<string, unknown>) {
    const { businessType: code, ...input } = body;
    const t = this.type(code);
    if (!actor.operatorId || !actor.departmentId) throw new DomainError('OPERATOR_REQUIRED', '受理须由营业员工号办理', 'An order is taken by an operator', 403);
    const refs = t.refs(input);
    const now = this.deps.clock.now();
    const draft = {
      business_type: code,
      customer_id: refs.customerId ?? null,
      account_id: refs.accountId ?? null,
      subscriber_id: refs.subscriberId ?? null,
      operator_id: actor.operatorId as number,
      department_id: actor.departmentId as string,
      input,
      now,
    };
    // the row as the insert will return it (its id comes from the database), for the audit entry
    const expected = newOrderRow(draft);
    // one statement: the order, its audit entry and event are stored together or not at all
    const row = await orderRepo.insertRecorded(this.deps.db, draft, [{ action: 'order.create', event: 'order.created', after: summaryView(expected) }], actor);
    assertSameSummary(row, { ...expected, order_id: row.order_id });
    return this.view(this.deps.db, row, { fees: [], workOrders: [] });
  }

  /** Changes a draft's input; the order goes back to draft and must be checked again. */
  async update(actor: Actor, id: number, body: { businessType: string } & Record<string, unknown>) {
    const { businessType: code, ...input } = body;
    return this.deps.db.transaction().execute(async (tx) => {
      const o = await this.lockOpen(tx, id, ['draft', 'checked', 'quoted']);
      if (o.business_type !== code) {
        throw new DomainError('BUSINESS_TYPE_CHANGED', '受理单的业务类型不能修改，请新建受理单', 'An order’s business type cannot change; start a new order', 422);
      }
      const refs = this.type(code).refs(input);
      await orderRepo.replaceFees(tx, id, []);
      const row = await this.change(
        tx,
        actor,
        o,
        {
          input,
          status: 'draft',
          customer_id: refs.customerId ?? null,
          account_id: refs.accountId ?? null,
          subscriber_id: refs.subscriberId ?? null,
          check_results: null,
          hold_subjects: null,
          changes: null,
          notices: null,
          authorised_at: null,
          checked_at: null,
          quoted_at: null,
        },
        this.deps.clock.now(),
        [{ action: 'order.update', event: 'order.updated', before: o }],
      );
      return this.view(tx, row, { fees: [] });
    });
  }

  async get(actor: Actor, id: number) {
    const row = await orderRepo.byId(this.deps.db, id);
    if (!row) throw notFound(ORDER, id);
    this.assertVisible(actor, row);
    return this.view(this.deps.db, row);
  }

  async list(actor: Actor, f: { customerId?: number; subscriberId?: number; status?: OrderRow['status']; limit?: number }) {
    const rows = await orderRepo.list(this.deps.db, { ...f, limit: f.limit ?? 50 });
    // the SMS double confirmation and its result are queryable with the history (R-ORD-6, SPEC §11)
    return rows.filter((r) => this.visible(actor, r)).map((r) => ({ ...summaryView(r), confirmation: r.confirmation ?? null }));
  }

  /**
   * R-ORD-1: runs every rule of the type and stores the result; passing moves the order to `checked`.
   * Optimistic first (no transaction): the order is read, its facts loaded, and the result written by
   * one statement only if no other step changed the order meanwhile (its version); otherwise the step
   * runs again under the order's lock. Either way the outcome is the one the locked step would give.
   */
  async check(actor: Actor, id: number, opts: { servicePassword?: string | undefined } = {}) {
    const db = this.deps.db;
    return (await this.checkStep(db, actor, await this.readOpen(db, id, ['draft', 'checked', 'quoted']), opts, true)) ??
      db.transaction().execute(async (tx) => {
        const o = await this.lockOpen(tx, id, ['draft', 'checked', 'quoted']);
        const v = await this.checkStep(tx, actor, o, opts, false);
        if (!v) throw new Error(`order ${id}: the locked check wrote nothing`);
        return v;
      });
  }

  private async checkStep(q: Q, actor: Actor, o: LockedOrder, opts: { servicePassword?: string | undefined }, optimistic: boolean) {
    const t = this.type(o.business_type);
    const env = await this.env(q, actor, o);
    const input = o.input as Record<string, unknown>;
    const facts = await t.load(this.loadContext(env, q, o), input);
    const failures = t.check(facts, input, env);
    let authorisedAt = o.authorised_at;
    let auth: CheckFailure | null = null;
    if (t.sensitive || t.sensitiveFor?.(input)) {
      auth = await this.authorise(q, o, opts.servicePassword);
      if (!auth) authorisedAt ??= env.now;
    }
    const changes = t.describe(facts, input, env);
    const notices = t.notices?.(facts, input, env) ?? [];
    const subjects = t.subjects(facts, input);
    // R-ORD-5: other orders' holds on the subjects are judged by the write itself (holdGuard): it writes
    // nothing while one is held, and the step writes again with those holds among the failures
    const write = (held: HoldConflict[] | undefined) => {
      const all = [...failures, ...(held ?? []).map(holdFailure), ...(auth ? [auth] : [])];
      const passed = all.length === 0;
      const set: Partial<OrderRow> = {
        status: passed ? 'checked' : 'draft',
        check_results: { passed, failures: all, checkedAt: env.now.toISOString() },
        changes,
        notices,
        authorised_at: authorisedAt,
        checked_at: env.now,
        quoted_at: null,
        hold_subjects: subjects,
      };
      const records = [{ action: 'order.check', event: passed ? 'order.checked' : 'order.check_failed' }];
      // a failed check clears the fee lines
      const guard = held ? undefined : { subjects };
      return { passed, written: this.changeStep(q, actor, o, set, env.now, records, optimistic, passed ? undefined : [], guard) };
    };
    let step = write(undefined);
    let written = await step.written;
    if (written && 'busy' in written) {
      step = write(written.busy);
      written = await step.written;
    }
    if (!written || 'busy' in written) return undefined;
    // a draft has no fee lines (every way into draft clears them), and a failed check just cleared them
    return this.view(q, written.row, !step.passed || o.status === 'draft' ? { fees: [] } : {});
  }

  /** Fees of the order (预算) with waivers; only an operator with `order.waive` may waive (R-ORD-2). */
  async quote(actor: Actor, id: number, opts: { waivers?: Waiver[] | undefined } = {}) {
    const waivers = opts.waivers ?? [];
    if (waivers.length > 0 && !can(actor, 'order.waive')) {
      throw new DomainError('WAIVER_NOT_PERMITTED', '该工号无费用减免权限', 'This operator may not waive fees', 403, { permission: 'order.waive' });
    }
    // optimistic first, as check(); under the order's lock when another step changed the order meanwhile
    const db = this.deps.db;
    return (await this.quoteStep(db, actor, await this.readOpen(db, id, ['checked', 'quoted']), waivers, true)) ??
      db.transaction().execute(async (tx) => {
        const v = await this.quoteStep(tx, actor, await this.lockOpen(tx, id, ['checked', 'quoted']), waivers, false);
        if (!v) throw new Error(`order ${id}: the locked quote wrote nothing`);
        return v;
      });
  }

  private async quoteStep(q: Q, actor: Actor, o: LockedOrder, waivers: Waiver[], optimistic: boolean) {
    const t = this.type(o.business_type);
    const env = await this.env(q, actor, o);
    const input = o.input as Record<string, unknown>;
    // what the quote reads only; submit loads everything again and re-quotes (QUOTE_STALE)
    const c = this.loadContext(env, q, o);
    const facts = t.loadQuote ? await t.loadQuote(c, input) : await t.load(c, input);
    const lines = applyWaivers(t.quote(facts, input, env), waivers, actor);
    const written = await this.changeStep(q, actor, o, { status: 'quoted', quoted_at: env.now }, env.now, [{ action: 'order.quote', event: 'order.quoted', extra: { fees: lines } }], optimistic, lines);
    if (!written || 'busy' in written) return undefined;
    return this.view(q, written.row, { fees: written.fees ?? [] });
  }

  /**
   * R-ORD-4: one transaction re-checks, applies every change, takes the prestores into the account,
   * records the fees, opens work orders and writes audit and events — or nothing at all.
   */
  async submit(actor: Actor, id: number) {
    return this.afterMoney(await this.activating(actor, id, (sent) => this.deps.db.transaction().execute(async (tx) => {
      // the order, its stored quote and the in-transit holds of the subjects its check found, in one round trip
      const locked = await orderRepo.lockForSubmit(tx, id, this.deps.clock.now());
      const o = this.assertOpen(locked?.order, id, ['quoted']);
      const storedRows = locked?.fees ?? [];
      const t = this.type(o.business_type);
      const env = await this.env(tx, actor, o);
      const input = o.input as Record<string, unknown>;
      const facts = await t.load(this.loadContext(env, tx, o), input);
      const failures = t.check(facts, input, env);
      if ((t.sensitive || t.sensitiveFor?.(input)) && !o.authorised_at) failures.push(passwordRequired());
      if (failures.length) {
        throw new DomainError('ORDER_CHECK_FAILED', '受理校验未通过，请按提示处理后重新校验', 'The order no longer passes its checks; fix them and check again', 422, { failures });
      }
      const stored = feeLines(storedRows);
      const fresh = t.quote(facts, input, env);
      if (!sameQuote(stored, fresh)) {
        throw new DomainError('QUOTE_STALE', '费用已变化，请重新预算', 'The fees changed since the quote; quote again', 409);
      }
      // R-ORD-5: the order holds its subjects while in transit; another order holding them wins. The
      // subjects of its check were taken with the lock; any its facts give now besides are taken here
      const subjects = t.subjects(facts, input);
      const checked = new Set(o.hold_subjects ?? []);
      const held = new Set(locked?.held ?? []);
      const busy = subjects.filter((x) => checked.has(x) && !held.has(x));
      const more = subjects.filter((x) => !checked.has(x));
      if (more.length) busy.push(...(await orderRepo.takeHolds(tx, id, more, 'in_transit', null, env.now)));
      if (busy.length) {
        throw new DomainError('ORDER_IN_TRANSIT', '该用户有在途受理单，不能重复受理', 'Another order for the same subscriber is in transit', 409, { subjects: busy });
      }
      const confirmation = t.needsConfirmation?.(facts, input) ?? null;
      if (confirmation) {
        // R-ORD-6: nothing is applied until the customer confirms by SMS
        const minutes = env.params.get('sms_confirmation_minutes') ?? 1440;
        const state = {
          status: 'pending',
          serviceNumber: confirmation.serviceNumber,
          text: confirmation.text,
          sentAt: env.now.toISOString(),
          expiresAt: new Date(env.now.getTime() + minutes * 60_000).toISOString(),
        };
        const row = await this.change(tx, actor, o, { status: 'awaiting_confirmation', confirmation: state }, env.now, [
          {
            action: 'order.await_confirmation',
            event: 'notification.sms_confirmation_requested',
            before: o,
            extra: { serviceNumber: confirmation.serviceNumber, text: confirmation.text, expiresAt: state.expiresAt },
          },
        ]);
        return this.view(tx, row, { fees: storedRows });
      }
      const { row, workOrders, accountOpened } = await this.applyOrder(tx, actor, o, t, facts, input, env, stored, sent);
      return { ...(await this.view(tx, row, { fees: storedRows, workOrders })), [ACCOUNT_OPENED]: accountOpened };
    })));
  }

  /** R-ORD-6: the customer's reply (driven by the notification adapter, or entered at the desk). */
  async confirm(actor: Actor, id: number, reply: { accepted: boolean; reason?: string | undefined }) {
    return this.afterMoney(await this.activating(actor, id, (sent) => this.deps.db.transaction().execute(async (tx) => {
      const o = await this.lockOpen(tx, id, ['awaiting_confirmation']);
      const now = this.deps.clock.now();
      const c: Record<string, unknown> = { ...(o.confirmation as Record<string, unknown>), repliedAt: now.toISOString() };
      if (!reply.accepted) return this.view(tx, await this.cancelLocked(tx, actor, o, reply.reason ?? '客户短信回复不同意', { ...c, status: 'declined', reason: reply.reason ?? null }));
      if (new Date(String(c.expiresAt)).getTime() <= now.getTime()) {
        return this.view(tx, await this.cancelLocked(tx, actor, o, '二次确认超时', { ...c, status: 'timed_out', reason: 'timeout' }));
      }
      const t = this.type(o.business_type);
      const env = await this.env(tx, actor, o);
      const input = o.input as Record<string, unknown>;
      const facts = await t.load({ ...env, q: tx, services: this.deps }, input);
      const failures = t.check(facts, input, env);
      if (failures.length) {
        throw new DomainError('ORDER_CHECK_FAILED', '受理校验未通过', 'The order no longer passes its checks', 422, { failures });
      }
      await orderRepo.update(tx, id, { confirmation: { ...c, status: 'confirmed' } }, now);
      const feeRows = await orderRepo.fees(tx, id);
      const { row, workOrders, accountOpened } = await this.applyOrder(tx, actor, o, t, facts, input, env, feeLines(feeRows), sent);
      return { ...(await this.view(tx, row, { fees: feeRows, workOrders })), [ACCOUNT_OPENED]: accountOpened };
    })));
  }

  /**
   * Prestores taken by an applied order are payments: credit control resumes lines they clear (R-CC-2),
   * after the commit — but for an account the order opened itself: nothing it pays can be stopped.
   */
  private async afterMoney<V extends { status: string; accountId: number | null; fees: { kind: string; amountFen: number; waivedFen: number }[] }>(
    got: V & { [ACCOUNT_OPENED]?: boolean },
  ): Promise<V> {
    const { [ACCOUNT_OPENED]: opened, ...rest } = got;
    const v = rest as unknown as V;
    const applied = v.status === 'submitted' || v.status === 'completed';
    if (applied && !opened && v.accountId !== null && v.fees.some((l) => l.kind === 'prestore' && l.amountFen > l.waivedFen)) await this.deps.money.creditedAfterCommit(v.accountId);
    return v;
  }

  registerJobs(jobs: Jobs): void {
    jobs.register(CONFIRMATION_JOB, () => this.expireConfirmations(systemActor(CONFIRMATION_JOB)), {
      zh: '二次短信确认超时的受理单自动撤单（R-ORD-6）',
      en: 'Cancel orders whose SMS confirmation timed out (R-ORD-6)',
    });
    jobs.schedule(CONFIRMATION_JOB, '*/5 * * * *');
  }

  /** The job of R-ORD-6: confirmations past their deadline cancel their orders. */
  async expireConfirmations(actor: Actor): Promise<number> {
    const due = await orderRepo.expiredConfirmations(this.deps.db, this.deps.clock.now());
    for (const { order_id } of due) {
      await this.deps.db.transaction().execute(async (tx) => {
        const o = await orderRepo.lock(tx, order_id);
        if (o?.status !== 'awaiting_confirmation') return;
        await this.cancelLocked(tx, actor, o, '二次确认超时', { ...(o.confirmation as Record<string, unknown>), status: 'timed_out', reason: 'timeout' });
      });
    }
    return due.length;
  }

  async cancel(actor: Actor, id: number, reason: string) {
    return this.deps.db.transaction().execute(async (tx) => {
      const o = await orderRepo.lock(tx, id);
      if (!o) throw notFound(ORDER, id);
      this.assertVisible(actor, o);
      if (!OPEN.includes(o.status)) {
        throw new DomainError('ORDER_NOT_CANCELLABLE', `受理单状态为 ${o.status}，不能撤单`, `An order in status ${o.status} cannot be cancelled`, 409, { status: o.status });
      }
      if (o.operator_id !== actor.operatorId && !can(actor, 'order.cancel_any')) {
        throw new DomainError('ORDER_OF_OTHER_OPERATOR', '只能撤销本工号的受理单', 'Only the operator who took the order may cancel it', 403);
      }
      return this.view(tx, await this.cancelLocked(tx, actor, o, reason, o.confirmation ? { ...(o.confirmation as object), status: 'cancelled' } : null));
    });
  }

  async completeWorkOrder(actor: Actor, workOrderId: number, note?: string) {
    return this.deps.db.transaction().execute(async (tx) => {
      const w = await orderRepo.lockWorkOrder(tx, workOrderId);
      if (!w) throw notFound(WORK_ORDER, workOrderId);
      if (w.status !== 'open') throw new DomainError('WORK_ORDER_CLOSED', '工单已结束', 'The work order is already closed', 409, { status: w.status });
      const now = this.deps.clock.now();
      const done = await orderRepo.completeWorkOrder(tx, workOrderId, actor.operatorId, note ?? null, now);
      // 开打时间: a broadband line starts service when its installation is done
      if (w.kind === 'installation' && w.subscriber_id !== null) await this.deps.accounts.markActivated(tx, actor, w.subscriber_id);
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'workorder.complete', targetType: 'work_order', targetId: workOrderId, before: workOrderView(w), after: workOrderView(done) },
        { type: 'workorder.completed', aggregateType: 'order', aggregateId: w.order_id, payload: workOrderView(done) },
      );
      const order = await orderRepo.lock(tx, w.order_id);
      const open = (await orderRepo.workOrdersOf(tx, w.order_id)).filter((x) => x.status === 'open');
      if (order && order.status === 'submitted' && open.length === 0) {
        await orderRepo.releaseHolds(tx, order.order_id);
        await this.change(tx, actor, order, { status: 'completed', completed_at: now }, now, [{ action: 'order.complete', event: 'order.completed', before: order }]);
      }
      return workOrderView(done);
    });
  }

  async workOrders(f: { status?: 'open' | 'completed' | 'cancelled'; limit?: number }) {
    return (await orderRepo.listWorkOrders(this.deps.db, { ...f, limit: f.limit ?? 50 })).map(workOrderView);
  }

  /** R-ORD-3: what the receipt prints; a preview until the order is submitted. */
  async receiptData(actor: Actor, id: number): Promise<ReceiptData> {
    const q = this.deps.db;
    const o = await orderRepo.byId(q, id);
    if (!o) throw notFound(ORDER, id);
    this.assertVisible(actor, o);
    if (o.status === 'draft' || o.status === 'cancelled') {
      throw new DomainError('RECEIPT_NOT_READY', '受理单须先校验通过才能打印免填单', 'The order must pass its checks before the receipt can be printed', 409, { status: o.status });
    }
    const t = this.type(o.business_type);
    const [fees, op, dept, customer] = await Promise.all([
      orderRepo.fees(q, id),
      orderRepo.operator(q, o.operator_id),
      orderRepo.department(q, o.department_id),
      o.customer_id ? this.deps.customers.record(o.customer_id) : Promise.resolve(undefined),
    ]);
    const lines = feeLines(fees);
    const total = lines.reduce((s, l) => s + l.amountFen, 0);
    const waived = lines.reduce((s, l) => s + l.waivedFen, 0);
    const waivers = new Map<number, string>();
    for (const l of lines) if (l.waivedBy !== null) waivers.set(l.waivedBy, (await orderRepo.operator(q, l.waivedBy))?.username ?? String(l.waivedBy));
    const final = o.status === 'submitted' || o.status === 'completed';
    return {
      orderId: o.order_id,
      status: o.status,
      final,
      businessType: o.business_type,
      businessTypeName: t.name,
      customer: {
        name: customer?.name ?? '—',
        kind: customer?.kind ?? 'person',
        idType: customer?.id_type ?? '—',
        idNumberMasked: maskIdNumber(customer?.id_number) ?? '—',
        contactPhoneMasked: maskPhone(customer?.contact_phone),
        address: customer?.address ?? null,
      },
      operator: { username: op?.username ?? '', name: op?.name ?? '' },
      department: { departmentId: o.department_id, name: dept?.name ?? o.department_id },
      createdAt: o.created_at.toISOString(),
      submittedAt: o.submitted_at?.toISOString() ?? null,
      printedAt: this.deps.clock.now().toISOString(),
      changes: (o.changes as ReceiptData['changes'] | null) ?? [],
      fees: lines.map((l) => ({
        name: l.name,
        itemCode: l.itemCode ?? '',
        kind: l.kind,
        amountFen: l.amountFen,
        waivedFen: l.waivedFen,
        waiverReason: l.waiverReason ?? undefined,
        waivedBy: l.waivedBy === null ? undefined : waivers.get(l.waivedBy),
      })),
      totalFen: total,
      waivedFen: waived,
      payableFen: total - waived,
      notices: (o.notices as Text[] | null) ?? [],
    };
  }

  // ---- internals ----

  /**
   * R-X-11: runs a submission whose activations are sent to the network just before it commits
   * (`sent` collects those the network accepted). When the transaction does not commit, the accepted
   * ones are taken back (deactivate). When the network refused one, the rolled-back order is then
   * reversed in a transaction of its own: it becomes cancelled with the reason, and what it held
   * before the submission (the number's hold, a written card's number) is released by its type's
   * reverse() — so nothing of the order persists but the cancelled order, and the card stays
   * written (its IMSI is on the chip) with no number, usable for another order of its channel.
   */
  private async activating<T>(actor: Actor, id: number, run: (sent: Activation[]) => Promise<T>): Promise<T> {
    const sent: Activation[] = [];
    try {
      return await run(sent);
    } catch (err) {
      await this.deactivate(sent, err instanceof ActivationFailed ? 'order reversed after a failed activation' : 'submission did not commit');
      if (err instanceof ActivationFailed) throw await this.reverse(actor, id, err);
      throw err;
    }
  }

  private async sendActivations(list: Activation[], sent: Activation[]): Promise<void> {
    const network = this.deps.network;
    if (!network) return;
    for (const a of list) {
      try {
        await network.activate(a);
      } catch (err) {
        throw new ActivationFailed(a, err);
      }
      sent.push(a);
    }
  }

  /** Compensation: best effort, the simulator or the adapter's own retry queue keeps what failed. */
  private async deactivate(sent: Activation[], reason: string): Promise<void> {
    for (const a of sent) {
      try {
        await this.deps.network?.send({ command: 'deactivate', ...a, reason });
      } catch {
        /* the adapter reports it; the order's outcome does not change */
      }
    }
  }

  private async reverse(actor: Actor, id: number, failed: ActivationFailed): Promise<DomainError> {
    const reason = `网络开通失败：${failed.network.zh}`;
    const activation = { serviceNumber: failed.activation.serviceNumber, iccid: failed.activation.iccid };
    const view = await this.deps.db.transaction().execute(async (tx) => {
      const o = await orderRepo.lockWithDepartment(tx, id);
      if (!o || !OPEN.includes(o.status)) return null;
      const t = this.type(o.business_type);
      const env = await this.env(tx, actor, o);
      const released = t.reverse ? await t.reverse({ ...env, tx, services: this.deps }, o.input, reason) : {};
      await orderRepo.releaseHolds(tx, o.order_id);
      const reversal = { network: failed.network, activation, released };
      const row = await this.change(tx, actor, o, { status: 'cancelled', cancelled_at: env.now, cancel_reason: reason, result: { reversed: reversal } }, env.now, [
        { action: 'order.reverse', event: 'order.cancelled', before: o, extra: { reason, reversed: reversal } },
      ]);
      return this.view(tx, row, { fees: [] });
    });
    return new DomainError(
      'NETWORK_ACTIVATION_FAILED',
      `网络开通失败，受理单已撤销，号码和卡已释放：${failed.network.zh}`,
      `The network activation failed; the order was reversed and its number and card released: ${failed.network.en}`,
      502,
      { orderId: id, network: failed.network, activation, order: view },
    );
  }

  private async applyOrder(
    tx: Tx,
    actor: Actor,
    o: OrderRow,
    t: AnyBusinessType,
    facts: unknown,
    input: Record<string, unknown>,
    env: OrderEnv,
    lines: FeeLine[],
    sent: Activation[],
  ): Promise<{ row: OrderRow; workOrders: WorkOrderRow[]; accountOpened: boolean }> {
    // the audit entries and events of every change the order makes are written with the order's own
    // final update, in one statement of the same transaction (fewer round trips, same content)
    deferChanges(tx);
    try {
      return await this.applyCollected(tx, actor, o, t, facts, input, env, lines, sent);
    } finally {
      takeDeferredChanges(tx);
    }
  }

  private async applyCollected(
    tx: Tx,
    actor: Actor,
    o: OrderRow,
    t: AnyBusinessType,
    facts: unknown,
    input: Record<string, unknown>,
    env: OrderEnv,
    lines: FeeLine[],
    sent: Activation[],
  ): Promise<{ row: OrderRow; workOrders: WorkOrderRow[]; accountOpened: boolean }> {
    const activations: Activation[] = [];
    const applied = await t.apply({ ...env, tx, services: this.deps, activations }, facts, input, lines);
    await this.deps.faults?.at('after-apply', o.order_id);
    const money = await this.takeMoney(tx, actor, o, applied.accountId, applied.subscribers, lines, applied.paidLines ?? []);
    await this.deps.faults?.at('after-money', o.order_id);
    const workOrderRows: WorkOrderRow[] = [];
    for (const w of applied.workOrders ?? []) {
      workOrderRows.push(await orderRepo.insertWorkOrder(tx, { order_id: o.order_id, kind: w.kind, subscriber_id: w.subscriberId, address: w.address, measurement_room: w.measurementRoom ?? null, now: env.now }));
    }
    const workOrders = workOrderRows.map(workOrderView);
    const completed = workOrders.length === 0;
    // without a reservation, the in-transit holds of a completed order end in its final update's statement
    const releaseWithUpdate = completed && !applied.reservation;
    if (completed && !releaseWithUpdate) await orderRepo.releaseHolds(tx, o.order_id);
    if (applied.reservation) {
      // R-ORD-5: the in-transit holds become a reservation that outlives completion (releaseHolds keeps it)
      const busy = await orderRepo.takeHolds(tx, o.order_id, applied.reservation.subjects ?? t.subjects(facts, input), 'reservation', applied.reservation.until, env.now);
      if (busy.length) throw new DomainError('ORDER_IN_TRANSIT', '该用户有在途受理单，不能重复受理', 'Another order for the same subscriber is in transit', 409, { subjects: busy });
    }
    const records: ChangeRecord[] = [{ action: 'order.submit', event: 'order.submitted', before: o, extra: { money, workOrders } }];
    if (completed) records.push({ action: 'order.complete', event: 'order.completed' });
    const row = await this.change(
      tx,
      actor,
      o,
      {
        status: completed ? 'completed' : 'submitted',
        submitted_at: env.now,
        completed_at: completed ? env.now : null,
        customer_id: applied.customerId ?? o.customer_id,
        account_id: applied.accountId ?? o.account_id,
        subscriber_id: o.subscriber_id ?? Object.values(applied.subscribers)[0] ?? null,
        result: { ...applied.result, subscribers: applied.subscribers, money, workOrders },
      },
      env.now,
      records,
      takeDeferredChanges(tx),
      { releaseHolds: releaseWithUpdate },
    );
    await this.deps.faults?.at('before-commit', o.order_id);
    // R-X-11: last, so a refusal rolls back everything above and nothing is sent for a failed step
    await this.sendActivations(activations, sent);
    return { row, workOrders: workOrderRows, accountOpened: applied.accountOpened === true };
  }

  /**
   * Fees are business-hall takings recorded on the order (R-ORD-2: the waiver stays visible); prestores
   * are payments into the account's books (R-ACC-12), each idempotent by the order and line.
   */
  private async takeMoney(tx: Tx, actor: Actor, o: OrderRow, accountId: number | null, subscribers: Record<string, number>, lines: FeeLine[], paidLines: { lineNo: number; paymentId: number }[]) {
    const feesFen = lines.filter((l) => l.kind === 'fee').reduce((s, l) => s + l.amountFen - l.waivedFen, 0);
    const payments = [];
    for (const l of lines.filter((x) => x.kind === 'prestore' && x.amountFen - x.waivedFen > 0)) {
      const paid = paidLines.find((p) => p.lineNo === l.lineNo);
      if (paid) {
        payments.push({ lineNo: l.lineNo, paymentId: paid.paymentId, amountFen: l.amountFen - l.waivedFen, bookType: l.bookType ?? 'prepaid' });
        continue;
      }
      if (accountId === null) throw new Error(`order ${o.order_id}: a prestore needs an account`);
      const subscriberId = l.memberRole && l.memberRole !== 'main' ? subscribers[l.memberRole] : undefined;
      const { result } = await this.deps.money.pay(
        actor,
        accountId,
        {
          amountFen: l.amountFen - l.waivedFen,
          bookType: l.bookType ?? 'prepaid',
          restrictedItems: l.restrictedItems,
          subscriberId,
          channel: 'front_desk',
          idempotencyKey: `order:${o.order_id}:${l.lineNo}`,
        },
        tx,
      );
      payments.push({ lineNo: l.lineNo, paymentId: result.payment.paymentId, amountFen: l.amountFen - l.waivedFen, bookType: l.bookType ?? 'prepaid' });
    }
    return { feesCollectedFen: feesFen, prestoreFen: payments.reduce((s, p) => s + p.amountFen, 0), payments };
  }

  private async cancelLocked(tx: Tx, actor: Actor, o: OrderRow, reason: string, confirmation: unknown) {
    const now = this.deps.clock.now();
    await orderRepo.releaseHolds(tx, o.order_id);
    // R-RES-5, R-X-11: what the order held before submission (a card-writing number hold, a card written for it) is given back
    const t = businessType(o.business_type);
    if (t?.reverse) await t.reverse({ ...(await this.env(tx, actor, { ...o, department_capabilities: null, order_customer: null })), tx, services: this.deps }, o.input, reason);
    return this.change(tx, actor, o, { status: 'cancelled', cancelled_at: now, cancel_reason: reason, ...(confirmation ? { confirmation } : {}) }, now, [
      { action: 'order.cancel', event: 'order.cancelled', before: o, extra: { reason } },
    ]);
  }


  private async authorise(tx: Q, o: OrderRow, password: string | undefined): Promise<CheckFailure | null> {
    if (o.authorised_at) return null;
    if (!o.customer_id) return null;
    if (!password) return passwordRequired();
    if (await this.deps.customers.verifyServicePassword(o.customer_id, password, tx)) return null;
    return failure(
      'SERVICE_PASSWORD_WRONG',
      { zh: '服务密码不正确', en: 'The service password is wrong' },
      { zh: '请客户重新输入服务密码；忘记密码须持证件办理密码重置', en: 'Ask the customer to enter it again; a forgotten password is reset with the ID document' },
    );
  }

  /** What a step's loaders read with: the members' numbers and cards come with the order (its first statement). */
  private loadContext(env: OrderEnv, q: Q, o: LockedOrder): LoadContext {
    return { ...env, q, services: this.deps, prefetched: memberResources(o) };
  }

  /** The order of an optimistic step, unlocked (its version guards the write). */
  private async readOpen(q: Q, id: number, allowed: OrderRow['status'][]): Promise<LockedOrder> {
    return this.assertOpen(await orderRepo.withDepartment(q, id), id, allowed);
  }

  private async lockOpen(tx: Tx, id: number, allowed: OrderRow['status'][]): Promise<LockedOrder> {
    return this.assertOpen(await orderRepo.lockWithDepartment(tx, id), id, allowed);
  }

  private assertOpen(o: LockedOrder | undefined, id: number, allowed: OrderRow['status'][]): LockedOrder {
    if (!o) throw notFound(ORDER, id);
    if (!allowed.includes(o.status)) {
      throw new DomainError('ORDER_STATE', `受理单状态为 ${o.status}，不能进行此操作`, `The order is ${o.status}; this step is not possible`, 409, { status: o.status, allowed });
    }
    return o;
  }

  /** An operator's department scopes what it sees (SPEC §10); auditors and the back office see all. */
  private visible(actor: Actor, o: OrderRow): boolean {
    return can(actor, 'order.read_any') || can(actor, 'order.cancel_any') || o.department_id === actor.departmentId || o.operator_id === actor.operatorId;
  }

  private assertVisible(actor: Actor, o: OrderRow) {
    if (!this.visible(actor, o)) throw notFound(ORDER, o.order_id);
  }

  /**
   * Updates the order and writes the audit entries and events of the change — each with the summary
   * after it, as recordChange would — in one statement. The summary is computed from the row before and
   * the change, and checked against the row the database returns.
   */
  private async change(
    tx: Tx,
    actor: Actor,
    o: OrderRow,
    set: Partial<OrderRow>,
    now: Date,
    records: ChangeRecord[],
    changes: ChangeRow[] = [],
    opts: { releaseHolds?: boolean } = {},
  ): Promise<OrderRow> {
    const { department_capabilities: _, order_customer: __, ...before } = o as LockedOrder;
    const expected: OrderRow = { ...before, ...set, updated_at: now };
    const row = await orderRepo.updateRecorded(tx, o.order_id, set, now, orderRecords(records, expected), actor, changes, opts);
    assertSameSummary(row, expected);
    return row;
  }

  /**
   * The one write of a check or quote: as change(), and with `fees` the order's fee lines become them
   * (replaceFees), in one statement. Optimistic: only if the order is still at the version read, else
   * undefined and nothing written; locked: always.
   */
  private async changeStep(
    q: Q,
    actor: Actor,
    o: LockedOrder,
    set: Partial<OrderRow>,
    now: Date,
    records: ChangeRecord[],
    optimistic: boolean,
    fees?: FeeLine[],
    holdGuard?: { subjects: string[] },
  ): Promise<{ row: OrderRow; fees: FeeRow[] | undefined } | { busy: HoldConflict[] } | undefined> {
    const { department_capabilities: _, order_customer: __, ...before } = o;
    const expected: OrderRow = { ...before, ...set, updated_at: now };
    const written = await orderRepo.updateIfVersion(q, o.order_id, optimistic ? o.version : null, set, now, orderRecords(records, expected), actor, fees, holdGuard);
    if (written && 'row' in written) assertSameSummary(written.row, expected);
    return written;
  }

  /** `known`: the fee rows or work orders the caller has just read or written in this transaction. */
  private async view(q: Tx | OrderServices['db'], row: OrderRow, known: { fees?: FeeRow[]; workOrders?: WorkOrderRow[] } = {}) {
    const lines = feeLines(known.fees ?? (await orderRepo.fees(q, row.order_id)));
    const workOrders = row.status === 'submitted' || row.status === 'completed' ? (known.workOrders ?? (await orderRepo.workOrdersOf(q, row.order_id))).map(workOrderView) : [];
    const total = lines.reduce((s, l) => s + l.amountFen, 0);
    const waived = lines.reduce((s, l) => s + l.waivedFen, 0);
    return {
      ...summaryView(row),
      input: row.input as Record<string, unknown>,
      checks: (row.check_results as { passed: boolean; failures: CheckFailure[]; checkedAt: string } | null) ?? null,
      changes: (row.changes as ReceiptData['changes'] | null) ?? [],
      notices: (row.notices as Text[] | null) ?? [],
      fees: lines,
      totalFen: total,
      waivedFen: waived,
      payableFen: total - waived,
      confirmation: row.confirmation ?? null,
      result: row.result ?? null,
      workOrders,
    };
  }
}

interface ChangeRecord {
  action: string;
  event: string;
  /** the row before, when the audit entry shows it */
  before?: OrderRow | undefined;
  /** fields the entry and the event carry besides the order's summary */
  extra?: Record<string, unknown> | undefined;
}

/** The audit entries and events of a change, each with the order's summary after it (as recordChange would write). */
/** R-ORD-5: another order holds a subject of this one. */
function holdFailure(h: HoldConflict): CheckFailure {
  return failure(
    h.kind === 'reservation' ? 'RESERVATION_CONFLICT' : 'ORDER_IN_TRANSIT',
    h.kind === 'reservation'
      ? { zh: `存在预约单 ${h.order_id}（${h.business_type}），不能办理冲突业务`, en: `Reservation order ${h.order_id} (${h.business_type}) conflicts with this order` }
      : { zh: `存在在途受理单 ${h.order_id}（${h.business_type}）`, en: `Order ${h.order_id} (${h.business_type}) is still in transit` },
    { zh: '请先完成或撤销该受理单', en: 'Complete or cancel that order first' },
    { subject: h.subject, orderId: h.order_id },
  );
}

function orderRecords(records: ChangeRecord[], expected: OrderRow): OrderRecord[] {
  const after = summaryView(expected);
  return records.map((r) => ({
    action: r.action,
    event: r.event,
    ...(r.before ? { before: summaryView(r.before) } : {}),
    after: { ...after, ...r.extra },
  }));
}

type NewOrder = { business_type: string; customer_id: number | null; account_id: number | null; subscriber_id: number | null; operator_id: number; department_id: string; input: unknown; now: Date };

/** The row insertRecorded returns for a new draft, but for its id. */
function newOrderRow(d: NewOrder): OrderRow {
  return {
    order_id: 0,
    business_type: d.business_type,
    status: 'draft',
    customer_id: d.customer_id,
    account_id: d.account_id,
    subscriber_id: d.subscriber_id,
    operator_id: d.operator_id,
    department_id: d.department_id,
    input: d.input,
    check_results: null,
    hold_subjects: null,
    changes: null,
    notices: null,
    result: null,
    authorised_at: null,
    confirmation: null,
    cancel_reason: null,
    version: 0,
    created_at: d.now,
    updated_at: d.now,
    checked_at: null,
    quoted_at: null,
    submitted_at: null,
    completed_at: null,
    cancelled_at: null,
  } as OrderRow;
}

/** The audit entry was written from `expected`; the stored row must say the same, or the step fails (and rolls back). */
function assertSameSummary(row: OrderRow, expected: OrderRow): void {
  const got = JSON.stringify(summaryView(row));
  const want = JSON.stringify(summaryView(expected));
  if (got !== want) throw new Error(`order ${row.order_id}: the audit entry would not match the stored order (${want} ≠ ${got})`);
}

function summaryView(r: OrderRow) {
  return {
    orderId: r.order_id,
    businessType: r.business_type,
    status: r.status,
    customerId: r.customer_id,
    accountId: r.account_id,
    subscriberId: r.subscriber_id,
    operatorId: r.operator_id,
    departmentId: r.department_id,
    authorised: r.authorised_at !== null,
    cancelReason: r.cancel_reason,
    createdAt: r.created_at.toISOString(),
    checkedAt: r.checked_at?.toISOString() ?? null,
    quotedAt: r.quoted_at?.toISOString() ?? null,
    submittedAt: r.submitted_at?.toISOString() ?? null,
    completedAt: r.completed_at?.toISOString() ?? null,
    cancelledAt: r.cancelled_at?.toISOString() ?? null,
  };
}

function workOrderView(w: {
  work_order_id: number;
  order_id: number;
  kind: string;
  subscriber_id: number | null;
  address: string | null;
  measurement_room: string | null;
  status: string;
  created_at: Date;
  completed_at: Date | null;
  note: string | null;
}) {
  return {
    workOrderId: w.work_order_id,
    orderId: w.order_id,
    kind: w.kind,
    subscriberId: w.subscriber_id,
    address: w.address,
    measurementRoom: w.measurement_room,
    status: w.status,
    note: w.note,
    createdAt: w.created_at.toISOString(),
    completedAt: w.completed_at?.toISOString() ?? null,
  };
}

function passwordRequired(): CheckFailure {
  return failure(
    'SERVICE_PASSWORD_REQUIRED',
    { zh: '该业务须验证客户服务密码', en: 'This order needs the customer’s service password' },
    { zh: '请客户输入 6 位服务密码后重新校验', en: 'Have the customer enter the 6-digit service password and check again' },
  );
}

type FeeRow = Awaited<ReturnType<typeof orderRepo.fees>>[number];

function feeLines(rows: FeeRow[]): FeeLine[] {
  return rows.map((r) => ({
    lineNo: r.line_no,
    feeCode: r.fee_code,
    kind: r.kind,
    name: { zh: r.name_zh, en: r.name_en },
    itemCode: r.item_code,
    bookType: r.book_type ?? undefined,
    restrictedItems: r.restricted_items ?? undefined,
    memberRole: r.member_role ?? undefined,
    amountFen: r.amount_fen,
    waivable: r.kind === 'fee',
    waivedFen: r.waived_fen,
    waivedBy: r.waived_by,
    waiverReason: r.waiver_reason,
  }));
}

/** The stored quote still holds when every line has the same code, kind, amount and role. */
function sameQuote(stored: FeeLine[], fresh: QuoteLine[]): boolean {
  const key = (l: QuoteLine) => `${l.feeCode}|${l.kind}|${l.memberRole ?? ''}|${l.amountFen}|${l.bookType ?? ''}|${(l.restrictedItems ?? []).join(',')}`;
  const a = stored.map(key).sort();
  const b = fresh.map(key).sort();
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** R-ORD-2: waivers apply to waivable fee lines only, never beyond the line, each with a reason. */
export function applyWaivers(lines: QuoteLine[], waivers: Waiver[], actor: Actor): FeeLine[] {
  const out: FeeLine[] = lines.map((l, i) => ({ ...l, lineNo: i + 1, waivedFen: 0, waivedBy: null, waiverReason: null }));
  for (const w of waivers) {
    const line = out.find((l) => (w.lineNo !== undefined ? l.lineNo === w.lineNo : l.feeCode === w.feeCode && l.waivedFen === 0));
    if (!line) {
      throw new DomainError('WAIVER_LINE_NOT_FOUND', '要减免的费用项不存在', 'The fee line to waive does not exist', 422, { lineNo: w.lineNo, feeCode: w.feeCode });
    }
    if (!line.waivable) {
      throw new DomainError('FEE_NOT_WAIVABLE', `${line.name.zh} 不能减免`, `${line.name.en} cannot be waived`, 422, { lineNo: line.lineNo, feeCode: line.feeCode });
    }
    const amount = w.amountFen ?? line.amountFen;
    if (amount <= 0 || amount > line.amountFen) {
      throw new DomainError('WAIVER_TOO_LARGE', '减免金额须大于 0 且不超过该项费用', 'A waiver must be above 0 and at most the fee', 422, { lineNo: line.lineNo, amountFen: line.amountFen });
    }
    if (!w.reason.trim()) throw new DomainError('WAIVER_REASON_REQUIRED', '减免须填写原因', 'A waiver needs a reason', 422);
    line.waivedFen = amount;
    line.waivedBy = actor.operatorId;
    line.waiverReason = w.reason.trim();
  }
  return out;
}
