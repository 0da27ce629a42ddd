// A worker thread of a large CDR file's import (import.ts, UsageThreads), with a PostgreSQL connection
// of its own: it stages the pieces it is sent (staging.ts: parse, check, match, append to the file's
// spill), then rates the spill's buckets and the pending table's chunks it is sent (service.ts
// rateBucket, rateChunkTransaction: each chunk in a transaction of its own, virtual accounts charged in
// it; the import's session holds the rating lock).
import { workerData } from 'node:worker_threads';
import type { Clock } from '../../platform/clock.ts';
import { openDatabase, withConnection } from '../../platform/db.ts';
import { serveThread } from '../../platform/thread-pool.ts';
import type { UsageThreadRequest } from './import.ts';
import { type RatedFileChunk, rateBucket, rateChunkTransaction } from './service.ts';
import { type StagedPiece, stagePiece } from './staging.ts';

const database = await openDatabase({ databaseUrl: (workerData as { databaseUrl: string }).databaseUrl, poolSize: 1 });
/** The import's clock as it read when the request was sent. */
const clockAt = (nowMs: number): Clock => ({ kind: 'simulated', now: () => new Date(nowMs) });

serveThread(
  (r: UsageThreadRequest) =>
    withConnection<StagedPiece | RatedFileChunk | RatedFileChunk[]>(database, (db, client) =>
      r.kind === 'stage'
        ? stagePiece(db, r.plan, r.piece, r.nowMs)
        : r.kind === 'bucket'
          ? rateBucket(db, client, clockAt(r.nowMs), r.fileId, r.plan, r.bucket, r.chunkRecords, true)
          : rateChunkTransaction(db, client, clockAt(r.nowMs), r.fileId, r.chunk, true),
    ),
  () => database.close(),
);
