import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { Example, Id, problems, StrEnum } from '../../platform/schemas.ts';

const ServiceNumber = Type.String({ pattern: '^[0-9]{5,20}$', examples: ['13902208888'] });
const Digits = Type.String({ pattern: '^[0-9]{1,20}$' });
const NumberParams = Type.Object({ number: ServiceNumber }, { additionalProperties: false });
const NUMBER_STATES = ['free', 'reserved', 'in_use', 'frozen', 'recycled'] as const;
const SIM_STATES = ['in_stock', 'reserved', 'picked', 'written', 'activated', 'returned', 'retired'] as const;
const CARD_TYPES = ['blank_128k', 'blank_128k_micro', 'finished'] as const;
const Limit = Type.Integer({ minimum: 1, maximum: 500 });

const levelExample = { code: 'luxury_a', nameZh: '靓号A级', nameEn: 'premium A', priceFen: 200000, requiresApproval: true, requiresCampaign: false, agentAllowed: false };
const numberExample = {
  serviceNumber: '13902208888',
  numberClass: 'mobile',
  state: 'reserved',
  levelCode: 'luxury_a',
  level: levelExample,
  departmentId: 'TJ-130041',
  reservation: { kind: 'online', orderId: null, customerId: 7, operatorId: 2, reservedAt: '2026-11-15T02:00:00.000Z', reservedUntil: '2026-11-18T02:00:00.000Z' },
  subscriberId: null,
  stateChangedAt: '2026-11-15T02:00:00.000Z',
  coolingUntil: null,
};

export function resourceRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/numbers',
    {
      config: { permission: 'resource.read' },
      schema: {
        tags: ['resources'],
        summary: 'Search the number pool (选号) with level and price (R-X-10)',
        querystring: Type.Object(
          {
            state: Type.Optional(StrEnum(NUMBER_STATES)),
            level: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{1,31}$' })),
            prefix: Type.Optional(Digits),
            suffix: Type.Optional(Digits),
            departmentId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            numberClass: Type.Optional(StrEnum(['mobile', 'fixed'] as const)),
            after: Type.Optional(ServiceNumber),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: { 200: Example('Numbers in number order; `next` continues the list', { items: [numberExample], next: null }), ...problems(403) },
      },
    },
    async (req) => ctx.resources.searchNumbers(req.query as never),
  );

  app.get(
    '/numbers/:number',
    {
      config: { permission: 'resource.read' },
      schema: { tags: ['resources'], summary: 'One number of the pool with its level and reservation', params: NumberParams, response: { 200: Example('The number', numberExample), ...problems(403, 404) } },
    },
    async (req) => ctx.resources.getNumber((req.params as { number: string }).number),
  );

  app.post(
    '/numbers/:number/reservations',
    {
      config: { permission: 'resource.reserve' },
      schema: {
        tags: ['resources'],
        summary: 'Reserve a number (选号预占); it is released by a job when the hold ends (R-X-10: 72 h online, 12 h card writing)',
        params: NumberParams,
        // the body is optional: a bare POST is an online selection held for the operator
        body: Type.Union([
          Type.Null(),
          Type.Object(
            { kind: Type.Optional(StrEnum(['online', 'card_writing'] as const)), customerId: Type.Optional(Id) },
            { additionalProperties: false, examples: [{ kind: 'online', customerId: 7 }] },
          ),
        ]),
        response: { 201: Example('The reserved number; `reservation.reservedUntil` is when the hold ends', numberExample), ...problems(403, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as { kind?: 'online' | 'card_writing'; customerId?: number };
      const view = await ctx.resources.reserveNumber(req.actor, (req.params as { number: string }).number, { kind: body.kind ?? 'online', customerId: body.customerId });
      return reply.status(201).send(view);
    },
  );

  app.delete(
    '/numbers/:number/reservations',
    {
      config: { permission: 'resource.reserve' },
      schema: {
        tags: ['resources'],
        summary: 'Give a reservation back (its operator, or resource.manage)',
        params: NumberParams,
        response: { 200: Example('The number, free again', { ...numberExample, state: 'free', reservation: null }), ...problems(403, 404, 409) },
      },
    },
    async (req) => ctx.resources.releaseReservation(req.actor, (req.params as { number: string }).number),
  );

  app.get(
    '/sim-cards',
    {
      config: { permission: 'resource.read' },
      schema: {
        tags: ['resources'],
        summary: 'Search SIM cards (white and finished cards) by state, type, number or warehouse',
        querystring: Type.Object(
          {
            state: Type.Optional(StrEnum(SIM_STATES)),
            cardType: Type.Optional(StrEnum(CARD_TYPES)),
            serviceNumber: Type.Optional(ServiceNumber),
            warehouseCode: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
            after: Type.Optional(Type.String({ pattern: '^[0-9]{19,20}$' })),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Example('Cards in ICCID order', {
            items: [
              {
                iccid: '89860126100000000007',
                imsi: '460012200000000',
                cardType: 'finished',
                state: 'in_stock',
                warehouseCode: '130041',
                departmentId: 'TJ-130041',
                serviceNumber: null,
                subscriberId: null,
                stateChangedAt: '2026-11-15T02:00:00.000Z',
                activatedAt: null,
              },
            ],
            next: null,
          }),
          ...problems(403),
        },
      },
    },
    async (req) => ctx.resources.searchSims(req.query as never),
  );

  app.get(
    '/number-levels',
    {
      config: { permission: 'resource.read' },
      schema: {
        tags: ['resources'],
        summary: 'Number levels (普通/靓号) with the patterns that derive them, price and approval (R-X-10)',
        response: {
          200: Example('Levels, most valuable first', {
            items: [{ ...levelExample, priority: 10, patterns: [{ kind: 'tail_shape', shape: 'AAAA' }, { kind: 'suffix', values: ['888', '666', '999'] }] }],
          }),
          ...problems(403),
        },
      },
    },
    async () => ({ items: (await ctx.resources.levels()).map((l) => ({ ...l })) }),
  );
}
