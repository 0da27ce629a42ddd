// Wires the platform parts and the domain services; tests and the training sandbox build a second one.
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { type Clock, RealClock, SimulatedClock } from '../platform/clock.ts';
import type { Config } from '../platform/config.ts';
import { type Database, openDatabase, type OpenOptions } from '../platform/db.ts';
import { migrate } from '../platform/migrate.ts';
import { AccountService } from '../domains/accounts/service.ts';
import { MoneyService } from '../domains/accounts/money.ts';
import { AccountingReference } from '../domains/accounts/reference.ts';
import { CustomerService } from '../domains/customers/service.ts';
import { OperatorService } from '../domains/operators/service.ts';
import { ClockService } from '../domains/operators/clock-service.ts';
import { ResourceService } from '../domains/resources/service.ts';
import { StockService } from '../domains/resources/stock-service.ts';
import { CatalogService } from '../domains/catalog/service.ts';
import { OrderService } from '../domains/orders/service.ts';
import type { FaultInjector } from '../domains/orders/types.ts';
import { Jobs } from '../platform/jobs.ts';
import { kiSecretBox, type SecretBox, secretBox } from '../platform/secrets.ts';
import { type NetworkProvisioning, SimulatedNetwork } from '../platform/provisioning.ts';
import { CardWritingService } from '../domains/resources/card-writing.ts';

export interface AppContext {
  config: Config;
  database: Database;
  clock: Clock;
  log: Logger;
  operators: OperatorService;
  customers: CustomerService;
  accounts: AccountService;
  money: MoneyService;
  reference: AccountingReference;
  clockService: ClockService;
  resources: ResourceService;
  /** Warehouses, stock documents (transfers, picks, returns), counts and card history (SPEC §10). */
  stock: StockService;
  catalog: CatalogService;
  orders: OrderService;
  /** Background jobs; started only when createContext is asked to (`serve`), tests run handlers directly. */
  jobs: Jobs;
  /** Seals card data secrets (Ki/OPc) at rest. */
  kiBox: SecretBox;
  /** R-INT-2 network provisioning adapter (the simulator unless one is given) */
  network: NetworkProvisioning;
  /** On-site card writing (R-RES-4, R-RES-5, R-X-11) */
  cardWriting: CardWritingService;
  close(): Promise<void>;
}

export const REDACT = ['req.headers.authorization', '*.password', '*.servicePassword', '*.idNumber', '*.contactPhone', '*.bankAccountNumber'];

export function createLogger(config: Config): Logger {
  return pino({ level: config.logLevel, redact: { paths: REDACT, censor: '***' }, base: { service: 'openboss' } });
}

export async function createContext(config: Config, opts: { log?: Logger; clock?: Clock; db?: OpenOptions; startJobs?: boolean; faults?: FaultInjector; network?: NetworkProvisioning } = {}): Promise<AppContext> {
  const log = opts.log ?? createLogger(config);
  const database = await openDatabase(opts.db ?? { databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.poolSize });
  const applied = await migrate(database);
  if (applied.length) log.info({ applied }, 'migrations applied');
  const clock = opts.clock ?? (config.clock === 'simulated' ? new SimulatedClock() : new RealClock());
  const db = database.db;
  const clockService = new ClockService({ db, clock });
  await clockService.restore();
  const reference = new AccountingReference(db);
  const resources = new ResourceService({ db, clock });
  const customers = new CustomerService({ db, clock });
  const accounts = new AccountService({ db, clock, reference });
  const money = new MoneyService({ db, clock, reference });
  const catalog = new CatalogService({ db, clock });
  const network = opts.network ?? new SimulatedNetwork({ clock });
  const orders = new OrderService({ db, clock, customers, accounts, money, catalog, resources, network, faults: opts.faults });
  const kiBox = kiSecretBox({ kiKey: config.kiKey, dataDir: opts.db?.dataDir ?? config.dataDir });
  // the readers' transport key: configured, else per process (a script is written within seconds of its issue)
  const cardWriting = new CardWritingService({ db, clock, resources, kiBox, transport: secretBox(config.cardTransportKey ?? randomBytes(32).toString('hex')) });
  const jobs = new Jobs({ database, clock, log });
  resources.registerJobs(jobs);
  orders.registerJobs(jobs);
  if (opts.startJobs) {
    try {
      await jobs.start();
    } catch (err) {
      await database.close();
      throw err;
    }
  }
  return {
    config,
    database,
    clock,
    log,
    operators: new OperatorService({ db, clock, tokenTtlSeconds: config.tokenTtlSeconds }),
    customers,
    accounts,
    money,
    reference,
    clockService,
    resources,
    stock: new StockService({ db, clock }),
    catalog,
    orders,
    jobs,
    kiBox,
    network,
    cardWriting,
    close: async () => {
      await jobs.stop();
      await database.close();
    },
  };
}
