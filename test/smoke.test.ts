import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Api, testApi, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
});
afterAll(() => env.close());

test('healthz answers with the database kind', async () => {
  const r = await api.call('GET', '/healthz', { as: null });
  expect(r.status).toBe(200);
  expect(r.body.status).toBe('ok');
});
