// The server serves the front-desk web app at `/` (web/dist): assets, client-side routes, and a
// hint when the app is not built; the API's own answers are untouched.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerWebApp } from '../src/app/web.ts';
import { installErrorHandling } from '../src/platform/errors.ts';

const INDEX = '<!doctype html><html><head><title>OpenBOSS 营业前台</title><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';

async function appWith(dist: string): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorHandling(app);
  await registerWebApp(app, dist);
  app.get('/api/v1/ping', async () => ({ ok: true }));
  await app.ready();
  return app;
}

let dir: string;
let built: FastifyInstance;
let bare: FastifyInstance;
beforeAll(async () => {
  dir = mkdtempSync(`${tmpdir()}/openboss-web-`);
  mkdirSync(`${dir}/dist/assets`, { recursive: true });
  writeFileSync(`${dir}/dist/index.html`, INDEX);
  writeFileSync(`${dir}/dist/assets/index-abc123.js`, 'console.log("app")');
  built = await appWith(`${dir}/dist`);
  bare = await appWith(`${dir}/missing`);
});
afterAll(async () => {
  await built.close();
  await bare.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the web app at /', () => {
  test('index.html at / and at every client-side route, never cached', async () => {
    for (const url of ['/', '/login', '/payment?account=2', '/customers/12']) {
      const r = await built.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type'], url).toMatch(/^text\/html/);
      expect(r.headers['cache-control'], url).toBe('no-cache');
      expect(r.body, url).toBe(INDEX);
    }
  });

  test('hashed assets are cached for good; a missing asset is a 404, not the app', async () => {
    const js = await built.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');
    for (const url of ['/assets/index-old.js', '/favicon.ico']) {
      const r = await built.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(404);
      expect(r.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
  });

  test('the API and the docs keep their problem+json 404s; other methods are not the app', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/nothing-here'],
      ['GET', '/docs/nothing-here'],
      ['POST', '/payment'],
    ] as const) {
      const r = await built.inject({ method, url });
      expect(r.statusCode, url).toBe(404);
      expect(r.json(), url).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    }
    expect((await built.inject({ method: 'GET', url: '/api/v1/ping' })).json()).toEqual({ ok: true });
  });

  test('without web/dist the page says how to build the app', async () => {
    for (const url of ['/', '/payment']) {
      const r = await bare.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(200);
      expect(r.body, url).toContain('npm run build:web');
      expect(r.body, url).toContain('OpenBOSS');
    }
  });
});
