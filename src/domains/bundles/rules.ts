// Bundle rules (SPEC §8): what binding needs (R-BND-1..5, R-BND-16), and what a bound or bundle-stopped
// member may not do (R-BND-14, R-BND-11). Pure functions over facts the orders load.
import { type CheckFailure, failure, type Text } from '../../platform/checks.ts';
import type { Network } from '../../platform/schema.ts';
import { type Offer, saleFailures } from '../catalog/rules.ts';
import type { AnyBusinessType, LoadContext, OrderEnv } from '../orders/types.ts';

export const ROLE_NAMES: Record<string, Text> = {
  mobile: { zh: '手机', en: 'mobile' },
  broadband: { zh: '宽带', en: 'broadband' },
  fixed: { zh: '固话', en: 'fixed line' },
  mobile2: { zh: '第二部手机', en: 'second mobile' },
};
export const roleName = (r: string): Text => ROLE_NAMES[r] ?? { zh: r, en: r };

const MOBILE: readonly Network[] = ['gsm2g', 'wcdma3g'];
const isMobile = (n: Network) => MOBILE.includes(n);

/**
 * R-BND-14: while bound, these orders are refused for every member (换套餐、拆机、报停、过户/合拆户、改号).
 */
export const BUNDLE_RESTRICTED_TYPES: readonly string[] = ['CHANGE_PLAN', 'CANCEL', 'PRE_CANCEL', 'SUSPEND', 'TRANSFER_OWNERSHIP', 'HOUSEHOLD_MERGE', 'HOUSEHOLD_SPLIT', 'CHANGE_NUMBER'];

/** R-BND-11: a member in bundle_stop accepts only prepayment top-ups (and enquiries that change nothing). */
export const BUNDLE_STOP_ALLOWED_TYPES: readonly string[] = ['PAYMENT', 'PRINT_BILL', 'REPRINT_INVOICE'];

/** A subscriber an order touches, as far as the bundle rules need it. */
export interface GuardedSubscriber {
  subscriberId: number;
  serviceNumber: string;
  status?: string | undefined;
  bundle: { packageId: number; offerCode: string; role: string } | null;
}

/** R-BND-14 and R-BND-11 for an order of `businessType` touching these subscribers. */
export function bundleRestrictionFailures(businessType: string, subs: readonly GuardedSubscriber[]): CheckFailure[] {
  const out: CheckFailure[] = [];
  const seen = new Set<number>();
  for (const s of subs) {
    if (seen.has(s.subscriberId)) continue;
    seen.add(s.subscriberId);
    if (s.bundle && BUNDLE_RESTRICTED_TYPES.includes(businessType)) {
      out.push(
        failure(
          'BUNDLE_BOUND_RESTRICTED',
          { zh: `${s.serviceNumber} 已办理捆绑业务（${s.bundle.offerCode}），解绑前不能办理此业务`, en: `${s.serviceNumber} is bound in bundle ${s.bundle.offerCode}; this order is not possible before unbinding` },
          { zh: '请先办理捆绑解绑（BUNDLE_UNBIND），再办理此业务', en: 'Unbind the bundle first (BUNDLE_UNBIND), then take this order' },
          { subscriberId: s.subscriberId, packageId: s.bundle.packageId, offerCode: s.bundle.offerCode, businessType },
        ),
      );
    }
    if (s.status === 'bundle_stop' && !BUNDLE_STOP_ALLOWED_TYPES.includes(businessType)) {
      out.push(
        failure(
          'BUNDLE_STOP_TOPUP_ONLY',
          { zh: `${s.serviceNumber} 因捆绑手机欠费停机，只能办理预存充值`, en: `${s.serviceNumber} is stopped because its bundled mobile is in arrears; only prepayment top-ups are accepted` },
          { zh: '请先缴清捆绑手机的欠费（宽带随手机立即恢复），或为本号码预存充值', en: 'Have the bundled mobile’s arrears paid (the broadband resumes with it), or top this number up' },
          { subscriberId: s.subscriberId, businessType },
        ),
      );
    }
  }
  return out;
}

/** Picks the subscribers out of an order's facts: SubscriberFacts fields, arrays of them or of `{ facts }`, and `{ subscriberId, serviceNumber }` lists. */
export function subscribersInFacts(f: unknown): { known: GuardedSubscriber[]; unknown: { subscriberId: number; serviceNumber: string; status?: string | undefined }[] } {
  const known: GuardedSubscriber[] = [];
  const unknown: { subscriberId: number; serviceNumber: string; status?: string | undefined }[] = [];
  const take = (x: unknown) => {
    if (!x || typeof x !== 'object') return false;
    const o = x as Record<string, unknown>;
    if (typeof o.subscriberId !== 'number' || typeof o.serviceNumber !== 'string') return false;
    const status = typeof o.status === 'string' ? o.status : undefined;
    if ('bundle' in o) known.push({ subscriberId: o.subscriberId, serviceNumber: o.serviceNumber, status, bundle: (o.bundle as GuardedSubscriber['bundle']) ?? null });
    else unknown.push({ subscriberId: o.subscriberId, serviceNumber: o.serviceNumber, status });
    return true;
  };
  if (!f || typeof f !== 'object') return { known, unknown };
  for (const v of Object.values(f as Record<string, unknown>)) {
    if (take(v)) continue;
    if (Array.isArray(v)) {
      for (const e of v) if (!take(e) && e && typeof e === 'object') take((e as Record<string, unknown>).facts);
    }
  }
  return { known, unknown };
}

// ---- binding (R-BND-1..5, R-BND-16) ------------------------------------------------------------

export interface BindMemberFacts {
  role: string;
  serviceNumber: string;
  /** the live subscriber of that number in the role's number space; null: none (R-BND-1) */
  subscriber: {
    subscriberId: number;
    serviceNumber: string;
    network: Network;
    customerId: number;
    accountId: number;
    lifecycle: string;
    status: string;
    packageId: number | null;
    planCode: string | null;
    plan: Offer | undefined;
    bundle: { packageId: number; offerCode: string; role: string } | null;
  } | null;
  /** the member's customer, for R-BND-3 */
  owner: { customerId: number; name: string; idType: string; idNumber: string } | null;
}

export interface BindFacts {
  offer: Offer | undefined;
  members: BindMemberFacts[];
  /** R-BND-16: members that joined or left a bundle of this offer this month */
  touchedThisMonth: number[];
}

/** The network a role of the offer asks for; generation 'other' accepts any mobile network for a mobile role. */
function networkFits(offer: Offer, want: Network, got: Network): boolean {
  if (want === got) return true;
  return offer.bundle?.generation === 'other' && isMobile(want) && isMobile(got);
}

/** R-ORD-1: every rule of binding at once. */
export function bindFailures(f: BindFacts, i: { customerId: number; offerCode: string; members: { role: string; serviceNumber: string }[] }, now: Date): CheckFailure[] {
  const out: CheckFailure[] = [];
  const o = f.offer;
  if (!o) {
    return [failure('OFFER_NOT_FOUND', { zh: `产品不存在：${i.offerCode}`, en: `No such offer: ${i.offerCode}` }, { zh: '请重新选择捆绑优惠类型', en: 'Choose the bundle type again' }, { offerCode: i.offerCode })];
  }
  if (o.kind !== 'bundle' || !o.bundle || !o.members) {
    return [failure('NOT_A_BUNDLE', { zh: `${o.nameZh} 不是捆绑产品`, en: `${o.nameEn} is not a bundle offer` }, { zh: '请选择捆绑优惠类型', en: 'Choose a bundle type' }, { offerCode: o.offerCode })];
  }
  const terms = o.bundle;
  out.push(...saleFailures(o, now));
  // roles: every role of the offer once, nothing else
  for (const want of o.members) {
    const n = i.members.filter((m) => m.role === want.role).length;
    if (n === 0) {
      out.push(
        failure('BUNDLE_ROLE_MISSING', { zh: `${o.nameZh} 须录入${roleName(want.role).zh}号码`, en: `${o.nameEn} needs the ${roleName(want.role).en} number` }, { zh: `请录入${roleName(want.role).zh}号码`, en: `Enter the ${roleName(want.role).en} number` }, {
          role: want.role,
        }),
      );
    } else if (n > 1) {
      out.push(failure('BUNDLE_ROLE_DUPLICATE', { zh: `${roleName(want.role).zh}只能录入一个`, en: `Only one ${roleName(want.role).en} per bundle` }, { zh: '请删除多余的号码', en: 'Remove the extra number' }, { role: want.role }));
    }
  }
  for (const m of i.members) {
    if (!o.members.some((x) => x.role === m.role)) {
      out.push(failure('BUNDLE_ROLE_UNKNOWN', { zh: `${o.nameZh} 没有成员角色 ${m.role}`, en: `${o.nameEn} has no member role ${m.role}` }, { zh: '请删除该号码或选择其他捆绑类型', en: 'Remove that number or choose another bundle type' }, { role: m.role }));
    }
  }
  const seenSubs = new Set<number>();
  for (const m of f.members) {
    const want = o.members.find((x) => x.role === m.role);
    if (!want) continue;
    const s = m.subscriber;
    const tag = { role: m.role, serviceNumber: m.serviceNumber };
    // R-BND-1 both in service (a broadband may still be an in-transit new installation)
    if (!s || s.lifecycle !== 'normal') {
      out.push(
        failure(
          'BUNDLE_MEMBER_NOT_IN_SERVICE',
          { zh: `${roleName(m.role).zh} ${m.serviceNumber} 不是在网用户`, en: `The ${roleName(m.role).en} ${m.serviceNumber} is not in service` },
          { zh: '请核对号码；宽带可以是新装在途工单，须先受理新装', en: 'Check the number; a broadband may be an in-transit new installation, which must be ordered first' },
          { ...tag, lifecycle: s?.lifecycle ?? null },
        ),
      );
      continue;
    }
    if (seenSubs.has(s.subscriberId)) {
      out.push(failure('BUNDLE_MEMBER_DUPLICATE', { zh: `号码 ${m.serviceNumber} 重复`, en: `The number ${m.serviceNumber} appears twice` }, { zh: '每个角色须为不同设备', en: 'Each role needs a different line' }, tag));
    }
    seenSubs.add(s.subscriberId);
    if (!networkFits(o, want.network, s.network)) {
      out.push(
        failure('BUNDLE_MEMBER_NETWORK', { zh: `${roleName(m.role).zh} ${m.serviceNumber} 的网络类型须为 ${want.network}`, en: `The ${roleName(m.role).en} ${m.serviceNumber} must be on ${want.network}` }, {
          zh: '请选择与捆绑类型相符的设备或捆绑类型',
          en: 'Choose a line or a bundle type that fit each other',
        }, { ...tag, network: s.network, required: want.network }),
      );
    }
    // R-BND-5 status normal, not in another bundle or package, plan eligible
    if (s.status !== 'normal') {
      out.push(
        failure('BUNDLE_MEMBER_NOT_NORMAL', { zh: `${roleName(m.role).zh} ${m.serviceNumber} 状态为 ${s.status}，须为正常`, en: `The ${roleName(m.role).en} ${m.serviceNumber} is ${s.status}; it must be normal` }, {
          zh: '请先恢复正常状态（缴费或报开）再捆绑',
          en: 'Bring it back to normal (payment or resume) before binding',
        }, { ...tag, status: s.status }),
      );
    }
    if (s.bundle) {
      out.push(
        failure('BUNDLE_MEMBER_ALREADY_BOUND', { zh: `${m.serviceNumber} 已办理捆绑业务（${s.bundle.offerCode}）`, en: `${m.serviceNumber} is already bound in ${s.bundle.offerCode}` }, {
          zh: '一个用户只能参加一个捆绑；请先解绑原捆绑',
          en: 'A subscriber is in one bundle at a time; unbind the other first',
        }, { ...tag, packageId: s.bundle.packageId }),
      );
    } else if (s.packageId !== null) {
      out.push(
        failure('BUNDLE_MEMBER_IN_PACKAGE', { zh: `${m.serviceNumber} 已是融合套餐成员，不能再捆绑`, en: `${m.serviceNumber} is a member of a package and cannot be bound` }, {
          zh: '请先退出融合套餐（换套餐）再捆绑',
          en: 'Leave the package first (change plan), then bind',
        }, { ...tag, packageId: s.packageId }),
      );
    }
    if (!s.planCode) {
      out.push(failure('BUNDLE_MEMBER_NO_PLAN', { zh: `${m.serviceNumber} 没有主套餐`, en: `${m.serviceNumber} has no plan` }, { zh: '请先为该用户办理主套餐', en: 'Give the subscriber a plan first' }, tag));
    } else if (s.plan && s.plan.termMonths > 0 && s.plan.minimumSpendFen > 0 && !terms.allowsContractPlans) {
      out.push(
        failure('BUNDLE_CONTRACT_PLAN_NOT_ALLOWED', { zh: `${s.plan.nameZh} 为合约计划，不能参加 ${o.nameZh}`, en: `${s.plan.nameEn} is a contract plan and cannot join ${o.nameEn}` }, {
          zh: '合约计划用户请选择 3G 捆绑类型',
          en: 'Contract-plan users choose a 3G bundle type',
        }, { ...tag, planCode: s.planCode }),
      );
    }
    // R-BND-16 no switching between the bundle and a forbidden plan, in either direction
    if (s.planCode && (o.forbiddenSwitches.includes(s.planCode) || (s.plan?.forbiddenSwitches ?? []).includes(o.offerCode))) {
      out.push(
        failure(
          'BUNDLE_SWITCH_FORBIDDEN',
          { zh: `${s.plan?.nameZh ?? s.planCode} 与 ${o.nameZh} 之间不能互相转换`, en: `Switching between ${s.plan?.nameEn ?? s.planCode} and ${o.nameEn} is not allowed` },
          { zh: '请先改为其他套餐，或选择其他捆绑类型', en: 'Change to another plan first, or choose another bundle type' },
          { ...tag, planCode: s.planCode },
        ),
      );
    }
    // R-BND-16 not accepted twice for the same subscriber in one month
    if (terms.oncePerMonth && f.touchedThisMonth.includes(s.subscriberId)) {
      out.push(
        failure('BUNDLE_ONCE_PER_MONTH', { zh: `${m.serviceNumber} 本月已办理过 ${o.nameZh}，当月不能重复受理`, en: `${m.serviceNumber} already had ${o.nameEn} this month; not again before next month` }, {
          zh: '请下月再办理',
          en: 'Take it again next month',
        }, tag),
      );
    }
  }
  const byRole = new Map(f.members.filter((m) => m.subscriber && m.subscriber.lifecycle === 'normal').map((m) => [m.role, m]));
  const mobile = byRole.get('mobile');
  // the customer at the counter owns the mobile
  if (mobile?.subscriber && mobile.subscriber.customerId !== i.customerId) {
    out.push(
      failure('SUBSCRIBER_OF_OTHER_CUSTOMER', { zh: `手机 ${mobile.serviceNumber} 不属于此客户`, en: `The mobile ${mobile.serviceNumber} belongs to another customer` }, { zh: '请核对客户和号码', en: 'Check the customer and the number' }, {
        subscriberId: mobile.subscriber.subscriberId,
      }),
    );
  }
  // R-BND-2 same number
  const broadband = byRole.get('broadband');
  if (terms.requiresSameNumber && mobile && broadband && mobile.serviceNumber !== broadband.serviceNumber) {
    out.push(
      failure(
        'BUNDLE_NUMBER_MISMATCH',
        { zh: '手机和宽带必须为同号', en: 'The mobile and the broadband must have the same number' },
        { zh: `请先将宽带帐号改为手机号码 ${mobile.serviceNumber}（宽带改号）`, en: `Change the broadband account name to the mobile number ${mobile.serviceNumber} first` },
        { mobile: mobile.serviceNumber, broadband: broadband.serviceNumber },
      ),
    );
  }
  // R-BND-3 the same customer name and ID (R-BND-16: the same customer)
  const ref = mobile?.owner ?? f.members.find((m) => m.owner)?.owner ?? null;
  if (ref) {
    for (const m of f.members) {
      if (!m.owner || !m.subscriber || m.owner.customerId === ref.customerId) continue;
      if (m.owner.name !== ref.name || m.owner.idType !== ref.idType || m.owner.idNumber !== ref.idNumber) {
        out.push(
          failure(
            'BUNDLE_OWNER_MISMATCH',
            { zh: `${roleName(m.role).zh} ${m.serviceNumber} 的客户姓名和证件与手机用户不一致`, en: `The ${roleName(m.role).en} ${m.serviceNumber} has another customer name or ID than the mobile` },
            { zh: '各设备须为同一客户（姓名、证件号码一致）；请先办理过户或核对资料', en: 'Every line must be the same customer (name and ID); transfer ownership or correct the data first' },
            { role: m.role, serviceNumber: m.serviceNumber },
          ),
        );
      }
    }
  }
  // R-BND-4 (2G) / R-BND-16: one paying account for every member
  if (terms.requiresJointAccount) {
    const accounts = new Set(f.members.filter((m) => m.subscriber && o.members?.some((x) => x.role === m.role)).map((m) => m.subscriber?.accountId));
    if (accounts.size > 1) {
      out.push(
        failure(
          'BUNDLE_JOINT_ACCOUNT_REQUIRED',
          { zh: `${o.nameZh} 须各设备合帐缴费（同一帐户）`, en: `${o.nameEn} needs every line to pay from one account (joint account)` },
          { zh: '请先办理合帐（JOINT_ACCOUNT），把宽带等设备合到手机帐户', en: 'Take a joint-account order (JOINT_ACCOUNT) first, moving the other lines onto the mobile’s account' },
          { accounts: [...accounts] },
        ),
      );
    }
  }
  return out;
}

// ---- the guard every business type runs under (R-BND-14, R-BND-11) -----------------------------

/** What the guard read while loading an order's facts, for its check (pure). */
const guarded = new WeakMap<object, GuardedSubscriber[]>();

/**
 * Wraps a business type so its check also refuses R-BND-14 (restricted types for bound members) and
 * R-BND-11 (bundle_stop: top-ups only). Subscriber facts carry their bundle already (loadSubscriber
 * reads it only for package members); lists of moved subscribers without it (household merge) are
 * looked up in one query, and only for the restricted types.
 */
export function withBundleRules<T extends AnyBusinessType>(t: T): T {
  return {
    ...t,
    async load(c: LoadContext, input: unknown) {
      const f = await t.load(c, input);
      if (!f || typeof f !== 'object') return f;
      const { known, unknown } = subscribersInFacts(f);
      let subs = known;
      if (unknown.length && BUNDLE_RESTRICTED_TYPES.includes(t.code)) {
        const active = await c.services.bundles.activeBundles(
          c.q,
          unknown.map((u) => u.subscriberId),
        );
        subs = [...known, ...unknown.map((u) => ({ ...u, bundle: active.get(u.subscriberId) ?? null }))];
      } else {
        subs = [...known, ...unknown.map((u) => ({ ...u, bundle: null }))];
      }
      guarded.set(f as object, subs);
      return f;
    },
    check(f: unknown, input: unknown, env: OrderEnv) {
      const own = t.check(f, input, env);
      const subs = f && typeof f === 'object' ? guarded.get(f as object) : undefined;
      return subs ? [...own, ...bundleRestrictionFailures(t.code, subs)] : own;
    },
  };
}
