// Stock: warehouses with stock and min/max alerts, cards and their history, stock documents (transfers
// R-RES-1/R-X-12, agent picks R-RES-2, returns R-RES-3) and counts. Logic lives in StockService.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { Example, Id, IdParams, problems, StrEnum } from '../../platform/schemas.ts';
import type { DocumentAction } from './stock-rules.ts';

const CARD_TYPES = ['blank_128k', 'blank_128k_micro', 'finished'] as const;
const CARD_STATES = ['in_stock', 'reserved', 'picked', 'written', 'activated', 'returned', 'retired'] as const;
const Iccid = Type.String({ pattern: '^[0-9]{19,20}$', examples: ['89860126100000000007'] });
const WarehouseCode = Type.String({ pattern: '^[0-9A-Z]{4,16}$', examples: ['13ZDF16'] });
const DepartmentId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', examples: ['TJ-130041-C01'] });
const CardType = StrEnum(CARD_TYPES);
/** An ICCID text file as a list (one request carries up to 200,000 cards). */
const Iccids = Type.Array(Iccid, { minItems: 1, maxItems: 200_000 });
const Range = Type.Object({ from: Iccid, to: Iccid }, { additionalProperties: false });
const Note = Type.String({ maxLength: 500 });
const Quantity = Type.Integer({ minimum: 1, maximum: 1_000_000 });
/** Routes that take ICCID lists accept larger bodies than the API default. */
const LIST_BODY_LIMIT = 8 * 1024 * 1024;

const at = '2026-11-15T02:00:00.000Z';
const cardExample = {
  iccid: '89860126100000000007',
  cardType: 'blank_128k_micro',
  state: 'picked',
  warehouseCode: '13ZDF16',
  departmentId: 'TJ-13ZDF16',
  pickedByDepartmentId: 'TJ-130041-C01',
  pickedAt: at,
  serviceNumber: null,
  imsi: '46001123****789',
  hasCardData: true,
  stockOrderId: null,
  stateChangedAt: at,
};
const documentExample = {
  stockOrderId: 12,
  kind: 'pick',
  state: 'pending',
  sourceWarehouseCode: '13ZDF16',
  targetWarehouseCode: null,
  channelDepartmentId: 'TJ-130041-C01',
  channelName: '河西宏达通讯',
  cardType: 'blank_128k_micro',
  selection: 'quantity',
  quantity: 10,
  note: null,
  createdBy: { operatorId: 5, name: '写卡库管员' },
  createdAt: at,
  outApprovedAt: null,
  inApprovedAt: null,
  closedAt: null,
  closeReason: null,
  iccids: ['89860126100000000007'],
  confirmMessage: { zh: '批量领卡成功，确认正式提交？', en: 'Cards picked. Submit formally?' },
};
const transferExample = {
  ...documentExample,
  kind: 'allocate',
  state: 'out_approved',
  sourceWarehouseCode: '130041',
  targetWarehouseCode: '13ZDF16',
  channelDepartmentId: null,
  channelName: null,
  outApprovedAt: at,
  confirmMessage: undefined,
};
const warehouseExample = {
  warehouseCode: '13ZDF16',
  name: '河西分公司社会渠道现场写卡库',
  level: 'writing',
  category: 'own_outlet',
  departmentId: 'TJ-13ZDF16',
  departmentName: '河西分公司社会渠道写卡库',
  parentCode: '130041',
  stock: [{ cardType: 'blank_128k_micro', inStock: 8, locked: 0, picked: 10, minQuantity: 20, maxQuantity: 500, alert: 'below_min' }],
};
const countExample = {
  countId: 3,
  warehouseCode: '13ZDF16',
  cardType: 'blank_128k',
  bookQuantity: 100,
  countedQuantity: 99,
  difference: -1,
  missing: ['89860126100000000015'],
  missingCount: 1,
  unexpected: [],
  unexpectedCount: 0,
  note: '月末盘点',
  operatorId: 5,
  countedAt: at,
};

const tags = ['stock'];

export function stockRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/stock/warehouses',
    {
      config: { permission: 'stock.read' },
      schema: {
        tags,
        summary: "The operator's warehouses (all with stock.all) with stock per card type and min/max alerts (R-X-12)",
        response: { 200: Example('Warehouses in code order', { items: [warehouseExample] }), ...problems(403) },
      },
    },
    async (req) => ctx.stock.warehouses(req.actor),
  );

  app.put(
    '/stock/warehouses/:code/limits',
    {
      config: { permission: 'stock.count' },
      schema: {
        tags,
        summary: "Set a warehouse's min/max stock per card type (R-X-12)",
        params: Type.Object({ code: WarehouseCode }, { additionalProperties: false }),
        body: Type.Object(
          {
            limits: Type.Array(
              Type.Object({ cardType: CardType, minQuantity: Type.Integer({ minimum: 0, maximum: 10_000_000 }), maxQuantity: Type.Integer({ minimum: 0, maximum: 10_000_000 }) }, { additionalProperties: false }),
              { minItems: 1, maxItems: 3 },
            ),
          },
          { additionalProperties: false, examples: [{ limits: [{ cardType: 'blank_128k_micro', minQuantity: 20, maxQuantity: 500 }] }] },
        ),
        response: { 200: Example('The warehouse with its stock and alerts', warehouseExample), ...problems(403, 404, 422) },
      },
    },
    async (req) => ctx.stock.putLimits(req.actor, (req.params as { code: string }).code, (req.body as { limits: never[] }).limits),
  );

  app.get(
    '/stock/alerts',
    {
      config: { permission: 'stock.read' },
      schema: {
        tags,
        summary: 'Warehouses and card types whose available stock is below the minimum or above the maximum (R-X-12)',
        response: {
          200: Example('Alerts', {
            items: [{ warehouseCode: '13ZDF16', name: '河西分公司社会渠道现场写卡库', departmentId: 'TJ-13ZDF16', cardType: 'blank_128k_micro', inStock: 8, minQuantity: 20, maxQuantity: 500, alert: 'below_min' }],
          }),
          ...problems(403),
        },
      },
    },
    async (req) => ctx.stock.alerts(req.actor),
  );

  app.get(
    '/stock/channels',
    {
      config: { permission: 'stock.read' },
      schema: {
        tags,
        summary: "Social channels the operator may pick cards for (its branch's; all with stock.all)",
        response: { 200: Example('Channels', { items: [{ departmentId: 'TJ-130041-C01', name: '河西宏达通讯', parentId: 'TJ-130041' }] }), ...problems(403) },
      },
    },
    async (req) => ctx.stock.channels(req.actor),
  );

  app.get(
    '/stock/cards',
    {
      config: { permission: 'stock.read' },
      schema: {
        tags,
        summary: "Cards of the operator's stock (and picked by its channel) by warehouse, state, type, channel or ICCID range",
        querystring: Type.Object(
          {
            warehouseCode: Type.Optional(WarehouseCode),
            state: Type.Optional(StrEnum(CARD_STATES)),
            cardType: Type.Optional(CardType),
            channelDepartmentId: Type.Optional(DepartmentId),
            from: Type.Optional(Iccid),
            to: Type.Optional(Iccid),
            after: Type.Optional(Iccid),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Example('Cards in ICCID order; `next` continues the list', { items: [cardExample], next: null }), ...problems(403) },
      },
    },
    async (req) => ctx.stock.cards(req.actor, req.query as never),
  );

  app.get(
    '/stock/cards/:iccid',
    {
      config: { permission: 'stock.read' },
      schema: {
        tags,
        summary: 'One card with its whole history (every change of place or state)',
        params: Type.Object({ iccid: Iccid }, { additionalProperties: false }),
        response: {
          200: Example('The card and its history, oldest first', {
            card: cardExample,
            history: [
              {
                eventId: 41,
                at,
                event: 'picked',
                fromState: 'in_stock',
                toState: 'picked',
                warehouseCode: '13ZDF16',
                holderDepartmentId: 'TJ-130041-C01',
                stockOrderId: 12,
                orderId: null,
                operatorId: 5,
                operatorName: '写卡库管员',
                detail: null,
              },
            ],
          }),
          ...problems(403, 404),
        },
      },
    },
    async (req) => ctx.stock.card(req.actor, (req.params as { iccid: string }).iccid),
  );

  app.post(
    '/stock/transfers',
    {
      bodyLimit: LIST_BODY_LIMIT,
      config: { permission: 'stock.transfer' },
      schema: {
        tags,
        summary: 'R-RES-1: a transfer (allocate = 下拨 down the tree, transfer = 调拨) by quantity, ICCID list or range; the cards are locked until approved out then in',
        body: Type.Object(
          {
            kind: StrEnum(['allocate', 'transfer'] as const),
            sourceWarehouseCode: WarehouseCode,
            targetWarehouseCode: WarehouseCode,
            cardType: CardType,
            quantity: Type.Optional(Quantity),
            iccids: Type.Optional(Iccids),
            range: Type.Optional(Range),
            note: Type.Optional(Note),
          },
          { additionalProperties: false, examples: [{ kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'blank_128k_micro', quantity: 10 }] },
        ),
        response: { 201: Example('The pending transfer', { ...transferExample, state: 'pending', outApprovedAt: null }), ...problems(403, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.stock.createTransfer(req.actor, req.body as never)),
  );

  app.post(
    '/stock/picks',
    {
      bodyLimit: LIST_BODY_LIMIT,
      config: { permission: 'stock.pick' },
      schema: {
        tags,
        summary: "R-RES-2: an agent batch pick (批量领卡) by the warehouse department's operator for a social channel; pending until confirmed",
        body: Type.Object(
          {
            warehouseCode: WarehouseCode,
            channelDepartmentId: DepartmentId,
            cardType: CardType,
            quantity: Type.Optional(Quantity),
            iccids: Type.Optional(Iccids),
            range: Type.Optional(Range),
            note: Type.Optional(Note),
          },
          { additionalProperties: false, examples: [{ warehouseCode: '13ZDF16', channelDepartmentId: 'TJ-130041-C01', cardType: 'blank_128k_micro', quantity: 10 }] },
        ),
        response: { 201: Example('The pending pick with its confirmation message', documentExample), ...problems(403, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.stock.createPick(req.actor, req.body as never)),
  );

  app.post(
    '/stock/returns',
    {
      bodyLimit: LIST_BODY_LIMIT,
      config: { permission: 'stock.pick' },
      schema: {
        tags,
        summary: 'R-RES-3: an agent batch return (批量退卡) by ICCID list or range, all or nothing; 卡库位不一致 when a card was not picked by the channel',
        body: Type.Object(
          { channelDepartmentId: DepartmentId, iccids: Type.Optional(Iccids), range: Type.Optional(Range), note: Type.Optional(Note) },
          { additionalProperties: false, examples: [{ channelDepartmentId: 'TJ-130041-C01', range: { from: '89860126100000000007', to: '89860126100000000098' } }] },
        ),
        response: {
          201: Example('The pending return', { ...documentExample, kind: 'return', cardType: null, selection: 'range', confirmMessage: undefined }),
          ...problems(403, 404, 409, 422),
        },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.stock.createReturn(req.actor, req.body as never)),
  );

  app.get(
    '/stock/documents',
    {
      config: { permission: 'stock.read' },
      schema: {
        tags,
        summary: "Stock documents of the operator's warehouses, newest first: box=out (mine as source or creator), box=in (transfers to me, picks for my channel)",
        querystring: Type.Object(
          {
            kind: Type.Optional(StrEnum(['allocate', 'transfer', 'pick', 'return'] as const)),
            state: Type.Optional(StrEnum(['pending', 'out_approved', 'completed', 'cancelled', 'rejected'] as const)),
            box: Type.Optional(StrEnum(['out', 'in'] as const)),
            after: Type.Optional(Id),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Example('Documents; `next` continues the list', { items: [transferExample], next: null }), ...problems(403) },
      },
    },
    async (req) => ctx.stock.documents(req.actor, req.query as never),
  );

  app.get(
    '/stock/documents/:id',
    {
      config: { permission: 'stock.read' },
      schema: { tags, summary: 'One stock document with its first 200 ICCIDs', params: IdParams, response: { 200: Example('The document', transferExample), ...problems(403, 404) } },
    },
    async (req) => ctx.stock.document(req.actor, (req.params as { id: number }).id),
  );

  const action = (path: string, act: DocumentAction, permission: string, summary: string, withReason: boolean) =>
    app.post(
      `/stock/documents/:id/${path}`,
      {
        config: { permission },
        schema: {
          tags,
          summary,
          params: IdParams,
          ...(withReason
            ? {
                body: Type.Union([
                  Type.Null(),
                  Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false, examples: [{ reason: '数量有误，重新下拨' }] }),
                ]),
              }
            : {}),
          response: { 200: Example('The document after the step', transferExample), ...problems(403, 404, 409, 422) },
        },
      },
      async (req) => ctx.stock.act(req.actor, (req.params as { id: number }).id, act, { reason: (req.body as { reason?: string } | null | undefined)?.reason }),
    );
  action('approve-out', 'approve-out', 'stock.transfer', "R-RES-1: the source warehouse's department approves the transfer out", false);
  action('approve-in', 'approve-in', 'stock.transfer', "R-RES-1: the target's department approves it in; the cards move now (TRANSFER_NOT_OUT_APPROVED before the out approval)", false);
  action('confirm', 'confirm', 'stock.pick', 'R-RES-2/3: submit a pending pick or return formally; the cards change hands now', false);
  action('cancel', 'cancel', 'stock.read', "R-X-12: the sender cancels a document until it is received (TRANSFER_ALREADY_RECEIVED after); the cards are released", true);
  action('reject', 'reject', 'stock.transfer', 'R-X-12: the target refuses a transfer approved out; the cards stay at the source', true);

  app.post(
    '/stock/counts',
    {
      bodyLimit: LIST_BODY_LIMIT,
      config: { permission: 'stock.count' },
      schema: {
        tags,
        summary: 'R-X-12: a stock count (盘点) against the book, by quantity or ICCID list (missing and unexpected cards recorded)',
        body: Type.Object(
          {
            warehouseCode: WarehouseCode,
            cardType: CardType,
            countedQuantity: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
            iccids: Type.Optional(Type.Array(Iccid, { maxItems: 1_000_000 })),
            note: Type.Optional(Note),
          },
          { additionalProperties: false, examples: [{ warehouseCode: '13ZDF16', cardType: 'blank_128k', countedQuantity: 99, note: '月末盘点' }] },
        ),
        response: { 201: Example('The count with its differences', countExample), ...problems(403, 404, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.stock.createCount(req.actor, req.body as never)),
  );

  app.get(
    '/stock/counts',
    {
      config: { permission: 'stock.read' },
      schema: {
        tags,
        summary: "Stock counts of the operator's warehouses, newest first",
        querystring: Type.Object({ warehouseCode: Type.Optional(WarehouseCode), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, { additionalProperties: false }),
        response: { 200: Example('Counts', { items: [countExample] }), ...problems(403) },
      },
    },
    async (req) => ctx.stock.counts(req.actor, req.query as never),
  );
}
