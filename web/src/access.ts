// What the logged-in operator may do, from its permissions (GET /auth/me); the menu and the
// pages show only what the server would allow (the server checks again on every call).
export interface Access {
  /** 工作台: customer search and the customer 360. */
  customers: boolean;
  /** Account money: balances, bills, write-offs. */
  accounts: boolean;
  /** 缴费. */
  payment: boolean;
  /** 受理: the order wizard. */
  orders: boolean;
  /** Order history and work orders (read). */
  orderRead: boolean;
  /** 费用减免 on the quote step (R-ORD-2). */
  waive: boolean;
  /** 工单竣工. */
  completeWorkOrder: boolean;
}

export function access(permissions: ReadonlySet<string>): Access {
  const has = (p: string) => permissions.has('*') || permissions.has(p);
  return {
    customers: has('customer.read'),
    accounts: has('account.read'),
    payment: has('payment.create') && has('account.read'),
    // the wizard reads the customer 360 and the catalog to fill its forms
    orders: has('order.create') && has('order.read') && has('customer.read') && has('account.read'),
    orderRead: has('order.read'),
    waive: has('order.waive'),
    completeWorkOrder: has('workorder.complete'),
  };
}
