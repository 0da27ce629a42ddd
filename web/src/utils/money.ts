// R-ACC-7: money is integer fen. The operator types yuan ("100", "12.5", "0.01"); the digits are
// parsed as text, never through a floating-point number, so 0.1 + 0.2 problems cannot happen.

/** The largest single amount the API accepts (100 million yuan), as in src/platform/money.ts. */
export const MAX_AMOUNT_FEN = 10_000_000_000;

export type YuanParse = { ok: true; fen: number } | { ok: false; reason: 'empty' | 'format' | 'zero' | 'too_large' };

/** Full-width digits and points (typed with a Chinese input method) count as their ASCII forms. */
function normalise(s: string): string {
  return s
    .trim()
    .replace(/[\uFF10-\uFF19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xff10 + 48))
    .replace(/[\uFF0E\u3002]/g, '.');
}

/** "12.5" → 1250 fen. At most two decimals; no sign, no exponent, no grouping. */
export function yuanToFen(input: string): YuanParse {
  const s = normalise(input);
  if (s === '') return { ok: false, reason: 'empty' };
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(s) ?? /^()\.(\d{1,2})$/.exec(s);
  if (!m) return { ok: false, reason: 'format' };
  const yuan = m[1] ? Number(m[1]) : 0;
  const fen = Number((m[2] ?? '').padEnd(2, '0'));
  const total = yuan * 100 + fen;
  if (total === 0) return { ok: false, reason: 'zero' };
  if (total > MAX_AMOUNT_FEN) return { ok: false, reason: 'too_large' };
  return { ok: true, fen: total };
}

/** 123456 → "¥1,234.56"; -500 → "-¥5.00". */
export function formatFen(fen: number, opts: { symbol?: boolean } = {}): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = String(Math.trunc(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${opts.symbol === false ? '' : '¥'}${yuan}.${String(abs % 100).padStart(2, '0')}`;
}
