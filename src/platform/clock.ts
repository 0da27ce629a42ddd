// One Clock for all business time. Business timezone is Asia/Shanghai (UTC+8, no daylight saving),
// so cycle and day arithmetic is a fixed offset.
export interface Clock {
  now(): Date;
  readonly kind: 'real' | 'simulated';
}

export class RealClock implements Clock {
  readonly kind = 'real' as const;
  now(): Date {
    return new Date();
  }
}

export interface SimulatedClockState {
  /** The simulated instant at the moment it was set. */
  simulatedAt: string;
  /** The real instant at which it was set; simulated time runs on from there unless frozen. */
  setAtReal: string;
  frozen: boolean;
}

/** A clock that can be set and advanced, for tests, demos and the training sandbox. */
export class SimulatedClock implements Clock {
  readonly kind = 'simulated' as const;
  private simulatedMs: number;
  private setAtRealMs: number;
  private frozen: boolean;
  private readonly realNow: () => number;

  constructor(start: Date = new Date(), opts: { frozen?: boolean; realNow?: () => number } = {}) {
    this.realNow = opts.realNow ?? (() => Date.now());
    this.simulatedMs = start.getTime();
    this.setAtRealMs = this.realNow();
    this.frozen = opts.frozen ?? false;
  }

  now(): Date {
    return new Date(this.frozen ? this.simulatedMs : this.simulatedMs + (this.realNow() - this.setAtRealMs));
  }

  set(instant: Date, frozen = this.frozen): void {
    this.simulatedMs = instant.getTime();
    this.setAtRealMs = this.realNow();
    this.frozen = frozen;
  }

  advance(ms: number): void {
    this.set(new Date(this.now().getTime() + ms));
  }

  state(): SimulatedClockState {
    return {
      simulatedAt: new Date(this.simulatedMs).toISOString(),
      setAtReal: new Date(this.setAtRealMs).toISOString(),
      frozen: this.frozen,
    };
  }

  restore(s: SimulatedClockState): void {
    this.simulatedMs = Date.parse(s.simulatedAt);
    this.setAtRealMs = Date.parse(s.setAtReal);
    this.frozen = s.frozen;
  }
}

/** The business timezone, Asia/Shanghai: UTC+8, no daylight saving. */
export const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;

function shanghaiParts(d: Date): { y: number; m: number; day: number } {
  const s = new Date(d.getTime() + SHANGHAI_OFFSET_MS);
  return { y: s.getUTCFullYear(), m: s.getUTCMonth() + 1, day: s.getUTCDate() };
}

/** The billing cycle (calendar month in Asia/Shanghai) of an instant: "2026-11". */
export function cycleOf(d: Date): string {
  const { y, m } = shanghaiParts(d);
  return `${y}-${String(m).padStart(2, '0')}`;
}

/** The business day of an instant in Asia/Shanghai: "2026-11-23". */
export function businessDay(d: Date): string {
  const { y, m, day } = shanghaiParts(d);
  return `${y}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export const CYCLE_PATTERN = '^20[0-9]{2}-(0[1-9]|1[0-2])$';

/** The instant a cycle starts (00:00 on the 1st, Asia/Shanghai). */
export function cycleStart(cycle: string): Date {
  const [y, m] = cycle.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1, 1) - SHANGHAI_OFFSET_MS);
}

export function compareCycles(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The cycle `months` after `cycle` ("2026-12" + 1 → "2027-01"). */
export function addCycles(cycle: string, months: number): string {
  const [y, m] = cycle.split('-').map(Number) as [number, number];
  const idx = y * 12 + (m - 1) + months;
  return `${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, '0')}`;
}

/** Days in a cycle and the day of the cycle an instant falls on (1-based), both in Asia/Shanghai. */
export function cycleDays(cycle: string): number {
  return Math.round((cycleStart(addCycles(cycle, 1)).getTime() - cycleStart(cycle).getTime()) / 86_400_000);
}
export function dayOfCycle(d: Date): number {
  return shanghaiParts(d).day;
}
