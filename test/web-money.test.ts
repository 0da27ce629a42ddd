// The front desk's yuan → fen parsing (web/src/utils/money.ts): typed text becomes integer fen
// without floating point, and anything doubtful is refused rather than rounded.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatFen, MAX_AMOUNT_FEN, yuanToFen } from '../web/src/utils/money.ts';
import { MAX_AMOUNT_FEN as SERVER_MAX } from '../src/platform/money.ts';

describe('yuanToFen', () => {
  test('R-ACC-7 yuan text becomes integer fen, digit by digit', () => {
    expect(yuanToFen('100')).toEqual({ ok: true, fen: 10000 });
    expect(yuanToFen('12.5')).toEqual({ ok: true, fen: 1250 });
    expect(yuanToFen('0.01')).toEqual({ ok: true, fen: 1 });
    expect(yuanToFen('.5')).toEqual({ ok: true, fen: 50 });
    expect(yuanToFen(' 19.99 ')).toEqual({ ok: true, fen: 1999 });
    // 0.1 + 0.2 and friends: no float is involved
    expect(yuanToFen('0.29')).toEqual({ ok: true, fen: 29 });
    expect(yuanToFen('1.15')).toEqual({ ok: true, fen: 115 });
    // full-width digits and the Chinese full stop from an input method
    expect(yuanToFen('１００．５')).toEqual({ ok: true, fen: 10050 });
  });

  test('R-ACC-7 more than two decimals, signs, exponents, grouping and words are refused, not rounded', () => {
    for (const s of ['12.345', '-5', '+5', '1e3', '1,000', '12.', 'abc', '¥10', '10元', 'NaN', 'Infinity', '0x10', '1 000']) {
      expect(yuanToFen(s), s).toEqual({ ok: false, reason: 'format' });
    }
    expect(yuanToFen('')).toEqual({ ok: false, reason: 'empty' });
    expect(yuanToFen('   ')).toEqual({ ok: false, reason: 'empty' });
    expect(yuanToFen('0')).toEqual({ ok: false, reason: 'zero' });
    expect(yuanToFen('0.00')).toEqual({ ok: false, reason: 'zero' });
  });

  test('R-ACC-7 the limit is the API’s: 100 million yuan', () => {
    expect(MAX_AMOUNT_FEN).toBe(SERVER_MAX);
    expect(yuanToFen('100000000')).toEqual({ ok: true, fen: MAX_AMOUNT_FEN });
    expect(yuanToFen('100000000.01')).toEqual({ ok: false, reason: 'too_large' });
    expect(yuanToFen('999999999999.99')).toEqual({ ok: false, reason: 'too_large' });
  });

  test('R-ACC-7 every amount in fen survives formatting and parsing back (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_AMOUNT_FEN }), (fen) => {
        const text = formatFen(fen, { symbol: false }).replaceAll(',', '');
        expect(yuanToFen(text)).toEqual({ ok: true, fen });
      }),
    );
  });

  test('formatFen groups thousands and shows the sign', () => {
    expect(formatFen(123456)).toBe('¥1,234.56');
    expect(formatFen(-500)).toBe('-¥5.00');
    expect(formatFen(0)).toBe('¥0.00');
    expect(formatFen(MAX_AMOUNT_FEN)).toBe('¥100,000,000.00');
  });
});
