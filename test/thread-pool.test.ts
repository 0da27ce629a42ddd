// platform/thread-pool.ts: requests go to the thread with the fewest waiting, each answered with its
// result or its error (code kept); a thread that dies fails what it was asked and the pool refuses more;
// close(true) lets the threads finish what they were sent.
import { expect, test } from 'vitest';
import { ThreadPool } from '../src/platform/thread-pool.ts';

type Ask = { op: 'echo'; value: number; waitMs?: number } | { op: 'fail'; code: string } | { op: 'exit' };
type Answer = { value: number; threadId: number; closed: boolean };
const worker = new URL('./fixtures/pool-worker.ts', import.meta.url);

test('requests are spread over the idle threads and answered in full; an error keeps its code; close(true) finishes the work sent', async () => {
  const pool = new ThreadPool<Ask, Answer>(worker, 2, {});
  expect(pool.size).toBe(2);
  // two slow requests at once go to the two threads, not both to one
  const [a, b] = await Promise.all([pool.run({ op: 'echo', value: 1, waitMs: 150 }), pool.run({ op: 'echo', value: 2, waitMs: 150 })]);
  expect([a.value, b.value]).toEqual([1, 2]);
  expect(a.threadId).not.toBe(b.threadId);
  await expect(pool.run({ op: 'fail', code: '42P01' })).rejects.toMatchObject({ code: '42P01', message: 'asked to fail with 42P01' });
  // the thread that failed a request goes on answering
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run({ op: 'echo', value: i })));
  expect(many.map((x) => x.value)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(new Set(many.map((x) => x.threadId)).size).toBe(2);
  const last = pool.run({ op: 'echo', value: 99, waitMs: 100 });
  await pool.close(true);
  expect(await last).toMatchObject({ value: 99, closed: false });
});

test('a thread that dies fails the requests it held, and the pool refuses new ones', async () => {
  const pool = new ThreadPool<Ask, Answer>(worker, 1, {});
  await expect(pool.run({ op: 'exit' })).rejects.toThrow(/stopped \(exit code 3\)/);
  await expect(pool.run({ op: 'echo', value: 1 })).rejects.toThrow(/stopped/);
  await pool.close(true);
});
