// The only SQL of bundles (SPEC §8): bound bundles (packages of a bundle offer), their members, and
// what the 360 view reads of the monthly grants (bundle_grants) and the month's family numbers.
import { sql } from 'kysely';
import type { Q } from '../../platform/db.ts';

export interface BundleRow {
  package_id: number;
  offer_code: string;
  customer_id: number;
  account_id: number;
  linkage: string | null;
  order_id: number | null;
  started_at: Date;
  ended_at: Date | null;
  ended_order_id: number | null;
  ended_reason: string | null;
  name_zh: string;
  name_en: string;
  generation: '2G' | '3G' | 'other';
}

export interface MemberRow {
  package_id: number;
  subscriber_id: number;
  member_role: string;
  account_id: number;
  joined_at: Date;
  left_at: Date | null;
  service_number: string;
  network: string;
  status: string;
  customer_id: number;
  package_now: number | null;
  /** the member's paying account now (a joint account may have moved it since binding) */
  account_now: number;
}

export const bundleRepo = {
  insertMembers(q: Q, rows: { package_id: number; subscriber_id: number; member_role: string; account_id: number; joined_at: Date }[]) {
    if (rows.length === 0) return Promise.resolve();
    return q.insertInto('bundle_members').values(rows).execute().then(() => undefined);
  },

  /** The package of a bundle offer, locked for unbinding. */
  lockBundle(q: Q, packageId: number) {
    return q
      .selectFrom('packages as p')
      .innerJoin('offers as o', 'o.offer_code', 'p.offer_code')
      .select(['p.package_id', 'p.offer_code', 'p.customer_id', 'p.account_id', 'p.ended_at', 'o.kind'])
      .where('p.package_id', '=', packageId)
      .forUpdate('p')
      .executeTakeFirst();
  },

  endBundle(q: Q, packageId: number, at: Date, orderId: number | null, reason: string) {
    return q.updateTable('packages').set({ ended_at: at, ended_order_id: orderId, ended_reason: reason }).where('package_id', '=', packageId).execute();
  },

  leave(q: Q, packageId: number, at: Date) {
    return q.updateTable('bundle_members').set({ left_at: at }).where('package_id', '=', packageId).where('left_at', 'is', null).returningAll().execute();
  },

  /** Active bundle memberships of these subscribers. */
  active(q: Q, subscriberIds: number[]) {
    if (subscriberIds.length === 0) return Promise.resolve([]);
    return q
      .selectFrom('bundle_members as m')
      .innerJoin('packages as p', 'p.package_id', 'm.package_id')
      .select(['m.subscriber_id', 'm.package_id', 'm.member_role', 'p.offer_code'])
      .where('m.subscriber_id', 'in', subscriberIds)
      .where('m.left_at', 'is', null)
      .where('p.ended_at', 'is', null)
      .execute();
  },

  /** R-BND-16: subscribers that joined or left a bundle of this offer in [from, to). */
  touchedInMonth(q: Q, offerCode: string, subscriberIds: number[], from: Date, to: Date) {
    if (subscriberIds.length === 0) return Promise.resolve([]);
    return q
      .selectFrom('bundle_members as m')
      .innerJoin('packages as p', 'p.package_id', 'm.package_id')
      .select(['m.subscriber_id', 'm.package_id', 'm.joined_at', 'm.left_at'])
      .where('p.offer_code', '=', offerCode)
      .where('m.subscriber_id', 'in', subscriberIds)
      .where((eb) => eb.or([eb.and([eb('m.joined_at', '>=', from), eb('m.joined_at', '<', to)]), eb.and([eb('m.left_at', '>=', from), eb('m.left_at', '<', to)])]))
      .execute();
  },

  bundles(q: Q, f: { packageIds?: number[]; customerId?: number }): Promise<BundleRow[]> {
    if (f.packageIds && f.packageIds.length === 0) return Promise.resolve([]);
    let s = q
      .selectFrom('packages as p')
      .innerJoin('offers as o', 'o.offer_code', 'p.offer_code')
      .innerJoin('bundle_offers as b', 'b.offer_code', 'p.offer_code')
      .select(['p.package_id', 'p.offer_code', 'p.customer_id', 'p.account_id', 'p.linkage', 'p.order_id', 'p.started_at', 'p.ended_at', 'p.ended_order_id', 'p.ended_reason', 'o.name_zh', 'o.name_en', 'b.generation']);
    if (f.packageIds) s = s.where('p.package_id', 'in', f.packageIds);
    if (f.customerId !== undefined) s = s.where('p.customer_id', '=', f.customerId);
    return s.orderBy('p.started_at', 'desc').orderBy('p.package_id', 'desc').execute() as Promise<BundleRow[]>;
  },

  members(q: Q, packageIds: number[]): Promise<MemberRow[]> {
    if (packageIds.length === 0) return Promise.resolve([]);
    return q
      .selectFrom('bundle_members as m')
      .innerJoin('subscribers as s', 's.subscriber_id', 'm.subscriber_id')
      .select(['m.package_id', 'm.subscriber_id', 'm.member_role', 'm.account_id', 'm.joined_at', 'm.left_at', 's.service_number', 's.network', 's.status', 's.customer_id', 's.package_id as package_now', 's.default_account_id as account_now'])
      .where('m.package_id', 'in', packageIds)
      .orderBy('m.package_id')
      .orderBy('m.joined_at')
      .orderBy('m.subscriber_id')
      .execute() as Promise<MemberRow[]>;
  },

  /** The bundle a service number is an active member of (the unbind query, R-BND-15). */
  async activeByNumber(q: Q, serviceNumber: string): Promise<number[]> {
    const rows = await q
      .selectFrom('bundle_members as m')
      .innerJoin('subscribers as s', 's.subscriber_id', 'm.subscriber_id')
      .innerJoin('packages as p', 'p.package_id', 'm.package_id')
      .select('m.package_id')
      .where('s.service_number', '=', serviceNumber)
      .where('s.lifecycle', '<>', 'cancelled')
      .where('m.left_at', 'is', null)
      .where('p.ended_at', 'is', null)
      .execute();
    return [...new Set(rows.map((r) => r.package_id))];
  },

  grants(q: Q, packageIds: number[]) {
    if (packageIds.length === 0) return Promise.resolve([]);
    return q.selectFrom('bundle_grants').selectAll().where('package_id', 'in', packageIds).orderBy('package_id').orderBy('cycle', 'desc').execute();
  },

  grantAmounts(q: Q, grantIds: number[]) {
    if (grantIds.length === 0) return Promise.resolve([]);
    return q.selectFrom('grants').select(['grant_id', 'account_id', 'amount_fen', 'book_id']).where('grant_id', 'in', grantIds).execute();
  },

  packOffers(q: Q, ids: number[]) {
    if (ids.length === 0) return Promise.resolve([]);
    return q.selectFrom('subscriber_offers').select(['subscriber_offer_id', 'subscriber_id', 'offer_code']).where('subscriber_offer_id', 'in', ids).execute();
  },

  /** R-BND-9 family numbers written for these bundles (source 'bundle', source_id `${packageId}:${cycle}`). */
  familyNumbers(q: Q, packageIds: number[]) {
    if (packageIds.length === 0) return Promise.resolve([]);
    return q
      .selectFrom('family_numbers')
      .select(['subscriber_id', 'family_number', 'valid_from', 'valid_to', 'source_id'])
      .where('source', '=', 'bundle')
      .where(sql<string>`split_part(source_id, ':', 1)`, 'in', packageIds.map(String))
      .orderBy('valid_from', 'desc')
      .orderBy('subscriber_id')
      .execute();
  },
};
