// The CLI on an embedded database: demo data, R-ACC-18 conservation audit with its exit code.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, expect, test } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'openboss-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBOSS_DATA_DIR: dir, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  try {
    const r = await run(process.execPath, ['src/app/cli.ts', ...args], { env, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('R-ACC-18 `openboss audit conservation` passes on the demo and exits 1 naming the account when money is off', { timeout: 240_000 }, async () => {
  const demo = await cli('demo');
  expect(demo.code, demo.stderr).toBe(0);
  expect(demo.stdout).toMatch(/demo loaded: \d+ customers/);
  const ok = await cli('audit', 'conservation');
  expect(ok.code, ok.stderr).toBe(0);
  expect(ok.stdout).toMatch(/accounts checked: \d+; differing: 0/);

  const db = await PGlite.create(dir);
  await db.exec('UPDATE books SET balance_fen = balance_fen + 1 WHERE book_id = (SELECT min(book_id) FROM books)');
  const acc = (await db.query<{ account_id: number }>('SELECT account_id FROM books WHERE book_id = (SELECT min(book_id) FROM books)')).rows[0]?.account_id;
  await db.close();

  const bad = await cli('audit', 'conservation', '--json');
  expect(bad.code).toBe(1);
  const report = JSON.parse(bad.stdout) as { differing: { accountId: number; differenceFen: number }[] };
  expect(report.differing.map((d) => Number(d.accountId))).toEqual([acc]);
  expect(Number(report.differing[0]?.differenceFen)).toBe(-1);
});

test('R-BIL-3 `openboss usage import` on the demo: a CDR file imported and rated, its spill in --spill-dir removed at the end; the same file again changes nothing', { timeout: 120_000 }, async () => {
  const db = await PGlite.create(dir);
  const sub = (await db.query<{ subscriber_id: number; service_number: string }>("SELECT subscriber_id, service_number FROM subscribers WHERE network <> 'broadband' ORDER BY subscriber_id LIMIT 1")).rows[0];
  await db.query('UPDATE subscribers SET activated_at = $1 WHERE subscriber_id = $2', [new Date('2026-01-01T00:00:00+08:00'), sub?.subscriber_id]);
  await db.close();
  const file = join(dir, 'cdrs.csv');
  const lines = ['record_id,service_number,other_party,start_time,usage,scope,quantity,area', ...[1, 2, 3].map((i) => `CLI-${i},${sub?.service_number},13900001111,2026-06-0${i} 10:00:00,voice,long_distance,61,A`)];
  writeFileSync(file, lines.join('\n') + '\n');
  const spill = mkdtempSync(join(dir, 'spill-'));
  const r = await cli('usage', 'import', file, '--spill-dir', spill, '--json');
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ status: 'completed', rowsTotal: 3, accepted: 3, rejected: 0, rated: 3 });
  expect(readdirSync(spill)).toEqual([]);
  const again = await cli('usage', 'import', file);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toMatch(/already imported/);
});

test('`openboss operator create` bootstraps an operator with a scrypt hash and refuses a duplicate', { timeout: 120_000 }, async () => {
  const made = await cli('operator', 'create', '--username', 'boss', '--password', 'a-long-secret-1', '--department', 'HQ', '--roles', 'admin');
  expect(made.code, made.stderr).toBe(0);
  expect(made.stdout).toMatch(/operator created: boss/);
  const again = await cli('operator', 'create', '--username', 'boss', '--password', 'a-long-secret-1');
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/Operator exists/);
  const db = await PGlite.create(dir);
  const row = (await db.query<{ password_hash: string; roles: string[] }>("SELECT password_hash, roles FROM operators WHERE username = 'boss'")).rows[0];
  await db.close();
  expect(row?.password_hash).toMatch(/^scrypt\$/);
  expect(row?.roles).toEqual(['admin']);
});

test('the embedded database refuses a second process while its owner runs, and takes over a stale lock', { timeout: 120_000 }, async () => {
  const { writeFileSync, existsSync } = await import('node:fs');
  const lock = join(dir, 'openboss.lock');
  writeFileSync(lock, String(process.pid)); // this test process stands for a running server
  const refused = await cli('audit', 'conservation');
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(new RegExp(`in use by process ${process.pid}`));
  writeFileSync(lock, '2147483646'); // a pid that does not run
  const ran = await cli('audit', 'conservation');
  expect(ran.stdout, ran.stderr).toMatch(/accounts checked: \d+/); // it ran (exit 1: the first test's tampered book)
  expect(existsSync(lock)).toBe(false);
});
