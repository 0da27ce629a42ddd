// What the general services (综合业务, SPEC §7.2, seed 004 §6.10) share: an order about one existing
// subscriber of the customer at the counter, its facts and base checks, fee lines from the fees
// table, and the network commands (R-INT-2) they send through the outbox.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../platform/checks.ts';
import { emit } from '../../platform/outbox.ts';
import type { AccountsTable, Lifecycle, StopReason } from '../../platform/schema.ts';
import {
  type CustomerFacts,
  customerMissing,
  Documents,
  type DocumentsInput,
  documentFailures,
  lifecycleFailures,
  loadCustomer,
  loadSubscriber,
  ownerMismatch,
  type SubscriberFacts,
  subscriberMissing,
} from './facts.ts';
import { isMobile } from './members.ts';
import type { ApplyContext, LoadContext, OrderEnv, QuoteLine } from './types.ts';

/** The fields every general-service order carries: whose subscriber, and the documents seen (R-ORD-7). */
export const subscriberFields = {
  /** the customer at the counter; their service password authorises sensitive orders */
  customerId: Type.Integer({ minimum: 1 }),
  subscriberId: Type.Integer({ minimum: 1 }),
  documents: Documents,
};

export interface SubscriberOrderIn {
  customerId: number;
  subscriberId: number;
  documents?: DocumentsInput;
}

type AccountRow = { [K in keyof AccountsTable]: AccountsTable[K] extends { __select__: infer S } ? S : AccountsTable[K] };
export type AccountFacts = Pick<AccountRow, 'account_id' | 'customer_id' | 'billing_type' | 'payment_method' | 'status'>;

export interface GeneralFacts {
  customer: CustomerFacts | null;
  subscriber: SubscriberFacts | null;
  /** the subscriber's default (paying) account */
  account: AccountFacts | null;
}

export async function loadGeneral(c: LoadContext, i: { customerId: number; subscriberId?: number | undefined }): Promise<GeneralFacts> {
  const [customer, subscriber] = await Promise.all([loadCustomer(c, i.customerId), loadSubscriber(c, i.subscriberId)]);
  const account = subscriber ? ((await c.services.accounts.accountRecord(subscriber.accountId, c.q)) ?? null) : null;
  return { customer, subscriber, account };
}

/**
 * The checks every general service starts with (R-ORD-1 collects them with the type's own): the
 * customer and subscriber exist and belong together, the lifecycle allows it, the documents (R-ORD-7;
 * seed 004 §6.10.3: only enquiries go without them).
 */
export function baseFailures(f: GeneralFacts, i: { customerId: number; subscriberId?: number | undefined; documents?: DocumentsInput | undefined }, opts: { documents: boolean; allowPreCancelled?: boolean; lifecycle?: boolean } = { documents: true }): CheckFailure[] {
  const out = [...customerMissing(f.customer, i.customerId)];
  if (i.subscriberId !== undefined) {
    out.push(...subscriberMissing(f.subscriber, i.subscriberId), ...ownerMismatch(f.subscriber, i.customerId));
    if (opts.lifecycle !== false) out.push(...lifecycleFailures(f.subscriber, opts.allowPreCancelled ?? false));
  }
  if (opts.documents) out.push(...documentFailures(f.customer, i.documents));
  return out;
}

export function mobileOnly(s: SubscriberFacts | null, what: Text): CheckFailure[] {
  if (!s || isMobile(s.network)) return [];
  return [
    failure('NOT_A_MOBILE', { zh: `${what.zh}仅适用于手机用户`, en: `${what.en} is for mobile subscribers only` }, { zh: '请选择手机号码办理', en: 'Choose a mobile subscriber' }, {
      network: s.network,
    }),
  ];
}

/** 对公帐号 (seed 004 §6.5.4, §6.10.5): an organisation paying by bank collection from its corporate account. */
export function isCorporateAccount(f: GeneralFacts): boolean {
  return f.customer?.kind === 'organisation' && f.account?.payment_method === 'bank_collection';
}

/** A one-off fee of the fees table as a quote line; none when the carrier has not configured it. */
export function feeLine(env: OrderEnv, code: string, memberRole = 'main'): QuoteLine[] {
  const fee = env.fees.get(code);
  if (!fee) return [];
  return [{ feeCode: code, kind: 'fee', name: fee.name, itemCode: fee.itemCode, memberRole, amountFen: fee.amountFen, waivable: fee.waivable }];
}

/** Seed 004 §6.10.5: international services need a deposit (demo 500) into the account, except a corporate account. */
export function internationalDeposit(env: OrderEnv, name: Text, feeCode = 'INTL_ROAMING_DEPOSIT'): QuoteLine {
  return {
    feeCode,
    kind: 'prestore',
    name,
    itemCode: null,
    bookType: 'prepaid',
    memberRole: 'main',
    amountFen: env.params.get('intl_roaming_deposit_fen') ?? 50000,
    waivable: false,
  };
}

export function subscriberLine(s: SubscriberFacts | null): { label: Text; value: string }[] {
  return s ? [{ label: { zh: '号码', en: 'Number' }, value: s.serviceNumber }] : [];
}

// ---- network commands (R-INT-2) ----------------------------------------------------------------

export type NetworkState = 'open' | 'one_way' | 'two_way';

/**
 * What the network should do for a subscriber in this state (R-X-1): any reason other than a
 * one-way arrears stop, or a lifecycle other than normal, stops both directions.
 */
export function networkState(lifecycle: Lifecycle | string, reasons: readonly StopReason[]): NetworkState {
  if (lifecycle !== 'normal') return 'two_way';
  if (reasons.length === 0) return 'open';
  return reasons.every((r) => r === 'arrears_one_way') ? 'one_way' : 'two_way';
}

/** A provisioning command for the adapter of R-INT-2, stored in the order's transaction (R-INT-1). */
export async function provision(c: ApplyContext, s: SubscriberFacts, command: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const payload = { command, serviceNumber: s.serviceNumber, subscriberId: s.subscriberId, network: s.network, orderId: c.orderId, ...extra };
  await emit(c.tx, c.services.clock, { type: 'provisioning.command', aggregateType: 'subscriber', aggregateId: s.subscriberId, accountId: s.accountId, payload });
  return payload;
}

/** The command that moves the network from one state to the other, if any. */
export async function provisionState(c: ApplyContext, s: SubscriberFacts, from: NetworkState, to: NetworkState, reason: string): Promise<Record<string, unknown>[]> {
  if (from === to) return [];
  return [await provision(c, s, to === 'open' ? 'resume' : 'stop', to === 'open' ? { reason } : { mode: to, reason })];
}

export const STOP_REASON_NAMES: Record<StopReason, Text> = {
  arrears_one_way: { zh: '欠费单停', en: 'one-way arrears stop' },
  arrears_two_way: { zh: '欠费双停', en: 'two-way arrears stop' },
  high_usage: { zh: '高额停机', en: 'high-usage stop' },
  on_request: { zh: '报停', en: 'suspended on request' },
  lost: { zh: '挂失', en: 'reported lost' },
  bundle: { zh: '捆绑停机', en: 'bundle stop' },
  operator: { zh: '管理停机', en: 'operator stop' },
};
