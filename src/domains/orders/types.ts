// The shape of a business type (SPEC §7.2) on the generic order engine (§7.1): load → check → quote → apply.
import type { TSchema } from 'typebox';
import type { Actor } from '../../platform/audit.ts';
import type { CheckFailure, Text } from '../../platform/checks.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db, Q, Tx } from '../../platform/db.ts';
import type { Fen } from '../../platform/money.ts';
import type { Activation, NetworkProvisioning } from '../../platform/provisioning.ts';
import type { AccountService } from '../accounts/service.ts';
import type { MoneyService } from '../accounts/money.ts';
import type { BundleService } from '../bundles/service.ts';
import type { CatalogService, Fee } from '../catalog/service.ts';
import type { CustomerService } from '../customers/service.ts';
import type { NumberWithSim } from '../resources/repo.ts';
import type { ResourceService } from '../resources/service.ts';
import type { CustomerFacts } from './facts.ts';

/** A member's number and card read with the order (undefined: no such number), by memberResourceKey. */
export type MemberResources = ReadonlyMap<string, NumberWithSim | undefined>;

/** Services a business type may call; it never touches another domain's tables itself (STYLE habit 5). */
export interface OrderServices {
  db: Db;
  clock: Clock;
  customers: CustomerService;
  accounts: AccountService;
  money: MoneyService;
  catalog: CatalogService;
  resources: ResourceService;
  /** bundles (SPEC §8): bind and unbind orders, and the R-BND-14 restrictions every order checks */
  bundles: BundleService;
  /** R-INT-2 provisioning adapter; without one, activations are not sent */
  network?: NetworkProvisioning | undefined;
}

/** What every business type gets besides its own facts. */
export interface OrderEnv {
  now: Date;
  actor: Actor;
  orderId: number;
  departmentId: string;
  /** the department's capabilities, e.g. 'pre_cancellation' (R-ORD-8) */
  departmentCapabilities: string[];
  params: Map<string, number>;
  fees: Map<string, Fee>;
  /** the order's customer, read with the order in the step's first statement (loadCustomer uses it) */
  orderCustomer?: CustomerFacts | null | undefined;
}

export interface LoadContext extends OrderEnv {
  q: Q;
  services: OrderServices;
  /**
   * The numbers and cards of the input's members as the step's first statement read them with the order
   * (memberResources in members.ts); a member not in it is read by its loader.
   */
  prefetched?: MemberResources | undefined;
}

export interface ApplyContext extends OrderEnv {
  tx: Tx;
  services: OrderServices;
  /**
   * Network activations the order needs (a new mobile's IMSI with its number, R-RES-4): collected
   * during apply, sent by the engine through the provisioning adapter just before it commits (R-X-11).
   */
  activations?: Activation[] | undefined;
}

/** A fee line of the quote before waivers (R-ORD-2). */
export interface QuoteLine {
  feeCode: string;
  kind: 'fee' | 'prestore';
  name: Text;
  /** fees: the bill item they are booked under; prestores: null */
  itemCode: string | null;
  /** prestores: the book type the money goes into, and what it may pay (R-ACC-12) */
  bookType?: string | undefined;
  restrictedItems?: string[] | undefined;
  /** which of the order's subscribers the line belongs to ('main', 'mobile', 'broadband'…) */
  memberRole?: string | undefined;
  amountFen: Fen;
  /** false: the line cannot be waived (a prestore is the customer's own money) */
  waivable: boolean;
}

/** The fee lines as stored on the order, with waivers applied. */
export interface FeeLine extends QuoteLine {
  lineNo: number;
  waivedFen: Fen;
  waivedBy: number | null;
  waiverReason: string | null;
}

export interface ApplyResult {
  /** the account that receives the prestores and whose events the order's money emits */
  accountId: number | null;
  customerId?: number | undefined;
  /** member role → subscriber, so prestores for a member land as that member's private book */
  subscribers: Record<string, number>;
  /** subscriber → offer changes etc., shown on the order and returned to the client */
  result: Record<string, unknown>;
  /** installation work orders: the order completes when they are done */
  workOrders?: { kind: 'installation' | 'removal' | 'reinstall'; subscriberId: number; address: string | null; measurementRoom?: string | null | undefined }[];
  /**
   * R-ORD-5 预约单: the change takes effect later (a plan change for next cycle), so the order keeps
   * holding `subjects` (default: all its subjects) as a 'reservation' until then, also after it is completed.
   */
  reservation?: { until: Date; subjects?: string[] | undefined } | undefined;
  /** extra money movements the type made itself (cancellation settlement) are already in `result` */
  /**
   * Prestore lines the type paid into the account itself inside apply() (R-ORD-9: arrears are paid
   * before the account is settled and closed; fee recovery pays a closed account); not taken again.
   */
  paidLines?: { lineNo: number; paymentId: number }[] | undefined;
  /** the order opened `accountId` itself in this transaction: nothing it pays is stopped, so no credit-control probe after the prestores */
  accountOpened?: boolean | undefined;
}

/** `QF`: the facts quote() reads; load()'s facts F must include them (submit quotes again from F). */
export interface BusinessType<I = Record<string, unknown>, F = unknown, QF = F> {
  code: string;
  name: Text;
  /** the TypeBox schema of the order's input (without businessType) */
  input: TSchema;
  /** R-ORD-5: the customer's service password authorises the order (cancel, transfer, change number…) */
  sensitive: boolean;
  /** when the need for the password depends on the input (RESUME after loss, R-X-1); adds to `sensitive` */
  sensitiveFor?(input: I): boolean;
  /** the ids the order row records; the customer whose password authorises it */
  refs(input: I): { customerId?: number | undefined; subscriberId?: number | undefined; accountId?: number | undefined };
  load(c: LoadContext, input: I): Promise<F>;
  /** Only the facts quote() reads, when they are fewer than load()'s: the quote step (预算) loads these. */
  loadQuote?(c: LoadContext, input: I): Promise<QF>;
  /** R-ORD-1: every failing rule at once; pure */
  check(f: F, input: I, env: OrderEnv): CheckFailure[];
  /** pure */
  quote(f: QF, input: I, env: OrderEnv): QuoteLine[];
  /** the receipt's "what changes" lines; pure */
  describe(f: F, input: I, env: OrderEnv): { label: Text; value: string }[];
  /** warnings the operator must tell the customer (R-E9-4); pure */
  notices?(f: F, input: I, env: OrderEnv): Text[];
  /** R-ORD-5 subjects the order holds while in transit, e.g. 'subscriber:12', 'number:13902201234' */
  subjects(f: F, input: I): string[];
  /** R-ORD-6: the order waits for the customer's SMS reply before it is applied */
  needsConfirmation?(f: F, input: I): { serviceNumber: string; text: Text } | null;
  apply(c: ApplyContext, f: F, input: I, fees: FeeLine[]): Promise<ApplyResult>;
  /**
   * R-X-11: after the submission rolled back because the network refused an activation, gives back
   * what the order held before it was submitted (number holds, a written card's number), in the
   * transaction that cancels the order; returns what it released, for the order's result.
   */
  reverse?(c: ApplyContext, input: I, reason: string): Promise<Record<string, unknown>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyBusinessType = BusinessType<any, any, any>;

/** Fault injection for the all-or-nothing test of R-ORD-4: throws at a named step inside the submission. */
export interface FaultInjector {
  at(step: 'after-apply' | 'after-money' | 'before-commit', orderId: number): void | Promise<void>;
}
