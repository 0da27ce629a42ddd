// Orders (受理), work orders and what the order forms pick from (catalog, number pool, SIM stock):
// one public API call each (STYLE: pages → services). The order views are open objects in the
// OpenAPI document (examples only), so their shapes are written down here from the server's view
// (src/domains/orders/service.ts).
import { call, client, toApiError } from './api.ts';
import { currentLang } from '../locales/lang.ts';
import { getSession } from './session-store.ts';

export type Text = { zh: string; en: string };

export interface BusinessTypeInfo {
  code: string;
  name: Text;
  /** the customer's service password authorises it (R-ORD-5) */
  sensitive: boolean;
}

export interface CheckFailure {
  code: string;
  message: Text;
  fix: Text;
  details?: unknown;
}

export interface FeeLine {
  lineNo: number;
  feeCode: string;
  kind: 'fee' | 'prestore';
  name: Text;
  itemCode: string | null;
  bookType?: string;
  memberRole?: string;
  amountFen: number;
  waivable: boolean;
  waivedFen: number;
  waivedBy: number | null;
  waiverReason: string | null;
}

export interface WorkOrder {
  workOrderId: number;
  orderId: number;
  kind: string;
  subscriberId: number | null;
  address: string | null;
  /** R-BND-18: the measurement room (测量室) a new broadband installation is dispatched to */
  measurementRoom?: string | null;
  status: 'open' | 'completed' | 'cancelled';
  note: string | null;
  createdAt: string;
  completedAt: string | null;
}

export type OrderStatus = 'draft' | 'checked' | 'quoted' | 'awaiting_confirmation' | 'submitted' | 'completed' | 'cancelled';

export interface OrderConfirmation {
  status: string;
  serviceNumber?: string;
  text?: Text;
  sentAt?: string;
  expiresAt?: string;
  repliedAt?: string;
  reason?: string | null;
}

export interface OrderResult {
  accountId?: number | null;
  packageId?: number | null;
  subscribers?: Record<string, number>;
  money?: { feesCollectedFen: number; prestoreFen: number; payments: { lineNo: number; paymentId: number; amountFen: number; bookType: string }[] };
  workOrders?: WorkOrder[];
  [k: string]: unknown;
}

export interface OrderView {
  orderId: number;
  businessType: string;
  status: OrderStatus;
  customerId: number | null;
  accountId: number | null;
  subscriberId: number | null;
  operatorId: number;
  departmentId: string;
  authorised: boolean;
  cancelReason: string | null;
  createdAt: string;
  input: Record<string, unknown>;
  checks: { passed: boolean; failures: CheckFailure[]; checkedAt: string } | null;
  changes: { label: Text; value: string }[];
  notices: Text[];
  fees: FeeLine[];
  totalFen: number;
  waivedFen: number;
  payableFen: number;
  confirmation: OrderConfirmation | null;
  result: OrderResult | null;
  workOrders: WorkOrder[];
}

export interface Waiver {
  lineNo: number;
  amountFen?: number;
  reason: string;
}

export interface OfferInfo {
  offerCode: string;
  kind: 'plan' | 'package' | 'pack' | 'feature' | 'bundle';
  name: Text;
  network: string | null;
  status: 'online' | 'expired';
  monthlyFeeFen: number;
  members: { role: string; network: string }[] | null;
  customerSegment: string | null;
  requiresSmsConfirmation: boolean;
  attributes: Record<string, unknown>;
}

export interface NumberLevel {
  code: string;
  nameZh: string;
  nameEn: string;
  priceFen: number;
  requiresApproval: boolean;
}

export interface PoolNumber {
  serviceNumber: string;
  state: string;
  levelCode: string;
  level: NumberLevel | null;
  departmentId: string;
}

export interface SimCard {
  iccid: string;
  imsi: string | null;
  cardType: string;
  state: string;
  warehouseCode: string | null;
  serviceNumber: string | null;
}

type Body = { businessType: string } & Record<string, unknown>;
const asOrder = (p: Promise<unknown>) => p as Promise<OrderView>;

export async function businessTypes(): Promise<BusinessTypeInfo[]> {
  const r = (await call(client.GET('/api/v1/business-types'))) as unknown as { items?: BusinessTypeInfo[] };
  return r.items ?? [];
}

export const createOrder = (body: Body) => asOrder(call(client.POST('/api/v1/orders', { body: body as never })));

export const updateOrder = (id: number, body: Body) => asOrder(call(client.PATCH('/api/v1/orders/{id}', { params: { path: { id } }, body: body as never })));

export const getOrder = (id: number) => asOrder(call(client.GET('/api/v1/orders/{id}', { params: { path: { id } } })));

export const checkOrder = (id: number, servicePassword?: string) =>
  asOrder(call(client.POST('/api/v1/orders/{id}/check', { params: { path: { id } }, body: servicePassword ? { servicePassword } : {} })));

export const quoteOrder = (id: number, waivers: Waiver[] = []) =>
  asOrder(call(client.POST('/api/v1/orders/{id}/quote', { params: { path: { id } }, body: waivers.length ? { waivers } : {} })));

export const submitOrder = (id: number) => asOrder(call(client.POST('/api/v1/orders/{id}/submit', { params: { path: { id } }, body: {} })));

/** The customer's reply to the SMS double confirmation, entered at the desk (R-ORD-6). */
export const confirmOrder = (id: number, accepted: boolean, reason?: string) =>
  asOrder(call(client.POST('/api/v1/orders/{id}/confirmation', { params: { path: { id } }, body: { accepted, ...(reason ? { reason } : {}) } })));

export const cancelOrder = (id: number, reason: string) => asOrder(call(client.POST('/api/v1/orders/{id}/cancel', { params: { path: { id } }, body: { reason } })));

/**
 * The receipt (免填单) needs the operator's token, so it is fetched here rather than linked: the
 * HTML as text (shown in an iframe), the PDF as a Blob (downloaded). In the operator's language.
 */
async function receipt(id: number, format: 'html' | 'pdf'): Promise<Response> {
  const s = getSession();
  const lang = currentLang() === 'en-US' ? 'en' : 'zh';
  let res: Response;
  try {
    res = await fetch(`/api/v1/orders/${id}/receipt?format=${format}&lang=${lang}`, { headers: { ...(s ? { authorization: `Bearer ${s.token}` } : {}), 'accept-language': currentLang() } });
  } catch {
    throw toApiError(0, undefined);
  }
  if (!res.ok) throw toApiError(res.status, await res.json().catch(() => undefined));
  return res;
}

export const receiptHtml = async (id: number): Promise<string> => (await receipt(id, 'html')).text();
export const receiptPdf = async (id: number): Promise<Blob> => (await receipt(id, 'pdf')).blob();

export async function workOrders(status: 'open' | 'completed' = 'open'): Promise<WorkOrder[]> {
  const r = (await call(client.GET('/api/v1/work-orders', { params: { query: { status, limit: 200 } } }))) as unknown as { items?: WorkOrder[] };
  return r.items ?? [];
}

export const completeWorkOrder = (id: number, note?: string) =>
  call(client.POST('/api/v1/work-orders/{id}/complete', { params: { path: { id } }, body: note ? { note } : {} })) as Promise<unknown> as Promise<WorkOrder>;

export async function offers(query: { kind?: OfferInfo['kind']; network?: 'gsm2g' | 'wcdma3g' | 'broadband' | 'fixed' } = {}): Promise<OfferInfo[]> {
  const r = (await call(client.GET('/api/v1/catalog/offers', { params: { query } }))) as unknown as { items?: OfferInfo[] };
  return r.items ?? [];
}

/** Free numbers of the pool: ordinary ones (no price, no approval) first, then by number (R-X-10). */
export async function freeNumbers(opts: { suffix?: string; limit?: number } = {}): Promise<PoolNumber[]> {
  const query = { state: 'free' as const, numberClass: 'mobile' as const, limit: opts.limit ?? 200, ...(opts.suffix ? { suffix: opts.suffix } : {}) };
  const r = (await call(client.GET('/api/v1/numbers', { params: { query } }))) as unknown as { items?: PoolNumber[] };
  const plain = (n: PoolNumber) => (n.level && (n.level.priceFen > 0 || n.level.requiresApproval) ? 1 : 0);
  return (r.items ?? []).slice().sort((a, b) => plain(a) - plain(b) || a.serviceNumber.localeCompare(b.serviceNumber));
}

/** Finished SIM cards in stock (成卡, 在库). */
export async function stockSims(): Promise<SimCard[]> {
  const r = (await call(client.GET('/api/v1/sim-cards', { params: { query: { state: 'in_stock', cardType: 'finished', limit: 200 } } }))) as unknown as { items?: SimCard[] };
  return r.items ?? [];
}
