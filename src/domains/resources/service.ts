// Numbers and SIM cards (SPEC §10, R-X-10): what the order engine calls inside its own transaction
// (problems, take, bind, release), the front desk's reservations, the release job, search and the
// demo stock.
import { type Actor, can, systemActor } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db, Q, Tx } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import type { Jobs } from '../../platform/jobs.ts';
import type { Fen } from '../../platform/money.ts';
import { recordChange, recordChanges } from '../../platform/outbox.ts';
import type { Network, NumberState, ReservationKind, SimCardType, SimState } from '../../platform/schema.ts';
import { recordCardEvents } from './card-events.ts';
import { cardWriteRepo } from './card-writing-repo.ts';
import { releaseReversedOrder } from './card-writing.ts';
import { type Before, type LevelRow, type NumberRow, type NumberWithLevel, type NumberWithSim, resourceRepo, type SimFacts, type SimRow } from './repo.ts';
import {
  type Channel,
  type Claim,
  coolingUntil,
  deriveLevel,
  type Failure,
  hasValidLuhn,
  type LevelPattern,
  luhnCheckDigit,
  type NumberFacts,
  type NumberLevel,
  numberFailures,
  type NumberPolicy,
  patternProblem,
  recycledReleaseCutoff,
  reservationFailures,
  reservationExpiry,
  type SimContext,
  simFailures,
  type TakeContext,
} from './rules.ts';

export type { Failure, TakeContext, SimContext };

export const RELEASE_JOB = 'release-expired-numbers';

const NOT_FOUND_CODES = new Set(['NUMBER_NOT_FOUND', 'SIM_NOT_FOUND']);
const STATE_CODES = new Set(['NUMBER_IN_USE', 'NUMBER_RESERVED', 'NUMBER_FROZEN', 'NUMBER_RECYCLED', 'SIM_NOT_AVAILABLE']);

/** The first failure as the error, all of them in the details. */
function refusal(failures: Failure[]): DomainError {
  const first = failures[0] as Failure;
  const status = NOT_FOUND_CODES.has(first.code) ? 404 : STATE_CODES.has(first.code) ? 409 : 422;
  return new DomainError(first.code, first.message.zh, first.message.en, status, { failures });
}

function toLevel(r: Pick<LevelRow, 'code' | 'name_zh' | 'name_en' | 'patterns' | 'priority' | 'price_fen' | 'requires_approval' | 'requires_campaign' | 'agent_allowed'>): NumberLevel {
  const patterns = Array.isArray(r.patterns) ? r.patterns : [];
  for (const p of patterns) {
    const problem = patternProblem(p);
    if (problem) throw new Error(`number level ${r.code}: ${problem}`);
  }
  return {
    code: r.code,
    nameZh: r.name_zh,
    nameEn: r.name_en,
    patterns: patterns as LevelPattern[],
    priority: r.priority,
    priceFen: r.price_fen,
    requiresApproval: r.requires_approval,
    requiresCampaign: r.requires_campaign,
    agentAllowed: r.agent_allowed,
  };
}

const levelOfRow = (n: NumberWithLevel): NumberLevel =>
  toLevel({ ...n, code: n.level_code, name_zh: n.level_name_zh, name_en: n.level_name_en });

function facts(n: NumberRow): NumberFacts {
  return {
    serviceNumber: n.service_number,
    state: n.state,
    reservationKind: n.reservation_kind,
    reservedOrderId: n.reserved_order_id,
    reservedCustomerId: n.reserved_customer_id,
    reservedOperatorId: n.reserved_operator_id,
    reservedUntil: n.reserved_until,
  };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const simFacts = (s: SimFacts) => ({
  iccid: s.iccid,
  cardType: s.card_type,
  state: s.state,
  reservedOrderId: s.reserved_order_id,
  serviceNumber: s.service_number,
  pickedByDepartmentId: s.picked_by_department_id,
});

export function levelView(l: NumberLevel) {
  return {
    code: l.code,
    nameZh: l.nameZh,
    nameEn: l.nameEn,
    priceFen: l.priceFen,
    requiresApproval: l.requiresApproval,
    requiresCampaign: l.requiresCampaign,
    agentAllowed: l.agentAllowed,
  };
}

export function numberView(n: NumberRow, level?: NumberLevel) {
  return {
    serviceNumber: n.service_number,
    numberClass: n.number_class,
    state: n.state,
    levelCode: n.level_code,
    ...(level ? { level: levelView(level) } : {}),
    departmentId: n.department_id,
    reservation:
      n.state === 'reserved'
        ? {
            kind: n.reservation_kind,
            orderId: n.reserved_order_id,
            customerId: n.reserved_customer_id,
            operatorId: n.reserved_operator_id,
            reservedAt: iso(n.reserved_at),
            reservedUntil: iso(n.reserved_until),
          }
        : null,
    subscriberId: n.subscriber_id,
    stateChangedAt: n.state_changed_at.toISOString(),
    coolingUntil: iso(n.cooling_until),
  };
}

function beforeView(b: Before) {
  return {
    state: b.before_state,
    ...(b.before_state === 'reserved'
      ? { reservationKind: b.before_kind, reservedOrderId: b.before_order_id, reservedCustomerId: b.before_customer_id, reservedOperatorId: b.before_operator_id, reservedUntil: iso(b.before_until) }
      : {}),
  };
}

export function simView(s: SimRow) {
  return {
    iccid: s.iccid,
    imsi: s.imsi,
    cardType: s.card_type,
    state: s.state,
    warehouseCode: s.warehouse_code,
    departmentId: s.department_id,
    serviceNumber: s.service_number,
    subscriberId: s.subscriber_id,
    stateChangedAt: s.state_changed_at.toISOString(),
    activatedAt: iso(s.activated_at),
  };
}

export interface NumberSearch {
  state?: NumberState | undefined;
  level?: string | undefined;
  prefix?: string | undefined;
  suffix?: string | undefined;
  departmentId?: string | undefined;
  numberClass?: 'mobile' | 'fixed' | undefined;
  after?: string | undefined;
  limit?: number | undefined;
}

export interface SimSearch {
  state?: SimState | undefined;
  cardType?: SimCardType | undefined;
  serviceNumber?: string | undefined;
  warehouseCode?: string | undefined;
  after?: string | undefined;
  limit?: number | undefined;
}

export interface NewHandset {
  imei: string;
  model: string;
  priceFen: Fen;
  orderId?: number | undefined;
  subscriberId?: number | undefined;
  customerId?: number | undefined;
  campaignCode?: string | undefined;
}

const MAX_LIMIT = 500;

function digitsOrRefuse(name: string, v: string | undefined): void {
  if (v !== undefined && !/^[0-9]{1,20}$/.test(v)) {
    throw new DomainError('INVALID_NUMBER_PATTERN', `${name} 只能是数字：${v}`, `${name} must be digits: ${v}`, 400);
  }
}

function levelInfo(n: NumberWithLevel | undefined): { code: string; name: { zh: string; en: string }; priceFen: Fen } | null {
  const level = n ? levelOfRow(n) : undefined;
  return level ? { code: level.code, name: { zh: level.nameZh, en: level.nameEn }, priceFen: level.priceFen } : null;
}

export class ResourceService {
  private readonly deps: { db: Db; clock: Clock };
  constructor(deps: { db: Db; clock: Clock }) {
    this.deps = deps;
  }

  registerJobs(jobs: Jobs): void {
    jobs.register(RELEASE_JOB, ({ now }) => this.releaseExpired(now), {
      zh: '释放到期的号码预占，回收冷冻期满的号码（R-X-10）',
      en: 'Release expired number reservations and recycle cooled numbers (R-X-10)',
    });
    jobs.schedule(RELEASE_JOB, '*/5 * * * *');
  }

  async policy(q: Q = this.deps.db): Promise<NumberPolicy> {
    const p = await resourceRepo.policy(q);
    return {
      holdHours: { online: p.online_hold_hours, card_writing: p.card_writing_hold_hours, order: p.order_hold_hours },
      coolingDays: p.cooling_days,
      recycledHoldHours: p.recycled_hold_hours,
    };
  }

  async levels(q: Q = this.deps.db): Promise<NumberLevel[]> {
    return (await resourceRepo.levels(q)).map(toLevel);
  }

  // ---- for the order engine, inside its transaction ------------------------------------------

  /** R-X-10: why this order cannot take the number (empty: it can). */
  async numberProblems(q: Q, serviceNumber: string, ctx: TakeContext): Promise<Failure[]> {
    const n = await resourceRepo.numberWithLevel(q, serviceNumber);
    return numberFailures(n && facts(n), n && levelOfRow(n), ctx, this.deps.clock.now(), serviceNumber);
  }

  /** The number's level and price (R-X-10), for the order's quote; null when the number is unknown. */
  async numberLevelOf(q: Q, serviceNumber: string): Promise<{ code: string; name: { zh: string; en: string }; priceFen: Fen } | null> {
    return levelInfo(await resourceRepo.numberWithLevel(q, serviceNumber));
  }

  /** numberLevelOf of a number read already (numberWithSimFacts). */
  levelOf(n: NumberWithLevel | undefined): { code: string; name: { zh: string; en: string }; priceFen: Fen } | null {
    return levelInfo(n);
  }

  /** numberProblems and numberLevelOf from one read of the number (the order's check and submit). */
  async numberCheck(
    q: Q,
    serviceNumber: string,
    ctx: TakeContext,
  ): Promise<{ problems: Failure[]; level: { code: string; name: { zh: string; en: string }; priceFen: Fen } | null }> {
    return this.numberResult(await resourceRepo.numberWithLevel(q, serviceNumber), serviceNumber, ctx);
  }

  /** simProblems and simImsi from one read of the card (the order's check and submit). */
  async simCheck(q: Q, iccid: string, ctx: SimContext): Promise<{ problems: Failure[]; imsi: string | null }> {
    return this.simResult(await resourceRepo.simByIccid(q, iccid), iccid, ctx);
  }

  /** numberCheck and simCheck of a new mobile subscriber in one round trip. */
  async numberAndSimCheck(
    q: Q,
    n: { serviceNumber: string; ctx: TakeContext },
    s: { iccid: string; ctx: SimContext },
  ): Promise<{ number: Awaited<ReturnType<ResourceService['numberCheck']>>; sim: { problems: Failure[]; imsi: string | null } }> {
    const { number, sim } = await this.numberSimAndHolders(q, n, s);
    return { number, sim };
  }

  /**
   * numberAndSimCheck, and the number's subscribers (network, lifecycle) read by the same statement —
   * AccountService.numberInUse's facts (numberHeld); holders undefined when the number is unknown.
   */
  async numberSimAndHolders(
    q: Q,
    n: { serviceNumber: string; ctx: TakeContext },
    s: { iccid: string; ctx: SimContext },
  ): Promise<{
    number: Awaited<ReturnType<ResourceService['numberCheck']>>;
    sim: { problems: Failure[]; imsi: string | null };
    holders: { network: Network; lifecycle: string }[] | undefined;
  }> {
    return this.numberSimAndHoldersOf(q, await resourceRepo.numberWithSim(q, n.serviceNumber, s.iccid), n, s);
  }

  /**
   * numberSimAndHolders of the number and card as read already (resourceRepo.numberWithSim, or with the
   * order by the engine's first statement of a step: numberWithSimFacts); undefined: no such number.
   */
  async numberSimAndHoldersOf(
    q: Q,
    both: NumberWithSim | undefined,
    n: { serviceNumber: string; ctx: TakeContext },
    s: { iccid: string; ctx: SimContext },
  ): ReturnType<ResourceService['numberSimAndHolders']> {
    // an unknown number (a refusal): the card is read on its own
    if (!both) return { number: this.numberResult(undefined, n.serviceNumber, n.ctx), sim: await this.simCheck(q, s.iccid, s.ctx), holders: undefined };
    return { number: this.numberResult(both.number, n.serviceNumber, n.ctx), sim: this.simResult(both.sim, s.iccid, s.ctx), holders: both.holders };
  }

  private numberResult(n: NumberWithLevel | undefined, serviceNumber: string, ctx: TakeContext) {
    return { problems: numberFailures(n && facts(n), n && levelOfRow(n), ctx, this.deps.clock.now(), serviceNumber), level: levelInfo(n) };
  }

  private simResult(s: SimFacts | undefined, iccid: string, ctx: SimContext): { problems: Failure[]; imsi: string | null } {
    return {
      problems: simFailures(s && simFacts(s), ctx, iccid),
      imsi: s?.imsi ?? null,
    };
  }

  /** The card's IMSI (卡数据) to record on the subscriber; null when the card is unknown or blank. */
  async simImsi(q: Q, iccid: string): Promise<string | null> {
    return (await resourceRepo.simByIccid(q, iccid))?.imsi ?? null;
  }

  /** Why this order cannot activate the card for the number (empty: it can). */
  async simProblems(q: Q, iccid: string, ctx: SimContext): Promise<Failure[]> {
    const s = await resourceRepo.simByIccid(q, iccid);
    return simFailures(s && simFacts(s), ctx, iccid);
  }

  /**
   * The number becomes in use by the subscriber, in one guarded statement (free, reserved for this
   * order/customer/operator, or reserved past expiry). Level rules are numberProblems' job; this is
   * the race guard: of concurrent takes exactly one wins, the rest get 409 NUMBER_TAKEN.
   */
  async takeNumber(tx: Q, serviceNumber: string, t: { orderId?: number | undefined; subscriberId: number; customerId?: number | undefined; actor?: Actor | undefined }) {
    const actor = t.actor ?? systemActor(t.orderId ? `order-${t.orderId}` : 'orders');
    const now = this.deps.clock.now();
    const row = await resourceRepo.take(tx, serviceNumber, {
      subscriberId: t.subscriberId,
      orderId: t.orderId ?? null,
      customerId: t.customerId ?? null,
      operatorId: actor.operatorId,
      now,
    });
    if (!row) {
      throw new DomainError('NUMBER_TAKEN', `号码已不可用（已被占用或预占）：${serviceNumber}`, `The number is no longer available (taken or reserved): ${serviceNumber}`, 409, { serviceNumber });
    }
    const view = numberView(row);
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'number.take', targetType: 'number', targetId: serviceNumber, before: beforeView(row), after: { state: 'in_use', subscriberId: t.subscriberId, orderId: t.orderId ?? null } },
      { type: 'number.taken', aggregateType: 'number', aggregateId: serviceNumber, payload: { serviceNumber, subscriberId: t.subscriberId, orderId: t.orderId ?? null, levelCode: row.level_code } },
    );
    return view;
  }

  /** The card is activated for the subscriber's number; 409 SIM_TAKEN when it is not available to this order. */
  async bindSim(tx: Q, iccid: string, b: { serviceNumber: string; subscriberId: number; orderId?: number | undefined; actor?: Actor | undefined }) {
    const actor = b.actor ?? systemActor(b.orderId ? `order-${b.orderId}` : 'orders');
    // the card's `activated` history row is written by the same statement
    const row = await resourceRepo.bindSim(tx, iccid, {
      serviceNumber: b.serviceNumber,
      subscriberId: b.subscriberId,
      orderId: b.orderId ?? null,
      operatorId: actor.operatorId ?? null,
      now: this.deps.clock.now(),
    });
    if (!row) {
      throw new DomainError('SIM_TAKEN', `卡已不可用：${iccid}`, `The SIM card is no longer available: ${iccid}`, 409, { iccid });
    }
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'sim.bind', targetType: 'sim_card', targetId: iccid, after: { state: 'activated', serviceNumber: b.serviceNumber, subscriberId: b.subscriberId, orderId: b.orderId ?? null } },
      { type: 'sim.activated', aggregateType: 'sim_card', aggregateId: iccid, payload: { iccid, imsi: row.imsi, serviceNumber: b.serviceNumber, subscriberId: b.subscriberId, orderId: b.orderId ?? null } },
    );
    return { iccid: row.iccid, imsi: row.imsi as string };
  }

  /**
   * takeNumber() and bindSim() of one new subscriber in one statement, with the same guards, errors
   * (409 NUMBER_TAKEN before SIM_TAKEN), audit entries and events, in the same order.
   */
  async takeNumberAndBindSim(tx: Q, serviceNumber: string, iccid: string, t: { orderId?: number | undefined; subscriberId: number; customerId?: number | undefined; actor?: Actor | undefined }) {
    const actor = t.actor ?? systemActor(t.orderId ? `order-${t.orderId}` : 'orders');
    const now = this.deps.clock.now();
    const row = await resourceRepo.takeWithSim(
      tx,
      serviceNumber,
      { subscriberId: t.subscriberId, orderId: t.orderId ?? null, customerId: t.customerId ?? null, operatorId: actor.operatorId, now },
      iccid,
    );
    if (!row) {
      throw new DomainError('NUMBER_TAKEN', `号码已不可用（已被占用或预占）：${serviceNumber}`, `The number is no longer available (taken or reserved): ${serviceNumber}`, 409, { serviceNumber });
    }
    const bound = row.sim_bound;
    if (!bound) throw new DomainError('SIM_TAKEN', `卡已不可用：${iccid}`, `The SIM card is no longer available: ${iccid}`, 409, { iccid });
    const orderId = t.orderId ?? null;
    await recordChanges(tx, this.deps.clock, actor, [
      {
        audit: { action: 'number.take', targetType: 'number', targetId: serviceNumber, before: beforeView(row), after: { state: 'in_use', subscriberId: t.subscriberId, orderId } },
        event: { type: 'number.taken', aggregateType: 'number', aggregateId: serviceNumber, payload: { serviceNumber, subscriberId: t.subscriberId, orderId, levelCode: row.level_code } },
      },
      {
        audit: { action: 'sim.bind', targetType: 'sim_card', targetId: iccid, after: { state: 'activated', serviceNumber, subscriberId: t.subscriberId, orderId } },
        event: { type: 'sim.activated', aggregateType: 'sim_card', aggregateId: iccid, payload: { iccid, imsi: bound.imsi, serviceNumber, subscriberId: t.subscriberId, orderId } },
      },
    ]);
    return { number: numberView(row), sim: { iccid: bound.iccid, imsi: bound.imsi as string } };
  }

  /** Cancellation: the number is frozen for the cooling period, then recycled by the release job. */
  async releaseNumber(tx: Q, serviceNumber: string, reason: string, actor: Actor = systemActor('orders')) {
    const now = this.deps.clock.now();
    const until = coolingUntil(await this.policy(tx), now);
    const row = await resourceRepo.freeze(tx, serviceNumber, now, until);
    if (!row) {
      const n = await resourceRepo.numberWithLevel(tx, serviceNumber);
      if (!n) throw refusal(numberFailures(undefined, undefined, { channel: 'hall' }, now, serviceNumber));
      throw new DomainError('NUMBER_NOT_IN_USE', `号码未在使用中（${n.state}）：${serviceNumber}`, `The number is not in use (${n.state}): ${serviceNumber}`, 409, { state: n.state });
    }
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'number.freeze', targetType: 'number', targetId: serviceNumber, before: { state: 'in_use', subscriberId: row.subscriber_id }, after: { state: 'frozen', coolingUntil: until.toISOString(), reason } },
      { type: 'number.frozen', aggregateType: 'number', aggregateId: serviceNumber, payload: { serviceNumber, subscriberId: row.subscriber_id, coolingUntil: until.toISOString(), reason } },
    );
    return numberView(row);
  }

  /** SIM replacement (补换卡): the old card is retired. */
  async retireSim(tx: Q, iccid: string, actor: Actor = systemActor('orders')) {
    const row = await resourceRepo.retireSim(tx, iccid, this.deps.clock.now());
    if (!row) {
      const s = await resourceRepo.simByIccid(tx, iccid);
      if (!s) throw refusal(simFailures(undefined, {}, iccid));
      throw new DomainError('SIM_NOT_ACTIVE', `卡不在使用中（${s.state}）：${iccid}`, `The card is not active (${s.state}): ${iccid}`, 409, { state: s.state });
    }
    await recordCardEvents(tx, this.deps.clock.now(), [iccid], { event: 'retired', fromState: 'activated', operatorId: actor.operatorId });
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'sim.retire', targetType: 'sim_card', targetId: iccid, before: { state: 'activated', subscriberId: row.subscriber_id }, after: { state: 'retired' } },
      { type: 'sim.retired', aggregateType: 'sim_card', aggregateId: iccid, payload: { iccid, serviceNumber: row.service_number, subscriberId: row.subscriber_id } },
    );
    return simView(row);
  }

  /**
   * 补卡 (SIM replacement) inside the order's transaction: the new card is activated for the same
   * number and subscriber, the old one (when it is an active card of the stock) is retired.
   */
  async replaceSim(tx: Q, r: { oldIccid: string | null; newIccid: string; serviceNumber: string; subscriberId: number; orderId?: number | undefined; actor?: Actor | undefined }) {
    const actor = r.actor ?? systemActor(r.orderId ? `order-${r.orderId}` : 'orders');
    const old = r.oldIccid ? await resourceRepo.simByIccid(tx, r.oldIccid) : undefined;
    const retired = old?.state === 'activated' ? await this.retireSim(tx, old.iccid, actor) : null;
    const bound = await this.bindSim(tx, r.newIccid, { serviceNumber: r.serviceNumber, subscriberId: r.subscriberId, orderId: r.orderId, actor });
    return { iccid: bound.iccid, imsi: bound.imsi, retiredIccid: retired?.iccid ?? null };
  }

  /** 改号: the subscriber's active card is recorded with the new number (the card itself is not rewritten). */
  async renumberSim(tx: Q, iccid: string, serviceNumber: string, actor: Actor = systemActor('orders')) {
    const before = await resourceRepo.simByIccid(tx, iccid);
    const row = await resourceRepo.setSimNumber(tx, iccid, serviceNumber, this.deps.clock.now());
    if (!before || !row) return null;
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'sim.renumber', targetType: 'sim_card', targetId: iccid, before: { serviceNumber: before.service_number }, after: { serviceNumber } },
      { type: 'sim.renumbered', aggregateType: 'sim_card', aggregateId: iccid, payload: { iccid, oldNumber: before.service_number, serviceNumber, subscriberId: row.subscriber_id } },
    );
    return simView(row);
  }

  /** A gift handset (赠机) given by an order, tracked by IMEI. */
  async recordHandset(tx: Q, h: NewHandset, actor: Actor = systemActor('orders')) {
    if (!/^[0-9]{15}$/.test(h.imei) || !hasValidLuhn(h.imei)) {
      throw new DomainError('INVALID_IMEI', `IMEI 不正确（15 位数字，末位为校验位）：${h.imei}`, `Invalid IMEI (15 digits ending in a Luhn check digit): ${h.imei}`, 422);
    }
    if (!Number.isSafeInteger(h.priceFen) || h.priceFen < 0) {
      throw new DomainError('INVALID_AMOUNT', '金额须为非负整数（分）', 'The amount must be a non-negative whole number of fen', 422);
    }
    const row = await resourceRepo.insertHandset(tx, {
      imei: h.imei,
      model: h.model,
      price_fen: h.priceFen,
      order_id: h.orderId ?? null,
      subscriber_id: h.subscriberId ?? null,
      customer_id: h.customerId ?? null,
      campaign_code: h.campaignCode ?? null,
      recorded_at: this.deps.clock.now(),
    });
    if (!row) throw new DomainError('HANDSET_RECORDED', `该手机（IMEI ${h.imei}）已登记`, `The handset with IMEI ${h.imei} is already recorded`, 409);
    const view = { imei: row.imei, model: row.model, priceFen: row.price_fen, orderId: row.order_id, subscriberId: row.subscriber_id, customerId: row.customer_id, campaignCode: row.campaign_code };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'handset.record', targetType: 'handset', targetId: row.imei, after: view },
      { type: 'handset.recorded', aggregateType: 'handset', aggregateId: row.imei, payload: view },
    );
    return view;
  }

  // ---- reservations (选号预占) -----------------------------------------------------------------

  /** R-X-10: holds a number for a customer, an order or the operator until the kind's hold ends. */
  async reserveNumber(actor: Actor, serviceNumber: string, r: { kind: ReservationKind; orderId?: number | undefined; customerId?: number | undefined }) {
    return this.deps.db.transaction().execute((tx) => this.reserveNumberIn(tx, actor, serviceNumber, r));
  }

  async reserveNumberIn(tx: Q, actor: Actor, serviceNumber: string, r: { kind: ReservationKind; orderId?: number | undefined; customerId?: number | undefined }) {
    if (r.kind === 'order' && r.orderId === undefined) {
      throw new DomainError('ORDER_REQUIRED', '受理预占须指明受理单', 'An order reservation needs the order', 422);
    }
    if (r.customerId !== undefined && !(await resourceRepo.customerExists(tx, r.customerId))) {
      throw new DomainError('UNKNOWN_CUSTOMER', `客户不存在：${r.customerId}`, `Unknown customer: ${r.customerId}`, 422);
    }
    const now = this.deps.clock.now();
    const n = await resourceRepo.numberWithLevel(tx, serviceNumber);
    const level = n && levelOfRow(n);
    const failures = reservationFailures(n && facts(n), level, await this.channelOf(tx, actor), now, serviceNumber);
    if (failures.length > 0) throw refusal(failures);
    const until = reservationExpiry(await this.policy(tx), r.kind, now);
    const row = await resourceRepo.reserve(tx, serviceNumber, {
      kind: r.kind,
      orderId: r.orderId ?? null,
      customerId: r.customerId ?? null,
      operatorId: actor.operatorId,
      now,
      until,
    });
    if (!row) throw new DomainError('NUMBER_RESERVED', `号码已被他人预占：${serviceNumber}`, `The number is reserved by someone else: ${serviceNumber}`, 409);
    const view = numberView(row, level);
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'number.reserve', targetType: 'number', targetId: serviceNumber, before: beforeView(row), after: view.reservation },
      { type: 'number.reserved', aggregateType: 'number', aggregateId: serviceNumber, payload: { serviceNumber, ...view.reservation } },
    );
    return view;
  }

  /** The holder (its operator or its order) or an operator with resource.manage gives a reservation back. */
  async releaseReservation(actor: Actor, serviceNumber: string, claim: Pick<Claim, 'orderId'> = {}) {
    return this.deps.db.transaction().execute((tx) => this.releaseReservationIn(tx, actor, serviceNumber, claim));
  }

  async releaseReservationIn(tx: Q, actor: Actor, serviceNumber: string, claim: Pick<Claim, 'orderId'> = {}) {
    const now = this.deps.clock.now();
    const n = await resourceRepo.numberWithLevel(tx, serviceNumber);
    if (!n) throw refusal(numberFailures(undefined, undefined, { channel: 'hall' }, now, serviceNumber));
    if (n.state !== 'reserved') {
      throw new DomainError('NUMBER_NOT_RESERVED', `号码未被预占：${serviceNumber}`, `The number is not reserved: ${serviceNumber}`, 409, { state: n.state });
    }
    const holder =
      can(actor, 'resource.manage') ||
      (actor.operatorId !== null && actor.operatorId === n.reserved_operator_id) ||
      (claim.orderId !== undefined && claim.orderId === n.reserved_order_id);
    if (!holder) {
      throw new DomainError('RESERVATION_NOT_YOURS', '只能释放本人或本受理单的预占', 'Only the operator or the order that holds the reservation can release it', 403);
    }
    const row = await resourceRepo.releaseReservation(tx, serviceNumber, now);
    if (!row) throw new DomainError('NUMBER_NOT_RESERVED', `号码未被预占：${serviceNumber}`, `The number is not reserved: ${serviceNumber}`, 409);
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'number.reservation.release', targetType: 'number', targetId: serviceNumber, before: beforeView(row), after: { state: 'free' } },
      { type: 'number.reservation_released', aggregateType: 'number', aggregateId: serviceNumber, payload: { serviceNumber, orderId: row.before_order_id } },
    );
    return numberView(row, levelOfRow(n));
  }

  /**
   * R-X-10, the release job: reservations past their expiry go back to free; frozen numbers whose
   * cooling is over are recycled, and recycled numbers past the hold go back on sale. Set-based,
   * each change audited with its outbox event, all in one transaction.
   */
  async releaseExpired(now: Date = this.deps.clock.now()) {
    const actor = systemActor(`job:${RELEASE_JOB}`);
    return this.deps.db.transaction().execute(async (tx) => {
      const policy = await this.policy(tx);
      // R-X-11: card writes never reported within the card-writing hold expire with their number's hold
      const writes = await cardWriteRepo.expireIssued(tx, now, new Date(now.getTime() - policy.holdHours.card_writing * 3600_000), actor);
      const expired = await resourceRepo.expireReservations(tx, now, actor);
      const recycled = await resourceRepo.recycleCooled(tx, now, actor);
      const released = await resourceRepo.releaseRecycled(tx, now, recycledReleaseCutoff(policy, now), actor);
      return { reservationsExpired: expired.length, recycled: recycled.length, released: released.length, ...(writes.length ? { cardWritesExpired: writes.length } : {}) };
    });
  }

  /** R-X-11: what an order reversed after a failed network activation held is given back (see card-writing.ts). */
  async releaseForReversedOrder(tx: Tx, actor: Actor, r: { orderId: number; reason: string; members: { serviceNumber: string; iccid?: string | undefined }[] }) {
    return releaseReversedOrder(tx, this, this.deps.clock, actor, r);
  }

  // ---- search ------------------------------------------------------------------------------------

  async getNumber(serviceNumber: string) {
    const n = await resourceRepo.numberWithLevel(this.deps.db, serviceNumber);
    if (!n) throw refusal(numberFailures(undefined, undefined, { channel: 'hall' }, this.deps.clock.now(), serviceNumber));
    return numberView(n, levelOfRow(n));
  }

  async searchNumbers(s: NumberSearch = {}) {
    digitsOrRefuse('prefix', s.prefix);
    digitsOrRefuse('suffix', s.suffix);
    const limit = Math.min(Math.max(s.limit ?? 50, 1), MAX_LIMIT);
    const rows = await resourceRepo.searchNumbers(this.deps.db, { ...s, limit });
    return { items: rows.map((n) => numberView(n, levelOfRow(n))), next: rows.length === limit ? (rows.at(-1)?.service_number ?? null) : null };
  }

  async searchSims(s: SimSearch = {}) {
    const limit = Math.min(Math.max(s.limit ?? 50, 1), MAX_LIMIT);
    const rows = await resourceRepo.searchSims(this.deps.db, { ...s, limit });
    return { items: rows.map(simView), next: rows.length === limit ? (rows.at(-1)?.iccid ?? null) : null };
  }

  private async channelOf(q: Q, actor: Actor): Promise<Channel> {
    if (!actor.departmentId) return 'hall';
    const [d] = await resourceRepo.departmentsByIds(q, [actor.departmentId]);
    return d?.kind === 'channel' ? 'agent' : 'hall';
  }

  // ---- demo stock --------------------------------------------------------------------------------

  /**
   * Demo stock for the given pool owners: 200 mobile numbers (1390220xxxx, 1891100xxxx) whose levels
   * the rules derive, 200 finished SIM cards (the last 20 paired with ordinary numbers) and 40 blank
   * cards, placed in each department's (first) warehouse, each with an 'imported' history row.
   * Idempotent: existing numbers and cards are left alone.
   */
  async loadDemoStock(q: Q, departmentIds: string[]): Promise<{ numbers: number; simCards: number }> {
    if (departmentIds.length === 0) throw new Error('loadDemoStock needs at least one department');
    const now = this.deps.clock.now();
    const levels = await this.levels(q);
    const departments = new Map((await resourceRepo.departmentsByIds(q, departmentIds)).map((d) => [d.department_id, d]));
    const missing = departmentIds.filter((id) => !departments.has(id));
    if (missing.length) throw new Error(`unknown departments: ${missing.join(', ')}`);
    // every card in stock is at a warehouse of its department (audit stock)
    const homeless = departmentIds.filter((id) => !departments.get(id)?.warehouse_code);
    if (homeless.length) throw new Error(`departments without a warehouse: ${homeless.join(', ')}`);
    const deptAt = (i: number) => departmentIds[i % departmentIds.length] as string;

    const numbers = demoNumbers();
    const numberRows = numbers.map((n, i) => {
      const level = deriveLevel(n, levels);
      if (!level) throw new Error(`no number level matches ${n}: add a level with {"kind":"any"}`);
      return { service_number: n, number_class: 'mobile' as const, level_code: level.code, department_id: deptAt(i), state_changed_at: now, created_at: now };
    });
    const plain = new Set(levels.filter((l) => l.priceFen === 0 && !l.requiresApproval).map((l) => l.code));
    const ordinary = numberRows.filter((r) => plain.has(r.level_code)).map((r) => r.service_number);
    const paired = ordinary.slice(-20);

    const simRows = [];
    for (let i = 0; i < 240; i++) {
      const dept = departments.get(deptAt(i));
      const finished = i < 200;
      const body = `898601261${String(100000 + i).padStart(10, '0')}`;
      simRows.push({
        iccid: body + luhnCheckDigit(body),
        imsi: finished ? `${i < 100 ? '46001' : '46003'}${String(2_200_000_000 + i).padStart(10, '0')}` : null,
        card_type: finished ? ('finished' as const) : i < 220 ? ('blank_128k' as const) : ('blank_128k_micro' as const),
        warehouse_code: dept?.warehouse_code ?? null,
        department_id: deptAt(i),
        service_number: finished && i >= 180 ? (paired[i - 180] ?? null) : null,
        state_changed_at: now,
        created_at: now,
      });
    }
    const existing = new Set(
      (await q.selectFrom('sim_cards').select('iccid').where('iccid', 'in', simRows.map((r) => r.iccid)).execute()).map((r) => r.iccid),
    );
    const inserted = { numbers: await resourceRepo.insertNumbers(q, numberRows), simCards: await resourceRepo.insertSims(q, simRows) };
    // the new cards' history starts with their import, like a card file's
    await recordCardEvents(q, now, simRows.map((r) => r.iccid).filter((i) => !existing.has(i)), { event: 'imported', detail: { demo: true } });
    await recordChange(
      q,
      this.deps.clock,
      systemActor('demo'),
      { action: 'resource.stock_load', targetType: 'number_pool', targetId: departmentIds.join(','), after: inserted },
      { type: 'resources.stock_loaded', aggregateType: 'number_pool', aggregateId: departmentIds.join(','), payload: inserted },
    );
    return inserted;
  }
}

/** 100 numbers on each demo segment: memorable tails first, then a fixed pseudo-random spread. */
function demoNumbers(): string[] {
  const memorable = ['8888', '6666', '1234', '5678', '4321', '0888', '1666', '2999', '1122', '3344', '1212', '5858', '0168', '0518', '1088', '2066', '0789', '7799'];
  const out: string[] = [];
  for (const [k, prefix] of ['1390220', '1891100'].entries()) {
    const tails = new Set(memorable);
    let x = 7919 + k * 104729;
    while (tails.size < 100) {
      x = (x * 1103515245 + 12345) % 2147483648;
      tails.add(String(x % 10000).padStart(4, '0'));
    }
    for (const t of tails) out.push(prefix + t);
  }
  return out;
}
