// R-ACC-7: money is integer fen everywhere. This file is the only place that rounds.
export type Fen = number;

/** The largest single amount the API accepts (100 million yuan); keeps sums far from 2^53. */
export const MAX_AMOUNT_FEN = 10_000_000_000;

export function isFen(n: unknown): n is Fen {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

export function assertFen(n: unknown, what = 'amount'): Fen {
  if (!isFen(n)) throw new TypeError(`${what} must be a safe integer number of fen, got ${String(n)}`);
  return n;
}

/** Parses a bigint column (node-postgres returns int8 as string) into fen, refusing unsafe values. */
export function fenFromDb(v: string | number | bigint | null | undefined): Fen {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'number' ? v : Number(v);
  return assertFen(n, 'database amount');
}

/** Integer division rounding half away from zero (half-up for positive amounts). */
function divHalfUp(numerator: bigint, denominator: bigint): bigint {
  const neg = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const q = (n * 2n + d) / (d * 2n);
  return neg ? -q : q;
}

/** amount × part / whole, half-up to the fen (pro-rating by days, R-BIL-4). */
export function prorate(amount: Fen, part: number, whole: number): Fen {
  if (!Number.isSafeInteger(part) || !Number.isSafeInteger(whole) || whole <= 0) {
    throw new RangeError('prorate needs integer part and positive integer whole');
  }
  return Number(divHalfUp(BigInt(amount) * BigInt(part), BigInt(whole)));
}

/** amount × permille / 1000, half-up to the fen (percentages are permille × 10). */
export function permille(amount: Fen, perMille: number): Fen {
  return prorate(amount, perMille, 1000);
}

export function sumFen(values: Iterable<Fen>): Fen {
  let total = 0;
  for (const v of values) total += v;
  return assertFen(total, 'sum');
}

/** 12345 → "123.45" for receipts and messages. */
export function formatYuan(amount: Fen): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
