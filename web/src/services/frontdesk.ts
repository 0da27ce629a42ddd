// Typed service functions the pages call; each is one public API call (STYLE: pages → services).
import { call, client } from './api.ts';
import type { paths } from './schema.d.ts';
import type { Account, Balance, BillItem, BookType, ClockView, CustomerOverview, CustomerSummary, LoginResult, Me, PaymentBody, PaymentResult, Subscriber } from './types.ts';

export const login = (username: string, password: string) => call(client.POST('/api/v1/auth/login', { body: { username, password } })) as Promise<unknown> as Promise<LoginResult>;

export const logout = () => call(client.POST('/api/v1/auth/logout', {}));

export const me = () => call(client.GET('/api/v1/auth/me')) as Promise<unknown> as Promise<Me>;

export const businessClock = () => call(client.GET('/api/v1/admin/clock')) as Promise<unknown> as Promise<ClockView>;

export async function searchCustomers(q: string): Promise<CustomerSummary[]> {
  const r = (await call(client.GET('/api/v1/customers', { params: { query: { q, limit: 50 } } }))) as { items?: CustomerSummary[] };
  return r.items ?? [];
}

/** 客户登记 (e.g. an agent's walk-in customer before opening an account); the answer is the masked customer. */
export const createCustomer = (body: NonNullable<paths['/api/v1/customers']['post']['requestBody']>['content']['application/json']) =>
  call(client.POST('/api/v1/customers', { body })) as Promise<unknown> as Promise<CustomerSummary>;

export const customerOverview = (id: number): Promise<CustomerOverview> => call(client.GET('/api/v1/customers/{id}/overview', { params: { path: { id } } }));

export const subscriberByNumber = (serviceNumber: string) =>
  call(client.GET('/api/v1/subscribers/{serviceNumber}', { params: { path: { serviceNumber } } })) as Promise<unknown> as Promise<Subscriber>;

export const account = (id: number) => call(client.GET('/api/v1/accounts/{id}', { params: { path: { id } } })) as Promise<unknown> as Promise<Account>;

export const balance = (id: number) => call(client.GET('/api/v1/accounts/{id}/balance', { params: { path: { id } } })) as Promise<unknown> as Promise<Balance>;

export const pay = (accountId: number, body: PaymentBody) =>
  call(client.POST('/api/v1/accounts/{id}/payments', { params: { path: { id: accountId } }, body })) as Promise<unknown> as Promise<PaymentResult>;

// configuration: read once per page load
let bookTypesP: Promise<BookType[]> | undefined;
let billItemsP: Promise<BillItem[]> | undefined;

export function bookTypes(): Promise<BookType[]> {
  bookTypesP ??= call(client.GET('/api/v1/reference/book-types')).then((r) => ((r as { items?: BookType[] }).items ?? []));
  bookTypesP.catch(() => (bookTypesP = undefined));
  return bookTypesP;
}

export function billItems(): Promise<BillItem[]> {
  billItemsP ??= call(client.GET('/api/v1/reference/bill-items')).then((r) => ((r as { items?: BillItem[] }).items ?? []));
  billItemsP.catch(() => (billItemsP = undefined));
  return billItemsP;
}
