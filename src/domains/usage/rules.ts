// Usage rules (SPEC §5): the CDR record format (R-BIL-3) and the rating arithmetic (R-BIL-1, R-BIL-2).
// Pure functions; repo.ts does the same arithmetic set-based in SQL, and the property test checks
// the two agree.
import { cycleOf, SHANGHAI_OFFSET_MS } from '../../platform/clock.ts';
import type { Text } from '../../platform/checks.ts';
import type { Fen } from '../../platform/money.ts';

export const USAGES = ['voice', 'sms', 'data'] as const;
export const SCOPES = ['local', 'long_distance', 'roaming'] as const;
export type Usage = (typeof USAGES)[number];
export type Scope = (typeof SCOPES)[number];
export type Unit = 'minute' | 'message' | 'kb' | 'mb';

/** The CSV header (R-BIL-3), in column order. */
export const CDR_COLUMNS = ['record_id', 'service_number', 'other_party', 'start_time', 'usage', 'scope', 'quantity', 'area'] as const;

export type RejectCode =
  | 'COLUMN_COUNT'
  | 'RECORD_ID_MISSING'
  | 'RECORD_ID_INVALID'
  | 'SERVICE_NUMBER_INVALID'
  | 'OTHER_PARTY_INVALID'
  | 'START_TIME_INVALID'
  | 'START_TIME_IN_FUTURE'
  | 'USAGE_UNKNOWN'
  | 'SCOPE_UNKNOWN'
  | 'QUANTITY_INVALID'
  | 'CSV_MALFORMED'
  | 'LINE_TOO_LONG'
  | 'UNKNOWN_NUMBER'
  | 'NOT_IN_SERVICE';

export const REJECT_REASONS: Record<RejectCode, Text> = {
  COLUMN_COUNT: { zh: `列数不对（应为 ${CDR_COLUMNS.length} 列：${CDR_COLUMNS.join(',')}）`, en: `Wrong number of columns (expected ${CDR_COLUMNS.length}: ${CDR_COLUMNS.join(',')})` },
  RECORD_ID_MISSING: { zh: '缺少话单编号', en: 'Missing record id' },
  RECORD_ID_INVALID: { zh: '话单编号格式错误（1–64 个字母、数字或 ._:-）', en: 'Malformed record id (1–64 letters, digits or ._:-)' },
  SERVICE_NUMBER_INVALID: { zh: '用户号码格式错误', en: 'Malformed service number' },
  OTHER_PARTY_INVALID: { zh: '对方号码格式错误', en: 'Malformed other-party number' },
  START_TIME_INVALID: { zh: '开始时间格式错误（ISO 8601 带时区，或 YYYY-MM-DD HH:MM:SS 北京时间）', en: 'Malformed start time (ISO 8601 with offset, or YYYY-MM-DD HH:MM:SS Asia/Shanghai)' },
  START_TIME_IN_FUTURE: { zh: '开始时间晚于当前时间', en: 'The start time is in the future' },
  USAGE_UNKNOWN: { zh: '业务类型未知（voice、sms、data）', en: 'Unknown usage (voice, sms, data)' },
  SCOPE_UNKNOWN: { zh: '通话类型未知（local、long_distance、roaming）', en: 'Unknown scope (local, long_distance, roaming)' },
  QUANTITY_INVALID: { zh: '用量须为非负整数（秒、条或字节）', en: 'The quantity must be a non-negative integer (seconds, messages or bytes)' },
  CSV_MALFORMED: { zh: 'CSV 行格式错误', en: 'Malformed CSV row' },
  LINE_TOO_LONG: { zh: '行过长（超过 4096 字节）', en: 'Line too long (over 4096 bytes)' },
  UNKNOWN_NUMBER: { zh: '号码不存在', en: 'Unknown service number' },
  NOT_IN_SERVICE: { zh: '通话开始时该号码不在网', en: 'The number was not in service at the start time' },
};

/** A CDR as it arrives (CSV row or API record), all fields as text. */
export interface RawCdr {
  recordId: string;
  serviceNumber: string;
  otherParty: string;
  startTime: string;
  usage: string;
  scope: string;
  quantity: string | number;
  area?: string | null | undefined;
}

/** A well-formed CDR, ready for the staging table. */
export interface ParsedCdr {
  recordId: string;
  serviceNumber: string;
  otherParty: string;
  startedAt: Date;
  cycle: string;
  usage: Usage;
  scope: Scope;
  quantity: number;
  area: string | null;
}

const RECORD_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const NUMBER = /^\+?[0-9]{3,20}$/;
const OTHER_PARTY = /^\+?[0-9#*]{1,32}$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$/;
/** A switch clock may run a little ahead; beyond this a start time is refused. */
export const FUTURE_TOLERANCE_MS = 10 * 60 * 1000;

/** ISO 8601 with an offset, or "YYYY-MM-DD HH:MM:SS" meaning Asia/Shanghai; the date and time must exist. */
export function parseStartTime(s: string): Date | null {
  const local = localInstant(s);
  if (local !== undefined) return local === null ? null : new Date(local);
  const m = ISO.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!possible(y, mo, d, h, mi, se)) return null;
  const t = new Date(s);
  return Number.isNaN(t.getTime()) ? null : t;
}

const daysIn = (y: number, mo: number) => (mo === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31);
const possible = (y: number, mo: number, d: number, h: number, mi: number, se: number) =>
  y >= 2000 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h <= 23 && mi <= 59 && se <= 59;

/** The number the ASCII digits of s[from, from + n) make; NaN when one is not a digit. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/**
 * "YYYY-MM-DD HH:MM:SS" (Beijing wall time, whole seconds, what switches write) read without a regular
 * expression or a Date per field — the import reads millions: its instant in ms, null for a date or time
 * that does not exist, undefined when s is not in that form.
 */
export function localInstant(s: string): number | null | undefined {
  if (s.length !== 19 || s[4] !== '-' || s[7] !== '-' || s[10] !== ' ' || s[13] !== ':' || s[16] !== ':') return undefined;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const se = digits(s, 17, 2);
  if (Number.isNaN(y + mo + d + h + mi + se)) return undefined;
  // the instant is the same wall time read as UTC, 8 hours earlier
  return possible(y, mo, d, h, mi, se) ? Date.UTC(y, mo - 1, d, h, mi, se) - SHANGHAI_OFFSET_MS : null;
}


/** R-BIL-3: a record is checked field by field; the first problem is its reason. */
export function parseCdr(r: RawCdr, now: Date): ParsedCdr | RejectCode {
  const recordId = r.recordId.trim();
  if (recordId === '') return 'RECORD_ID_MISSING';
  if (!RECORD_ID.test(recordId)) return 'RECORD_ID_INVALID';
  const serviceNumber = r.serviceNumber.trim();
  if (!NUMBER.test(serviceNumber)) return 'SERVICE_NUMBER_INVALID';
  const otherParty = r.otherParty.trim();
  if (!OTHER_PARTY.test(otherParty)) return 'OTHER_PARTY_INVALID';
  const start = r.startTime.trim();
  const local = localInstant(start);
  const startedAt = local === undefined ? parseStartTime(start) : local === null ? null : new Date(local);
  if (!startedAt) return 'START_TIME_INVALID';
  if (startedAt.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) return 'START_TIME_IN_FUTURE';
  const usage = r.usage.trim().toLowerCase();
  if (!(USAGES as readonly string[]).includes(usage)) return 'USAGE_UNKNOWN';
  const scope = r.scope.trim().toLowerCase();
  if (!(SCOPES as readonly string[]).includes(scope)) return 'SCOPE_UNKNOWN';
  const q = typeof r.quantity === 'number' ? r.quantity : /^[0-9]{1,15}$/.test(r.quantity.trim()) ? Number(r.quantity.trim()) : NaN;
  if (!Number.isSafeInteger(q) || q < 0) return 'QUANTITY_INVALID';
  // free text: a NUL (which PostgreSQL's text cannot hold) is dropped
  const rawArea = r.area ?? '';
  const area = (rawArea.includes('\u0000') ? rawArea.replaceAll('\u0000', '') : rawArea).trim().slice(0, 64) || null;
  // a Beijing wall time's cycle is its own month
  const cycle = local === undefined ? cycleOf(startedAt) : start.slice(0, 7);
  return { recordId, serviceNumber, otherParty, startedAt, cycle, usage: usage as Usage, scope: scope as Scope, quantity: q, area };
}

/** Bill item of a rated record (SPEC §4.1). */
export function itemOf(usage: Usage, scope: Scope): string {
  if (usage === 'sms') return 'SMS';
  if (usage === 'data') return 'DATA';
  return scope === 'local' ? 'VOICE_LOCAL' : scope === 'long_distance' ? 'VOICE_LD' : 'VOICE_ROAM';
}

/** R-BIL-1: voice per started minute, SMS per message, data per started KB or MB. */
export function unitsOf(unit: Unit, quantity: number): number {
  switch (unit) {
    case 'minute':
      return idiv(quantity + 59, 60);
    case 'message':
      return quantity;
    case 'kb':
      return idiv(quantity + 1023, 1024);
    case 'mb':
      return idiv(quantity + 1_048_575, 1_048_576);
  }
}

/** Integer division of non-negative safe integers, exact (no rounding of a float quotient). */
export const idiv = (a: number, b: number) => (a - (a % b)) / b;

/** Allowances are kept in base units (minutes, messages, KB): an MB is 1024 of them. */
export const baseFactor = (unit: Unit): number => (unit === 'mb' ? 1024 : 1);

/**
 * R-BIL-1: the allowance covers the first `included` base units a pool (usage × tariff scope) uses
 * in a cycle, in start-time order; `usedBefore` is what the pool used before this record.
 */
export function freeUnits(unit: Unit, units: number, included: number, usedBefore: number): number {
  const f = baseFactor(unit);
  const freeBase = Math.max(0, Math.min(units * f, included - usedBefore));
  return Math.floor(freeBase / f);
}

export function chargeOf(units: number, free: number, rateFen: Fen): Fen {
  return (units - free) * rateFen;
}
