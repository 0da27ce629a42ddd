// Time travel (issue 4 §6): moving the simulated clock forward runs every scheduled job for each day
// passed, in order, so months of a customer's life replay in seconds — operations, demos, training.
import { CronExpressionParser } from 'cron-parser';
import { businessDay } from './clock.ts';
import { CRON_TZ } from './jobs.ts';

export interface ScheduledJob {
  name: string;
  cron: string;
}

export interface Firing {
  at: Date;
  job: string;
}

const DAY_MS = 24 * 3600_000;
const SHANGHAI_OFFSET_MS = 8 * 3600_000;

/** Start of the Asia/Shanghai day containing `d`. */
function dayStart(d: Date): Date {
  const local = d.getTime() + SHANGHAI_OFFSET_MS;
  return new Date(local - (local % DAY_MS) - SHANGHAI_OFFSET_MS);
}

/**
 * The firings of the scheduled jobs after `from` up to and including `to`, in time order (ties in the
 * order the jobs are given). A job that fires several times a day (every five minutes, hourly) runs
 * once per day passed, at its last firing of that day: handlers work from business time and catch up
 * on everything due, and a month of every-minute runs would replay nothing more.
 */
export function firingsBetween(jobs: readonly ScheduledJob[], from: Date, to: Date): Firing[] {
  const out: { at: Date; job: string; order: number }[] = [];
  if (to.getTime() <= from.getTime()) return [];
  jobs.forEach((j, order) => {
    for (let day = dayStart(from); day.getTime() <= to.getTime(); day = new Date(day.getTime() + DAY_MS)) {
      const end = Math.min(day.getTime() + DAY_MS, to.getTime() + 1);
      const last = CronExpressionParser.parse(j.cron, { currentDate: new Date(end), tz: CRON_TZ }).prev().toDate();
      if (last.getTime() >= day.getTime() && last.getTime() > from.getTime() && last.getTime() <= to.getTime()) out.push({ at: last, job: j.name, order });
    }
  });
  return out.sort((a, b) => a.at.getTime() - b.at.getTime() || a.order - b.order).map(({ at, job }) => ({ at, job }));
}

/** Days (Asia/Shanghai) touched by a list of firings, for progress reports. */
export function daysOf(firings: readonly Firing[]): string[] {
  return [...new Set(firings.map((f) => businessDay(f.at)))];
}
