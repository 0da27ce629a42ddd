// The write-off order (销账顺序): pure rules, no I/O. R-ACC-1..5, R-ACC-11, R-X-5, R-X-6.
import { cycleOf } from '../../platform/clock.ts';
import type { Fen } from '../../platform/money.ts';
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
 * R-ACC-5: takes the books in R-ACC-1/2 order; each book pays the open lines it may pay in
 * line order; what no usable book can pay stays open as arrears. Inputs are not modified.
 */
export function writeOff(books: readonly BookState[], lines: readonly LineState[], now: Date, payFirst?: PayFirst): WriteOffResult {
  const orderedBooks = books.filter((b) => isUsable(b, now)).sort(compareBooks);
  const orderedLines = lines.filter((l) => l.openFen > 0).sort((a, b) => compareLines(a, b, payFirst));
  const open = new Map(orderedLines.map((l) => [l.lineId, l.openFen]));
  const allocations: Allocation[] = [];
  const bookBalances = new Map<number, Fen>();
  const lineOpen = new Map<number, Fen>();
  for (const book of orderedBooks) {
    let balance = book.balanceFen;
    for (const line of orderedLines) {
      if (balance === 0) break;
      const remaining = open.get(line.lineId) ?? 0;
      if (remaining === 0 || !mayPay(book, line)) continue;
      const amount = Math.min(remaining, balance);
      balance -= amount;
      open.set(line.lineId, remaining - amount);
      lineOpen.set(line.lineId, remaining - amount);
      allocations.push({ lineId: line.lineId, bookId: book.bookId, amountFen: amount });
    }
    if (balance !== book.balanceFen) bookBalances.set(book.bookId, balance);
  }
  return { allocations, bookBalances, lineOpen };
}
