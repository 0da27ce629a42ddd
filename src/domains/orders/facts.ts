// Facts most business types load (customer, subscriber with its products, account balance) and the
// checks they share: R-ORD-7 documents, customer and subscriber state. Loaders read; rules are pure.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../platform/checks.ts';
import type { Fen } from '../../platform/money.ts';
import type { Network, StopReason } from '../../platform/schema.ts';
import { StrEnum } from '../../platform/schemas.ts';
import { accountRepo } from '../accounts/repo.ts';
import { checkIdNumber, ID_TYPES, type IdType } from '../customers/rules.ts';
import type { Offer } from '../catalog/rules.ts';
import type { OrderCustomerRow } from './repo.ts';
import type { LoadContext } from './types.ts';

// ---- R-ORD-7 documents -------------------------------------------------------------------------

export const Documents = Type.Object(
  {
    /** who stands at the counter: the owner (机主本人), or an agent (代办人) for the owner or an organisation */
    presenter: StrEnum(['owner', 'agent'] as const),
    /** the owner's ID original was seen (个人: 身份证原件) */
    ownerIdOriginal: Type.Optional(Type.Boolean()),
    /** organisations: business licence original (营业执照正本) and unit certificate (单位证明) */
    businessLicence: Type.Optional(Type.Boolean()),
    unitCertificate: Type.Optional(Type.Boolean()),
    /** the agent's own ID (代办人身份证) */
    agent: Type.Optional(
      Type.Object(
        { name: Type.String({ minLength: 1, maxLength: 64 }), idType: StrEnum(ID_TYPES), idNumber: Type.String({ minLength: 1, maxLength: 32 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'R-ORD-7 documents presented at the counter' },
);
export interface DocumentsInput {
  presenter: 'owner' | 'agent';
  ownerIdOriginal?: boolean;
  businessLicence?: boolean;
  unitCertificate?: boolean;
  agent?: { name: string; idType: IdType; idNumber: string };
}

/** R-ORD-7: person — the owner's ID original; organisation — licence and unit certificate; agent — own valid ID. */
export function documentFailures(customer: CustomerFacts | null, d: DocumentsInput | undefined, who = { zh: '', en: '' }): CheckFailure[] {
  if (!customer) return [];
  const out: CheckFailure[] = [];
  const prefix = (s: { zh: string; en: string }) => ({ zh: `${who.zh}${s.zh}`, en: who.en ? `${who.en}: ${s.en}` : s.en });
  if (!d) {
    return [failure('DOCUMENTS_REQUIRED', prefix({ zh: '未登记所出示的证件', en: 'The documents presented are not recorded' }), { zh: '请核验并登记客户出示的证件', en: 'Check and record the documents presented' })];
  }
  if (customer.kind === 'person') {
    if (d.presenter === 'owner' && !d.ownerIdOriginal) {
      out.push(
        failure('OWNER_ID_ORIGINAL_REQUIRED', prefix({ zh: '个人业务须出示机主身份证原件', en: 'A personal order needs the owner’s ID original' }), {
          zh: '请客户出示本人身份证原件（复印件无效）',
          en: 'Ask for the owner’s original ID (a copy is not enough)',
        }),
      );
    }
  } else {
    if (!d.businessLicence) {
      out.push(
        failure('BUSINESS_LICENCE_REQUIRED', prefix({ zh: '单位业务须出示营业执照正本', en: 'An organisation’s order needs the business licence original' }), {
          zh: '请经办人出示营业执照正本及复印件',
          en: 'Ask the handler for the business licence original and a copy',
        }),
      );
    }
    if (!d.unitCertificate) {
      out.push(
        failure('UNIT_CERTIFICATE_REQUIRED', prefix({ zh: '单位业务须出示单位证明（介绍信）', en: 'An organisation’s order needs the unit certificate' }), {
          zh: '请经办人出示加盖公章的单位证明',
          en: 'Ask for the unit certificate with the company seal',
        }),
      );
    }
    if (d.presenter !== 'agent') {
      out.push(
        failure('AGENT_REQUIRED', prefix({ zh: '单位业务须由经办人办理', en: 'An organisation’s order is made by its handler (agent)' }), {
          zh: '请登记经办人及其身份证件',
          en: 'Record the handler and the handler’s ID',
        }),
      );
    }
  }
  if (d.presenter === 'agent') {
    if (!d.agent) {
      out.push(failure('AGENT_ID_REQUIRED', prefix({ zh: '代办须出示代办人本人证件', en: 'An agent must show their own ID' }), { zh: '请登记代办人姓名和证件号码', en: 'Record the agent’s name and ID number' }));
    } else {
      // R-CUS-1: the same document checks as a customer's
      const c = checkIdNumber(d.agent.idType, d.agent.idNumber.trim().toUpperCase());
      if (!c.ok) {
        out.push(
          failure(
            'AGENT_ID_INVALID',
            prefix({ zh: '代办人证件号码不正确', en: 'The agent’s ID number is invalid' }),
            { zh: '请核对代办人证件号码（18 位身份证须通过校验位检查）', en: 'Check the agent’s ID number (an 18-digit resident ID must pass its checksum)' },
            { reason: c.reason },
          ),
        );
      }
    }
  }
  return out;
}

// ---- customer ----------------------------------------------------------------------------------

export interface CustomerFacts {
  customerId: number;
  kind: 'person' | 'organisation';
  name: string;
  idType: string;
  idNumber: string;
  segment: string;
  vipLevel: string;
  hasServicePassword: boolean;
}

export async function loadCustomer(c: LoadContext, id: number | undefined): Promise<CustomerFacts | null> {
  if (id === undefined) return null;
  // the order's own customer was read with the order (orderRepo's step reads)
  if (c.orderCustomer?.customerId === id) return c.orderCustomer;
  const r = await c.services.customers.record(id, c.q);
  return r ? orderCustomerFacts({ ...r, has_service_password: r.service_password_hash !== null }) : null;
}

/** A customer's facts from its row (the order's own customer comes with the order: orderRepo's LockedOrder). */
export function orderCustomerFacts(r: OrderCustomerRow | null | undefined): CustomerFacts | null {
  if (!r) return null;
  return {
    customerId: Number(r.customer_id),
    kind: r.kind as CustomerFacts['kind'],
    name: r.name,
    idType: r.id_type,
    idNumber: r.id_number,
    segment: r.segment,
    vipLevel: r.vip_level,
    hasServicePassword: r.has_service_password,
  };
}

export function customerMissing(c: CustomerFacts | null, id: number | undefined): CheckFailure[] {
  if (c) return [];
  return [
    failure('CUSTOMER_NOT_FOUND', { zh: `客户不存在：${id ?? '未指定'}`, en: `No such customer: ${id ?? 'none given'}` }, { zh: '请先查找或新建客户', en: 'Find or create the customer first' }, { customerId: id }),
  ];
}

// ---- subscriber --------------------------------------------------------------------------------

export interface Subscription {
  subscriberOfferId: number;
  offerCode: string;
  kind: string;
  packageId: number | null;
  memberRole: string | null;
  startedAt: Date;
  endedAt: Date | null;
  minimumSpendFen: Fen;
  termEndsAt: Date | null;
}

export interface SubscriberFacts {
  subscriberId: number;
  serviceNumber: string;
  network: Network;
  customerId: number;
  accountId: number;
  lifecycle: 'normal' | 'pre_cancelled' | 'cancelled';
  stopReasons: StopReason[];
  status: string;
  brandCode: string | null;
  iccid: string | null;
  imsi: string | null;
  longDistanceLevel: 'local' | 'domestic' | 'international';
  packageId: number | null;
  installAddress: string | null;
  activatedAt: Date;
  preCancelledAt: Date | null;
  /** subscriptions in force now (started, not ended) */
  offers: Subscription[];
  /** subscriptions that start later (reservations) */
  pending: Subscription[];
  plan: (Subscription & { offer: Offer | undefined }) | null;
  /** the active bundle it is a member of (SPEC §8, R-BND-5, R-BND-14); read only when it has a package */
  bundle: { packageId: number; offerCode: string; role: string } | null;
}

export async function loadSubscriber(c: LoadContext, id: number | undefined): Promise<SubscriberFacts | null> {
  if (id === undefined) return null;
  const s = await accountRepo.subscriberById(c.q, id);
  if (!s) return null;
  // a bundle member has a package: only then is its bundle read (in parallel with its products)
  const [subscriptions, bundles] = await Promise.all([
    c.services.catalog.subscriptions([id], c.q),
    s.package_id !== null ? c.services.bundles.activeBundles(c.q, [id]) : Promise.resolve(undefined),
  ]);
  const subs = subscriptions.map((x) => ({
    subscriberOfferId: x.subscriberOfferId,
    offerCode: x.offerCode,
    kind: x.kind,
    packageId: x.packageId,
    memberRole: x.memberRole,
    startedAt: x.startedAt,
    endedAt: x.endedAt,
    minimumSpendFen: x.minimumSpendFen,
    termEndsAt: x.termEndsAt,
  }));
  const now = c.now.getTime();
  const offers = subs.filter((x) => x.startedAt.getTime() <= now);
  const pending = subs.filter((x) => x.startedAt.getTime() > now);
  const planSub = offers.find((x) => x.kind === 'plan' || (x.kind === 'package' && x.memberRole !== null)) ?? null;
  const planOffer = planSub ? await c.services.catalog.offer(planSub.offerCode, c.q) : undefined;
  return {
    subscriberId: s.subscriber_id,
    serviceNumber: s.service_number,
    network: s.network,
    customerId: s.customer_id,
    accountId: s.default_account_id,
    lifecycle: s.lifecycle,
    stopReasons: s.stop_reasons,
    status: s.status,
    brandCode: s.brand_code,
    iccid: s.iccid,
    imsi: s.imsi,
    longDistanceLevel: s.long_distance_level,
    packageId: s.package_id,
    installAddress: s.install_address,
    activatedAt: s.activated_at,
    preCancelledAt: s.pre_cancelled_at,
    offers,
    pending,
    plan: planSub ? { ...planSub, offer: planOffer } : null,
    bundle: bundles?.get(id) ?? null,
  };
}

export function subscriberMissing(s: SubscriberFacts | null, id: number | undefined): CheckFailure[] {
  if (s) return [];
  return [
    failure('SUBSCRIBER_NOT_FOUND', { zh: `用户不存在：${id ?? '未指定'}`, en: `No such subscriber: ${id ?? 'none given'}` }, { zh: '请按号码重新查找用户', en: 'Look the subscriber up by number again' }, { subscriberId: id }),
  ];
}

/** Most orders need a subscriber that is not cancelled (and, unless allowed, not pre-cancelled). */
export function lifecycleFailures(s: SubscriberFacts | null, allowPreCancelled = false): CheckFailure[] {
  if (!s) return [];
  if (s.lifecycle === 'cancelled') {
    return [failure('SUBSCRIBER_CANCELLED', { zh: `用户 ${s.serviceNumber} 已销号`, en: `Subscriber ${s.serviceNumber} is cancelled` }, { zh: '已销号用户只能办理销号费用回收', en: 'A cancelled subscriber only allows fee recovery' })];
  }
  if (s.lifecycle === 'pre_cancelled' && !allowPreCancelled) {
    return [failure('SUBSCRIBER_PRE_CANCELLED', { zh: `用户 ${s.serviceNumber} 已预销号`, en: `Subscriber ${s.serviceNumber} is pre-cancelled` }, { zh: '请先办理复装或正式销号', en: 'Reinstate or formally cancel it first' })];
  }
  return [];
}

export function ownerMismatch(s: SubscriberFacts | null, customerId: number | undefined): CheckFailure[] {
  if (!s || customerId === undefined || s.customerId === customerId) return [];
  return [
    failure('SUBSCRIBER_OF_OTHER_CUSTOMER', { zh: '该用户不属于此客户', en: 'The subscriber belongs to another customer' }, { zh: '请核对客户和号码', en: 'Check the customer and the number' }, {
      subscriberId: s.subscriberId,
    }),
  ];
}

export const subscriberSubject = (id: number) => `subscriber:${id}`;
export const numberSubject = (n: string) => `number:${n}`;
export const accountSubject = (id: number) => `account:${id}`;
/** A subscriber's plan/products: a next-cycle plan change reserves only this, not the whole subscriber (R-ORD-5). */
export const planSubject = (subscriberId: number) => `plan:${subscriberId}`;
