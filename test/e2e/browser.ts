// E2E harness: the real server (in-memory PGlite, the demo data, a simulated clock) on a random
// port, the web app built if stale, and Debian's chromium driven by playwright-core (never a
// downloaded browser). Used by test/e2e/*.e2e.test.ts and scripts/screenshots.ts.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildWebIfStale } from '../../scripts/build-web.ts';
import { type AppContext, createContext } from '../../src/app/context.ts';
import { loadDemo } from '../../src/app/demo.ts';
import { buildServer } from '../../src/app/server.ts';
import { SimulatedClock } from '../../src/platform/clock.ts';
import { loadConfig } from '../../src/platform/config.ts';

export const CHROMIUM = process.env.OPENBOSS_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Monday 2026-11-23 10:00 Asia/Shanghai: the demo's current cycle is 2026-11. */
export const E2E_START = new Date('2026-11-23T02:00:00Z');
export const VIEWPORT = { width: 1440, height: 900 };

export interface FrontDeskPage {
  page: Page;
  /** Uncaught errors of the page (a crash of the app); tests expect none. */
  errors: string[];
  login(username: string, password: string): Promise<void>;
}

export interface FrontDesk {
  url: string;
  ctx: AppContext;
  clock: SimulatedClock;
  browser: Browser;
  newPage(opts?: { lang?: 'zh-CN' | 'en-US' }): Promise<FrontDeskPage>;
  close(): Promise<void>;
}

export async function startFrontDesk(opts: { log?: (s: string) => void } = {}): Promise<FrontDesk> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`E2E tests need Debian's chromium at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium fonts-noto-cjk`);
  }
  await buildWebIfStale(opts.log ?? (() => undefined));

  const clock = new SimulatedClock(E2E_START);
  const config = { ...loadConfig({}), databaseUrl: undefined, clock: 'simulated' as const, logLevel: 'silent' };
  const ctx = await createContext(config, { clock, log: pino({ level: 'silent' }), db: { dataDir: 'memory://' } });
  let app: FastifyInstance | undefined;
  let browser: Browser | undefined;
  try {
    await loadDemo(ctx);
    app = await buildServer(ctx);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const b = browser;
    const server = app;
    return {
      url,
      ctx,
      clock,
      browser: b,
      async newPage(o = {}) {
        const context = await b.newContext({ viewport: VIEWPORT, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', baseURL: url });
        if (o.lang) await context.addInitScript((lang) => localStorage.setItem('openboss.lang', lang), o.lang);
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        return {
          page,
          errors,
          async login(username, password) {
            await page.goto('/login');
            await page.locator('#username').fill(username);
            await page.locator('#password').fill(password);
            await page.locator('#password').press('Enter');
            await page.getByTestId('topbar').waitFor();
          },
        };
      },
      async close() {
        await b.close();
        await server.close();
        await ctx.close();
      },
    };
  } catch (err) {
    await browser?.close();
    await app?.close();
    await ctx.close();
    throw err;
  }
}
