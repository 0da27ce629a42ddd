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
  /** 库存总览 and card history (SPEC §10; lists are scoped to the operator's department). */
  stock: boolean;
  /** 调拨: create and approve transfers (R-RES-1). */
  stockTransfer: boolean;
  /** 代理商领卡/退卡 (R-RES-2, R-RES-3). */
  stockPick: boolean;
  /** 社会渠道开户 with on-site card writing (R-RES-4, R-RES-5). */
  cardWrite: boolean;
  /** 事件投递: the outbox relay's events and dead letters (R-INT-1). */
  outbox: boolean;
  /** Retry a dead letter. */
  outboxRetry: boolean;
  /** 出帐管理: bill runs, their progress and review (R-BIL-7, R-BIL-9). */
  billRuns: boolean;
  /** Start a bill run and bill single accounts again. */
  billRunStart: boolean;
  /** 正式出帐 (publish a pre-bill). */
  billRunPublish: boolean;
  /** 详单/用量 of a subscriber. */
  usage: boolean;
  /** 信控队列 and an account's credit standing. */
  credit: boolean;
  /** 信用特殊开机 (R-X-2). */
  creditReopen: boolean;
  /** 捆绑业务: the 360's bundle panel and the monthly grant report (SPEC §8). */
  bundles: boolean;
  /** Run the monthly bundle grants again (R-BND-7). */
  bundleGrant: boolean;
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
    stock: has('stock.read'),
    stockTransfer: has('stock.read') && has('stock.transfer'),
    stockPick: has('stock.read') && has('stock.pick'),
    cardWrite: has('card.write') && has('order.create') && has('order.read') && has('customer.read') && has('account.read'),
    outbox: has('outbox.read'),
    outboxRetry: has('outbox.read') && has('outbox.retry'),
    billRuns: has('billrun.read'),
    billRunStart: has('billrun.read') && has('billrun.run'),
    billRunPublish: has('billrun.read') && has('billrun.publish'),
    usage: has('usage.read'),
    credit: has('credit.read'),
    creditReopen: has('credit.read') && has('credit.reopen'),
    bundles: has('bundle.read'),
    bundleGrant: has('bundle.read') && has('bundle.grant'),
  };
}
