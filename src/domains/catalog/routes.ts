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
  bundle: null,
};

/** A bundle offer (SPEC §8) lists its terms and the grant items of one month (R-BND-7). */
const bundleOfferExample = {
  offerCode: 'BND-2G-BB',
  kind: 'bundle',
  name: { zh: '2G+宽带 捆绑', en: '2G + broadband bundle' },
  status: 'online',
  monthlyFeeFen: 0,
  members: [
    { role: 'mobile', network: 'gsm2g' },
    { role: 'broadband', network: 'broadband' },
  ],
  linkage: 'next_cycle_if_funded',
  bundle: {
    generation: '2G',
    requiresJointAccount: true,
    requiresSameNumber: true,
    familyRoles: null,
    allowsContractPlans: false,
    oncePerMonth: false,
    grants: [{ seq: 1, role: 'mobile', kind: 'money', amountFen: 2000, restrictedItems: null, packOfferCode: null, name: { zh: '捆绑赠送话费 20 元', en: 'Bundle call credit 20 yuan' } }],
  },
};

export function catalogRoutes(app: FastifyInstance, ctx: AppContext): void {
  const tags = ['catalog'];
  app.get(
    '/catalog/offers',
    {
      config: { permission: 'catalog.read' },
      schema: {
        tags,
        summary: 'Offers: plans, packages, packs, features and bundles with fees, tariffs, compatibility rules and bundle terms',
        querystring: Type.Object(
          {
            kind: Type.Optional(StrEnum(['plan', 'package', 'pack', 'feature', 'bundle'] as const)),
            network: Type.Optional(StrEnum(['gsm2g', 'wcdma3g', 'broadband', 'fixed'] as const)),
            status: Type.Optional(StrEnum(['online', 'expired', 'all'] as const, { description: 'default online' })),
            q: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Example('Offers', { items: [offerExample, bundleOfferExample] }), ...problems(403) },
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
