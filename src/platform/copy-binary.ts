// PostgreSQL's binary COPY format (COPY … FROM STDIN WITH (FORMAT binary)) for the bulk writers
// (usage staging, rated CDRs): each row's fields go into one growing buffer, with no text for
// PostgreSQL to parse (a timestamptz is its microseconds, a bigint its eight bytes).
//
// Why not pg-copy-streams-binary: its timestamptz takes a Date (milliseconds: a CDR's start keeps
// its microseconds), its int8 a BigInt, and it allocates a buffer per field and a stream chunk per
// row; at 20,000,000 rows that cost more than the text it replaces (docs/decisions/0001).
//
// Only the three types the bulk writers need: bigint (a safe integer), text and timestamptz.

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TWO_32 = 4_294_967_296;
/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC). */
const PG_EPOCH_US = 946_684_800_000_000;

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
    this.buf.writeInt32BE(0, this.off); // flags: no OIDs
    this.buf.writeInt32BE(0, this.off + 4); // no header extension
    this.off += 8;
  }

  private room(bytes: number): void {
    if (this.off + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + bytes));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): this {
    this.room(2);
    this.buf.writeInt16BE(fields, this.off);
    this.off += 2;
    return this;
  }

  /** A bigint field: a safe integer (or null). */
  int8(v: number | null): this {
    if (v === null) return this.nul();
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer: ${v}`);
    this.room(12);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(8, this.off);
    this.buf.writeInt32BE(hi, this.off + 4);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.off + 8);
    this.off += 12;
    return this;
  }

  /** A text field (UTF-8), or null. */
  text(s: string | null): this {
    if (s === null) return this.nul();
    this.room(4 + s.length * 3);
    const n = this.buf.write(s, this.off + 4, 'utf8');
    this.buf.writeInt32BE(n, this.off);
    this.off += 4 + n;
    return this;
  }

  /** A timestamptz field from microseconds since the Unix epoch (a safe integer), or null. */
  timestamptz(us: number | null): this {
    return us === null ? this.nul() : this.int8(us - PG_EPOCH_US);
  }

  private nul(): this {
    this.room(4);
    this.buf.writeInt32BE(-1, this.off);
    this.off += 4;
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
    this.buf.writeInt16BE(-1, this.off);
    this.off += 2;
    return this.take();
  }
}
