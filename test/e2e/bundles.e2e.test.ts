// Bundles in a browser (SPEC §8, seed 000): a customer with a 2G mobile, an in-transit broadband of
// the same number and a fixed line on one joint account (test/bundle-helpers.ts). At the front desk
// hall01 binds them into 2G+宽带+固话 (BND-2G-BB-FIX): the first attempt names a wrong fixed number
// and the checks say so with the fix; corrected, the checks pass and the order shows what is granted
// from the 1st of next month (R-BND-6); quote 0, the receipt printed, submitted. The simulated clock
// travels to 1 December (admin API: every scheduled job of each day runs): the 360 shows the month's
// grant and the mobile ⇄ fixed family numbers of December (R-BND-7, R-BND-9) and the grant report
// counts it; then the bundle is unbound with the service password and the 8-yuan fee (R-BND-15).
// Screenshots: docs/screenshots/bundle-bind.png and bundle-360.png.
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { systemActor } from '../../src/platform/audit.ts';
import { BUNDLE_PASSWORD, bundleCustomer } from '../bundle-helpers.ts';
import type { Api, TestEnv } from '../helpers.ts';
import { type FrontDesk, startFrontDesk } from './browser.ts';
import { choose, noCrash, startOrder as startOrderStep } from './ui.ts';

let fd: FrontDesk;
beforeAll(async () => {
  fd = await startFrontDesk();
});
afterAll(() => fd?.close());

const WAIT = { timeout: 60_000 };
const LONG = 600_000;
const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const db = () => fd.ctx.database.db;

/** The fixtures' operators (named by role) as the demo's operators. */
const DEMO_USERS: Record<string, [string, string]> = {
  admin: ['admin', 'demo-admin'],
  front_desk: ['hall01', 'demo-hall01'],
  accounting: ['acct01', 'demo-acct01'],
};

/** test/helpers.ts's Api over HTTP to the harness's server, so the bundle fixtures run unchanged. */
function httpApi(): Api {
  const tokens = new Map<string, string>();
  const api: Api = {
    app: undefined as never,
    async token(username) {
      const known = tokens.get(username);
      if (known) return known;
      const [user, password] = DEMO_USERS[username] ?? [username, `demo-${username}`];
      const r = await fetch(`${fd.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password }) });
      if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${await r.text()}`);
      const token = ((await r.json()) as { token: string }).token;
      tokens.set(username, token);
      return token;
    },
    async call(method, url, opts = {}) {
      const as = opts.as === undefined ? 'admin' : opts.as;
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (as) headers.authorization = `Bearer ${await api.token(as)}`;
      const payload = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
      if (payload !== undefined) headers['content-type'] ??= 'application/json';
      const r = await fetch(`${fd.url}${url}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
      const text = await r.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: r.status, body, headers: Object.fromEntries(r.headers.entries()) };
    },
  };
  return api;
}

/** ① from the 360's 办理业务: the business type typed, Enter, Enter. */
async function startOrder(page: Page, type: string) {
  await page.getByTestId('customer-new-order').click();
  await startOrderStep(page, type, WAIT);
}

async function orderIdOnPage(page: Page): Promise<number> {
  const text = await page.getByTestId('order-status').innerText();
  return Number(/受理单 (\d+)/.exec(text)?.[1]);
}

describe('bundles at the front desk (SPEC §8, zh-CN)', () => {
  test(
    'R-BND-1 R-BND-6 R-BND-7 R-BND-9 R-BND-15 bind 2G+宽带+固话 with one failing check fixed, receipt printed; on the 1st the 360 shows the grant and the family numbers; unbind with the service password and the 8-yuan fee',
    async () => {
      const env: TestEnv = { ctx: fd.ctx, clock: fd.clock, close: async () => undefined };
      const api = httpApi();
      // a year's broadband fund (600 yuan, as R-E9-2's special fund): December's rent leaves money in it (R-BND-7)
      const c = await bundleCustomer(env, api, { extra: 'fixed', name: '赵捆绑', broadbandFundFen: 60_000 });
      const fixed = c.fixed?.serviceNumber ?? '';
      expect(fixed).not.toBe('');
      const wrongFixed = `${fixed.slice(0, -1)}${fixed.endsWith('9') ? '0' : String(Number(fixed.slice(-1)) + 1)}`;

      const p = await fd.newPage();
      const { page } = p;
      page.setDefaultTimeout(60_000);
      // the receipt page prints itself; record that instead of opening the print dialog
      await page.context().addInitScript({ content: 'window.print = () => { window.printed = true; };' });
      await p.login('hall01', 'demo-hall01');
      await page.goto(`/customers/${c.customerId}`);
      await page.getByTestId('customer-new-order').waitFor();

      // ② the bundle type, then one number per member role — the fixed number mistyped
      await startOrder(page, 'BUNDLE_BIND');
      await choose(page, 'offerCode', 'BND-2G-BB-FIX');
      await page.locator('#numbers_mobile').waitFor();
      expect(await page.getByTestId('bundle-conditions').innerText()).toMatch(/合帐[\s\S]*亲情号码/);
      // R-BND-6 before the checks: what the type grants from the 1st of next month
      const preview = page.getByTestId('bundle-grant-preview');
      await expect.poll(() => preview.innerText(), WAIT).toContain('捆绑赠送话费 30 元');
      expect(await preview.innerText()).toContain('自 2026-12-01 起每月赠送');
      await page.locator('#numbers_mobile').fill(c.mobile.serviceNumber);
      await page.locator('#numbers_broadband').fill(c.broadband.serviceNumber);
      await page.locator('#numbers_fixed').fill(wrongFixed);
      await page.getByTestId('order-form-next').click();

      // ③ the checks fail and name the fix; back to the form, the number corrected, checked again
      const check = page.getByTestId('order-check');
      await check.waitFor();
      const failures = page.getByTestId('order-failures');
      await expect.poll(() => check.innerText(), WAIT).toContain('校验未通过');
      const failed = await failures.innerText();
      // R-BND-1: the mistyped fixed number is no line in service; the fix says to check the number
      expect(failed).toContain(`固话 ${wrongFixed} 不是在网用户`);
      expect(failed).toMatch(/处理办法：请核对号码/);
      expect(failed).toContain('BUNDLE_MEMBER_NOT_IN_SERVICE');
      expect(failed).not.toContain('{');
      const orderId = await orderIdOnPage(page);
      const first = await fd.ctx.orders.get(systemActor('e2e'), orderId);
      expect(first.checks?.failures.length ?? 0).toBeGreaterThan(0);

      await check.getByRole('button', { name: /返回修改/ }).click();
      await page.getByTestId('order-form').waitFor();
      expect(await page.locator('#numbers_fixed').inputValue()).toBe(wrongFixed);
      await page.locator('#numbers_fixed').fill(fixed);
      await page.getByTestId('order-form-next').click();
      await expect.poll(() => check.innerText(), WAIT).toContain('校验通过');
      // R-BND-6 after the checks: the grant items from 1 December, to tell the customer
      expect(await check.getByTestId('order-notices').innerText()).toMatch(/2026-12-01[\s\S]*捆绑赠送话费 30 元/);
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: `${SHOTS}bundle-bind.png` });

      // ④ quote: nothing to pay
      await page.getByTestId('order-to-quote').click();
      await page.getByTestId('order-quote').waitFor();
      await expect.poll(() => page.getByTestId('order-payable').innerText(), WAIT).toContain('¥0.00');

      // ⑤ the receipt, printed from a page of its own
      await page.getByTestId('order-to-receipt').click();
      const frame = page.frameLocator('[data-testid=receipt-frame]');
      await frame.getByText('免填单').first().waitFor();
      expect(await frame.locator('body').innerText()).toContain('赵捆绑');
      const [printPage] = await Promise.all([page.waitForEvent('popup'), page.getByTestId('print-receipt').click()]);
      await printPage.waitForLoadState();
      expect(await printPage.locator('body').innerText()).toContain('免填单');
      await expect.poll(() => printPage.evaluate<boolean>('window.printed === true'), WAIT).toBe(true);
      await printPage.close();

      // ⑥ submitted: the bundle is recorded
      await page.getByTestId('order-to-submit').click();
      await page.getByTestId('order-submit-button').click();
      await page.getByTestId('order-result').waitFor();
      const pkg = await db().selectFrom('packages').selectAll().where('offer_code', '=', 'BND-2G-BB-FIX').where('customer_id', '=', c.customerId).executeTakeFirstOrThrow();
      expect(pkg.ended_at).toBeNull();
      const members = await db().selectFrom('bundle_members').select(['member_role', 'subscriber_id']).where('package_id', '=', pkg.package_id).execute();
      expect(members.map((m) => m.member_role).sort()).toEqual(['broadband', 'fixed', 'mobile']);
      noCrash(p);

      // the 1st of December: the admin API moves the clock, the day's jobs run (the monthly grant among them)
      const travel = await api.call('POST', '/api/v1/admin/clock/travel', { as: 'admin', body: { to: '2026-12-01T10:00:00+08:00' } });
      expect(travel.status, JSON.stringify(travel.body)).toBe(200);
      const grant = await db().selectFrom('bundle_grants').selectAll().where('package_id', '=', pkg.package_id).where('cycle', '=', '2026-12').executeTakeFirstOrThrow();
      expect(grant.status, JSON.stringify(grant)).toBe('granted');

      // the 360: the bundle, its members, December's grant and the family numbers of December
      await page.goto(`/customers/${c.customerId}`);
      const panel = page.getByTestId('customer-bundles');
      await panel.waitFor();
      const card = panel.getByTestId(`bundle-${pkg.package_id}`);
      expect(await card.innerText()).toMatch(/2G\+宽带\+固话[\s\S]*有效/);
      expect(await card.innerText()).toMatch(new RegExp(`手机[\\s\\S]*${c.mobile.serviceNumber}[\\s\\S]*宽带[\\s\\S]*固话[\\s\\S]*${fixed}`));
      expect(await card.getByTestId('bundle-grants').innerText()).toMatch(/2026-12[\s\S]*已赠送[\s\S]*¥30\.00/);
      const family = await card.getByTestId('bundle-family').innerText();
      expect(family).toMatch(new RegExp(`2026-12[\\s\\S]*(${c.mobile.serviceNumber}[\\s\\S]*${fixed}|${fixed}[\\s\\S]*${c.mobile.serviceNumber})`));
      expect(family).toContain('2027-01-01');
      expect(await panel.innerText()).not.toContain('{');
      await card.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}bundle-360.png` });
      noCrash(p);

      // unbind: the number queried, the bundle with its members and no arrears; the service password; 8 yuan
      await startOrder(page, 'BUNDLE_UNBIND');
      await page.locator('#serviceNumber').fill(c.mobile.serviceNumber);
      await page.getByTestId('bundle-query').click();
      const found = page.getByTestId('bundle-query-result');
      await expect.poll(() => found.innerText(), WAIT).toContain('2G+宽带+固话');
      expect(await found.innerText()).toContain(fixed);
      expect(await found.innerText()).toMatch(/帐户欠费[\s\S]*无欠费/);
      expect(await found.innerText()).not.toContain('成员有欠费');
      await page.getByTestId('order-form-next').click();
      const unbindCheck = page.getByTestId('order-check');
      await unbindCheck.waitFor();
      await page.getByLabel('客户服务密码').fill(BUNDLE_PASSWORD);
      await page.getByLabel('客户服务密码').press('Enter');
      await expect.poll(() => unbindCheck.innerText(), WAIT).toContain('校验通过');
      await page.getByTestId('order-to-quote').click();
      await page.getByTestId('order-quote').waitFor();
      await expect.poll(() => page.getByTestId('order-payable').innerText(), WAIT).toContain('¥8.00');
      await page.getByTestId('order-to-receipt').click();
      await page.frameLocator('[data-testid=receipt-frame]').getByText('免填单').first().waitFor();
      await page.getByTestId('order-to-submit').click();
      await page.getByTestId('order-submit-button').click();
      await page.getByTestId('order-result').waitFor();
      const ended = await db().selectFrom('packages').select(['ended_at']).where('package_id', '=', pkg.package_id).executeTakeFirstOrThrow();
      expect(ended.ended_at).not.toBeNull();
      // the grant of December stays (R-BND-15)
      expect((await db().selectFrom('bundle_grants').select('status').where('package_id', '=', pkg.package_id).where('cycle', '=', '2026-12').executeTakeFirstOrThrow()).status).toBe('granted');

      await page.goto(`/customers/${c.customerId}`);
      await expect.poll(() => page.getByTestId(`bundle-${pkg.package_id}`).innerText(), WAIT).toContain('已解除');
      noCrash(p);

      // the accounting room's monthly report counts December's grant
      const acct = await fd.newPage();
      acct.page.setDefaultTimeout(60_000);
      await acct.login('acct01', 'demo-acct01');
      await acct.page.getByRole('menuitem', { name: '捆绑赠送月报' }).click();
      await acct.page.waitForURL('**/bundles/grants');
      const ap = acct.page;
      await ap.goto('/bundles/grants?cycle=2026-12');
      await expect.poll(() => ap.getByTestId('grants-totals').innerText(), WAIT).toMatch(/已赠送\s*[1-9]/);
      expect(await ap.getByTestId('grants-by-offer').innerText()).toContain('BND-2G-BB-FIX');
      const row = ap.getByTestId('grants-table').locator('tr', { hasText: c.mobile.serviceNumber });
      await expect.poll(() => row.innerText(), WAIT).toMatch(/BND-2G-BB-FIX[\s\S]*已赠送[\s\S]*¥30\.00/);
      noCrash(acct);
    },
    LONG,
  );
});
