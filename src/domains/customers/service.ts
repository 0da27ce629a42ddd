import { type Actor, audit, can } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db, Q } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import { emit } from '../../platform/outbox.ts';
import { hashSecret, verifySecret } from '../../platform/passwords.ts';
import { type CustomerRow, customerRepo } from './repo.ts';
import { checkIdNumber, checkServicePassword, type IdType, maskIdNumber, maskPhone } from './rules.ts';

export interface PersonRef {
  name: string;
  idType: IdType;
  idNumber: string;
  phone?: string | undefined;
}

export interface NewCustomer {
  kind: 'person' | 'organisation';
  name: string;
  idType: IdType;
  idNumber: string;
  address?: string | undefined;
  contactPhone?: string | undefined;
  segment?: 'personal' | 'family' | 'group' | undefined;
  vipLevel?: string | undefined;
  valueLevel?: number | undefined;
  servicePassword?: string | undefined;
  handler?: PersonRef | undefined;
  contact?: PersonRef | undefined;
}

export interface CustomerView {
  customerId: number;
  kind: 'person' | 'organisation';
  name: string;
  idType: string;
  idNumber: string;
  /** false only in the authorised detail view (R-CUS-2). */
  masked: boolean;
  address: string | null;
  contactPhone: string | null;
  segment: string;
  vipLevel: string;
  valueLevel: number;
  handler: PersonRef | null;
  contact: PersonRef | null;
  hasServicePassword: boolean;
  createdAt: string;
}

const CUSTOMER = { zh: '客户', en: 'Customer' };
const REASONS: Record<string, [string, string]> = {
  format: ['格式不正确', 'has a wrong format'],
  birth_date: ['出生日期不合法', 'has an impossible birth date'],
  checksum: ['校验位错误', 'fails its check digit'],
};

function checkDocument(role: { zh: string; en: string }, idType: IdType, idNumber: string): void {
  const r = checkIdNumber(idType, idNumber);
  if (!r.ok) {
    const [zh, en] = REASONS[r.reason] ?? ['不合法', 'is invalid'];
    // R-CUS-1: refused with a clear error, never stored; the number itself is masked in the message
    throw new DomainError('INVALID_ID_NUMBER', `${role.zh}证件号码${zh}：${maskIdNumber(idNumber)}`, `The ${role.en} ID number ${en}: ${maskIdNumber(idNumber)}`, 422, {
      field: role.en,
      reason: r.reason,
    });
  }
}

function maskRef(p: PersonRef | null, whole: boolean): PersonRef | null {
  if (!p || whole) return p;
  return { ...p, idNumber: maskIdNumber(p.idNumber) ?? '', ...(p.phone ? { phone: maskPhone(p.phone) ?? '' } : {}) };
}

export function customerView(c: CustomerRow, whole: boolean): CustomerView {
  return {
    customerId: c.customer_id,
    kind: c.kind,
    name: c.name,
    idType: c.id_type,
    idNumber: whole ? c.id_number : (maskIdNumber(c.id_number) ?? ''),
    masked: !whole,
    address: c.address,
    contactPhone: whole ? c.contact_phone : maskPhone(c.contact_phone),
    segment: c.segment,
    vipLevel: c.vip_level,
    valueLevel: c.value_level,
    handler: maskRef(c.handler as PersonRef | null, whole),
    contact: maskRef(c.contact as PersonRef | null, whole),
    hasServicePassword: c.service_password_hash !== null,
    createdAt: c.created_at.toISOString(),
  };
}

export class CustomerService {
  private readonly deps: { db: Db; clock: Clock };
  constructor(deps: { db: Db; clock: Clock }) {
    this.deps = deps;
  }

  async create(actor: Actor, input: NewCustomer): Promise<CustomerView> {
    const idNumber = input.idNumber.trim().toUpperCase();
    if (input.kind === 'organisation') {
      if (input.idType !== 'business_licence') {
        throw new DomainError('ORG_NEEDS_LICENCE', '单位客户须使用营业执照（统一社会信用代码）', 'An organisation is identified by its business licence', 422);
      }
      if (!input.handler || !input.contact) {
        throw new DomainError('ORG_NEEDS_HANDLER', '单位客户须登记经办人和联系人及其证件', 'An organisation needs a handler and a contact with their IDs', 422);
      }
    } else if (input.idType === 'business_licence') {
      throw new DomainError('PERSON_WITH_LICENCE', '个人客户不能使用营业执照', 'A person cannot be identified by a business licence', 422);
    }
    checkDocument({ zh: '', en: 'customer' }, input.idType, idNumber);
    if (input.handler) checkDocument({ zh: '经办人', en: 'handler' }, input.handler.idType, input.handler.idNumber.toUpperCase());
    if (input.contact) checkDocument({ zh: '联系人', en: 'contact' }, input.contact.idType, input.contact.idNumber.toUpperCase());
    if (input.servicePassword !== undefined) {
      const pw = checkServicePassword(input.servicePassword, idNumber);
      if (!pw.ok) {
        throw new DomainError('WEAK_SERVICE_PASSWORD', '服务密码须为 6 位数字，且不能是相同数字、连续数字或证件号后六位', 'The service password must be 6 digits, not repeated, not a run and not the ID number’s last six', 422, {
          reason: pw.reason,
        });
      }
    }
    const hash = input.servicePassword === undefined ? null : await hashSecret(input.servicePassword);
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (tx) => {
      if (await customerRepo.byDocument(tx, input.idType, idNumber)) {
        throw new DomainError('CUSTOMER_EXISTS', '该证件已登记为客户', 'A customer with this ID document exists', 409);
      }
      const row = await customerRepo.insert(tx, {
        kind: input.kind,
        name: input.name.trim(),
        id_type: input.idType,
        id_number: idNumber,
        address: input.address ?? null,
        contact_phone: input.contactPhone ?? null,
        segment: input.segment ?? (input.kind === 'organisation' ? 'group' : 'personal'),
        vip_level: input.vipLevel ?? 'none',
        value_level: input.valueLevel ?? 0,
        handler: input.handler ? JSON.stringify({ ...input.handler, idNumber: input.handler.idNumber.toUpperCase() }) : null,
        contact: input.contact ? JSON.stringify({ ...input.contact, idNumber: input.contact.idNumber.toUpperCase() }) : null,
        service_password_hash: hash,
        department_id: actor.departmentId,
        created_at: now,
        updated_at: now,
      });
      const masked = customerView(row, false);
      await audit(tx, this.deps.clock, actor, { action: 'customer.create', targetType: 'customer', targetId: row.customer_id, after: masked });
      await emit(tx, this.deps.clock, { type: 'customer.created', aggregateType: 'customer', aggregateId: row.customer_id, payload: masked });
      return customerView(row, can(actor, 'customer.pii'));
    });
  }

  async get(actor: Actor, id: number) {
    const c = await customerRepo.byId(this.deps.db, id);
    if (!c) throw notFound(CUSTOMER, id);
    const [accounts, subscribers] = await Promise.all([customerRepo.accountsOf(this.deps.db, id), customerRepo.subscribersOf(this.deps.db, id)]);
    return {
      ...customerView(c, can(actor, 'customer.pii')),
      accounts: accounts.map((a) => ({ accountId: a.account_id, name: a.name, billingType: a.billing_type, paymentMethod: a.payment_method, status: a.status })),
      subscribers: subscribers.map((s) => ({
        subscriberId: s.subscriber_id,
        serviceNumber: s.service_number,
        network: s.network,
        status: s.status,
        defaultAccountId: s.default_account_id,
        activatedAt: s.activated_at.toISOString(),
      })),
    };
  }

  /** The stored record, for the order engine's receipt and rules (callers mask what they show). */
  async record(id: number, q: Q = this.deps.db) {
    return customerRepo.byId(q, id);
  }

  /** Lists are always masked (R-CUS-2). */
  async search(q: string, limit = 50): Promise<CustomerView[]> {
    const text = q.trim();
    if (text.length === 0) return [];
    const rows = await customerRepo.search(this.deps.db, text, limit);
    return rows.map((r) => customerView(r, false));
  }

  /**
   * 更改资料: the customer's contact phone and address, in the order's transaction. The audit and the
   * event carry before/after with the phone masked (R-CUS-2: logs never show it whole).
   */
  async changeContact(tx: Q, actor: Actor, customerId: number, change: { contactPhone?: string | undefined; address?: string | undefined }, meta: { orderId?: number | null | undefined } = {}) {
    const before = await customerRepo.lock(tx, customerId);
    if (!before) throw notFound(CUSTOMER, customerId);
    const set: { contact_phone?: string; address?: string } = {};
    const b: Record<string, string | null> = {};
    const a: Record<string, string | null> = {};
    if (change.contactPhone !== undefined && change.contactPhone !== before.contact_phone) {
      set.contact_phone = change.contactPhone;
      b.contactPhone = maskPhone(before.contact_phone);
      a.contactPhone = maskPhone(change.contactPhone);
    }
    if (change.address !== undefined && change.address !== before.address) {
      set.address = change.address;
      b.address = before.address;
      a.address = change.address;
    }
    if (Object.keys(set).length === 0) return { before: b, after: a };
    await customerRepo.update(tx, customerId, { ...set, updated_at: this.deps.clock.now() });
    const orderId = meta.orderId ?? null;
    await audit(tx, this.deps.clock, actor, { action: 'customer.change_contact', targetType: 'customer', targetId: customerId, before: b, after: { ...a, orderId } });
    await emit(tx, this.deps.clock, { type: 'customer.updated', aggregateType: 'customer', aggregateId: customerId, payload: { customerId, before: b, after: a, orderId } });
    return { before: b, after: a };
  }

  /** For sensitive orders: checks the customer's 6-digit service password. */
  async verifyServicePassword(customerId: number, password: string, q: Q = this.deps.db): Promise<boolean> {
    const c = await customerRepo.byId(q, customerId);
    if (!c?.service_password_hash) return false;
    return verifySecret(password, c.service_password_hash);
  }
}
