// R-BIL-1/R-BIL-2 rating of a chunk of records in TypeScript: the same arithmetic as the rating
// statement in repo.ts (RATED), record by record over the chunk's records in the database's order,
// with the chunk's tariffs, family numbers, VPMN peers and allowances read beforehand. Pure: no I/O.
// Times are microseconds since the epoch (exact: timestamptz has microseconds, and they fit a safe
// integer); integer arithmetic is exact or the chunk is left to the SQL statement (null).
import { idiv, itemOf, type Scope, type Unit, unitsOf, type Usage } from './rules.ts';

/** A pending record not stored before, in the order the pools use it (see rateRecords). */
export interface RatingRecord {
  line: number;
  accountId: number;
  subscriberId: number;
  recordId: string;
  otherParty: string;
  startedUs: number;
  cycle: string;
  usage: string;
  scope: string;
  quantity: number;
  area: string | null;
}

/** A tariff of an offer a subscriber has (plan, package or pack), in force startedUs ≤ t < endedUs. */
export interface OfferTariff {
  subscriberId: number;
  startedUs: number;
  endedUs: number | null;
  usage: string;
  /** the tariff's scope: a record's own scope, or 'any' */
  tscope: string;
  unit: string;
  rateFen: number;
  offerCode: string;
  /** 1 plan, 2 package, 3 pack: whose price applies first */
  rank: number;
  /** the offer's place in the database's order of offer codes (ties of scope and rank) */
  codeOrder: number;
  /** included units in base units (an MB is 1024 KB) */
  included: number;
}

/** R-BIL-2: a family number of a subscriber (rate 0 = free) in force fromUs ≤ t < toUs. */
export interface FamilyNumber {
  subscriberId: number;
  number: string;
  fromUs: number;
  toUs: number | null;
  rateFen: number;
}

/** R-BIL-2: another member of a VPMN group the subscriber belongs to (both memberships with their windows). */
export interface VpmnPeer {
  subscriberId: number;
  fromUs: number;
  toUs: number | null;
  peerNumber: string;
  peerShort: string | null;
  peerFromUs: number;
  peerToUs: number | null;
  rateFen: number;
}

export interface RatingReference {
  tariffs: OfferTariff[];
  family: FamilyNumber[];
  vpmn: VpmnPeer[];
  /** The standard rates by usage, then scope (usage_base_tariffs). */
  base: Map<string, Map<string, { unit: string; rateFen: number }>>;
  /** what each pool used before this chunk (usage_allowances), by allowanceKey */
  used: Map<string, number>;
  /** which items' totals the chunk's accounts have already in its cycles (usage_charges rows), by chargeKey */
  charged: Set<string>;
}

/** A record's rating (the record itself referenced, not copied: a chunk's rated records are its records plus these fields). */
export interface RatedRecord {
  record: RatingRecord;
  itemCode: string;
  unit: string;
  units: number;
  freeUnits: number;
  rateFen: number;
  chargeFen: number;
  offerCode: string | null;
  freeReason: string | null;
}

export interface AllowanceUse {
  accountId: number;
  subscriberId: number;
  cycle: string;
  usage: string;
  scope: string;
  units: number;
}

export interface ChargeTotal {
  accountId: number;
  subscriberId: number;
  cycle: string;
  itemCode: string;
  amountFen: number;
  units: number;
  records: number;
}

export interface RatedChunkRows {
  rated: RatedRecord[];
  allowances: AllowanceUse[];
  charges: ChargeTotal[];
}

/** Code-unit order of two strings (for the ASCII of record ids, cycles and usages: PostgreSQL's COLLATE "C"). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order the allowance pools use records in (R-BIL-1): account, subscriber, cycle, usage, start
 * time, record id (COLLATE "C", as the rating statement's window), then line — the pending table's
 * ORDER BY, so a chunk sorted here or read from the database is rated the same.
 */
export const byRatingOrder = (a: RatingRecord, b: RatingRecord): number =>
  a.accountId - b.accountId || a.subscriberId - b.subscriberId || cmp(a.cycle, b.cycle) || cmp(a.usage, b.usage) || a.startedUs - b.startedUs || cmp(a.recordId, b.recordId) || a.line - b.line;

/** Of one account's rows [a, b): null when no record id repeats (the usual case; found without allocating for an account of a few rows), else the first line of each. */
export function firstLines(rows: readonly RatingRecord[], a: number, b: number): Map<string, number> | null {
  let repeats = false;
  if (b - a <= 32) {
    for (let i = a; i < b && !repeats; i++) for (let j = i + 1; j < b; j++) if ((rows[i] as RatingRecord).recordId === (rows[j] as RatingRecord).recordId) repeats = true;
    if (!repeats) return null;
  }
  const first = new Map<string, number>();
  for (let i = a; i < b; i++) {
    const { recordId, line } = rows[i] as RatingRecord;
    const l = first.get(recordId);
    if (l === undefined || line < l) first.set(recordId, line);
  }
  return first;
}

/**
 * R-BIL-3: of rows grouped by account (in rating order), the ones to rate: the first line of each
 * record id of an account (a later line is a duplicate in the same file), none whose `account|record id`
 * is in `stored` (stored before).
 */
export function firstRecords(rows: readonly RatingRecord[], stored?: ReadonlySet<string>): RatingRecord[] {
  const records: RatingRecord[] = [];
  for (let a = 0; a < rows.length; ) {
    let b = a + 1;
    while (b < rows.length && (rows[b] as RatingRecord).accountId === (rows[a] as RatingRecord).accountId) b++;
    const first = firstLines(rows, a, b);
    for (let i = a; i < b; i++) {
      const r = rows[i] as RatingRecord;
      if ((first === null || first.get(r.recordId) === r.line) && !stored?.has(`${r.accountId}|${r.recordId}`)) records.push(r);
    }
    a = b;
  }
  return records;
}

export const allowanceKey = (accountId: number, subscriberId: number, cycle: string, usage: string, scope: string) => `${accountId}|${subscriberId}|${cycle}|${usage}|${scope}`;
export const chargeKey = (accountId: number, subscriberId: number, cycle: string, itemCode: string) => `${accountId}|${subscriberId}|${cycle}|${itemCode}`;

const inForce = (fromUs: number, toUs: number | null, t: number) => fromUs <= t && (toUs === null || toUs > t);

function groupBy<T>(list: T[], key: (x: T) => number): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const x of list) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/**
 * R-BIL-1/R-BIL-2 over records given in the order (account, subscriber, cycle, usage, start time,
 * record id) — the database's order, so that ties sort as the SQL statement sorts them (and each
 * account, subscriber and cycle is one run of records):
 * - tariff: of the offers in force at the start, one of the record's own scope before 'any', a
 *   plan's before a package's before a pack's, then by offer code; the included units of every
 *   offer with that tariff scope add up;
 * - family numbers (the lowest rate; 0 = free), then the VPMN group's rate, use no allowance; usage
 *   no offer prices falls to the standard rate;
 * - allowance: a pool (account, subscriber, cycle, usage, tariff scope) covers its first `included`
 *   base units in start-time order, after what it used before (`used`).
 * Returns null when a value would not be a safe integer or a record has no rate at all: the caller
 * rates such a chunk with the SQL statement, which has bigints.
 */
export function rateRecords(records: RatingRecord[], ref: RatingReference): RatedChunkRows | null {
  const tariffs = groupBy(ref.tariffs, (t) => t.subscriberId);
  const family = groupBy(ref.family, (f) => f.subscriberId);
  const vpmn = groupBy(ref.vpmn, (v) => v.subscriberId);
  const uses: (AllowanceUse & { before: number })[] = [];
  const charges: ChargeTotal[] = [];
  const rated: RatedRecord[] = [];
  // records come by account, subscriber and cycle: a pool's running total and a charge total live in the
  // group of those three (keys built once per group, not per record); what a pool used before comes from ref.used
  let gAccount = -1;
  let gSubscriber = -1;
  let gCycle = '';
  const gPools = new Map<string, Map<string, AllowanceUse & { before: number }>>();
  const gCharges = new Map<string, ChargeTotal>();
  for (const c of records) {
    if (c.accountId !== gAccount || c.subscriberId !== gSubscriber || c.cycle !== gCycle) {
      gAccount = c.accountId;
      gSubscriber = c.subscriberId;
      gCycle = c.cycle;
      gPools.clear();
      gCharges.clear();
    }
    const t = c.startedUs;
    let special: 'family' | 'vpmn' | null = null;
    let specialRate = 0;
    if (c.usage === 'voice') {
      let best: number | null = null;
      for (const f of family.get(c.subscriberId) ?? []) {
        if (f.number === c.otherParty && inForce(f.fromUs, f.toUs, t) && (best === null || f.rateFen < best)) best = f.rateFen;
      }
      if (best !== null) {
        special = 'family';
        specialRate = best;
      } else {
        for (const v of vpmn.get(c.subscriberId) ?? []) {
          if ((v.peerNumber === c.otherParty || v.peerShort === c.otherParty) && inForce(v.fromUs, v.toUs, t) && inForce(v.peerFromUs, v.peerToUs, t) && (best === null || v.rateFen < best)) best = v.rateFen;
        }
        if (best !== null) {
          special = 'vpmn';
          specialRate = best;
        }
      }
    }
    // the tariff (also for a special record: the SQL statement looks it up all the same, and uses none of it)
    let tariff: OfferTariff | null = null;
    const mine = tariffs.get(c.subscriberId) ?? [];
    for (const x of mine) {
      if (x.usage !== c.usage || (x.tscope !== c.scope && x.tscope !== 'any') || !inForce(x.startedUs, x.endedUs, t)) continue;
      if (
        tariff === null ||
        Number(x.tscope === 'any') - Number(tariff.tscope === 'any') < 0 ||
        (x.tscope === tariff.tscope && (x.rank < tariff.rank || (x.rank === tariff.rank && x.codeOrder < tariff.codeOrder)))
      ) {
        tariff = x;
      }
    }
    let included = 0;
    if (tariff) {
      for (const x of mine) {
        if (x.usage === c.usage && x.tscope === tariff.tscope && inForce(x.startedUs, x.endedUs, t)) included += x.included;
      }
    }
    const std = ref.base.get(c.usage)?.get(c.scope);
    let unit: string;
    let rateFen: number;
    if (special) {
      unit = 'minute';
      rateFen = specialRate;
    } else if (tariff) {
      unit = tariff.unit;
      rateFen = tariff.rateFen;
    } else if (std) {
      unit = std.unit;
      rateFen = std.rateFen;
    } else return null;
    const pool = special ? null : (tariff?.tscope ?? c.scope);
    const units = unitsOf(unit as Unit, c.quantity);
    const factor = unit === 'mb' ? 1024 : 1;
    let freeUnits = 0;
    if (special === 'family' && rateFen === 0) freeUnits = units;
    else if (pool !== null) {
      let u = gPools.get(c.usage)?.get(pool);
      if (!u) {
        u = { accountId: c.accountId, subscriberId: c.subscriberId, cycle: c.cycle, usage: c.usage, scope: pool, units: 0, before: ref.used.get(allowanceKey(c.accountId, c.subscriberId, c.cycle, c.usage, pool)) ?? 0 };
        gPools.set(c.usage, (gPools.get(c.usage) ?? new Map()).set(pool, u));
        uses.push(u);
      }
      const before = u.before + u.units;
      freeUnits = idiv(Math.max(0, Math.min(units * factor, included - before)), factor);
      if (!Number.isSafeInteger(before + units * factor)) return null;
      u.units += units * factor;
    }
    const chargeFen = (units - freeUnits) * rateFen;
    if (!Number.isSafeInteger(chargeFen)) return null;
    const item = itemOf(c.usage as Usage, c.scope as Scope);
    const freeReason = special ?? (freeUnits > 0 ? 'allowance' : null);
    rated.push({
      record: c,
      itemCode: item, unit, units, freeUnits, rateFen, chargeFen, offerCode: special ? null : (tariff?.offerCode ?? null), freeReason,
    });
    const ch = gCharges.get(item);
    if (ch) {
      ch.amountFen += chargeFen;
      ch.units += units;
      ch.records++;
      if (!Number.isSafeInteger(ch.amountFen) || !Number.isSafeInteger(ch.units)) return null;
    } else {
      const total = { accountId: c.accountId, subscriberId: c.subscriberId, cycle: c.cycle, itemCode: item, amountFen: chargeFen, units, records: 1 };
      gCharges.set(item, total);
      charges.push(total);
    }
  }
  return { rated, allowances: uses.map((u) => ({ accountId: u.accountId, subscriberId: u.subscriberId, cycle: u.cycle, usage: u.usage, scope: u.scope, units: u.units })), charges };
}
