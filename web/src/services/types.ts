// Shapes of the API answers the front desk reads whose OpenAPI schema is an open object with an
// example (the server's views in src/domains/*/service.ts). The customer 360 is typed from the
// generated schema itself.
import type { paths } from './schema.d.ts';
import type { Operator } from './session-store.ts';

export type CustomerOverview = paths['/api/v1/customers/{id}/overview']['get']['responses'][200]['content']['application/json'];
export type OverviewAccount = CustomerOverview['accounts'][number];
export type OverviewBill = OverviewAccount['openBills'][number];
export type PaymentBody = NonNullable<paths['/api/v1/accounts/{id}/payments']['post']['requestBody']>['content']['application/json'];

export interface LoginResult {
  token: string;
  expiresAt: string;
  operator: Operator;
}

export interface Me {
  operatorId: number;
  username: string;
  departmentId: string;
  permissions: string[];
}

export interface ClockView {
  kind: 'real' | 'simulated';
  now: string;
  frozen?: boolean;
}

/** A customer in a search list: ID and phone numbers masked (R-CUS-2). */
export interface CustomerSummary {
  customerId: number;
  kind: 'person' | 'organisation';
  name: string;
  idType: string;
  idNumber: string;
  masked: boolean;
  address: string | null;
  contactPhone: string | null;
  segment: string;
  vipLevel: string;
  valueLevel: number;
}

export interface Subscriber {
  subscriberId: number;
  serviceNumber: string;
  network: string;
  customerId: number;
  defaultAccountId: number;
  status: string;
  activatedAt: string;
  sameNumber: Omit<Subscriber, 'sameNumber'>[];
}

export interface Account {
  accountId: number;
  customerId: number;
  name: string;
  billingType: string;
  paymentMethod: string;
  status: string;
  creditLimitFen: number;
  subscribers: { subscriberId: number; serviceNumber: string; network: string; status: string }[];
}

export interface Book {
  bookId: number;
  bookType: string;
  amountFen: number;
  balanceFen: number;
  restrictedItems: string[] | null;
  subscriberId: number | null;
  startAt: string;
  expiryAt: string | null;
  status?: string;
}

export interface Balance {
  accountId: number;
  billingType: string;
  books: Book[];
  openBills: OverviewBill[];
  usableBalanceFen: number;
  arrearsFen: number;
  creditLimitFen: number;
  realtimeBalanceFen: number;
  asOf: string;
}

export interface PaymentResult {
  payment: { paymentId: number; accountId: number; amountFen: number; bookType: string; bookId: number; channel: string; createdAt?: string };
  writeOffs: { lineId: number; bookId: number; amountFen: number }[];
  books: Book[];
  replayed: boolean;
}

export interface BookType {
  code: string;
  nameZh: string;
  nameEn: string;
  priority: number;
}

export interface BillItem {
  code: string;
  nameZh: string;
  nameEn: string;
  priority: number;
}
