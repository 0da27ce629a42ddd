import { describe, expect, test } from 'vitest';
import { businessDay, cycleOf, cycleStart, SimulatedClock } from './clock.ts';

describe('clock and cycles (Asia/Shanghai)', () => {
  test('R-BIL-4 cycles are calendar months in Asia/Shanghai', () => {
    expect(cycleOf(new Date('2026-11-30T15:59:59Z'))).toBe('2026-11');
    expect(cycleOf(new Date('2026-11-30T16:00:00Z'))).toBe('2026-12');
    expect(cycleStart('2026-12').toISOString()).toBe('2026-11-30T16:00:00.000Z');
    expect(cycleStart('2027-01').toISOString()).toBe('2026-12-31T16:00:00.000Z');
    expect(businessDay(new Date('2026-11-23T17:00:00Z'))).toBe('2026-11-24');
  });
  test('the simulated clock can be set, frozen and advanced', () => {
    let real = 1_000_000;
    const c = new SimulatedClock(new Date('2026-11-01T00:00:00Z'), { realNow: () => real });
    real += 5000;
    expect(c.now().toISOString()).toBe('2026-11-01T00:00:05.000Z');
    c.set(new Date('2027-01-01T00:00:00Z'), true);
    real += 60_000;
    expect(c.now().toISOString()).toBe('2027-01-01T00:00:00.000Z');
    c.advance(86_400_000);
    expect(c.now().toISOString()).toBe('2027-01-02T00:00:00.000Z');
    const copy = new SimulatedClock(new Date(0), { realNow: () => real });
    copy.restore(c.state());
    expect(copy.now().toISOString()).toBe('2027-01-02T00:00:00.000Z');
  });
});
