// Bundles (捆绑业务, SPEC §8, seed 000): binding and unbinding members into a bundle (a `packages` row
// with linkage, so credit control's R-CC-4 linkage applies unchanged), and the views of a bundle.
import type { Logger } from 'pino';
import type { Actor } from '../../platform/audit.ts';
import { addCycles, type Clock, cycleOf, cycleStart } from '../../platform/clock.ts';
import type { Db, Q, Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import { emit, recordChange } from '../../platform/outbox.ts';
import type { AccountService } from '../accounts/service.ts';
import type { Offer } from '../catalog/rules.ts';
import type { CatalogService } from '../catalog/service.ts';
import { type BundleRow, bundleRepo, type MemberRow } from './repo.ts';

export interface BundleDeps {
  db: Db;
  clock: Clock;
  accounts: AccountService;
  catalog: CatalogService;
  log?: Logger | undefined;
}

const BUNDLE = { zh: '捆绑业务', en: 'Bundle' };

export interface BindMember {
  role: string;
  subscriberId: number;
  accountId: number;
}

export interface ActiveBundle {
  packageId: number;
  offerCode: string;
  role: string;
}

export class BundleService {
  readonly deps: BundleDeps;
  constructor(deps: BundleDeps) {
    this.deps = deps;
  }

  /**
   * R-BND-6: records a bound bundle in the order's transaction — its package (linkage from the offer,
   * the mobile's paying account), its members, every member's package_id — audited, with the events
   * bundle.bound and the legacy sync event (R-INT-4). The order checked the rules before.
   */
  async bind(tx: Tx, actor: Actor, p: { offer: Offer; customerId: number; accountId: number; orderId: number | null; members: BindMember[] }): Promise<{ packageId: number }> {
    if (p.offer.kind !== 'bundle' || !p.offer.bundle) {
      throw new DomainError('NOT_A_BUNDLE', `${p.offer.nameZh} 不是捆绑产品`, `${p.offer.nameEn} is not a bundle offer`, 422, { offerCode: p.offer.offerCode });
    }
    if (p.members.length === 0) throw new DomainError('BUNDLE_MEMBERS_REQUIRED', '捆绑须有成员', 'A bundle needs members', 422);
    const now = this.deps.clock.now();
    const pkg = await this.deps.catalog.createPackage(tx, actor, { offer: p.offer, customerId: p.customerId, accountId: p.accountId, orderId: p.orderId });
    const packageId = pkg.package_id;
    await bundleRepo.insertMembers(
      tx,
      p.members.map((m) => ({ package_id: packageId, subscriber_id: m.subscriberId, member_role: m.role, account_id: m.accountId, joined_at: now })),
    );
    for (const m of p.members) await this.deps.accounts.setBrandAndPackage(tx, actor, m.subscriberId, { packageId });
    const members = await bundleRepo.members(tx, [packageId]);
    const view = {
      packageId,
      offerCode: p.offer.offerCode,
      generation: p.offer.bundle.generation,
      customerId: p.customerId,
      accountId: p.accountId,
      linkage: p.offer.linkage,
      orderId: p.orderId,
      startedAt: now.toISOString(),
      members: members.map((m) => ({ role: m.member_role, subscriberId: m.subscriber_id, serviceNumber: m.service_number, network: m.network, accountId: m.account_id })),
    };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'bundle.bind', targetType: 'package', targetId: packageId, accountId: p.accountId, after: view },
      { type: 'bundle.bound', aggregateType: 'package', aggregateId: packageId, accountId: p.accountId, payload: view },
    );
    await this.sync(tx, 'bind', packageId, p.offer.offerCode, p.accountId, members);
    return { packageId };
  }

  /**
   * R-BND-15: ends the bundle (ended_at, the order, the reason), the members leave and their package
   * is cleared; grants already given stay, none is given from next month (the grant job reads active
   * bundles only). Audited, with bundle.unbound and the legacy sync event (R-INT-4).
   */
  async unbind(tx: Tx, actor: Actor, packageId: number, p: { orderId: number | null; reason: string }): Promise<{ packageId: number; endedAt: Date }> {
    const row = await bundleRepo.lockBundle(tx, packageId);
    if (!row || row.kind !== 'bundle') throw notFound(BUNDLE, packageId);
    if (row.ended_at) {
      throw new DomainError('BUNDLE_ENDED', `捆绑 ${packageId} 已于 ${row.ended_at.toISOString()} 解除`, `Bundle ${packageId} already ended at ${row.ended_at.toISOString()}`, 409, { packageId });
    }
    const now = this.deps.clock.now();
    await bundleRepo.endBundle(tx, packageId, now, p.orderId, p.reason);
    const left = await bundleRepo.leave(tx, packageId, now);
    const members = await bundleRepo.members(tx, [packageId]);
    for (const m of members.filter((x) => x.package_now === packageId)) await this.deps.accounts.setBrandAndPackage(tx, actor, m.subscriber_id, { packageId: null });
    const view = {
      packageId,
      offerCode: row.offer_code,
      customerId: row.customer_id,
      accountId: row.account_id,
      endedAt: now.toISOString(),
      orderId: p.orderId,
      reason: p.reason,
      members: left.map((m) => ({ role: m.member_role, subscriberId: m.subscriber_id })),
    };
    await recordChange(
      tx,
      this.deps.clock,
      actor,
      { action: 'bundle.unbind', targetType: 'package', targetId: packageId, accountId: row.account_id, before: { packageId, endedAt: null }, after: view },
      { type: 'bundle.unbound', aggregateType: 'package', aggregateId: packageId, accountId: row.account_id, payload: view },
    );
    await this.sync(tx, 'unbind', packageId, row.offer_code, row.account_id, members);
    return { packageId, endedAt: now };
  }

  /** R-INT-4: the external broadband/fixed-line system (the seeds' "97 system") learns of the change. */
  private async sync(tx: Tx, action: 'bind' | 'unbind', packageId: number, offerCode: string, accountId: number, members: MemberRow[]) {
    await emit(tx, this.deps.clock, {
      type: 'sync.bundle',
      aggregateType: 'package',
      aggregateId: packageId,
      accountId,
      payload: { action, packageId, offerCode, members: members.map((m) => ({ role: m.member_role, serviceNumber: m.service_number, network: m.network })) },
    });
  }

  /** R-BND-5 / R-BND-14: the active bundle of each of these subscribers. */
  async activeBundles(q: Q, subscriberIds: number[]): Promise<Map<number, ActiveBundle>> {
    const rows = await bundleRepo.active(q, [...new Set(subscriberIds)]);
    return new Map(rows.map((r) => [r.subscriber_id, { packageId: r.package_id, offerCode: r.offer_code, role: r.member_role }]));
  }

  /** R-BND-16: the subscribers of these that joined or left a bundle of this offer in the current month. */
  async touchedThisMonth(q: Q, offerCode: string, subscriberIds: number[], now: Date): Promise<Set<number>> {
    const cycle = cycleOf(now);
    const from = cycleStart(cycle);
    const to = cycleStart(addCycles(cycle, 1));
    return new Set((await bundleRepo.touchedInMonth(q, offerCode, subscriberIds, from, to)).map((r) => r.subscriber_id));
  }

  /** The customer's bundles, active first then ended (the 360 panel). */
  async customerBundles(customerId: number, q: Q = this.deps.db) {
    const rows = await bundleRepo.bundles(q, { customerId });
    const views = await this.views(q, rows);
    return { items: [...views.filter((v) => v.status === 'active'), ...views.filter((v) => v.status === 'ended')] };
  }

  /** One bundle. */
  async get(packageId: number, q: Q = this.deps.db) {
    const rows = await bundleRepo.bundles(q, { packageIds: [packageId] });
    const [v] = await this.views(q, rows);
    if (!v) throw notFound(BUNDLE, packageId);
    return v;
  }

  /** R-BND-15 the unbind query: the active bundle a service number belongs to. */
  async lookup(serviceNumber: string, q: Q = this.deps.db) {
    const ids = await bundleRepo.activeByNumber(q, serviceNumber);
    if (ids.length === 0) {
      throw new DomainError('BUNDLE_NOT_FOUND', `号码 ${serviceNumber} 没有生效的捆绑业务`, `Number ${serviceNumber} is in no active bundle`, 404, { serviceNumber });
    }
    const views = await this.views(q, await bundleRepo.bundles(q, { packageIds: ids }));
    return { items: views };
  }

  private async views(q: Q, rows: BundleRow[]) {
    const ids = rows.map((r) => r.package_id);
    const [members, grants, family] = await Promise.all([bundleRepo.members(q, ids), bundleRepo.grants(q, ids), bundleRepo.familyNumbers(q, ids)]);
    const [amounts, packs] = await Promise.all([bundleRepo.grantAmounts(q, grants.flatMap((g) => g.grant_ids.map(Number))), bundleRepo.packOffers(q, grants.flatMap((g) => g.pack_ids.map(Number)))]);
    const amountOf = new Map(amounts.map((a) => [Number(a.grant_id), a]));
    const packOf = new Map(packs.map((p) => [Number(p.subscriber_offer_id), p]));
    return rows.map((r) => ({
      packageId: r.package_id,
      offerCode: r.offer_code,
      name: { zh: r.name_zh, en: r.name_en },
      generation: r.generation,
      status: r.ended_at ? ('ended' as const) : ('active' as const),
      customerId: r.customer_id,
      accountId: r.account_id,
      linkage: r.linkage,
      orderId: r.order_id,
      startedAt: r.started_at.toISOString(),
      endedAt: r.ended_at?.toISOString() ?? null,
      endedOrderId: r.ended_order_id,
      endedReason: r.ended_reason,
      members: members
        .filter((m) => m.package_id === r.package_id)
        .map((m) => ({
          role: m.member_role,
          subscriberId: m.subscriber_id,
          serviceNumber: m.service_number,
          network: m.network,
          status: m.status,
          accountId: m.account_id,
          payingAccountId: m.account_now,
          joinedAt: m.joined_at.toISOString(),
          leftAt: m.left_at?.toISOString() ?? null,
        })),
      grants: grants
        .filter((g) => g.package_id === r.package_id)
        .map((g) => ({
          cycle: g.cycle,
          status: g.status,
          reason: g.reason,
          amountFen: Number(g.amount_fen),
          grantedAt: g.granted_at?.toISOString() ?? null,
          caughtUp: g.caught_up,
          items: [
            ...g.grant_ids.map(Number).map((id) => ({ kind: 'money' as const, grantId: id, amountFen: amountOf.get(id) ? Number(amountOf.get(id)?.amount_fen) : null, bookId: amountOf.get(id)?.book_id ?? null })),
            ...g.pack_ids.map(Number).map((id) => ({ kind: 'pack' as const, subscriberOfferId: id, offerCode: packOf.get(id)?.offer_code ?? null, subscriberId: packOf.get(id)?.subscriber_id ?? null })),
          ],
        })),
      familyNumbers: family
        .filter((f) => f.source_id?.split(':')[0] === String(r.package_id))
        .map((f) => ({ subscriberId: f.subscriber_id, familyNumber: f.family_number, validFrom: f.valid_from.toISOString(), validTo: f.valid_to?.toISOString() ?? null })),
    }));
  }
}
