// Bundle API (SPEC §8): the unbind query by number (R-BND-15), one bundle, and a customer's bundles
// for the 360 panel (members, monthly grants R-BND-7/8, family numbers R-BND-9). Orders bind and unbind.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { Example, Id, problems } from '../../platform/schemas.ts';

const bundleExample = {
  packageId: 41,
  offerCode: 'BND-2G-BB',
  name: { zh: '2G+宽带 捆绑', en: '2G + broadband bundle' },
  generation: '2G',
  status: 'active',
  customerId: 12,
  accountId: 20,
  linkage: 'next_cycle_if_funded',
  orderId: 301,
  startedAt: '2026-11-15T02:00:00.000Z',
  endedAt: null,
  endedOrderId: null,
  endedReason: null,
  members: [
    { role: 'mobile', subscriberId: 30, serviceNumber: '13302201234', network: 'gsm2g', status: 'normal', accountId: 20, joinedAt: '2026-11-15T02:00:00.000Z', leftAt: null },
    { role: 'broadband', subscriberId: 31, serviceNumber: '13302201234', network: 'broadband', status: 'normal', accountId: 20, joinedAt: '2026-11-15T02:00:00.000Z', leftAt: null },
  ],
  grants: [{ cycle: '2026-12', status: 'granted', reason: null, amountFen: 2000, grantedAt: '2026-11-30T22:00:00.000Z', caughtUp: false, items: [{ kind: 'money', grantId: 7, amountFen: 2000, bookId: 55 }] }],
  familyNumbers: [],
};

export function bundleRoutes(app: FastifyInstance, ctx: AppContext): void {
  const tags = ['bundles'];
  app.get(
    '/bundles',
    {
      config: { permission: 'bundle.read' },
      schema: {
        tags,
        summary: 'The unbind query (R-BND-15): the active bundle a number (or broadband account) belongs to',
        querystring: Type.Object({ serviceNumber: Type.String({ minLength: 4, maxLength: 40 }) }, { additionalProperties: false }),
        response: { 200: Example('The active bundle of the number', { items: [bundleExample] }), ...problems(403, 404) },
      },
    },
    async (req) => ctx.bundles.lookup((req.query as { serviceNumber: string }).serviceNumber),
  );
  app.get(
    '/bundles/:packageId',
    {
      config: { permission: 'bundle.read' },
      schema: {
        tags,
        summary: 'One bundle, active or ended, with its members, monthly grants and family numbers',
        params: Type.Object({ packageId: Id }, { additionalProperties: false }),
        response: { 200: Example('The bundle', bundleExample), ...problems(403, 404) },
      },
    },
    async (req) => ctx.bundles.get((req.params as { packageId: number }).packageId),
  );
  app.get(
    '/customers/:customerId/bundles',
    {
      config: { permission: 'bundle.read' },
      schema: {
        tags,
        summary: 'A customer’s bundles (the 360 panel): active first, then ended',
        params: Type.Object({ customerId: Id }, { additionalProperties: false }),
        response: { 200: Example('The customer’s bundles', { items: [bundleExample] }), ...problems(403) },
      },
    },
    async (req) => ctx.bundles.customerBundles((req.params as { customerId: number }).customerId),
  );
}
