// Stock documents (SPEC §10): warehouses with their stock and min/max alerts, transfers with two-step
// approval (R-RES-1, R-X-12), agent picks (R-RES-2) and returns (R-RES-3), counts, card history.
// Every change is audited with its outbox event and card history rows in the same transaction.
import { sql } from 'kysely';
import { type Actor, can } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db, Q } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import { recordChange } from '../../platform/outbox.ts';
import type { SimCardType, StockOrderKind, StockOrderState } from '../../platform/schema.ts';
import { type CardEventName, recordStockOrderEvents } from './card-events.ts';
import { type CardFilter, type CardRow, type DocumentRow, stockRepo, type WarehouseRow } from './stock-repo.ts';
import {
  CARD_TYPES,
  type DocumentAction,
  type DocumentFacts,
  departmentMismatch,
  documentAction,
  type Failure,
  insufficientProblem,
  type LimitInput,
  limitsFailures,
  lockedProblem,
  maskImsi,
  ownsWarehouse,
  PICK_CONFIRM_MESSAGE,
  returnFailures,
  type Selection,
  type SelectionInput,
  selectionOf,
  type StockScope,
  stockAlert,
  transferFailures,
  unavailableProblem,
  type WarehouseFacts,
} from './stock-rules.ts';

const STATUS: Record<string, number> = {
  STOCK_DEPARTMENT_MISMATCH: 403,
  STOCK_CHANNEL_NOT_ALLOWED: 403,
  WAREHOUSE_NOT_FOUND: 404,
  STOCK_DOCUMENT_NOT_FOUND: 404,
  STOCK_DOCUMENT_STATE: 409,
  TRANSFER_NOT_OUT_APPROVED: 409,
  TRANSFER_ALREADY_RECEIVED: 409,
  STOCK_CARDS_LOCKED: 409,
  STOCK_CARDS_UNAVAILABLE: 409,
  STOCK_INSUFFICIENT: 409,
  CARD_NOT_RETURNABLE: 409,
};

/** The first failure as the error, all of them in the details. */
function refusal(failures: Failure[]): DomainError {
  const first = failures[0] as Failure;
  return new DomainError(first.code, first.message.zh, first.message.en, STATUS[first.code] ?? 422, { failures });
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

const scopeOf = (actor: Actor): StockScope => ({ departmentId: actor.departmentId, stockAll: can(actor, 'stock.all') });

const facts = (w: WarehouseRow): WarehouseFacts => ({ warehouseCode: w.warehouse_code, departmentId: w.department_id, parentCode: w.parent_code });

export function cardView(c: CardRow, stockAll: boolean) {
  return {
    iccid: c.iccid,
    cardType: c.card_type,
    state: c.state,
    warehouseCode: c.warehouse_code,
    departmentId: c.department_id,
    pickedByDepartmentId: c.picked_by_department_id,
    pickedAt: iso(c.picked_at),
    serviceNumber: c.service_number,
    imsi: maskImsi(c.imsi, stockAll),
    hasCardData: c.has_card_data,
    stockOrderId: c.stock_order_id,
    stateChangedAt: new Date(c.state_changed_at).toISOString(),
  };
}

export function documentView(d: DocumentRow) {
  return {
    stockOrderId: d.stock_order_id,
    kind: d.kind,
    state: d.state,
    sourceWarehouseCode: d.source_warehouse_code,
    targetWarehouseCode: d.target_warehouse_code,
    channelDepartmentId: d.channel_department_id,
    channelName: d.channel_name,
    cardType: d.card_type,
    selection: d.selection,
    quantity: d.quantity,
    note: d.note,
    createdBy: { operatorId: d.created_by, name: d.created_by_name },
    createdAt: iso(d.created_at),
    outApprovedAt: iso(d.out_approved_at),
    inApprovedAt: iso(d.in_approved_at),
    closedAt: iso(d.closed_at),
    closeReason: d.close_reason,
    iccids: d.iccids ?? [],
    // R-RES-2: a prepared pick asks to be submitted formally
    ...(d.kind === 'pick' && d.state === 'pending' ? { confirmMessage: { ...PICK_CONFIRM_MESSAGE } } : {}),
  };
}

export interface NewTransfer extends SelectionInput {
  kind: 'allocate' | 'transfer';
  sourceWarehouseCode: string;
  targetWarehouseCode: string;
  cardType: SimCardType;
  note?: string | undefined;
}
export interface NewPick extends SelectionInput {
  warehouseCode: string;
  channelDepartmentId: string;
  cardType: SimCardType;
  note?: string | undefined;
}
export interface NewReturn {
  channelDepartmentId: string;
  iccids?: string[] | undefined;
  range?: { from: string; to: string } | undefined;
  note?: string | undefined;
}
export interface NewCount {
  warehouseCode: string;
  cardType: SimCardType;
  countedQuantity?: number | undefined;
  iccids?: string[] | undefined;
  note?: string | undefined;
}
/** What an operator may ask for; the service adds the department scope. */
export type CardSearch = Omit<CardFilter, 'departmentId' | 'limit'> & { limit?: number | undefined };
export interface DocumentSearch {
  kind?: StockOrderKind | undefined;
  state?: StockOrderState | undefined;
  box?: 'out' | 'in' | undefined;
  after?: number | undefined;
  limit?: number | undefined;
}

const EVENTS: Record<string, { created: CardEventName; completed: CardEventName; released: CardEventName }> = {
  allocate: { created: 'transfer_locked', completed: 'transferred', released: 'transfer_released' },
  transfer: { created: 'transfer_locked', completed: 'transferred', released: 'transfer_released' },
  pick: { created: 'pick_locked', completed: 'picked', released: 'pick_released' },
  return: { created: 'return_locked', completed: 'returned', released: 'return_released' },
};

const ACTION_EVENT: Record<DocumentAction, string> = {
  'approve-out': 'out_approved',
  'approve-in': 'completed',
  confirm: 'completed',
  cancel: 'cancelled',
  reject: 'rejected',
};

const warehouseNotFound = (code: string) => new DomainError('WAREHOUSE_NOT_FOUND', `仓库不存在：${code}`, `Unknown warehouse: ${code}`, 404, { warehouseCode: code });

export class StockService {
  private readonly deps: { db: Db; clock: Clock };
  constructor(deps: { db: Db; clock: Clock }) {
    this.deps = deps;
  }

  // ---- warehouses, limits, alerts ------------------------------------------------------------

  private async visibleWarehouses(q: Q, actor: Actor): Promise<WarehouseRow[]> {
    const scope = scopeOf(actor);
    return (await stockRepo.warehouses(q)).filter((w) => ownsWarehouse(scope, facts(w)));
  }

  /** The operator's warehouses (every one with stock.all) with their stock per card type and alerts (R-X-12). */
  async warehouses(actor: Actor) {
    const q = this.deps.db;
    const ws = await this.visibleWarehouses(q, actor);
    const codes = ws.map((w) => w.warehouse_code);
    const [figures, limits] = await Promise.all([stockRepo.stockFigures(q, codes), stockRepo.limits(q, codes)]);
    const fig = new Map(figures.map((f) => [`${f.warehouse_code}|${f.card_type}`, f]));
    const lim = new Map(limits.map((l) => [`${l.warehouse_code}|${l.card_type}`, l]));
    return {
      items: ws.map((w) => ({
        warehouseCode: w.warehouse_code,
        name: w.name,
        level: w.level,
        category: w.category,
        departmentId: w.department_id,
        departmentName: w.department_name,
        parentCode: w.parent_code,
        stock: CARD_TYPES.map((cardType) => {
          const f = fig.get(`${w.warehouse_code}|${cardType}`);
          const l = lim.get(`${w.warehouse_code}|${cardType}`);
          const inStock = f?.in_stock ?? 0;
          const limit = l ? { minQuantity: l.min_quantity, maxQuantity: l.max_quantity } : null;
          return {
            cardType,
            inStock,
            locked: f?.locked ?? 0,
            picked: f?.picked ?? 0,
            minQuantity: limit?.minQuantity ?? null,
            maxQuantity: limit?.maxQuantity ?? null,
            alert: stockAlert(inStock, limit),
          };
        }),
      })),
    };
  }

  /** R-X-12: the warehouses and card types whose available stock is below the minimum or above the maximum. */
  async alerts(actor: Actor) {
    const { items } = await this.warehouses(actor);
    return {
      items: items.flatMap((w) =>
        w.stock
          .filter((s) => s.alert !== null)
          .map((s) => ({ warehouseCode: w.warehouseCode, name: w.name, departmentId: w.departmentId, cardType: s.cardType, inStock: s.inStock, minQuantity: s.minQuantity, maxQuantity: s.maxQuantity, alert: s.alert })),
      ),
    };
  }

  async putLimits(actor: Actor, code: string, limits: LimitInput[]) {
    const failures = limitsFailures(limits);
    if (failures.length) throw refusal(failures);
    await this.deps.db.transaction().execute(async (tx) => {
      const w = await stockRepo.warehouse(tx, code);
      if (!w) throw warehouseNotFound(code);
      const scope = scopeOf(actor);
      if (!ownsWarehouse(scope, facts(w))) throw refusal([departmentMismatch(facts(w), scope, { zh: '设置其库存上下限', en: 'set its stock bounds' })]);
      const before = await stockRepo.limits(tx, [code]);
      await stockRepo.upsertLimits(tx, code, limits, this.deps.clock.now());
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        {
          action: 'warehouse.limits.set',
          targetType: 'warehouse',
          targetId: code,
          before: before.map((l) => ({ cardType: l.card_type, minQuantity: l.min_quantity, maxQuantity: l.max_quantity })),
          after: limits,
        },
        { type: 'warehouse.limits_set', aggregateType: 'warehouse', aggregateId: code, payload: { warehouseCode: code, limits } },
      );
    });
    const view = (await this.warehouses(actor)).items.find((w) => w.warehouseCode === code);
    return view as NonNullable<typeof view>;
  }

  /** Social channels the operator may pick for: the channels of its branch (all with stock.all). */
  async channels(actor: Actor) {
    return { items: (await this.allowedChannels(this.deps.db, actor)).map((c) => ({ departmentId: c.department_id, name: c.name, parentId: c.parent_id })) };
  }

  private async allowedChannels(q: Q, actor: Actor) {
    if (can(actor, 'stock.all')) return stockRepo.channels(q, null);
    if (!actor.departmentId) return [];
    const chain = await stockRepo.departmentChain(q, actor.departmentId);
    const branch = chain.find((d) => d.kind === 'branch');
    return stockRepo.channels(q, branch ? [branch.department_id] : chain.slice(0, 1).map((d) => d.department_id));
  }

  // ---- cards ---------------------------------------------------------------------------------

  async cards(actor: Actor, s: CardSearch) {
    const limit = Math.min(Math.max(s.limit ?? 50, 1), 500);
    const scope = scopeOf(actor);
    const rows = await stockRepo.cards(this.deps.db, { ...s, departmentId: scope.stockAll ? null : (actor.departmentId ?? '-'), limit });
    return { items: rows.map((c) => cardView(c, scope.stockAll)), next: rows.length === limit ? (rows.at(-1)?.iccid ?? null) : null };
  }

  /** One card with its whole history. */
  async card(actor: Actor, iccid: string) {
    const q = this.deps.db;
    const c = await stockRepo.card(q, iccid);
    if (!c) throw new DomainError('SIM_NOT_FOUND', `卡不存在：${iccid}`, `Unknown card: ${iccid}`, 404, { iccid });
    const scope = scopeOf(actor);
    const mine = scope.stockAll || (actor.departmentId !== null && (c.department_id === actor.departmentId || c.picked_by_department_id === actor.departmentId));
    if (!mine) {
      throw new DomainError('STOCK_DEPARTMENT_MISMATCH', `卡 ${iccid} 不属于工号所在部门`, `Card ${iccid} is not in the operator's department's stock`, 403, { iccid });
    }
    const history = await stockRepo.history(q, iccid);
    return {
      card: cardView(c, scope.stockAll),
      history: history.map((e) => ({
        eventId: e.event_id,
        at: iso(e.at),
        event: e.event,
        fromState: e.from_state,
        toState: e.to_state,
        warehouseCode: e.warehouse_code,
        holderDepartmentId: e.holder_department_id,
        stockOrderId: e.stock_order_id,
        orderId: e.order_id,
        operatorId: e.operator_id,
        operatorName: e.operator_name,
        detail: e.detail,
      })),
    };
  }

  // ---- documents -----------------------------------------------------------------------------

  /** R-RES-1: a transfer (下拨 down the tree or 调拨) locks its cards at the source until both approvals. */
  async createTransfer(actor: Actor, t: NewTransfer) {
    const selection = this.selection(t, ['quantity', 'iccid_list', 'range']);
    return this.deps.db.transaction().execute(async (tx) => {
      const all = await stockRepo.warehouses(tx);
      const byCode = new Map(all.map((w) => [w.warehouse_code, facts(w)]));
      const source = byCode.get(t.sourceWarehouseCode);
      if (!source) throw warehouseNotFound(t.sourceWarehouseCode);
      const target = byCode.get(t.targetWarehouseCode);
      if (!target) throw warehouseNotFound(t.targetWarehouseCode);
      const failures = transferFailures({ kind: t.kind, source, target }, byCode, scopeOf(actor));
      if (failures.length) throw refusal(failures);
      const id = await this.lockDocument(tx, actor, {
        kind: t.kind,
        source: t.sourceWarehouseCode,
        target: t.targetWarehouseCode,
        channel: null,
        cardType: t.cardType,
        selection,
        note: t.note ?? null,
      });
      return this.recorded(tx, actor, id, 'create');
    });
  }

  /** R-RES-2: an operator of the warehouse's department prepares a pick for a social channel; it is pending until confirmed. */
  async createPick(actor: Actor, p: NewPick) {
    const selection = this.selection(p, ['quantity', 'iccid_list', 'range']);
    return this.deps.db.transaction().execute(async (tx) => {
      const w = await stockRepo.warehouse(tx, p.warehouseCode);
      if (!w) throw warehouseNotFound(p.warehouseCode);
      const scope = scopeOf(actor);
      if (!ownsWarehouse(scope, facts(w))) throw refusal([departmentMismatch(facts(w), scope, { zh: '从该仓库领卡', en: 'pick cards from it' })]);
      await this.checkChannel(tx, actor, p.channelDepartmentId);
      const id = await this.lockDocument(tx, actor, {
        kind: 'pick',
        source: p.warehouseCode,
        target: null,
        channel: p.channelDepartmentId,
        cardType: p.cardType,
        selection,
        note: p.note ?? null,
      });
      return this.recorded(tx, actor, id, 'create');
    });
  }

  /**
   * R-RES-3: a return by ICCID list or range, all or nothing: every card must have been picked by the
   * channel (else 卡库位不一致 and nothing changes), still unwritten, back to its one warehouse.
   */
  async createReturn(actor: Actor, r: NewReturn) {
    const selection = this.selection(r, ['iccid_list', 'range']) as Exclude<Selection, { kind: 'quantity' }>;
    return this.deps.db.transaction().execute(async (tx) => {
      const channel = await stockRepo.department(tx, r.channelDepartmentId);
      if (!channel || channel.kind !== 'channel') throw unknownChannel(r.channelDepartmentId);
      const f = await stockRepo.returnFacts(tx, r.channelDepartmentId, selection);
      const warehouses = (await Promise.all(f.warehouseCodes.map((c) => stockRepo.warehouse(tx, c)))).filter((w) => w !== undefined).map(facts);
      const failures = returnFailures({ ...f, warehouses }, r.channelDepartmentId, scopeOf(actor));
      if (failures.length) throw refusal(failures);
      const source = warehouses[0] as WarehouseFacts;
      const id = await stockRepo.insertDocument(tx, {
        kind: 'return',
        source: source.warehouseCode,
        target: null,
        channel: r.channelDepartmentId,
        cardType: null,
        selection: selection.kind,
        quantity: f.found,
        note: r.note ?? null,
        operatorId: this.operatorOf(actor),
        departmentId: actor.departmentId ?? '',
        now: this.deps.clock.now(),
      });
      const locked = await stockRepo.lockReturn(tx, id, r.channelDepartmentId, source.warehouseCode, selection);
      if (locked !== f.found) {
        // a concurrent document took some of the cards between the check and the lock
        const again = await stockRepo.returnFacts(tx, r.channelDepartmentId, selection);
        throw refusal([lockedProblem(again.locked, Math.max(again.lockedCount, f.found - locked))]);
      }
      await recordStockOrderEvents(tx, this.deps.clock.now(), id, { event: 'return_locked', fromState: 'picked', operatorId: actor.operatorId });
      return this.recorded(tx, actor, id, 'create');
    });
  }

  async documents(actor: Actor, s: DocumentSearch) {
    const limit = Math.min(Math.max(s.limit ?? 50, 1), 200);
    const scope = scopeOf(actor);
    const rows = await stockRepo.listDocuments(this.deps.db, { ...s, departmentId: scope.stockAll && !s.box ? null : (actor.departmentId ?? '-'), limit });
    return { items: rows.map(documentView), next: rows.length === limit ? (rows.at(-1)?.stock_order_id ?? null) : null };
  }

  async document(actor: Actor, id: number) {
    const d = await stockRepo.document(this.deps.db, id);
    if (!d) throw documentNotFound(id);
    if (!(await this.visible(this.deps.db, actor, d))) {
      throw new DomainError('STOCK_DEPARTMENT_MISMATCH', `单据 ${id} 不属于工号所在部门`, `Stock document ${id} does not concern the operator's department`, 403, { stockOrderId: id });
    }
    return documentView(d);
  }

  /**
   * A step of a document: approve out/in, confirm, cancel, reject. The state moves in one guarded
   * statement (of two concurrent approvals one wins, the other gets STOCK_DOCUMENT_STATE); cards
   * move only when a transfer is approved in or a pick/return confirmed.
   */
  async act(actor: Actor, id: number, action: DocumentAction, opts: { reason?: string | undefined } = {}) {
    return this.deps.db.transaction().execute(async (tx) => {
      const o = await stockRepo.order(tx, id, true);
      if (!o) throw documentNotFound(id);
      const transfer = o.kind === 'allocate' || o.kind === 'transfer';
      const needed = transfer ? 'stock.transfer' : 'stock.pick';
      if (!can(actor, needed)) {
        throw new DomainError('FORBIDDEN', `工号无此权限：${needed}`, `The operator lacks the permission ${needed}`, 403, { permission: needed });
      }
      const source = await stockRepo.warehouse(tx, o.source_warehouse_code);
      const target = o.target_warehouse_code ? await stockRepo.warehouse(tx, o.target_warehouse_code) : undefined;
      const doc: DocumentFacts = {
        stockOrderId: o.stock_order_id,
        kind: o.kind,
        state: o.state,
        source: facts(source as WarehouseRow),
        target: target ? facts(target) : null,
        createdDepartmentId: o.created_department_id,
      };
      const step = documentAction(doc, action, scopeOf(actor));
      if ('failures' in step) throw refusal(step.failures);
      const now = this.deps.clock.now();
      const changed = await stockRepo.setState(tx, id, o.state, step.to, {
        operatorId: actor.operatorId,
        now,
        step: action === 'approve-out' ? 'out' : action === 'approve-in' ? 'in' : 'close',
        reason: opts.reason ?? null,
      });
      if (!changed) throw refusal([{ code: 'STOCK_DOCUMENT_STATE', message: { zh: `单据 ${id} 已被他人处理`, en: `Stock document ${id} was changed meanwhile` }, fix: { zh: '请刷新', en: 'Reload it' } }]);
      const events = EVENTS[o.kind] as (typeof EVENTS)[string];
      const cardType = o.card_type;
      const touched = [o.source_warehouse_code, ...(o.target_warehouse_code ? [o.target_warehouse_code] : [])];
      await this.watchAlerts(tx, actor, touched, cardType, async () => {
        if (step.to === 'cancelled' || step.to === 'rejected') {
          await stockRepo.release(tx, id);
          await recordStockOrderEvents(tx, now, id, { event: events.released, operatorId: actor.operatorId, detail: { reason: opts.reason ?? null } });
        } else if (step.to === 'completed') {
          if (transfer) {
            const t = target as WarehouseRow;
            await stockRepo.moveToTarget(tx, id, { warehouseCode: t.warehouse_code, departmentId: t.department_id });
          } else if (o.kind === 'pick') await stockRepo.markPicked(tx, id, o.channel_department_id as string, now);
          else await stockRepo.markReturned(tx, id, now);
          // a return brings picked cards back; transfers and picks move cards that were in stock
          await recordStockOrderEvents(tx, now, id, { event: events.completed, fromState: o.kind === 'return' ? 'picked' : 'in_stock', operatorId: actor.operatorId });
        }
      });
      return this.recorded(tx, actor, id, action);
    });
  }

  // ---- counts --------------------------------------------------------------------------------

  /** R-X-12: a stock count against the book; by ICCID list each missing or unexpected card is recorded. */
  async createCount(actor: Actor, c: NewCount) {
    if ((c.countedQuantity === undefined) === (c.iccids === undefined)) {
      throw new DomainError('STOCK_SELECTION_INVALID', '须且只能给出盘点数量或 ICCID 列表之一', 'Give exactly one of countedQuantity or iccids', 422);
    }
    return this.deps.db.transaction().execute(async (tx) => {
      const w = await stockRepo.warehouse(tx, c.warehouseCode);
      if (!w) throw warehouseNotFound(c.warehouseCode);
      const scope = scopeOf(actor);
      if (!ownsWarehouse(scope, facts(w))) throw refusal([departmentMismatch(facts(w), scope, { zh: '盘点该仓库', en: 'count its stock' })]);
      const book = await stockRepo.bookQuantity(tx, c.warehouseCode, c.cardType);
      const counted = c.iccids ? new Set(c.iccids).size : (c.countedQuantity as number);
      const row = await stockRepo.insertCount(tx, {
        warehouseCode: c.warehouseCode,
        cardType: c.cardType,
        book,
        counted,
        note: c.note ?? null,
        operatorId: this.operatorOf(actor),
        now: this.deps.clock.now(),
      });
      const diffs = c.iccids ? await stockRepo.recordDifferences(tx, row.count_id, c.warehouseCode, c.cardType, c.iccids) : [];
      const view = countView(row, diffs);
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'stock.count', targetType: 'warehouse', targetId: c.warehouseCode, after: { ...view, missing: view.missing.slice(0, 20), unexpected: view.unexpected.slice(0, 20) } },
        {
          type: 'stock.counted',
          aggregateType: 'warehouse',
          aggregateId: c.warehouseCode,
          payload: { countId: view.countId, warehouseCode: c.warehouseCode, cardType: c.cardType, bookQuantity: book, countedQuantity: counted, difference: view.difference },
        },
      );
      return view;
    });
  }

  async counts(actor: Actor, f: { warehouseCode?: string | undefined; limit?: number | undefined }) {
    const q = this.deps.db;
    const scope = scopeOf(actor);
    const codes = scope.stockAll ? null : (await this.visibleWarehouses(q, actor)).map((w) => w.warehouse_code);
    const rows = await stockRepo.counts(q, { warehouseCodes: codes, warehouseCode: f.warehouseCode, limit: Math.min(Math.max(f.limit ?? 50, 1), 200) });
    const items = [];
    for (const r of rows) items.push(countView(r, await stockRepo.differences(q, r.count_id)));
    return { items };
  }

  // ---- internals -----------------------------------------------------------------------------

  private selection(input: SelectionInput, allowed: readonly Selection['kind'][]): Selection {
    const s = selectionOf(input, allowed);
    if ('code' in s) throw refusal([s]);
    return s;
  }

  private operatorOf(actor: Actor): number {
    if (actor.operatorId === null) throw new DomainError('OPERATOR_REQUIRED', '须由工号办理', 'An operator must do this', 403);
    return actor.operatorId;
  }

  private async checkChannel(q: Q, actor: Actor, channelId: string): Promise<void> {
    const d = await stockRepo.department(q, channelId);
    if (!d || d.kind !== 'channel') throw unknownChannel(channelId);
    const allowed = await this.allowedChannels(q, actor);
    if (!allowed.some((c) => c.department_id === channelId)) {
      throw new DomainError(
        'STOCK_CHANNEL_NOT_ALLOWED',
        `社会渠道 ${channelId} 不属于工号所在分公司`,
        `Social channel ${channelId} is not one of the operator's branch`,
        403,
        { channelDepartmentId: channelId },
      );
    }
  }

  /**
   * Inserts the document and locks its cards in one statement. ICCID lists and ranges are all or
   * nothing: when a named card cannot be taken the whole document is refused (the transaction rolls back).
   */
  private async lockDocument(
    tx: Q,
    actor: Actor,
    d: { kind: StockOrderKind; source: string; target: string | null; channel: string | null; cardType: SimCardType; selection: Selection; note: string | null },
  ): Promise<number> {
    const s = d.selection;
    const wanted = s.kind === 'quantity' ? s.quantity : await stockRepo.countSelected(tx, s);
    if (wanted === 0) throw refusal([{ code: 'STOCK_SELECTION_INVALID', message: { zh: '号段内没有卡', en: 'There is no card in the range' }, fix: { zh: '请核对号段', en: 'Check the range' } }]);
    const now = this.deps.clock.now();
    const id = await stockRepo.insertDocument(tx, {
      kind: d.kind,
      source: d.source,
      target: d.target,
      channel: d.channel,
      cardType: d.cardType,
      selection: s.kind,
      quantity: wanted,
      note: d.note,
      operatorId: this.operatorOf(actor),
      departmentId: actor.departmentId ?? '',
      now,
    });
    await this.watchAlerts(tx, actor, [d.source], d.cardType, async () => {
      const locked = await stockRepo.lockStock(tx, id, { warehouseCode: d.source, cardType: d.cardType }, s);
      if (locked !== wanted) {
        if (s.kind === 'quantity') throw refusal([insufficientProblem(d.source, d.cardType, wanted, locked)]);
        const p = await stockRepo.selectionProblems(tx, id, s);
        const failures: Failure[] = [];
        if (p.unknownCount) {
          failures.push({
            code: 'SIM_NOT_FOUND',
            message: { zh: `卡不存在：${p.unknown.slice(0, 5).join('、')}`, en: `Unknown cards: ${p.unknown.slice(0, 5).join(', ')}` },
            fix: { zh: '请核对 ICCID', en: 'Check the ICCIDs' },
            details: { iccids: p.unknown, count: p.unknownCount },
          });
        }
        if (p.lockedCount) failures.push(lockedProblem(p.locked, p.lockedCount));
        if (p.unavailableCount) failures.push(unavailableProblem(p.unavailable, p.unavailableCount, d.source));
        if (failures.length === 0) failures.push(lockedProblem([], wanted - locked));
        throw refusal(failures);
      }
      await recordStockOrderEvents(tx, now, id, { event: EVENTS[d.kind]?.created ?? 'transfer_locked', fromState: 'in_stock', operatorId: actor.operatorId });
    });
    return id;
  }

  /** The document's view after a change, audited with its outbox event. */
  private async recorded(tx: Q, actor: Actor, id: number, action: DocumentAction | 'create') {
    const d = (await stockRepo.document(tx, id)) as DocumentRow;
    const view = documentView(d);
    const { iccids: _iccids, confirmMessage: _m, ...summary } = view as typeof view & { confirmMessage?: unknown };
    const event = action === 'create' ? 'created' : ACTION_EVENT[action];
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: `stock_order.${action === 'create' ? 'create' : action.replace('-', '_')}`, targetType: 'stock_order', targetId: id, after: summary },
      { type: `stock_order.${event}`, aggregateType: 'stock_order', aggregateId: id, payload: summary },
    );
    return view;
  }

  /**
   * R-X-12: a change that moves a warehouse's available stock across its min or max raises an alert
   * (audit + outbox event `stock.alert_raised`) in the same transaction.
   */
  private async watchAlerts(tx: Q, actor: Actor, codes: string[], cardType: SimCardType | null, change: () => Promise<void>): Promise<void> {
    const limits = cardType ? (await stockRepo.limits(tx, codes)).filter((l) => l.card_type === cardType) : [];
    if (limits.length === 0 || cardType === null) return change();
    const before = new Map<string, number>();
    for (const l of limits) before.set(l.warehouse_code, await stockRepo.available(tx, l.warehouse_code, cardType));
    await change();
    for (const l of limits) {
      const bound = { minQuantity: l.min_quantity, maxQuantity: l.max_quantity };
      const was = stockAlert(before.get(l.warehouse_code) ?? 0, bound);
      const available = await stockRepo.available(tx, l.warehouse_code, cardType);
      const now = stockAlert(available, bound);
      if (now !== null && now !== was) {
        const payload = { warehouseCode: l.warehouse_code, cardType, inStock: available, ...bound, alert: now };
        await recordChange(
          tx,
          this.deps.clock,
          actor,
          { action: 'stock.alert', targetType: 'warehouse', targetId: l.warehouse_code, after: payload },
          { type: 'stock.alert_raised', aggregateType: 'warehouse', aggregateId: l.warehouse_code, payload },
        );
      }
    }
  }

  private async visible(q: Q, actor: Actor, d: DocumentRow): Promise<boolean> {
    if (can(actor, 'stock.all')) return true;
    const dept = actor.departmentId;
    if (!dept) return false;
    if (d.created_department_id === dept || d.channel_department_id === dept) return true;
    const r = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM warehouses WHERE department_id = ${dept}::text AND warehouse_code IN (${d.source_warehouse_code}::text, ${d.target_warehouse_code ?? ''}::text)`.execute(q);
    return (r.rows[0]?.n ?? 0) > 0;
  }
}

function countView(r: { count_id: number; warehouse_code: string; card_type: SimCardType; book_quantity: number; counted_quantity: number; difference: number; note: string | null; operator_id: number; counted_at: Date }, diffs: { kind: 'missing' | 'unexpected'; n: number; sample: string[] }[]) {
  const missing = diffs.find((d) => d.kind === 'missing');
  const unexpected = diffs.find((d) => d.kind === 'unexpected');
  return {
    countId: r.count_id,
    warehouseCode: r.warehouse_code,
    cardType: r.card_type,
    bookQuantity: r.book_quantity,
    countedQuantity: r.counted_quantity,
    difference: r.difference,
    missing: missing?.sample ?? [],
    missingCount: missing?.n ?? 0,
    unexpected: unexpected?.sample ?? [],
    unexpectedCount: unexpected?.n ?? 0,
    note: r.note,
    operatorId: r.operator_id,
    countedAt: iso(r.counted_at),
  };
}

function unknownChannel(id: string): DomainError {
  return new DomainError('UNKNOWN_CHANNEL', `社会渠道不存在：${id}`, `Unknown social channel: ${id}`, 422, { channelDepartmentId: id });
}

function documentNotFound(id: number): DomainError {
  return new DomainError('STOCK_DOCUMENT_NOT_FOUND', `单据不存在：${id}`, `Unknown stock document: ${id}`, 404, { stockOrderId: id });
}
