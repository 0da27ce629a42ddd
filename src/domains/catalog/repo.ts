// The only SQL of the catalog.
import { sql } from 'kysely';
import type { Q } from '../../platform/db.ts';
import type { BundleTerms, Offer } from './rules.ts';

type OfferRow = {
  offer_code: string;
  kind: Offer['kind'];
  name_zh: string;
  name_en: string;
  brand_code: string | null;
  network: Offer['network'];
  description_zh: string;
  description_en: string;
  valid_from: Date;
  valid_to: Date | null;
  allowed_predecessors: string[] | null;
  forbidden_switches: string[];
  members: Offer['members'];
  linkage: Offer['linkage'];
  requires_sms_confirmation: boolean;
  minimum_spend_fen: number;
  term_months: number;
  customer_segment: Offer['customerSegment'];
  attributes: Record<string, unknown>;
};

export function toOffer(r: OfferRow, charges: Offer['charges'], bundle: BundleTerms | null = null): Offer & { descriptionZh: string; descriptionEn: string } {
  return {
    offerCode: r.offer_code,
    kind: r.kind,
    nameZh: r.name_zh,
    nameEn: r.name_en,
    brandCode: r.brand_code,
    network: r.network,
    descriptionZh: r.description_zh,
    descriptionEn: r.description_en,
    validFrom: r.valid_from,
    validTo: r.valid_to,
    allowedPredecessors: r.allowed_predecessors,
    forbiddenSwitches: r.forbidden_switches,
    members: r.members,
    linkage: r.linkage,
    requiresSmsConfirmation: r.requires_sms_confirmation,
    minimumSpendFen: r.minimum_spend_fen,
    termMonths: r.term_months,
    customerSegment: r.customer_segment,
    attributes: r.attributes,
    charges,
    bundle,
  };
}

type BundleOfferRow = { offer_code: string; generation: BundleTerms['generation']; requires_joint_account: boolean; requires_same_number: boolean; family_roles: string[] | null; allows_contract_plans: boolean; once_per_month: boolean };
type GrantItemRow = { offer_code: string; seq: number; member_role: string; kind: 'money' | 'pack'; amount_fen: number | string | null; restricted_items: string[] | null; pack_offer_code: string | null; name_zh: string; name_en: string };

function toBundle(b: BundleOfferRow | undefined, items: GrantItemRow[]): BundleTerms | null {
  if (!b) return null;
  return {
    generation: b.generation,
    requiresJointAccount: b.requires_joint_account,
    requiresSameNumber: b.requires_same_number,
    familyRoles: b.family_roles,
    allowsContractPlans: b.allows_contract_plans,
    oncePerMonth: b.once_per_month,
    grants: items
      .filter((i) => i.offer_code === b.offer_code)
      .map((i) => ({
        seq: i.seq,
        role: i.member_role,
        kind: i.kind,
        amountFen: i.amount_fen === null ? null : Number(i.amount_fen),
        restrictedItems: i.restricted_items,
        packOfferCode: i.pack_offer_code,
        name: { zh: i.name_zh, en: i.name_en },
      })),
  };
}

export const catalogRepo = {
  async offers(q: Q, codes?: string[]) {
    if (codes && codes.length === 0) return [];
    let rows = q.selectFrom('offers').selectAll();
    if (codes) rows = rows.where('offer_code', 'in', codes);
    const offers = await rows.orderBy('kind').orderBy('offer_code').execute();
    if (offers.length === 0) return [];
    const codesOf = offers.map((o) => o.offer_code);
    const bundleCodes = offers.filter((o) => o.kind === 'bundle').map((o) => o.offer_code);
    const [charges, bundles, grantItems] = await Promise.all([
      q.selectFrom('offer_charges').selectAll().where('offer_code', 'in', codesOf).orderBy('offer_code').orderBy('seq').execute(),
      bundleCodes.length ? q.selectFrom('bundle_offers').selectAll().where('offer_code', 'in', bundleCodes).execute() : Promise.resolve([]),
      bundleCodes.length ? q.selectFrom('bundle_grant_items').selectAll().where('offer_code', 'in', bundleCodes).orderBy('offer_code').orderBy('seq').execute() : Promise.resolve([]),
    ]);
    return offers.map((o) =>
      toOffer(
        o as OfferRow,
        charges.filter((c) => c.offer_code === o.offer_code).map((c) => ({ kind: c.kind, itemCode: c.item_code, memberRole: c.member_role, amountFen: c.amount_fen })),
        toBundle(
          (bundles as BundleOfferRow[]).find((b) => b.offer_code === o.offer_code),
          grantItems as GrantItemRow[],
        ),
      ),
    );
  },
  tariffs(q: Q, codes: string[]) {
    if (codes.length === 0) return Promise.resolve([]);
    return q.selectFrom('offer_tariffs').selectAll().where('offer_code', 'in', codes).orderBy('offer_code').orderBy('usage').orderBy('scope').execute();
  },
  brands(q: Q) {
    return q.selectFrom('brands').selectAll().orderBy('brand_code').execute();
  },
  fees(q: Q) {
    return q.selectFrom('fees').selectAll().orderBy('fee_code').execute();
  },
  parameters(q: Q) {
    return q.selectFrom('business_parameters').selectAll().execute();
  },
  async upsertBrand(q: Q, b: { brand_code: string; name_zh: string; name_en: string }) {
    await q.insertInto('brands').values(b).onConflict((oc) => oc.column('brand_code').doUpdateSet({ name_zh: b.name_zh, name_en: b.name_en })).execute();
  },
  async upsertFee(q: Q, f: { fee_code: string; name_zh: string; name_en: string; item_code: string; amount_fen: number; waivable: boolean }) {
    await q
      .insertInto('fees')
      .values(f)
      .onConflict((oc) => oc.column('fee_code').doUpdateSet({ name_zh: f.name_zh, name_en: f.name_en, item_code: f.item_code, amount_fen: f.amount_fen, waivable: f.waivable }))
      .execute();
  },
  async replaceOffer(
    q: Q,
    o: Omit<OfferRow, 'members' | 'attributes'> & { members: string | null; attributes: string; created_at: Date; updated_at: Date },
    charges: { kind: 'recurring' | 'one_off'; item_code: string; member_role: string | null; amount_fen: number }[],
    tariffs: { usage: 'voice' | 'sms' | 'data'; scope: 'local' | 'long_distance' | 'roaming' | 'any'; included_units: number; unit: 'minute' | 'message' | 'kb' | 'mb'; rate_fen: number; member_role: string | null }[],
  ) {
    const { created_at: _c, ...update } = o;
    await q.insertInto('offers').values(o).onConflict((oc) => oc.column('offer_code').doUpdateSet(update)).execute();
    await q.deleteFrom('offer_charges').where('offer_code', '=', o.offer_code).execute();
    await q.deleteFrom('offer_tariffs').where('offer_code', '=', o.offer_code).execute();
    if (charges.length) await q.insertInto('offer_charges').values(charges.map((c, i) => ({ ...c, offer_code: o.offer_code, seq: i + 1 }))).execute();
    if (tariffs.length) await q.insertInto('offer_tariffs').values(tariffs.map((t) => ({ ...t, offer_code: o.offer_code }))).execute();
  },
  /** A bundle offer's terms and grant items (SPEC §8); none (null) removes them. */
  async replaceBundle(q: Q, offerCode: string, b: Omit<BundleOfferRow, 'offer_code'> | null, items: Omit<GrantItemRow, 'offer_code' | 'seq'>[]) {
    await q.deleteFrom('bundle_grant_items').where('offer_code', '=', offerCode).execute();
    await q.deleteFrom('bundle_offers').where('offer_code', '=', offerCode).execute();
    if (!b) return;
    await q.insertInto('bundle_offers').values({ offer_code: offerCode, ...b }).execute();
    if (items.length) {
      await q
        .insertInto('bundle_grant_items')
        .values(items.map((i, n) => ({ ...i, amount_fen: i.amount_fen === null ? null : Number(i.amount_fen), offer_code: offerCode, seq: n + 1 })))
        .execute();
    }
  },
  insertPackage(q: Q, p: { offer_code: string; customer_id: number; account_id: number; linkage: Offer['linkage']; order_id: number | null; started_at: Date }) {
    return q.insertInto('packages').values(p).returningAll().executeTakeFirstOrThrow();
  },
  insertSubscriberOffers(
    q: Q,
    rows: {
      subscriber_id: number;
      offer_code: string;
      kind: Offer['kind'];
      package_id: number | null;
      member_role: string | null;
      order_id: number | null;
      started_at: Date;
      minimum_spend_fen: number;
      term_ends_at: Date | null;
    }[],
  ) {
    if (rows.length === 0) return Promise.resolve([]);
    return q.insertInto('subscriber_offers').values(rows).returningAll().execute();
  },
  /** Offers in force at `at` or starting later (a reservation for next cycle), per subscriber. */
  currentOffers(q: Q, subscriberIds: number[], at: Date) {
    if (subscriberIds.length === 0) return Promise.resolve([]);
    return q
      .selectFrom('subscriber_offers as so')
      .innerJoin('offers as o', 'o.offer_code', 'so.offer_code')
      .select([
        'so.subscriber_offer_id',
        'so.subscriber_id',
        'so.offer_code',
        'so.kind',
        'so.package_id',
        'so.member_role',
        'so.order_id',
        'so.started_at',
        'so.ended_at',
        'so.minimum_spend_fen',
        'so.term_ends_at',
        'o.name_zh',
        'o.name_en',
      ])
      .where('so.subscriber_id', 'in', subscriberIds)
      .where((eb) => eb.or([eb('so.ended_at', 'is', null), eb('so.ended_at', '>', at)]))
      .orderBy('so.subscriber_id')
      .orderBy('so.started_at')
      .execute();
  },
  endSubscriberOffers(q: Q, ids: number[], at: Date) {
    if (ids.length === 0) return Promise.resolve();
    return q.updateTable('subscriber_offers').set({ ended_at: at }).where('subscriber_offer_id', 'in', ids).execute().then(() => undefined);
  },
  packageById(q: Q, id: number) {
    return q.selectFrom('packages').selectAll().where('package_id', '=', id).executeTakeFirst();
  },
  endPackage(q: Q, id: number, at: Date) {
    return q.updateTable('packages').set({ ended_at: at }).where('package_id', '=', id).execute().then(() => undefined);
  },
  async setParameter(q: Q, key: string, value: number) {
    await sql`UPDATE business_parameters SET value = ${value} WHERE key = ${key}`.execute(q);
  },
};
