// The monthly bundle grants (R-BND-7), the daily catch-up (R-BND-8) and the month's family numbers
// (R-BND-9), set-based and idempotent per bundle per month.
import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock.ts';
import type { Db } from '../../platform/db.ts';
import type { MoneyService } from '../accounts/money.ts';

export interface BundleGrantDeps {
  db: Db;
  clock: Clock;
  money: MoneyService;
  log?: Logger | undefined;
}

export class BundleGrantService {
  readonly deps: BundleGrantDeps;
  constructor(deps: BundleGrantDeps) {
    this.deps = deps;
  }
}
