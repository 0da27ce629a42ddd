// 宽带手机一号通 BROADBAND_ONE_NUMBER (SPEC §8.3 R-BND-18, seed 000 §2): a change-plan flow on an
// existing mobile — the operator finds the customer (creating the customer first when there is none),
// pulls the mobile's data (GSM号码资料提取), then in the same order installs a new broadband whose
// account name is the mobile's number (R-BND-2): measurement room (测量室), install address,
// bandwidth and plan, optional discount packs, a prestore into the broadband fund, the fee audit.
// On submit the two are bound into the bundle BND-ONE-NUMBER; the order completes when the broadband's
// installation work order is done.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { businessDay, cycleOf } from '../../../platform/clock.ts';
import { formatYuan } from '../../../platform/money.ts';
import { AmountFen } from '../../../platform/schemas.ts';
import { type Offer, offerName, saleFailures } from '../../catalog/rules.ts';
import {
  type CustomerFacts,
  customerMissing,
  Documents,
  type DocumentsInput,
  documentFailures,
  lifecycleFailures,
  loadCustomer,
  loadSubscriber,
  numberSubject,
  ownerMismatch,
  planSubject,
  type SubscriberFacts,
  subscriberMissing,
  subscriberSubject,
} from '../facts.ts';
import { mobileOnly } from '../general.ts';
import { applyMember, loadMember, type MemberFacts, memberDescription, memberFailures, memberQuote, type NewMemberInput } from '../members.ts';
import type { BusinessType, OrderEnv, QuoteLine } from '../types.ts';

/** The bundle offer the order binds (demo catalog). */
export const ONE_NUMBER_OFFER = 'BND-ONE-NUMBER';

/** What the broadband fund (宽带专款, R-ACC-12) may pay when the offer names nothing else: the broadband's own items. */
const DEFAULT_FUND_ITEMS = ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'];

export const BroadbandOneNumberInput = Type.Object(
  {
    /** the customer at the counter (found, or created first through the customer API) */
    customerId: Type.Integer({ minimum: 1 }),
    /** the existing mobile whose number becomes the broadband account name */
    subscriberId: Type.Integer({ minimum: 1 }),
    documents: Documents,
    /** the new broadband's plan */
    planCode: Type.String({ minLength: 1, maxLength: 40 }),
    /** 测量室: the exchange test room that dispatches and tests the installation */
    measurementRoom: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    standardAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    installAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    bandwidthMbps: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    /** discount packs (优惠) for the broadband */
    packs: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { maxItems: 10, uniqueItems: true })),
    /** 预存: paid into the broadband fund (restricted to the broadband's items, private to it) */
    broadbandFundFen: Type.Optional(AmountFen()),
  },
  { additionalProperties: false },
);

export interface BroadbandOneNumberIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  planCode: string;
  measurementRoom?: string;
  standardAddress?: string;
  installAddress?: string;
  bandwidthMbps?: number;
  packs?: string[];
  broadbandFundFen?: number;
}

export interface BroadbandOneNumberFacts {
  customer: CustomerFacts | null;
  mobile: SubscriberFacts | null;
  account: { accountId: number; status: 'active' | 'closed'; name: string } | null;
  offer: Offer | undefined;
  /** the bundle the mobile is already in, if any (R-BND-5) */
  bound: { packageId: number; offerCode: string } | null;
  /** the new broadband, named by the mobile's number; null when there is no mobile to name it */
  broadband: MemberFacts | null;
}

/** The new broadband as a member of the order: the mobile's number is its account name (R-BND-2). */
function broadbandMember(serviceNumber: string, i: BroadbandOneNumberIn): NewMemberInput {
  return {
    role: 'broadband',
    network: 'broadband',
    serviceNumber,
    planCode: i.planCode,
    ...(i.packs?.length ? { packs: i.packs } : {}),
    ...(i.standardAddress ? { standardAddress: i.standardAddress } : {}),
    ...(i.installAddress ? { installAddress: i.installAddress } : {}),
    ...(i.bandwidthMbps ? { bandwidthMbps: i.bandwidthMbps } : {}),
  };
}

/** The bandwidths a broadband plan is sold with (attributes bandwidthsMbps, or its one bandwidthMbps); null: any. */
export function planBandwidths(plan: Offer | undefined): number[] | null {
  const a = plan?.attributes ?? {};
  if (Array.isArray(a.bandwidthsMbps)) return a.bandwidthsMbps.map(Number);
  if (typeof a.bandwidthMbps === 'number') return [a.bandwidthMbps];
  return null;
}

/** The bundle offer is there and on sale, and the mobile is of the network the offer's mobile member needs. */
function offerFailures(offer: Offer | undefined, mobile: SubscriberFacts | null, env: OrderEnv): CheckFailure[] {
  if (!offer || offer.kind !== 'bundle') {
    return [
      failure('BUNDLE_OFFER_NOT_FOUND', { zh: `捆绑产品不存在：${ONE_NUMBER_OFFER}`, en: `No such bundle offer: ${ONE_NUMBER_OFFER}` }, { zh: '请联系产品管理员配置“宽带手机一号通”', en: 'Ask the catalog administrator to set up the one-number bundle' }),
    ];
  }
  const out = saleFailures(offer, env.now);
  const want = offer.members?.find((m) => m.role === 'mobile')?.network;
  if (mobile && want && mobile.network !== want) {
    out.push(
      failure(
        'BUNDLE_MEMBER_NETWORK',
        { zh: `${offer.nameZh}的手机须为 ${want} 用户，${mobile.serviceNumber} 是 ${mobile.network}`, en: `${offer.nameEn} needs a ${want} mobile; ${mobile.serviceNumber} is ${mobile.network}` },
        { zh: '请选择符合网络类型的手机号码', en: 'Choose a mobile of the network the bundle needs' },
        { network: mobile.network, required: want },
      ),
    );
  }
  // §8.2: contract plans (合约计划) join only the bundles that allow them
  const plan = mobile?.plan?.offer;
  if (plan && plan.termMonths > 0 && offer.bundle && !offer.bundle.allowsContractPlans) {
    out.push(
      failure('CONTRACT_PLAN_NOT_ALLOWED', { zh: `合约计划用户不能办理${offer.nameZh}：${plan.nameZh}`, en: `A contract-plan subscriber cannot take ${offer.nameEn}: ${plan.nameEn}` }, {
        zh: '合约期满后再办理，或选择允许合约计划的捆绑',
        en: 'Take it after the contract term, or choose a bundle that allows contract plans',
      }),
    );
  }
  return out;
}

/** R-BND-1 / R-BND-5: the mobile is in service, normal, not in a bundle or package already. */
function mobileFailures(f: BroadbandOneNumberFacts, i: BroadbandOneNumberIn): CheckFailure[] {
  const s = f.mobile;
  const out: CheckFailure[] = [...subscriberMissing(s, i.subscriberId), ...ownerMismatch(s, i.customerId), ...lifecycleFailures(s)];
  if (!s) return out;
  out.push(...mobileOnly(s, { zh: '宽带手机一号通', en: 'Broadband–mobile one number' }));
  if (s.lifecycle === 'normal' && s.stopReasons.length > 0) {
    out.push(
      failure('MOBILE_NOT_NORMAL', { zh: `手机 ${s.serviceNumber} 不是正常在用状态（${s.status}）`, en: `Mobile ${s.serviceNumber} is not in normal service (${s.status})` }, {
        zh: '请先缴清欠费或办理复机，再办理一号通',
        en: 'Have the arrears paid or the line resumed first',
      }, { stopReasons: s.stopReasons }),
    );
  }
  if (f.bound) {
    out.push(
      failure(
        'BUNDLE_ALREADY_BOUND',
        { zh: `手机 ${s.serviceNumber} 已办理捆绑业务（${f.bound.offerCode}）`, en: `Mobile ${s.serviceNumber} is already in a bundle (${f.bound.offerCode})` },
        { zh: '一个用户只能参加一个捆绑，请先解绑', en: 'A subscriber joins one bundle at a time; unbind it first' },
        { packageId: f.bound.packageId, offerCode: f.bound.offerCode },
      ),
    );
  } else if (s.packageId !== null || s.plan?.kind === 'package') {
    out.push(
      failure('ALREADY_IN_PACKAGE', { zh: `手机 ${s.serviceNumber} 是融合套餐成员`, en: `Mobile ${s.serviceNumber} is a package member` }, { zh: '请先退出融合套餐', en: 'Leave the package first' }, {
        packageId: s.packageId ?? s.plan?.packageId ?? null,
      }),
    );
  }
  if (f.account?.status === 'closed') {
    out.push(failure('ACCOUNT_CLOSED', { zh: `手机的帐户 ${f.account.accountId} 已关闭`, en: `The mobile’s account ${f.account.accountId} is closed` }, { zh: '请先处理帐户', en: 'Sort out the account first' }, { accountId: f.account.accountId }));
  }
  return out;
}

/** The new broadband: every rule of a new member, the one number (R-BND-2), the measurement room, the plan's bandwidth. */
function broadbandFailures(f: BroadbandOneNumberFacts, i: BroadbandOneNumberIn, env: OrderEnv): CheckFailure[] {
  const b = f.broadband;
  if (!b) return [];
  const number = b.input.serviceNumber;
  // R-BND-2: the number must be free in the broadband number space, else it cannot be the same number
  const out = memberFailures(b, env, { needsPlan: true }).filter((x) => x.code !== 'SERVICE_NUMBER_TAKEN');
  if (b.numberInUse) {
    out.push(
      failure('BROADBAND_NUMBER_TAKEN', { zh: `已有宽带使用帐号 ${number}`, en: `A broadband already uses the account name ${number}` }, {
        zh: '该号码已有宽带：请办理捆绑受理（不新装），或先将原宽带改号',
        en: 'That number already has a broadband: bind the existing one instead, or change the old broadband’s number first',
      }, { serviceNumber: number }),
    );
  }
  if (!i.measurementRoom?.trim()) {
    out.push(failure('MEASUREMENT_ROOM_REQUIRED', { zh: '新装宽带须录入测量室', en: 'A new broadband needs its measurement room' }, { zh: '请录入负责装机测试的测量室', en: 'Enter the measurement room that tests the installation' }));
  }
  const allowed = planBandwidths(b.plan);
  if (i.bandwidthMbps && allowed && b.plan?.network === 'broadband' && !allowed.includes(i.bandwidthMbps)) {
    out.push(
      failure(
        'BANDWIDTH_NOT_AVAILABLE',
        { zh: `${b.plan.nameZh} 不提供 ${i.bandwidthMbps}M 带宽（可选：${allowed.map((x) => `${x}M`).join('、')}）`, en: `${b.plan.nameEn} is not sold at ${i.bandwidthMbps}M (available: ${allowed.map((x) => `${x}M`).join(', ')})` },
        { zh: '请按套餐选择带宽，或换一个宽带套餐', en: 'Choose a bandwidth of the plan, or another broadband plan' },
        { bandwidthMbps: i.bandwidthMbps, available: allowed },
      ),
    );
  }
  return out;
}

export const broadbandOneNumber: BusinessType<BroadbandOneNumberIn, BroadbandOneNumberFacts> = {
  code: 'BROADBAND_ONE_NUMBER',
  name: { zh: '宽带手机一号通', en: 'Broadband–mobile one number' },
  input: BroadbandOneNumberInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [customer, mobile, offer] = await Promise.all([loadCustomer(c, i.customerId), loadSubscriber(c, i.subscriberId), c.services.catalog.offer(ONE_NUMBER_OFFER, c.q)]);
    if (!mobile) return { customer, mobile, account: null, offer, bound: null, broadband: null };
    const [a, bundles, broadband] = await Promise.all([
      c.services.accounts.accountRecord(mobile.accountId, c.q),
      c.services.bundles.activeBundles(c.q, [mobile.subscriberId]),
      loadMember(c, broadbandMember(mobile.serviceNumber, i)),
    ]);
    const b = bundles.get(mobile.subscriberId);
    return {
      customer,
      mobile,
      account: a ? { accountId: a.account_id, status: a.status, name: a.name } : null,
      offer,
      bound: b ? { packageId: b.packageId, offerCode: b.offerCode } : null,
      broadband,
    };
  },

  check(f, i, env) {
    return [
      ...customerMissing(f.customer, i.customerId),
      ...documentFailures(f.customer, i.documents),
      ...offerFailures(f.offer, f.mobile, env),
      ...mobileFailures(f, i),
      ...broadbandFailures(f, i, env),
    ];
  },

  quote(f, i, env) {
    const lines: QuoteLine[] = f.broadband ? memberQuote(f.broadband, env, {}) : [];
    if (i.broadbandFundFen) {
      const items = f.offer?.attributes.specialFundItems;
      lines.push({
        feeCode: 'BROADBAND_FUND',
        kind: 'prestore',
        name: { zh: '宽带专款预存', en: 'Broadband fund prestore' },
        itemCode: null,
        bookType: 'restricted_fund',
        restrictedItems: Array.isArray(items) && items.length ? items.map(String) : DEFAULT_FUND_ITEMS,
        memberRole: 'broadband',
        amountFen: i.broadbandFundFen,
        waivable: false,
      });
    }
    return lines;
  },

  describe(f, i, env) {
    const out: { label: Text; value: string }[] = [];
    if (f.offer) out.push({ label: { zh: '捆绑业务', en: 'Bundle' }, value: `${offerName(f.offer).zh} / ${offerName(f.offer).en}` });
    const s = f.mobile;
    if (s) {
      // the mobile's data as pulled (GSM号码资料提取)
      out.push({ label: { zh: '手机·号码', en: 'Mobile · number' }, value: `${s.serviceNumber}（${s.network}，${s.status}）` });
      if (s.plan?.offer) out.push({ label: { zh: '手机·套餐', en: 'Mobile · plan' }, value: `${offerName(s.plan.offer).zh} / ${offerName(s.plan.offer).en}` });
      out.push({ label: { zh: '帐户', en: 'Account' }, value: `#${s.accountId}${f.account ? ` ${f.account.name}` : ''}（手机与宽带同一帐户）` });
    }
    if (f.broadband) {
      out.push(...memberDescription(f.broadband).map((d) => ({ label: { zh: `宽带·${d.label.zh}`, en: `Broadband · ${d.label.en}` }, value: d.value })));
    }
    if (i.measurementRoom) out.push({ label: { zh: '宽带·测量室', en: 'Broadband · measurement room' }, value: i.measurementRoom });
    if (i.broadbandFundFen) out.push({ label: { zh: '宽带专款预存', en: 'Broadband fund prestore' }, value: `${formatYuan(i.broadbandFundFen)} 元` });
    for (const g of f.offer?.bundle?.grants ?? []) out.push({ label: { zh: '每月优惠', en: 'Monthly grant' }, value: `${g.name.zh}（次月 1 日起）` });
    out.push({ label: { zh: '绑定生效', en: 'Bound from' }, value: businessDay(env.now) });
    return out;
  },

  // R-BND-14: what the customer gives up while the two are bound
  notices: (f) =>
    f.offer
      ? [
          {
            zh: `办理${f.offer.nameZh}后，手机和宽带在解绑前均不能单独办理换套餐、拆机、报停、过户、合拆户、改号等业务。`,
            en: `Once bound into ${f.offer.nameEn}, neither the mobile nor the broadband can change plan, be cancelled, suspended, transferred, merged or split, or change number until unbound.`,
          },
        ]
      : [],

  subjects: (f, i) => [subscriberSubject(i.subscriberId), planSubject(i.subscriberId), ...(f.mobile ? [numberSubject(`bb:${f.mobile.serviceNumber}`)] : [])],

  async apply(c, f, i) {
    const s = f.mobile as SubscriberFacts;
    const offer = f.offer as Offer;
    const bb = f.broadband as MemberFacts;
    const done = await applyMember(c, bb, {
      customerId: s.customerId,
      accountId: s.accountId,
      brandCode: bb.plan?.brandCode ?? null,
      // the check passed in this transaction: the customer exists and owns the mobile's account
      known: { customerExists: true, accountCustomerId: s.customerId },
    });
    const { packageId } = await c.services.bundles.bind(c.tx, c.actor, {
      offer,
      customerId: s.customerId,
      accountId: s.accountId,
      orderId: c.orderId,
      members: [
        { role: 'mobile', subscriberId: s.subscriberId, accountId: s.accountId },
        { role: 'broadband', subscriberId: done.subscriberId, accountId: s.accountId },
      ],
    });
    const measurementRoom = i.measurementRoom?.trim() ?? null;
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { mobile: s.subscriberId, broadband: done.subscriberId },
      workOrders: done.workOrder ? [{ ...done.workOrder, measurementRoom }] : [],
      result: {
        packageId,
        offerCode: offer.offerCode,
        serviceNumber: s.serviceNumber,
        accountId: s.accountId,
        broadbandPlan: bb.plan?.offerCode ?? null,
        bandwidthMbps: i.bandwidthMbps ?? null,
        installAddress: i.installAddress ?? null,
        measurementRoom,
        cycle: cycleOf(c.now),
      },
    };
  },
};
