// Resources rules (SPEC §10, R-X-10): number levels from patterns, the number and SIM lifecycles,
// reservation expiry, and what stops an order from taking a number or a SIM. Pure functions.
import { type CheckFailure, failure } from '../../platform/checks.ts';
import type { Fen } from '../../platform/money.ts';
import type { NumberState, ReservationKind, SimCardType, SimState } from '../../platform/schema.ts';

export type { NumberState, ReservationKind, SimCardType, SimState };
export type Failure = CheckFailure;
export type Channel = 'hall' | 'agent';

// ---------------------------------------------------------------------------------------------
// R-X-10 number levels (靓号): patterns are data (number_levels.patterns), matched here.

export type LevelPattern =
  /** The tail has this shape: equal letters are equal digits, different letters different digits ("AABB"). */
  | { kind: 'tail_shape'; shape: string }
  /** The tail is a run of consecutive digits, ascending (step 1, "1234") or descending (step -1). */
  | { kind: 'tail_run'; length: number; step: 1 | -1 }
  /** The number ends with one of these. */
  | { kind: 'suffix'; values: string[] }
  | { kind: 'regex'; pattern: string }
  | { kind: 'any' };

export interface NumberLevel {
  code: string;
  nameZh: string;
  nameEn: string;
  patterns: LevelPattern[];
  /** Lower is checked first: the most valuable level that matches wins. */
  priority: number;
  priceFen: Fen;
  requiresApproval: boolean;
  requiresCampaign: boolean;
  agentAllowed: boolean;
}

/** Checks pattern data read from the database or an import; returns a reason when it is not usable. */
export function patternProblem(p: unknown): string | null {
  if (typeof p !== 'object' || p === null) return 'a pattern is an object';
  const o = p as Record<string, unknown>;
  switch (o.kind) {
    case 'tail_shape':
      return typeof o.shape === 'string' && /^[A-Z]{2,11}$/.test(o.shape) ? null : 'tail_shape needs a shape of 2–11 capital letters';
    case 'tail_run':
      return Number.isInteger(o.length) && (o.length as number) >= 2 && (o.length as number) <= 10 && (o.step === 1 || o.step === -1)
        ? null
        : 'tail_run needs a length of 2–10 and a step of 1 or -1';
    case 'suffix':
      return Array.isArray(o.values) && o.values.length > 0 && o.values.every((v) => typeof v === 'string' && /^[0-9]{1,11}$/.test(v))
        ? null
        : 'suffix needs a list of digit strings';
    case 'regex':
      if (typeof o.pattern !== 'string' || o.pattern.length > 200) return 'regex needs a pattern of at most 200 characters';
      try {
        new RegExp(o.pattern);
        return null;
      } catch {
        return 'regex pattern does not compile';
      }
    case 'any':
      return null;
    default:
      return `unknown pattern kind ${String(o.kind)}`;
  }
}

export function matchesPattern(number: string, p: LevelPattern): boolean {
  switch (p.kind) {
    case 'tail_shape': {
      const n = p.shape.length;
      if (number.length < n) return false;
      const tail = number.slice(-n);
      const digitOf = new Map<string, string>();
      const letterOf = new Map<string, string>();
      for (let i = 0; i < n; i++) {
        const letter = p.shape[i] as string;
        const digit = tail[i] as string;
        if ((digitOf.get(letter) ?? digit) !== digit || (letterOf.get(digit) ?? letter) !== letter) return false;
        digitOf.set(letter, digit);
        letterOf.set(digit, letter);
      }
      return true;
    }
    case 'tail_run': {
      if (number.length < p.length) return false;
      const tail = number.slice(-p.length);
      for (let i = 1; i < tail.length; i++) {
        if (Number(tail[i]) - Number(tail[i - 1]) !== p.step) return false;
      }
      return true;
    }
    case 'suffix':
      return p.values.some((v) => number.endsWith(v));
    case 'regex':
      return new RegExp(p.pattern).test(number);
    case 'any':
      return true;
  }
}

/** R-X-10: the level of a number is the first level, by priority, with a pattern that matches. */
export function deriveLevel<L extends Pick<NumberLevel, 'code' | 'priority' | 'patterns'>>(number: string, levels: readonly L[]): L | undefined {
  const ordered = [...levels].sort((a, b) => a.priority - b.priority);
  return ordered.find((l) => l.patterns.some((p) => matchesPattern(number, p)));
}

// ---------------------------------------------------------------------------------------------
// Lifecycles.

/** SPEC §10: free → reserved → in use → frozen → recycled (after cooling) → free. */
const NUMBER_TRANSITIONS: Record<NumberState, readonly NumberState[]> = {
  free: ['reserved', 'in_use'],
  reserved: ['free', 'in_use'],
  in_use: ['frozen'],
  frozen: ['recycled'],
  recycled: ['free'],
};

export function canTransition(from: NumberState, to: NumberState): boolean {
  return NUMBER_TRANSITIONS[from].includes(to);
}

/** SPEC §10: in stock → (picked by an agent → written) → activated → retired; picked cards may be returned. */
const SIM_TRANSITIONS: Record<SimState, readonly SimState[]> = {
  in_stock: ['reserved', 'picked', 'activated'],
  reserved: ['in_stock', 'activated'],
  picked: ['written', 'returned'],
  // R-X-11: a write whose network activation failed gives the card back for a retry
  written: ['activated', 'picked'],
  activated: ['retired'],
  returned: ['in_stock'],
  retired: [],
};

export function canSimTransition(from: SimState, to: SimState): boolean {
  return SIM_TRANSITIONS[from].includes(to);
}

// ---------------------------------------------------------------------------------------------
// R-X-10 reservation expiry and cooling: durations are data (number_policy).

export interface NumberPolicy {
  holdHours: Record<ReservationKind, number>;
  coolingDays: number;
  recycledHoldHours: number;
}

const HOUR_MS = 3600_000;

export function reservationExpiry(policy: NumberPolicy, kind: ReservationKind, now: Date): Date {
  return new Date(now.getTime() + policy.holdHours[kind] * HOUR_MS);
}

export function coolingUntil(policy: NumberPolicy, now: Date): Date {
  return new Date(now.getTime() + policy.coolingDays * 24 * HOUR_MS);
}

/** Recycled numbers changed to `recycled` at or before this instant go back on sale. */
export function recycledReleaseCutoff(policy: NumberPolicy, now: Date): Date {
  return new Date(now.getTime() - policy.recycledHoldHours * HOUR_MS);
}

// ---------------------------------------------------------------------------------------------
// Can this order take this number / this SIM?

/** Who claims a number: a reservation held for any of these is theirs. */
export interface Claim {
  orderId?: number | undefined;
  customerId?: number | undefined;
  operatorId?: number | null | undefined;
}

export interface NumberFacts {
  serviceNumber: string;
  state: NumberState;
  reservationKind: ReservationKind | null;
  reservedOrderId: number | null;
  reservedCustomerId: number | null;
  reservedOperatorId: number | null;
  reservedUntil: Date | null;
}

/**
 * A reservation belongs to the order it was made for, else to the customer it was made for, else
 * (a bare hold by an operator) to that operator; an expired one belongs to nobody.
 */
export function reservationIsFor(n: NumberFacts, claim: Claim, now: Date): boolean {
  if (n.state !== 'reserved') return false;
  if (n.reservedUntil !== null && n.reservedUntil <= now) return true;
  if (n.reservedOrderId !== null && n.reservedOrderId === claim.orderId) return true;
  if (n.reservedCustomerId !== null && n.reservedCustomerId === claim.customerId) return true;
  return n.reservedOrderId === null && n.reservedCustomerId === null && n.reservedOperatorId !== null && n.reservedOperatorId === claim.operatorId;
}

export interface TakeContext extends Claim {
  channel: Channel;
  /** Who approved a 靓号 that needs approval (R-X-10). */
  approvedBy?: string | undefined;
  /** The campaign the number is sold with, for levels that require one. */
  campaignCode?: string | undefined;
}

const F = {
  notFound: (n: string) =>
    failure(
      'NUMBER_NOT_FOUND',
      { zh: `号码不在号码资源中：${n}`, en: `The number is not in the number pool: ${n}` },
      { zh: '请核对号码，或从可选号码中选择', en: 'Check the number, or choose one from the free numbers' },
    ),
  inUse: (n: string) =>
    failure('NUMBER_IN_USE', { zh: `号码已被使用：${n}`, en: `The number is in use: ${n}` }, { zh: '请另选号码', en: 'Choose another number' }),
  reserved: (n: string, until: Date | null) =>
    failure(
      'NUMBER_RESERVED',
      { zh: `号码已被他人预占：${n}`, en: `The number is reserved by someone else: ${n}` },
      { zh: '请另选号码，或待预占到期后再选', en: 'Choose another number, or wait until the reservation expires' },
      { reservedUntil: until?.toISOString() ?? null },
    ),
  frozen: (n: string) =>
    failure(
      'NUMBER_FROZEN',
      { zh: `号码处于冷冻期：${n}`, en: `The number is frozen (cooling after cancellation): ${n}` },
      { zh: '冷冻期满回收后方可再次使用，请另选号码', en: 'It can be used again after cooling and recycling; choose another number' },
    ),
  recycled: (n: string) =>
    failure(
      'NUMBER_RECYCLED',
      { zh: `号码已回收，尚未重新放号：${n}`, en: `The number is recycled and not yet back on sale: ${n}` },
      { zh: '请另选号码', en: 'Choose another number' },
    ),
  needsApproval: (n: string, level: NumberLevel) =>
    failure(
      'NUMBER_NEEDS_APPROVAL',
      { zh: `${level.nameZh}号码须经审批：${n}`, en: `A ${level.nameEn} number needs approval: ${n}` },
      { zh: '请先取得审批，并填写审批人', en: 'Get the approval first and give the approver' },
      { level: level.code },
    ),
  needsCampaign: (n: string, level: NumberLevel) =>
    failure(
      'NUMBER_NEEDS_CAMPAIGN',
      { zh: `${level.nameZh}号码须绑定营销活动：${n}`, en: `A ${level.nameEn} number must be sold with a campaign: ${n}` },
      { zh: '请选择该号码适用的营销活动', en: 'Choose a campaign for the number' },
      { level: level.code },
    ),
  agentForbidden: (n: string, level: NumberLevel) =>
    failure(
      'NUMBER_LEVEL_AGENT_FORBIDDEN',
      { zh: `社会渠道不能销售${level.nameZh}号码：${n}`, en: `Agent channels cannot sell ${level.nameEn} numbers: ${n}` },
      { zh: '请到自有营业厅办理，或另选普通号码', en: 'Sell it in an own business hall, or choose an ordinary number' },
      { level: level.code },
    ),
};

/**
 * R-X-10: why this order cannot take the number; empty when it can. A number in the wrong state
 * fails on that alone; a takeable number then meets its level's rules (approval, campaign, channel).
 */
export function numberFailures(n: NumberFacts | undefined, level: NumberLevel | undefined, ctx: TakeContext, now: Date, serviceNumber = n?.serviceNumber ?? ''): Failure[] {
  if (!n) return [F.notFound(serviceNumber)];
  switch (n.state) {
    case 'in_use':
      return [F.inUse(n.serviceNumber)];
    case 'frozen':
      return [F.frozen(n.serviceNumber)];
    case 'recycled':
      return [F.recycled(n.serviceNumber)];
    case 'reserved':
      if (!reservationIsFor(n, ctx, now)) return [F.reserved(n.serviceNumber, n.reservedUntil)];
      break;
    case 'free':
      break;
  }
  const out: Failure[] = [];
  if (level) {
    if (ctx.channel === 'agent' && !level.agentAllowed) out.push(F.agentForbidden(n.serviceNumber, level));
    if (level.requiresApproval && !ctx.approvedBy?.trim()) out.push(F.needsApproval(n.serviceNumber, level));
    if (level.requiresCampaign && !ctx.campaignCode?.trim()) out.push(F.needsCampaign(n.serviceNumber, level));
  }
  return out;
}

/**
 * R-X-10: why the number cannot be reserved now. It must be free, or held by a reservation that has
 * expired (a live one is nobody's to renew, not even its holder's); agent channels cannot hold 靓号.
 */
export function reservationFailures(n: NumberFacts | undefined, level: NumberLevel | undefined, channel: Channel, now: Date, serviceNumber = n?.serviceNumber ?? ''): Failure[] {
  const anonymous = n && { ...n, reservedOrderId: null, reservedCustomerId: null, reservedOperatorId: null };
  const state = numberFailures(anonymous, undefined, { channel }, now, serviceNumber);
  if (state.length > 0 || !n || !level) return state;
  return channel === 'agent' && !level.agentAllowed ? [F.agentForbidden(n.serviceNumber, level)] : [];
}

export interface SimFacts {
  iccid: string;
  cardType: SimCardType;
  state: SimState;
  reservedOrderId: number | null;
  serviceNumber: string | null;
  /** R-RES-2/4: the social channel that picked a blank card */
  pickedByDepartmentId?: string | null | undefined;
}

export interface SimContext {
  orderId?: number | undefined;
  /** The number the card is to carry. */
  serviceNumber?: string | undefined;
  /** The department taking the order (R-RES-4: a picked blank card serves only the channel that picked it). */
  departmentId?: string | undefined;
}

/**
 * Why this order cannot activate the card; empty when it can. A finished card must be in stock (or
 * reserved for this order) and, when it comes paired with a number, carry this one; a blank card
 * must have been written first (with this number, or with none after a reversed order, R-X-11) and,
 * when a channel picked it, be used by that channel (R-RES-4).
 */
export function simFailures(s: SimFacts | undefined, ctx: SimContext, iccid = s?.iccid ?? ''): Failure[] {
  if (!s) {
    return [
      failure(
        'SIM_NOT_FOUND',
        { zh: `卡不在库存中：${iccid}`, en: `No such SIM card: ${iccid}` },
        { zh: '请核对卡号（ICCID），或重新读卡', en: 'Check the ICCID, or read the card again' },
      ),
    ];
  }
  const blank = s.cardType !== 'finished';
  // R-RES-4: a blank card picked by a social channel opens accounts only for that channel
  if (blank && s.pickedByDepartmentId && ctx.departmentId !== undefined && ctx.departmentId !== s.pickedByDepartmentId) {
    return [
      failure(
        'CARD_DEPARTMENT_MISMATCH',
        { zh: `该白卡由其他渠道（${s.pickedByDepartmentId}）领用，本部门不能使用：${s.iccid}`, en: `The blank card was picked by another channel (${s.pickedByDepartmentId}): ${s.iccid}` },
        { zh: '请使用本渠道领用的白卡', en: 'Use a blank card picked by this channel' },
        { pickedByDepartmentId: s.pickedByDepartmentId },
      ),
    ];
  }
  const available = blank ? s.state === 'written' : s.state === 'in_stock' || (s.state === 'reserved' && s.reservedOrderId !== null && s.reservedOrderId === ctx.orderId);
  if (!available) {
    if (blank && (s.state === 'in_stock' || s.state === 'picked' || s.state === 'reserved')) {
      return [
        failure(
          'SIM_NOT_WRITTEN',
          { zh: `白卡尚未写卡：${s.iccid}`, en: `The blank card has not been written: ${s.iccid}` },
          { zh: '请先写卡，或改用成卡', en: 'Write the card first, or use a finished card' },
        ),
      ];
    }
    return [
      failure(
        'SIM_NOT_AVAILABLE',
        { zh: `卡不可用（状态：${s.state}）：${s.iccid}`, en: `The card is not available (state ${s.state}): ${s.iccid}` },
        { zh: '请换一张在库的卡', en: 'Use another card that is in stock' },
        { state: s.state },
      ),
    ];
  }
  if (s.serviceNumber !== null && ctx.serviceNumber !== undefined && s.serviceNumber !== ctx.serviceNumber) {
    return [
      failure(
        'SIM_NUMBER_MISMATCH',
        { zh: `该卡已写入其他号码（${s.serviceNumber}），不能用于 ${ctx.serviceNumber}`, en: `The card carries another number (${s.serviceNumber}), not ${ctx.serviceNumber}` },
        { zh: '请换一张卡，或选用该卡对应的号码', en: 'Use another card, or the number the card carries' },
        { cardNumber: s.serviceNumber },
      ),
    ];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Check digits: ICCID (ITU-T E.118) and IMEI both end in a Luhn digit.

export function luhnCheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function hasValidLuhn(digits: string): boolean {
  return /^[0-9]{2,}$/.test(digits) && luhnCheckDigit(digits.slice(0, -1)) === Number(digits.slice(-1));
}
