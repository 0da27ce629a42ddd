// Kysely table types; they mirror migrations/*.sql (one place to look when a column changes).
import type { ColumnType, Generated } from 'kysely';

type Ts = ColumnType<Date, Date | string, Date | string>;
type TsDefault = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface DepartmentsTable {
  department_id: string;
  parent_id: string | null;
  name: string;
  kind: 'company' | 'branch' | 'hall' | 'channel' | 'room';
  warehouse_code: string | null;
  writing_warehouse_code: string | null;
  created_at: TsDefault;
}
export interface RolesTable {
  role_code: string;
  name_zh: string;
  name_en: string;
  permissions: string[];
}
export interface OperatorsTable {
  operator_id: Generated<number>;
  username: string;
  name: string;
  department_id: string;
  roles: string[];
  password_hash: string;
  status: Generated<'active' | 'disabled'>;
  joined_at: TsDefault;
  created_at: TsDefault;
}
export interface SessionsTable {
  token_hash: string;
  operator_id: number;
  created_at: Ts;
  expires_at: Ts;
}
export interface AuditLogTable {
  audit_id: Generated<number>;
  at: Ts;
  operator_id: number | null;
  department_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  account_id: number | null;
  before: Json | null;
  after: Json | null;
  request_id: string | null;
}
export interface OutboxTable {
  event_id: Generated<number>;
  event_type: string;
  aggregate_type: string;
  aggregate_id: string;
  account_id: number | null;
  payload: Json;
  occurred_at: Ts;
  published_at: Ts | null;
}
export interface ClockStateTable {
  id: number;
  simulated_at: Ts;
  set_at_real: Ts;
  frozen: boolean;
}
export interface CustomersTable {
  customer_id: Generated<number>;
  kind: 'person' | 'organisation';
  name: string;
  id_type: string;
  id_number: string;
  address: string | null;
  contact_phone: string | null;
  segment: 'personal' | 'family' | 'group';
  vip_level: Generated<string>;
  value_level: Generated<number>;
  handler: Json | null;
  contact: Json | null;
  service_password_hash: string | null;
  department_id: string | null;
  created_at: Ts;
  updated_at: Ts;
}
export type BillingType = 'virtual' | 'quota' | 'monthly';
export type PaymentMethod = 'cash' | 'recharge_card' | 'bank_agency' | 'bank_collection';
export interface AccountsTable {
  account_id: Generated<number>;
  customer_id: number;
  name: string;
  billing_type: BillingType;
  payment_method: PaymentMethod;
  bank_name: string | null;
  bank_account_holder: string | null;
  bank_account_number: string | null;
  credit_limit_fen: Generated<number>;
  status: Generated<'active' | 'closed'>;
  money_version: Generated<number>;
  created_at: Ts;
  updated_at: Ts;
}
export type Network = 'gsm2g' | 'wcdma3g' | 'broadband' | 'fixed';
export interface SubscribersTable {
  subscriber_id: Generated<number>;
  service_number: string;
  network: Network;
  customer_id: number;
  default_account_id: number;
  status: Generated<string>;
  activated_at: Ts;
  created_at: Ts;
}
export interface BillItemsTable {
  code: string;
  name_zh: string;
  name_en: string;
  priority: number;
  active: Generated<boolean>;
}
export interface BookTypesTable {
  code: string;
  name_zh: string;
  name_en: string;
  priority: number;
  pays_earlier_cycles: Generated<boolean>;
  excluded_items: Generated<string[]>;
}
export interface PaymentRelationsTable {
  relation_id: Generated<number>;
  payer_account_id: number;
  subscriber_id: number;
  priority: number;
  items: string[] | null;
  limit_fen: number | null;
  created_at: Ts;
  revoked_at: Ts | null;
}
export interface BooksTable {
  account_id: number;
  book_id: Generated<number>;
  book_type: string;
  restricted_items: string[] | null;
  subscriber_id: number | null;
  start_at: Ts;
  expiry_at: Ts | null;
  amount_fen: number;
  balance_fen: number;
  source_kind: 'payment' | 'grant';
  created_at: Ts;
  closed_at: Ts | null;
}
export interface PaymentsTable {
  account_id: number;
  payment_id: Generated<number>;
  kind: 'payment' | 'reversal';
  amount_fen: number;
  book_type: string;
  book_id: number;
  channel: string;
  idempotency_key: string | null;
  request_hash: string | null;
  reverses_payment_id: number | null;
  operator_id: number | null;
  department_id: string | null;
  business_day: string;
  invoiced_at: Ts | null;
  created_at: Ts;
}
export interface GrantsTable {
  account_id: number;
  grant_id: Generated<number>;
  amount_fen: number;
  book_type: string;
  book_id: number;
  reason: string;
  operator_id: number | null;
  created_at: Ts;
}
export interface BookExpiriesTable {
  account_id: number;
  expiry_id: Generated<number>;
  book_id: number;
  amount_fen: number;
  expired_at: Ts;
}
export interface BillsTable {
  account_id: number;
  bill_id: Generated<number>;
  cycle: string;
  status: Generated<'prebill' | 'published'>;
  adjusted_at: Ts | null;
  created_at: Ts;
}
export interface BillLinesTable {
  account_id: number;
  line_id: Generated<number>;
  bill_id: number;
  cycle: string;
  subscriber_id: number;
  item_code: string;
  amount_fen: number;
  paid_fen: Generated<number>;
  relation_id: number | null;
  source: 'manual' | 'bill_run';
  created_at: Ts;
}
export interface WriteOffsTable {
  account_id: number;
  write_off_id: Generated<number>;
  line_id: number;
  book_id: number;
  amount_fen: number;
  trigger_kind: 'payment' | 'grant' | 'bill' | 'reversal';
  trigger_id: number;
  reverses_write_off_id: number | null;
  created_at: Ts;
}
export interface SchemaMigrationsTable {
  version: string;
  checksum: string;
  applied_at: TsDefault;
}

export interface DB {
  departments: DepartmentsTable;
  roles: RolesTable;
  operators: OperatorsTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
  outbox: OutboxTable;
  clock_state: ClockStateTable;
  customers: CustomersTable;
  accounts: AccountsTable;
  subscribers: SubscribersTable;
  bill_items: BillItemsTable;
  book_types: BookTypesTable;
  payment_relations: PaymentRelationsTable;
  books: BooksTable;
  payments: PaymentsTable;
  grants: GrantsTable;
  book_expiries: BookExpiriesTable;
  bills: BillsTable;
  bill_lines: BillLinesTable;
  write_offs: WriteOffsTable;
  schema_migrations: SchemaMigrationsTable;
}
