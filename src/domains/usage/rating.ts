// R-BIL-1/R-BIL-2 rating of a chunk of records in TypeScript: the same arithmetic as the rating
// statement in repo.ts (RATED), record by record over the chunk's records in the database's order,
// with the chunk's tariffs, family numbers, VPMN peers and allowances read beforehand. Pure: no I/O.
// Times are microseconds since the epoch (exact: timestamptz has microseconds, and they fit a safe
// integer); integer arithmetic is exact or the chunk is left to the SQL statement (null).
import type { RecordColumns } from './columns.ts';
import { idiv, itemOf, SCOPES, type Scope, type Unit, unitsOf, USAGES, type Usage } from './rules.ts';

/** A matched record waiting to be rated, as an object (an API batch, a pending table's row); the rating holds records as columns.ts RecordColumns. */
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
  /** what each pool used before this chunk (usage_allowances and the sets' pools), by allowanceKey */
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

export interface ChargeTotal {
  accountId: number;
  subscriberId: number;
  cycle: string;
  itemCode: string;
  amountFen: number;
  units: number;
  records: number;
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

/** Codes of a rated record (sets.ts stores them so): its unit and why units were free. */
export const UNIT_CODES = ['minute', 'message', 'kb', 'mb'] as const;
export const FREE_REASON_CODES = [null, 'allowance', 'family', 'vpmn'] as const;
const ITEM_CODES = ['VOICE_LOCAL', 'VOICE_LD', 'VOICE_ROAM', 'SMS', 'DATA'] as const;
/** A tariff's scope code: a rules.ts SCOPES index, or ANY. */
const ANY = 3;
/** RatedColumns.pool of a record that counts in no pool (a family number, a VPMN peer). */
export const NO_POOL = 255;
/** A pool's code (usage index × 4 + tariff scope code) as its usage and scope. */
export const poolOf = (code: number): { usage: string; scope: string } => ({ usage: USAGES[code >> 2] as string, scope: code % 4 === ANY ? 'any' : (SCOPES[code % 4] as string) });

/** The rating of records given by index (RecordColumns): per rated record, in the order rated. */
export interface RatedColumns {
  /** the records rated (indexes into the columns) */
  idx: Uint32Array;
  units: Float64Array;
  freeUnits: Float64Array;
  rateFen: Float64Array;
  chargeFen: Float64Array;
  /** UNIT_CODES index */
  unit: Uint8Array;
  /** FREE_REASON_CODES index */
  freeReason: Uint8Array;
  /** index into `offers`, −1 for none */
  offer: Int32Array;
  offers: string[];
  /** the allowance pool the record's base units (units, × 1024 for MB) count in: usage index × 4 + tariff scope code (poolOf), NO_POOL for none */
  pool: Uint8Array;
}

export interface RatedRecords {
  rated: RatedColumns;
  charges: ChargeTotal[];
}

/** A record's fields as the rating reads them from RatedColumns (tests, the itemised comparison). */
export function ratedRecord(c: RecordColumns, r: RatedColumns, k: number): RatedRecord {
  const i = r.idx[k] as number;
  const o = r.offer[k] as number;
  return {
    record: c.record(i),
    itemCode: itemOf(USAGES[c.usage[i] as number] as Usage, SCOPES[c.scope[i] as number] as Scope),
    unit: UNIT_CODES[r.unit[k] as number] as string, units: r.units[k] as number, freeUnits: r.freeUnits[k] as number, rateFen: r.rateFen[k] as number,
    chargeFen: r.chargeFen[k] as number, offerCode: o < 0 ? null : (r.offers[o] as string), freeReason: FREE_REASON_CODES[r.freeReason[k] as number] ?? null,
  };
}

interface CodedTariff extends OfferTariff {
  usageCode: number;
  tscopeCode: number;
  unitCode: number;
  offerIx: number;
}

/**
 * R-BIL-1/R-BIL-2 over the records `idx` of `c`, given in the order (account, subscriber, cycle, usage,
 * start time, record id) — the database's order, so that ties sort as the SQL statement sorts them (and
 * each account, subscriber and cycle is one run of records):
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
export function rateColumns(c: RecordColumns, idx: Uint32Array, ref: RatingReference): RatedRecords | null {
  const offers: string[] = [];
  const offerIx = new Map<string, number>();
  const coded = ref.tariffs.flatMap((t): CodedTariff[] => {
    const usageCode = (USAGES as readonly string[]).indexOf(t.usage);
    const tscopeCode = t.tscope === 'any' ? ANY : (SCOPES as readonly string[]).indexOf(t.tscope);
    const unitCode = (UNIT_CODES as readonly string[]).indexOf(t.unit);
    if (usageCode < 0 || tscopeCode < 0 || unitCode < 0) return [];
    let o = offerIx.get(t.offerCode);
    if (o === undefined) offerIx.set(t.offerCode, (o = offers.push(t.offerCode) - 1));
    return [{ ...t, usageCode, tscopeCode, unitCode, offerIx: o }];
  });
  const tariffs = groupBy(coded, (t) => t.subscriberId);
  const family = groupBy(ref.family, (f) => f.subscriberId);
  const vpmn = groupBy(ref.vpmn, (v) => v.subscriberId);
  // the standard rates by usage and scope code
  const base: ({ unitCode: number; rateFen: number } | undefined)[] = [];
  for (const [u, usage] of USAGES.entries()) {
    for (const [s, scope] of SCOPES.entries()) {
      const b = ref.base.get(usage)?.get(scope);
      const unitCode = b ? (UNIT_CODES as readonly string[]).indexOf(b.unit) : -1;
      base[u * 3 + s] = b && unitCode >= 0 ? { unitCode, rateFen: b.rateFen } : undefined;
    }
  }
  const n = idx.length;
  const rated: RatedColumns = {
    idx, units: new Float64Array(n), freeUnits: new Float64Array(n), rateFen: new Float64Array(n), chargeFen: new Float64Array(n),
    unit: new Uint8Array(n), freeReason: new Uint8Array(n), offer: new Int32Array(n), offers, pool: new Uint8Array(n).fill(NO_POOL),
  };
  const charges: ChargeTotal[] = [];
  // records come by account, subscriber and cycle: a pool's running total (by usage and tariff scope code) and a
  // charge total (by item) live in the group of those three; what a pool used before comes from ref.used
  let gAccount = -1;
  let gSubscriber = -1;
  let gCycle = -1;
  const gPoolUsed = new Float64Array(12);
  const gPoolOpen = new Uint8Array(12);
  const gCharges: (ChargeTotal | undefined)[] = new Array(5);
  const none: never[] = [];
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    const account = c.account[i] as number;
    const subscriber = c.subscriber[i] as number;
    const cycle = c.cycle[i] as number;
    if (account !== gAccount || subscriber !== gSubscriber || cycle !== gCycle) {
      gAccount = account;
      gSubscriber = subscriber;
      gCycle = cycle;
      gPoolOpen.fill(0);
      gCharges.fill(undefined);
    }
    const usage = c.usage[i] as number;
    const scope = c.scope[i] as number;
    const t = c.started[i] as number;
    let special = 0; // FREE_REASON_CODES: 2 family, 3 vpmn
    let specialRate = 0;
    if (usage === 0) {
      let best: number | null = null;
      for (const f of family.get(subscriber) ?? none) {
        if (inForce(f.fromUs, f.toUs, t) && (best === null || f.rateFen < best) && c.otherPartyIs(i, f.number)) best = f.rateFen;
      }
      if (best !== null) {
        special = 2;
        specialRate = best;
      } else {
        for (const v of vpmn.get(subscriber) ?? none) {
          if (inForce(v.fromUs, v.toUs, t) && inForce(v.peerFromUs, v.peerToUs, t) && (best === null || v.rateFen < best) && (c.otherPartyIs(i, v.peerNumber) || (v.peerShort !== null && c.otherPartyIs(i, v.peerShort)))) best = v.rateFen;
        }
        if (best !== null) {
          special = 3;
          specialRate = best;
        }
      }
    }
    // the tariff (also for a special record: the SQL statement looks it up all the same, and uses none of it)
    let tariff: CodedTariff | null = null;
    const mine = tariffs.get(subscriber) ?? none;
    for (const x of mine) {
      if (x.usageCode !== usage || (x.tscopeCode !== scope && x.tscopeCode !== ANY) || !inForce(x.startedUs, x.endedUs, t)) continue;
      if (
        tariff === null ||
        Number(x.tscopeCode === ANY) - Number(tariff.tscopeCode === ANY) < 0 ||
        (x.tscopeCode === tariff.tscopeCode && (x.rank < tariff.rank || (x.rank === tariff.rank && x.codeOrder < tariff.codeOrder)))
      ) {
        tariff = x;
      }
    }
    let included = 0;
    if (tariff) {
      for (const x of mine) {
        if (x.usageCode === usage && x.tscopeCode === tariff.tscopeCode && inForce(x.startedUs, x.endedUs, t)) included += x.included;
      }
    }
    const std = base[usage * 3 + scope];
    let unit: number;
    let rateFen: number;
    if (special) {
      unit = 0;
      rateFen = specialRate;
    } else if (tariff) {
      unit = tariff.unitCode;
      rateFen = tariff.rateFen;
    } else if (std) {
      unit = std.unitCode;
      rateFen = std.rateFen;
    } else return null;
    const pool = special ? -1 : tariff ? tariff.tscopeCode : scope;
    const units = unitsOf(UNIT_CODES[unit] as Unit, c.quantity[i] as number);
    const factor = unit === 3 ? 1024 : 1;
    let freeUnits = 0;
    if (special === 2 && rateFen === 0) freeUnits = units;
    else if (pool >= 0) {
      const code = usage * 4 + pool;
      if (!gPoolOpen[code]) {
        const p = poolOf(code);
        gPoolOpen[code] = 1;
        gPoolUsed[code] = ref.used.get(allowanceKey(account, subscriber, c.cycles[cycle] as string, p.usage, p.scope)) ?? 0;
      }
      const before = gPoolUsed[code] as number;
      freeUnits = idiv(Math.max(0, Math.min(units * factor, included - before)), factor);
      if (!Number.isSafeInteger(before + units * factor)) return null;
      gPoolUsed[code] = before + units * factor;
      rated.pool[k] = code;
    }
    const chargeFen = (units - freeUnits) * rateFen;
    if (!Number.isSafeInteger(chargeFen)) return null;
    rated.units[k] = units;
    rated.freeUnits[k] = freeUnits;
    rated.rateFen[k] = rateFen;
    rated.chargeFen[k] = chargeFen;
    rated.unit[k] = unit;
    rated.freeReason[k] = special || (freeUnits > 0 ? 1 : 0);
    rated.offer[k] = special || !tariff ? -1 : tariff.offerIx;
    const item = usage === 1 ? 3 : usage === 2 ? 4 : scope;
    const ch = gCharges[item];
    if (ch) {
      ch.amountFen += chargeFen;
      ch.units += units;
      ch.records++;
      if (!Number.isSafeInteger(ch.amountFen) || !Number.isSafeInteger(ch.units)) return null;
    } else {
      const total = { accountId: account, subscriberId: subscriber, cycle: c.cycles[cycle] as string, itemCode: ITEM_CODES[item] as string, amountFen: chargeFen, units, records: 1 };
      gCharges[item] = total;
      charges.push(total);
    }
  }
  return { rated, charges };
}
