// 更改资料 CHANGE_DATA (seed 004 §6.10.1): the customer's contact phone and address, and a fixed or
// broadband subscriber's install address. R-CUS-2: the receipt, the audit and the events show the
// phone masked, before and after.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import { maskPhone } from '../../customers/rules.ts';
import { Documents, type DocumentsInput, subscriberSubject } from '../facts.ts';
import { baseFailures, type GeneralFacts, loadGeneral, subscriberLine } from '../general.ts';
import type { BusinessType } from '../types.ts';

export const ChangeDataInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    /** only to change a subscriber's install address */
    subscriberId: Type.Optional(Type.Integer({ minimum: 1 })),
    documents: Documents,
    contactPhone: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
    address: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    installAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export interface ChangeDataIn {
  customerId: number;
  subscriberId?: number;
  documents: DocumentsInput;
  contactPhone?: string;
  address?: string;
  installAddress?: string;
}

export interface ChangeDataFacts extends GeneralFacts {
  contactPhone: string | null;
  address: string | null;
}

/** a mobile, a fixed line with area code, or a local 7–8 digit number */
const PHONE = /^(1\d{10}|0\d{9,11}|\d{7,8})$/;

const customerSubject = (id: number) => `customer:${id}`;

function changes(f: ChangeDataFacts, i: ChangeDataIn) {
  return {
    contactPhone: i.contactPhone !== undefined && i.contactPhone !== f.contactPhone,
    address: i.address !== undefined && i.address !== f.address,
    installAddress: i.installAddress !== undefined && i.installAddress !== f.subscriber?.installAddress,
  };
}

export const changeData: BusinessType<ChangeDataIn, ChangeDataFacts> = {
  code: 'CHANGE_DATA',
  name: { zh: '更改资料', en: 'Change data' },
  input: ChangeDataInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [g, record] = await Promise.all([loadGeneral(c, i), c.services.customers.record(i.customerId, c.q)]);
    return { ...g, contactPhone: record?.contact_phone ?? null, address: record?.address ?? null };
  },

  check(f, i) {
    const out: CheckFailure[] = baseFailures(f, i);
    if (i.contactPhone !== undefined && !PHONE.test(i.contactPhone)) {
      out.push(
        failure('INVALID_CONTACT_PHONE', { zh: `联系电话格式不正确：${maskPhone(i.contactPhone)}`, en: `Invalid contact phone: ${maskPhone(i.contactPhone)}` }, {
          zh: '请录入 11 位手机号码或带区号的固定电话',
          en: 'Enter an 11-digit mobile or a fixed number with its area code',
        }),
      );
    }
    if (i.installAddress !== undefined) {
      if (i.subscriberId === undefined) {
        out.push(failure('SUBSCRIBER_REQUIRED', { zh: '更改装机地址须指定用户', en: 'Changing an install address needs the subscriber' }, { zh: '请选择宽带或固话号码', en: 'Choose the broadband or fixed line' }));
      } else if (f.subscriber && f.subscriber.network !== 'broadband' && f.subscriber.network !== 'fixed') {
        out.push(failure('INSTALL_ADDRESS_NOT_APPLICABLE', { zh: '手机用户没有装机地址', en: 'A mobile has no install address' }, { zh: '请选择宽带或固话号码', en: 'Choose the broadband or fixed line' }));
      }
    }
    const c = changes(f, i);
    if (f.customer && !c.contactPhone && !c.address && !c.installAddress) {
      out.push(failure('NOTHING_TO_CHANGE', { zh: '资料没有变化', en: 'Nothing changes' }, { zh: '请录入新的联系电话、地址或装机地址', en: 'Enter a new contact phone, address or install address' }));
    }
    return out;
  },

  quote: () => [],

  describe(f, i) {
    const c = changes(f, i);
    return [
      ...subscriberLine(f.subscriber),
      // R-CUS-2: the receipt shows phone numbers masked
      ...(c.contactPhone ? [{ label: { zh: '联系电话', en: 'Contact phone' }, value: `${maskPhone(f.contactPhone) ?? '—'} → ${maskPhone(i.contactPhone) ?? '—'}` }] : []),
      ...(c.address ? [{ label: { zh: '联系地址', en: 'Address' }, value: `${f.address ?? '—'} → ${i.address ?? '—'}` }] : []),
      ...(c.installAddress ? [{ label: { zh: '装机地址', en: 'Install address' }, value: `${f.subscriber?.installAddress ?? '—'} → ${i.installAddress ?? '—'}` }] : []),
    ];
  },

  subjects: (_f, i) => [customerSubject(i.customerId), ...(i.subscriberId !== undefined ? [subscriberSubject(i.subscriberId)] : [])],

  async apply(c, f, i) {
    const ch = changes(f, i);
    const customer = await c.services.customers.changeContact(
      c.tx,
      c.actor,
      i.customerId,
      { contactPhone: ch.contactPhone ? i.contactPhone : undefined, address: ch.address ? i.address : undefined },
      { orderId: c.orderId },
    );
    const s = f.subscriber;
    const subscriber =
      s && ch.installAddress ? await c.services.accounts.updateSubscriberDetails(c.tx, c.actor, s.subscriberId, { installAddress: i.installAddress }, { orderId: c.orderId, what: 'change_data' }) : null;
    return {
      accountId: s?.accountId ?? null,
      customerId: i.customerId,
      subscribers: (s ? { main: s.subscriberId } : {}) as Record<string, number>,
      result: { customer, subscriber },
    };
  },
};
