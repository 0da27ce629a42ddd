// Customer 360 (客户视图, SPEC §11): the customer, its accounts with their money (books, arrears,
// open bills, recent write-off lines), its subscribers with their subscribed products and tariffs,
// and its order history with the SMS double-confirmation results, in one read for the front desk.
// Every part comes from its own domain's read side (AccountService.balance/writeOffs,
// CatalogService.subscriptions/offers, OrderService.list); this file only assembles it, so the
// numbers are the same ones /accounts/{id}/balance and /orders show.
import { type Static, type TSchema, Type } from 'typebox';
import { type Actor, can } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import { sumFen } from '../../platform/money.ts';
import { StrEnum } from '../../platform/schemas.ts';
import type { AccountService } from '../accounts/service.ts';
import { monthlyFeeFen } from '../catalog/rules.ts';
import type { CatalogService } from '../catalog/service.ts';
import type { OrderService } from '../orders/service.ts';
import { customerRepo } from './repo.ts';
import { maskBankAccount } from './rules.ts';
import { customerView } from './service.ts';

/** The write-off lines shown per account: the newest ones; the full list is /accounts/{id}/write-offs. */
export const OVERVIEW_WRITE_OFFS = 20;
/** The orders shown: the newest ones; the full history is GET /orders?customerId=. */
export const OVERVIEW_ORDERS = 20;

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
  badDebt: Type.Boolean({ description: 'written off as bad debt (R-BIL-10): still open and recoverable, not counted as arrears' }),
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

const OverviewProduct = Type.Object({
  subscriberOfferId: Type.Integer(),
  offerCode: Type.String(),
  name: Type.Object({ zh: Type.String(), en: Type.String() }),
  kind: Type.String({ description: 'plan, package, pack or feature' }),
  memberRole: Nullable(Type.String({ description: 'the subscriber’s role in its package (mobile, broadband)' })),
  packageId: Nullable(Type.Integer()),
  monthlyFeeFen: Fen,
  minimumSpendFen: Type.Integer({ description: 'R-X-14 monthly minimum spend agreed, fen; 0 for none' }),
  startedAt: Instant,
  endedAt: Nullable(Instant),
  termEndsAt: Nullable(Instant),
  orderId: Nullable(Type.Integer()),
});

const OverviewSubscriber = Type.Object({
  subscriberId: Type.Integer(),
  serviceNumber: Type.String(),
  network: Type.String(),
  status: Type.String(),
  activatedAt: Instant,
  defaultAccountId: Type.Integer(),
  products: Type.Array(OverviewProduct, { description: 'subscribed products now in force, with their monthly fee (for a package member: its member’s share)' }),
});

const OverviewOrder = Type.Object({
  orderId: Type.Integer(),
  businessType: Type.String(),
  status: Type.String(),
  accountId: Nullable(Type.Integer()),
  subscriberId: Nullable(Type.Integer()),
  operatorId: Type.Integer(),
  departmentId: Type.String(),
  createdAt: Instant,
  submittedAt: Nullable(Instant),
  completedAt: Nullable(Instant),
  cancelledAt: Nullable(Instant),
  cancelReason: Nullable(Type.String()),
  confirmation: Nullable(
    Type.Object(
      {
        status: Type.String({ description: 'pending, confirmed, declined, timed_out or cancelled (R-ORD-6)' }),
        serviceNumber: Nullable(Type.String()),
        sentAt: Nullable(Instant),
        expiresAt: Nullable(Instant),
        repliedAt: Nullable(Instant),
        reason: Nullable(Type.String()),
      },
      { description: 'the SMS double confirmation (二次短信确认) and its result' },
    ),
  ),
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
          lines: [{ lineId: 5, subscriberId: 3, serviceNumber: '13602105678', item: 'VOICE_LD', amountFen: 2310, paidFen: 0, openFen: 2310, badDebt: false }],
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
  subscribers: [
    {
      subscriberId: 3,
      serviceNumber: '13602105678',
      network: 'gsm2g',
      status: 'normal',
      activatedAt: '2026-11-15T02:00:00.000Z',
      defaultAccountId: 2,
      products: [
        {
          subscriberOfferId: 7,
          offerCode: 'G2-18',
          name: { zh: '2G 畅聊 18 元套餐', en: '2G talk 18' },
          kind: 'plan',
          memberRole: null,
          packageId: null,
          monthlyFeeFen: 1800,
          minimumSpendFen: 0,
          startedAt: '2026-11-15T02:00:00.000Z',
          endedAt: null,
          termEndsAt: null,
          orderId: 41,
        },
      ],
    },
  ],
  orders: [
    {
      orderId: 41,
      businessType: 'OPEN_ACCOUNT',
      status: 'completed',
      accountId: 2,
      subscriberId: 3,
      operatorId: 2,
      departmentId: 'TJ-130041-H1',
      createdAt: '2026-11-15T02:00:00.000Z',
      submittedAt: '2026-11-15T02:05:00.000Z',
      completedAt: '2026-11-15T02:05:00.000Z',
      cancelledAt: null,
      cancelReason: null,
      confirmation: null,
    },
  ],
  asOf: '2026-11-15T02:00:00.000Z',
};

export const CustomerOverview = Type.Object(
  {
    customer: OverviewCustomer,
    summary: Type.Object({ accounts: Type.Integer(), subscribers: Type.Integer(), usableBalanceFen: Fen, arrearsFen: Fen }),
    accounts: Type.Array(OverviewAccount),
    subscribers: Type.Array(OverviewSubscriber),
    orders: Type.Array(OverviewOrder, { description: `the customer’s newest ${OVERVIEW_ORDERS} orders (order history), newest first; empty without order.read` }),
    asOf: Instant,
  },
  { description: 'Customer 360 (客户视图)', examples: [overviewExample] },
);
export type CustomerOverview = Static<typeof CustomerOverview>;

export interface OverviewDeps {
  db: Db;
  clock: Clock;
  accounts: AccountService;
  catalog: CatalogService;
  orders: OrderService;
}

type Confirmation = NonNullable<CustomerOverview['orders'][number]['confirmation']>;

/** The stored confirmation state (R-ORD-6) as the 360 shows it. */
function confirmationView(c: unknown): Confirmation | null {
  if (c === null || typeof c !== 'object') return null;
  const r = c as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return { status: str(r.status) ?? 'unknown', serviceNumber: str(r.serviceNumber), sentAt: str(r.sentAt), expiresAt: str(r.expiresAt), repliedAt: str(r.repliedAt), reason: str(r.reason) };
}

const iso = (d: Date | string | null) => (d === null ? null : typeof d === 'string' ? d : d.toISOString());

export async function customerOverview(deps: OverviewDeps, actor: Actor, customerId: number): Promise<CustomerOverview> {
  // the money part is the accounts' read side: the operator needs that permission too
  if (!can(actor, 'account.read')) {
    throw new DomainError('FORBIDDEN', '工号无此权限：account.read', 'The operator lacks the permission account.read', 403, { permission: 'account.read' });
  }
  const c = await customerRepo.byId(deps.db, customerId);
  if (!c) throw notFound({ zh: '客户', en: 'Customer' }, customerId);
  const whole = can(actor, 'customer.pii');
  const [accountRows, subscriberRows, orderRows] = await Promise.all([
    customerRepo.accountsOf(deps.db, customerId),
    customerRepo.subscribersOf(deps.db, customerId),
    // the order history is the orders' read side: shown to an operator who may read orders
    can(actor, 'order.read') ? deps.orders.list(actor, { customerId, limit: OVERVIEW_ORDERS }) : Promise.resolve([]),
  ]);
  const subscriptions = await deps.catalog.subscriptions(subscriberRows.map((s) => s.subscriber_id));
  const offers = await deps.catalog.offers(subscriptions.map((p) => p.offerCode));
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
      products: subscriptions
        .filter((p) => p.subscriberId === s.subscriber_id)
        .map((p) => {
          const offer = offers.get(p.offerCode);
          return {
            subscriberOfferId: p.subscriberOfferId,
            offerCode: p.offerCode,
            name: p.name,
            kind: p.kind,
            memberRole: p.memberRole,
            packageId: p.packageId === null ? null : Number(p.packageId),
            // a package member pays its own role's share (e9-C: mobile 19, broadband 50)
            monthlyFeeFen: offer ? monthlyFeeFen(offer, p.memberRole ?? undefined) : 0,
            minimumSpendFen: p.minimumSpendFen,
            startedAt: iso(p.startedAt) as string,
            endedAt: iso(p.endedAt),
            termEndsAt: iso(p.termEndsAt),
            orderId: p.orderId === null ? null : Number(p.orderId),
          };
        }),
    })),
    orders: orderRows.map((o) => ({
      orderId: o.orderId,
      businessType: o.businessType,
      status: o.status,
      accountId: o.accountId,
      subscriberId: o.subscriberId,
      operatorId: o.operatorId,
      departmentId: o.departmentId,
      createdAt: o.createdAt,
      submittedAt: o.submittedAt,
      completedAt: o.completedAt,
      cancelledAt: o.cancelledAt,
      cancelReason: o.cancelReason,
      confirmation: confirmationView(o.confirmation),
    })),
    asOf: deps.clock.now().toISOString(),
  };
}
