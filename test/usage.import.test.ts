// R-BIL-3: CDR files and API batches are imported exactly once; malformed rows are rejected with
// line number and reason while the rest is imported; bad API input is a 4xx that changes nothing.
import { mkdtempSync, readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { sql } from 'kysely';
import { checkConservation } from '../src/domains/accounts/conservation.ts';
import { releaseAbandonedFiles, USAGE_FILE_LOCK, UsageThreads } from '../src/domains/usage/import.ts';
import { pendingTable, usageRepo } from '../src/domains/usage/repo.ts';
import { withConnection } from '../src/platform/db.ts';
import { actorOf, system, testApi, type Api, testEnv, type TestEnv } from './helpers.ts';
import { cdr, seedTestOffers, subscriberOn, toCsv } from './fixtures/usage/helpers.ts';

let env: TestEnv;
let api: Api;
const dir = mkdtempSync(join(tmpdir(), 'openboss-usage-'));
beforeAll(async () => {
  env = await testEnv();
  env.clock.set(new Date('2026-12-20T12:00:00+08:00'));
  await seedTestOffers(env.ctx);
  api = await testApi(env);
});
afterAll(async () => {
  await api.app.close();
  await env.close();
});

const db = () => env.ctx.database.db;
const cdrCount = async () => Number((await db().selectFrom('usage_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
const chargesOf = (subscriberId: number) => db().selectFrom('usage_charges').select(['item_code', 'amount_fen', 'records']).where('subscriber_id', '=', subscriberId).orderBy('item_code').execute();
let n = 0;
const file = (text: string) => {
  const p = join(dir, `cdrs-${++n}.csv`);
  writeFileSync(p, text);
  return p;
};

test('R-BIL-3 the same file imported twice changes nothing the second time and says so', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const rows = [cdr(s.number, '2026-11-20 10:00:00', 'voice', 'long_distance', 61), cdr(s.number, '2026-11-20 11:00:00', 'sms', 'local', 1)];
  const path = file(toCsv(rows));
  const first = await env.ctx.usage.importFile(system, path);
  expect(first).toMatchObject({ status: 'completed', rowsTotal: 2, accepted: 2, rejected: 0, duplicate: 0, rated: 2, errorsPath: null });
  const before = { cdrs: await cdrCount(), charges: await chargesOf(s.subscriberId), files: (await env.ctx.usage.files()).length };
  const again = await env.ctx.usage.importFile(system, path);
  expect(again).toMatchObject({ status: 'duplicate_file', duplicateOfFileId: first.fileId, accepted: 0, rated: 0 });
  expect({ cdrs: await cdrCount(), charges: await chargesOf(s.subscriberId), files: (await env.ctx.usage.files()).length }).toEqual(before);
  expect(before.charges).toEqual([
    { item_code: 'SMS', amount_fen: 0, records: 1 },
    { item_code: 'VOICE_LD', amount_fen: 60, records: 1 },
  ]);
  // forced (after fixing what rows were rejected for): record ids still count once
  const forced = await env.ctx.usage.importFile(system, path, { force: true });
  expect(forced).toMatchObject({ status: 'completed', accepted: 0, duplicate: 2, rated: 0 });
  expect(await chargesOf(s.subscriberId)).toEqual(before.charges);
});

test('R-BIL-3 a record id already imported (in another file) is counted as duplicate and rated once', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const a = cdr(s.number, '2026-11-20 10:00:00', 'voice', 'long_distance', 61);
  const b = cdr(s.number, '2026-11-21 10:00:00', 'voice', 'long_distance', 30);
  await env.ctx.usage.importFile(system, file(toCsv([a])));
  // a different file (another switch's export) repeats record a, with a new one
  const second = await env.ctx.usage.importFile(system, file(toCsv([b, a, { ...a }])));
  expect(second).toMatchObject({ status: 'completed', rowsTotal: 3, accepted: 1, duplicate: 2, rejected: 0 });
  expect(await chargesOf(s.subscriberId)).toEqual([{ item_code: 'VOICE_LD', amount_fen: 90, records: 2 }]);
  // the same via the API
  const r = await env.ctx.usage.importBatch(system, [a, b]);
  expect(r).toMatchObject({ accepted: 0, duplicate: 2, rejected: 0, rated: 0 });
  expect(await chargesOf(s.subscriberId)).toEqual([{ item_code: 'VOICE_LD', amount_fen: 90, records: 2 }]);
  // and rated by the import's worker threads (PostgreSQL; in this thread on PGlite): the stored ones found in the thread's transaction
  const c = cdr(s.number, '2026-11-22 10:00:00', 'voice', 'long_distance', 1);
  const third = await env.ctx.usage.importFile(system, file(toCsv([c, a, b, { ...c }])), { threads: 2, chunkRows: 2 });
  expect(third).toMatchObject({ status: 'completed', rowsTotal: 4, accepted: 1, duplicate: 3, rejected: 0, rated: 1 });
  expect(await chargesOf(s.subscriberId)).toEqual([{ item_code: 'VOICE_LD', amount_fen: 120, records: 3 }]);
});

test('R-BIL-3 malformed rows in the middle of a file go to the error file with line and reason; the rest is imported', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const ok = (h: number) => cdr(s.number, `2026-11-20 ${String(h).padStart(2, '0')}:00:00`, 'voice', 'local', 60);
  const lines = [
    'record_id,service_number,other_party,start_time,usage,scope,quantity,area',
    toCsv([ok(1)]).split('\n')[1],
    `BAD-TIME,${s.number},13900001111,2026-11-31 10:00:00,voice,local,60,A`, // line 3: no 31 November
    `BAD-USAGE,${s.number},13900001111,2026-11-20 10:00:00,fax,local,60,A`,
    `BAD-SCOPE,${s.number},13900001111,2026-11-20 10:00:00,voice,space,60,A`,
    `BAD-QTY,${s.number},13900001111,2026-11-20 10:00:00,voice,local,-5,A`,
    `,${s.number},13900001111,2026-11-20 10:00:00,voice,local,60,A`, // line 7: no record id
    `BAD-COLS,${s.number},13900001111,2026-11-20 10:00:00,voice,local`,
    `BAD-NUMBER,18999999999,13900001111,2026-11-20 10:00:00,voice,local,60,A`, // line 9: not a subscriber
    `EARLY,${s.number},13900001111,2026-10-20 10:00:00,voice,local,60,A`, // line 10: before activation
    `FUTURE,${s.number},13900001111,2027-01-20 10:00:00,voice,local,60,A`,
    `"QUOTE,${s.number},13900001111,2026-11-20 10:00:00,voice,local,60,A`, // line 12: a stray quote swallows nothing
    `LONG,${'9'.repeat(10_000)}`, // line 13
    toCsv([ok(2)]).split('\n')[1],
    '',
    toCsv([ok(3)]).split('\n')[1],
  ];
  const path = file(lines.join('\n') + '\n');
  const errorsPath = join(dir, 'errors-explicit.csv');
  const r = await env.ctx.usage.importFile(system, path, { errorsPath, chunkRows: 4 });
  expect(r).toMatchObject({ status: 'completed', rowsTotal: 14, accepted: 3, rejected: 11, duplicate: 0, errorsPath });
  expect(r.errors.map((e) => [e.line, e.code])).toEqual([
    [3, 'START_TIME_INVALID'],
    [4, 'USAGE_UNKNOWN'],
    [5, 'SCOPE_UNKNOWN'],
    [6, 'QUANTITY_INVALID'],
    [7, 'RECORD_ID_MISSING'],
    [8, 'COLUMN_COUNT'],
    [9, 'UNKNOWN_NUMBER'],
    [10, 'NOT_IN_SERVICE'],
    [11, 'START_TIME_IN_FUTURE'],
    [12, 'RECORD_ID_INVALID'],
    [13, 'LINE_TOO_LONG'],
  ]);
  const report = readFileSync(errorsPath, 'utf8').trim().split('\n');
  expect(report[0]).toBe('line,record_id,code,reason_zh,reason_en');
  expect(report).toHaveLength(12);
  expect(report[1]).toMatch(/^3,BAD-TIME,START_TIME_INVALID,开始时间格式错误/);
  // default: next to the input
  const again = file(lines.slice(0, 4).join('\n').replace('2026-11-20 01', '2026-11-22 01').replace(/^(R-\d+)/m, '$1X') + '\n');
  const r2 = await env.ctx.usage.importFile(system, again);
  expect(r2.errorsPath).toBe(`${again}.errors.csv`);
  expect(existsSync(`${again}.errors.csv`)).toBe(true);
  const stored = (await env.ctx.usage.files()).find((f) => f.fileId === r.fileId);
  expect(stored).toMatchObject({ status: 'completed', accepted: 3, rejected: 11 });
});

test('R-BIL-3 a file staged in many pieces and rated by worker threads (PostgreSQL; in this thread on PGlite): every line keeps its number, the error CSV stays in line order', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const expected: [number, string][] = [];
  const good = new Map<string, number>();
  const lines = ['\uFEFFrecord_id,service_number,other_party,start_time,usage,scope,quantity,area'];
  for (let i = 0; lines.length < 80; i++) {
    const line = lines.length + 1;
    const kind = i % 9;
    if (kind === 2) {
      lines.push(`BAD-${i},${s.number},13900001111,2026-11-31 10:00:00,voice,local,60,A`);
      expected.push([line, 'START_TIME_INVALID']);
    } else if (kind === 5) {
      lines.push(`COLS-${i},${s.number}`);
      expected.push([line, 'COLUMN_COUNT']);
    } else if (kind === 7 && i % 2 === 1) {
      lines.push(`LONG-${i},${'9'.repeat(5_000)}`);
      expected.push([line, 'LINE_TOO_LONG']);
    } else if (kind === 8) lines.push('');
    else {
      const c = cdr(s.number, `2026-11-${String(10 + (i % 18)).padStart(2, '0')} 08:${String(i % 60).padStart(2, '0')}:00`, i % 3 ? 'voice' : 'sms', 'local', 30);
      lines.push(toCsv([c]).split('\n')[1] as string);
      good.set(c.recordId, line);
    }
  }
  const path = file(lines.join('\n'));
  const errorsPath = join(dir, 'errors-threads.csv');
  const r = await env.ctx.usage.importFile(system, path, { errorsPath, chunkRows: 5, threads: 2 });
  expect(r).toMatchObject({ status: 'completed', rowsTotal: good.size + expected.length, accepted: good.size, rejected: expected.length });
  expect(r.errors.map((e) => [e.line, e.code])).toEqual(expected);
  expect(readFileSync(errorsPath, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]))).toEqual(expected.map(([line]) => line));
  const stored = await db().selectFrom('usage_records').select(['record_id', 'line']).where('file_id', '=', r.fileId as number).execute();
  expect(new Map(stored.map((x) => [x.record_id, Number(x.line)]))).toEqual(good);
  const raw = env.ctx.database.raw;
  if (raw.kind === 'pg') {
    // a piece a thread cannot stage or a bucket it cannot read (no spill directory), or a chunk it cannot rate (no pending table for that file),
    // fails with the error of the disk or the database; the threads are stopped
    const pool = new UsageThreads(2, raw.connectionString);
    const gone = { dir: join(dir, 'no-such-spill'), minAccount: 0, width: 1, buckets: 1 };
    await expect(pool.stage(gone, { text: Buffer.from(lines.slice(0, 3).join('\n')), firstLine: 1, first: true }, Date.now())).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(pool.rateBucket(2_000_000_000, gone, 0, 100, Date.now())).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(pool.rate(2_000_000_000, [s.accountId, s.accountId, 1], Date.now())).rejects.toMatchObject({ code: '42P01' });
    await pool.close(false);
    await expect(pool.rate(2_000_000_000, [s.accountId, s.accountId, 1], Date.now())).rejects.toThrow(/stopped/);
  }
});

test('R-BIL-3 API batch: bad records rejected with index and reason, the rest imported and rated', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const good = cdr(s.number, '2026-11-20 10:00:00', 'voice', 'long_distance', 61);
  const r = await api.call('POST', '/api/v1/usage', {
    as: 'accounting',
    body: {
      records: [
        good,
        { ...cdr(s.number, 'yesterday', 'voice', 'local', 1) },
        { ...cdr(s.number, '2026-11-20 10:00:00', 'voice', 'local', 1), quantity: '-1' },
        { ...cdr('13000000000', '2026-11-20 10:00:00', 'voice', 'local', 1) },
        good,
      ],
    },
  });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ received: 5, accepted: 1, rejected: 3, duplicate: 1, rated: 1 });
  expect(r.body.rejections.map((x: { index: number; code: string }) => [x.index, x.code])).toEqual([
    [1, 'START_TIME_INVALID'],
    [2, 'QUANTITY_INVALID'],
    [3, 'UNKNOWN_NUMBER'],
  ]);
  expect(r.body.rejections[0].reason.zh).toContain('开始时间');
  const files = await api.call('GET', '/api/v1/usage/files?limit=5', { as: 'accounting' });
  expect(files.status).toBe(200);
  expect(files.body.items[0]).toMatchObject({ kind: 'api', accepted: 1, rejected: 3, duplicate: 1 });
});

test('R-BIL-3 bad input to the API is a 4xx problem+json and changes nothing', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const good = cdr(s.number, '2026-11-20 10:00:00', 'voice', 'long_distance', 61);
  const before = { cdrs: await cdrCount(), files: (await env.ctx.usage.files({ limit: 500 })).length };
  const cases: { body?: unknown; raw?: string; as?: string; status: number }[] = [
    { body: { records: [] }, status: 400 },
    { body: { records: 'x' }, status: 400 },
    { body: {}, status: 400 },
    { body: { records: [{ ...good, extra: 1 }] }, status: 400 },
    { body: { records: [{ ...good, quantity: 1.5 }] }, status: 400 },
    { body: { records: Array.from({ length: 10_001 }, () => good) }, status: 400 },
    { raw: '{"records": [', status: 400 },
    { body: { records: [good] }, as: 'front_desk', status: 403 },
  ];
  for (const c of cases) {
    const r = await api.call('POST', '/api/v1/usage', { as: c.as ?? 'accounting', ...(c.raw !== undefined ? { raw: c.raw } : { body: c.body }) });
    expect(r.status, JSON.stringify(c).slice(0, 80)).toBe(c.status);
    expect(String(r.headers['content-type'])).toContain('application/problem+json');
    expect(r.body.code).toBeTruthy();
  }
  expect({ cdrs: await cdrCount(), files: (await env.ctx.usage.files({ limit: 500 })).length }).toEqual(before);
  await expect(env.ctx.usage.importBatch(await actorOf(env.ctx, 'front_desk'), [good])).rejects.toMatchObject({ code: 'FORBIDDEN' });
});

test('R-BIL-3 itemised usage: records paged with totals per item; other parties masked (R-CUS-2)', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  await env.ctx.usage.importBatch(system, [
    cdr(s.number, '2026-11-20 10:00:00', 'voice', 'long_distance', 61, '13912345678'),
    cdr(s.number, '2026-11-21 10:00:00', 'voice', 'local', 61, '13912345678'),
    cdr(s.number, '2026-11-22 10:00:00', 'sms', 'local', 1, '10086'),
  ]);
  const r = await api.call('GET', `/api/v1/subscribers/${s.subscriberId}/usage?cycle=2026-11&limit=2`, { as: 'front_desk' });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ cycle: '2026-11', total: 3, limit: 2, totalFen: 60 });
  expect(r.body.records).toHaveLength(2);
  expect(r.body.records[0]).toMatchObject({ otherParty: '139****5678', itemCode: 'VOICE_LD', units: 2, chargeFen: 60 });
  expect(JSON.stringify(r.body)).not.toContain('13912345678');
  expect(r.body.totals.map((t: { itemCode: string }) => t.itemCode)).toEqual(['SMS', 'VOICE_LD', 'VOICE_LOCAL']);
  expect((await api.call('GET', `/api/v1/subscribers/999999/usage`, { as: 'front_desk' })).status).toBe(404);
  expect((await api.call('GET', `/api/v1/subscribers/${s.subscriberId}/usage?cycle=2026-13`, { as: 'front_desk' })).status).toBe(400);
  expect((await api.call('GET', `/api/v1/subscribers/${s.subscriberId}/usage`, { as: 'nobody' })).status).toBe(403);
});

test('R-BIL-3 a large file is streamed in chunks (binary COPY by two worker threads on PostgreSQL) and rated by them: counts add up; conservation holds (R-ACC-18)', async () => {
  const subs = [await subscriberOn(env.ctx, 'T-PLAN', 'virtual'), await subscriberOn(env.ctx, 'T-PLAN')];
  await env.ctx.money.pay(system, subs[0]!.accountId, { amountFen: 500, bookType: 'cash', channel: 'hall', idempotencyKey: `big-${subs[0]!.accountId}` });
  const rows = Array.from({ length: 5000 }, (_, i) => cdr(subs[i % 2]!.number, new Date(Date.parse('2026-11-16T00:00:00+08:00') + i * 60_000).toISOString(), i % 3 === 0 ? 'sms' : 'voice', 'long_distance', 30));
  let progressed = 0;
  // two rating chunks (one per account), each rated by a worker thread on PostgreSQL: the virtual account's charges and write-off in the thread's transaction
  const r = await env.ctx.usage.importFile(system, file(toCsv(rows)), { chunkRows: 700, threads: 2, rateChunkRecords: 1000, onProgress: (p) => (progressed = p.rows) });
  expect(r).toMatchObject({ accepted: 5000, rejected: 0, rated: 5000 });
  expect(progressed).toBe(5000);
  const pending = await db().selectFrom('usage_records').select('record_id').where('rated_at', 'is', null).execute();
  expect(pending).toEqual([]);
  // R-BIL-8: the virtual account's charges were billed as rated, with their audit record, whichever thread rated them
  const charges = await db().selectFrom('usage_charges').select(['amount_fen', 'billed_fen']).where('subscriber_id', '=', subs[0]!.subscriberId).execute();
  expect(charges.length).toBeGreaterThan(0);
  for (const c of charges) expect(c.billed_fen).toBe(c.amount_fen);
  const audited = await db().selectFrom('audit_log').select('action').where('action', '=', 'usage.charge_virtual').where('target_id', '=', String(subs[0]!.accountId)).execute();
  expect(audited.length).toBeGreaterThan(0);
  expect((await checkConservation(db())).differing).toEqual([]);
});

test('R-BIL-3 a file left running by an import that is gone (crash between staging and rating) is marked failed, its spill removed and its pending table dropped when the next import starts; imported again, its records count once', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const rows = [cdr(s.number, '2026-11-20 10:00:00', 'voice', 'long_distance', 61), cdr(s.number, '2026-11-20 11:00:00', 'sms', 'local', 1)];
  const path = file(toCsv(rows));
  // what a crashed import leaves: its row 'running', its pending table, the first record already rated
  const { file_id: dead } = await db()
    .insertInto('usage_files')
    .values({ kind: 'file', file_name: 'crashed.csv', sha256: 'f'.repeat(64), operator_id: system.operatorId, department_id: system.departmentId, started_at: env.clock.now() })
    .returning('file_id')
    .executeTakeFirstOrThrow();
  await usageRepo.createPending(db(), dead);
  const spilled = mkdtempSync(join(dir, 'spill-'));
  writeFileSync(join(spilled, 'b0.t0'), 'records');
  await db().updateTable('usage_files').set({ spill_dir: spilled }).where('file_id', '=', dead).execute();
  await env.ctx.usage.importBatch(system, [rows[0]!]);
  const table = async (id: number) => (await sql<{ t: string | null }>`SELECT to_regclass(${pendingTable(id)})::text AS t`.execute(db())).rows[0]?.t ?? null;
  expect(await table(dead)).not.toBeNull();
  if (env.ctx.database.kind === 'pg') {
    // an import still alive holds its file's lock: left alone
    await withConnection(env.ctx.database, async (_, client) => {
      await client?.query('SELECT pg_advisory_lock($1::int, $2::int)', [USAGE_FILE_LOCK, dead]);
      expect(await releaseAbandonedFiles(env.ctx.database, env.clock.now())).toEqual([]);
      expect(existsSync(spilled)).toBe(true);
      await client?.query('SELECT pg_advisory_unlock($1::int, $2::int)', [USAGE_FILE_LOCK, dead]);
    });
  }
  const r = await env.ctx.usage.importFile(system, path);
  expect(r).toMatchObject({ status: 'completed', accepted: 1, duplicate: 1, rated: 1 });
  expect((await db().selectFrom('usage_files').select('status').where('file_id', '=', dead).executeTakeFirstOrThrow()).status).toBe('failed');
  expect(await table(dead)).toBeNull();
  expect(existsSync(spilled)).toBe(false);
  expect(await db().selectFrom('usage_files').select('file_id').where('status', '=', 'running').execute()).toEqual([]);
  expect((await chargesOf(s.subscriberId)).map((c) => c.records)).toEqual([1, 1]);
});

test('R-BIL-1 R-BIL-3 a file spilled over several account ranges, some too large to hold in memory and rated from the pending table: each record rated as when every range is held; the spill is removed', async () => {
  const spillBase = mkdtempSync(join(dir, 'spills-'));
  // per subscriber: allowances crossing (10 local minutes), ties of start time, a record id repeated in the file, one stored before
  const pattern = (number: string, tag: string, records: number) =>
    Array.from({ length: records }, (_, i) =>
      cdr(number, `2026-11-${String(10 + (i % 5)).padStart(2, '0')} 09:00:00`, i % 4 === 3 ? 'sms' : 'voice', i % 3 ? 'local' : 'long_distance', 70 + i, '13900001111', `${tag}-${i % 17}`),
    );
  const sizes = [30, 5, 30];
  const rated = async (o: { holdRecords?: number; threads?: number }) => {
    const subs = [];
    for (const _ of sizes) subs.push(await subscriberOn(env.ctx, 'T-PLAN'));
    const rows = subs.flatMap((s, k) => pattern(s.number, `H${s.subscriberId}`, sizes[k]!));
    await env.ctx.usage.importBatch(system, [rows[1]!]);
    const pending = vi.spyOn(usageRepo, 'createPending');
    try {
      const r = await env.ctx.usage.importFile(system, file(toCsv(rows)), { spillDir: spillBase, spillBuckets: 4096, ...o });
      const made = pending.mock.calls.filter((c) => c[1] === r.fileId).length;
      const per = await Promise.all(
        subs.map(async (s) => ({
          cdrs: (
            await db()
              .selectFrom('usage_records')
              .select(['record_id', 'line', 'item_code', 'units', 'free_units', 'charge_fen', 'free_reason', 'offer_code'])
              .where('subscriber_id', '=', s.subscriberId)
              .where('file_id', '=', r.fileId as number)
              .orderBy('line')
              .execute()
          ).map((x) => ({ ...x, record_id: x.record_id.replace(/^H\d+-/, '') })),
          charges: (await chargesOf(s.subscriberId)).map((c) => ({ ...c })),
        })),
      );
      return { r: { accepted: r.accepted, duplicate: r.duplicate, rejected: r.rejected }, made, per };
    } finally {
      pending.mockRestore();
    }
  };
  const held = await rated({});
  // a range per account id (4,096 ranges): the range of 5 records is held, the two of 30 go through the pending table (rated by the worker threads on PostgreSQL)
  const loaded = await rated({ holdRecords: 10, threads: env.ctx.database.kind === 'pg' ? 2 : 0 });
  expect(held.made).toBe(0);
  expect(loaded.made).toBe(1);
  expect(loaded.r).toEqual(held.r);
  // 17 record ids per 30 records, one of the first subscriber's stored before
  expect(held.r).toEqual({ accepted: 16 + 5 + 17, duplicate: 65 - 38, rejected: 0 });
  expect(loaded.per).toEqual(held.per);
  expect(held.per[0]!.cdrs.some((c) => c.free_reason === 'allowance') && held.per[0]!.cdrs.some((c) => (c.charge_fen ?? 0) > 0)).toBe(true);
  expect(readdirSync(spillBase)).toEqual([]);
});

test('R-BIL-3 a spill directory that cannot be used fails the import with a 422 naming it; the file is marked failed and nothing is stored', async () => {
  const s = await subscriberOn(env.ctx, 'T-PLAN');
  const before = await cdrCount();
  const gone = join(dir, 'no-such-dir', 'deeper');
  await expect(env.ctx.usage.importFile(system, file(toCsv([cdr(s.number, '2026-11-20 10:00:00', 'sms', 'local', 1)])), { spillDir: gone })).rejects.toMatchObject({
    code: 'USAGE_SPILL_FAILED',
    status: 422,
    details: { spillDir: gone },
  });
  const last = await db().selectFrom('usage_files').select(['status', 'spill_dir']).orderBy('file_id', 'desc').executeTakeFirstOrThrow();
  expect(last).toEqual({ status: 'failed', spill_dir: null });
  expect(await cdrCount()).toBe(before);
});
