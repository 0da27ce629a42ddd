// 捆绑受理 BUNDLE_BIND (SPEC §8.1–8.3, seed 000 "新捆绑业务捆绑受理"): choose the bundle type, enter the
// member numbers, check (R-BND-1..5, R-BND-16), see the grant items from the 1st of next month (R-BND-6),
// quote 0, receipt, submit — the bundle is recorded and synced to the broadband/fixed system (R-INT-4).
import { Type } from 'typebox';
import type { Text } from '../../../platform/checks.ts';
import { addCycles, cycleOf, cycleStart } from '../../../platform/clock.ts';
import { formatYuan } from '../../../platform/money.ts';
import { type Offer, offerName } from '../../catalog/rules.ts';
import { type BindFacts, bindFailures, type BindMemberFacts, roleName } from '../../bundles/rules.ts';
import { type CustomerFacts, customerMissing, Documents, type DocumentsInput, documentFailures, loadCustomer, loadSubscriber, planSubject, subscriberSubject } from '../facts.ts';
import type { BusinessType, LoadContext, OrderEnv } from '../types.ts';

export const BundleBindInput = Type.Object(
  {
    /** the customer at the counter: owns the mobile */
    customerId: Type.Integer({ minimum: 1 }),
    /** the bundle type (捆绑优惠类型), e.g. BND-2G-BB */
    offerCode: Type.String({ minLength: 1, maxLength: 40 }),
    /** the number of each role of the bundle (a broadband by its account name) */
    members: Type.Array(
      Type.Object({ role: Type.String({ pattern: '^[a-z0-9_]{1,20}$' }), serviceNumber: Type.String({ minLength: 4, maxLength: 40 }) }, { additionalProperties: false }),
      { minItems: 1, maxItems: 6 },
    ),
    documents: Type.Optional(Documents),
  },
  { additionalProperties: false, examples: [{ customerId: 12, offerCode: 'BND-2G-BB', members: [{ role: 'mobile', serviceNumber: '13302201234' }, { role: 'broadband', serviceNumber: '13302201234' }] }] },
);

export interface BundleBindIn {
  customerId: number;
  offerCode: string;
  members: { role: string; serviceNumber: string }[];
  documents?: DocumentsInput;
}

export interface BundleBindFacts extends BindFacts {
  customer: CustomerFacts | null;
}

/** The live subscriber of a number in the role's number space (a broadband has its own), with what the rules read. */
async function loadMember(c: LoadContext, offer: Offer | undefined, m: { role: string; serviceNumber: string }): Promise<BindMemberFacts> {
  const want = offer?.members?.find((x) => x.role === m.role)?.network;
  // the role's number space: a broadband account, or a mobile / fixed number
  const pick = await c.services.accounts.liveSubscriberOf(m.serviceNumber, want === 'broadband', c.q);
  if (!pick) return { role: m.role, serviceNumber: m.serviceNumber, subscriber: null, owner: null };
  const s = await loadSubscriber(c, pick.subscriberId);
  if (!s) return { role: m.role, serviceNumber: m.serviceNumber, subscriber: null, owner: null };
  const owner = await loadCustomer(c, s.customerId);
  return {
    role: m.role,
    serviceNumber: m.serviceNumber,
    subscriber: {
      subscriberId: s.subscriberId,
      serviceNumber: s.serviceNumber,
      network: s.network,
      customerId: s.customerId,
      accountId: s.accountId,
      lifecycle: s.lifecycle,
      status: s.status,
      packageId: s.packageId,
      planCode: s.plan?.offerCode ?? null,
      plan: s.plan?.offer,
      bundle: s.bundle,
    },
    owner: owner ? { customerId: owner.customerId, name: owner.name, idType: owner.idType, idNumber: owner.idNumber } : null,
  };
}

/** R-BND-6: what each member gets every month, from the 1st of next month. */
export function grantLines(offer: Offer | undefined, env: OrderEnv): { label: Text; value: string }[] {
  if (!offer?.bundle) return [];
  const from = cycleStart(addCycles(cycleOf(env.now), 1));
  const day = from.toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
  const out = offer.bundle.grants.map((g) => ({
    label: { zh: `优惠项目·${roleName(g.role).zh}`, en: `Grant · ${roleName(g.role).en}` },
    value: `${g.name.zh}${g.kind === 'money' && g.amountFen ? `（每月 ${formatYuan(g.amountFen)} 元，当月有效）` : g.packOfferCode ? `（每月 ${g.packOfferCode}）` : ''}，${day} 起 / ${g.name.en} (monthly from ${day})`,
  }));
  const fam = offer.bundle.familyRoles;
  if (fam && fam.length === 2) {
    out.push({
      label: { zh: '优惠项目·亲情号码', en: 'Grant · family numbers' },
      value: `${roleName(fam[0] as string).zh}与${roleName(fam[1] as string).zh}每月互为亲情号码，互拨免费，${day} 起 / ${roleName(fam[0] as string).en} and ${roleName(fam[1] as string).en} are mutual family numbers each month from ${day}`,
    });
  }
  return out;
}

export const bundleBind: BusinessType<BundleBindIn, BundleBindFacts> = {
  code: 'BUNDLE_BIND',
  name: { zh: '捆绑受理', en: 'Bundle binding' },
  input: BundleBindInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId }),

  async load(c, i) {
    const [customer, offer] = await Promise.all([loadCustomer(c, i.customerId), c.services.catalog.offer(i.offerCode, c.q)]);
    const members: BindMemberFacts[] = [];
    for (const m of i.members) members.push(await loadMember(c, offer, m));
    const ids = members.flatMap((m) => (m.subscriber ? [m.subscriber.subscriberId] : []));
    const touched = offer?.bundle?.oncePerMonth ? [...(await c.services.bundles.touchedThisMonth(c.q, offer.offerCode, ids, c.now))] : [];
    return { customer, offer, members, touchedThisMonth: touched };
  },

  check(f, i, env) {
    return [...customerMissing(f.customer, i.customerId), ...(i.documents ? documentFailures(f.customer, i.documents) : []), ...bindFailures(f, i, env.now)];
  },

  // R-BND-6: binding costs nothing
  quote: () => [],

  describe(f, i, env) {
    const out: { label: Text; value: string }[] = [];
    out.push({ label: { zh: '捆绑优惠类型', en: 'Bundle type' }, value: f.offer ? `${offerName(f.offer).zh} / ${offerName(f.offer).en}` : i.offerCode });
    for (const m of f.members) {
      out.push({ label: { zh: `${roleName(m.role).zh}号码`, en: `${roleName(m.role).en} number` }, value: m.serviceNumber });
    }
    out.push(...grantLines(f.offer, env));
    return out;
  },

  notices(f, _i, env) {
    if (!f.offer?.bundle) return [];
    const from = cycleStart(addCycles(cycleOf(env.now), 1)).toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
    const items = f.offer.bundle.grants.map((g) => g.name.zh).join('、');
    const itemsEn = f.offer.bundle.grants.map((g) => g.name.en).join(', ');
    return [
      {
        zh: `自 ${from} 起每月 1 日添加优惠项目${items ? `：${items}` : ''}（手机正常、宽带不欠费且宽带专款有余额时）；捆绑期间不能换套餐、拆机、报停、过户、合拆户、改号。`,
        en: `From ${from}, on the 1st of every month${itemsEn ? `: ${itemsEn}` : ' the grant items'} (while the mobile is normal and the broadband owes nothing and has fund money); while bound, no plan change, cancellation, suspension, transfer, household merge/split or number change.`,
      },
    ];
  },

  subjects: (f) => f.members.flatMap((m) => (m.subscriber ? [subscriberSubject(m.subscriber.subscriberId), planSubject(m.subscriber.subscriberId)] : [])),

  async apply(c, f, i) {
    const offer = f.offer as Offer;
    const members = f.members.map((m) => ({ role: m.role, subscriberId: m.subscriber?.subscriberId as number, accountId: m.subscriber?.accountId as number }));
    const main = members.find((m) => m.role === 'mobile') ?? (members[0] as (typeof members)[number]);
    const { packageId } = await c.services.bundles.bind(c.tx, c.actor, { offer, customerId: i.customerId, accountId: main.accountId, orderId: c.orderId, members });
    return {
      accountId: main.accountId,
      customerId: i.customerId,
      subscribers: Object.fromEntries(members.map((m) => [m.role, m.subscriberId])),
      result: { packageId, offerCode: offer.offerCode, members, grantsFrom: addCycles(cycleOf(c.now), 1) },
    };
  },
};
