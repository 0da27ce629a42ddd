// 解绑受理 BUNDLE_UNBIND (SPEC §8.1 R-BND-15, seed 000 "新捆绑业务解绑受理"): the operator enters a member's
// number and the service password, queries the bundle; no member may owe anything; fee 8 yuan (UNBIND,
// ONE_OFF); receipt; submit ends the bundle and syncs it (R-INT-4). Grants already given this month stay.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { addCycles, cycleOf } from '../../../platform/clock.ts';
import { formatYuan } from '../../../platform/money.ts';
import { roleName } from '../../bundles/rules.ts';
import { loadSettlement, type Settlement, subscriberArrearsFen } from '../account-facts.ts';
import { type CustomerFacts, customerMissing, Documents, type DocumentsInput, documentFailures, loadCustomer, subscriberSubject } from '../facts.ts';
import { feeLine } from '../general.ts';
import type { BusinessType } from '../types.ts';

export const BundleUnbindInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    /** any member's number (a broadband by its account name) */
    serviceNumber: Type.String({ minLength: 4, maxLength: 40 }),
    documents: Type.Optional(Documents),
  },
  { additionalProperties: false, examples: [{ customerId: 12, serviceNumber: '13302201234' }] },
);

export interface BundleUnbindIn {
  customerId: number;
  serviceNumber: string;
  documents?: DocumentsInput;
}

export interface UnbindMember {
  role: string;
  subscriberId: number;
  serviceNumber: string;
  network: string;
  status: string;
  accountId: number;
  arrearsFen: number;
}

export interface BundleUnbindFacts {
  customer: CustomerFacts | null;
  bundle: { packageId: number; offerCode: string; name: Text; customerId: number; startedAt: string } | null;
  members: UnbindMember[];
}

export const bundleUnbind: BusinessType<BundleUnbindIn, BundleUnbindFacts> = {
  code: 'BUNDLE_UNBIND',
  name: { zh: '捆绑解绑', en: 'Bundle unbinding' },
  input: BundleUnbindInput,
  // R-BND-15: the operator enters the number and the service password
  sensitive: true,

  refs: (i) => ({ customerId: i.customerId }),

  async load(c, i) {
    // the number may be the mobile's or the broadband account's (often the same: R-BND-2)
    const [customer, asNumber, asBroadband] = await Promise.all([
      loadCustomer(c, i.customerId),
      c.services.accounts.liveSubscriberOf(i.serviceNumber, false, c.q),
      c.services.accounts.liveSubscriberOf(i.serviceNumber, true, c.q),
    ]);
    const live = [asNumber, asBroadband].flatMap((s) => (s ? [s.subscriberId] : []));
    const active = await c.services.bundles.activeBundles(c.q, live);
    const hit = [...active.values()][0];
    if (!hit) return { customer, bundle: null, members: [] };
    const b = await c.services.bundles.get(hit.packageId, c.q);
    const current = b.members.filter((m) => m.leftAt === null);
    // R-BND-15: each member's own arrears on the account paying for it now
    const settlements = new Map<number, Settlement | null>();
    for (const accountId of new Set(current.map((m) => m.payingAccountId))) settlements.set(accountId, await loadSettlement(c, accountId));
    const members: UnbindMember[] = current.map((m) => ({
      role: m.role,
      subscriberId: m.subscriberId,
      serviceNumber: m.serviceNumber,
      network: m.network,
      status: m.status,
      accountId: m.payingAccountId,
      arrearsFen: subscriberArrearsFen(settlements.get(m.payingAccountId) ?? null, m.subscriberId),
    }));
    return { customer, bundle: { packageId: b.packageId, offerCode: b.offerCode, name: b.name, customerId: b.customerId, startedAt: b.startedAt }, members };
  },

  check(f, i) {
    const out: CheckFailure[] = [...customerMissing(f.customer, i.customerId), ...(i.documents ? documentFailures(f.customer, i.documents) : [])];
    if (!f.bundle) {
      out.push(
        failure('BUNDLE_NOT_FOUND', { zh: `号码 ${i.serviceNumber} 没有生效的捆绑业务`, en: `Number ${i.serviceNumber} is in no active bundle` }, { zh: '请核对号码（宽带请输入宽带帐号）', en: 'Check the number (a broadband by its account name)' }, {
          serviceNumber: i.serviceNumber,
        }),
      );
      return out;
    }
    if (f.customer && f.bundle.customerId !== f.customer.customerId) {
      out.push(
        failure('SUBSCRIBER_OF_OTHER_CUSTOMER', { zh: '该捆绑不属于此客户', en: 'The bundle belongs to another customer' }, { zh: '请核对客户和号码', en: 'Check the customer and the number' }, {
          packageId: f.bundle.packageId,
        }),
      );
    }
    // R-BND-15: both devices without arrears
    for (const m of f.members) {
      if (m.arrearsFen > 0) {
        out.push(
          failure(
            'BUNDLE_MEMBER_HAS_ARREARS',
            { zh: `${roleName(m.role).zh} ${m.serviceNumber} 尚欠费 ${formatYuan(m.arrearsFen)} 元，不能解绑`, en: `The ${roleName(m.role).en} ${m.serviceNumber} owes ${formatYuan(m.arrearsFen)}; the bundle cannot be unbound` },
            { zh: '请先缴清欠费（缴费），再办理解绑', en: 'Have the arrears paid first (payment order), then unbind' },
            { subscriberId: m.subscriberId, arrearsFen: m.arrearsFen },
          ),
        );
      }
    }
    return out;
  },

  // R-BND-15: 8 yuan (the UNBIND fee, ONE_OFF)
  quote: (_f, _i, env) => feeLine(env, 'UNBIND'),

  describe(f, i) {
    if (!f.bundle) return [{ label: { zh: '号码', en: 'Number' }, value: i.serviceNumber }];
    return [
      { label: { zh: '解除捆绑', en: 'Bundle ended' }, value: `${f.bundle.name.zh} / ${f.bundle.name.en}（#${f.bundle.packageId}，${f.bundle.startedAt.slice(0, 10)} 起）` },
      ...f.members.map((m) => ({ label: { zh: `${roleName(m.role).zh}号码`, en: `${roleName(m.role).en} number` }, value: m.serviceNumber })),
    ];
  },

  notices(f, _i, env) {
    if (!f.bundle) return [];
    const next = addCycles(cycleOf(env.now), 1);
    return [
      {
        zh: `解绑后当月已添加的优惠项目仍有效，自 ${next} 月起不再添加；各设备可单独办理换套餐等业务。`,
        en: `Grant items already given this month stay; none from ${next}. Each line may then change plan etc. on its own.`,
      },
    ];
  },

  subjects: (f) => f.members.map((m) => subscriberSubject(m.subscriberId)),

  async apply(c, f) {
    const b = f.bundle as NonNullable<BundleUnbindFacts['bundle']>;
    const done = await c.services.bundles.unbind(c.tx, c.actor, b.packageId, { orderId: c.orderId, reason: 'unbind_order' });
    const mobile = f.members.find((m) => m.role === 'mobile') ?? f.members[0];
    return {
      accountId: mobile?.accountId ?? null,
      customerId: b.customerId,
      subscribers: Object.fromEntries(f.members.map((m) => [m.role, m.subscriberId])),
      result: { packageId: b.packageId, offerCode: b.offerCode, endedAt: done.endedAt.toISOString() },
    };
  },
};
