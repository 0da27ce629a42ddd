// The write-off order (销账顺序): pure rules, no I/O. R-ACC-1..5, R-ACC-11, R-X-5, R-X-6, R-X-7.
import { cycleOf } from '../../platform/clock.ts';
import { type Fen, prorate } from '../../platform/money.ts';
import type { BillingType } from '../../platform/schema.ts';

export interface BookState {
  bookId: number;
  bookType: string;
  /** R-ACC-1: position of the book type in the configured order (lowest first). */
  typePriority: number;
  /** R-X-6: false for gift and allocation books. */
  paysEarlierCycles: boolean;
  /** R-X-6: items this book type may never pay. */
  excludedItems: readonly string[];
  restrictedItems: readonly string[] | null;
  subscriberId: number | null;
  startAt: Date;
  expiryAt: Date | null;
  balanceFen: Fen;
}

export interface LineState {
  lineId: number;
  cycle: string;
  subscriberId: number;
  itemCode: string;
  /** R-X-5: item priority within a cycle (lowest first). */
  itemPriority: number;
  /** R-ACC-11: the billing type of the subscriber's own account. */
  billingType: BillingType;
  openFen: Fen;
  /** R-X-7: a LATE_FEE line names the principal line it was charged for. */
  principalLineId?: number | null | undefined;
}

/** R-X-5: a customer may ask to pay chosen subscribers, cycles or items first. */
export interface PayFirst {
  subscriberIds?: readonly number[] | undefined;
  cycles?: readonly string[] | undefined;
  items?: readonly string[] | undefined;
}

export interface Allocation {
  lineId: number;
  bookId: number;
  amountFen: Fen;
}

const BILLING_TYPE_RANK: Record<BillingType, number> = { virtual: 0, quota: 1, monthly: 2 };

/** R-ACC-1: restricted to items or to one subscriber. */
export function isPrivate(b: BookState): boolean {
  return (b.restrictedItems !== null && b.restrictedItems.length > 0) || b.subscriberId !== null;
}

/** R-ACC-1/R-ACC-2: a total, deterministic order of books. */
export function compareBooks(a: BookState, b: BookState): number {
  const pa = isPrivate(a) ? 0 : 1;
  const pb = isPrivate(b) ? 0 : 1;
  if (pa !== pb) return pa - pb;
  if (a.typePriority !== b.typePriority) return a.typePriority - b.typePriority;
  // R-ACC-2: earlier expiry first; an empty expiry counts as infinitely late
  const ea = a.expiryAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const eb = b.expiryAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea < eb ? -1 : 1;
  const sa = a.startAt.getTime();
  const sb = b.startAt.getTime();
  if (sa !== sb) return sa - sb;
  return a.bookId - b.bookId;
}

/** R-ACC-4: usable only inside its validity window at the moment of write-off. */
export function isUsable(b: BookState, now: Date): boolean {
  const t = now.getTime();
  return b.balanceFen > 0 && b.startAt.getTime() <= t && (b.expiryAt === null || t < b.expiryAt.getTime());
}

/** R-ACC-3 and R-X-6: may this book pay this line at all? */
export function mayPay(b: BookState, l: LineState): boolean {
  if (b.restrictedItems !== null && b.restrictedItems.length > 0 && !b.restrictedItems.includes(l.itemCode)) return false;
  if (b.subscriberId !== null && b.subscriberId !== l.subscriberId) return false;
  if (b.excludedItems.includes(l.itemCode)) return false;
  if (!b.paysEarlierCycles && l.cycle < cycleOf(b.startAt)) return false;
  return true;
}

function matchesPayFirst(l: LineState, f: PayFirst | undefined): boolean {
  if (!f) return false;
  const any = (f.subscriberIds?.length ?? 0) + (f.cycles?.length ?? 0) + (f.items?.length ?? 0) > 0;
  if (!any) return false;
  return (
    (!f.subscriberIds?.length || f.subscriberIds.includes(l.subscriberId)) &&
    (!f.cycles?.length || f.cycles.includes(l.cycle)) &&
    (!f.items?.length || f.items.includes(l.itemCode))
  );
}

/** R-X-5 oldest cycle first then item priority; R-ACC-11 virtual, quota, monthly first; requested lines before all. */
export function compareLines(a: LineState, b: LineState, payFirst?: PayFirst): number {
  const fa = matchesPayFirst(a, payFirst) ? 0 : 1;
  const fb = matchesPayFirst(b, payFirst) ? 0 : 1;
  if (fa !== fb) return fa - fb;
  const ra = BILLING_TYPE_RANK[a.billingType];
  const rb = BILLING_TYPE_RANK[b.billingType];
  if (ra !== rb) return ra - rb;
  if (a.cycle !== b.cycle) return a.cycle < b.cycle ? -1 : 1;
  if (a.itemPriority !== b.itemPriority) return a.itemPriority - b.itemPriority;
  return a.lineId - b.lineId;
}

export interface WriteOffResult {
  allocations: Allocation[];
  /** Balances after the write-off, by book id (only books that changed). */
  bookBalances: Map<number, Fen>;
  /** Open amounts after the write-off, by line id (only lines that changed). */
  lineOpen: Map<number, Fen>;
}

/**
 * R-X-7: `amount` split over `parts` in proportion, each share rounded half-up on the running total
 * so that the shares add up to `amount` exactly (no fen lost) and none exceeds its part when
 * `amount` is below their sum. The first part (the principal) gets exactly its half-up share.
 */
export function splitInProportion(amount: Fen, parts: readonly Fen[]): Fen[] {
  const total = parts.reduce((s, p) => s + p, 0);
  if (total <= 0) return parts.map(() => 0);
  let cumulative = 0;
  let given = 0;
  return parts.map((p) => {
    cumulative += p;
    const upTo = prorate(amount, cumulative, total);
    const share = upTo - given;
    given = upTo;
    return share;
  });
}

/**
 * R-X-7: lines paid as one unit: a principal line with the open late-fee lines charged for it
 * (principal first, then the fees in line order). A late fee whose principal is paid, and every
 * other line, is a unit of its own. Units keep the position of their earliest member.
 */
function paymentUnits(orderedLines: readonly LineState[]): LineState[][] {
  const open = new Map(orderedLines.map((l) => [l.lineId, l]));
  const rootOf = (l: LineState): LineState => {
    const p = l.principalLineId == null ? undefined : open.get(l.principalLineId);
    // only one level: a principal that is itself a late fee of an open line does not chain
    return p && p.lineId !== l.lineId && (p.principalLineId == null || !open.has(p.principalLineId)) ? p : l;
  };
  const members = new Map<number, LineState[]>();
  const units: LineState[][] = [];
  for (const l of orderedLines) {
    const root = rootOf(l);
    let unit = members.get(root.lineId);
    if (!unit) {
      unit = [root];
      members.set(root.lineId, unit);
      units.push(unit);
    }
    if (root !== l) unit.push(l);
  }
  return units;
}

/**
 * R-ACC-5: takes the books in R-ACC-1/2 order; each book pays the open lines it may pay in
 * line order; what no usable book can pay stays open as arrears. R-X-7: a principal and its late
 * fees are paid together: a book that cannot pay all of what it may pay of them splits its money
 * in proportion; one that can pays the principal first. Inputs are not modified.
 */
export function writeOff(books: readonly BookState[], lines: readonly LineState[], now: Date, payFirst?: PayFirst): WriteOffResult {
  const orderedBooks = books.filter((b) => isUsable(b, now)).sort(compareBooks);
  const orderedLines = lines.filter((l) => l.openFen > 0).sort((a, b) => compareLines(a, b, payFirst));
  const units = paymentUnits(orderedLines);
  const open = new Map(orderedLines.map((l) => [l.lineId, l.openFen]));
  const allocations: Allocation[] = [];
  const bookBalances = new Map<number, Fen>();
  const lineOpen = new Map<number, Fen>();
  const pay = (book: BookState, line: LineState, amount: Fen) => {
    const remaining = open.get(line.lineId) ?? 0;
    open.set(line.lineId, remaining - amount);
    lineOpen.set(line.lineId, remaining - amount);
    allocations.push({ lineId: line.lineId, bookId: book.bookId, amountFen: amount });
  };
  for (const book of orderedBooks) {
    let balance = book.balanceFen;
    for (const unit of units) {
      if (balance === 0) break;
      const payable = unit.filter((l) => (open.get(l.lineId) ?? 0) > 0 && mayPay(book, l));
      if (payable.length === 0) continue;
      const owed = payable.map((l) => open.get(l.lineId) ?? 0);
      const total = owed.reduce((s, x) => s + x, 0);
      // R-X-7: enough for all of it → principal first; otherwise in proportion
      const shares = payable.length === 1 || balance >= total ? owed.map((x) => x) : splitInProportion(balance, owed);
      payable.forEach((l, i) => {
        const amount = Math.min(shares[i] ?? 0, balance);
        if (amount <= 0) return;
        balance -= amount;
        pay(book, l, amount);
      });
    }
    if (balance !== book.balanceFen) bookBalances.set(book.bookId, balance);
  }
  return { allocations, bookBalances, lineOpen };
}

/**
 * Every line and book a write-off draws on must exist (R-ACC-6): the writers update each one by its key and
 * compare the rows found with the distinct lines and books written off (migration 0018: this stands for the
 * foreign keys of write_offs). Throws, so the transaction is rolled back, when one is missing.
 */
export function checkWriteOffTargets(allocations: readonly { lineId: number; bookId: number; accountId?: number }[], found: { lines: number; books: number } | undefined): void {
  const lines = new Set(allocations.map((a) => `${a.accountId ?? ''}/${a.lineId}`)).size;
  const books = new Set(allocations.map((a) => `${a.accountId ?? ''}/${a.bookId}`)).size;
  if (!found || Number(found.lines) !== lines || Number(found.books) !== books) {
    throw new Error(`write-off of ${lines} line(s) and ${books} book(s) found ${found?.lines ?? 0} and ${found?.books ?? 0}: a line or book does not exist`);
  }
}
