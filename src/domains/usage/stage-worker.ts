// A staging worker thread (import.ts, StagingPool): stages the pieces of a CDR file it is sent, one at a
// time, on a PostgreSQL connection of its own (staging.ts: parse, check, match, binary COPY into the
// file's pending table), and answers each with its StagedPiece or its error.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, withConnection } from '../../platform/db.ts';
import { type Piece, stagePiece } from './staging.ts';

export interface StageRequest {
  id: number;
  fileId: number;
  nowMs: number;
  piece: Piece;
}

const port = parentPort;
if (!port) throw new Error('stage-worker.ts runs as a worker thread');
const database = await openDatabase({ databaseUrl: (workerData as { databaseUrl: string }).databaseUrl, poolSize: 1 });
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: StageRequest | 'close') => {
  if (m === 'close') {
    queue = queue.then(() => database.close()).then(() => port.close());
    return;
  }
  queue = queue.then(async () => {
    try {
      const result = await withConnection(database, (db, client) => stagePiece(db, client, m.fileId, m.piece, m.nowMs));
      port.postMessage({ id: m.id, result });
    } catch (err) {
      port.postMessage({ id: m.id, error: { message: (err as Error).message, code: (err as { code?: string }).code } });
    }
  });
});
