// R-BIL-3: a CDR's start time "YYYY-MM-DD HH:MM:SS" is Beijing time; an impossible date or time is refused.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { parseStartTime } from './rules.ts';

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
