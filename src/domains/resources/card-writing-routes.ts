// On-site card writing API (R-RES-4, R-RES-5, R-X-11): issue a write script for an order's blank
// card, report the reader's result, list an order's attempts. Logic in card-writing.ts.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { Example, Id, IdParams, problems } from '../../platform/schemas.ts';

const tags = ['card writing'];
const WriteParams = Type.Object({ writeId: Id }, { additionalProperties: false });

const cardExample = {
  iccid: '89860126100000100018',
  cardType: 'blank_128k',
  state: 'written',
  warehouseCode: '13ZDF16',
  departmentId: 'W1',
  pickedByDepartmentId: 'C1',
  pickedAt: '2026-11-15T02:00:00.000Z',
  serviceNumber: '13902201234',
  imsi: '46001123****789',
  hasCardData: true,
  stockOrderId: null,
  stateChangedAt: '2026-11-15T02:05:00.000Z',
};
const writeExample = {
  writeId: 7,
  orderId: 42,
  iccid: '89860126100000100018',
  serviceNumber: '13902201234',
  imsi: '46001123****789',
  state: 'succeeded',
  errorCode: null,
  errorMessage: null,
  operatorId: 12,
  departmentId: 'C1',
  issuedAt: '2026-11-15T02:04:00.000Z',
  expiresAt: '2026-11-15T14:04:00.000Z',
  reportedAt: '2026-11-15T02:05:00.000Z',
};

export function cardWritingRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/orders/:id/card-writes',
    {
      config: { permission: 'card.write' },
      schema: {
        tags,
        summary:
          '写卡: issue the write script of an open-account order’s blank card (R-RES-4: only the channel that picked it; R-RES-5: 请更换白卡！ / 写卡脚本内容不存在…); the number is held for the order 12 h (R-X-10)',
        params: IdParams,
        body: Type.Object({ iccid: Type.String({ pattern: '^[0-9]{19,20}$' }) }, { additionalProperties: false, examples: [{ iccid: '89860126100000100018' }] }),
        response: {
          201: Example('The write: `script` (base64, opaque, for the card reader only; never stored) and when the number’s hold ends', {
            writeId: 7,
            orderId: 42,
            iccid: '89860126100000100018',
            serviceNumber: '13902201234',
            script: 'eyJ2IjoxLCJ3cml0ZUlkIjo3LCJpY2NpZCI6Ijg5ODYwMTI2MTAwMDAwMTAwMDE4Ii…',
            expiresAt: '2026-11-15T14:04:00.000Z',
          }),
          ...problems(403, 404, 409, 422, 503),
        },
      },
    },
    async (req, reply) => {
      const view = await ctx.cardWriting.issue(req.actor, (req.params as { id: number }).id, (req.body as { iccid: string }).iccid);
      return reply.status(201).send(view);
    },
  );

  app.post(
    '/card-writes/:writeId/result',
    {
      config: { permission: 'card.write' },
      schema: {
        tags,
        summary: 'The card reader’s result, success or failure, always reported (R-X-11); a failure leaves the card picked and the number free for a retry (R-RES-5)',
        params: WriteParams,
        body: Type.Object(
          { success: Type.Boolean(), errorCode: Type.Optional(Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,40}$' })) },
          { additionalProperties: false, examples: [{ success: true }, { success: false, errorCode: 'CARD_NOT_BLANK' }] },
        ),
        response: {
          200: Example('The write closed, with the card and the number as they are now', {
            ...writeExample,
            card: cardExample,
            number: { serviceNumber: '13902201234', state: 'reserved', reservedOrderId: 42, reservedUntil: '2026-11-15T14:04:00.000Z' },
          }),
          ...problems(403, 404, 409),
        },
      },
    },
    async (req) => ctx.cardWriting.report(req.actor, (req.params as { writeId: number }).writeId, req.body as { success: boolean; errorCode?: string }),
  );

  app.get(
    '/orders/:id/card-writes',
    {
      config: { permission: 'order.read' },
      schema: {
        tags,
        summary: 'Every card write of the order, oldest first, with its result',
        params: IdParams,
        response: { 200: Example('The order’s writes', { items: [writeExample] }), ...problems(403, 404) },
      },
    },
    async (req) => ctx.cardWriting.listForOrder(req.actor, (req.params as { id: number }).id),
  );
}
