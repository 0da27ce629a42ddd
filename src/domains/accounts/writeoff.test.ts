// Unit tests for the write-off order (销账顺序): R-ACC-1..5, R-ACC-11, R-X-5, R-X-6. No database.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { BillingType } from '../../platform/schema.ts';
import {
  compareBooks,
  compareLines,
  isPrivate,
  isUsable,
  mayPay,
  splitInProportion,
  writeOff,
  type Allocation,
  type BookState,
  type LineState,
  type PayFirst,
  type WriteOffResult,
} from './writeoff.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------------------------

/** R-ACC-1 default book-type order, lowest first (priorities 1..10). */
const TYPE_ORDER = [
  'discount',
  'restricted_fund',
  'ota_topup',
  'bank_collection',
  'scratch_card',
  'recharge_card',
  'prepaid',
  'cash',
  'prestore_gift',
  'bank_deduction',
] as const;

const TYPE_PRIORITY: Record<string, number> = Object.fromEntries(TYPE_ORDER.map((t, i) => [t, i + 1]));

/** The moment of write-off: 2026-11-20 12:00 in Asia/Shanghai. */
const NOW = new Date('2026-11-20T12:00:00+08:00');
const MS_DAY = 24 * 3600 * 1000;

function at(iso: string): Date {
  return new Date(iso);
}

function book(bookId: number, over: Partial<BookState> = {}): BookState {
  const bookType = over.bookType ?? 'cash';
  return {
    bookId,
    bookType,
    typePriority: TYPE_PRIORITY[bookType] ?? 8,
    paysEarlierCycles: true,
    excludedItems: [],
    restrictedItems: null,
    subscriberId: null,
    startAt: at('2026-01-01T00:00:00+08:00'),
    expiryAt: null,
    balanceFen: 0,
    ...over,
  };
}

function line(lineId: number, over: Partial<LineState> = {}): LineState {
  return {
    lineId,
    cycle: '2026-10',
    subscriberId: 1,
    itemCode: 'RENT_PLAN',
    itemPriority: 1,
    billingType: 'monthly',
    openFen: 0,
    ...over,
  };
}

function a(bookId: number, lineId: number, amountFen: number): Allocation {
  return { lineId, bookId, amountFen };
}

function sum(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object' && !(x instanceof Date) && !Object.isFrozen(x)) {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

/** Final balance of every book (unchanged books keep their input balance). */
function balancesAfter(books: readonly BookState[], res: WriteOffResult): Map<number, number> {
  return new Map(books.map((b) => [b.bookId, res.bookBalances.get(b.bookId) ?? b.balanceFen]));
}

/** Final open amount of every line (unchanged lines keep their input open amount). */
function openAfter(lines: readonly LineState[], res: WriteOffResult): Map<number, number> {
  return new Map(lines.map((l) => [l.lineId, res.lineOpen.get(l.lineId) ?? l.openFen]));
}

/**
 * Checks the bookkeeping invariants every write-off must keep: integer positive allocations,
 * sum(allocations) == sum(book balance decrease) == sum(line open decrease), per book and per line,
 * no negative balances or open amounts, and the result maps list exactly the changed rows.
 */
function expectConserved(books: readonly BookState[], lines: readonly LineState[], res: WriteOffResult): void {
  const byBook = new Map<number, number>();
  const byLine = new Map<number, number>();
  for (const al of res.allocations) {
    expect(Number.isSafeInteger(al.amountFen)).toBe(true);
    expect(al.amountFen).toBeGreaterThan(0);
    byBook.set(al.bookId, (byBook.get(al.bookId) ?? 0) + al.amountFen);
    byLine.set(al.lineId, (byLine.get(al.lineId) ?? 0) + al.amountFen);
  }
  const total = sum(res.allocations.map((x) => x.amountFen));
  const bookDecrease = sum(books.map((b) => b.balanceFen - (res.bookBalances.get(b.bookId) ?? b.balanceFen)));
  const lineDecrease = sum(lines.map((l) => l.openFen - (res.lineOpen.get(l.lineId) ?? l.openFen)));
  expect(bookDecrease).toBe(total);
  expect(lineDecrease).toBe(total);
  for (const b of books) {
    const after = res.bookBalances.get(b.bookId);
    if (after !== undefined) {
      expect(after).toBeGreaterThanOrEqual(0);
      expect(b.balanceFen - after).toBe(byBook.get(b.bookId) ?? 0);
    }
  }
  for (const l of lines) {
    const after = res.lineOpen.get(l.lineId);
    if (after !== undefined) {
      expect(after).toBeGreaterThanOrEqual(0);
      expect(l.openFen - after).toBe(byLine.get(l.lineId) ?? 0);
    }
  }
  expect([...res.bookBalances.keys()].sort((x, y) => x - y)).toEqual([...byBook.keys()].sort((x, y) => x - y));
  expect([...res.lineOpen.keys()].sort((x, y) => x - y)).toEqual([...byLine.keys()].sort((x, y) => x - y));
}

/** Runs a write-off on deep-frozen inputs at NOW, checks invariants and non-mutation, returns the result. */
function run(books: BookState[], lines: LineState[], payFirst?: PayFirst, now: Date = NOW): WriteOffResult {
  const booksBefore = structuredClone(books);
  const linesBefore = structuredClone(lines);
  const res = writeOff(deepFreeze(books), deepFreeze(lines), now, payFirst === undefined ? undefined : deepFreeze(payFirst));
  expect(books).toEqual(booksBefore);
  expect(lines).toEqual(linesBefore);
  expectConserved(books, lines, res);
  return res;
}

/** Deterministic PRNG (mulberry32) so shuffles are reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: readonly T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}

function bookIdsInOrder(books: readonly BookState[]): number[] {
  return [...books].sort(compareBooks).map((b) => b.bookId);
}

// ---------------------------------------------------------------------------------------------
// R-ACC-1 private books first, then the book-type order
// ---------------------------------------------------------------------------------------------

describe('R-ACC-1 private before public, then book-type order', () => {
  test('R-ACC-1 isPrivate: restricted to items or to one subscriber is private; no or empty restriction is public', () => {
    expect(isPrivate(book(1))).toBe(false);
    expect(isPrivate(book(1, { restrictedItems: [] }))).toBe(false);
    expect(isPrivate(book(1, { restrictedItems: ['RENT_PLAN'] }))).toBe(true);
    expect(isPrivate(book(1, { subscriberId: 7 }))).toBe(true);
    expect(isPrivate(book(1, { restrictedItems: ['DATA'], subscriberId: 7 }))).toBe(true);
    // excluded items (R-X-6) do not make a book private
    expect(isPrivate(book(1, { excludedItems: ['VOICE_ROAM'] }))).toBe(false);
  });

  test('R-ACC-1 an item-restricted cash book pays before a public discount book although discount has the lower type priority', () => {
    const books = [book(1, { bookType: 'discount', balanceFen: 1000 }), book(2, { bookType: 'cash', restrictedItems: ['RENT_PLAN'], balanceFen: 1000 })];
    const res = run(books, [line(10, { openFen: 300 })]);
    expect(res.allocations).toEqual([a(2, 10, 300)]);
    expect(res.bookBalances).toEqual(new Map([[2, 700]]));
  });

  test('R-ACC-1 a subscriber-bound bank_deduction book pays before a public discount book', () => {
    const books = [book(1, { bookType: 'discount', balanceFen: 1000 }), book(2, { bookType: 'bank_deduction', subscriberId: 1, balanceFen: 100 })];
    const res = run(books, [line(10, { subscriberId: 1, openFen: 300 })]);
    expect(res.allocations).toEqual([a(2, 10, 100), a(1, 10, 200)]);
    expect(compareBooks(books[1] as BookState, books[0] as BookState)).toBeLessThan(0);
  });

  test('R-ACC-1 private-first keeps restricted money from being stranded while public money pays what it could have paid', () => {
    // Without private-first the public discount (priority 1) would pay RENT_PLAN and the
    // restricted fund could not pay DATA, leaving DATA in arrears with money on the account.
    const books = [
      book(1, { bookType: 'discount', balanceFen: 100 }),
      book(2, { bookType: 'restricted_fund', restrictedItems: ['RENT_PLAN'], balanceFen: 100 }),
    ];
    const lines = [line(10, { itemCode: 'RENT_PLAN', itemPriority: 1, openFen: 100 }), line(11, { itemCode: 'DATA', itemPriority: 2, openFen: 100 })];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(2, 10, 100), a(1, 11, 100)]);
    expect(openAfter(lines, res)).toEqual(new Map([[10, 0], [11, 0]]));
  });

  test('R-ACC-1 public books are taken in type order discount, restricted_fund, ..., bank_deduction (priorities 1..10)', () => {
    const ids = TYPE_ORDER.map((_, i) => 100 - i); // ids descending so bookId cannot explain the order
    const books = shuffle(
      TYPE_ORDER.map((t, i) => book(ids[i] ?? 0, { bookType: t, balanceFen: 10 })),
      prng(1),
    );
    expect(books.map((b) => b.typePriority).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const res = run(books, [line(10, { openFen: 1000 })]);
    expect(res.allocations.map((x) => x.bookId)).toEqual(ids);
    expect(res.allocations.every((x) => x.amountFen === 10)).toBe(true);
    expect(openAfter([line(10, { openFen: 1000 })], res).get(10)).toBe(900);
  });

  test('R-ACC-1 private books (item-restricted and subscriber-bound mixed) are taken in the same type order among themselves', () => {
    const ids = TYPE_ORDER.map((_, i) => 50 - i);
    const privates = TYPE_ORDER.map((t, i) =>
      book(ids[i] ?? 0, { bookType: t, balanceFen: 10, ...(i % 2 === 0 ? { restrictedItems: ['RENT_PLAN', 'DATA'] } : { subscriberId: 1 }) }),
    );
    const publics = TYPE_ORDER.map((t, i) => book(200 + i, { bookType: t, balanceFen: 10 }));
    const books = shuffle([...privates, ...publics], prng(2));
    const res = run(books, [line(10, { openFen: 150 })]);
    // all ten private books first in type order, then the public ones in type order
    expect(res.allocations.map((x) => x.bookId)).toEqual([...ids, 200, 201, 202, 203, 204]);
  });

  test('R-ACC-1 class beats type, type beats expiry: compareBooks orders private < public, then typePriority, then expiry', () => {
    const publicDiscount = book(1, { bookType: 'discount', expiryAt: at('2026-12-01T00:00:00+08:00') });
    const privateCash = book(2, { bookType: 'cash', subscriberId: 1, expiryAt: null });
    const publicCashSoon = book(3, { bookType: 'cash', expiryAt: at('2026-11-25T00:00:00+08:00') });
    const publicDiscountLate = book(4, { bookType: 'discount', expiryAt: null });
    expect(bookIdsInOrder([publicCashSoon, publicDiscountLate, publicDiscount, privateCash])).toEqual([2, 1, 4, 3]);
  });
});

// ---------------------------------------------------------------------------------------------
// R-ACC-2 order among books of the same type
// ---------------------------------------------------------------------------------------------

describe('R-ACC-2 same-type order: expiry, start, id; deterministic', () => {
  test('R-ACC-2 earlier expiry pays first', () => {
    const books = [
      book(1, { startAt: at('2026-01-01T00:00:00+08:00'), expiryAt: at('2027-03-01T00:00:00+08:00'), balanceFen: 100 }),
      book(2, { startAt: at('2026-06-01T00:00:00+08:00'), expiryAt: at('2026-12-31T00:00:00+08:00'), balanceFen: 100 }),
    ];
    const res = run(books, [line(10, { openFen: 150 })]);
    expect(res.allocations).toEqual([a(2, 10, 100), a(1, 10, 50)]);
  });

  test('R-ACC-2 equal expiry: the earlier start date pays first', () => {
    const expiryAt = at('2027-01-01T00:00:00+08:00');
    const books = [
      book(1, { startAt: at('2026-06-01T00:00:00+08:00'), expiryAt, balanceFen: 100 }),
      book(2, { startAt: at('2026-03-01T00:00:00+08:00'), expiryAt, balanceFen: 100 }),
    ];
    const res = run(books, [line(10, { openFen: 150 })]);
    expect(res.allocations).toEqual([a(2, 10, 100), a(1, 10, 50)]);
  });

  test('R-ACC-2 an empty expiry (null) counts as infinitely late and pays last', () => {
    const books = [
      book(1, { startAt: at('2025-01-01T00:00:00+08:00'), expiryAt: null, balanceFen: 100 }),
      book(2, { startAt: at('2026-06-01T00:00:00+08:00'), expiryAt: at('2099-12-31T00:00:00+08:00'), balanceFen: 100 }),
    ];
    const res = run(books, [line(10, { openFen: 150 })]);
    expect(res.allocations).toEqual([a(2, 10, 100), a(1, 10, 50)]);
  });

  test('R-ACC-2 two empty expiries: the earlier start date pays first', () => {
    const books = [
      book(1, { startAt: at('2026-05-01T00:00:00+08:00'), balanceFen: 100 }),
      book(2, { startAt: at('2026-04-01T00:00:00+08:00'), balanceFen: 100 }),
    ];
    expect(bookIdsInOrder(books)).toEqual([2, 1]);
  });

  test('R-ACC-2 equal type, expiry and start: the lower bookId (older book) pays first', () => {
    const books = [book(9, { balanceFen: 100 }), book(4, { balanceFen: 100 })];
    const res = run(books, [line(10, { openFen: 150 })]);
    expect(res.allocations).toEqual([a(4, 10, 100), a(9, 10, 50)]);
  });

  test('R-ACC-2 compareBooks is a total order: antisymmetric, zero only for the same book, transitive', () => {
    const e1 = at('2026-12-31T00:00:00+08:00');
    const s1 = at('2026-02-01T00:00:00+08:00');
    const s2 = at('2026-03-01T00:00:00+08:00');
    const books = [
      book(1, { expiryAt: e1, startAt: s1 }),
      book(2, { expiryAt: e1, startAt: s1 }),
      book(3, { expiryAt: e1, startAt: s2 }),
      book(4, { expiryAt: null, startAt: s1 }),
      book(5, { expiryAt: null, startAt: s2 }),
      book(6, { bookType: 'prepaid', expiryAt: null }),
      book(7, { restrictedItems: ['DATA'] }),
      book(8, { subscriberId: 2, bookType: 'discount' }),
    ];
    for (const x of books) {
      for (const y of books) {
        const c = compareBooks(x, y);
        if (x === y) expect(c).toBe(0);
        else {
          expect(c).not.toBe(0);
          expect(Math.sign(c)).toBe(-Math.sign(compareBooks(y, x)));
        }
        for (const z of books) {
          if (c < 0 && compareBooks(y, z) < 0) expect(compareBooks(x, z)).toBeLessThan(0);
        }
      }
    }
    expect(bookIdsInOrder(books)).toEqual([8, 7, 6, 1, 2, 3, 4, 5]);
  });

  test('R-ACC-2 determinism: the same books and lines in any input order give the same allocations', () => {
    const e = at('2026-12-31T00:00:00+08:00');
    const books = [
      book(1, { balanceFen: 70, expiryAt: e }),
      book(2, { balanceFen: 70, expiryAt: e }),
      book(3, { balanceFen: 70 }),
      book(4, { balanceFen: 70, bookType: 'prepaid' }),
      book(5, { balanceFen: 70, startAt: at('2026-02-01T00:00:00+08:00') }),
      book(6, { balanceFen: 70, restrictedItems: ['DATA'] }),
      book(7, { balanceFen: 70, subscriberId: 2 }),
      book(8, { balanceFen: 70, bookType: 'prestore_gift', paysEarlierCycles: false, startAt: at('2026-10-05T00:00:00+08:00') }),
    ];
    const lines = [
      line(10, { openFen: 90, cycle: '2026-09' }),
      line(11, { openFen: 90, cycle: '2026-10', itemCode: 'DATA', itemPriority: 3 }),
      line(12, { openFen: 90, cycle: '2026-10', subscriberId: 2 }),
      line(13, { openFen: 90, cycle: '2026-10', itemCode: 'SMS', itemPriority: 3 }),
      line(14, { openFen: 90, cycle: '2026-11', billingType: 'quota' }),
      line(15, { openFen: 90, cycle: '2026-08', billingType: 'virtual', subscriberId: 2 }),
      line(16, { openFen: 90, cycle: '2026-10', itemCode: 'SMS', itemPriority: 3 }),
    ];
    const reference = run(books, lines);
    expect(reference.allocations.length).toBeGreaterThan(0);
    const rnd = prng(42);
    for (let i = 0; i < 50; i++) {
      const res = run(shuffle(books, rnd), shuffle(lines, rnd));
      expect(res.allocations).toEqual(reference.allocations);
      expect(res.bookBalances).toEqual(reference.bookBalances);
      expect(res.lineOpen).toEqual(reference.lineOpen);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// R-ACC-3 restrictions
// ---------------------------------------------------------------------------------------------

describe('R-ACC-3 a book pays only what its restriction allows', () => {
  test('R-ACC-3 a restricted fund never pays other items: they stay open although the fund still has balance', () => {
    const books = [book(1, { bookType: 'restricted_fund', restrictedItems: ['RENT_PLAN'], balanceFen: 1000 })];
    const lines = [
      line(10, { itemCode: 'DATA', itemPriority: 1, openFen: 200 }),
      line(11, { itemCode: 'RENT_PLAN', itemPriority: 2, openFen: 100 }),
      line(12, { itemCode: 'VOICE_LOCAL', itemPriority: 3, openFen: 50 }),
    ];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(1, 11, 100)]);
    expect(res.bookBalances).toEqual(new Map([[1, 900]]));
    expect(openAfter(lines, res)).toEqual(new Map([[10, 200], [11, 0], [12, 50]]));
  });

  test('R-ACC-3 a fund restricted to several items pays exactly those items', () => {
    const books = [book(1, { bookType: 'restricted_fund', restrictedItems: ['RENT_PLAN', 'RENT_BB'], balanceFen: 1000 })];
    const lines = [
      line(10, { itemCode: 'RENT_BB', openFen: 200 }),
      line(11, { itemCode: 'RENT_PLAN', openFen: 100 }),
      line(12, { itemCode: 'RENT_BB_ADJ', openFen: 50 }),
    ];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(1, 10, 200), a(1, 11, 100)]);
    expect(res.lineOpen.has(12)).toBe(false);
  });

  test('R-ACC-3 the other items are left for public books', () => {
    const books = [
      book(1, { bookType: 'restricted_fund', restrictedItems: ['RENT_PLAN'], balanceFen: 1000 }),
      book(2, { bookType: 'cash', balanceFen: 150 }),
    ];
    const lines = [line(10, { itemCode: 'DATA', openFen: 200 }), line(11, { itemCode: 'RENT_PLAN', itemPriority: 2, openFen: 100 })];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(1, 11, 100), a(2, 10, 150)]);
    expect(openAfter(lines, res)).toEqual(new Map([[10, 50], [11, 0]]));
  });

  test('R-ACC-3 a subscriber-bound book pays only that subscriber', () => {
    const books = [book(1, { subscriberId: 7, balanceFen: 1000 })];
    const lines = [
      line(10, { subscriberId: 8, cycle: '2026-08', openFen: 100 }),
      line(11, { subscriberId: 7, cycle: '2026-10', openFen: 100 }),
      line(12, { subscriberId: 9, cycle: '2026-09', openFen: 100 }),
    ];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(1, 11, 100)]);
    expect(openAfter(lines, res)).toEqual(new Map([[10, 100], [11, 0], [12, 100]]));
  });

  test('R-ACC-3 a book both item-restricted and subscriber-bound needs both to match', () => {
    const b = book(1, { restrictedItems: ['DATA'], subscriberId: 7, balanceFen: 1000 });
    expect(mayPay(b, line(1, { subscriberId: 7, itemCode: 'DATA' }))).toBe(true);
    expect(mayPay(b, line(2, { subscriberId: 7, itemCode: 'SMS' }))).toBe(false);
    expect(mayPay(b, line(3, { subscriberId: 8, itemCode: 'DATA' }))).toBe(false);
    const res = run(
      [b],
      [line(1, { subscriberId: 7, itemCode: 'DATA', openFen: 10 }), line(2, { subscriberId: 7, itemCode: 'SMS', openFen: 10 }), line(3, { subscriberId: 8, itemCode: 'DATA', openFen: 10 })],
    );
    expect(res.allocations).toEqual([a(1, 1, 10)]);
  });

  test('R-ACC-3 an empty restriction list means no restriction', () => {
    const b = book(1, { restrictedItems: [], balanceFen: 100 });
    expect(mayPay(b, line(1, { itemCode: 'LATE_FEE' }))).toBe(true);
    const res = run([b], [line(1, { itemCode: 'LATE_FEE', openFen: 40 })]);
    expect(res.allocations).toEqual([a(1, 1, 40)]);
  });
});

// ---------------------------------------------------------------------------------------------
// R-ACC-4 validity window
// ---------------------------------------------------------------------------------------------

describe('R-ACC-4 usable only inside the validity window at the moment of write-off', () => {
  test('R-ACC-4 a book not yet started at now is unused', () => {
    const books = [book(1, { bookType: 'discount', startAt: new Date(NOW.getTime() + 1), balanceFen: 500 }), book(2, { balanceFen: 30 })];
    const lines = [line(10, { openFen: 100 })];
    const res = run(books, lines);
    expect(isUsable(books[0] as BookState, NOW)).toBe(false);
    expect(res.allocations).toEqual([a(2, 10, 30)]);
    expect(res.bookBalances.has(1)).toBe(false);
    expect(openAfter(lines, res).get(10)).toBe(70);
  });

  test('R-ACC-4 a book already expired at now is unused', () => {
    const books = [book(1, { bookType: 'discount', expiryAt: new Date(NOW.getTime() - MS_DAY), balanceFen: 500 })];
    const lines = [line(10, { openFen: 100 })];
    const res = run(books, lines);
    expect(res.allocations).toEqual([]);
    expect(res.bookBalances.size).toBe(0);
    expect(res.lineOpen.size).toBe(0);
  });

  test('R-ACC-4 a book expiring exactly at now is unusable; one millisecond later it is usable', () => {
    const exact = book(1, { expiryAt: NOW, balanceFen: 500 });
    const later = book(2, { expiryAt: new Date(NOW.getTime() + 1), balanceFen: 500 });
    expect(isUsable(exact, NOW)).toBe(false);
    expect(isUsable(later, NOW)).toBe(true);
    const res = run([exact, later], [line(10, { openFen: 100 })]);
    expect(res.allocations).toEqual([a(2, 10, 100)]);
  });

  test('R-ACC-4 a book starting exactly at now is usable', () => {
    const b = book(1, { startAt: NOW, balanceFen: 500 });
    expect(isUsable(b, NOW)).toBe(true);
    expect(isUsable(b, new Date(NOW.getTime() - 1))).toBe(false);
    expect(run([b], [line(10, { openFen: 100 })]).allocations).toEqual([a(1, 10, 100)]);
  });

  test('R-ACC-4 a book with no balance (zero or negative) is not used and not reported', () => {
    const books = [book(1, { balanceFen: 0 }), book(2, { balanceFen: -50 }), book(3, { balanceFen: 10 })];
    expect(isUsable(books[0] as BookState, NOW)).toBe(false);
    expect(isUsable(books[1] as BookState, NOW)).toBe(false);
    const res = run(books, [line(10, { openFen: 100 })]);
    expect(res.allocations).toEqual([a(3, 10, 10)]);
    expect([...res.bookBalances.keys()]).toEqual([3]);
  });

  test('R-ACC-4 usability depends on the now passed in, not on the wall clock', () => {
    const b = book(1, { startAt: at('2030-01-01T00:00:00+08:00'), expiryAt: at('2030-02-01T00:00:00+08:00'), balanceFen: 100 });
    const lines = [line(10, { openFen: 60 })];
    expect(run([b], lines, undefined, at('2030-01-15T00:00:00+08:00')).allocations).toEqual([a(1, 10, 60)]);
    expect(run([b], lines, undefined, at('2030-02-01T00:00:00+08:00')).allocations).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// R-ACC-5 the write-off loop
// ---------------------------------------------------------------------------------------------

describe('R-ACC-5 write-off loop, partial write-off and arrears', () => {
  test('R-ACC-5 partial write-off leaves exact arrears', () => {
    const books = [book(1, { balanceFen: 150 }), book(2, { bookType: 'prepaid', balanceFen: 30 })];
    const lines = [
      line(10, { cycle: '2026-09', openFen: 100 }),
      line(11, { cycle: '2026-10', openFen: 100 }),
      line(12, { cycle: '2026-10', itemCode: 'SMS', itemPriority: 2, openFen: 50 }),
    ];
    const res = run(books, lines);
    // prepaid (7) before cash (8)
    expect(res.allocations).toEqual([a(2, 10, 30), a(1, 10, 70), a(1, 11, 80)]);
    expect(openAfter(lines, res)).toEqual(new Map([[10, 0], [11, 20], [12, 50]]));
    expect(sum(openAfter(lines, res).values())).toBe(250 - 180);
    expect(balancesAfter(books, res)).toEqual(new Map([[1, 0], [2, 0]]));
    expect(res.lineOpen.has(12)).toBe(false); // untouched lines are not reported
  });

  test('R-ACC-5 with no books everything stays open and nothing is reported', () => {
    const lines = [line(10, { openFen: 100 })];
    const res = run([], lines);
    expect(res).toEqual({ allocations: [], bookBalances: new Map(), lineOpen: new Map() });
  });

  test('R-ACC-5 money left over stays on the book when every line is paid', () => {
    const books = [book(1, { balanceFen: 1000 })];
    const lines = [line(10, { openFen: 100 }), line(11, { openFen: 250 })];
    const res = run(books, lines);
    expect(res.bookBalances).toEqual(new Map([[1, 650]]));
    expect(res.lineOpen).toEqual(new Map([[10, 0], [11, 0]]));
  });

  test('R-ACC-5 a book pays the oldest cycle first, then by item priority (R-X-5), then by line id', () => {
    const lines = [
      line(1, { cycle: '2026-10', itemCode: 'DATA', itemPriority: 2, openFen: 10 }),
      line(2, { cycle: '2026-09', itemCode: 'SMS', itemPriority: 5, openFen: 10 }),
      line(3, { cycle: '2026-10', itemCode: 'RENT_PLAN', itemPriority: 1, openFen: 10 }),
      line(4, { cycle: '2026-08', itemCode: 'LATE_FEE', itemPriority: 9, openFen: 10 }),
      line(6, { cycle: '2026-10', itemCode: 'VOICE_LOCAL', itemPriority: 2, openFen: 10 }),
      line(5, { cycle: '2026-10', itemCode: 'VOICE_LD', itemPriority: 2, openFen: 10 }),
      line(7, { cycle: '2025-12', itemCode: 'VAS', itemPriority: 3, openFen: 10 }),
    ];
    const res = run([book(1, { balanceFen: 1000 })], lines);
    expect(res.allocations.map((x) => x.lineId)).toEqual([7, 4, 2, 3, 1, 5, 6]);
  });

  test('R-ACC-5 the book that runs out splits a line; the next book pays the rest of it', () => {
    const books = [book(1, { bookType: 'discount', balanceFen: 250 }), book(2, { balanceFen: 500 })];
    const lines = [line(10, { cycle: '2026-08', openFen: 100 }), line(11, { cycle: '2026-09', openFen: 100 }), line(12, { cycle: '2026-10', openFen: 100 })];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(1, 10, 100), a(1, 11, 100), a(1, 12, 50), a(2, 12, 50)]);
    expect(res.bookBalances).toEqual(new Map([[1, 0], [2, 450]]));
  });

  test('R-ACC-5 book-major: the first book pays all its eligible lines before the next book pays anything', () => {
    // Book 1 (private, DATA only) comes first and pays the newer DATA line before book 2 pays the older lines.
    const books = [book(2, { balanceFen: 1000 }), book(1, { restrictedItems: ['DATA'], balanceFen: 1000 })];
    const lines = [
      line(10, { cycle: '2026-08', itemCode: 'RENT_PLAN', openFen: 100 }),
      line(11, { cycle: '2026-09', itemCode: 'DATA', itemPriority: 4, openFen: 100 }),
      line(12, { cycle: '2026-09', itemCode: 'SMS', itemPriority: 3, openFen: 100 }),
      line(13, { cycle: '2026-10', itemCode: 'DATA', itemPriority: 4, openFen: 100 }),
    ];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(1, 11, 100), a(1, 13, 100), a(2, 10, 100), a(2, 12, 100)]);
  });

  test('R-ACC-5 lines with nothing open (zero or credit) are never paid', () => {
    const lines = [line(10, { openFen: 0 }), line(11, { openFen: -30 }), line(12, { openFen: 5 })];
    const res = run([book(1, { balanceFen: 100 })], lines);
    expect(res.allocations).toEqual([a(1, 12, 5)]);
    expect(res.lineOpen).toEqual(new Map([[12, 0]]));
  });
});

// ---------------------------------------------------------------------------------------------
// R-ACC-11 billing types
// ---------------------------------------------------------------------------------------------

describe('R-ACC-11 one payment over several subscribers: virtual, quota, monthly; oldest bill first within a type', () => {
  test('R-ACC-11 virtual lines before quota before monthly, even when the monthly bill is older', () => {
    const lines = [
      line(1, { subscriberId: 1, billingType: 'monthly', cycle: '2026-07', openFen: 100 }),
      line(2, { subscriberId: 2, billingType: 'quota', cycle: '2026-10', openFen: 100 }),
      line(3, { subscriberId: 3, billingType: 'virtual', cycle: '2026-11', openFen: 100 }),
    ];
    const res = run([book(1, { balanceFen: 250 })], lines);
    expect(res.allocations).toEqual([a(1, 3, 100), a(1, 2, 100), a(1, 1, 50)]);
    expect(openAfter(lines, res).get(1)).toBe(50);
  });

  test('R-ACC-11 within a billing type the oldest cycle first, then item priority', () => {
    const lines = [
      line(1, { subscriberId: 1, billingType: 'quota', cycle: '2026-10', itemPriority: 1, openFen: 10 }),
      line(2, { subscriberId: 2, billingType: 'quota', cycle: '2026-09', itemPriority: 9, openFen: 10 }),
      line(3, { subscriberId: 3, billingType: 'monthly', cycle: '2026-10', itemPriority: 1, openFen: 10 }),
      line(4, { subscriberId: 4, billingType: 'monthly', cycle: '2026-08', itemPriority: 5, openFen: 10 }),
      line(5, { subscriberId: 5, billingType: 'virtual', cycle: '2026-10', itemPriority: 2, openFen: 10 }),
      line(6, { subscriberId: 6, billingType: 'virtual', cycle: '2026-10', itemPriority: 1, openFen: 10 }),
      line(7, { subscriberId: 1, billingType: 'quota', cycle: '2026-09', itemPriority: 2, openFen: 10 }),
    ];
    const res = run([book(1, { balanceFen: 1000 })], lines);
    expect(res.allocations.map((x) => x.lineId)).toEqual([6, 5, 7, 2, 1, 4, 3]);
  });

  test('R-ACC-11 compareLines ranks billing type above cycle', () => {
    const v = line(1, { billingType: 'virtual', cycle: '2026-12' });
    const q = line(2, { billingType: 'quota', cycle: '2026-01' });
    const m = line(3, { billingType: 'monthly', cycle: '2025-01' });
    expect(compareLines(v, q)).toBeLessThan(0);
    expect(compareLines(q, m)).toBeLessThan(0);
    expect(compareLines(v, m)).toBeLessThan(0);
    expect(compareLines(m, v)).toBeGreaterThan(0);
    expect(compareLines(m, m)).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// R-X-5 pay chosen subscribers, cycles or items first
// ---------------------------------------------------------------------------------------------

describe('R-X-5 payFirst moves the chosen lines first', () => {
  const lines = [
    line(1, { subscriberId: 1, cycle: '2026-08', itemCode: 'RENT_PLAN', itemPriority: 1, openFen: 100 }),
    line(2, { subscriberId: 2, cycle: '2026-09', itemCode: 'DATA', itemPriority: 2, openFen: 100 }),
    line(3, { subscriberId: 1, cycle: '2026-10', itemCode: 'DATA', itemPriority: 2, openFen: 100 }),
    line(4, { subscriberId: 2, cycle: '2026-10', itemCode: 'RENT_PLAN', itemPriority: 1, openFen: 100 }),
  ];
  const order = (payFirst?: PayFirst): number[] => run([book(1, { balanceFen: 1000 })], lines, payFirst).allocations.map((x) => x.lineId);

  test('R-X-5 without payFirst: oldest cycle first then item priority', () => {
    expect(order()).toEqual([1, 2, 4, 3]);
  });

  test('R-X-5 payFirst subscriberIds moves that subscriber\'s lines first, keeping the usual order within each group', () => {
    expect(order({ subscriberIds: [2] })).toEqual([2, 4, 1, 3]);
  });

  test('R-X-5 payFirst cycles moves those cycles first', () => {
    expect(order({ cycles: ['2026-10'] })).toEqual([4, 3, 1, 2]);
    expect(order({ cycles: ['2026-10', '2026-09'] })).toEqual([2, 4, 3, 1]);
  });

  test('R-X-5 payFirst items moves those items first', () => {
    expect(order({ items: ['DATA'] })).toEqual([2, 3, 1, 4]);
  });

  test('R-X-5 payFirst criteria combine: a line must match every given criterion', () => {
    expect(order({ subscriberIds: [1], items: ['DATA'] })).toEqual([3, 1, 2, 4]);
    expect(order({ subscriberIds: [2], cycles: ['2026-10'], items: ['RENT_PLAN'] })).toEqual([4, 1, 2, 3]);
  });

  test('R-X-5 an empty payFirst (or empty lists) changes nothing', () => {
    expect(order({})).toEqual([1, 2, 4, 3]);
    expect(order({ subscriberIds: [], cycles: [], items: [] })).toEqual([1, 2, 4, 3]);
    expect(order({ subscriberIds: undefined, cycles: undefined, items: undefined })).toEqual([1, 2, 4, 3]);
  });

  test('R-X-5 with a short balance the chosen lines get the money and the rest stays in arrears', () => {
    const res = run([book(1, { balanceFen: 150 })], lines, { cycles: ['2026-10'] });
    expect(res.allocations).toEqual([a(1, 4, 100), a(1, 3, 50)]);
    expect(openAfter(lines, res)).toEqual(new Map([[1, 100], [2, 100], [3, 50], [4, 0]]));
  });

  test('R-X-5 payFirst goes before the billing-type order of R-ACC-11', () => {
    const ls = [line(1, { billingType: 'virtual', subscriberId: 1, openFen: 10 }), line(2, { billingType: 'monthly', subscriberId: 2, openFen: 10 })];
    expect(run([book(1, { balanceFen: 100 })], ls, { subscriberIds: [2] }).allocations.map((x) => x.lineId)).toEqual([2, 1]);
    expect(compareLines(ls[1] as LineState, ls[0] as LineState, { subscriberIds: [2] })).toBeLessThan(0);
  });

  test('R-X-5 payFirst never lets a book pay a line it may not pay (R-ACC-3)', () => {
    const books = [book(1, { restrictedItems: ['RENT_PLAN'], balanceFen: 1000 })];
    const res = run(books, lines, { items: ['DATA'] });
    expect(res.allocations).toEqual([a(1, 1, 100), a(1, 4, 100)]);
  });
});

// ---------------------------------------------------------------------------------------------
// R-X-6 gift books and excluded items
// ---------------------------------------------------------------------------------------------

describe('R-X-6 gift and allocation books do not pay earlier cycles; excluded items', () => {
  test('R-X-6 boundary: a gift book starting 2026-11-01T00:00+08:00 (2026-10-31T16:00Z) pays cycle 2026-11 but not 2026-10', () => {
    const gift = book(1, { bookType: 'prestore_gift', paysEarlierCycles: false, startAt: at('2026-10-31T16:00:00Z'), balanceFen: 1000 });
    expect(gift.startAt.getTime()).toBe(at('2026-11-01T00:00:00+08:00').getTime());
    expect(mayPay(gift, line(1, { cycle: '2026-10' }))).toBe(false);
    expect(mayPay(gift, line(2, { cycle: '2026-11' }))).toBe(true);
    const lines = [line(1, { cycle: '2026-10', openFen: 100 }), line(2, { cycle: '2026-11', openFen: 100 })];
    const res = run([gift], lines);
    expect(res.allocations).toEqual([a(1, 2, 100)]);
    expect(openAfter(lines, res)).toEqual(new Map([[1, 100], [2, 0]]));
  });

  test('R-X-6 boundary: a gift book starting one millisecond earlier (2026-10-31T23:59:59.999+08:00) belongs to cycle 2026-10 and pays it', () => {
    const gift = book(1, { bookType: 'prestore_gift', paysEarlierCycles: false, startAt: at('2026-10-31T15:59:59.999Z'), balanceFen: 1000 });
    expect(mayPay(gift, line(1, { cycle: '2026-10' }))).toBe(true);
    expect(mayPay(gift, line(2, { cycle: '2026-09' }))).toBe(false);
  });

  test('R-X-6 a gift book pays its own start cycle and later cycles only', () => {
    const gift = book(1, { bookType: 'prestore_gift', paysEarlierCycles: false, startAt: at('2026-09-15T10:00:00+08:00'), balanceFen: 1000 });
    const lines = [
      line(1, { cycle: '2025-12', openFen: 10 }),
      line(2, { cycle: '2026-08', openFen: 10 }),
      line(3, { cycle: '2026-09', openFen: 10 }),
      line(4, { cycle: '2026-10', openFen: 10 }),
      line(5, { cycle: '2026-11', openFen: 10 }),
    ];
    expect(run([gift], lines).allocations.map((x) => x.lineId)).toEqual([3, 4, 5]);
  });

  test('R-X-6 the earlier cycle a gift book may not pay is left to the next book', () => {
    const books = [
      book(1, { bookType: 'discount', paysEarlierCycles: false, startAt: at('2026-11-01T00:00:00+08:00'), balanceFen: 1000 }),
      book(2, { bookType: 'cash', balanceFen: 60 }),
    ];
    const lines = [line(1, { cycle: '2026-10', openFen: 100 }), line(2, { cycle: '2026-11', openFen: 100 })];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(1, 2, 100), a(2, 1, 60)]);
    expect(openAfter(lines, res).get(1)).toBe(40);
  });

  test('R-X-6 a book with paysEarlierCycles=true pays earlier cycles', () => {
    const b = book(1, { paysEarlierCycles: true, startAt: at('2026-11-01T00:00:00+08:00'), balanceFen: 100 });
    expect(mayPay(b, line(1, { cycle: '2020-01' }))).toBe(true);
  });

  test('R-X-6 excluded items are never paid, even by a book with balance and no other restriction', () => {
    const books = [book(1, { excludedItems: ['VOICE_ROAM', 'VAS'], balanceFen: 1000 })];
    const lines = [
      line(1, { itemCode: 'VOICE_ROAM', openFen: 100 }),
      line(2, { itemCode: 'VAS', openFen: 100 }),
      line(3, { itemCode: 'DATA', openFen: 100 }),
    ];
    const res = run(books, lines);
    expect(res.allocations).toEqual([a(1, 3, 100)]);
    expect(res.bookBalances).toEqual(new Map([[1, 900]]));
  });

  test('R-X-6 an excluded item is not paid even if the item restriction lists it; another book pays it', () => {
    const books = [
      book(1, { bookType: 'restricted_fund', restrictedItems: ['VOICE_ROAM'], excludedItems: ['VOICE_ROAM'], balanceFen: 1000 }),
      book(2, { bookType: 'cash', balanceFen: 1000 }),
    ];
    expect(mayPay(books[0] as BookState, line(1, { itemCode: 'VOICE_ROAM' }))).toBe(false);
    const res = run(books, [line(1, { itemCode: 'VOICE_ROAM', openFen: 100 })]);
    expect(res.allocations).toEqual([a(2, 1, 100)]);
  });
});

// ---------------------------------------------------------------------------------------------
// Inputs and conservation
// ---------------------------------------------------------------------------------------------

describe('R-ACC-5 inputs untouched and totals conserved', () => {
  test('R-ACC-5 inputs are not mutated (arrays, books, lines, payFirst, dates)', () => {
    const books = [
      book(2, { balanceFen: 100, expiryAt: at('2026-12-31T00:00:00+08:00') }),
      book(1, { restrictedItems: ['DATA'], excludedItems: ['SMS'], balanceFen: 100 }),
    ];
    const lines = [line(11, { itemCode: 'DATA', openFen: 50 }), line(10, { cycle: '2026-09', openFen: 500 })];
    const payFirst: PayFirst = { cycles: ['2026-10'], items: ['DATA'] };
    const snapshot = structuredClone({ books, lines, payFirst });
    const bookRefs = [...books];
    const lineRefs = [...lines];
    const res = writeOff(books, lines, NOW, payFirst);
    expect(res.allocations.length).toBeGreaterThan(0);
    expect({ books, lines, payFirst }).toEqual(snapshot);
    expect(books).toEqual(bookRefs); // same order
    books.forEach((b, i) => expect(b).toBe(bookRefs[i]));
    lines.forEach((l, i) => expect(l).toBe(lineRefs[i]));
    // also works on frozen input (would throw on any in-place sort or write)
    expect(() => writeOff(deepFreeze(structuredClone(books)), deepFreeze(structuredClone(lines)), NOW, deepFreeze(structuredClone(payFirst)))).not.toThrow();
  });

  test('R-ACC-5 totals conserve: sum(allocations) == sum(book decrease) == sum(line open decrease)', () => {
    const books = [
      book(1, { bookType: 'discount', balanceFen: 123 }),
      book(2, { restrictedItems: ['RENT_PLAN'], balanceFen: 77 }),
      book(3, { subscriberId: 2, balanceFen: 45 }),
      book(4, { bookType: 'prestore_gift', paysEarlierCycles: false, startAt: at('2026-11-01T00:00:00+08:00'), balanceFen: 999 }),
      book(5, { expiryAt: NOW, balanceFen: 500 }),
    ];
    const lines = [
      line(1, { cycle: '2026-09', openFen: 101 }),
      line(2, { cycle: '2026-10', subscriberId: 2, itemCode: 'DATA', openFen: 89 }),
      line(3, { cycle: '2026-11', itemCode: 'SMS', openFen: 33 }),
      line(4, { cycle: '2026-10', itemCode: 'RENT_PLAN', openFen: 250 }),
    ];
    const res = run(books, lines); // run() asserts conservation per book and per line
    const total = sum(res.allocations.map((x) => x.amountFen));
    expect(total).toBe(sum(books.map((b) => b.balanceFen - (balancesAfter(books, res).get(b.bookId) ?? 0))));
    expect(total).toBe(sum(lines.map((l) => l.openFen - (openAfter(lines, res).get(l.lineId) ?? 0))));
    expect(total).toBe(123 + 77 + 45 + 33);
  });
});

// ---------------------------------------------------------------------------------------------
// Property test
// ---------------------------------------------------------------------------------------------

const ITEMS = ['RENT_PLAN', 'DATA', 'SMS', 'VOICE_ROAM', 'LATE_FEE'] as const;
const CYCLES = ['2026-08', '2026-09', '2026-10', '2026-11', '2026-12'] as const;
const BILLING_TYPES: readonly BillingType[] = ['virtual', 'quota', 'monthly'];

/** Instants around NOW and the cycle boundaries, plus anything in between. */
const instantArb: fc.Arbitrary<Date> = fc.oneof(
  fc.constantFrom(
    NOW,
    new Date(NOW.getTime() - 1),
    new Date(NOW.getTime() + 1),
    at('2026-08-01T00:00:00+08:00'),
    at('2026-10-31T15:59:59.999Z'),
    at('2026-10-31T16:00:00Z'),
    at('2026-12-01T00:00:00+08:00'),
  ),
  fc.integer({ min: at('2026-07-15T00:00:00Z').getTime(), max: at('2027-01-15T00:00:00Z').getTime() }).map((ms) => new Date(ms)),
);

const bookArb = fc.record({
  bookType: fc.constantFrom(...TYPE_ORDER),
  paysEarlierCycles: fc.boolean(),
  excludedItems: fc.subarray([...ITEMS], { maxLength: 2 }),
  restrictedItems: fc.option(fc.subarray([...ITEMS], { maxLength: 3 }), { nil: null, freq: 2 }),
  subscriberId: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null, freq: 2 }),
  startAt: instantArb,
  expiryAt: fc.option(instantArb, { nil: null, freq: 3 }),
  balanceFen: fc.integer({ min: -20, max: 400 }),
  idKey: fc.integer({ min: 0, max: 1000 }),
});

const lineArb = fc.record({
  cycle: fc.constantFrom(...CYCLES),
  subscriberId: fc.integer({ min: 1, max: 3 }),
  itemCode: fc.constantFrom(...ITEMS),
  itemPriority: fc.integer({ min: 1, max: 4 }),
  billingType: fc.constantFrom(...BILLING_TYPES),
  openFen: fc.integer({ min: -10, max: 300 }),
  idKey: fc.integer({ min: 0, max: 1000 }),
});

const payFirstArb: fc.Arbitrary<PayFirst | undefined> = fc.option(
  fc.record(
    {
      subscriberIds: fc.subarray([1, 2, 3]),
      cycles: fc.subarray([...CYCLES]),
      items: fc.subarray([...ITEMS]),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const scenarioArb = fc
  .record({
    rawBooks: fc.array(bookArb, { maxLength: 8 }),
    rawLines: fc.array(lineArb, { maxLength: 12 }),
    payFirst: payFirstArb,
    seed: fc.integer(),
  })
  .map(({ rawBooks, rawLines, payFirst, seed }) => {
    // unique ids, not correlated with array position
    const books: BookState[] = rawBooks.map(({ idKey, bookType, ...rest }, i) => ({
      ...rest,
      bookId: idKey * 100 + i,
      bookType,
      typePriority: TYPE_PRIORITY[bookType] ?? 0,
    }));
    const lines: LineState[] = rawLines.map(({ idKey, ...rest }, i) => ({ ...rest, lineId: idKey * 100 + i }));
    return { books, lines, payFirst, seed };
  });

describe('R-ACC-5 property: random books and lines', () => {
  test('R-ACC-5 property: conservation, book order respected, no rule violated, nothing payable left open, deterministic', () => {
    const numRuns = 500;
    let multiBook = 0; // runs where at least two books paid something
    let strandedBoth = 0; // runs that end with both open lines and unused balance (restrictions binding)
    fc.assert(
      fc.property(scenarioArb, ({ books, lines, payFirst, seed }) => {
        const res = writeOff(books, lines, NOW, payFirst);
        const bookById = new Map(books.map((b) => [b.bookId, b]));
        const lineById = new Map(lines.map((l) => [l.lineId, l]));
        const balance = balancesAfter(books, res);
        const open = openAfter(lines, res);

        // (a) conservation: sum(allocations) == sum(book decrease) == sum(line open decrease), per book and per line
        expectConserved(books, lines, res);

        for (const al of res.allocations) {
          const b = bookById.get(al.bookId);
          const l = lineById.get(al.lineId);
          expect(b).toBeDefined();
          expect(l).toBeDefined();
          if (b === undefined || l === undefined) return;
          // (c) no allocation violates mayPay / isUsable (R-ACC-3, R-ACC-4, R-X-6)
          expect(isUsable(b, NOW)).toBe(true);
          expect(mayPay(b, l)).toBe(true);
          expect(l.openFen).toBeGreaterThan(0);
          // (b) no earlier usable book that may pay this line still has balance (R-ACC-1/2/5)
          for (const earlier of books) {
            if (compareBooks(earlier, b) < 0 && isUsable(earlier, NOW) && mayPay(earlier, l)) {
              expect(balance.get(earlier.bookId)).toBe(0);
            }
          }
        }

        // (d) no open line remains that some usable book with remaining balance may pay
        for (const l of lines) {
          if ((open.get(l.lineId) ?? 0) <= 0) continue;
          for (const b of books) {
            if (isUsable(b, NOW) && (balance.get(b.bookId) ?? 0) > 0) expect(mayPay(b, l)).toBe(false);
          }
        }

        // book-major: allocations come in book order, and within a book in line order
        for (let i = 1; i < res.allocations.length; i++) {
          const prev = res.allocations[i - 1] as Allocation;
          const cur = res.allocations[i] as Allocation;
          const pb = bookById.get(prev.bookId) as BookState;
          const cb = bookById.get(cur.bookId) as BookState;
          if (prev.bookId === cur.bookId) {
            expect(compareLines(lineById.get(prev.lineId) as LineState, lineById.get(cur.lineId) as LineState, payFirst)).toBeLessThan(0);
          } else {
            expect(compareBooks(pb, cb)).toBeLessThan(0);
          }
        }

        // R-ACC-2 determinism: any input order gives the same result
        const rnd = prng(seed);
        const again = writeOff(shuffle(books, rnd), shuffle(lines, rnd), NOW, payFirst);
        expect(again.allocations).toEqual(res.allocations);
        expect(again.bookBalances).toEqual(res.bookBalances);
        expect(again.lineOpen).toEqual(res.lineOpen);

        if (new Set(res.allocations.map((x) => x.bookId)).size >= 2) multiBook++;
        if ([...open.values()].some((v) => v > 0) && books.some((b) => isUsable(b, NOW) && (balance.get(b.bookId) ?? 0) > 0)) strandedBoth++;
      }),
      { numRuns },
    );
    // the generator must actually exercise the interesting cases
    expect(multiBook).toBeGreaterThan(numRuns / 10);
    expect(strandedBoth).toBeGreaterThan(numRuns / 10);
  });

  test('R-ACC-5 property: inputs are never mutated', () => {
    fc.assert(
      fc.property(scenarioArb, ({ books, lines, payFirst }) => {
        const before = structuredClone({ books, lines, payFirst });
        writeOff(deepFreeze(books), deepFreeze(lines), NOW, payFirst === undefined ? undefined : deepFreeze(payFirst));
        expect({ books, lines, payFirst }).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// R-X-7 principal and late fee: proportional on a partial payment, principal first on a full one
// ---------------------------------------------------------------------------------------------

describe('R-X-7 principal and late fee paid together', () => {
  const principal = (over: Partial<LineState> = {}) => line(1, { cycle: '2026-09', itemCode: 'RENT_PLAN', itemPriority: 10, openFen: 10_000, ...over });
  const fee = (over: Partial<LineState> = {}) => line(2, { cycle: '2026-10', itemCode: 'LATE_FEE', itemPriority: 130, openFen: 900, principalLineId: 1, ...over });

  test('R-X-7 a partial payment is split in proportion between principal and late fee (half-up on the principal)', () => {
    // 5000 × 10000 / 10900 = 4587.15… → 4587 to the principal, 413 to the late fee
    const res = run([book(7, { balanceFen: 5000 })], [principal(), fee()]);
    expect(res.allocations).toEqual([a(7, 1, 4587), a(7, 2, 413)]);
    expect(res.lineOpen).toEqual(new Map([[1, 5413], [2, 487]]));
  });

  test('R-X-7 rounding is half-up on the principal and no fen is lost', () => {
    // 1 × 1/2 = 0.5 → 1 to the principal, 0 to the fee
    expect(run([book(7, { balanceFen: 1 })], [principal({ openFen: 1 }), fee({ openFen: 1 })]).allocations).toEqual([a(7, 1, 1)]);
    // 3 × 3/4 = 2.25 → 2, the fee gets 1
    expect(run([book(7, { balanceFen: 3 })], [principal({ openFen: 3 }), fee({ openFen: 1 })]).allocations).toEqual([a(7, 1, 2), a(7, 2, 1)]);
    // 5 × 7/10 = 3.5 → 4, the fee gets 1
    expect(run([book(7, { balanceFen: 5 })], [principal({ openFen: 7 }), fee({ openFen: 3 })]).allocations).toEqual([a(7, 1, 4), a(7, 2, 1)]);
  });

  test('R-X-7 a full payment pays the principal first, then the late fee, and keeps the rest', () => {
    const res = run([book(7, { balanceFen: 20_000 })], [fee(), principal()]);
    expect(res.allocations).toEqual([a(7, 1, 10_000), a(7, 2, 900)]);
    expect(res.bookBalances).toEqual(new Map([[7, 9_100]]));
  });

  test('R-X-7 exactly the sum is a full payment: both lines close', () => {
    const res = run([book(7, { balanceFen: 10_900 })], [principal(), fee()]);
    expect(res.allocations).toEqual([a(7, 1, 10_000), a(7, 2, 900)]);
    expect(res.bookBalances).toEqual(new Map([[7, 0]]));
  });

  test('R-X-7 several late fees of one principal share in proportion, summing to the payment', () => {
    const lines = [principal({ openFen: 6000 }), fee({ openFen: 300 }), line(3, { cycle: '2026-11', itemCode: 'LATE_FEE', itemPriority: 130, openFen: 700, principalLineId: 1 })];
    const res = run([book(7, { balanceFen: 3500 })], lines);
    // 3500 × 6000/7000 = 3000; fees: round(3500 × 6300/7000) − 3000 = 150; 3500 − 3150 = 350
    expect(res.allocations).toEqual([a(7, 1, 3000), a(7, 2, 150), a(7, 3, 350)]);
  });

  test('R-X-7 the unit keeps the principal’s place: an older principal with its fee goes before a newer bill', () => {
    const newer = line(5, { cycle: '2026-10', itemCode: 'RENT_PLAN', itemPriority: 10, openFen: 5000 });
    const res = run([book(7, { balanceFen: 10_900 })], [newer, principal(), fee()]);
    expect(res.allocations).toEqual([a(7, 1, 10_000), a(7, 2, 900)]);
    expect(res.lineOpen.get(5)).toBeUndefined();
  });

  test('R-X-7 a late fee whose principal is already paid is an ordinary line in its own cycle', () => {
    const res = run([book(7, { balanceFen: 500 })], [fee({ principalLineId: 99 }), line(3, { cycle: '2026-10', itemCode: 'RENT_PLAN', itemPriority: 10, openFen: 1000 })]);
    // R-X-5: same cycle, item priority 10 before 130
    expect(res.allocations).toEqual([a(7, 3, 500)]);
  });

  test('R-X-7 a book that may not pay the late fee (R-ACC-3) pays the principal alone; the next book splits what is left', () => {
    const fund = book(3, { bookType: 'restricted_fund', restrictedItems: ['RENT_PLAN'], balanceFen: 4000 });
    const cash = book(8, { bookType: 'cash', balanceFen: 3000 });
    const res = run([cash, fund], [principal(), fee()]);
    // fund: 4000 to the principal; cash: 3000 over 6000 + 900 → round(3000 × 6000/6900) = 2609, fee 391
    expect(res.allocations).toEqual([a(3, 1, 4000), a(8, 1, 2609), a(8, 2, 391)]);
  });

  test('R-X-7 splitInProportion: half-up on the first part, shares sum to the amount, none above its part', () => {
    expect(splitInProportion(5000, [10_000, 900])).toEqual([4587, 413]);
    expect(splitInProportion(0, [10, 20])).toEqual([0, 0]);
    expect(splitInProportion(7, [0, 0])).toEqual([0, 0]);
  });

  test('R-X-7 property: any partial payment splits without losing a fen and never overpays a line', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 6 }), fc.nat(), (parts, seed) => {
        const total = parts.reduce((s, p) => s + p, 0);
        const amount = seed % total;
        const shares = splitInProportion(amount, parts);
        expect(shares.reduce((s, x) => s + x, 0)).toBe(amount);
        shares.forEach((x, i) => {
          expect(Number.isSafeInteger(x)).toBe(true);
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(parts[i] as number);
        });
        // the principal's share is its exact half-up proportion
        const exact = (amount * (parts[0] as number)) / total;
        expect(Math.abs((shares[0] as number) - exact)).toBeLessThanOrEqual(0.5);
      }),
      { numRuns: 500 },
    );
  });

  test('R-X-7 property: principal and late fees of one book conserve money, split in proportion when short, principal first when enough', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200_000 }),
        fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 300_000 }),
        (principalFen, fees, balanceFen) => {
          const lines = [principal({ openFen: principalFen }), ...fees.map((f, i) => line(10 + i, { cycle: '2026-10', itemCode: 'LATE_FEE', itemPriority: 130, openFen: f, principalLineId: 1 }))];
          const res = run([book(7, { balanceFen })], lines);
          const total = principalFen + fees.reduce((s, f) => s + f, 0);
          const paid = res.allocations.reduce((s, x) => s + x.amountFen, 0);
          expect(paid).toBe(Math.min(balanceFen, total));
          const toPrincipal = res.allocations.filter((x) => x.lineId === 1).reduce((s, x) => s + x.amountFen, 0);
          if (balanceFen >= total) {
            expect(toPrincipal).toBe(principalFen);
            expect(res.allocations[0]?.lineId).toBe(1);
          } else {
            expect(Math.abs(toPrincipal - (balanceFen * principalFen) / total)).toBeLessThanOrEqual(0.5);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
