// The front-desk web app (web/, built by `npm run build:web` into web/dist) served at `/`:
// hashed assets from /assets/, index.html for every other GET that is not the API or the docs
// (client-side routes such as /customers/12 or /payment). Hidden from the OpenAPI document.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const NOT_BUILT = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>OpenBOSS 营业前台</title>
<style>body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;max-width:640px;margin:64px auto;color:#1f2329;line-height:1.6}code{background:#f0f2f5;padding:1px 6px;border-radius:4px}</style>
</head><body>
<h1>OpenBOSS 营业前台</h1>
<p>前台页面尚未构建：请运行 <code>npm run build:web</code>，然后重启服务。</p>
<p>The front-desk web app is not built: run <code>npm run build:web</code>, then restart the server.</p>
<p><a href="/docs">API 文档 / API reference</a> · <a href="/healthz">/healthz</a></p>
</body></html>`;

/** Paths the SPA never owns: their unknown URLs stay problem+json 404s (or 401s without a token). */
function isServerPath(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  // a missing file (anything with an extension) is a 404, not the app
  return path.startsWith('/api/') || path === '/api' || path.startsWith('/docs') || path.startsWith('/assets/') || /\.[A-Za-z0-9]+$/.test(path);
}

export async function registerWebApp(app: FastifyInstance, dist = WEB_DIST): Promise<void> {
  const built = existsSync(`${dist}/index.html`);
  if (built) {
    // file names carry a content hash: cache them for good
    await app.register(fastifyStatic, { root: `${dist}/assets`, prefix: '/assets/', immutable: true, maxAge: '365d', index: false });
  }
  const page = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-content-type-options', 'nosniff').header('x-frame-options', 'DENY');
    if (!built) return reply.type('text/html; charset=utf-8').send(NOT_BUILT);
    // index.html names the current asset files: never cached
    return reply.header('cache-control', 'no-cache').sendFile('index.html', dist, { cacheControl: false });
  };
  app.get('/', { schema: { hide: true } }, page);
  // Client-side routes (/payment, /customers/12…) have no server route: a GET that would be a 404
  // gets the app instead. A hook rather than a `/*` route, so the router's own answers for the API
  // (404, 414 for an over-long parameter) stay exactly as they are.
  app.addHook('onRequest', async (req, reply) => {
    if (!req.is404 || (req.method !== 'GET' && req.method !== 'HEAD') || isServerPath(req.url)) return;
    return page(req, reply);
  });
}
