// 事件投递 (R-INT-1): the outbox relay for operators — events with their state per sink, dead
// letters, figures per sink, and the retry of a dead letter. `outbox.read`: auditors and
// administrators; `outbox.retry`: administrators (`*`). Logic lives in src/platform/relay*.ts.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { Example, Id, problems, StrEnum } from '../../platform/schemas.ts';

const tags = ['integration'];
const EventType = Type.String({
  pattern: '^[a-z][a-z0-9_.-]{0,63}\\*?$',
  description: '事件类型，或以 * 结尾的前缀 / an event type, or a prefix ending in *',
  examples: ['payment.created', 'notification.*'],
});
const Sink = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$', description: '投递目标 / sink', examples: ['webhook', 'nats', 'notifications'] });
const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 });
const Before = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: '上一页的 next / the `next` of the previous page' });
const EventIdParams = Type.Object({ eventId: Id }, { additionalProperties: false });

const at = '2026-11-15T02:00:00.000Z';
const later = '2026-11-15T02:04:30.000Z';
const deadDelivery = { sink: 'webhook', status: 'dead', attempts: 10, nextAttemptAt: null, lastAttemptAt: later, lastError: 'POST https://hooks.example.com/openboss: HTTP 503', deliveredAt: null };
const eventExample = {
  eventId: 1042,
  type: 'payment.created',
  aggregateType: 'payment',
  aggregateId: '318',
  accountId: 77,
  occurredAt: at,
  publishedAt: null,
  status: 'dead',
  deliveries: [deadDelivery, { sink: 'nats', status: 'delivered', attempts: 1, nextAttemptAt: null, lastAttemptAt: at, lastError: null, deliveredAt: at }],
};

export function integrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/outbox',
    {
      config: { permission: 'outbox.read' },
      schema: {
        tags,
        summary: 'Outbox events, newest first, with their delivery state per sink (R-INT-1) · 事件投递：事件及各投递目标的状态',
        description:
          'status: `pending` 待投递 (some sink has not taken it yet), `delivered` 已投递 (every sink has it), `dead` 投递失败 (a sink gave up after the configured attempts). Consumers dedupe by `eventId`: delivery is at least once.',
        querystring: Type.Object(
          { status: Type.Optional(StrEnum(['pending', 'delivered', 'dead'] as const)), type: Type.Optional(EventType), before: Type.Optional(Before), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: { 200: Example('Events; `next` continues the list', { items: [eventExample], next: 1041 }), ...problems(403) },
      },
    },
    async (req) => ctx.relay.list(req.query as never),
  );

  app.get(
    '/outbox/dead-letters',
    {
      config: { permission: 'outbox.read' },
      schema: {
        tags,
        summary: 'Dead letters: deliveries that gave up, with the last error · 死信（投递失败）',
        querystring: Type.Object({ type: Type.Optional(EventType), sink: Type.Optional(Sink), before: Type.Optional(Before), limit: Type.Optional(Limit) }, { additionalProperties: false }),
        response: {
          200: Example('Dead deliveries, newest event first', {
            items: [{ eventId: 1042, sink: 'webhook', type: 'payment.created', aggregateType: 'payment', aggregateId: '318', occurredAt: at, attempts: 10, lastError: deadDelivery.lastError, lastAttemptAt: later }],
            next: null,
          }),
          ...problems(403),
        },
      },
    },
    async (req) => ctx.relay.deadLetters(req.query as never),
  );

  app.post(
    '/outbox/dead-letters/retry',
    {
      config: { permission: 'outbox.retry' },
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: {
        tags,
        summary: 'Retry every dead letter matching the filter (oldest first, up to 1000 events per call; `more` says there are others); each audited · 批量重新投递',
        body: Type.Object({ type: Type.Optional(EventType), sink: Type.Optional(Sink) }, { additionalProperties: false, examples: [{ type: 'payment.*', sink: 'webhook' }] }),
        response: { 200: Example('The events put back in the queue', { retried: 2, eventIds: [1041, 1042], more: false }), ...problems(403) },
      },
    },
    async (req) => ctx.relay.retryDead(req.actor, req.body as never),
  );

  app.get(
    '/outbox/stats',
    {
      config: { permission: 'outbox.read' },
      schema: {
        tags,
        summary: 'Relay figures: pending, delivered and dead per sink, the oldest pending event · 投递统计',
        response: {
          200: Example('Per sink; `waiting`: events not yet handed to the sinks', {
            now: later,
            sinks: [
              { sink: 'webhook', configured: true, pending: 3, delivered: 1200, dead: 1, oldestPendingAt: at, oldestPendingAgeSeconds: 270 },
              { sink: 'notifications', configured: true, pending: 0, delivered: 85, dead: 0, oldestPendingAt: null, oldestPendingAgeSeconds: null },
            ],
            waiting: { events: 0, oldestAt: null, oldestAgeSeconds: null },
          }),
          ...problems(403),
        },
      },
    },
    async () => ctx.relay.stats(),
  );

  app.get(
    '/outbox/:eventId',
    {
      config: { permission: 'outbox.read' },
      schema: {
        tags,
        summary: 'One event with its payload and its state per sink · 事件详情',
        params: EventIdParams,
        response: { 200: Example('The event', { ...eventExample, payload: { paymentId: 318, accountId: 77, amountFen: 5000, method: 'cash' } }), ...problems(403, 404) },
      },
    },
    async (req) => ctx.relay.event((req.params as { eventId: number }).eventId),
  );

  app.post(
    '/outbox/:eventId/retry',
    {
      config: { permission: 'outbox.retry' },
      // the body is optional (no body: every dead sink of the event)
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: {
        tags,
        summary: 'Retry a dead letter: its dead deliveries (or that of one sink) are due again with fresh attempts; audited · 重新投递',
        params: EventIdParams,
        body: Type.Object({ sink: Type.Optional(Sink) }, { additionalProperties: false, description: '可省略：重投全部失败目标 / optional: every dead sink', examples: [{ sink: 'webhook' }] }),
        response: {
          200: Example('The event, pending again', { ...eventExample, status: 'pending', deliveries: [{ ...deadDelivery, status: 'pending', attempts: 0, nextAttemptAt: later }, eventExample.deliveries[1]] }),
          ...problems(403, 404, 409),
        },
      },
    },
    async (req) => ctx.relay.retry(req.actor, (req.params as { eventId: number }).eventId, (req.body as { sink?: string } | undefined)?.sink),
  );
}
