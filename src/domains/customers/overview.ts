// Customer 360 (客户视图, SPEC §11): the customer, its accounts with their money (books, arrears,
// open bills, recent write-off lines) and its subscribers, in one read for the front desk.
// The money comes from the accounts domain's own read side (AccountService.balance/writeOffs);
// this file only assembles it, so the numbers are the same ones /accounts/{id}/balance shows.
import { type Static, type TSchema, Type } from 'typebox';
import { type Actor, can } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import { sumFen } from '../../platform/money.ts';
import { StrEnum } from '../../platform/schemas.ts';
import type { AccountService } from '../accounts/service.ts';
import { customerRepo } from './repo.ts';
import { maskBankAccount } from './rules.ts';
import { customerView } from './service.ts';

/** The write-off lines shown per account: the newest ones; the full list is /accounts/{id}/write-offs. */
export const OVERVIEW_WRITE_OFFS = 20;

// OpenAPI 3.0 spells "or null" as nullable (openapi-typescript turns it into `T | null`).
const Nullable = <T extends TSchema>(s: T) => Type.Unsafe<Static<T> | null>({ ...s, nullable: true });
const Instant = Type.String({ format: 'date-time' });
const Fen = Type.Integer({ description: 'fen (1/100 yuan)' });

const PersonRef = Type.Object({ name: Type.String(), idType: Type.String(), idNumber: Type.String(), phone: Type.Optional(Type.String()) });

const OverviewCustomer = Type.Object({
  customerId: Type.Integer(),
  kind: StrEnum(['person', 'organisation'] as const),
  name: Type.String(),
  idType: Type.String(),
  idNumber: Type.String({ description: 'masked unless the operator has customer.pii (R-CUS-2)' }),
  masked: Type.Boolean(),
  address: Nullable(Type.String()),
  contactPhone: Nullable(Type.String()),
  segment: Type.String(),
  vipLevel: Type.String(),
  valueLevel: Type.Integer(),
  handler: Nullable(PersonRef),
  contact: Nullable(PersonRef),
  hasServicePassword: Type.Boolean(),
  createdAt: Instant,
});

const OverviewBook = Type.Object({
  bookId: Type.Integer(),
  bookType: Type.String(),
  amountFen: Fen,
  balanceFen: Fen,
  restrictedItems: Nullable(Type.Array(Type.String())),
  subscriberId: Nullable(Type.Integer()),
  startAt: Instant,
  expiryAt: Nullable(Instant),
  sourceKind: Type.String(),
  status: Type.String({ description: 'usable, not_started, expired or empty' }),
});

const OverviewBillLine = Type.Object({
  lineId: Type.Integer(),
  subscriberId: Type.Integer(),
  serviceNumber: Type.String(),
  item: Type.String(),
  amountFen: Fen,
  paidFen: Fen,
  openFen: Fen,
});

const OverviewBill = Type.Object({
  billId: Type.Integer(),
  cycle: Type.String(),
  status: Type.String({ description: 'prebill or published; only published bills are arrears' }),
  openFen: Fen,
  lines: Type.Array(OverviewBillLine),
});

const OverviewWriteOff = Type.Object({
  writeOffId: Type.Integer(),
  createdAt: Instant,
  cycle: Type.String(),
  lineId: Type.Integer(),
  serviceNumber: Type.String(),
  item: Type.String(),
  bookId: Type.Integer(),
  bookType: Type.String(),
  amountFen: Fen,
  trigger: Type.Object({ kind: Type.String(), id: Type.Integer() }),
});

const OverviewAccount = Type.Object({
  accountId: Type.Integer(),
  name: Type.String(),
  billingType: Type.String(),
  paymentMethod: Type.String(),
  bankName: Nullable(Type.String()),
  bankAccountNumber: Nullable(Type.String({ description: 'masked unless the operator has customer.pii' })),
  status: Type.String(),
  creditLimitFen: Fen,
  usableBalanceFen: Fen,
  arrearsFen: Fen,
  realtimeBalanceFen: Fen,
  books: Type.Array(OverviewBook),
  openBills: Type.Array(OverviewBill),
  recentWriteOffs: Type.Array(OverviewWriteOff, { description: `the newest ${OVERVIEW_WRITE_OFFS} write-off lines, newest first` }),
});

const OverviewSubscriber = Type.Object({
  subscriberId: Type.Integer(),
  serviceNumber: Type.String(),
  network: Type.String(),
  status: Type.String(),
  activatedAt: Instant,
  defaultAccountId: Type.Integer(),
});

const overviewExample = {
  customer: {
    customerId: 2,
    kind: 'person',
    name: '李华',
    idType: 'resident_id',
    idNumber: '120104********1328',
    masked: true,
    address: '天津市南开区鞍山西道 88 号',
    contactPhone: '136****5678',
    segment: 'personal',
    vipLevel: 'none',
    valueLevel: 0,
    handler: null,
    contact: null,
    hasServicePassword: true,
    createdAt: '2026-11-15T02:00:00.000Z',
  },
  summary: { accounts: 1, subscribers: 1, usableBalanceFen: 0, arrearsFen: 9360 },
  accounts: [
    {
      accountId: 2,
      name: '李华',
      billingType: 'monthly',
      paymentMethod: 'cash',
      bankName: null,
      bankAccountNumber: null,
      status: 'active',
      creditLimitFen: 0,
      usableBalanceFen: 0,
      arrearsFen: 9360,
      realtimeBalanceFen: -9360,
      books: [],
      openBills: [
        {
          billId: 3,
          cycle: '2026-10',
          status: 'published',
          openFen: 3560,
          lines: [{ lineId: 5, subscriberId: 3, serviceNumber: '13602105678', item: 'VOICE_LD', amountFen: 2310, paidFen: 0, openFen: 2310 }],
        },
      ],
      recentWriteOffs: [
        {
          writeOffId: 4,
          createdAt: '2026-11-15T02:00:00.000Z',
          cycle: '2026-10',
          lineId: 4,
          serviceNumber: '13602105678',
          item: 'RENT_PLAN',
          bookId: 3,
          bookType: 'cash',
          amountFen: 5000,
          trigger: { kind: 'payment', id: 2 },
        },
      ],
    },
  ],
  subscribers: [{ subscriberId: 3, serviceNumber: '13602105678', network: 'gsm2g', status: 'normal', activatedAt: '2026-11-15T02:00:00.000Z', defaultAccountId: 2 }],
  asOf: '2026-11-15T02:00:00.000Z',
};

export const CustomerOverview = Type.Object(
  {
    customer: OverviewCustomer,
    summary: Type.Object({ accounts: Type.Integer(), subscribers: Type.Integer(), usableBalanceFen: Fen, arrearsFen: Fen }),
    accounts: Type.Array(OverviewAccount),
    subscribers: Type.Array(OverviewSubscriber),
    // Subscribed products (subscriber_offers) and the order history (orders) join here once the
    // catalog and order domains exist: one array each, filled from their services like `accounts`.
    asOf: Instant,
  },
  { description: 'Customer 360 (客户视图)', examples: [overviewExample] },
);
export type CustomerOverview = Static<typeof CustomerOverview>;

export async function customerOverview(deps: { db: Db; clock: Clock; accounts: AccountService }, actor: Actor, customerId: number): Promise<CustomerOverview> {
  // the money part is the accounts' read side: the operator needs that permission too
  if (!can(actor, 'account.read')) {
    throw new DomainError('FORBIDDEN', '工号无此权限：account.read', 'The operator lacks the permission account.read', 403, { permission: 'account.read' });
  }
  const c = await customerRepo.byId(deps.db, customerId);
  if (!c) throw notFound({ zh: '客户', en: 'Customer' }, customerId);
  const whole = can(actor, 'customer.pii');
  const [accountRows, subscriberRows] = await Promise.all([customerRepo.accountsOf(deps.db, customerId), customerRepo.subscribersOf(deps.db, customerId)]);
  const accounts = await Promise.all(
    accountRows.map(async (a) => {
      const [balance, writeOffs] = await Promise.all([deps.accounts.balance(a.account_id), deps.accounts.writeOffs(a.account_id)]);
      return {
        accountId: a.account_id,
        name: a.name,
        billingType: a.billing_type,
        paymentMethod: a.payment_method,
        bankName: a.bank_name,
        bankAccountNumber: whole ? a.bank_account_number : maskBankAccount(a.bank_account_number),
        status: a.status,
        creditLimitFen: balance.creditLimitFen,
        usableBalanceFen: balance.usableBalanceFen,
        arrearsFen: balance.arrearsFen,
        realtimeBalanceFen: balance.realtimeBalanceFen,
        books: balance.books.map((b) => ({
          bookId: b.bookId,
          bookType: b.bookType,
          amountFen: b.amountFen,
          balanceFen: b.balanceFen,
          restrictedItems: b.restrictedItems,
          subscriberId: b.subscriberId,
          startAt: b.startAt,
          expiryAt: b.expiryAt,
          sourceKind: b.sourceKind,
          status: b.status,
        })),
        openBills: balance.openBills.map((bill) => ({ ...bill, lines: bill.lines as CustomerOverview['accounts'][number]['openBills'][number]['lines'] })),
        recentWriteOffs: writeOffs.writeOffs
          .slice(-OVERVIEW_WRITE_OFFS)
          .reverse()
          .map((w) => ({
            writeOffId: w.writeOffId,
            createdAt: w.createdAt,
            cycle: w.cycle,
            lineId: w.lineId,
            serviceNumber: w.serviceNumber,
            item: w.item,
            bookId: w.bookId,
            bookType: w.bookType,
            amountFen: w.amountFen,
            trigger: w.trigger,
          })),
      };
    }),
  );
  return {
    customer: customerView(c, whole),
    summary: {
      accounts: accounts.length,
      subscribers: subscriberRows.length,
      usableBalanceFen: sumFen(accounts.map((a) => a.usableBalanceFen)),
      arrearsFen: sumFen(accounts.map((a) => a.arrearsFen)),
    },
    accounts,
    subscribers: subscriberRows.map((s) => ({
      subscriberId: s.subscriber_id,
      serviceNumber: s.service_number,
      network: s.network,
      status: s.status,
      activatedAt: s.activated_at.toISOString(),
      defaultAccountId: s.default_account_id,
    })),
    asOf: deps.clock.now().toISOString(),
  };
}
