// 新开户 OPEN_ACCOUNT (SPEC §7.2, R-ORD-7) — one subscriber on a plan, or every member of a package
// such as e9 (R-E9-1: mobile + broadband on one real-time account, 100 free-use credit, gift handset).
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { cycleOf } from '../../../platform/clock.ts';
import { formatYuan } from '../../../platform/money.ts';
import { AmountFen, StrEnum } from '../../../platform/schemas.ts';
import type { AccountsTable } from '../../../platform/schema.ts';
import { creditExhaustion, monthlyFeeFen, type Offer, offerName, saleFailures } from '../../catalog/rules.ts';
import { type CustomerFacts, customerMissing, type DocumentsInput, Documents, documentFailures, loadCustomer, numberSubject } from '../facts.ts';
import {
  applyMember,
  duplicateNumbers,
  isMobile,
  loadMember,
  loadMemberQuote,
  type MemberFacts,
  memberDescription,
  memberFailures,
  memberQuote,
  type MemberQuoteFacts,
  NewMember,
  type NewMemberInput,
} from '../members.ts';
import type { BusinessType, OrderEnv, QuoteLine } from '../types.ts';

export const NewAccountInput = Type.Object(
  {
    billingType: StrEnum(['virtual', 'quota', 'monthly'] as const),
    paymentMethod: StrEnum(['cash', 'recharge_card', 'bank_agency', 'bank_collection'] as const),
    bankName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    bankAccountHolder: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    bankAccountNumber: Type.Optional(Type.String({ pattern: '^[0-9]{8,32}$' })),
  },
  { additionalProperties: false },
);

export const OpenAccountInput = Type.Object(
  {
    customerId: Type.Integer({ minimum: 1 }),
    documents: Documents,
    /** a package (e9-C); without it the single member carries its own planCode */
    packageCode: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    /** an existing account of the customer, or a new one */
    accountId: Type.Optional(Type.Integer({ minimum: 1 })),
    newAccount: Type.Optional(NewAccountInput),
    members: Type.Array(NewMember, { minItems: 1, maxItems: 6 }),
    /** 预存话费 into the account (prepaid book) */
    prestoreFen: Type.Optional(AmountFen()),
  },
  { additionalProperties: false },
);

export interface OpenAccountIn {
  customerId: number;
  documents: DocumentsInput;
  packageCode?: string;
  accountId?: number;
  newAccount?: { billingType: 'virtual' | 'quota' | 'monthly'; paymentMethod: 'cash' | 'recharge_card' | 'bank_agency' | 'bank_collection'; bankName?: string; bankAccountHolder?: string; bankAccountNumber?: string };
  members: NewMemberInput[];
  prestoreFen?: number;
}

type AccountRow = { [K in keyof AccountsTable]: AccountsTable[K] extends { __select__: infer S } ? S : AccountsTable[K] };

/** What quote() reads: the package and each member's number level. */
export interface OpenAccountQuoteFacts {
  pkg: Offer | undefined;
  members: MemberQuoteFacts[];
}

export interface OpenAccountFacts extends OpenAccountQuoteFacts {
  customer: CustomerFacts | null;
  account: Pick<AccountRow, 'account_id' | 'customer_id' | 'billing_type' | 'status'> | undefined;
  members: MemberFacts[];
}

/** Rules about the package as a whole (members, segment, one real-time account — R-E9-1). */
export function packageFailures(pkg: Offer | undefined, code: string | undefined, members: NewMemberInput[], env: OrderEnv): CheckFailure[] {
  if (!code) return [];
  if (!pkg) return [failure('OFFER_NOT_FOUND', { zh: `产品不存在：${code}`, en: `No such offer: ${code}` }, { zh: '请重新选择融合套餐', en: 'Choose the package again' })];
  const out = saleFailures(pkg, env.now);
  if (pkg.kind !== 'package' || !pkg.members) {
    return [...out, failure('NOT_A_PACKAGE', { zh: `${pkg.nameZh} 不是融合套餐`, en: `${pkg.nameEn} is not a package` }, { zh: '请选择融合套餐', en: 'Choose a package' })];
  }
  for (const want of pkg.members) {
    const got = members.filter((m) => m.role === want.role);
    if (got.length === 0) {
      out.push(
        failure(
          'PACKAGE_MEMBER_MISSING',
          { zh: `${pkg.nameZh} 须包含${roleName(want.role).zh}`, en: `${pkg.nameEn} needs its ${roleName(want.role).en}` },
          { zh: `请在套餐内增加${roleName(want.role).zh}`, en: `Add the ${roleName(want.role).en} to the package` },
          { role: want.role },
        ),
      );
    } else if (got.some((m) => m.network !== want.network)) {
      out.push(failure('PACKAGE_MEMBER_NETWORK', { zh: `${roleName(want.role).zh}的网络类型须为 ${want.network}`, en: `The ${want.role} must be on ${want.network}` }, { zh: '请按套餐要求选择网络', en: 'Choose the network the package requires' }, { role: want.role }));
    } else if (got.length > 1) {
      out.push(failure('PACKAGE_MEMBER_DUPLICATE', { zh: `${roleName(want.role).zh}只能有一个`, en: `Only one ${want.role} per package` }, { zh: '请删除多余的成员', en: 'Remove the extra member' }, { role: want.role }));
    }
  }
  for (const m of members) {
    if (!pkg.members.some((x) => x.role === m.role)) {
      out.push(failure('PACKAGE_MEMBER_UNKNOWN', { zh: `套餐中没有成员角色 ${m.role}`, en: `The package has no member role ${m.role}` }, { zh: '请删除该成员', en: 'Remove that member' }, { role: m.role }));
    }
    if (m.planCode) {
      out.push(failure('PACKAGE_MEMBER_HAS_PLAN', { zh: '融合套餐成员不另选主套餐', en: 'A package member takes no plan of its own' }, { zh: '请去掉成员的主套餐', en: 'Remove the member’s plan' }, { role: m.role }));
    }
  }
  return out;
}

export function roleName(role: string): Text {
  return ({ mobile: { zh: '手机', en: 'mobile' }, broadband: { zh: '宽带', en: 'broadband' }, fixed: { zh: '固话', en: 'fixed line' }, main: { zh: '用户', en: 'subscriber' } } as Record<string, Text>)[role] ?? { zh: role, en: role };
}

/** The package's free-use credit (自由话费, seed 002) as a prestore line. */
export function freeCreditLine(pkg: Offer | undefined): QuoteLine[] {
  const credit = Number(pkg?.attributes.freeCreditFen ?? 0);
  if (!pkg || !Number.isSafeInteger(credit) || credit <= 0) return [];
  return [{ feeCode: 'FREE_CREDIT', kind: 'prestore', name: { zh: '自由话费', en: 'Free-use credit' }, itemCode: null, bookType: 'prepaid', amountFen: credit, waivable: false }];
}

/**
 * R-E9-4: with only the prepaid credit paying the mobile's rent, the month the mobile stops — and,
 * with linkage `immediate`, the broadband with it although its restricted fund still has money.
 */
export function exhaustionNotice(pkg: Offer | undefined, creditFen: number, env: OrderEnv, activatedAt = env.now): Text[] {
  if (!pkg?.members?.some((m) => m.role === 'mobile')) return [];
  const monthly = monthlyFeeFen(pkg, 'mobile');
  const at = creditExhaustion(creditFen, monthly, activatedAt);
  if (!at) return [];
  const [y, mo] = at.cycle.split('-');
  const linked = pkg.linkage === 'immediate';
  return [
    {
      zh: `提醒客户：预存 ${formatYuan(creditFen)} 元只用于手机（月费 ${formatYuan(monthly)} 元），若不续存话费，手机将在第 ${at.month} 个月（${y}年${Number(mo)}月）欠费停机${linked ? '，宽带随之停机（即使宽带专款仍有余额）' : ''}。请提醒客户提前续存话费。`,
      en: `Tell the customer: the ${formatYuan(creditFen)} credit pays only the mobile (${formatYuan(monthly)} a month); without a top-up the mobile stops for arrears in month ${at.month} (${at.cycle})${linked ? ' and the broadband stops with it, although its special fund still has money' : ''}. Ask the customer to top up in time.`,
    },
  ];
}

export const openAccount: BusinessType<OpenAccountIn, OpenAccountFacts, OpenAccountQuoteFacts> = {
  code: 'OPEN_ACCOUNT',
  name: { zh: '新开户', en: 'Open account' },
  input: OpenAccountInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, accountId: i.accountId }),

  async load(c, i) {
    const [customer, pkg, account, members] = await Promise.all([
      loadCustomer(c, i.customerId),
      i.packageCode ? c.services.catalog.offer(i.packageCode, c.q) : Promise.resolve(undefined),
      i.accountId ? c.services.accounts.accountRecord(i.accountId, c.q) : Promise.resolve(undefined),
      Promise.all(i.members.map((m) => loadMember(c, m))),
    ]);
    return { customer, pkg, account, members };
  },

  async loadQuote(c, i) {
    const [pkg, members] = await Promise.all([
      i.packageCode ? c.services.catalog.offer(i.packageCode, c.q) : Promise.resolve(undefined),
      Promise.all(i.members.map((m) => loadMemberQuote(c, m))),
    ]);
    return { pkg, members };
  },

  check(f, i, env) {
    const out: CheckFailure[] = [...customerMissing(f.customer, i.customerId), ...documentFailures(f.customer, i.documents)];
    if (f.customer && !f.customer.hasServicePassword) {
      out.push(failure('SERVICE_PASSWORD_NOT_SET', { zh: '客户未设置服务密码', en: 'The customer has no service password' }, { zh: '请客户设置 6 位服务密码后再开户', en: 'Have the customer set a 6-digit service password first' }));
    }
    if (!i.accountId && !i.newAccount) {
      out.push(failure('ACCOUNT_REQUIRED', { zh: '请选择已有帐户或新建帐户', en: 'Choose an existing account or open a new one' }, { zh: '在帐户信息中选择帐户', en: 'Pick the account in the account step' }));
    }
    if (i.accountId && i.newAccount) {
      out.push(failure('ACCOUNT_AMBIGUOUS', { zh: '已有帐户与新建帐户只能选一个', en: 'Either an existing account or a new one, not both' }, { zh: '请只保留一个', en: 'Keep one of them' }));
    }
    if (i.accountId) {
      if (!f.account) {
        out.push(failure('ACCOUNT_NOT_FOUND', { zh: `帐户不存在：${i.accountId}`, en: `No such account: ${i.accountId}` }, { zh: '请重新选择帐户', en: 'Choose the account again' }));
      } else {
        if (f.account.customer_id !== i.customerId) {
          out.push(failure('ACCOUNT_OF_OTHER_CUSTOMER', { zh: '该帐户不属于此客户', en: 'The account belongs to another customer' }, { zh: '请选择本客户的帐户', en: 'Choose one of this customer’s accounts' }));
        }
        if (f.account.status !== 'active') {
          out.push(failure('ACCOUNT_CLOSED', { zh: '帐户已关闭', en: 'The account is closed' }, { zh: '请选择其他帐户或新建帐户', en: 'Choose another account or open a new one' }));
        }
      }
    }
    if (i.newAccount?.paymentMethod === 'bank_collection' && !(i.newAccount.bankName && i.newAccount.bankAccountHolder && i.newAccount.bankAccountNumber)) {
      out.push(failure('BANK_DETAILS_REQUIRED', { zh: '银行托收须填写开户银行、户名和帐号', en: 'Bank collection needs the bank, the holder and the account number' }, { zh: '请补全银行信息，并核实帐户户主证件', en: 'Complete the bank details and check the holder’s ID' }));
    }
    if (i.packageCode) {
      out.push(...packageFailures(f.pkg, i.packageCode, i.members, env));
      // R-E9-1: one real-time (virtual) account for every member of the package
      const billing = i.newAccount?.billingType ?? f.account?.billing_type;
      if (f.pkg?.kind === 'package' && billing && billing !== 'virtual') {
        out.push(
          failure('PACKAGE_NEEDS_VIRTUAL_ACCOUNT', { zh: `${f.pkg.nameZh} 须使用实时预付费（虚扣）帐户`, en: `${f.pkg.nameEn} needs a real-time prepaid (virtual) account` }, {
            zh: '请将帐户出帐类型选为“虚扣”',
            en: 'Choose billing type “virtual” for the account',
          }),
        );
      }
      if (f.customer && f.pkg?.customerSegment && f.customer.segment !== f.pkg.customerSegment) {
        out.push(
          failure(
            'CUSTOMER_SEGMENT_MISMATCH',
            { zh: `${f.pkg.nameZh} 面向“${segmentName(f.pkg.customerSegment)}”客户`, en: `${f.pkg.nameEn} is for ${f.pkg.customerSegment} customers` },
            { zh: `请将客户分群改为“${segmentName(f.pkg.customerSegment)}”`, en: `Set the customer segment to ${f.pkg.customerSegment}` },
          ),
        );
      }
    } else if (i.members.length !== 1 || i.members[0]?.role !== 'main') {
      out.push(failure('SINGLE_MEMBER_EXPECTED', { zh: '不选融合套餐时只能开一个用户（角色 main）', en: 'Without a package the order opens one subscriber (role main)' }, { zh: '请选择融合套餐，或分开受理', en: 'Choose a package, or take separate orders' }));
    }
    for (const m of f.members) out.push(...memberFailures(m, env, { needsPlan: !i.packageCode }));
    out.push(...duplicateNumbers(i.members));
    return out;
  },

  quote(f, i, env) {
    const lines: QuoteLine[] = [];
    for (const m of f.members) lines.push(...memberQuote(m, env, { simFeeWaivedByOffer: f.pkg?.kind === 'package' ? f.pkg.nameZh : undefined }));
    lines.push(...freeCreditLine(f.pkg));
    if (i.prestoreFen) lines.push({ feeCode: 'PRESTORE', kind: 'prestore', name: { zh: '预存话费', en: 'Prestore' }, itemCode: null, bookType: 'prepaid', amountFen: i.prestoreFen, waivable: false });
    return lines;
  },

  describe(f, i) {
    const out: { label: Text; value: string }[] = [];
    if (f.pkg) out.push({ label: { zh: '融合套餐', en: 'Package' }, value: `${offerName(f.pkg).zh}（${f.pkg.brandCode ?? ''}）` });
    out.push({
      label: { zh: '帐户', en: 'Account' },
      value: i.accountId ? `#${i.accountId}` : i.newAccount ? `新建（${i.newAccount.billingType === 'virtual' ? '实时预付费' : i.newAccount.billingType === 'monthly' ? '月出帐' : '定额'}）` : '—',
    });
    for (const m of f.members) out.push(...memberDescription(m).map((d) => ({ label: { zh: `${roleName(m.input.role).zh}·${d.label.zh}`, en: `${roleName(m.input.role).en} · ${d.label.en}` }, value: d.value })));
    return out;
  },

  notices(f, i, env) {
    const credit = Number(f.pkg?.attributes.freeCreditFen ?? 0) + (i.prestoreFen ?? 0);
    return f.pkg && i.members.some((m) => isMobile(m.network)) ? exhaustionNotice(f.pkg, credit, env) : [];
  },

  subjects: (_f, i) => i.members.map((m) => numberSubject(`${m.network === 'broadband' ? 'bb:' : ''}${m.serviceNumber}`)),

  needsConfirmation(f, i) {
    const m = f.members.find((x) => [...x.extras.values()].some((o) => o.requiresSmsConfirmation) && isMobile(x.input.network));
    if (!m) return null;
    const names = [...m.extras.values()].filter((o) => o.requiresSmsConfirmation).map((o) => o.nameZh).join('、');
    void i;
    return { serviceNumber: m.input.serviceNumber, text: { zh: `您正在办理${names}，回复 Y 确认，回复 N 取消。`, en: `You are ordering ${names}. Reply Y to confirm, N to cancel.` } };
  },

  async apply(c, f, i) {
    const s = c.services;
    const customer = f.customer as CustomerFacts;
    const accountId =
      i.accountId ??
      (
        await s.accounts.createAccount(
          c.actor,
          {
            customerId: customer.customerId,
            billingType: i.newAccount?.billingType ?? 'virtual',
            paymentMethod: i.newAccount?.paymentMethod ?? 'cash',
            bankName: i.newAccount?.bankName,
            bankAccountHolder: i.newAccount?.bankAccountHolder,
            bankAccountNumber: i.newAccount?.bankAccountNumber,
          },
          c.tx,
          { customerName: customer.name },
        )
      ).accountId;
    const pkg = f.pkg?.kind === 'package' ? f.pkg : undefined;
    const packageRow = pkg ? await s.catalog.createPackage(c.tx, c.actor, { offer: pkg, customerId: customer.customerId, accountId, orderId: c.orderId }) : undefined;
    const subscribers: Record<string, number> = {};
    const workOrders = [];
    for (const m of f.members) {
      const done = await applyMember(c, m, {
        customerId: customer.customerId,
        accountId,
        brandCode: pkg?.brandCode ?? m.plan?.brandCode ?? null,
        packageOffer: pkg,
        packageId: packageRow?.package_id ?? null,
        // the check passed in this transaction: the customer exists; a new account is the customer's
        known: { customerExists: true, accountCustomerId: i.accountId ? undefined : customer.customerId },
      });
      subscribers[m.input.role] = done.subscriberId;
      if (done.workOrder) workOrders.push(done.workOrder);
    }
    return {
      accountId,
      accountOpened: !i.accountId,
      customerId: customer.customerId,
      subscribers,
      workOrders,
      result: { accountId, packageId: packageRow?.package_id ?? null, cycle: cycleOf(c.now) },
    };
  },

  /**
   * R-X-11: the network refused a new mobile, the submission rolled back; the numbers the order held
   * (a card-writing hold) go back to free and a card written for it keeps its IMSI but loses the number.
   */
  async reverse(c, i, reason) {
    const members = i.members.filter((m) => m.network !== 'broadband').map((m) => ({ serviceNumber: m.serviceNumber, iccid: m.iccid }));
    return c.services.resources.releaseForReversedOrder(c.tx, c.actor, { orderId: c.orderId, reason, members });
  },
};

function segmentName(s: string): string {
  return ({ personal: '个人', family: '家庭', group: '集团' } as Record<string, string>)[s] ?? s;
}
