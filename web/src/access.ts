// What the logged-in operator may do, from its permissions (GET /auth/me); the menu and the
// pages show only what the server would allow (the server checks again on every call).
export interface Access {
  /** 工作台: customer search and the customer 360. */
  customers: boolean;
  /** Account money: balances, bills, write-offs. */
  accounts: boolean;
  /** 缴费. */
  payment: boolean;
}

export function access(permissions: ReadonlySet<string>): Access {
  const has = (p: string) => permissions.has('*') || permissions.has(p);
  return { customers: has('customer.read'), accounts: has('account.read'), payment: has('payment.create') && has('account.read') };
}
