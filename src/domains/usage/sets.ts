// R-BIL-1..3 rated CDRs as compact sets (migrations/0023_cdr_sets.sql, docs/decisions/0002): the
// rated records of one account, subscriber and cycle of a file in one row of cdr_sets, their fields
// packed into a body that PostgreSQL stores as it is, plus 8 bytes of record-id hashes a record for
// R-BIL-3's check. cdr_set_records(body) in SQL and decodeSet here read a body back; usage_records
// shows every stored record as a row.
//
// A record in the body, in this order (varint: unsigned LEB128; zigzag: a signed delta as a varint):
//   record id, other party     varint byte length, then the UTF-8 bytes
//   start                      zigzag delta of the microseconds since the epoch from the record before (0 before the first)
//   codes                      one byte: usage (bits 0-1), scope (2-3), unit (4-5), free reason (6-7): indexes of
//                              rules.ts USAGES, SCOPES and rating.ts UNIT_CODES, FREE_REASON_CODES
//   quantity                   varint
//   area                       varint byte length + 1 (0: none), then the bytes
//   line                       zigzag delta from the record before
//   units, free units, rate, charge   varints (all ≥ 0)
//   offer code                 as the area
// The bill item follows from usage and scope (rules.ts itemOf); rated_at is the set's imported_at.
//
// A set's pools (R-BIL-1, migrations/0024): for each allowance pool its records count in, in code order,
// the pool's code byte (rating.ts poolOf: usage index × 4 + tariff scope code) and the base units as a
// varint; empty (stored as NULL) when they count in none.

import { putInt32 } from '../../platform/copy-binary.ts';
import type { RecordColumns } from './columns.ts';
import { FREE_REASON_CODES, NO_POOL, type RatedColumns, UNIT_CODES } from './rating.ts';
import { itemOf, SCOPES, type Scope, USAGES, type Usage } from './rules.ts';

/** One set of a chunk's encoded sets: where its body and hashes lie in the encoder's buffers. */
export interface EncodedSet {
  accountId: number;
  subscriberId: number;
  cycle: string;
  /** 0, or more when the same account, subscriber and cycle came again in the same call */
  part: number;
  records: number;
  chargeFen: number;
  bodyStart: number;
  bodyEnd: number;
  hashStart: number;
  hashEnd: number;
  /** the set's pools in the encoder's `pools` (poolStart = poolEnd: none) */
  poolStart: number;
  poolEnd: number;
}

/** The two 32-bit hashes of a record id's UTF-8 bytes b[at, at + n) (FNV-1a with two offset bases, each finished by a murmur3 mix). */
export function recordIdHashes(b: Uint8Array, at: number, n: number): [number, number] {
  let x = 0x811c9dc5;
  let y = 0x050c5d1f;
  for (let k = at; k < at + n; k++) {
    const c = b[k] as number;
    x = Math.imul(x ^ c, 0x01000193);
    y = Math.imul(y ^ c, 0x01000193);
  }
  return [fmix(x ^ n) >>> 0, fmix(y + 0x9e3779b9) >>> 0];
}

/** recordIdHashes of a record id given as a string. */
export function recordIdHashesOf(s: string): [number, number] {
  const b = Buffer.from(s, 'utf8');
  return recordIdHashes(b, 0, b.length);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A record id's hashes as one safe integer (32 + 21 bits): the key the duplicate check looks up. */
export const hashKey = (h1: number, h2: number): number => h1 * 2_097_152 + (h2 >>> 11);

/**
 * Rated records into sets: consecutive records of the same account, subscriber and cycle make one set
 * (the rating order keeps them together); the bodies and hashes of all sets go into two growing buffers.
 */
export class SetEncoder {
  body: Buffer;
  hashes: Buffer;
  pools: Buffer;
  private o = 0;
  private h = 0;
  private p = 0;
  /** the open set's units per pool code, and which codes it used */
  private readonly poolUnits = new Float64Array(12);
  private readonly poolUsed = new Uint8Array(12);

  constructor(initialBytes = 1 << 20) {
    this.body = Buffer.allocUnsafe(initialBytes);
    this.hashes = Buffer.allocUnsafe(initialBytes >>> 2);
    this.pools = Buffer.allocUnsafe(initialBytes >>> 4);
  }

  /** The rated records `r` of `c` (in rating order) as sets: consecutive records of one account, subscriber and cycle make one. */
  encode(c: RecordColumns, r: RatedColumns): EncodedSet[] {
    this.o = 0;
    this.h = 0;
    this.p = 0;
    const sets: EncodedSet[] = [];
    const seen = new Map<string, number>();
    let set: EncodedSet | null = null;
    let setCycle = -1;
    let t = 0;
    let line = 0;
    const src = c.src;
    // the areas' and offers' bytes, once each
    const areas = c.areas.map((a) => (a === null ? null : Buffer.from(a, 'utf8')));
    const offers = r.offers.map((o) => Buffer.from(o, 'utf8'));
    for (let k = 0; k < r.idx.length; k++) {
      const i = r.idx[k] as number;
      const account = c.account[i] as number;
      const subscriber = c.subscriber[i] as number;
      const cycle = c.cycle[i] as number;
      if (set === null || account !== set.accountId || subscriber !== set.subscriberId || cycle !== setCycle) {
        if (set) this.close(set);
        const cycleText = c.cycles[cycle] as string;
        const key = `${account}|${subscriber}|${cycleText}`;
        const was = seen.get(key);
        const part = was === undefined ? 0 : was + 1;
        seen.set(key, part);
        set = { accountId: account, subscriberId: subscriber, cycle: cycleText, part, records: 0, chargeFen: 0, bodyStart: this.o, bodyEnd: 0, hashStart: this.h, hashEnd: 0, poolStart: 0, poolEnd: 0 };
        setCycle = cycle;
        sets.push(set);
        t = 0;
        line = 0;
      }
      const units = r.units[k] as number;
      const freeUnits = r.freeUnits[k] as number;
      const rateFen = r.rateFen[k] as number;
      const chargeFen = r.chargeFen[k] as number;
      const quantity = c.quantity[i] as number;
      if (units < 0 || freeUnits < 0 || rateFen < 0 || chargeFen < 0 || quantity < 0) throw new RangeError(`a CDR set holds no negative values (record ${c.recordId(i)})`);
      const ridAt = c.ridAt[i] as number;
      const ridLen = c.ridLen[i] as number;
      const opLen = c.opLen[i] as number;
      const area = areas[c.area[i] as number] ?? null;
      const offer = (r.offer[k] as number) < 0 ? null : (offers[r.offer[k] as number] as Buffer);
      this.room(80 + ridLen + opLen + (area?.length ?? 0) + (offer?.length ?? 0));
      this.bytes(src, ridAt, ridLen, 0);
      this.bytes(src, c.opAt[i] as number, opLen, 0);
      const started = c.started[i] as number;
      this.varint(zigzag(started - t));
      t = started;
      this.body[this.o++] = (c.usage[i] as number) | ((c.scope[i] as number) << 2) | ((r.unit[k] as number) << 4) | ((r.freeReason[k] as number) << 6);
      this.varint(quantity);
      if (area === null) this.body[this.o++] = 0;
      else this.bytes(area, 0, area.length, 1);
      const l = c.line[i] as number;
      this.varint(zigzag(l - line));
      line = l;
      this.varint(units);
      this.varint(freeUnits);
      this.varint(rateFen);
      this.varint(chargeFen);
      if (offer === null) this.body[this.o++] = 0;
      else this.bytes(offer, 0, offer.length, 1);
      putInt32(this.hashes, this.h, c.ridH1[i] as number);
      putInt32(this.hashes, this.h + 4, c.ridH2[i] as number);
      this.h += 8;
      set.records++;
      set.chargeFen += chargeFen;
      if (!Number.isSafeInteger(set.chargeFen)) throw new RangeError('a CDR set charge past 2^53 fen');
      const pool = r.pool[k] as number;
      if (pool !== NO_POOL) {
        this.poolUsed[pool] = 1;
        this.poolUnits[pool] = (this.poolUnits[pool] as number) + (r.unit[k] === MB ? units * 1024 : units);
      }
    }
    if (set) this.close(set);
    return sets;
  }

  /** Ends the open set: where its body and hashes end, its pools written. */
  private close(set: EncodedSet): void {
    set.bodyEnd = this.o;
    set.hashEnd = this.h;
    if (this.p + 12 * 9 > this.pools.length) {
      const next = Buffer.allocUnsafe(this.pools.length * 2 + 12 * 9);
      this.pools.copy(next, 0, 0, this.p);
      this.pools = next;
    }
    set.poolStart = this.p;
    for (let code = 0; code < 12; code++) {
      if (!this.poolUsed[code]) continue;
      this.pools[this.p++] = code;
      this.p = putVarint(this.pools, this.p, this.poolUnits[code] as number);
    }
    set.poolEnd = this.p;
    this.poolUsed.fill(0);
    this.poolUnits.fill(0);
  }

  private room(bytes: number): void {
    if (this.o + bytes > this.body.length) {
      const next = Buffer.allocUnsafe(Math.max(this.body.length * 2, this.o + bytes));
      this.body.copy(next, 0, 0, this.o);
      this.body = next;
    }
    if (this.h + 8 > this.hashes.length) {
      const next = Buffer.allocUnsafe(this.hashes.length * 2 + 8);
      this.hashes.copy(next, 0, 0, this.h);
      this.hashes = next;
    }
  }

  private varint(v: number): void {
    this.o = putVarint(this.body, this.o, v);
  }

  /** Bytes b[at, at + n) as their length (+ `plus`: 1 where 0 stands for none) and the bytes. */
  private bytes(b: Uint8Array, at: number, n: number, plus: 0 | 1): void {
    this.varint(n + plus);
    const body = this.body;
    const o = this.o;
    if (n < 32) for (let k = 0; k < n; k++) body[o + k] = b[at + k] as number;
    else body.set(b.subarray(at, at + n), o);
    this.o = o + n;
  }
}

/** UNIT_CODES index of 'mb' (a pool counts KB) */
const MB = UNIT_CODES.indexOf('mb');

/** v (a safe integer ≥ 0) as an unsigned LEB128 varint at b[o]: the offset after it. */
function putVarint(b: Buffer, o: number, v: number): number {
  if (v < 0x80000000) {
    while (v > 0x7f) {
      b[o++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
  } else {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer: ${v}`);
    while (v > 0x7f) {
      b[o++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
  }
  b[o++] = v;
  return o;
}

/** Reads b[o, end) forward: bytes and unsigned LEB128 varints; `o` is where it stands. */
class Reader {
  readonly b: Uint8Array;
  o: number;
  readonly end: number;
  /** what a varint cut off by the end means */
  private readonly cut: string;

  constructor(b: Uint8Array, o: number, end: number, cut: string) {
    this.b = b;
    this.o = o;
    this.end = end;
    this.cut = cut;
  }

  byte(): number {
    return this.b[this.o++] as number;
  }

  varint(): number {
    let v = 0;
    let m = 1;
    for (;;) {
      if (this.o >= this.end) throw new RangeError(this.cut);
      const x = this.b[this.o++] as number;
      v += (x & 0x7f) * m;
      if (x < 0x80) return v;
      m *= 128;
    }
  }
}

/** A set's pools (b[start, end)) as [pool code, base units] pairs. */
export function decodePools(b: Uint8Array, start = 0, end = b.length): [code: number, units: number][] {
  const out: [number, number][] = [];
  const r = new Reader(b, start, end, 'a CDR set pool ends inside its units');
  while (r.o < end) out.push([r.byte(), r.varint()]);
  return out;
}

const zigzag = (v: number): number => {
  const z = v >= 0 ? v * 2 : -v * 2 - 1;
  if (!Number.isSafeInteger(z)) throw new RangeError(`a CDR set delta past 2^52: ${v}`);
  return z;
};

/** A record of a set as decodeSet reads it back (the columns of usage_records that the body holds). */
export interface SetRecord {
  recordId: string;
  otherParty: string;
  startedUs: number;
  usage: Usage;
  scope: Scope;
  quantity: number;
  area: string | null;
  line: number;
  itemCode: string;
  unit: (typeof UNIT_CODES)[number];
  units: number;
  freeUnits: number;
  rateFen: number;
  chargeFen: number;
  offerCode: string | null;
  freeReason: (typeof FREE_REASON_CODES)[number];
}

/** Reads a body (or body[start, end)) back: every record. */
export function decodeSet(body: Buffer, start = 0, end = body.length): SetRecord[] {
  const out: SetRecord[] = [];
  walk(body, start, end, (r) => out.push(r as SetRecord), false);
  return out;
}

/** The record ids of a body, in its order (R-BIL-3's confirmation of a matching hash). */
export function setRecordIds(body: Buffer, start = 0, end = body.length): string[] {
  const out: string[] = [];
  walk(body, start, end, (r) => out.push(r.recordId), true);
  return out;
}

/** Walks the records of b[start, end): each whole, or (`onlyIds`) its record id only, the rest read past. */
function walk(b: Buffer, start: number, end: number, on: (r: Pick<SetRecord, 'recordId'> & Partial<SetRecord>) => void, onlyIds: boolean): void {
  const r = new Reader(b, start, end, 'a CDR set body ends inside a record');
  const varint = () => r.varint();
  const unzig = (z: number) => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
  const text = (plus: 0 | 1): string | null => {
    const n = r.varint();
    if (plus === 1 && n === 0) return null;
    const s = b.toString('utf8', r.o, r.o + n - plus);
    r.o += n - plus;
    return s;
  };
  let t = 0;
  let line = 0;
  while (r.o < end) {
    const recordId = text(0) as string;
    const otherParty = text(0) as string;
    t += unzig(varint());
    const codes = r.byte();
    const quantity = varint();
    const area = text(1);
    line += unzig(varint());
    const units = varint();
    const freeUnits = varint();
    const rateFen = varint();
    const chargeFen = varint();
    const offerCode = text(1);
    if (onlyIds) {
      on({ recordId });
      continue;
    }
    const usage = USAGES[codes & 3] as Usage;
    const scope = SCOPES[(codes >> 2) & 3] as Scope;
    if (usage === undefined || scope === undefined) throw new RangeError('a CDR set body with an unknown usage or scope');
    on({
      recordId, otherParty, startedUs: t, usage, scope, quantity, area, line, itemCode: itemOf(usage, scope), unit: UNIT_CODES[(codes >> 4) & 3] as SetRecord['unit'],
      units, freeUnits, rateFen, chargeFen, offerCode, freeReason: FREE_REASON_CODES[(codes >> 6) & 3] as SetRecord['freeReason'],
    });
  }
}
