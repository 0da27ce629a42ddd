// Catalog API: offers (online and expired, §8.4), one-off fees, brands.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { Example, problems, StrEnum } from '../../platform/schemas.ts';

const offerExample = {
  offerCode: 'e9-C',
  kind: 'package',
  name: { zh: 'e9-C 融合套餐（69 元）', en: 'e9-C fusion package (69)' },
  status: 'online',
  monthlyFeeFen: 6900,
  members: [
    { role: 'mobile', network: 'wcdma3g' },
    { role: 'broadband', network: 'broadband' },
  ],
  linkage: 'immediate',
};

export function catalogRoutes(app: FastifyInstance, ctx: AppContext): void {
  const tags = ['catalog'];
  app.get(
    '/catalog/offers',
    {
      config: { permission: 'catalog.read' },
      schema: {
        tags,
        summary: 'Offers: plans, packages, packs and features with fees, tariffs and compatibility rules',
        querystring: Type.Object(
          {
            kind: Type.Optional(StrEnum(['plan', 'package', 'pack', 'feature'] as const)),
            network: Type.Optional(StrEnum(['gsm2g', 'wcdma3g', 'broadband', 'fixed'] as const)),
            status: Type.Optional(StrEnum(['online', 'expired', 'all'] as const, { description: 'default online' })),
            q: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Example('Offers', { items: [offerExample] }), ...problems(403) },
      },
    },
    async (req) => ({ items: await ctx.catalog.list(req.query as never) }),
  );
  app.get(
    '/catalog/offers/:code',
    {
      config: { permission: 'catalog.read' },
      schema: {
        tags,
        summary: 'One offer, online or expired',
        params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 40 }) }, { additionalProperties: false }),
        response: { 200: Example('The offer', offerExample), ...problems(403, 404) },
      },
    },
    async (req) => ctx.catalog.offerView((req.params as { code: string }).code),
  );
  app.get(
    '/catalog/fees',
    { config: { permission: 'catalog.read' }, schema: { tags, summary: 'One-off fees the front desk quotes', response: { 200: Example('Fees', { items: [{ feeCode: 'INSTALL', name: { zh: '安装调测费', en: 'Installation and testing fee' }, amountFen: 5800 }] }), ...problems(403) } } },
    async () => ({ items: [...(await ctx.catalog.fees()).values()] }),
  );
  app.get(
    '/catalog/brands',
    { config: { permission: 'catalog.read' }, schema: { tags, summary: 'Brands', response: { 200: Example('Brands', { items: [{ brandCode: 'E_HOME', name: { zh: '我的e家', en: 'My e-Home' } }] }), ...problems(403) } } },
    async () => ({ items: await ctx.catalog.brands() }),
  );
}
