// Stock documents (SPEC §10, R-RES-1..3, R-X-12): who may move which stock, the transfer and pick/return
// state machines, the selection of cards, min/max alerts and count differences. Pure functions.
import { type CheckFailure, failure } from '../../platform/checks.ts';
import type { SimCardType, StockOrderKind, StockOrderState } from '../../platform/schema.ts';

export type Failure = CheckFailure;
export type { SimCardType, StockOrderKind, StockOrderState };

export const CARD_TYPES: readonly SimCardType[] = ['blank_128k', 'blank_128k_micro', 'finished'];

/** R-RES-2: the confirmation a pending pick shows before it is submitted formally. */
export const PICK_CONFIRM_MESSAGE = { zh: '批量领卡成功，确认正式提交？', en: 'Cards picked. Submit formally?' } as const;
/** R-RES-3: a return with a card that the channel did not pick. */
export const LOCATION_MISMATCH_MESSAGE = { zh: '卡库位不一致', en: 'Card location mismatch: not every card was picked by this channel' } as const;

/** Who acts on stock: its department, and whether a role lets it see and move every department's stock. */
export interface StockScope {
  departmentId: string | null;
  stockAll: boolean;
}

export interface WarehouseFacts {
  warehouseCode: string;
  departmentId: string;
  parentCode: string | null;
}

/** An operator moves and sees only its own department's warehouses, unless it has stock.all. */
export function ownsWarehouse(scope: StockScope, w: Pick<WarehouseFacts, 'departmentId'>): boolean {
  return scope.stockAll || (scope.departmentId !== null && scope.departmentId === w.departmentId);
}

export function departmentMismatch(w: WarehouseFacts, scope: StockScope, what: { zh: string; en: string }): Failure {
  return failure(
    'STOCK_DEPARTMENT_MISMATCH',
    { zh: `工号所属部门与仓库 ${w.warehouseCode} 的部门不一致，不能${what.zh}`, en: `The operator's department does not own warehouse ${w.warehouseCode}; it cannot ${what.en}` },
    { zh: '请由仓库所属部门的工号办理', en: "Ask an operator of the warehouse's department" },
    { warehouseCode: w.warehouseCode, warehouseDepartmentId: w.departmentId, operatorDepartmentId: scope.departmentId },
  );
}

// ---------------------------------------------------------------------------------------------
// Selection: a quantity, an ICCID list or an ICCID range, exactly one.

export type Selection =
  | { kind: 'quantity'; quantity: number }
  | { kind: 'iccid_list'; iccids: string[] }
  | { kind: 'range'; from: string; to: string };

export interface SelectionInput {
  quantity?: number | undefined;
  iccids?: string[] | undefined;
  range?: { from: string; to: string } | undefined;
}

const selectionProblem = (zh: string, en: string, details?: Record<string, unknown>) =>
  failure('STOCK_SELECTION_INVALID', { zh, en }, { zh: '请给出数量、ICCID 列表或 ICCID 号段之一', en: 'Give one of: a quantity, an ICCID list or an ICCID range' }, details);

/** Exactly one way of choosing the cards; an ICCID list without repeats; a range with from ≤ to of one length. */
export function selectionOf(input: SelectionInput, allowed: readonly Selection['kind'][]): Selection | Failure {
  const given = (['quantity', 'iccids', 'range'] as const).filter((k) => input[k] !== undefined);
  if (given.length !== 1) return selectionProblem('须且只能指定数量、ICCID 列表、ICCID 号段中的一种', 'Give exactly one of quantity, iccids or range');
  if (input.quantity !== undefined) {
    if (!allowed.includes('quantity')) return selectionProblem('此单据不能按数量选卡', 'This document cannot select cards by quantity');
    if (!Number.isSafeInteger(input.quantity) || input.quantity < 1) return selectionProblem('数量须为正整数', 'The quantity must be a positive whole number');
    return { kind: 'quantity', quantity: input.quantity };
  }
  if (input.iccids !== undefined) {
    if (input.iccids.length === 0) return selectionProblem('ICCID 列表为空', 'The ICCID list is empty');
    const seen = new Set<string>();
    const repeated = new Set<string>();
    for (const i of input.iccids) (seen.has(i) ? repeated : seen).add(i);
    if (repeated.size > 0) {
      return selectionProblem(`ICCID 重复：${[...repeated].slice(0, 5).join('、')}`, `Repeated ICCIDs: ${[...repeated].slice(0, 5).join(', ')}`, { repeated: [...repeated].slice(0, 50) });
    }
    return { kind: 'iccid_list', iccids: input.iccids };
  }
  const r = input.range as { from: string; to: string };
  if (r.from.length !== r.to.length || r.from > r.to) {
    return selectionProblem(`ICCID 号段不正确：${r.from}–${r.to}（起止须等长且起始不大于终止）`, `Invalid ICCID range ${r.from}–${r.to} (same length, from ≤ to)`, { from: r.from, to: r.to });
  }
  return { kind: 'range', from: r.from, to: r.to };
}

// ---------------------------------------------------------------------------------------------
// R-RES-1 transfers: 下拨 (allocate) goes down the warehouse tree; 调拨 (transfer) anywhere else.

/** The warehouse codes above `code`, nearest first (a cycle in bad data stops the walk). */
export function ancestorsOf(code: string, byCode: ReadonlyMap<string, WarehouseFacts>): string[] {
  const out: string[] = [];
  let cur = byCode.get(code)?.parentCode ?? null;
  while (cur !== null && !out.includes(cur)) {
    out.push(cur);
    cur = byCode.get(cur)?.parentCode ?? null;
  }
  return out;
}

export function transferFailures(
  t: { kind: 'allocate' | 'transfer'; source: WarehouseFacts; target: WarehouseFacts },
  byCode: ReadonlyMap<string, WarehouseFacts>,
  scope: StockScope,
): Failure[] {
  const out: Failure[] = [];
  if (t.source.warehouseCode === t.target.warehouseCode) {
    out.push(
      failure('TRANSFER_SAME_WAREHOUSE', { zh: '调出与调入仓库相同', en: 'The source and the target warehouse are the same' }, { zh: '请选择另一个调入仓库', en: 'Choose another target warehouse' }),
    );
  }
  if (t.kind === 'allocate' && t.source.warehouseCode !== t.target.warehouseCode && !ancestorsOf(t.target.warehouseCode, byCode).includes(t.source.warehouseCode)) {
    out.push(
      failure(
        'TRANSFER_NOT_DOWNWARD',
        { zh: `下拨只能调往下级仓库：${t.target.warehouseCode} 不在 ${t.source.warehouseCode} 之下`, en: `An allocation goes down the tree: ${t.target.warehouseCode} is not below ${t.source.warehouseCode}` },
        { zh: '请改用调拨', en: 'Use a lateral transfer instead' },
        { sourceWarehouseCode: t.source.warehouseCode, targetWarehouseCode: t.target.warehouseCode },
      ),
    );
  }
  if (!ownsWarehouse(scope, t.source)) out.push(departmentMismatch(t.source, scope, { zh: '调出该仓库的卡', en: 'transfer cards out of it' }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Document state machines. Transfer: pending → out_approved → completed, cancel by the sender until
// completed (R-X-12), reject by the target after the out approval. Pick/return: pending → completed.

export type DocumentAction = 'approve-out' | 'approve-in' | 'confirm' | 'cancel' | 'reject';

export interface DocumentFacts {
  stockOrderId: number;
  kind: StockOrderKind;
  state: StockOrderState;
  source: WarehouseFacts;
  target: WarehouseFacts | null;
  createdDepartmentId: string;
}

const isTransfer = (k: StockOrderKind) => k === 'allocate' || k === 'transfer';

export const ACTION_TEXT: Record<DocumentAction, { zh: string; en: string }> = {
  'approve-out': { zh: '审批调出', en: 'approve the transfer out' },
  'approve-in': { zh: '审批调入', en: 'approve the transfer in' },
  confirm: { zh: '确认提交', en: 'confirm' },
  cancel: { zh: '撤销', en: 'cancel' },
  reject: { zh: '拒收', en: 'reject' },
};

const STATE_TEXT: Record<StockOrderState, string> = { pending: '待审批', out_approved: '已调出审批', completed: '已完成', cancelled: '已撤销', rejected: '已拒收' };

function stateProblem(doc: DocumentFacts, action: DocumentAction): Failure {
  return failure(
    'STOCK_DOCUMENT_STATE',
    { zh: `单据 ${doc.stockOrderId} ${STATE_TEXT[doc.state]}，不能${ACTION_TEXT[action].zh}`, en: `Stock document ${doc.stockOrderId} is ${doc.state}; cannot ${ACTION_TEXT[action].en}` },
    { zh: '请刷新单据后再操作', en: 'Reload the document' },
    { stockOrderId: doc.stockOrderId, state: doc.state, action },
  );
}

/** The state a document moves to, or why the actor cannot take this action now. */
export function documentAction(doc: DocumentFacts, action: DocumentAction, scope: StockScope): { to: StockOrderState } | { failures: Failure[] } {
  const transfer = isTransfer(doc.kind);
  const kindOk = action === 'cancel' || (transfer ? action !== 'confirm' : action === 'confirm');
  if (!kindOk) {
    return {
      failures: [
        failure(
          'STOCK_DOCUMENT_KIND',
          { zh: `${transfer ? '调拨单' : doc.kind === 'pick' ? '领卡单' : '退卡单'}不能${ACTION_TEXT[action].zh}`, en: `A ${doc.kind} document cannot ${ACTION_TEXT[action].en}` },
          { zh: transfer ? '调拨单须先调出审批再调入审批' : '领卡/退卡单请确认提交或撤销', en: transfer ? 'Approve out, then in' : 'Confirm or cancel it' },
          { kind: doc.kind, action },
        ),
      ],
    };
  }
  // who: the source's department approves out and cancels (the sender), the target's approves in and rejects
  const target = doc.target ?? doc.source;
  const actorWarehouse = action === 'approve-in' || action === 'reject' ? target : doc.source;
  const owner = ownsWarehouse(scope, actorWarehouse) || (action === 'cancel' && scope.departmentId === doc.createdDepartmentId);
  if (!owner) return { failures: [departmentMismatch(actorWarehouse, scope, ACTION_TEXT[action])] };

  switch (action) {
    case 'approve-out':
      return doc.state === 'pending' ? { to: 'out_approved' } : { failures: [stateProblem(doc, action)] };
    case 'approve-in':
      if (doc.state === 'out_approved') return { to: 'completed' };
      if (doc.state === 'pending') {
        return {
          failures: [
            failure(
              'TRANSFER_NOT_OUT_APPROVED',
              { zh: `调拨单 ${doc.stockOrderId} 尚未经调出方审批，不能调入`, en: `Transfer ${doc.stockOrderId} is not approved out yet; it cannot be approved in` },
              { zh: '请先由调出仓库审批调出', en: 'The source warehouse approves it out first' },
              { stockOrderId: doc.stockOrderId, state: doc.state },
            ),
          ],
        };
      }
      return { failures: [stateProblem(doc, action)] };
    case 'reject':
      return doc.state === 'out_approved' ? { to: 'rejected' } : { failures: [stateProblem(doc, action)] };
    case 'confirm':
      return doc.state === 'pending' ? { to: 'completed' } : { failures: [stateProblem(doc, action)] };
    case 'cancel':
      if (doc.state === 'pending' || (transfer && doc.state === 'out_approved')) return { to: 'cancelled' };
      if (transfer && doc.state === 'completed') {
        // R-X-12: the sender may cancel until the receiver confirms
        return {
          failures: [
            failure(
              'TRANSFER_ALREADY_RECEIVED',
              { zh: `调拨单 ${doc.stockOrderId} 已由调入方确认接收，不能撤销`, en: `Transfer ${doc.stockOrderId} was already received; it cannot be cancelled` },
              { zh: '如需退回，请另建调拨单', en: 'Create a transfer back instead' },
              { stockOrderId: doc.stockOrderId },
            ),
          ],
        };
      }
      return { failures: [stateProblem(doc, action)] };
  }
}

// ---------------------------------------------------------------------------------------------
// R-RES-3 returns: every card picked by this channel, still picked (not written), in one warehouse.

export interface ReturnFacts {
  /** Cards of the selection that exist. */
  found: number;
  /** ICCIDs of the list that do not exist (some). */
  unknown: string[];
  /** Cards not picked by this channel, or from another warehouse than the rest (some, and how many). */
  mismatched: string[];
  mismatchedCount: number;
  /** Cards picked by this channel but written or activated since (some, and how many). */
  notReturnable: string[];
  notReturnableCount: number;
  /** Cards already on another open document (some, and how many). */
  locked: string[];
  lockedCount: number;
  warehouses: WarehouseFacts[];
}

export function returnFailures(f: ReturnFacts, channelDepartmentId: string, scope: StockScope): Failure[] {
  const out: Failure[] = [];
  if (f.found === 0 && f.unknown.length === 0) {
    out.push(selectionProblem('号段内没有卡', 'There is no card in the range'));
    return out;
  }
  if (f.mismatchedCount > 0 || f.warehouses.length > 1) {
    out.push(
      failure('CARD_LOCATION_MISMATCH', { ...LOCATION_MISMATCH_MESSAGE }, { zh: `只能退回渠道 ${channelDepartmentId} 领用的卡`, en: `Return only cards picked by channel ${channelDepartmentId}` }, {
        channelDepartmentId,
        iccids: f.mismatched.slice(0, 50),
        count: Math.max(f.mismatchedCount, f.warehouses.length > 1 ? 1 : 0),
        warehouseCodes: f.warehouses.map((w) => w.warehouseCode),
      }),
    );
  }
  if (f.unknown.length > 0) {
    out.push(
      failure(
        'SIM_NOT_FOUND',
        { zh: `卡不存在：${f.unknown.slice(0, 5).join('、')}`, en: `Unknown cards: ${f.unknown.slice(0, 5).join(', ')}` },
        { zh: '请核对 ICCID', en: 'Check the ICCIDs' },
        { iccids: f.unknown.slice(0, 50) },
      ),
    );
  }
  if (f.notReturnableCount > 0) {
    out.push(
      failure(
        'CARD_NOT_RETURNABLE',
        { zh: `卡已写卡或已激活，不能退回：${f.notReturnable.slice(0, 5).join('、')}`, en: `Cards already written or activated cannot be returned: ${f.notReturnable.slice(0, 5).join(', ')}` },
        { zh: '请从退卡列表中去掉这些卡', en: 'Leave these cards out of the return' },
        { iccids: f.notReturnable.slice(0, 50), count: f.notReturnableCount },
      ),
    );
  }
  if (f.lockedCount > 0) out.push(lockedProblem(f.locked, f.lockedCount));
  const [w] = f.warehouses;
  if (out.length === 0 && w && !ownsWarehouse(scope, w)) out.push(departmentMismatch(w, scope, { zh: '退回该仓库的卡', en: 'return cards to it' }));
  return out;
}

export function lockedProblem(iccids: string[], count: number): Failure {
  return failure(
    'STOCK_CARDS_LOCKED',
    { zh: `卡已在其他未完成的单据中：${iccids.slice(0, 5).join('、')}`, en: `Cards are on another open stock document: ${iccids.slice(0, 5).join(', ')}` },
    { zh: '请等该单据完成或撤销', en: 'Wait until that document is completed or cancelled' },
    { iccids: iccids.slice(0, 50), count },
  );
}

/** Cards of an ICCID list or range that cannot be taken from the warehouse (not there, wrong type, not in stock). */
export function unavailableProblem(iccids: string[], count: number, warehouseCode: string): Failure {
  return failure(
    'STOCK_CARDS_UNAVAILABLE',
    {
      zh: `以下卡不在仓库 ${warehouseCode} 的可用库存中（卡类型或状态不符）：${iccids.slice(0, 5).join('、')}`,
      en: `These cards are not available stock of warehouse ${warehouseCode} (type or state differs): ${iccids.slice(0, 5).join(', ')}`,
    },
    { zh: '请核对 ICCID、卡类型和仓库', en: 'Check the ICCIDs, the card type and the warehouse' },
    { iccids: iccids.slice(0, 50), count, warehouseCode },
  );
}

export function insufficientProblem(warehouseCode: string, cardType: SimCardType, wanted: number, available: number): Failure {
  return failure(
    'STOCK_INSUFFICIENT',
    { zh: `仓库 ${warehouseCode} 的可用 ${cardType} 库存不足：需要 ${wanted}，可用 ${available}`, en: `Warehouse ${warehouseCode} has ${available} available ${cardType} cards, ${wanted} needed` },
    { zh: '请减少数量或先调入库存', en: 'Ask for fewer cards or transfer stock in first' },
    { warehouseCode, cardType, wanted, available },
  );
}

// ---------------------------------------------------------------------------------------------
// R-X-12 min/max alerts and counts.

export type StockAlert = 'below_min' | 'above_max' | null;

/** The available (unlocked, in stock) quantity against the warehouse's bounds for the card type. */
export function stockAlert(available: number, limit: { minQuantity: number; maxQuantity: number } | null | undefined): StockAlert {
  if (!limit) return null;
  if (available < limit.minQuantity) return 'below_min';
  if (available > limit.maxQuantity) return 'above_max';
  return null;
}

export interface LimitInput {
  cardType: SimCardType;
  minQuantity: number;
  maxQuantity: number;
}

export function limitsFailures(limits: LimitInput[]): Failure[] {
  const out: Failure[] = [];
  const seen = new Set<SimCardType>();
  for (const l of limits) {
    if (seen.has(l.cardType)) {
      out.push(failure('STOCK_LIMITS_INVALID', { zh: `卡类型重复：${l.cardType}`, en: `Card type given twice: ${l.cardType}` }, { zh: '每种卡类型只给一组上下限', en: 'One pair of bounds per card type' }, { cardType: l.cardType }));
    }
    seen.add(l.cardType);
    if (!Number.isSafeInteger(l.minQuantity) || !Number.isSafeInteger(l.maxQuantity) || l.minQuantity < 0 || l.maxQuantity < l.minQuantity) {
      out.push(
        failure(
          'STOCK_LIMITS_INVALID',
          { zh: `库存上下限不正确（${l.cardType}：下限 ${l.minQuantity}，上限 ${l.maxQuantity}）`, en: `Invalid stock bounds for ${l.cardType}: min ${l.minQuantity}, max ${l.maxQuantity}` },
          { zh: '下限不小于 0，上限不小于下限', en: 'min ≥ 0 and max ≥ min' },
          { cardType: l.cardType },
        ),
      );
    }
  }
  return out;
}

/** R-X-12: a count's difference (counted − book); by ICCID list, the missing and unexpected cards. */
export function countDifference(book: readonly string[] | number, counted: readonly string[] | number) {
  if (typeof book === 'number' || typeof counted === 'number') {
    const b = typeof book === 'number' ? book : book.length;
    const c = typeof counted === 'number' ? counted : counted.length;
    return { bookQuantity: b, countedQuantity: c, difference: c - b, missing: [] as string[], unexpected: [] as string[] };
  }
  const inBook = new Set(book);
  const seen = new Set(counted);
  return {
    bookQuantity: inBook.size,
    countedQuantity: seen.size,
    difference: seen.size - inBook.size,
    missing: [...inBook].filter((i) => !seen.has(i)).sort(),
    unexpected: [...seen].filter((i) => !inBook.has(i)).sort(),
  };
}

/** IMSI shown to an operator without stock.all: the middle digits hidden (46001123****789 style). */
export function maskImsi(imsi: string | null, stockAll: boolean): string | null {
  if (imsi === null || stockAll) return imsi;
  if (imsi.length < 8) return '****';
  return `${imsi.slice(0, imsi.length - 7)}****${imsi.slice(-3)}`;
}
