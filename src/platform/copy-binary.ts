// PostgreSQL's binary COPY format (COPY … FROM STDIN WITH (FORMAT binary)) for the bulk writers
// (the pending table, rated CDRs, new usage totals — all through copyRowsIn — and the spill files):
// each row's fields go into one growing buffer, with no text for PostgreSQL to parse (a timestamptz
// is its microseconds, a bigint its eight bytes); CopyBinaryReader reads such streams back.
//
// Why not pg-copy-streams-binary: its timestamptz takes a Date (milliseconds: a CDR's start keeps
// its microseconds), its int8 a BigInt, and it allocates a buffer per field and a stream chunk per
// row; at 20,000,000 rows that cost more than the text it replaces (docs/decisions/0001).
//
// The writer has only the types the bulk writers need: bigint (a safe integer), integer, text, timestamptz and bytea.

import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TWO_32 = 4_294_967_296;
/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC). */
const PG_EPOCH_US = 946_684_800_000_000;

/** Four bytes, big-endian, of a 32-bit integer at b[o] (a typed array keeps the low 8 bits of each byte assigned); the caller made room. */
export function putInt32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

export class CopyBinaryWriter {
  private buf: Buffer;
  private off = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
    this.header();
  }

  private header(): void {
    this.room(SIGNATURE.length + 8);
    this.off += SIGNATURE.copy(this.buf, this.off);
    this.i32(0); // flags: no OIDs
    this.i32(0); // no header extension
  }

  private room(bytes: number): void {
    if (this.off + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + bytes));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  // the fields' bytes are stored one by one (a typed array keeps the low 8 bits of what is assigned):
  // Buffer's writeInt32BE and write checked their arguments in calls that cost more than the writing, about
  // half of the encoding of a CDR (bench/README.md, "2026-12-06"). Callers make room first.
  private i32(v: number): void {
    putInt32(this.buf, this.off, v);
    this.off += 4;
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): this {
    this.room(2);
    this.buf[this.off] = fields >>> 8;
    this.buf[this.off + 1] = fields;
    this.off += 2;
    return this;
  }

  /** A bigint field: a safe integer (or null). */
  int8(v: number | null): this {
    if (v === null) return this.nul();
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer: ${v}`);
    this.room(12);
    const hi = Math.floor(v / TWO_32);
    this.i32(8);
    this.i32(hi);
    this.i32(v - hi * TWO_32);
    return this;
  }

  /** An integer field (a 32-bit integer). */
  int4(v: number): this {
    if (!Number.isInteger(v) || v < -2_147_483_648 || v > 2_147_483_647) throw new RangeError(`not a 32-bit integer: ${v}`);
    this.room(8);
    this.i32(4);
    this.i32(v);
    return this;
  }

  /** A text field (UTF-8), or null. */
  text(s: string | null): this {
    if (s === null) return this.nul();
    const n = s.length;
    this.room(4 + n * 3);
    const b = this.buf;
    const at = this.off + 4;
    // ASCII (record ids, numbers, codes) byte by byte; anything else through Buffer's UTF-8 encoder
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      b[at + i] = c;
    }
    const bytes = i === n ? n : b.write(s, at, 'utf8');
    this.i32(bytes);
    this.off += bytes;
    return this;
  }

  /** A bytea field: the bytes buf[start, end), or null. */
  bytea(buf: Buffer | null, start: number, end: number): this {
    if (buf === null) return this.nul();
    const n = end - start;
    this.room(4 + n);
    this.i32(n);
    this.off += buf.copy(this.buf, this.off, start, end);
    return this;
  }

  /** A timestamptz field from microseconds since the Unix epoch (a safe integer), or null. */
  timestamptz(us: number | null): this {
    return us === null ? this.nul() : this.int8(us - PG_EPOCH_US);
  }

  private nul(): this {
    this.room(4);
    this.i32(-1);
    return this;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.off;
  }

  /** The rows written since the last take (with the header the first time); the writer goes on in a new buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.off);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.off = 0;
    return out;
  }

  /** The rest with the trailer: the last piece of the COPY. */
  end(): Buffer {
    this.room(2);
    this.buf[this.off] = 0xff;
    this.buf[this.off + 1] = 0xff;
    this.off += 2;
    return this.take();
  }
}

/**
 * Rows into a table by binary COPY on `client` (`statement`: `COPY t (…) FROM STDIN WITH (FORMAT binary)`):
 * `write` writes each row (`w.row(n)` then its fields); sent in pieces of about 1 MiB as the connection takes them.
 */
export async function copyRowsIn<T>(client: pg.ClientBase, statement: string, rows: Iterable<T>, write: (w: CopyBinaryWriter, row: T) => void): Promise<void> {
  await pipeline(function* () {
    const w = new CopyBinaryWriter();
    for (const r of rows) {
      write(w, r);
      if (w.length >= 1 << 20) yield w.take();
    }
    yield w.end();
  }, client.query(copyFrom(statement)));
}

/**
 * The column types CopyBinaryReader decodes: bigint as a safe integer, timestamptz as microseconds since the
 * Unix epoch; `code` is a text column of short values that repeat (a cycle, a usage, a scope, an area): each value
 * is decoded once per reader and the same string returned for it after (no new string, no garbage, per row).
 */
export type CopyColumn = 'int8' | 'text' | 'timestamptz' | 'bool' | 'code';
export type CopyValue = number | string | boolean | null;

/**
 * Reads COPY … TO STDOUT WITH (FORMAT binary) output of known column types, chunk by chunk (a row may
 * span chunks), calling `onRow` with each row's values (the same array every time: copy what you keep).
 * `concatenated`: the input is several complete streams one after another (a spill file appended to a
 * stream at a time), each with its header and trailer.
 */
export class CopyBinaryReader {
  private rest: Buffer = Buffer.alloc(0);
  private headed = false;
  private ended = false;
  private readonly values: CopyValue[];
  private readonly types: readonly CopyColumn[];
  private readonly onRow: (values: CopyValue[]) => void;
  private readonly concatenated: boolean;
  /** Per `code` column, the ASCII values seen by a hash of their bytes (at most MAX_CODES of at most MAX_CODE_BYTES; others are decoded every time). */
  private readonly codes: Map<number, string>[];

  constructor(types: readonly CopyColumn[], onRow: (values: CopyValue[]) => void, o: { concatenated?: boolean } = {}) {
    this.types = types;
    this.onRow = onRow;
    this.values = new Array<CopyValue>(types.length).fill(null);
    this.concatenated = o.concatenated ?? false;
    this.codes = types.map(() => new Map<number, string>());
  }

  push(chunk: Buffer): void {
    const b = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let o = 0;
    for (;;) {
      if (!this.headed) {
        if (this.ended && o === b.length) break;
        if (b.length - o < SIGNATURE.length + 8) break;
        if (!b.subarray(o, o + SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
        const ext = b.readInt32BE(o + SIGNATURE.length + 4);
        if (b.length - o < SIGNATURE.length + 8 + ext) break;
        o += SIGNATURE.length + 8 + ext;
        this.headed = true;
        this.ended = false;
      }
      const start = o;
      if (b.length - o < 2) break;
      const fields = b.readInt16BE(o);
      o += 2;
      if (fields === -1) {
        this.ended = true;
        if (this.concatenated) {
          this.headed = false;
          continue;
        }
        o = b.length;
        break;
      }
      if (fields !== this.types.length) throw new Error(`binary COPY row of ${fields} fields, expected ${this.types.length}`);
      let complete = true;
      for (let i = 0; i < fields; i++) {
        if (b.length - o < 4) {
          complete = false;
          break;
        }
        const len = b.readInt32BE(o);
        o += 4;
        if (len === -1) {
          this.values[i] = null;
          continue;
        }
        if (b.length - o < len) {
          complete = false;
          break;
        }
        const type = this.types[i] as CopyColumn;
        this.values[i] = type === 'code' ? this.code(i, b, o, len) : decode(type, b, o, len);
        o += len;
      }
      if (!complete) {
        o = start;
        break;
      }
      this.onRow(this.values);
    }
    this.rest = o < b.length ? Buffer.from(b.subarray(o)) : Buffer.alloc(0);
  }

  private code(column: number, b: Buffer, o: number, len: number): string {
    if (len > MAX_CODE_BYTES) return b.toString('utf8', o, o + len);
    // FNV-1a of the bytes: one lookup whatever the number of distinct values (a city's area codes are hundreds)
    let h = 0x811c9dc5 ^ len;
    for (let k = 0; k < len; k++) h = Math.imul(h ^ (b[o + k] as number), 0x01000193);
    const seen = this.codes[column] as Map<number, string>;
    const hit = seen.get(h);
    if (hit !== undefined && hit.length === len) {
      let k = 0;
      while (k < len && b[o + k] === hit.charCodeAt(k)) k++;
      if (k === len) return hit;
    }
    const s = b.toString('utf8', o, o + len);
    // only ASCII values are kept (their bytes are their characters, as compared above); a colliding one is not
    if (hit === undefined && s.length === len && seen.size < MAX_CODES) seen.set(h, s);
    return s;
  }

  /** After the last chunk: the stream (every stream, when concatenated) must have ended with its trailer and nothing after it. */
  end(): void {
    if (!this.ended || this.rest.length) throw new Error('binary COPY stream ended early');
  }
}

const MAX_CODES = 4096;
const MAX_CODE_BYTES = 32;

function decode(type: CopyColumn, b: Buffer, o: number, len: number): CopyValue {
  switch (type) {
    case 'text':
    case 'code':
      return b.toString('utf8', o, o + len);
    case 'bool':
      return b[o] === 1;
    case 'int8':
    case 'timestamptz': {
      // byte by byte, as the writer (Buffer's readInt32BE checks its arguments in a call of its own)
      const hi = ((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number);
      const lo = (((b[o + 4] as number) << 24) | ((b[o + 5] as number) << 16) | ((b[o + 6] as number) << 8) | (b[o + 7] as number)) >>> 0;
      const v = hi * TWO_32 + lo;
      if (!Number.isSafeInteger(v)) throw new RangeError('a bigint past 2^53 in a binary COPY row');
      return type === 'int8' ? v : v + PG_EPOCH_US;
    }
  }
}
