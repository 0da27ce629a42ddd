// The product catalog: offers with their fees and tariffs, one-off fees, brands, order parameters.
import { type Actor, systemActor } from '../../platform/audit.ts';
import type { Text } from '../../platform/checks.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db, Q } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import type { Fen } from '../../platform/money.ts';
import { recordChange, recordChanges } from '../../platform/outbox.ts';
import type { Network, OfferKind, OfferMember } from '../../platform/schema.ts';
import { catalogRepo } from './repo.ts';
import { isOnline, monthlyFeeFen, type Offer } from './rules.ts';

/** Offers with their charges, one-off fees and business parameters: what every order reads. */
interface Reference {
  offers: ReadonlyMap<string, Offer>;
  /** position in catalogRepo.offers' order (kind, offer_code), which callers see as Map order */
  rank: ReadonlyMap<string, number>;
  fees: ReadonlyMap<string, Fee>;
  parameters: ReadonlyMap<string, number>;
  loadedAt: number;
}

/** Configuration read on every order and changed by importCatalog: cached briefly (like accounts/reference.ts). */
const REFERENCE_TTL_MS = 60_000;

/** Cached values are shared by every caller: frozen, so a caller that changed one would fail loudly. */
function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || v instanceof Date || Object.isFrozen(v)) return v;
  for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
}

export interface OfferDefinition {
  code: string;
  kind: OfferKind;
  zh: string;
  en: string;
  brand?: string;
  network?: Network;
  descriptionZh?: string;
  descriptionEn?: string;
  /** ISO date or instant */
  validFrom: string;
  validTo?: string;
  allowedPredecessors?: string[];
  forbiddenSwitches?: string[];
  members?: OfferMember[];
  linkage?: 'immediate' | 'next_cycle_if_funded';
  requiresSmsConfirmation?: boolean;
  minimumSpendFen?: Fen;
  termMonths?: number;
  customerSegment?: 'personal' | 'family' | 'group';
  attributes?: Record<string, unknown>;
  charges?: { kind: 'recurring' | 'one_off'; item: string; role?: string; amountFen: Fen }[];
  tariffs?: { usage: 'voice' | 'sms' | 'data'; scope: 'local' | 'long_distance' | 'roaming' | 'any'; includedUnits?: number; unit: 'minute' | 'message' | 'kb' | 'mb'; rateFen: Fen; role?: string }[];
  /** kind 'bundle' (SPEC §8): its terms and the grant items of one month (R-BND-7) */
  bundle?: BundleDefinition;
}

export interface BundleDefinition {
  generation: '2G' | '3G' | 'other';
  /** R-BND-4 (default false) */
  jointAccount?: boolean;
  /** R-BND-2 (default true) */
  sameNumber?: boolean;
  /** R-BND-9: the two roles that are mutual family numbers each month */
  familyRoles?: [string, string];
  /** §8.2: 3G contract plans may join (default false) */
  contractPlans?: boolean;
  /** R-BND-16 (default false) */
  oncePerMonth?: boolean;
  grants: { role: string; kind: 'money' | 'pack'; amountFen?: Fen; restrictedItems?: string[]; pack?: string; zh: string; en: string }[];
}

export interface CatalogDefinition {
  brands: { code: string; zh: string; en: string }[];
  fees: { code: string; zh: string; en: string; item: string; amountFen: Fen; waivable?: boolean }[];
  offers: OfferDefinition[];
  parameters?: Record<string, number>;
}

export interface Fee {
  feeCode: string;
  name: Text;
  itemCode: string;
  amountFen: Fen;
  waivable: boolean;
}

/** The same day-of-month `months` later (end of month clamps), for contract terms. */
function addMonths(d: Date, months: number): Date {
  const r = new Date(d.getTime());
  const day = r.getUTCDate();
  r.setUTCDate(1);
  r.setUTCMonth(r.getUTCMonth() + months);
  const last = new Date(Date.UTC(r.getUTCFullYear(), r.getUTCMonth() + 1, 0)).getUTCDate();
  r.setUTCDate(Math.min(day, last));
  return r;
}

const laterOf = (a: Date | null, b: Date | null) => (a === null ? b : b === null || a.getTime() >= b.getTime() ? a : b);

const day = (s: string) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00+08:00` : s);

export class CatalogService {
  private readonly deps: { db: Db; clock: Clock };
  private cached: Reference | undefined;
  /** bumped by every import: a load that began before it is not kept */
  private generation = 0;
  constructor(deps: { db: Db; clock: Clock }) {
    this.deps = deps;
  }

  /** `q`: the caller's transaction, when there is one (PGlite has a single connection). */
  private async reference(q: Q): Promise<Reference> {
    const c = this.cached;
    if (c && Date.now() - c.loadedAt < REFERENCE_TTL_MS) return c;
    const generation = this.generation;
    const loadedAt = Date.now();
    const [offers, fees, parameters] = await Promise.all([catalogRepo.offers(q), catalogRepo.fees(q), catalogRepo.parameters(q)]);
    const r: Reference = {
      offers: new Map(offers.map((o) => [o.offerCode, deepFreeze(o)])),
      rank: new Map(offers.map((o, i) => [o.offerCode, i])),
      fees: new Map(
        fees.map((f) => [f.fee_code, deepFreeze({ feeCode: f.fee_code, name: { zh: f.name_zh, en: f.name_en }, itemCode: f.item_code, amountFen: f.amount_fen, waivable: f.waivable })]),
      ),
      parameters: new Map(parameters.map((p) => [p.key, p.value])),
      loadedAt,
    };
    if (generation === this.generation) this.cached = r;
    return r;
  }

  /** Drops the cached offers, fees and parameters (an import changed them). */
  invalidate(): void {
    this.generation++;
    this.cached = undefined;
  }

  /** Loads or updates a catalog definition (the demo catalog, or a carrier's own file). */
  async importCatalog(def: CatalogDefinition, actor: Actor = systemActor('catalog-import')): Promise<{ offers: number; fees: number }> {
    // before (nobody keeps what they read during the import) and after the commit (nobody keeps the old catalog)
    this.invalidate();
    try {
      return await this.importInTransaction(def, actor);
    } finally {
      this.invalidate();
    }
  }

  private async importInTransaction(def: CatalogDefinition, actor: Actor): Promise<{ offers: number; fees: number }> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (tx) => {
      for (const b of def.brands) await catalogRepo.upsertBrand(tx, { brand_code: b.code, name_zh: b.zh, name_en: b.en });
      for (const f of def.fees) {
        await catalogRepo.upsertFee(tx, { fee_code: f.code, name_zh: f.zh, name_en: f.en, item_code: f.item, amount_fen: f.amountFen, waivable: f.waivable ?? true });
      }
      for (const o of def.offers) {
        await catalogRepo.replaceOffer(
          tx,
          {
            offer_code: o.code,
            kind: o.kind,
            name_zh: o.zh,
            name_en: o.en,
            brand_code: o.brand ?? null,
            network: o.network ?? null,
            description_zh: o.descriptionZh ?? '',
            description_en: o.descriptionEn ?? '',
            valid_from: day(o.validFrom),
            valid_to: o.validTo ? day(o.validTo) : null,
            allowed_predecessors: o.allowedPredecessors ?? null,
            forbidden_switches: o.forbiddenSwitches ?? [],
            members: o.members ? JSON.stringify(o.members) : null,
            linkage: o.linkage ?? null,
            requires_sms_confirmation: o.requiresSmsConfirmation ?? false,
            minimum_spend_fen: o.minimumSpendFen ?? 0,
            term_months: o.termMonths ?? 0,
            customer_segment: o.customerSegment ?? null,
            attributes: JSON.stringify(o.attributes ?? {}),
            created_at: now,
            updated_at: now,
          },
          (o.charges ?? []).map((c) => ({ kind: c.kind, item_code: c.item, member_role: c.role ?? null, amount_fen: c.amountFen })),
          (o.tariffs ?? []).map((t) => ({ usage: t.usage, scope: t.scope, included_units: t.includedUnits ?? 0, unit: t.unit, rate_fen: t.rateFen, member_role: t.role ?? null })),
        );
      }
      // after every offer: a grant item's pack is an offer of the same file
      for (const o of def.offers) {
        const b = o.bundle;
        if ((o.kind === 'bundle') !== (b !== undefined)) {
          throw new DomainError('CATALOG_BUNDLE_TERMS', `捆绑产品须有且只有捆绑条款：${o.code}`, `A bundle offer needs bundle terms, and only a bundle offer has them: ${o.code}`, 422, { offerCode: o.code });
        }
        await catalogRepo.replaceBundle(
          tx,
          o.code,
          b
            ? {
                generation: b.generation,
                requires_joint_account: b.jointAccount ?? false,
                requires_same_number: b.sameNumber ?? true,
                family_roles: b.familyRoles ?? null,
                allows_contract_plans: b.contractPlans ?? false,
                once_per_month: b.oncePerMonth ?? false,
              }
            : null,
          (b?.grants ?? []).map((g) => ({
            member_role: g.role,
            kind: g.kind,
            amount_fen: g.kind === 'money' ? (g.amountFen ?? null) : null,
            restricted_items: g.restrictedItems ?? null,
            pack_offer_code: g.kind === 'pack' ? (g.pack ?? null) : null,
            name_zh: g.zh,
            name_en: g.en,
          })),
        );
      }
      for (const [key, value] of Object.entries(def.parameters ?? {})) await catalogRepo.setParameter(tx, key, value);
      const summary = { offers: def.offers.length, fees: def.fees.length, brands: def.brands.length };
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'catalog.import', targetType: 'catalog', targetId: 'catalog', after: { ...summary, offerCodes: def.offers.map((o) => o.code) } },
        { type: 'catalog.changed', aggregateType: 'catalog', aggregateId: 'catalog', payload: { ...summary, offerCodes: def.offers.map((o) => o.code) } },
      );
      return { offers: def.offers.length, fees: def.fees.length };
    });
  }

  /** Offers with fees and tariffs; expired ones stay queryable (§8.4). */
  async list(filter: { kind?: OfferKind; network?: Network; status?: 'online' | 'expired' | 'all'; q?: string } = {}, q: Q = this.deps.db) {
    const now = this.deps.clock.now();
    const offers = await catalogRepo.offers(q);
    const tariffs = await catalogRepo.tariffs(
      q,
      offers.map((o) => o.offerCode),
    );
    const needle = filter.q?.toLowerCase();
    return offers
      .filter((o) => !filter.kind || o.kind === filter.kind)
      .filter((o) => !filter.network || o.network === filter.network || (o.members ?? []).some((m) => m.network === filter.network))
      .filter((o) => (filter.status ?? 'online') === 'all' || (filter.status ?? 'online') === (isOnline(o, now) ? 'online' : 'expired'))
      .filter((o) => !needle || o.offerCode.toLowerCase().includes(needle) || o.nameZh.includes(needle) || o.nameEn.toLowerCase().includes(needle))
      .map((o) => offerView(o, now, tariffs.filter((t) => t.offer_code === o.offerCode)));
  }

  /** One offer, expired or not (cached; frozen). */
  async offer(code: string, q: Q = this.deps.db): Promise<Offer | undefined> {
    return (await this.reference(q)).offers.get(code);
  }

  /** The offers of these codes that exist, in catalog order (kind, code) as the database sorts them (cached; frozen). */
  async offers(codes: string[], q: Q = this.deps.db): Promise<Map<string, Offer>> {
    const { offers, rank } = await this.reference(q);
    const found = [...new Set(codes)].filter((c) => offers.has(c)).sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number));
    return new Map(found.map((c) => [c, offers.get(c) as Offer]));
  }

  async offerView(code: string) {
    const o = await this.offer(code);
    if (!o) throw new DomainError('OFFER_NOT_FOUND', `产品不存在：${code}`, `No such offer: ${code}`, 404);
    return offerView(o, this.deps.clock.now(), await catalogRepo.tariffs(this.deps.db, [code]));
  }

  /** One-off fees by code (cached; frozen). */
  async fees(q: Q = this.deps.db): Promise<Map<string, Fee>> {
    return new Map((await this.reference(q)).fees);
  }

  async brands() {
    return (await catalogRepo.brands(this.deps.db)).map((b) => ({ brandCode: b.brand_code, name: { zh: b.name_zh, en: b.name_en } }));
  }

  // ---- subscribed products (what a subscriber has; rating reads the same rows) ----

  /**
   * Subscribes offers from `startsAt` (now, or the next cycle for a reservation); R-X-14 terms are copied.
   * `keepAgreement`: a minimum-spend agreement still running on the plan this one replaces stays in force
   * (the higher floor, the later end), so moving up and then down cannot escape it.
   */
  async subscribe(
    tx: Q,
    actor: Actor,
    items: {
      subscriberId: number;
      offer: Offer;
      packageId?: number | null;
      memberRole?: string | null;
      orderId: number | null;
      startsAt: Date;
      keepAgreement?: { minimumSpendFen: Fen; termEndsAt: Date } | undefined;
    }[],
  ) {
    const rows = await catalogRepo.insertSubscriberOffers(
      tx,
      items.map((i) => ({
        subscriber_id: i.subscriberId,
        offer_code: i.offer.offerCode,
        kind: i.offer.kind,
        package_id: i.packageId ?? null,
        member_role: i.memberRole ?? null,
        order_id: i.orderId,
        started_at: i.startsAt,
        minimum_spend_fen: Math.max(i.offer.minimumSpendFen, i.keepAgreement?.minimumSpendFen ?? 0),
        term_ends_at: laterOf(i.offer.termMonths > 0 ? addMonths(i.startsAt, i.offer.termMonths) : null, i.keepAgreement?.termEndsAt ?? null),
      })),
    );
    // one statement for the audit entries and events of every subscription
    await recordChanges(
      tx,
      this.deps.clock,
      actor,
      rows.map((r) => {
        const view = { subscriberOfferId: r.subscriber_offer_id, subscriberId: r.subscriber_id, offerCode: r.offer_code, kind: r.kind, packageId: r.package_id, startedAt: r.started_at.toISOString(), orderId: r.order_id };
        return {
          audit: { action: 'product.subscribe', targetType: 'subscriber', targetId: r.subscriber_id, after: view },
          event: { type: 'product.subscribed', aggregateType: 'subscriber', aggregateId: r.subscriber_id, payload: view },
        };
      }),
    );
    return rows;
  }

  /** Ends subscriptions at `at` (now, or the end of this cycle for a reservation). */
  async unsubscribe(tx: Q, actor: Actor, rows: { subscriberOfferId: number; subscriberId: number; offerCode: string }[], at: Date, orderId: number | null) {
    await catalogRepo.endSubscriberOffers(
      tx,
      rows.map((r) => r.subscriberOfferId),
      at,
    );
    for (const r of rows) {
      const view = { ...r, endedAt: at.toISOString(), orderId };
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'product.unsubscribe', targetType: 'subscriber', targetId: r.subscriberId, after: view },
        { type: 'product.unsubscribed', aggregateType: 'subscriber', aggregateId: r.subscriberId, payload: view },
      );
    }
  }

  async createPackage(tx: Q, actor: Actor, p: { offer: Offer; customerId: number; accountId: number; orderId: number | null }) {
    const row = await catalogRepo.insertPackage(tx, {
      offer_code: p.offer.offerCode,
      customer_id: p.customerId,
      account_id: p.accountId,
      linkage: p.offer.linkage,
      order_id: p.orderId,
      started_at: this.deps.clock.now(),
    });
    const view = { packageId: row.package_id, offerCode: row.offer_code, customerId: row.customer_id, accountId: row.account_id, linkage: row.linkage, orderId: row.order_id };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'package.create', targetType: 'package', targetId: row.package_id, accountId: row.account_id, after: view },
      { type: 'package.created', aggregateType: 'package', aggregateId: row.package_id, accountId: row.account_id, payload: view },
    );
    return row;
  }

  /** Offers in force now or starting later, per subscriber, with names. */
  async subscriptions(subscriberIds: number[], q: Q = this.deps.db) {
    const rows = await catalogRepo.currentOffers(q, subscriberIds, this.deps.clock.now());
    return rows.map((r) => ({
      subscriberOfferId: r.subscriber_offer_id,
      subscriberId: r.subscriber_id,
      offerCode: r.offer_code,
      name: { zh: r.name_zh, en: r.name_en },
      kind: r.kind,
      packageId: r.package_id,
      memberRole: r.member_role,
      orderId: r.order_id,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      minimumSpendFen: r.minimum_spend_fen,
      termEndsAt: r.term_ends_at,
    }));
  }

  async package(id: number, q: Q = this.deps.db) {
    return catalogRepo.packageById(q, id);
  }

  /** Business parameters (cached). */
  async parameters(q: Q = this.deps.db): Promise<Map<string, number>> {
    return new Map((await this.reference(q)).parameters);
  }
}

export function offerView(o: Offer & { descriptionZh?: string; descriptionEn?: string }, now: Date, tariffs: { usage: string; scope: string; included_units: number; unit: string; rate_fen: number; member_role: string | null }[] = []) {
  return {
    offerCode: o.offerCode,
    kind: o.kind,
    name: { zh: o.nameZh, en: o.nameEn },
    description: { zh: o.descriptionZh ?? '', en: o.descriptionEn ?? '' },
    brandCode: o.brandCode,
    network: o.network,
    status: isOnline(o, now) ? ('online' as const) : ('expired' as const),
    validFrom: o.validFrom.toISOString(),
    validTo: o.validTo?.toISOString() ?? null,
    monthlyFeeFen: monthlyFeeFen(o),
    charges: o.charges,
    tariffs: tariffs.map((t) => ({ usage: t.usage, scope: t.scope, includedUnits: t.included_units, unit: t.unit, rateFen: t.rate_fen, memberRole: t.member_role })),
    allowedPredecessors: o.allowedPredecessors,
    forbiddenSwitches: o.forbiddenSwitches,
    members: o.members,
    linkage: o.linkage,
    requiresSmsConfirmation: o.requiresSmsConfirmation,
    minimumSpendFen: o.minimumSpendFen,
    termMonths: o.termMonths,
    customerSegment: o.customerSegment,
    attributes: o.attributes,
    bundle: o.bundle,
  };
}
