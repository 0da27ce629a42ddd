// Rating, the bill run and credit control (SPEC §5, §6): bill runs with their progress and review
// (R-BIL-7, R-BIL-9), an account's bills with their write-off lines, a subscriber's itemised usage
// (详单) and the credit-control queue (R-CC-1..4, R-X-2). One public API call each (STYLE: pages →
// services). The views are open objects in the OpenAPI document (examples only), so their shapes are
// written down here from the API contract (src/domains/billing, usage, credit routes).
import { call, client } from './api.ts';

export type Text = { zh: string; en: string };

// ---- bill runs (出帐) ----

export type RunState = 'running' | 'prebilled' | 'publishing' | 'published' | 'failed';

export interface ChunkError {
  chunkNo: number;
  state: string;
  publishState: string;
  attempts: number;
  error: string;
  worker: string | null;
}

export interface BillRun {
  runId: number;
  cycle: string;
  state: RunState;
  /** bill: pre-billing; publish: publishing (the progress counts the phase's chunks) */
  phase: 'bill' | 'publish';
  startedAt: string;
  prebilledAt: string | null;
  publishedAt: string | null;
  progress: { accountsDone: number; accountsTotal: number; chunksDone: number; chunksTotal: number; subscribers: number; ratePerSecond: number; etaSeconds: number | null };
  totalFen: number;
  lines: number;
  totalsByItem: { item: string; name: Text; amountFen: number; lines: number }[];
  errors: ChunkError[];
}

export interface Anomaly {
  subscriberId: number;
  accountId: number;
  serviceNumber: string;
  totalFen: number;
  averageFen: number;
}

export interface ReviewItem {
  item: string;
  name: Text;
  amountFen: number;
  previousFen: number;
  changeFen: number;
  /** ‰ against the previous cycle; null when the item is new */
  changePermille: number | null;
}

export interface Review {
  runId: number;
  cycle: string;
  previousCycle: string;
  state: RunState;
  totalFen: number;
  previousTotalFen: number;
  items: ReviewItem[];
  anomalies: { factor: number; minFen: number; items: Anomaly[] };
}

// ---- bills with write-off lines (帐单) ----

export interface BillWriteOff {
  writeOffId: number;
  bookId: number;
  amountFen: number;
  at: string;
  trigger: string;
  triggerId: number;
}

export interface BillLine {
  lineId: number;
  subscriberId: number;
  item: string;
  amountFen: number;
  paidFen: number;
  source: string;
  writeOffs: BillWriteOff[];
}

export interface Bill {
  billId: number;
  accountId: number;
  cycle: string;
  status: 'prebill' | 'published';
  runId: number | null;
  dueAt: string | null;
  publishedAt: string | null;
  createdAt: string;
  totalFen: number;
  paidFen: number;
  lines: BillLine[];
}

// ---- usage (详单) ----

export interface Cdr {
  recordId: string;
  startedAt: string;
  usage: 'voice' | 'sms' | 'data';
  scope: 'local' | 'long_distance' | 'roaming';
  /** masked by the server (R-CUS-2) */
  otherParty: string;
  /** seconds (voice), messages (sms), bytes (data) */
  quantity: number;
  area: string | null;
  itemCode: string | null;
  /** the tariff's unit (started minutes, messages, KB or MB), how many, and how many the allowance covered */
  unit: string | null;
  units: number | null;
  freeUnits: number | null;
  chargeFen: number | null;
  freeReason: string | null;
  offerCode: string | null;
  rated: boolean;
}

export interface UsageItemTotal {
  itemCode: string;
  records: number;
  units: number;
  amountFen: number;
  billedFen: number;
}

export interface Usage {
  subscriberId: number;
  serviceNumber: string;
  cycle: string;
  total: number;
  limit: number;
  offset: number;
  totals: UsageItemTotal[];
  totalFen: number;
  records: Cdr[];
}

// ---- credit control (信控) ----

export type CreditStateCode = 'ok' | 'reminded' | 'exempt' | 'reopened' | 'stopped_one_way' | 'stopped_two_way' | 'linked_pending' | 'linked_stopped';

export interface CreditView {
  state: CreditStateCode;
  since: string;
  rule: string;
  balanceFen: number | null;
  arrearsFen: number | null;
  stoppedAt: string | null;
  exemptUntil: string | null;
  reopenUntil: string | null;
  linkedTo: number | null;
  linkedStopAt: string | null;
}

/** A subscriber in the credit-control queue: where it stands, since when and why. */
export interface CreditEntry extends CreditView {
  subscriberId: number;
  serviceNumber: string;
  network: string;
  status: string;
  stopReasons: string[];
  accountId: number;
  remindedAt: string | null;
}

export interface CreditQueue {
  total: number;
  limit: number;
  offset: number;
  items: CreditEntry[];
}

/** R-CC-1: an account's real-time balance with its parts and each subscriber's judgement. */
export interface AccountCredit {
  accountId: number;
  billingType: string;
  asOf: string;
  usableBooksFen: number;
  unpaidBillsFen: number;
  notYetDueFen: number;
  unbilledUsageFen: number;
  creditLimitFen: number;
  realtimeBalanceFen: number;
  reminderThresholdFen: number;
  subscribers: {
    subscriberId: number;
    serviceNumber: string;
    network: string;
    stopReasons: string[];
    ownArrearsFen: number;
    judgement: string;
    rule: string;
    creditState: CreditView | null;
  }[];
}

const as = <T>(p: Promise<unknown>) => p as Promise<T>;
const items = <T>(r: unknown): T[] => (r as { items?: T[] }).items ?? [];

export const billRuns = async (): Promise<BillRun[]> => items<BillRun>(await call(client.GET('/api/v1/bill-runs')));
export const billRun = (id: number) => as<BillRun>(call(client.GET('/api/v1/bill-runs/{id}', { params: { path: { id } } })));
export const startBillRun = (cycle: string) => as<BillRun>(call(client.POST('/api/v1/bill-runs', { body: { cycle } })));
export const review = (id: number) => as<Review>(call(client.GET('/api/v1/bill-runs/{id}/review', { params: { path: { id } } })));
export const publish = (id: number) => as<BillRun>(call(client.POST('/api/v1/bill-runs/{id}/publish', { params: { path: { id } } })));
export const rerunAccount = (id: number, accountId: number) =>
  as<{ runId: number; accountId: number; subscribers: number; beforeFen: number; afterFen: number; lines: number }>(call(client.POST('/api/v1/bill-runs/{id}/accounts/{accountId}/rerun', { params: { path: { id, accountId } } })));

export const accountBills = async (accountId: number): Promise<Bill[]> => items<Bill>(await call(client.GET('/api/v1/accounts/{id}/bills', { params: { path: { id: accountId } } })));

export const usage = (subscriberId: number, cycle: string, page: { limit?: number; offset?: number } = {}) =>
  as<Usage>(call(client.GET('/api/v1/subscribers/{id}/usage', { params: { path: { id: subscriberId }, query: { cycle, ...page } } })));

export const creditQueue = (query: { state?: CreditStateCode | 'stopped'; limit?: number; offset?: number }) => as<CreditQueue>(call(client.GET('/api/v1/credit/queue', { params: { query } })));
export const accountCredit = (accountId: number) => as<AccountCredit>(call(client.GET('/api/v1/accounts/{id}/credit', { params: { path: { id: accountId } } })));
export const creditReopen = (subscriberId: number, body: { reason: string; hours: number }) =>
  as<{ subscriberId: number; state: string; reopenUntil: string }>(call(client.POST('/api/v1/subscribers/{id}/credit-reopen', { params: { path: { id: subscriberId } }, body })));

/** "2026-11" → "2026-10". */
export function previousCycle(cycle: string): string {
  const [y, m] = cycle.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}
