// ADD_ON 加装 (SPEC §9.1 R-E9-3, seed 002 part 二 当期到期续费): one order attaches a package (e9-G,
// e9-C) to an existing subscriber (the old broadband): the package is created, the old plan ends and the
// package membership starts, the brand becomes the package's (我的e家), and the package's other members
// (the mobile) are opened on the SAME account, with the gift handset and the free-use credit.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { addCycles, businessDay, cycleOf, cycleStart } from '../../../platform/clock.ts';
import type { AccountsTable } from '../../../platform/schema.ts';
import { type Offer, offerName } from '../../catalog/rules.ts';
import {
  type CustomerFacts,
  customerMissing,
  type DocumentsInput,
  Documents,
  documentFailures,
  lifecycleFailures,
  loadCustomer,
  loadSubscriber,
  numberSubject,
  planSubject,
  type SubscriberFacts,
  subscriberMissing,
  subscriberSubject,
} from '../facts.ts';
import { applyMember, duplicateNumbers, isMobile, loadMember, type MemberFacts, memberDescription, memberFailures, memberQuote, NewMember, type NewMemberInput } from '../members.ts';
import type { BusinessType, OrderEnv, QuoteLine } from '../types.ts';
import { exhaustionNotice, freeCreditLine, packageFailures, roleName } from './open-account.ts';

export const AddOnInput = Type.Object(
  {
    /** the existing subscriber the package is attached to (the old broadband, found by its access number) */
    subscriberId: Type.Integer({ minimum: 1 }),
    packageCode: Type.String({ minLength: 1, maxLength: 40 }),
    documents: Documents,
    /** the package's other members, opened new on the subscriber's account (the e9 mobile) */
    members: Type.Array(NewMember, { minItems: 1, maxItems: 5 }),
  },
  { additionalProperties: false },
);

export interface AddOnIn {
  subscriberId: number;
  packageCode: string;
  documents: DocumentsInput;
  members: NewMemberInput[];
}

const SEGMENTS = { personal: '个人', family: '家庭', group: '集团' } as const;

type AccountRow = { [K in keyof AccountsTable]: AccountsTable[K] extends { __select__: infer S } ? S : AccountsTable[K] };

export interface AddOnFacts {
  subscriber: SubscriberFacts | null;
  customer: CustomerFacts | null;
  account: Pick<AccountRow, 'account_id' | 'billing_type' | 'status'> | undefined;
  pkg: Offer | undefined;
  members: MemberFacts[];
}

/** The package role the existing subscriber takes: the member of its network. */
function existingRole(f: AddOnFacts): string | undefined {
  return f.pkg?.members?.find((m) => m.network === f.subscriber?.network)?.role;
}

/**
 * R-E9-3 当期到期续费: the subscriber's current plan term ends in this cycle. A plan without a term
 * (包月, like BB-4M) or whose term already ended is renewed month by month, so it may join any month;
 * a term that runs past this cycle is not due yet.
 */
export function renewalFailures(s: SubscriberFacts, now: Date): CheckFailure[] {
  const ends = s.plan?.termEndsAt ?? null;
  const nextCycle = cycleStart(addCycles(cycleOf(now), 1));
  if (!ends || ends.getTime() <= nextCycle.getTime()) return [];
  return [
    failure(
      'RENEWAL_NOT_DUE',
      { zh: `用户 ${s.serviceNumber} 的当前套餐协议 ${businessDay(ends)} 到期，不是当期到期续费用户`, en: `The current plan of ${s.serviceNumber} runs until ${businessDay(ends)}; the renewal is not due this cycle` },
      { zh: '请在协议到期当月办理加装续费', en: 'Take the add-on renewal in the month the term ends' },
      { termEndsAt: ends.toISOString() },
    ),
  ];
}

export const addOn: BusinessType<AddOnIn, AddOnFacts> = {
  code: 'ADD_ON',
  name: { zh: '加装', en: 'Add-on (attach a package)' },
  input: AddOnInput,
  sensitive: false,

  refs: (i) => ({ subscriberId: i.subscriberId }),

  async load(c, i) {
    const [subscriber, pkg, members] = await Promise.all([
      loadSubscriber(c, i.subscriberId),
      c.services.catalog.offer(i.packageCode, c.q),
      Promise.all(i.members.map((m) => loadMember(c, m))),
    ]);
    const [customer, account] = subscriber
      ? await Promise.all([loadCustomer(c, subscriber.customerId), c.services.accounts.accountRecord(subscriber.accountId, c.q)])
      : [null, undefined];
    return { subscriber, customer, account, pkg, members };
  },

  check(f, i, env) {
    const s = f.subscriber;
    const out: CheckFailure[] = [...subscriberMissing(s, i.subscriberId), ...lifecycleFailures(s)];
    if (!s) return out;
    out.push(...customerMissing(f.customer, s.customerId), ...documentFailures(f.customer, i.documents));
    if (f.customer && !f.customer.hasServicePassword) {
      out.push(failure('SERVICE_PASSWORD_NOT_SET', { zh: '客户未设置服务密码', en: 'The customer has no service password' }, { zh: '请客户设置 6 位服务密码后再加装', en: 'Have the customer set a 6-digit service password first' }));
    }
    if (s.stopReasons.length > 0) {
      out.push(
        failure('SUBSCRIBER_NOT_NORMAL', { zh: `用户 ${s.serviceNumber} 处于停机状态（${s.status}）`, en: `Subscriber ${s.serviceNumber} is stopped (${s.status})` }, { zh: '请先缴清欠费或办理复机', en: 'Settle the arrears or resume the line first' }, {
          stopReasons: s.stopReasons,
        }),
      );
    }
    if (s.packageId !== null || s.plan?.kind === 'package') {
      out.push(failure('ALREADY_IN_PACKAGE', { zh: `用户 ${s.serviceNumber} 已是融合套餐成员`, en: `Subscriber ${s.serviceNumber} is already a package member` }, { zh: '请办理融合套餐变更', en: 'Change the package instead' }));
    }
    out.push(...renewalFailures(s, env.now));
    const role = existingRole(f);
    if (f.pkg?.kind === 'package' && !role) {
      out.push(
        failure('PACKAGE_NETWORK_MISMATCH', { zh: `${f.pkg.nameZh} 不包含 ${s.network} 用户`, en: `${f.pkg.nameEn} has no member on ${s.network}` }, { zh: '请选择包含该业务的融合套餐', en: 'Choose a package that includes this service' }),
      );
    }
    // the existing subscriber stands for its role, so the package's member rules see every member
    const existing: NewMemberInput[] = role ? [{ role, network: s.network, serviceNumber: s.serviceNumber }] : [];
    out.push(...packageFailures(f.pkg, i.packageCode, [...existing, ...i.members], env));
    if (f.account) {
      if (f.account.status !== 'active') out.push(failure('ACCOUNT_CLOSED', { zh: '帐户已关闭', en: 'The account is closed' }, { zh: '请先处理帐户', en: 'Sort out the account first' }));
      // R-E9-1: every member of the package on one real-time (virtual) account — the subscriber's own
      if (f.pkg?.kind === 'package' && f.account.billing_type !== 'virtual') {
        out.push(
          failure('PACKAGE_NEEDS_VIRTUAL_ACCOUNT', { zh: `${f.pkg.nameZh} 须使用实时预付费（虚扣）帐户`, en: `${f.pkg.nameEn} needs a real-time prepaid (virtual) account` }, {
            zh: '请先将该用户的帐户改为实时预付费（更改缴费方式）',
            en: 'Change the subscriber’s account to real-time prepaid first',
          }),
        );
      }
    }
    if (f.customer && f.pkg?.customerSegment && f.customer.segment !== f.pkg.customerSegment) {
      out.push(
        failure('CUSTOMER_SEGMENT_MISMATCH', { zh: `${f.pkg.nameZh} 面向“${SEGMENTS[f.pkg.customerSegment]}”客户`, en: `${f.pkg.nameEn} is for ${f.pkg.customerSegment} customers` }, {
          zh: '请先更改客户分群',
          en: `Set the customer segment to ${f.pkg.customerSegment} first`,
        }),
      );
    }
    for (const m of f.members) out.push(...memberFailures(m, env, { needsPlan: false }));
    out.push(...duplicateNumbers(i.members));
    return out;
  },

  quote(f, _i, env) {
    const lines: QuoteLine[] = [];
    // seed 002: the new mobile's card fee and the broadband's installation fee are quoted as for a new
    // installation (58) and lowered to 0 by the operator (R-ORD-2 waivers); only the free credit is paid
    for (const m of f.members) lines.push(...memberQuote(m, env, {}));
    const install = env.fees.get('INSTALL');
    const s = f.subscriber;
    if (install && s && (s.network === 'broadband' || s.network === 'fixed')) {
      lines.push({ feeCode: 'INSTALL', kind: 'fee', name: install.name, itemCode: install.itemCode, memberRole: existingRole(f), amountFen: install.amountFen, waivable: install.waivable });
    }
    lines.push(...freeCreditLine(f.pkg));
    return lines;
  },

  describe(f) {
    const s = f.subscriber;
    const out: { label: Text; value: string }[] = [];
    if (f.pkg) out.push({ label: { zh: '融合套餐', en: 'Package' }, value: `${offerName(f.pkg).zh}（${f.pkg.brandCode ?? ''}）` });
    if (s) {
      const role = roleName(existingRole(f) ?? 'main');
      out.push({ label: { zh: `${role.zh}·加装`, en: `${role.en} · attached` }, value: `${s.serviceNumber}：${s.plan?.offer?.nameZh ?? '—'} → ${f.pkg?.nameZh ?? '—'}，品牌 ${s.brandCode ?? '—'} → ${f.pkg?.brandCode ?? '—'}` });
      out.push({ label: { zh: '帐户', en: 'Account' }, value: `#${s.accountId}（合帐）` });
    }
    for (const m of f.members) out.push(...memberDescription(m).map((d) => ({ label: { zh: `${roleName(m.input.role).zh}·${d.label.zh}`, en: `${roleName(m.input.role).en} · ${d.label.en}` }, value: d.value })));
    return out;
  },

  // R-E9-4: with only the free credit paying the mobile, it stops in month N and the broadband with it
  notices(f, i, env: OrderEnv) {
    return f.pkg && i.members.some((m) => isMobile(m.network)) ? exhaustionNotice(f.pkg, Number(f.pkg.attributes.freeCreditFen ?? 0), env) : [];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId), planSubject(i.subscriberId), ...i.members.map((m) => numberSubject(`${m.network === 'broadband' ? 'bb:' : ''}${m.serviceNumber}`))],

  async apply(c, f) {
    const s = f.subscriber as SubscriberFacts;
    const pkg = f.pkg as Offer;
    const role = existingRole(f) as string;
    const cat = c.services.catalog;
    const packageRow = await cat.createPackage(c.tx, c.actor, { offer: pkg, customerId: s.customerId, accountId: s.accountId, orderId: c.orderId });
    // the old plan ends now and the package membership takes its place (加装: 组合产品包)
    if (s.plan) await cat.unsubscribe(c.tx, c.actor, [{ subscriberOfferId: s.plan.subscriberOfferId, subscriberId: s.subscriberId, offerCode: s.plan.offerCode }], c.now, c.orderId);
    await cat.subscribe(c.tx, c.actor, [{ subscriberId: s.subscriberId, offer: pkg, packageId: packageRow.package_id, memberRole: role, orderId: c.orderId, startsAt: c.now }]);
    await c.services.accounts.setBrandAndPackage(c.tx, c.actor, s.subscriberId, { brandCode: pkg.brandCode, packageId: packageRow.package_id });
    const subscribers: Record<string, number> = { [role]: s.subscriberId };
    const workOrders = [];
    for (const m of f.members) {
      const done = await applyMember(c, m, { customerId: s.customerId, accountId: s.accountId, brandCode: pkg.brandCode, packageOffer: pkg, packageId: packageRow.package_id });
      subscribers[m.input.role] = done.subscriberId;
      if (done.workOrder) workOrders.push(done.workOrder);
    }
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers,
      workOrders,
      result: { accountId: s.accountId, packageId: packageRow.package_id, previousPlan: s.plan?.offerCode ?? null, brandCode: pkg.brandCode, cycle: cycleOf(c.now) },
    };
  },
};
