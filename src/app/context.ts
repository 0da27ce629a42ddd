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
import { LateFeeService } from '../domains/accounts/late-fees.ts';
import { RefundService } from '../domains/accounts/refunds.ts';
import { BadDebtService } from '../domains/accounts/bad-debt.ts';
import { BundleGrantService } from '../domains/bundles/grants.ts';
import { BundleService } from '../domains/bundles/service.ts';
import { CreditService } from '../domains/credit/service.ts';
import { type NotificationAdapter, SimulatedSms } from '../platform/notifications.ts';
import { UsageService } from '../domains/usage/service.ts';
import { BillRunService } from '../domains/billing/service.ts';
import { Relay } from '../platform/relay.ts';

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
  /** Late fees (滞纳金, R-ACC-17, R-X-7); the bill run calls chargeLateFees per account */
  lateFees: LateFeeService;
  /** Refund cases of bank-collection over-deductions (退费, R-ACC-16) */
  refunds: RefundService;
  /** Bad debt of closed accounts (坏账核销, R-BIL-10) */
  badDebts: BadDebtService;
  /** Credit control (信控): real-time balance, reminders, stops and resumptions (SPEC §6) */
  credit: CreditService;
  /** R-INT-3 SMS adapter (the simulator unless one is given); the relay delivers `notification.sms` events to it */
  notifications: NotificationAdapter;
  /** CDR ingestion and rating (R-BIL-1..3, R-BIL-8) */
  usage: UsageService;
  /** The monthly bill run (出账, R-BIL-4..9) and the advance rent of virtual accounts (R-BIL-8) */
  billing: BillRunService;
  /** Bundles (捆绑业务, SPEC §8): bind, unbind, members and views */
  bundles: BundleService;
  /** R-BND-7..9: the monthly bundle grants, their daily catch-up and the month's family numbers */
  bundleGrants: BundleGrantService;
  /** R-INT-1 outbox relay: delivery to webhooks, NATS JetStream and the notification adapter; its loop runs in `serve`. */
  relay: Relay;
  close(): Promise<void>;
}

export const REDACT = ['req.headers.authorization', '*.password', '*.servicePassword', '*.idNumber', '*.contactPhone', '*.bankAccountNumber'];

export function createLogger(config: Config): Logger {
  return pino({ level: config.logLevel, redact: { paths: REDACT, censor: '***' }, base: { service: 'openboss' } });
}

export async function createContext(config: Config, opts: { log?: Logger; clock?: Clock; db?: OpenOptions; startJobs?: boolean; faults?: FaultInjector; network?: NetworkProvisioning; notifications?: NotificationAdapter } = {}): Promise<AppContext> {
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
  const bundles = new BundleService({ db, clock, accounts, catalog, log });
  const orders = new OrderService({ db, clock, customers, accounts, money, catalog, resources, bundles, network, faults: opts.faults });
  const kiBox = kiSecretBox({ kiKey: config.kiKey, dataDir: opts.db?.dataDir ?? config.dataDir });
  // the readers' transport key: configured, else per process (a script is written within seconds of its issue)
  const cardWriting = new CardWritingService({ db, clock, resources, kiBox, transport: secretBox(config.cardTransportKey ?? randomBytes(32).toString('hex')) });
  const jobs = new Jobs({ database, clock, log });
  resources.registerJobs(jobs);
  orders.registerJobs(jobs);
  const notifications = opts.notifications ?? new SimulatedSms({ clock });
  const credit = new CreditService({ db, clock, accounts, network, log });
  credit.registerJobs(jobs);
  // R-CC-2 / R-X-4: a payment that clears the arrears resumes the lines in its own request, after its commit
  money.onCredited((e) => credit.onCredited(e));
  const usage = new UsageService({ database, clock, money, spillDir: config.spillDir });
  usage.registerJobs(jobs);
  // R-CC-1 unbilled usage in the real-time balance; R-BIL-8 virtual accounts judged as soon as they are charged
  credit.useUsage(usage);
  usage.onCharged((accountIds) => credit.evaluateCharged(accountIds).then(() => undefined));
  const billing = new BillRunService({ db, clock, money, reference });
  billing.usage = usage;
  // R-BIL-5 → credit control: after publishing, the accounts where something can happen now; charged advance rent at once
  billing.onPublished = (accountIds) => credit.evaluatePublished(accountIds).then(() => undefined);
  billing.onCharged = (accountIds) => credit.evaluateAccounts(accountIds).then(() => undefined);
  // R-ACC-17: the bill run asks late fees per account
  const lateFees = new LateFeeService({ db, clock, money });
  billing.lateFees = (tx, a, c) => lateFees.chargeLateFees(tx, a, c);
  billing.registerJobs(jobs);
  // R-INT-3: `notification.*` events reach the SMS adapter through the relay
  const bundleGrants = new BundleGrantService({ db, clock, money, network, log });
  // R-BND-7 on the 1st at 06:00, R-BND-8 every morning at 06:30
  bundleGrants.registerJobs(jobs);
  const relay = new Relay({ db, clock, log, config: config.relay, notifications: () => notifications });
  relay.registerJobs(jobs);
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
    lateFees,
    refunds: new RefundService({ db, clock }),
    badDebts: new BadDebtService({ db, clock }),
    credit,
    notifications,
    usage,
    billing,
    bundles,
    bundleGrants,
    relay,
    close: async () => {
      await relay.stop();
      await jobs.stop();
      await database.close();
    },
  };
}
