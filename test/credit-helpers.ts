// Shared set-up of the credit-control tests: the package offers with each linkage (R-CC-4) and the
// rating domain's unbilled usage as a map the test sets (R-CC-1).
import type { Linkage } from '../src/platform/schema.ts';
import type { TestEnv } from './helpers.ts';

/** Offers TEST-PKG-I (immediate) and TEST-PKG-N (next_cycle_if_funded): a mobile and a broadband; returns the usage map. */
export async function creditSetup(env: TestEnv): Promise<Map<number, number>> {
  const usageOf = new Map<number, number>();
  env.ctx.credit.useUsage({ unbilledFen: (_q, accountId) => Promise.resolve(usageOf.get(accountId) ?? 0) });
  const now = env.clock.now();
  await env.ctx.database.db
    .insertInto('offers')
    .values(
      (['immediate', 'next_cycle_if_funded'] as const).map((linkage) => ({
        offer_code: `TEST-PKG-${linkage === 'immediate' ? 'I' : 'N'}`,
        kind: 'package' as const,
        name_zh: '测试套餐',
        name_en: 'test package',
        valid_from: now,
        members: JSON.stringify([{ role: 'mobile', network: 'wcdma3g' }, { role: 'broadband', network: 'broadband' }]),
        linkage,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
  return usageOf;
}

/** A package of the customer's account with this linkage, its members these subscribers (R-CC-4). */
export async function packageOf(env: TestEnv, o: { customerId: number; accountId: number; linkage: Linkage; subscriberIds: number[] }): Promise<void> {
  const db = env.ctx.database.db;
  const p = await db
    .insertInto('packages')
    .values({ offer_code: `TEST-PKG-${o.linkage === 'immediate' ? 'I' : 'N'}`, customer_id: o.customerId, account_id: o.accountId, linkage: o.linkage, started_at: env.clock.now() })
    .returning('package_id')
    .executeTakeFirstOrThrow();
  await db.updateTable('subscribers').set({ package_id: p.package_id }).where('subscriber_id', 'in', o.subscriberIds).execute();
}
