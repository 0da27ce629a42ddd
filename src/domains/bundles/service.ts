// Bundles (捆绑业务, SPEC §8, seed 000): binding and unbinding members into a bundle (a `packages` row
// with linkage, so credit control's R-CC-4 linkage applies unchanged), and the views of a bundle.
import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock.ts';
import type { Db } from '../../platform/db.ts';
import type { AccountService } from '../accounts/service.ts';
import type { CatalogService } from '../catalog/service.ts';

export interface BundleDeps {
  db: Db;
  clock: Clock;
  accounts: AccountService;
  catalog: CatalogService;
  log?: Logger | undefined;
}

export class BundleService {
  readonly deps: BundleDeps;
  constructor(deps: BundleDeps) {
    this.deps = deps;
  }
}
