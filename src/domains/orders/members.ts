// A new subscriber inside an order (open account, e9 package members, add-on 加装): number, SIM,
// install address, features, gift handset — its input, facts, checks, fee lines and how it is applied.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../platform/checks.ts';
import type { Fen } from '../../platform/money.ts';
import type { Network } from '../../platform/schema.ts';
import { StrEnum } from '../../platform/schemas.ts';
import { numberHeld } from '../accounts/service.ts';
import { type Offer, offerName, saleFailures } from '../catalog/rules.ts';
import { decodeNumberWithSim } from '../resources/repo.ts';
import type { LockedOrder } from './repo.ts';
import type { ApplyContext, LoadContext, MemberResources, OrderEnv, QuoteLine } from './types.ts';

export const NETWORKS = ['gsm2g', 'wcdma3g', 'broadband', 'fixed'] as const;

export const NewMember = Type.Object(
  {
    /** 'main' for a single plan; a package member's role ('mobile', 'broadband') */
    role: Type.String({ pattern: '^[a-z_]{1,20}$' }),
    network: StrEnum(NETWORKS),
    /** mobile/fixed number from the pool, or the broadband account name */
    serviceNumber: Type.String({ minLength: 4, maxLength: 40 }),
    /** mobiles: the SIM card */
    iccid: Type.Optional(Type.String({ pattern: '^[0-9]{19,20}$' })),
    /** a single subscriber's plan; package members take the package */
    planCode: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    features: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { maxItems: 20, uniqueItems: true })),
    packs: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { maxItems: 20, uniqueItems: true })),
    /** broadband / fixed line */
    standardAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    installAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    bandwidthMbps: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    /** 备注中注明客户经理 (seed 002) */
    accountManager: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** who approved a premium number (R-X-10) */
    numberApprovedBy: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** a gift handset (赠机) recorded by IMEI */
    handset: Type.Optional(
      Type.Object(
        { imei: Type.String({ pattern: '^[0-9]{15}$' }), model: Type.String({ minLength: 1, maxLength: 64 }), priceFen: Type.Integer({ minimum: 0, maximum: 10_000_000 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export interface NewMemberInput {
  role: string;
  network: Network;
  serviceNumber: string;
  iccid?: string;
  planCode?: string;
  features?: string[];
  packs?: string[];
  standardAddress?: string;
  installAddress?: string;
  bandwidthMbps?: number;
  accountManager?: string;
  numberApprovedBy?: string;
  handset?: { imei: string; model: string; priceFen: Fen };
}

export interface MemberFacts {
  input: NewMemberInput;
  /** the plan (single subscriber) — package members have none */
  plan: Offer | undefined;
  extras: Map<string, Offer>;
  numberFailures: CheckFailure[];
  simFailures: CheckFailure[];
  numberLevel: { code: string; name: Text; priceFen: Fen } | null;
  imsi: string | null;
  numberInUse: boolean;
}

const MOBILE: Network[] = ['gsm2g', 'wcdma3g'];
export const isMobile = (n: Network) => MOBILE.includes(n);
const needsInstall = (n: Network) => n === 'broadband' || n === 'fixed';
const usesPool = (n: Network) => n !== 'broadband';

const FORMATS: Record<Network, RegExp> = {
  gsm2g: /^1\d{10}$/,
  wcdma3g: /^1\d{10}$/,
  broadband: /^[A-Za-z0-9_.@-]{4,40}$/,
  fixed: /^0\d{9,11}$|^\d{7,8}$/,
};

const memberResourceKey = (serviceNumber: string, iccid: string) => `${serviceNumber}\u0000${iccid}`;

/** The members' numbers and cards the step's first statement read with the order (orderRepo's member_resources). */
export function memberResources(o: LockedOrder): MemberResources {
  return new Map((o.member_resources ?? []).map((r) => [memberResourceKey(r.serviceNumber, r.iccid), decodeNumberWithSim(r.facts)]));
}

export async function loadMember(c: LoadContext, m: NewMemberInput, channel: 'hall' | 'agent' = 'hall'): Promise<MemberFacts> {
  const codes = [...(m.features ?? []), ...(m.packs ?? []), ...(m.planCode ? [m.planCode] : [])];
  const offers = await c.services.catalog.offers(codes, c.q);
  const r = c.services.resources;
  const pool = usesPool(m.network) && FORMATS[m.network].test(m.serviceNumber);
  // one read each of the number and the card gives their problems and their level / IMSI
  const takeCtx = { orderId: c.orderId, channel, approvedBy: m.numberApprovedBy };
  // R-RES-4: a blank card picked by a social channel serves only orders of that channel
  const simCtx = { orderId: c.orderId, serviceNumber: m.serviceNumber, departmentId: c.departmentId };
  const numberAndSim = async () => {
    if (pool && m.iccid) {
      // the number's subscribers come with it (numberInUse's facts); read apart only for an unknown number
      const n = { serviceNumber: m.serviceNumber, ctx: takeCtx };
      const s = { iccid: m.iccid, ctx: simCtx };
      const key = memberResourceKey(m.serviceNumber, m.iccid);
      const both = c.prefetched?.has(key) ? await r.numberSimAndHoldersOf(c.q, c.prefetched.get(key), n, s) : await r.numberSimAndHolders(c.q, n, s);
      const inUse = both.holders ? numberHeld(both.holders, m.network) : await c.services.accounts.numberInUse(m.serviceNumber, m.network, c.q);
      return { number: both.number, sim: both.sim, inUse };
    }
    const [number, sim, inUse] = await Promise.all([
      pool ? r.numberCheck(c.q, m.serviceNumber, takeCtx) : Promise.resolve({ problems: [], level: null }),
      m.iccid ? r.simCheck(c.q, m.iccid, simCtx) : Promise.resolve({ problems: [], imsi: null }),
      c.services.accounts.numberInUse(m.serviceNumber, m.network, c.q),
    ]);
    return { number, sim, inUse };
  };
  const { number, sim, inUse: existing } = await numberAndSim();
  const extras = new Map([...offers].filter(([code]) => code !== m.planCode));
  return {
    input: m,
    plan: m.planCode ? offers.get(m.planCode) : undefined,
    extras,
    numberFailures: number.problems,
    simFailures: sim.problems,
    numberLevel: number.level,
    imsi: sim.imsi,
    numberInUse: existing,
  };
}

/** What memberQuote reads of a new subscriber. */
export type MemberQuoteFacts = Pick<MemberFacts, 'input' | 'numberLevel'>;

/** The facts of memberQuote only (the quote step): the number's level and price (R-X-10). */
export async function loadMemberQuote(c: LoadContext, m: NewMemberInput): Promise<MemberQuoteFacts> {
  const pool = usesPool(m.network) && FORMATS[m.network].test(m.serviceNumber);
  if (!pool) return { input: m, numberLevel: null };
  const key = m.iccid ? memberResourceKey(m.serviceNumber, m.iccid) : undefined;
  const r = c.services.resources;
  return { input: m, numberLevel: key && c.prefetched?.has(key) ? r.levelOf(c.prefetched.get(key)?.number) : await r.numberLevelOf(c.q, m.serviceNumber) };
}

/** Every rule of one new subscriber (R-ORD-1 collects them all). */
export function memberFailures(f: MemberFacts, env: OrderEnv, opts: { needsPlan: boolean }): CheckFailure[] {
  const m = f.input;
  const out: CheckFailure[] = [];
  const tag = { member: m.role, serviceNumber: m.serviceNumber };
  if (!FORMATS[m.network].test(m.serviceNumber)) {
    out.push(
      failure('INVALID_SERVICE_NUMBER', { zh: `号码格式与网络类型不符：${m.serviceNumber}`, en: `The number does not fit network ${m.network}: ${m.serviceNumber}` }, { zh: '请重新选号', en: 'Choose the number again' }, tag),
    );
  }
  if (f.numberInUse) {
    out.push(failure('SERVICE_NUMBER_TAKEN', { zh: `号码已被使用：${m.serviceNumber}`, en: `The number is in use: ${m.serviceNumber}` }, { zh: '请换一个号码', en: 'Choose another number' }, tag));
  }
  out.push(...f.numberFailures.map((x) => ({ ...x, details: { ...x.details, ...tag } })));
  if (isMobile(m.network)) {
    if (!m.iccid) {
      out.push(failure('SIM_REQUIRED', { zh: `手机 ${m.serviceNumber} 须选择 SIM 卡`, en: `Mobile ${m.serviceNumber} needs a SIM card` }, { zh: '请扫描或录入 SIM 卡 ICCID', en: 'Scan or enter the SIM card ICCID' }, tag));
    }
    out.push(...f.simFailures.map((x) => ({ ...x, details: { ...x.details, ...tag } })));
  } else if (m.iccid) {
    out.push(failure('SIM_NOT_APPLICABLE', { zh: '宽带和固话不使用 SIM 卡', en: 'Broadband and fixed lines take no SIM card' }, { zh: '请去掉 SIM 卡', en: 'Remove the SIM card' }, tag));
  }
  if (needsInstall(m.network) && !m.installAddress) {
    out.push(failure('INSTALL_ADDRESS_REQUIRED', { zh: '宽带/固话须录入装机地址', en: 'Broadband and fixed lines need an install address' }, { zh: '请录入标准地址和实际装机地址', en: 'Enter the standard and the actual install address' }, tag));
  }
  if (m.network === 'broadband' && !m.bandwidthMbps) {
    out.push(failure('BANDWIDTH_REQUIRED', { zh: '宽带须选择带宽', en: 'Broadband needs a bandwidth' }, { zh: '请选择带宽', en: 'Choose the bandwidth' }, tag));
  }
  if (opts.needsPlan) {
    if (!m.planCode) {
      out.push(failure('PLAN_REQUIRED', { zh: '请选择主套餐', en: 'Choose a plan' }, { zh: '请选择主套餐', en: 'Choose a plan' }, tag));
    } else if (!f.plan) {
      out.push(failure('OFFER_NOT_FOUND', { zh: `产品不存在：${m.planCode}`, en: `No such offer: ${m.planCode}` }, { zh: '请重新选择套餐', en: 'Choose the plan again' }, tag));
    } else {
      out.push(...saleFailures(f.plan, env.now, m.network));
      if (f.plan.kind !== 'plan') {
        out.push(failure('NOT_A_PLAN', { zh: `${f.plan.nameZh} 不是主套餐`, en: `${f.plan.nameEn} is not a plan` }, { zh: '请选择主套餐', en: 'Choose a plan' }, tag));
      }
    }
  }
  for (const code of [...(m.features ?? []), ...(m.packs ?? [])]) {
    const o = f.extras.get(code);
    if (!o) {
      out.push(failure('OFFER_NOT_FOUND', { zh: `产品不存在：${code}`, en: `No such offer: ${code}` }, { zh: '请重新选择功能或优惠包', en: 'Choose the feature or pack again' }, { ...tag, offerCode: code }));
      continue;
    }
    out.push(...saleFailures(o, env.now, m.network));
    const want = (m.features ?? []).includes(code) ? 'feature' : 'pack';
    if (o.kind !== want) {
      out.push(failure('OFFER_KIND_MISMATCH', { zh: `${o.nameZh} 不是${want === 'feature' ? '功能' : '优惠包'}`, en: `${o.nameEn} is not a ${want}` }, { zh: '请重新选择', en: 'Choose again' }, { ...tag, offerCode: code }));
    }
    if (code === 'INTL_ROAMING' && !isMobile(m.network)) {
      out.push(failure('FEATURE_NETWORK_MISMATCH', { zh: '国际漫游仅适用于手机', en: 'International roaming is for mobiles only' }, { zh: '请去掉国际漫游', en: 'Remove international roaming' }, tag));
    }
  }
  return out;
}

/** Fee lines of one new subscriber: SIM card, installation, premium number, roaming deposit (R-ORD-7). */
export function memberQuote(f: MemberQuoteFacts, env: OrderEnv, opts: { simFeeWaivedByOffer?: string | undefined }): QuoteLine[] {
  const m = f.input;
  const out: QuoteLine[] = [];
  const fee = (code: string) => env.fees.get(code);
  if (isMobile(m.network) && m.iccid) {
    const sim = fee('SIM_CARD');
    if (sim) {
      out.push({
        feeCode: 'SIM_CARD',
        kind: 'fee',
        // seed 002: the e9 package's UIM card is free (免收); that is the offer's price, not an operator's waiver
        name: opts.simFeeWaivedByOffer ? { zh: `${sim.name.zh}（${opts.simFeeWaivedByOffer}免收）`, en: `${sim.name.en} (free with ${opts.simFeeWaivedByOffer})` } : sim.name,
        itemCode: sim.itemCode,
        memberRole: m.role,
        amountFen: opts.simFeeWaivedByOffer ? 0 : sim.amountFen,
        waivable: sim.waivable,
      });
    }
  }
  if (needsInstall(m.network)) {
    const inst = fee('INSTALL');
    if (inst) out.push({ feeCode: 'INSTALL', kind: 'fee', name: inst.name, itemCode: inst.itemCode, memberRole: m.role, amountFen: inst.amountFen, waivable: inst.waivable });
  }
  if (f.numberLevel && f.numberLevel.priceFen > 0) {
    const lv = fee('NUMBER_LEVEL');
    out.push({
      feeCode: 'NUMBER_LEVEL',
      kind: 'fee',
      name: { zh: `选号费（${f.numberLevel.name.zh}）`, en: `Number fee (${f.numberLevel.name.en})` },
      itemCode: lv?.itemCode ?? 'ONE_OFF',
      memberRole: m.role,
      amountFen: f.numberLevel.priceFen,
      waivable: lv?.waivable ?? true,
    });
  }
  if ((m.features ?? []).includes('INTL_ROAMING')) {
    out.push(roamingDeposit(env, m.role));
  }
  return out;
}

export function roamingDeposit(env: OrderEnv, role: string): QuoteLine {
  return {
    feeCode: 'INTL_ROAMING_DEPOSIT',
    kind: 'prestore',
    name: { zh: '国际漫游预存款', en: 'International roaming deposit' },
    itemCode: null,
    bookType: 'prepaid',
    memberRole: role,
    amountFen: env.params.get('intl_roaming_deposit_fen') ?? 50000,
    waivable: false,
  };
}

export function memberDescription(f: MemberFacts): { label: Text; value: string }[] {
  const m = f.input;
  const out: { label: Text; value: string }[] = [
    { label: { zh: m.network === 'broadband' ? '宽带帐号' : '号码', en: m.network === 'broadband' ? 'Broadband account' : 'Number' }, value: m.serviceNumber },
  ];
  if (f.plan) out.push({ label: { zh: '套餐', en: 'Plan' }, value: `${offerName(f.plan).zh} / ${offerName(f.plan).en}` });
  if (m.iccid) out.push({ label: { zh: 'SIM 卡', en: 'SIM card' }, value: m.iccid });
  if (m.installAddress) out.push({ label: { zh: '装机地址', en: 'Install address' }, value: m.installAddress });
  if (m.bandwidthMbps) out.push({ label: { zh: '带宽', en: 'Bandwidth' }, value: `${m.bandwidthMbps}M` });
  const extras = [...f.extras.values()];
  if (extras.length) out.push({ label: { zh: '功能/优惠包', en: 'Features / packs' }, value: extras.map((o) => o.nameZh).join('、') });
  if (m.handset) out.push({ label: { zh: '赠送手机', en: 'Gift handset' }, value: `${m.handset.model} IMEI ${m.handset.imei}` });
  if (m.accountManager) out.push({ label: { zh: '客户经理', en: 'Account manager' }, value: m.accountManager });
  return out;
}

/**
 * Creates the subscriber, takes its number and SIM, subscribes plan/package membership and extras,
 * records the handset; returns the id and the installation work order it needs.
 */
export async function applyMember(
  c: ApplyContext,
  f: MemberFacts,
  p: {
    customerId: number;
    accountId: number;
    brandCode: string | null;
    packageOffer?: Offer | undefined;
    packageId?: number | null | undefined;
    /** what the caller read in this transaction (createSubscriber does not read it again) */
    known?: { customerExists?: boolean; accountCustomerId?: number | undefined } | undefined;
  },
): Promise<{ subscriberId: number; workOrder: { kind: 'installation'; subscriberId: number; address: string | null } | null }> {
  const m = f.input;
  const s = c.services;
  const sub = await s.accounts.createSubscriber(c.actor, { customerId: p.customerId, accountId: p.accountId, serviceNumber: m.serviceNumber, network: m.network }, c.tx, {
    brandCode: p.brandCode,
    iccid: m.iccid ?? null,
    imsi: f.imsi,
    standardAddress: m.standardAddress ?? null,
    installAddress: m.installAddress ?? null,
    bandwidthMbps: m.bandwidthMbps ?? null,
    accountManager: m.accountManager ?? null,
    packageId: p.packageId ?? null,
  }, { ...p.known, numberFree: f.numberInUse === false });
  const take = { orderId: c.orderId, subscriberId: sub.subscriberId, customerId: p.customerId, actor: c.actor };
  // a pool number with its card: both in one statement (same guards, audit entries and events)
  const both = usesPool(m.network) && m.iccid ? await s.resources.takeNumberAndBindSim(c.tx, m.serviceNumber, m.iccid, take) : undefined;
  if (!both && usesPool(m.network)) await s.resources.takeNumber(c.tx, m.serviceNumber, take);
  if (m.iccid) {
    const bound = both?.sim ?? (await s.resources.bindSim(c.tx, m.iccid, { serviceNumber: m.serviceNumber, subscriberId: sub.subscriberId, orderId: c.orderId, actor: c.actor }));
    // R-RES-4, R-X-11: the engine opens the card's IMSI with the number on the network before it commits
    c.activations?.push({ imsi: bound.imsi, iccid: bound.iccid, serviceNumber: m.serviceNumber, subscriberId: sub.subscriberId, orderId: c.orderId });
  }
  const items = [];
  if (p.packageOffer) items.push({ subscriberId: sub.subscriberId, offer: p.packageOffer, packageId: p.packageId ?? null, memberRole: m.role, orderId: c.orderId, startsAt: c.now });
  if (f.plan) items.push({ subscriberId: sub.subscriberId, offer: f.plan, orderId: c.orderId, startsAt: c.now });
  for (const o of f.extras.values()) items.push({ subscriberId: sub.subscriberId, offer: o, orderId: c.orderId, startsAt: c.now });
  await s.catalog.subscribe(c.tx, c.actor, items);
  if (m.handset) {
    await s.resources.recordHandset(
      c.tx,
      { imei: m.handset.imei, model: m.handset.model, priceFen: m.handset.priceFen, orderId: c.orderId, subscriberId: sub.subscriberId, customerId: p.customerId },
      c.actor,
    );
  }
  return {
    subscriberId: sub.subscriberId,
    workOrder: needsInstall(m.network) ? { kind: 'installation', subscriberId: sub.subscriberId, address: m.installAddress ?? null } : null,
  };
}

/** Two members of one order may not share a number space entry. */
export function duplicateNumbers(members: NewMemberInput[]): CheckFailure[] {
  const seen = new Set<string>();
  const out: CheckFailure[] = [];
  for (const m of members) {
    const key = `${m.network === 'broadband' ? 'bb' : 'num'}:${m.serviceNumber}`;
    if (seen.has(key)) {
      out.push(failure('DUPLICATE_NUMBER', { zh: `号码在本单中重复：${m.serviceNumber}`, en: `The number appears twice in this order: ${m.serviceNumber}` }, { zh: '请为每个用户选择不同号码', en: 'Choose a different number for each subscriber' }));
    }
    seen.add(key);
  }
  return out;
}
