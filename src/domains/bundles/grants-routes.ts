// Bundle grant API (捆绑优惠添加, R-BND-7/8): run the month's grants by hand (the job does it on the 1st)
// and the month's report: totals, skips by reason, per offer, and the bundles page by page.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { audit } from '../../platform/audit.ts';
import { CYCLE_PATTERN } from '../../platform/clock.ts';
import { Example, problems, StrEnum } from '../../platform/schemas.ts';

const runExample = { cycle: '2026-12', bundles: 9800, granted: 9650, skipped: 150, amountFen: 19300000, packs: 0, familyNumbers: 1200, settledAccounts: 12, chunks: 1 };

const reportExample = {
  cycle: '2026-12',
  totals: { bundles: 9800, granted: 9650, skipped: 150, amountFen: 19300000 },
  byReason: [
    { reason: 'broadband_arrears', count: 120 },
    { reason: 'mobile_not_normal', count: 30 },
  ],
  byOffer: [{ offerCode: 'BND-2G-BB', granted: 9650, skipped: 150, amountFen: 19300000 }],
  items: [
    { packageId: 41, offerCode: 'BND-2G-BB', mobileNumber: '13302201234', broadbandNumber: '13302201234', status: 'granted', reason: null, amountFen: 2000, grantedAt: '2026-11-30T22:00:00.000Z', caughtUp: false },
    { packageId: 42, offerCode: 'BND-2G-BB', mobileNumber: '13302205678', broadbandNumber: '13302205678', status: 'skipped', reason: 'broadband_arrears', amountFen: 0, grantedAt: null, caughtUp: false },
  ],
  total: 9800,
};

export function bundleGrantRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/bundles/grants/run',
    {
      config: { permission: 'bundle.grant' },
      schema: {
        tags: ['bundles'],
        summary: 'Give the month’s bundle grants now (R-BND-7, R-BND-9); the job does it at 06:00 on the 1st',
        description:
          '每个有效捆绑每月一次：手机正常、宽带不欠费且宽带专款有余额时添加当月优惠（话费进优惠帐本、3G 功能费项目、亲情号码），否则记录不添加的原因。重复执行不会重复添加。只能为当月执行。 / Once per bundle and month: granted when the mobile is normal and the broadband is not in arrears and has fund money, else skipped with the reason. Running it again changes nothing. Current month only.',
        body: Type.Object({ cycle: Type.String({ pattern: CYCLE_PATTERN, description: '帐期 / month (YYYY-MM), the current one' }) }, { additionalProperties: false, examples: [{ cycle: '2026-12' }] }),
        response: { 200: Example('What this run wrote', runExample), ...problems(400, 403, 422) },
      },
    },
    async (req) => {
      const { cycle } = req.body as { cycle: string };
      const out = await ctx.bundleGrants.runMonth(req.actor, cycle);
      // each bundle's row is audited with its event; the request itself is audited too
      await audit(ctx.database.db, ctx.clock, req.actor, { action: 'bundle.grant_run', targetType: 'bundle_grants', targetId: cycle, after: out });
      return out;
    },
  );

  app.get(
    '/bundles/grants',
    {
      config: { permission: 'bundle.read' },
      schema: {
        tags: ['bundles'],
        summary: 'The month’s bundle grants (R-BND-7/8): totals, skips by reason, per offer, and the bundles',
        querystring: Type.Object(
          {
            cycle: Type.String({ pattern: CYCLE_PATTERN, description: '帐期 / month (YYYY-MM)' }),
            status: Type.Optional(StrEnum(['granted', 'skipped'] as const, { description: '已添加 / 未添加' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 })),
          },
          { additionalProperties: false, examples: [{ cycle: '2026-12', status: 'skipped', limit: 50 }] },
        ),
        response: { 200: Example('The report', reportExample), ...problems(400, 403) },
      },
    },
    async (req) => {
      const q = req.query as { cycle: string; status?: 'granted' | 'skipped'; limit?: number; offset?: number };
      return ctx.bundleGrants.report(q.cycle, { status: q.status, limit: q.limit ?? 50, offset: q.offset ?? 0 });
    },
  );
}
