// R-BIL-1..3 the records a rating holds, as columns: typed arrays of numbers and codes, the record id and
// other party left as byte ranges of the buffer they were read from (a spill bucket's files, a COPY out of
// the pending table) until a string is needed. A bucket of 90,000 records is a dozen typed arrays instead
// of 90,000 objects and 180,000 strings that live until the bucket is rated: reading them back, sorting,
// rating and encoding the sets (sets.ts) copy bytes and numbers, and the garbage collector has almost
// nothing to move (docs/decisions/0002, last section, step 4).
//
// The layout read is the pending table's (repo.ts PENDING_COLUMNS) in PostgreSQL's binary COPY format,
// which the spill files (spill.ts) and the COPY out of a pending table both are.
import type { RatingRecord } from './rating.ts';
import { SCOPES, USAGES } from './rules.ts';
import { recordIdHashes } from './sets.ts';

const TWO_32 = 4_294_967_296;
const PG_EPOCH_US = 946_684_800_000_000;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const PENDING_FIELDS = 11;

/** A usage's place in the database's order of usages (COLLATE "C": data < sms < voice), by usage code (rules.ts USAGES). */
const USAGE_RANK = USAGES.map((u) => [...USAGES].sort().indexOf(u));

export class RecordColumns {
  n = 0;
  /** the bytes the record ids and other parties lie in */
  src: Buffer;
  line: Float64Array;
  account: Float64Array;
  subscriber: Float64Array;
  /** microseconds since the epoch */
  started: Float64Array;
  quantity: Float64Array;
  ridAt: Uint32Array;
  ridLen: Uint32Array;
  /** the record id's two hashes (sets.ts recordIdHashes): R-BIL-3's checks and the sets' hashes */
  ridH1: Uint32Array;
  ridH2: Uint32Array;
  opAt: Uint32Array;
  opLen: Uint32Array;
  /** index into `cycles` */
  cycle: Uint16Array;
  /** rules.ts USAGES index */
  usage: Uint8Array;
  /** rules.ts SCOPES index */
  scope: Uint8Array;
  /** index into `areas` (0: none) */
  area: Uint16Array;
  readonly cycles: string[] = [];
  readonly areas: (string | null)[] = [null];
  private readonly cycleIx = new Map<string, number>();
  private readonly areaIx = new Map<string, number>();

  constructor(capacity: number, src: Buffer) {
    const c = Math.max(16, capacity);
    this.src = src;
    this.line = new Float64Array(c);
    this.account = new Float64Array(c);
    this.subscriber = new Float64Array(c);
    this.started = new Float64Array(c);
    this.quantity = new Float64Array(c);
    this.ridAt = new Uint32Array(c);
    this.ridLen = new Uint32Array(c);
    this.ridH1 = new Uint32Array(c);
    this.ridH2 = new Uint32Array(c);
    this.opAt = new Uint32Array(c);
    this.opLen = new Uint32Array(c);
    this.cycle = new Uint16Array(c);
    this.usage = new Uint8Array(c);
    this.scope = new Uint8Array(c);
    this.area = new Uint16Array(c);
  }

  /** Room for one more record (the arrays doubled when full). */
  private grow(): void {
    if (this.n < this.line.length) return;
    const c = this.line.length * 2;
    const more = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(c);
      b.set(a);
      return b;
    };
    this.line = more(this.line);
    this.account = more(this.account);
    this.subscriber = more(this.subscriber);
    this.started = more(this.started);
    this.quantity = more(this.quantity);
    this.ridAt = more(this.ridAt);
    this.ridLen = more(this.ridLen);
    this.ridH1 = more(this.ridH1);
    this.ridH2 = more(this.ridH2);
    this.opAt = more(this.opAt);
    this.opLen = more(this.opLen);
    this.cycle = more(this.cycle);
    this.usage = more(this.usage);
    this.scope = more(this.scope);
    this.area = more(this.area);
  }

  /** A cycle's index in `cycles` (added when new). */
  cycleCode(s: string): number {
    return intern(this.cycles, this.cycleIx, s, 'cycles');
  }

  /** An area's index in `areas` (added when new; 0: none). */
  areaCode(s: string | null): number {
    return s === null ? 0 : intern(this.areas, this.areaIx, s, 'areas');
  }

  recordId(i: number): string {
    const at = this.ridAt[i] as number;
    return this.src.toString('utf8', at, at + (this.ridLen[i] as number));
  }

  otherParty(i: number): string {
    const at = this.opAt[i] as number;
    return this.src.toString('utf8', at, at + (this.opLen[i] as number));
  }

  /** Whether record i's other party is `s` (its bytes compared, no string made for an ASCII `s`). */
  otherPartyIs(i: number, s: string): boolean {
    const n = this.opLen[i] as number;
    if (s.length > n) return false;
    const at = this.opAt[i] as number;
    const b = this.src;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c > 0x7f) return this.otherParty(i) === s;
      if (b[at + k] !== c) return false;
    }
    return s.length === n;
  }

  /** Record i's record id hashed (after its bytes are in place). */
  private hashRecordId(i: number): void {
    const [h1, h2] = recordIdHashes(this.src, this.ridAt[i] as number, this.ridLen[i] as number);
    this.ridH1[i] = h1;
    this.ridH2[i] = h2;
  }

  /** Whether records i and j have the same record id. */
  sameRecordId(i: number, j: number): boolean {
    const n = this.ridLen[i] as number;
    if (n !== this.ridLen[j] || this.ridH1[i] !== this.ridH1[j]) return false;
    const a = this.ridAt[i] as number;
    const c = this.ridAt[j] as number;
    const b = this.src;
    for (let k = 0; k < n; k++) if (b[a + k] !== b[c + k]) return false;
    return true;
  }

  /** Record i as an object (for the rating statement's pending table when a chunk must be rated in SQL). */
  record(i: number): RatingRecord {
    return {
      line: this.line[i] as number, accountId: this.account[i] as number, subscriberId: this.subscriber[i] as number, recordId: this.recordId(i), otherParty: this.otherParty(i),
      startedUs: this.started[i] as number, cycle: this.cycles[this.cycle[i] as number] as string, usage: USAGES[this.usage[i] as number] as string,
      scope: SCOPES[this.scope[i] as number] as string, quantity: this.quantity[i] as number, area: this.areas[this.area[i] as number] as string | null,
    };
  }

  /** Records given as objects (an API batch, the rows of a test): their strings written into a buffer of their own. */
  static fromRecords(records: readonly RatingRecord[]): RecordColumns {
    let bytes = 0;
    for (const r of records) bytes += Buffer.byteLength(r.recordId) + Buffer.byteLength(r.otherParty);
    const src = Buffer.allocUnsafe(Math.max(1, bytes));
    const c = new RecordColumns(records.length, src);
    let o = 0;
    for (const r of records) {
      const i = c.n;
      c.line[i] = r.line;
      c.account[i] = r.accountId;
      c.subscriber[i] = r.subscriberId;
      c.started[i] = r.startedUs;
      c.quantity[i] = r.quantity;
      c.ridAt[i] = o;
      c.ridLen[i] = src.write(r.recordId, o, 'utf8');
      o += c.ridLen[i] as number;
      c.hashRecordId(i);
      c.opAt[i] = o;
      c.opLen[i] = src.write(r.otherParty, o, 'utf8');
      o += c.opLen[i] as number;
      c.cycle[i] = c.cycleCode(r.cycle);
      c.usage[i] = codeOf(USAGES, r.usage, 'usage');
      c.scope[i] = codeOf(SCOPES, r.scope, 'scope');
      c.area[i] = c.areaCode(r.area);
      c.n++;
    }
    return c;
  }

  /**
   * Records in the pending table's binary COPY layout: `concatenated` streams (a spill file, several
   * appended pieces, or several files) each with its header and trailer. The strings stay in `src`.
   */
  static fromCopy(src: Buffer, concatenated: boolean): RecordColumns {
    const c = new RecordColumns(Math.ceil(src.length / 64), src);
    const b = src;
    let o = 0;
    const int8 = (): number => {
      if (b[o] !== 0 || b[o + 1] !== 0 || b[o + 2] !== 0 || b[o + 3] !== 8) throw new Error('a pending row with a bigint field not of 8 bytes');
      const hi = ((b[o + 4] as number) << 24) | ((b[o + 5] as number) << 16) | ((b[o + 6] as number) << 8) | (b[o + 7] as number);
      const lo = (((b[o + 8] as number) << 24) | ((b[o + 9] as number) << 16) | ((b[o + 10] as number) << 8) | (b[o + 11] as number)) >>> 0;
      o += 12;
      const v = hi * TWO_32 + lo;
      if (!Number.isSafeInteger(v)) throw new RangeError('a bigint past 2^53 in a pending row');
      return v;
    };
    const len = (): number => {
      const n = ((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number);
      o += 4;
      if (n < -1 || o + n > b.length) throw new Error('a pending row ends early');
      return n;
    };
    // the short texts (cycle, area) by their bytes: while they repeat the last one's code (no string made)
    const lastText = (code: (s: string) => number) => {
      let at = -1;
      let was = 0;
      let last = 0;
      return (o: number, n: number): number => {
        let same = at >= 0 && n === was;
        for (let k = 0; same && k < n; k++) same = b[o + k] === b[at + k];
        if (!same) {
          last = code(b.toString('utf8', o, o + n));
          at = o;
          was = n;
        }
        return last;
      };
    };
    const cycleAt = lastText((x) => c.cycleCode(x));
    const areaAt = lastText((x) => c.areaCode(x));
    let streams = 0;
    while (o < b.length) {
      if (b.length - o < SIGNATURE.length + 8 || !b.subarray(o, o + SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
      o += SIGNATURE.length + 8 + b.readInt32BE(o + SIGNATURE.length + 4);
      streams++;
      for (;;) {
        if (o + 2 > b.length) throw new Error('binary COPY stream ended early');
        const fields = b.readInt16BE(o);
        o += 2;
        if (fields === -1) break;
        if (fields !== PENDING_FIELDS) throw new Error(`binary COPY row of ${fields} fields, expected ${PENDING_FIELDS}`);
        c.grow();
        const i = c.n;
        c.line[i] = int8();
        c.account[i] = int8();
        c.subscriber[i] = int8();
        let n = len();
        c.ridAt[i] = o;
        c.ridLen[i] = n;
        c.hashRecordId(i);
        o += n;
        n = len();
        c.opAt[i] = o;
        c.opLen[i] = n;
        o += n;
        c.started[i] = int8() + PG_EPOCH_US;
        n = len();
        c.cycle[i] = cycleAt(o, n);
        o += n;
        n = len();
        c.usage[i] = usageAt(b, o, n);
        o += n;
        n = len();
        c.scope[i] = scopeAt(b, o, n);
        o += n;
        c.quantity[i] = int8();
        n = len();
        if (n < 0) c.area[i] = 0;
        else {
          c.area[i] = areaAt(o, n);
          o += n;
        }
        c.n++;
      }
      if (!concatenated) break;
    }
    if (streams === 0 && b.length > 0) throw new Error('not a binary COPY stream');
    if (!concatenated && o !== b.length) throw new Error('bytes after the end of a binary COPY stream');
    return c;
  }

  /**
   * The records' indexes in the order the allowance pools use them (R-BIL-1): account, subscriber, cycle,
   * usage, start time, record id's bytes (PostgreSQL's COLLATE "C"), then line — the pending table's ORDER BY
   * and the rating statement's window, so records sorted here or read from the database are rated the same.
   */
  ratingOrder(): Uint32Array {
    const order = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    const cycleRank = new Uint16Array(this.cycles.length);
    [...this.cycles.keys()].sort((a, b) => cmp(this.cycles[a] as string, this.cycles[b] as string)).forEach((k, rank) => (cycleRank[k] = rank));
    const { account, subscriber, cycle, usage, started, line, ridAt, ridLen, src } = this;
    return order.sort(
      (a, b) =>
        (account[a] as number) - (account[b] as number) ||
        (subscriber[a] as number) - (subscriber[b] as number) ||
        (cycleRank[cycle[a] as number] as number) - (cycleRank[cycle[b] as number] as number) ||
        (USAGE_RANK[usage[a] as number] as number) - (USAGE_RANK[usage[b] as number] as number) ||
        (started[a] as number) - (started[b] as number) ||
        src.compare(src, ridAt[b], (ridAt[b] as number) + (ridLen[b] as number), ridAt[a], (ridAt[a] as number) + (ridLen[a] as number)) ||
        (line[a] as number) - (line[b] as number),
    );
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The index of `s` in `list` (a Uint16Array holds it), appended when new. */
function intern(list: (string | null)[], ix: Map<string, number>, s: string, what: string): number {
  let i = ix.get(s);
  if (i === undefined) {
    i = list.push(s) - 1;
    if (i > 0xffff) throw new RangeError(`more than 65,536 ${what} in one set of records`);
    ix.set(s, i);
  }
  return i;
}

/** Whether b[o, o + n) holds the ASCII text s. */
function isText(b: Buffer, o: number, n: number, s: string): boolean {
  if (n !== s.length) return false;
  for (let k = 0; k < n; k++) if (b[o + k] !== s.charCodeAt(k)) return false;
  return true;
}

/** The USAGES code of the text b[o, o + n) (told apart by its first byte, then checked whole). */
function usageAt(b: Buffer, o: number, n: number): number {
  const code = b[o] === 0x76 ? 0 : b[o] === 0x73 ? 1 : 2; // v(oice), s(ms), else d(ata)
  if (!isText(b, o, n, USAGES[code] as string)) throw new RangeError(`unknown usage ${b.toString('utf8', o, o + n)}`);
  return code;
}

/** The SCOPES code of the text b[o, o + n). */
function scopeAt(b: Buffer, o: number, n: number): number {
  const code = b[o] === 0x72 ? 2 : n === 5 ? 0 : 1; // r(oaming), local (5 bytes), else long_distance
  if (!isText(b, o, n, SCOPES[code] as string)) throw new RangeError(`unknown scope ${b.toString('utf8', o, o + n)}`);
  return code;
}

function codeOf(list: readonly string[], v: string, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) throw new RangeError(`unknown ${what} ${v}`);
  return i;
}

/**
 * R-BIL-3: of records (indexes in rating order, so each account's are together), the ones to rate: the
 * first line of each record id of an account (a later line is a duplicate in the same file), none whose
 * `account|record id` is in `stored` (stored before).
 */
export function firstIndexes(c: RecordColumns, order: Uint32Array, stored?: ReadonlySet<string>): Uint32Array {
  const out = new Uint32Array(order.length);
  let k = 0;
  const check = stored !== undefined && stored.size > 0;
  for (let a = 0; a < order.length; ) {
    const acc = c.account[order[a] as number] as number;
    let b = a + 1;
    while (b < order.length && c.account[order[b] as number] === acc) b++;
    // a record id repeated in the account: found without allocating for an account of a few records
    let first: Map<string, number> | null = null;
    let repeats = false;
    if (b - a <= 32) {
      for (let i = a; i < b && !repeats; i++) for (let j = i + 1; j < b; j++) if (c.sameRecordId(order[i] as number, order[j] as number)) repeats = true;
    } else repeats = true;
    if (repeats) {
      first = new Map();
      for (let i = a; i < b; i++) {
        const x = order[i] as number;
        const id = c.recordId(x);
        const l = first.get(id);
        if (l === undefined || (c.line[x] as number) < l) first.set(id, c.line[x] as number);
      }
    }
    for (let i = a; i < b; i++) {
      const x = order[i] as number;
      if (first !== null && first.get(c.recordId(x)) !== c.line[x]) continue;
      if (check && stored.has(`${acc}|${c.recordId(x)}`)) continue;
      out[k++] = x;
    }
    a = b;
  }
  return out.subarray(0, k);
}
