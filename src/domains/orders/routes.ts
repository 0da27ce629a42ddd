// Order API (SPEC §7): create → check → quote → receipt → submit, plus cancel, SMS confirmation, work orders.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type TObject, type TSchema, Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { DomainError } from '../../platform/errors.ts';
import { AmountFen, Example, Id, IdParams, problems, StrEnum } from '../../platform/schemas.ts';
import { renderReceiptHtml, renderReceiptPdf } from './receipt.ts';
import { BUSINESS_TYPES } from './registry.ts';

export const BUSINESS_TYPE_CODES = BUSINESS_TYPES.map((t) => t.code);

/** One schema per business type, chosen by `businessType` (an OpenAPI discriminator). */
export function orderBodySchema(): TSchema {
  return Type.Unsafe({
    oneOf: BUSINESS_TYPES.map((t) => {
      const input = t.input as TObject;
      return {
        type: 'object',
        title: t.code,
        description: `${t.name.zh} ${t.name.en}`,
        required: ['businessType', ...(input.required ?? [])],
        properties: { businessType: { type: 'string', const: t.code }, ...input.properties },
        additionalProperties: false,
      };
    }),
    discriminator: { propertyName: 'businessType' },
    description: `The order: \`businessType\` (one of ${BUSINESS_TYPE_CODES.join(', ')}) and that type's fields.`,
    examples: [ORDER_EXAMPLE],
  });
}

export const ORDER_EXAMPLE = {
  businessType: 'OPEN_ACCOUNT',
  customerId: 1,
  documents: { presenter: 'owner', ownerIdOriginal: true },
  packageCode: 'e9-C',
  newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
  members: [
    { role: 'mobile', network: 'wcdma3g', serviceNumber: '13902201234', iccid: '89860312345678901234', features: ['EVDO'], accountManager: '李经理', handset: { imei: '356938035643809', model: 'ZTE V5', priceFen: 29800 } },
    { role: 'broadband', network: 'broadband', serviceNumber: 'tj-adsl-88001', standardAddress: '天津市河西区友谊路 10 号', installAddress: '天津市河西区友谊路 10 号 3-2-501', bandwidthMbps: 4 },
  ],
};

const orderExample = {
  orderId: 42,
  businessType: 'OPEN_ACCOUNT',
  status: 'checked',
  customerId: 1,
  checks: {
    passed: false,
    failures: [{ code: 'SIM_REQUIRED', message: { zh: '手机 13902201234 须选择 SIM 卡', en: 'Mobile 13902201234 needs a SIM card' }, fix: { zh: '请扫描或录入 SIM 卡 ICCID', en: 'Scan or enter the SIM card ICCID' } }],
  },
  fees: [{ lineNo: 1, feeCode: 'INSTALL', kind: 'fee', amountFen: 5800, waivedFen: 0 }],
  payableFen: 5800,
  notices: [{ zh: '手机将在第 6 个月欠费停机，宽带随之停机', en: 'The mobile stops in month 6, the broadband with it' }],
};

const Password = Type.Object({ servicePassword: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })) }, { additionalProperties: false, examples: [{ servicePassword: '902417' }, {}] });
const Waivers = Type.Object(
  {
    waivers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            lineNo: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            feeCode: Type.Optional(Type.String({ pattern: '^[A-Z0-9_]{1,40}$' })),
            amountFen: Type.Optional(AmountFen()),
            reason: Type.String({ minLength: 1, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 50 },
      ),
    ),
  },
  { additionalProperties: false, examples: [{ waivers: [{ feeCode: 'INSTALL', reason: 'e9 续费活动：安装调测费下调为 0' }] }, {}] },
);

/** Ajv's discriminator reads the tag before checking the type: anything but an object is refused first. */
async function objectBody(req: FastifyRequest) {
  const b = req.body as unknown;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new DomainError('VALIDATION_FAILED', '请求参数不正确：请求体须为 JSON 对象', 'Invalid request: the body must be a JSON object', 400, { in: 'body' });
  }
}

export function orderRoutes(app: FastifyInstance, ctx: AppContext): void {
  const tags = ['orders'];
  const body = orderBodySchema();

  app.get('/business-types', { config: { permission: 'order.read' }, schema: { tags, summary: 'Business types (业务类型) the order engine accepts', response: problems(403) } }, async () => ({
    // sensitive: always needs the service password; sensitiveDependsOnInput: only for some inputs (RESUME from 挂失)
    items: BUSINESS_TYPES.map((t) => ({ code: t.code, name: t.name, sensitive: t.sensitive, sensitiveDependsOnInput: !t.sensitive && t.sensitiveFor !== undefined })),
  }));

  app.post(
    '/orders',
    {
      config: { permission: 'order.create' },
      preValidation: objectBody,
      schema: { tags, summary: 'Start an order (受理) as a draft', body, response: { 201: Example('The draft order', { ...orderExample, status: 'draft', checks: null }), ...problems(403, 422) } },
    },
    async (req, reply) => reply.status(201).send(await ctx.orders.create(req.actor, req.body as never)),
  );

  app.get(
    '/orders',
    {
      config: { permission: 'order.read' },
      schema: {
        tags,
        summary: 'Order history (newest first), scoped to the operator’s department',
        querystring: Type.Object(
          {
            customerId: Type.Optional(Id),
            subscriberId: Type.Optional(Id),
            status: Type.Optional(StrEnum(['draft', 'checked', 'quoted', 'awaiting_confirmation', 'submitted', 'completed', 'cancelled'] as const)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Example('Orders', { items: [{ orderId: 42, businessType: 'OPEN_ACCOUNT', status: 'completed' }] }), ...problems(403) },
      },
    },
    async (req) => ({ items: await ctx.orders.list(req.actor, req.query as never) }),
  );

  app.get(
    '/orders/:id',
    { config: { permission: 'order.read' }, schema: { tags, summary: 'An order with its checks, fees, changes, notices and result', params: IdParams, response: { 200: Example('The order', orderExample), ...problems(403, 404) } } },
    async (req) => ctx.orders.get(req.actor, (req.params as { id: number }).id),
  );

  app.patch(
    '/orders/:id',
    {
      config: { permission: 'order.create' },
      preValidation: objectBody,
      schema: { tags, summary: 'Change a draft’s input; it must be checked again', params: IdParams, body, response: { 200: Example('The order, back to draft', { ...orderExample, status: 'draft' }), ...problems(403, 404, 409, 422) } },
    },
    async (req) => ctx.orders.update(req.actor, (req.params as { id: number }).id, req.body as never),
  );

  app.post(
    '/orders/:id/check',
    {
      config: { permission: 'order.create' },
      schema: {
        tags,
        summary: 'Check (校验): every failing rule with its code, message and fix (R-ORD-1); sensitive types verify the service password',
        params: IdParams,
        body: Password,
        response: { 200: Example('The order: `checked`, or `draft` with the failures', orderExample), ...problems(403, 404, 409) },
      },
    },
    async (req) => ctx.orders.check(req.actor, (req.params as { id: number }).id, req.body as never),
  );

  app.post(
    '/orders/:id/quote',
    {
      config: { permission: 'order.create' },
      schema: {
        tags,
        summary: 'Quote (预算): the fee lines, with waivers by permission order.waive (R-ORD-2)',
        params: IdParams,
        body: Waivers,
        response: { 200: Example('The quoted order', { ...orderExample, status: 'quoted' }), ...problems(403, 404, 409, 422) },
      },
    },
    async (req) => ctx.orders.quote(req.actor, (req.params as { id: number }).id, req.body as never),
  );

  app.get(
    '/orders/:id/receipt',
    {
      config: { permission: 'order.read' },
      schema: {
        tags,
        summary: 'The receipt (免填单, R-ORD-3) as a print-styled HTML page, or as PDF with an embedded CJK font',
        params: IdParams,
        querystring: Type.Object({ format: Type.Optional(StrEnum(['html', 'pdf'] as const)), lang: Type.Optional(StrEnum(['zh', 'en'] as const)) }, { additionalProperties: false }),
        produces: ['text/html', 'application/pdf'],
        response: { 200: Type.String({ description: 'text/html or application/pdf' }), ...problems(403, 404, 409) },
      },
    },
    async (req, reply) => {
      const { format, lang } = req.query as { format?: 'html' | 'pdf'; lang?: 'zh' | 'en' };
      const data = await ctx.orders.receiptData(req.actor, (req.params as { id: number }).id);
      if (format === 'pdf') {
        const pdf = await renderReceiptPdf(data, lang ?? 'zh');
        return reply.type('application/pdf').header('content-disposition', `inline; filename="receipt-${data.orderId}.pdf"`).send(pdf);
      }
      return reply.type('text/html; charset=utf-8').send(renderReceiptHtml(data, lang ?? 'zh'));
    },
  );

  app.post(
    '/orders/:id/submit',
    {
      config: { permission: 'order.create' },
      schema: {
        tags,
        summary:
          'Submit (提交): every change, prestore, fee, work order and event in one transaction (R-ORD-4); SMS-confirmed products wait (R-ORD-6); a network activation refused reverses the order (502 NETWORK_ACTIVATION_FAILED, R-X-11)',
        params: IdParams,
        body: Type.Object({}, { additionalProperties: false, examples: [{}] }),
        response: { 200: Example('The order: completed, submitted (awaiting a work order) or awaiting_confirmation', { ...orderExample, status: 'completed' }), ...problems(403, 404, 409, 422, 502) },
      },
    },
    async (req) => ctx.orders.submit(req.actor, (req.params as { id: number }).id),
  );

  app.post(
    '/orders/:id/confirmation',
    {
      config: { permission: 'order.create' },
      schema: {
        tags,
        summary: 'The customer’s reply to the SMS double confirmation (R-ORD-6); the notification adapter calls it too',
        params: IdParams,
        body: Type.Object({ accepted: Type.Boolean(), reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false, examples: [{ accepted: true }] }),
        response: { 200: Example('The order after the reply', { ...orderExample, status: 'completed' }), ...problems(403, 404, 409, 422, 502) },
      },
    },
    async (req) => ctx.orders.confirm(req.actor, (req.params as { id: number }).id, req.body as never),
  );

  app.post(
    '/orders/:id/cancel',
    {
      config: { permission: 'order.create' },
      schema: {
        tags,
        summary: 'Cancel (撤单) an order that is not yet submitted',
        params: IdParams,
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false, examples: [{ reason: '客户放弃办理' }] }),
        response: { 200: Example('The cancelled order', { ...orderExample, status: 'cancelled' }), ...problems(403, 404, 409) },
      },
    },
    async (req) => ctx.orders.cancel(req.actor, (req.params as { id: number }).id, (req.body as { reason: string }).reason),
  );

  app.get(
    '/work-orders',
    {
      config: { permission: 'order.read' },
      schema: {
        tags,
        summary: 'Work orders (installations)',
        querystring: Type.Object({ status: Type.Optional(StrEnum(['open', 'completed', 'cancelled'] as const)), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, { additionalProperties: false }),
        response: { 200: Example('Work orders', { items: [{ workOrderId: 3, orderId: 42, kind: 'installation', status: 'open' }] }), ...problems(403) },
      },
    },
    async (req) => ({ items: await ctx.orders.workOrders(req.query as never) }),
  );

  app.post(
    '/work-orders/:id/complete',
    {
      config: { permission: 'workorder.complete' },
      schema: {
        tags,
        summary: 'Complete (竣工) a work order; its order completes when no work order is left open',
        params: IdParams,
        body: Type.Object({ note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false, examples: [{ note: '已装机调测，信号正常' }] }),
        response: { 200: Example('The completed work order', { workOrderId: 3, orderId: 42, status: 'completed' }), ...problems(403, 404, 409) },
      },
    },
    async (req) => ctx.orders.completeWorkOrder(req.actor, (req.params as { id: number }).id, (req.body as { note?: string }).note),
  );
}
