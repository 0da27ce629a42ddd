// Stock (资源/渠道, SPEC §10): warehouses and their stock, transfers (调拨, R-RES-1), agent picks and
// returns (领卡/退卡, R-RES-2/3), card history, and on-site card writing (R-RES-5). One public API call
// each (STYLE: pages → services). The views are open objects in the OpenAPI document (examples
// only), so their shapes are written down here from the API contract (docs: stock-routes.ts).
import { call, client } from './api.ts';

export type Text = { zh: string; en: string };
export type CardType = 'blank_128k' | 'blank_128k_micro' | 'finished';
export const CARD_TYPES: readonly CardType[] = ['blank_128k_micro', 'blank_128k', 'finished'];

export interface WarehouseStock {
  cardType: CardType;
  inStock: number;
  locked: number;
  picked: number;
  minQuantity: number | null;
  maxQuantity: number | null;
  alert: 'below_min' | 'above_max' | null;
}

export interface Warehouse {
  warehouseCode: string;
  name: string;
  level: 'company' | 'branch' | 'writing' | 'hall';
  category: 'own_outlet' | 'social_channel';
  departmentId: string;
  departmentName: string | null;
  parentCode: string | null;
  stock: WarehouseStock[];
}

export interface Channel {
  departmentId: string;
  name: string;
  parentId: string | null;
}

export interface Card {
  iccid: string;
  cardType: CardType;
  state: string;
  warehouseCode: string | null;
  departmentId: string | null;
  pickedByDepartmentId: string | null;
  pickedAt: string | null;
  serviceNumber: string | null;
  imsi: string | null;
  hasCardData: boolean;
  stockOrderId: number | null;
  stateChangedAt: string | null;
}

export interface CardHistoryRow {
  eventId: number;
  at: string;
  event: string;
  fromState: string | null;
  toState: string;
  warehouseCode: string | null;
  holderDepartmentId: string | null;
  stockOrderId: number | null;
  orderId: number | null;
  operatorId: number | null;
  operatorName: string | null;
  detail: Record<string, unknown> | null;
}

export type DocKind = 'allocate' | 'transfer' | 'pick' | 'return';
export type DocState = 'pending' | 'out_approved' | 'completed' | 'cancelled' | 'rejected';

export interface StockDocument {
  stockOrderId: number;
  kind: DocKind;
  state: DocState;
  sourceWarehouseCode: string;
  targetWarehouseCode: string | null;
  channelDepartmentId: string | null;
  channelName: string | null;
  cardType: CardType | null;
  selection: 'quantity' | 'iccid_list' | 'range';
  quantity: number;
  note: string | null;
  createdBy: { operatorId: number; name: string };
  createdAt: string;
  outApprovedAt: string | null;
  inApprovedAt: string | null;
  closedAt: string | null;
  closeReason: string | null;
  iccids: string[];
  confirmMessage?: Text;
}

export interface Range {
  from: string;
  to: string;
}

/** What a transfer, pick or return takes: a quantity, a list of ICCIDs, or a range. */
export type Selection = { quantity: number } | { iccids: string[] } | { range: Range };

export interface CardWrite {
  writeId: number;
  iccid: string;
  serviceNumber: string;
  script: string;
  expiresAt: string;
}

export interface CardWriteResult {
  writeId: number;
  orderId: number;
  iccid: string;
  serviceNumber: string;
  state: 'issued' | 'succeeded' | 'failed' | 'expired';
  errorCode: string | null;
  errorMessage: Text | null;
  card: Card | null;
}

const items = <T>(r: unknown): T[] => ((r as { items?: T[] }).items ?? []);

export const warehouses = async (): Promise<Warehouse[]> => items<Warehouse>(await call(client.GET('/api/v1/stock/warehouses')));

export const channels = async (): Promise<Channel[]> => items<Channel>(await call(client.GET('/api/v1/stock/channels')));

export async function cards(query: { warehouseCode?: string; state?: string; cardType?: CardType; channelDepartmentId?: string; from?: string; to?: string; limit?: number }): Promise<Card[]> {
  return items<Card>(await call(client.GET('/api/v1/stock/cards', { params: { query: { limit: 500, ...query } as never } })));
}

export const cardHistory = (iccid: string) =>
  call(client.GET('/api/v1/stock/cards/{iccid}', { params: { path: { iccid } } })) as Promise<unknown> as Promise<{ card: Card; history: CardHistoryRow[] }>;

export async function documents(query: { box?: 'out' | 'in'; kind?: DocKind; state?: DocState; limit?: number }): Promise<StockDocument[]> {
  return items<StockDocument>(await call(client.GET('/api/v1/stock/documents', { params: { query: { limit: 200, ...query } as never } })));
}

const asDoc = (p: Promise<unknown>) => p as Promise<StockDocument>;

export const createTransfer = (body: { kind: 'allocate' | 'transfer'; sourceWarehouseCode: string; targetWarehouseCode: string; cardType: CardType; note?: string } & Selection) =>
  asDoc(call(client.POST('/api/v1/stock/transfers', { body: body as never })));

export const createPick = (body: { warehouseCode: string; channelDepartmentId: string; cardType: CardType } & Selection) => asDoc(call(client.POST('/api/v1/stock/picks', { body: body as never })));

export const createReturn = (body: { channelDepartmentId: string } & ({ iccids: string[] } | { range: Range })) => asDoc(call(client.POST('/api/v1/stock/returns', { body: body as never })));

export type DocAction = 'approve-out' | 'approve-in' | 'confirm' | 'cancel' | 'reject';

export function act(id: number, action: DocAction): Promise<StockDocument> {
  const o = { params: { path: { id } }, body: {} as never };
  switch (action) {
    case 'approve-out':
      return asDoc(call(client.POST('/api/v1/stock/documents/{id}/approve-out', o)));
    case 'approve-in':
      return asDoc(call(client.POST('/api/v1/stock/documents/{id}/approve-in', o)));
    case 'confirm':
      return asDoc(call(client.POST('/api/v1/stock/documents/{id}/confirm', o)));
    case 'cancel':
      return asDoc(call(client.POST('/api/v1/stock/documents/{id}/cancel', o)));
    case 'reject':
      return asDoc(call(client.POST('/api/v1/stock/documents/{id}/reject', o)));
  }
}

export const issueCardWrite = (orderId: number, iccid: string) =>
  call(client.POST('/api/v1/orders/{id}/card-writes', { params: { path: { id: orderId } }, body: { iccid } as never })) as Promise<unknown> as Promise<CardWrite>;

export const reportCardWrite = (writeId: number, body: { success: boolean; errorCode?: string }) =>
  call(client.POST('/api/v1/card-writes/{writeId}/result', { params: { path: { writeId } }, body: body as never })) as Promise<unknown> as Promise<CardWriteResult>;

/** ICCIDs in a text file or a pasted list: one per line (or separated by commas/spaces); a header `iccid` and blank lines are skipped. */
export function parseIccids(text: string): { iccids: string[]; bad: { line: number; text: string }[] } {
  const iccids: string[] = [];
  const bad: { line: number; text: string }[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    for (const part of raw.split(/[,;\s]+/)) {
      const s = part.trim().replace(/^\uFEFF/, '');
      if (!s || (i === 0 && s.toLowerCase() === 'iccid')) continue;
      if (!/^[0-9]{19,20}$/.test(s) && !/^[0-9]{18,19}[0-9A-F]$/i.test(s)) bad.push({ line: i + 1, text: s });
      else if (!seen.has(s)) {
        seen.add(s);
        iccids.push(s);
      }
    }
  });
  return { iccids, bad };
}
