import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { assertFen, fenFromDb, formatYuan, permille, prorate, sumFen } from './money.ts';

describe('R-ACC-7 integer fen and the one rounding helper', () => {
  test('R-ACC-7 prorate rounds half-up to the fen', () => {
    expect(prorate(5000, 1, 3)).toBe(1667); // 1666.67
    expect(prorate(5000, 15, 30)).toBe(2500);
    expect(prorate(1, 1, 2)).toBe(1); // 0.5 → 1
    expect(prorate(3, 1, 2)).toBe(2); // 1.5 → 2
    expect(prorate(6900, 17, 30)).toBe(3910);
    expect(prorate(-3, 1, 2)).toBe(-2); // half away from zero for credits
  });
  test('R-ACC-7 permille: 3‰ of 12345 fen is 37 fen (37.035)', () => {
    expect(permille(12345, 3)).toBe(37);
    expect(permille(500, 3)).toBe(2); // 1.5 → 2
  });
  test('R-ACC-7 non-integers and unsafe integers are refused', () => {
    expect(() => assertFen(1.5)).toThrow(TypeError);
    expect(() => assertFen(2 ** 53)).toThrow(TypeError);
    expect(() => assertFen('100')).toThrow(TypeError);
    expect(() => fenFromDb('9007199254740993')).toThrow(TypeError);
    expect(fenFromDb('12345')).toBe(12345);
    expect(() => prorate(100, 1.5, 3)).toThrow(RangeError);
    expect(() => prorate(100, 1, 0)).toThrow(RangeError);
  });
  test('R-ACC-7 property: pro-rated parts of a month never differ from the whole by more than a fen per part', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 28, max: 31 }), (amount, days) => {
        const parts = Array.from({ length: days }, () => prorate(amount, 1, days));
        expect(Math.abs(sumFen(parts) - amount)).toBeLessThanOrEqual(days);
        expect(prorate(amount, days, days)).toBe(amount);
        expect(prorate(amount, 0, days)).toBe(0);
      }),
    );
  });
  test('R-ACC-7 formatYuan for receipts', () => {
    expect(formatYuan(12345)).toBe('123.45');
    expect(formatYuan(5)).toBe('0.05');
    expect(formatYuan(-1900)).toBe('-19.00');
  });
});
