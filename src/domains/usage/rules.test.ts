// R-BIL-3: a CDR's start time "YYYY-MM-DD HH:MM:SS" is Beijing time; an impossible date or time is refused.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { cycleOf } from '../../platform/clock.ts';
import { parseCdr, parseStartTime } from './rules.ts';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

test('R-BIL-3 property: a local start time is the instant of that wall time in Asia/Shanghai (what Date makes of it with +08:00), an impossible one is refused', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1995, max: 2099 }),
      fc.integer({ min: 0, max: 13 }),
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 24 }),
      fc.integer({ min: 0, max: 60 }),
      fc.integer({ min: 0, max: 60 }),
      (y, mo, d, h, mi, se) => {
        const s = `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(se)}`;
        const wall = new Date(Date.UTC(y, mo - 1, d, h, mi, se));
        const possible = y >= 2000 && mo >= 1 && mo <= 12 && wall.getUTCDate() === d && wall.getUTCMonth() === mo - 1 && h <= 23 && mi <= 59 && se <= 59;
        const got = parseStartTime(s);
        if (!possible) expect(got).toBeNull();
        else expect(got?.getTime()).toBe(new Date(`${s.replace(' ', 'T')}+08:00`).getTime());
      },
    ),
    { numRuns: 2000 },
  );
  expect(parseStartTime('2026-11-20 00:30:00')?.toISOString()).toBe('2026-11-19T16:30:00.000Z');
  expect(parseStartTime('2026-02-29 10:00:00')).toBeNull();
  expect(parseStartTime('2026-11-20T00:30:00.123+08:00')?.toISOString()).toBe('2026-11-19T16:30:00.123Z');
});

/** parseStartTime as it was with two regular expressions: the reference for the digit-by-digit reading. */
function byRegex(s: string): Date | null {
  const iso = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$/.exec(s);
  const local = iso ? null : /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(s);
  const m = iso ?? local;
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const wall = new Date(Date.UTC(y, mo - 1, d, h, mi, se));
  if (wall.getUTCFullYear() !== y || wall.getUTCMonth() !== mo - 1 || wall.getUTCDate() !== d || h > 23 || mi > 59 || se > 59 || y < 2000) return null;
  if (!iso) return new Date(wall.getTime() - 8 * 3600_000);
  const t = new Date(s);
  return Number.isNaN(t.getTime()) ? null : t;
}

test('R-BIL-3 property: any text of a start time\'s shape reads as the regular expressions read it, and a CDR\'s cycle and staged start are its instant\'s', () => {
  const char = fc.constantFrom('0', '1', '2', '3', '5', '9', '-', ' ', ':', 'T', 'Z', '+', '.', 'a', '٣');
  const shaped = fc.tuple(fc.integer({ min: 1995, max: 2099 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }))
    .map(([y, mo, d, h, mi, se]) => `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(se)}`);
  // a well-formed local time with one character replaced, or any short text of those characters
  const mutated = fc.tuple(shaped, fc.nat(18), char).map(([s, i, c]) => s.slice(0, i) + c + s.slice(i + 1));
  const text = fc.oneof(shaped, mutated, fc.array(char, { minLength: 17, maxLength: 21 }).map((a) => a.join('')));
  fc.assert(
    fc.property(text, (s) => {
      expect(parseStartTime(s)?.getTime() ?? null).toBe(byRegex(s)?.getTime() ?? null);
      const p = parseCdr({ recordId: 'R1', serviceNumber: '13900000001', otherParty: '13900000002', startTime: s, usage: 'voice', scope: 'local', quantity: '60', area: null }, new Date('2100-01-01T00:00:00Z'));
      if (typeof p === 'string') return;
      expect(p.cycle).toBe(cycleOf(p.startedAt));
    }),
    { numRuns: 5000 },
  );
});
