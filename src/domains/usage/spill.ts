// R-BIL-3 the spill of a CDR file's import: the matched records of each staged piece are appended to
// files on local disk, one per range of account ids (a bucket) and per thread, instead of a table in
// the database. The rating reads a bucket back whole, sorts it in memory (whole accounts, so every
// allowance pool and record id of an account is in it) and rates it chunk by chunk; the database
// never stores, indexes, sorts and sends back the file's records before the rating (at 20,000,000
// records that round trip was a third of the database's work of the import, bench/README.md). A bucket
// with more records than the rating holds in memory is loaded into the file's pending table instead
// (bucketBatches, a batch at a time) and rated from there.
//
// A spill file is a run of complete binary COPY streams (PostgreSQL's layout, copy-binary.ts), one per
// piece: each append is whole, so a file read after its writer's request ended is complete.
import { appendFileSync, createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { type CopyColumn, CopyBinaryReader, CopyBinaryWriter } from '../../platform/copy-binary.ts';
import { RecordColumns } from './columns.ts';
import type { RatingRecord } from './rating.ts';

/** Bytes of CDR file per bucket (~90,000 records of ~70 bytes): a bucket's records in memory are a few tens of MB. */
export const SPILL_BUCKET_BYTES = 6 * 1024 * 1024;
export const MAX_SPILL_BUCKETS = 4096;

/** Where a file's matched records go: `buckets` ranges of `width` account ids from `minAccount` (the last takes every id above). */
export interface SpillPlan {
  dir: string;
  minAccount: number;
  width: number;
  buckets: number;
}

/** The buckets of a file of `bytes` bytes: one per SPILL_BUCKET_BYTES. */
export const bucketsFor = (bytes: number): number => Math.ceil(bytes / SPILL_BUCKET_BYTES);

/** The plan of about `buckets` buckets over the account ids lo..hi, its directory made under `base`. */
export function spillPlan(base: string, fileId: number, lo: number, hi: number, buckets: number): SpillPlan {
  const wanted = Math.min(MAX_SPILL_BUCKETS, Math.max(1, Math.floor(buckets)));
  const span = Math.max(1, hi - lo + 1);
  const width = Math.max(1, Math.ceil(span / wanted));
  return { dir: mkdtempSync(join(base, `openboss-usage-${fileId}-`)), minAccount: lo, width, buckets: Math.ceil(span / width) };
}

export const bucketOf = (plan: SpillPlan, accountId: number): number => Math.min(plan.buckets - 1, Math.max(0, Math.floor((accountId - plan.minAccount) / plan.width)));

/** A record's fields in the pending table's column order (repo.ts PENDING_COLUMNS): the spill files and the COPY into the pending table write the same rows. */
export function writePending(w: CopyBinaryWriter, r: RatingRecord): void {
  w.row(11).int8(r.line).int8(r.accountId).int8(r.subscriberId).text(r.recordId).text(r.otherParty).timestamptz(r.startedUs);
  w.text(r.cycle).text(r.usage).text(r.scope).int8(r.quantity).text(r.area);
}

// cycle, usage, scope and area are codes: a few values, decoded once per reader (a bucket's records hold the same strings)
const PENDING_TYPES: CopyColumn[] = ['int8', 'int8', 'int8', 'text', 'text', 'timestamptz', 'code', 'code', 'code', 'int8', 'code'];
type Row = [number, number, number, string, string, number, string, string, string, number, string | null];
const record = (v: Row): RatingRecord => ({ line: v[0], accountId: v[1], subscriberId: v[2], recordId: v[3], otherParty: v[4], startedUs: v[5], cycle: v[6], usage: v[7], scope: v[8], quantity: v[9], area: v[10] });

/** This thread's file of a bucket (each thread appends to its own). */
const fileOf = (plan: SpillPlan, bucket: number) => join(plan.dir, `b${bucket}.t${threadId}`);

/** A piece's matched records appended to their buckets' files; returns [bucket, records] of each bucket written. */
export function spill(plan: SpillPlan, rows: readonly RatingRecord[]): [number, number][] {
  const writers = new Map<number, { w: CopyBinaryWriter; n: number }>();
  for (const r of rows) {
    const b = bucketOf(plan, r.accountId);
    let x = writers.get(b);
    if (!x) writers.set(b, (x = { w: new CopyBinaryWriter(16 * 1024), n: 0 }));
    writePending(x.w, r);
    x.n++;
  }
  const counts: [number, number][] = [];
  for (const [b, { w, n }] of writers) {
    appendFileSync(fileOf(plan, b), w.end());
    counts.push([b, n]);
  }
  return counts;
}

const filesOf = (plan: SpillPlan, bucket: number) => readdirSync(plan.dir).filter((f) => f.startsWith(`b${bucket}.`)).map((f) => join(plan.dir, f));

/** A reader of pending rows (binary COPY in PENDING_COLUMNS order: a spill file, or COPY out of a pending table), calling `onRecord` with each. */
export const pendingReader = (onRecord: (r: RatingRecord) => void, concatenated: boolean) =>
  new CopyBinaryReader(PENDING_TYPES, (v) => onRecord(record(v as Row)), { concatenated });

/** A bucket's records as columns (columns.ts), every thread's file of it, in no particular order. */
export function readBucketColumns(plan: SpillPlan, bucket: number): RecordColumns {
  const files = filesOf(plan, bucket);
  return RecordColumns.fromCopy(files.length === 1 ? readFileSync(files[0] as string) : Buffer.concat(files.map((f) => readFileSync(f))), true);
}

/** A bucket's records in batches of about `size` (a bucket too large to hold: streamed into the pending table). */
export async function* bucketBatches(plan: SpillPlan, bucket: number, size: number): AsyncGenerator<RatingRecord[]> {
  let batch: RatingRecord[] = [];
  for (const f of filesOf(plan, bucket)) {
    const reader = pendingReader((r) => batch.push(r), true);
    for await (const chunk of createReadStream(f, { highWaterMark: 1024 * 1024 })) {
      reader.push(chunk as Buffer);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    reader.end();
  }
  if (batch.length) yield batch;
}

/** A spill directory removed (after its file completed or failed, or when the import that made it is gone). */
export function removeSpill(dir: string | null | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
