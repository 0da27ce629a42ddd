import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { Example, IdParams, problems, StrEnum } from '../../platform/schemas.ts';
import { CustomerOverview, customerOverview } from './overview.ts';
import { ID_TYPES } from './rules.ts';

const PersonRef = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    idType: StrEnum(ID_TYPES),
    idNumber: Type.String({ minLength: 1, maxLength: 32 }),
    phone: Type.Optional(Type.String({ pattern: '^[0-9+-]{5,20}$' })),
  },
  { additionalProperties: false },
);

const NewCustomer = Type.Object(
  {
    kind: StrEnum(['person', 'organisation'] as const),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    idType: StrEnum(ID_TYPES),
    idNumber: Type.String({ minLength: 1, maxLength: 32 }),
    address: Type.Optional(Type.String({ maxLength: 256 })),
    contactPhone: Type.Optional(Type.String({ pattern: '^[0-9+-]{5,20}$' })),
    segment: Type.Optional(StrEnum(['personal', 'family', 'group'] as const)),
    vipLevel: Type.Optional(StrEnum(['none', 'silver', 'gold', 'diamond'] as const)),
    valueLevel: Type.Optional(Type.Integer({ minimum: 0, maximum: 9 })),
    servicePassword: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
    handler: Type.Optional(PersonRef),
    contact: Type.Optional(PersonRef),
  },
  {
    additionalProperties: false,
    examples: [
      { kind: 'person', name: '王小明', idType: 'resident_id', idNumber: '11010519491231002X', contactPhone: '13812345678', servicePassword: '902417', address: '天津市河西区友谊路 1 号' },
    ],
  },
);

const customerExample = {
  customerId: 1,
  kind: 'person',
  name: '王小明',
  idType: 'resident_id',
  idNumber: '110105********002X',
  masked: true,
  contactPhone: '138****5678',
  segment: 'personal',
  vipLevel: 'none',
  valueLevel: 0,
  hasServicePassword: true,
};

export function customerRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/customers',
    {
      config: { permission: 'customer.create' },
      schema: {
        tags: ['customers'],
        summary: 'Create a customer (R-CUS-1: resident IDs are checked with the GB 11643 checksum)',
        body: NewCustomer,
        response: { 201: Example('The customer', customerExample), ...problems(403, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.customers.create(req.actor, req.body as never)),
  );

  app.get(
    '/customers/:id',
    {
      config: { permission: 'customer.read' },
      schema: {
        tags: ['customers'],
        summary: 'Customer detail; ID and phone numbers are whole only for operators with customer.pii (R-CUS-2)',
        params: IdParams,
        response: { 200: Example('The customer with its accounts and subscribers', { ...customerExample, accounts: [], subscribers: [] }), ...problems(403, 404) },
      },
    },
    async (req) => ctx.customers.get(req.actor, (req.params as { id: number }).id),
  );

  app.get(
    '/customers/:id/overview',
    {
      config: { permission: 'customer.read' },
      schema: {
        tags: ['customers'],
        summary: 'Customer 360 (客户视图): the customer, its accounts with books, arrears, open bills and recent write-offs, its subscribers with their products, its orders',
        description: 'Needs customer.read and account.read; the order history needs order.read. Personal data is masked unless the operator has customer.pii (R-CUS-2).',
        params: IdParams,
        response: { 200: CustomerOverview, ...problems(403, 404) },
      },
    },
    async (req) => customerOverview({ db: ctx.database.db, clock: ctx.clock, accounts: ctx.accounts, catalog: ctx.catalog, orders: ctx.orders }, req.actor, (req.params as { id: number }).id),
  );

  app.get(
    '/customers',
    {
      config: { permission: 'customer.read' },
      schema: {
        tags: ['customers'],
        summary: 'Search by name, ID number or service number (results masked, R-CUS-2)',
        querystring: Type.Object({ q: Type.String({ minLength: 1, maxLength: 64 }), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, { additionalProperties: false }),
        response: { 200: Example('Matching customers', { items: [customerExample] }), ...problems(403) },
      },
    },
    async (req) => {
      const { q, limit } = req.query as { q: string; limit?: number };
      return { items: await ctx.customers.search(q, limit) };
    },
  );
}
