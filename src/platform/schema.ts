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
  /** e.g. 'pre_cancellation' (R-ORD-8) */
  capabilities: Generated<string[]>;
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
  /** generated from lifecycle and stop_reasons (SPEC §6.1, R-X-1); never written */
  status: ColumnType<SubscriberStatus, never, never>;
  lifecycle: Generated<Lifecycle>;
  stop_reasons: Generated<StopReason[]>;
  brand_code: string | null;
  iccid: string | null;
  imsi: string | null;
  standard_address: string | null;
  install_address: string | null;
  bandwidth_mbps: number | null;
  long_distance_level: Generated<'local' | 'domestic' | 'international'>;
  account_manager: string | null;
  archived: Generated<boolean>;
  package_id: number | null;
  pre_cancelled_at: Ts | null;
  cancelled_at: Ts | null;
  updated_at: Ts | null;
  activated_at: Ts;
  created_at: Ts;
}
export type Lifecycle = 'normal' | 'pre_cancelled' | 'cancelled';
export type StopReason = 'arrears_one_way' | 'arrears_two_way' | 'high_usage' | 'on_request' | 'lost' | 'bundle' | 'operator';
export type SubscriberStatus = 'normal' | 'arrears_stop' | 'suspended' | 'lost' | 'bundle_stop' | 'stopped' | 'pre_cancelled' | 'cancelled';
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
  kind: 'payment' | 'reversal' | 'refund';
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
  /** bill run (0011): the run that billed it, its due date and publication */
  run_id: number | null;
  due_at: Ts | null;
  published_at: Ts | null;
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
  source: 'manual' | 'bill_run' | 'usage' | 'recurring' | 'minimum_spend' | 'virtual_rent' | 'late_fee';
  /** bill run (0011): the run that wrote the line */
  run_id: number | null;
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

export type OfferKind = 'plan' | 'package' | 'pack' | 'feature' | 'bundle';
export type Linkage = 'immediate' | 'next_cycle_if_funded';
export interface BrandsTable {
  brand_code: string;
  name_zh: string;
  name_en: string;
}
export interface OfferMember {
  role: string;
  network: Network;
}
export interface OffersTable {
  offer_code: string;
  kind: OfferKind;
  name_zh: string;
  name_en: string;
  brand_code: string | null;
  network: Network | null;
  description_zh: Generated<string>;
  description_en: Generated<string>;
  valid_from: Ts;
  valid_to: Ts | null;
  allowed_predecessors: string[] | null;
  forbidden_switches: Generated<string[]>;
  members: ColumnType<OfferMember[] | null, string | null, string | null>;
  linkage: Linkage | null;
  requires_sms_confirmation: Generated<boolean>;
  minimum_spend_fen: Generated<number>;
  term_months: Generated<number>;
  customer_segment: 'personal' | 'family' | 'group' | null;
  attributes: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Ts;
  updated_at: Ts;
}
export interface OfferChargesTable {
  offer_code: string;
  seq: number;
  kind: 'recurring' | 'one_off';
  item_code: string;
  member_role: string | null;
  amount_fen: number;
}
export interface OfferTariffsTable {
  offer_code: string;
  usage: 'voice' | 'sms' | 'data';
  scope: 'local' | 'long_distance' | 'roaming' | 'any';
  included_units: Generated<number>;
  unit: 'minute' | 'message' | 'kb' | 'mb';
  rate_fen: number;
  member_role: string | null;
}
export interface FeesTable {
  fee_code: string;
  name_zh: string;
  name_en: string;
  item_code: string;
  amount_fen: number;
  waivable: Generated<boolean>;
}
export interface PackagesTable {
  package_id: Generated<number>;
  offer_code: string;
  customer_id: number;
  account_id: number;
  linkage: Linkage | null;
  order_id: number | null;
  started_at: Ts;
  ended_at: Ts | null;
  ended_order_id: Generated<number | null>;
  ended_reason: Generated<string | null>;
}
export type BundleGeneration = '2G' | '3G' | 'other';
export interface BundleOffersTable {
  offer_code: string;
  generation: BundleGeneration;
  requires_joint_account: Generated<boolean>;
  requires_same_number: Generated<boolean>;
  family_roles: string[] | null;
  allows_contract_plans: Generated<boolean>;
  once_per_month: Generated<boolean>;
}
export interface BundleGrantItemsTable {
  offer_code: string;
  seq: number;
  member_role: string;
  kind: 'money' | 'pack';
  amount_fen: number | null;
  restricted_items: string[] | null;
  pack_offer_code: string | null;
  name_zh: string;
  name_en: string;
}
export interface BundleMembersTable {
  package_id: number;
  subscriber_id: number;
  member_role: string;
  account_id: number;
  joined_at: Ts;
  left_at: Ts | null;
}
export type BundleGrantSkip = 'mobile_not_normal' | 'broadband_arrears' | 'broadband_no_fund' | 'broadband_stopped';
export interface BundleGrantsTable {
  package_id: number;
  cycle: string;
  account_id: number;
  status: 'granted' | 'skipped';
  reason: BundleGrantSkip | null;
  amount_fen: Generated<number>;
  grant_ids: Generated<number[]>;
  pack_ids: Generated<number[]>;
  checked_at: Ts;
  granted_at: Ts | null;
  caught_up: Generated<boolean>;
}
export interface SubscriberOffersTable {
  subscriber_offer_id: Generated<number>;
  subscriber_id: number;
  offer_code: string;
  kind: OfferKind;
  package_id: number | null;
  member_role: string | null;
  order_id: number | null;
  started_at: Ts;
  ended_at: Ts | null;
  minimum_spend_fen: Generated<number>;
  term_ends_at: Ts | null;
}
export type OrderStatus = 'draft' | 'checked' | 'quoted' | 'awaiting_confirmation' | 'submitted' | 'completed' | 'cancelled';
export interface OrdersTable {
  order_id: Generated<number>;
  business_type: string;
  status: OrderStatus;
  customer_id: number | null;
  account_id: number | null;
  subscriber_id: number | null;
  operator_id: number;
  department_id: string;
  input: Json;
  check_results: Json | null;
  /** R-ORD-5: the subjects the last check found (the submission takes their holds with its lock) */
  hold_subjects: string[] | null;
  changes: Json | null;
  notices: Json | null;
  result: Json | null;
  authorised_at: Ts | null;
  confirmation: Json | null;
  cancel_reason: string | null;
  version: Generated<number>;
  created_at: Ts;
  updated_at: Ts;
  checked_at: Ts | null;
  quoted_at: Ts | null;
  submitted_at: Ts | null;
  completed_at: Ts | null;
  cancelled_at: Ts | null;
}
export interface OrderFeesTable {
  order_id: number;
  line_no: number;
  fee_code: string;
  kind: 'fee' | 'prestore';
  item_code: string | null;
  book_type: string | null;
  restricted_items: string[] | null;
  name_zh: string;
  name_en: string;
  member_role: string | null;
  amount_fen: number;
  waived_fen: Generated<number>;
  waived_by: number | null;
  waiver_reason: string | null;
}
export interface OrderHoldsTable {
  subject: string;
  order_id: number;
  kind: 'in_transit' | 'reservation';
  held_until: Ts | null;
  created_at: Ts;
}
export interface WorkOrdersTable {
  work_order_id: Generated<number>;
  order_id: number;
  kind: 'installation' | 'removal' | 'reinstall';
  subscriber_id: number | null;
  address: string | null;
  /** R-BND-18: the measurement room (测量室) a new broadband installation is dispatched to */
  measurement_room: string | null;
  status: Generated<'open' | 'completed' | 'cancelled'>;
  note: string | null;
  created_at: Ts;
  completed_at: Ts | null;
  completed_by: number | null;
}

export interface BusinessParametersTable {
  key: string;
  value: number;
  description: string;
}

// resources (migrations/0008_resources.sql)
export type NumberState = 'free' | 'reserved' | 'in_use' | 'frozen' | 'recycled';
export type ReservationKind = 'online' | 'card_writing' | 'order';
export type SimCardType = 'blank_128k' | 'blank_128k_micro' | 'finished';
export type SimState = 'in_stock' | 'reserved' | 'picked' | 'written' | 'activated' | 'returned' | 'retired';
export interface NumberLevelsTable {
  code: string;
  name_zh: string;
  name_en: string;
  patterns: ColumnType<unknown, string, string>;
  priority: number;
  price_fen: number;
  requires_approval: boolean;
  requires_campaign: Generated<boolean>;
  agent_allowed: boolean;
}
export interface NumberPolicyTable {
  id: number;
  online_hold_hours: number;
  card_writing_hold_hours: number;
  order_hold_hours: number;
  cooling_days: number;
  recycled_hold_hours: number;
}
export interface NumbersTable {
  service_number: string;
  number_class: 'mobile' | 'fixed';
  level_code: string;
  state: Generated<NumberState>;
  department_id: string | null;
  reservation_kind: ReservationKind | null;
  reserved_order_id: number | null;
  reserved_customer_id: number | null;
  reserved_operator_id: number | null;
  reserved_at: Ts | null;
  reserved_until: Ts | null;
  subscriber_id: number | null;
  state_changed_at: Ts;
  cooling_until: Ts | null;
  created_at: Ts;
}
export interface SimCardsTable {
  iccid: string;
  imsi: string | null;
  card_type: SimCardType;
  state: Generated<SimState>;
  warehouse_code: string | null;
  department_id: string | null;
  picked_by_department_id: string | null;
  picked_at: Ts | null;
  reserved_order_id: number | null;
  service_number: string | null;
  subscriber_id: number | null;
  state_changed_at: Ts;
  activated_at: Ts | null;
  created_at: Ts;
  stock_order_id: number | null;
  batch_id: number | null;
  written_at: Ts | null;
}
export type WarehouseLevel = 'company' | 'branch' | 'writing' | 'hall';
export interface WarehousesTable {
  warehouse_code: string;
  name: string;
  department_id: string;
  parent_code: string | null;
  level: WarehouseLevel;
  category: Generated<'own_outlet' | 'social_channel'>;
  created_at: Ts;
}
export interface WarehouseStockLimitsTable {
  warehouse_code: string;
  card_type: SimCardType;
  min_quantity: number;
  max_quantity: number;
  updated_at: Ts;
}
export interface StockImportBatchesTable {
  batch_id: Generated<number>;
  kind: 'cards' | 'card_data';
  file_name: string;
  file_sha256: string;
  warehouse_code: string | null;
  card_type: SimCardType | null;
  rows_total: Generated<number>;
  rows_imported: Generated<number>;
  rows_failed: Generated<number>;
  errors: Generated<Json>;
  state: Generated<'running' | 'completed' | 'failed'>;
  operator_id: number | null;
  department_id: string | null;
  started_at: Ts;
  finished_at: Ts | null;
}
export interface SimCardDataTable {
  iccid: string;
  imsi: string;
  ki_encrypted: Buffer;
  opc_encrypted: Buffer | null;
  ki_key_id: string;
  batch_id: number | null;
  imported_at: Ts;
}
export type StockOrderKind = 'allocate' | 'transfer' | 'pick' | 'return';
export type StockOrderState = 'pending' | 'out_approved' | 'completed' | 'cancelled' | 'rejected';
export interface StockOrdersTable {
  stock_order_id: Generated<number>;
  kind: StockOrderKind;
  state: Generated<StockOrderState>;
  source_warehouse_code: string;
  target_warehouse_code: string | null;
  channel_department_id: string | null;
  card_type: SimCardType | null;
  selection: 'quantity' | 'iccid_list' | 'range';
  quantity: number;
  note: string | null;
  created_by: number;
  created_department_id: string;
  created_at: Ts;
  out_approved_by: number | null;
  out_approved_at: Ts | null;
  in_approved_by: number | null;
  in_approved_at: Ts | null;
  closed_by: number | null;
  closed_at: Ts | null;
  close_reason: string | null;
}
export interface StockOrderItemsTable {
  stock_order_id: number;
  iccid: string;
}
export interface SimCardEventsTable {
  event_id: Generated<number>;
  iccid: string;
  at: Ts;
  event: string;
  from_state: string | null;
  to_state: string;
  warehouse_code: string | null;
  holder_department_id: string | null;
  stock_order_id: number | null;
  order_id: number | null;
  operator_id: number | null;
  detail: Json | null;
}
export interface StockCountsTable {
  count_id: Generated<number>;
  warehouse_code: string;
  card_type: SimCardType;
  book_quantity: number;
  counted_quantity: number;
  difference: Generated<number>;
  note: string | null;
  operator_id: number;
  counted_at: Ts;
}
export interface StockCountDifferencesTable {
  count_id: number;
  iccid: string;
  kind: 'missing' | 'unexpected';
}
export interface CardWritesTable {
  write_id: Generated<number>;
  iccid: string;
  order_id: number;
  service_number: string;
  imsi: string | null;
  operator_id: number;
  department_id: string;
  state: Generated<'issued' | 'succeeded' | 'failed' | 'expired'>;
  error_code: string | null;
  error_message: string | null;
  issued_at: Ts;
  reported_at: Ts | null;
}
export interface HandsetsTable {
  imei: string;
  model: string;
  price_fen: number;
  order_id: number | null;
  subscriber_id: number | null;
  customer_id: number | null;
  campaign_code: string | null;
  recorded_at: Ts;
}

// Outbox relay (R-INT-1): per-sink delivery state of each event (migrations/0013_relay.sql).
export interface OutboxDeliveriesTable {
  event_id: number;
  sink: string;
  aggregate_type: string;
  aggregate_id: string;
  status: Generated<'pending' | 'delivered' | 'dead'>;
  attempts: Generated<number>;
  next_attempt_at: Ts;
  last_attempt_at: Ts | null;
  last_error: string | null;
  delivered_at: Ts | null;
}

// credit control and notification templates (migrations/0012_credit.sql)
export type CreditState = 'ok' | 'reminded' | 'exempt' | 'reopened' | 'stopped_one_way' | 'stopped_two_way' | 'linked_pending' | 'linked_stopped';
export interface CreditStatesTable {
  subscriber_id: number;
  account_id: number;
  state: CreditState;
  since: Ts;
  rule: string;
  balance_fen: number | null;
  arrears_fen: number | null;
  reminded_at: Ts | null;
  stopped_at: Ts | null;
  exempt_until: Ts | null;
  reopen_until: Ts | null;
  reopened_by: number | null;
  linked_to: number | null;
  linked_stop_at: Ts | null;
  updated_at: Ts;
}
export interface CreditVipExemptionsTable {
  vip_level: string;
}
export interface NotificationTemplatesTable {
  template_code: string;
  channel: Generated<'sms'>;
  text_zh: string;
  description: string;
}

// usage and rating (R-BIL-1..3, R-BIL-8; migrations/0010_usage.sql)
export interface UsageFilesTable {
  file_id: Generated<number>;
  kind: 'file' | 'api';
  file_name: string;
  sha256: string | null;
  status: Generated<'running' | 'completed' | 'failed'>;
  rows_total: Generated<number>;
  accepted: Generated<number>;
  rejected: Generated<number>;
  duplicate: Generated<number>;
  errors: ColumnType<unknown, string | undefined, string>;
  operator_id: number | null;
  department_id: string | null;
  started_at: Ts;
  finished_at: Ts | null;
  /** The import's spill directory (on the importing machine) while it runs. */
  spill_dir: ColumnType<string | null, string | null | undefined, string | null>;
}
export interface UsageStagingTable {
  file_id: number;
  line: number;
  record_id: string;
  service_number: string;
  other_party: string;
  started_at: Ts;
  cycle: string;
  usage: string;
  scope: string;
  quantity: number;
  area: string | null;
}
export interface CdrsTable {
  account_id: number;
  record_id: string;
  subscriber_id: number;
  cycle: string;
  usage: 'voice' | 'sms' | 'data';
  scope: 'local' | 'long_distance' | 'roaming';
  other_party: string;
  started_at: Ts;
  quantity: number;
  area: string | null;
  file_id: number;
  line: number | null;
  imported_at: Ts;
  rated_at: Ts | null;
  item_code: string | null;
  unit: string | null;
  units: number | null;
  free_units: number | null;
  rate_fen: number | null;
  charge_fen: number | null;
  offer_code: string | null;
  free_reason: string | null;
}
/** Rated CDRs as compact sets (migration 0023, src/domains/usage/sets.ts). */
export interface CdrSetsTable {
  account_id: number;
  subscriber_id: number;
  cycle: string;
  file_id: number;
  part: Generated<number>;
  records: number;
  charge_fen: number;
  imported_at: Ts;
  body: Buffer;
  hashes: Buffer;
  /** the units its records used of each allowance pool (sets.ts), null for none */
  pools: Buffer | null;
}
export interface UsageAllowancesTable {
  account_id: number;
  subscriber_id: number;
  cycle: string;
  usage: string;
  scope: string;
  used_units: Generated<number>;
}
export interface UsageChargesTable {
  account_id: number;
  subscriber_id: number;
  cycle: string;
  item_code: string;
  amount_fen: Generated<number>;
  units: Generated<number>;
  records: Generated<number>;
  billed_fen: Generated<number>;
  billed_at: Ts | null;
  updated_at: Ts;
}
export interface FamilyNumbersTable {
  family_number_id: Generated<number>;
  subscriber_id: number;
  family_number: string;
  valid_from: Ts;
  valid_to: Ts | null;
  rate_fen: Generated<number>;
  source: string;
  source_id: string | null;
  created_at: Ts;
}
export interface UsageVpmnGroupsTable {
  group_code: string;
  name: string;
  voice_rate_fen: number;
}
export interface UsageVpmnMembersTable {
  group_code: string;
  subscriber_id: number;
  service_number: string;
  short_number: string | null;
  valid_from: Ts;
  valid_to: Ts | null;
  source: string;
  source_id: string | null;
}
export interface UsageBaseTariffsTable {
  usage: string;
  scope: string;
  unit: string;
  rate_fen: number;
}

// late fees, refund cases, bad debt (migrations/0014_late_fees_refunds.sql; R-ACC-16, R-ACC-17, R-X-7, R-BIL-10)
export interface LateFeeExemptItemsTable {
  item_code: string;
}
export interface LateFeeAccrualsTable {
  account_id: number;
  accrual_id: Generated<number>;
  principal_line_id: number;
  subscriber_id: number;
  cycle: string;
  /** business days "YYYY-MM-DD" (Asia/Shanghai) */
  due_date: string;
  first_day: string;
  last_day: string;
  days: number;
  base_fen_days: number;
  rate_per_10k: number;
  computed_fen: number;
  amount_fen: number;
  late_fee_line_id: number | null;
  waived_fen: Generated<number>;
  created_at: Ts;
}
export interface LateFeeWaiversTable {
  account_id: number;
  waiver_id: Generated<number>;
  accrual_id: number;
  grant_id: number;
  amount_fen: number;
  reason: string;
  operator_id: number | null;
  created_at: Ts;
}
export type RefundCaseState = 'opened' | 'confirmed' | 'identified' | 'refunded' | 'rejected';
export interface RefundCasesTable {
  account_id: number;
  case_id: Generated<number>;
  payment_id: number;
  book_id: number;
  amount_fen: number;
  complaint_ref: string;
  note: string | null;
  state: RefundCaseState;
  opened_by: number | null;
  opened_department: string | null;
  opened_at: Ts;
  confirmed_by: number | null;
  confirmed_at: Ts | null;
  rejected_reason: string | null;
  customer_id_type: string | null;
  customer_id_number: string | null;
  holder_name: string | null;
  holder_id_type: string | null;
  holder_id_number: string | null;
  identified_by: number | null;
  identified_at: Ts | null;
  refund_payment_id: number | null;
  refunded_by: number | null;
  refunded_at: Ts | null;
  updated_at: Ts;
}
export interface BadDebtsTable {
  account_id: number;
  bad_debt_id: Generated<number>;
  amount_fen: number;
  reason: string;
  operator_id: number | null;
  department_id: string | null;
  created_at: Ts;
}
export interface BadDebtLinesTable {
  account_id: number;
  line_id: number;
  bad_debt_id: number;
  amount_fen: number;
  paid_before_fen: number;
}

// ---- bill run (0011, R-BIL-4..9, R-X-9, R-X-14); the service reads them through SQL in domains/billing/repo.ts ----
export interface BillRunsTable {
  run_id: Generated<number>;
  cycle: string;
  state: 'running' | 'prebilled' | 'publishing' | 'published' | 'failed';
  chunks_total: Generated<number>;
  accounts_total: Generated<number>;
  operator_id: number | null;
  started_at: Ts;
  prebilled_at: Ts | null;
  published_at: Ts | null;
  wall_started_at: Generated<Ts>;
  wall_finished_at: Ts | null;
}
export interface BillRunChunksTable {
  run_id: number;
  chunk_no: number;
  account_lo: number;
  account_hi: number;
  accounts: number;
  state: Generated<'pending' | 'done' | 'failed'>;
  publish_state: Generated<'pending' | 'done' | 'failed'>;
  attempts: Generated<number>;
  error: string | null;
  accounts_done: Generated<number>;
  subscribers: Generated<number>;
  lines: Generated<number>;
  amount_fen: Generated<number>;
  worker: string | null;
  started_at: Ts | null;
  finished_at: Ts | null;
  published_at: Ts | null;
}
export interface RecurringChargesTable {
  account_id: number;
  charge_id: Generated<number>;
  subscriber_id: number;
  cycle: string;
  subscriber_offer_id: number;
  charge_seq: number;
  kind: 'recurring' | 'minimum_spend';
  item_code: string;
  amount_fen: number;
  days: number;
  cycle_days: number;
  run_id: number | null;
  created_at: Ts;
}
export interface ParkedPaymentsTable {
  account_id: number;
  payment_id: number;
  parked_at: Ts;
  replayed_at: Ts | null;
}

export interface DB {
  business_parameters: BusinessParametersTable;
  brands: BrandsTable;
  offers: OffersTable;
  offer_charges: OfferChargesTable;
  offer_tariffs: OfferTariffsTable;
  fees: FeesTable;
  packages: PackagesTable;
  // bundles (捆绑业务, SPEC §8)
  bundle_offers: BundleOffersTable;
  bundle_grant_items: BundleGrantItemsTable;
  bundle_members: BundleMembersTable;
  bundle_grants: BundleGrantsTable;
  subscriber_offers: SubscriberOffersTable;
  orders: OrdersTable;
  order_fees: OrderFeesTable;
  order_holds: OrderHoldsTable;
  work_orders: WorkOrdersTable;
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
  number_levels: NumberLevelsTable;
  number_policy: NumberPolicyTable;
  numbers: NumbersTable;
  sim_cards: SimCardsTable;
  handsets: HandsetsTable;
  warehouses: WarehousesTable;
  warehouse_stock_limits: WarehouseStockLimitsTable;
  stock_import_batches: StockImportBatchesTable;
  sim_card_data: SimCardDataTable;
  stock_orders: StockOrdersTable;
  stock_order_items: StockOrderItemsTable;
  sim_card_events: SimCardEventsTable;
  stock_counts: StockCountsTable;
  stock_count_differences: StockCountDifferencesTable;
  card_writes: CardWritesTable;
  // credit control (R-CC-1..4, R-INT-3)
  credit_states: CreditStatesTable;
  credit_vip_exemptions: CreditVipExemptionsTable;
  notification_templates: NotificationTemplatesTable;
  // outbox relay (R-INT-1)
  outbox_deliveries: OutboxDeliveriesTable;
  // usage and rating (R-BIL-1..3, R-BIL-8)
  usage_files: UsageFilesTable;
  usage_staging: UsageStagingTable;
  cdrs: CdrsTable;
  cdr_sets: CdrSetsTable;
  /** a view: cdrs' rows and the records of cdr_sets, as cdrs' columns */
  usage_records: CdrsTable;
  usage_allowances: UsageAllowancesTable;
  /** a view: what each pool used, usage_allowances' rows and cdr_sets' pools summed */
  usage_pool_use: UsageAllowancesTable;
  usage_charges: UsageChargesTable;
  family_numbers: FamilyNumbersTable;
  usage_vpmn_groups: UsageVpmnGroupsTable;
  usage_vpmn_members: UsageVpmnMembersTable;
  usage_base_tariffs: UsageBaseTariffsTable;
  // late fees, refund cases, bad debt (R-ACC-16, R-ACC-17, R-X-7, R-BIL-10)
  late_fee_exempt_items: LateFeeExemptItemsTable;
  late_fee_accruals: LateFeeAccrualsTable;
  late_fee_waivers: LateFeeWaiversTable;
  refund_cases: RefundCasesTable;
  bad_debts: BadDebtsTable;
  bad_debt_lines: BadDebtLinesTable;
  // bill run (R-BIL-4..9, R-X-9, R-X-14)
  bill_runs: BillRunsTable;
  bill_run_chunks: BillRunChunksTable;
  recurring_charges: RecurringChargesTable;
  parked_payments: ParkedPaymentsTable;
}
