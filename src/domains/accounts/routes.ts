import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { CYCLE_PATTERN } from '../../platform/clock.ts';
import { paymentView } from './money.ts';
import { AmountFen, Example, Id, IdParams, problems, StrEnum } from '../../platform/schemas.ts';

const ItemCode = Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,31}$' });
const DateOrInstant = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}([T ][0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$', maxLength: 40 });
const Cycle = Type.String({ pattern: CYCLE_PATTERN, examples: ['2026-11'] });

const bookExample = {
  bookId: 12,
  bookType: 'restricted_fund',
  amountFen: 60000,
  balanceFen: 55000,
  restrictedItems: ['ADDON_FEE', 'RENT_BB', 'RENT_BB_ADJ'],
  subscriberId: null,
  startAt: '2026-11-23T02:00:00.000Z',
  expiryAt: null,
  sourceKind: 'payment',
  closedAt: null,
};

const CreditFields = {
  amountFen: AmountFen({ examples: [60000] }),
  bookType: Type.String({ minLength: 1, maxLength: 32, examples: ['restricted_fund'] }),
  restrictedItems: Type.Optional(Type.Array(ItemCode, { maxItems: 20 })),
  subscriberId: Type.Optional(Id),
  startDate: Type.Optional(DateOrInstant),
  expiryDate: Type.Optional(DateOrInstant),
};

export function accountRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/accounts',
    {
      config: { permission: 'account.create' },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account (帐户) for a customer',
        body: Type.Object(
          {
            customerId: Id,
            billingType: StrEnum(['virtual', 'quota', 'monthly'] as const),
            paymentMethod: StrEnum(['cash', 'recharge_card', 'bank_agency', 'bank_collection'] as const),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            bankName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            bankAccountHolder: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            bankAccountNumber: Type.Optional(Type.String({ pattern: '^[0-9]{8,32}$' })),
            creditLimitFen: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
          },
          { additionalProperties: false, examples: [{ customerId: 1, billingType: 'virtual', paymentMethod: 'cash' }] },
        ),
        response: { 201: Example('The account', { accountId: 1, customerId: 1, billingType: 'virtual', paymentMethod: 'cash', status: 'active' }), ...problems(403, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.accounts.createAccount(req.actor, req.body as never)),
  );

  app.get(
    '/accounts/:id',
    {
      config: { permission: 'account.read' },
      schema: { tags: ['accounts'], summary: 'An account and the subscribers it pays by default', params: IdParams, response: problems(403, 404) },
    },
    async (req) => ctx.accounts.getAccount(req.actor, (req.params as { id: number }).id),
  );

  app.post(
    '/subscribers',
    {
      config: { permission: 'subscriber.create' },
      schema: {
        tags: ['subscribers'],
        summary: 'Create a minimal subscriber (orders replace this for front-desk use)',
        body: Type.Object(
          {
            customerId: Id,
            accountId: Id,
            serviceNumber: Type.String({ minLength: 4, maxLength: 40 }),
            network: StrEnum(['gsm2g', 'wcdma3g', 'broadband', 'fixed'] as const),
          },
          { additionalProperties: false, examples: [{ customerId: 1, accountId: 1, serviceNumber: '18602201234', network: 'wcdma3g' }] },
        ),
        response: { 201: Example('The subscriber', { subscriberId: 1, serviceNumber: '18602201234', network: 'wcdma3g', status: 'normal' }), ...problems(403, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.accounts.createSubscriber(req.actor, req.body as never)),
  );

  app.get(
    '/subscribers/:serviceNumber',
    {
      config: { permission: 'account.read' },
      schema: {
        tags: ['subscribers'],
        summary: 'A subscriber by service number',
        params: Type.Object({ serviceNumber: Type.String({ minLength: 1, maxLength: 40 }) }),
        querystring: Type.Object({ network: Type.Optional(StrEnum(['gsm2g', 'wcdma3g', 'broadband', 'fixed'] as const)) }, { additionalProperties: false }),
        response: problems(403, 404),
      },
    },
    async (req) => ctx.accounts.getSubscriber((req.params as { serviceNumber: string }).serviceNumber, (req.query as { network?: never }).network),
  );

  app.post(
    '/subscribers/:id/payment-relations',
    {
      config: { permission: 'relation.manage' },
      schema: {
        tags: ['subscribers'],
        summary: 'Let another account pay this subscriber (他人付费 / 集团统付, R-ACC-8..10)',
        params: IdParams,
        body: Type.Object(
          {
            payerAccountId: Id,
            priority: Type.Integer({ minimum: 0, maximum: 1000 }),
            items: Type.Optional(Type.Array(ItemCode, { minItems: 1, maxItems: 50 })),
            limitFen: Type.Optional(AmountFen()),
          },
          { additionalProperties: false, examples: [{ payerAccountId: 7, priority: 1, items: ['RENT_PLAN'], limitFen: 5000 }] },
        ),
        response: { 201: Example('The relation', { relationId: 3, subscriberId: 2, payerAccountId: 7, priority: 1, items: ['RENT_PLAN'], limitFen: 5000, mode: 'listed_limited' }), ...problems(403, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.accounts.createRelation(req.actor, (req.params as { id: number }).id, req.body as never)),
  );

  app.get(
    '/subscribers/:id/payment-relations',
    {
      config: { permission: 'relation.read' },
      schema: { tags: ['subscribers'], summary: 'The payment relations of a subscriber (出账关系)', params: IdParams, response: problems(403, 404) },
    },
    async (req) => ctx.accounts.relations((req.params as { id: number }).id),
  );

  app.delete(
    '/subscribers/:id/payment-relations/:relationId',
    {
      config: { permission: 'relation.manage' },
      schema: {
        tags: ['subscribers'],
        summary: 'Revoke a payment relation (from the next bill on)',
        params: Type.Object({ id: Id, relationId: Id }, { additionalProperties: false }),
        response: problems(403, 404),
      },
    },
    async (req) => {
      const p = req.params as { id: number; relationId: number };
      return ctx.accounts.revokeRelation(req.actor, p.id, p.relationId);
    },
  );

  app.post(
    '/accounts/:id/bills',
    {
      config: { permission: 'bill.manual' },
      schema: {
        tags: ['money'],
        summary: 'Manual bill (帐务调整): itemised charges of a cycle, assigned by payment relations and written off at once',
        params: IdParams,
        body: Type.Object(
          {
            cycle: Cycle,
            lines: Type.Array(Type.Object({ subscriberId: Id, item: ItemCode, amountFen: AmountFen() }, { additionalProperties: false }), { minItems: 1, maxItems: 500 }),
          },
          { additionalProperties: false, examples: [{ cycle: '2026-11', lines: [{ subscriberId: 1, item: 'RENT_PLAN', amountFen: 6900 }] }] },
        ),
        response: { 201: Example('The bills per paying account with their write-offs', { bills: [{ accountId: 1, billId: 4, cycle: '2026-11', postedFen: 6900, lines: [], writeOffs: [] }] }), ...problems(403, 404, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.money.postBill(req.actor, (req.params as { id: number }).id, req.body as never)),
  );

  app.post(
    '/accounts/:id/payments',
    {
      config: { permission: 'payment.create' },
      schema: {
        tags: ['money'],
        summary: 'Take a payment (缴费): creates a book of the given type, then writes off open bills (R-ACC-12..14)',
        params: IdParams,
        body: Type.Object(
          {
            ...CreditFields,
            channel: StrEnum(['front_desk', 'recharge_card', 'bank_agency', 'bank_collection', 'ota'] as const),
            idempotencyKey: Type.String({ minLength: 8, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }),
            payFirst: Type.Optional(
              Type.Object(
                {
                  subscriberIds: Type.Optional(Type.Array(Id, { maxItems: 50 })),
                  cycles: Type.Optional(Type.Array(Cycle, { maxItems: 24 })),
                  items: Type.Optional(Type.Array(ItemCode, { maxItems: 20 })),
                },
                { additionalProperties: false, description: 'R-X-5: the customer asks to pay these first' },
              ),
            ),
          },
          {
            additionalProperties: false,
            examples: [
              { amountFen: 60000, bookType: 'restricted_fund', restrictedItems: ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'], channel: 'front_desk', idempotencyKey: 'hall01-20261123-0001' },
              { amountFen: 10000, bookType: 'cash', channel: 'front_desk', idempotencyKey: '5f0c9a7e-2b1d-4c39-9a55-0d8e2f1b7c11' },
            ],
          },
        ),
        response: {
          201: Example('The payment, its write-off lines and the account’s books', {
            payment: { paymentId: 31, accountId: 1, kind: 'payment', amountFen: 60000, bookType: 'restricted_fund', bookId: 12, channel: 'front_desk' },
            writeOffs: [{ lineId: 7, bookId: 12, amountFen: 5000 }],
            books: [bookExample],
            replayed: false,
          }),
          200: Example('The same idempotency key again: the original payment (R-ACC-14)', { replayed: true }),
          ...problems(403, 404, 409, 422),
        },
      },
    },
    async (req, reply) => {
      const { replayed, result } = await ctx.money.pay(req.actor, (req.params as { id: number }).id, req.body as never);
      return reply.status(replayed ? 200 : 201).send({ ...result, replayed });
    },
  );

  app.post(
    '/accounts/:id/grants',
    {
      config: { permission: 'grant.create' },
      schema: {
        tags: ['money'],
        summary: 'Give money to an account (优惠/赠送): a book of its own, then write-off',
        params: IdParams,
        body: Type.Object(
          { ...CreditFields, reason: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false, examples: [{ amountFen: 2000, bookType: 'discount', reason: '投诉补偿', expiryDate: '2026-12-31' }] },
        ),
        response: problems(403, 404, 409, 422),
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.money.grant(req.actor, (req.params as { id: number }).id, req.body as never)),
  );

  app.post(
    '/payments/:id/reversal',
    {
      config: { permission: 'payment.reverse' },
      schema: {
        tags: ['money'],
        summary: 'Reverse a payment (冲正): negative records undo its write-offs and book (R-ACC-15, R-X-8)',
        params: IdParams,
        // the body is optional (a bare POST reverses); when sent it is { reason }
        body: Type.Union([Type.Null(), Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false })], {
          examples: [{ reason: '营业员录入金额错误' }],
        }),
        response: problems(403, 404, 409),
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as { reason?: string };
      return reply.status(201).send(await ctx.money.reverse(req.actor, (req.params as { id: number }).id, body.reason ?? ''));
    },
  );

  app.get(
    '/accounts/:id/balance',
    {
      config: { permission: 'account.read' },
      schema: {
        tags: ['money'],
        summary: 'Books, open bills, arrears and the real-time balance (R-CC-1 without usage)',
        params: IdParams,
        response: {
          200: Example('The balance', { accountId: 1, books: [{ ...bookExample, status: 'usable' }], openBills: [], usableBalanceFen: 55000, arrearsFen: 0, creditLimitFen: 0, realtimeBalanceFen: 55000 }),
          ...problems(403, 404),
        },
      },
    },
    async (req) => ctx.accounts.balance((req.params as { id: number }).id),
  );

  app.get(
    '/accounts/:id/write-offs',
    {
      config: { permission: 'account.read' },
      schema: {
        tags: ['money'],
        summary: 'Write-off lines (销账信息): bill line, book, amount (R-ACC-6)',
        params: IdParams,
        querystring: Type.Object({ cycle: Type.Optional(Cycle) }, { additionalProperties: false }),
        response: problems(403, 404),
      },
    },
    async (req) => ctx.accounts.writeOffs((req.params as { id: number }).id, (req.query as { cycle?: string }).cycle),
  );

  app.get(
    '/accounts/:id/payments',
    { config: { permission: 'account.read' }, schema: { tags: ['money'], summary: 'Payments and reversals of an account, newest first', params: IdParams, response: problems(403, 404) } },
    async (req) => ({ items: (await ctx.accounts.payments((req.params as { id: number }).id)).map(paymentView) }),
  );

  app.get('/reference/book-types', { schema: { tags: ['reference'], summary: 'Book types in write-off order (R-ACC-1)', response: problems() } }, async () => ({
    items: await ctx.reference.allBookTypes(),
  }));
  app.get('/reference/bill-items', { schema: { tags: ['reference'], summary: 'Bill items in write-off priority (R-X-5)', response: problems() } }, async () => ({
    items: await ctx.reference.allItems(),
  }));
}
