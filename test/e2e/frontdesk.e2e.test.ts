// The front desk in a browser: login, customer search, customer 360, payment, language switch,
// errors as readable sentences, and a lost answer retried without paying twice.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatFen } from '../../web/src/utils/money.ts';
import { type FrontDesk, type FrontDeskPage, startFrontDesk } from './browser.ts';

let fd: FrontDesk;
beforeAll(async () => {
  fd = await startFrontDesk();
});
afterAll(() => fd?.close());

const HALL01 = ['hall01', 'demo-hall01'] as const;

async function customerIdOf(name: string): Promise<number> {
  const r = await fd.ctx.database.db.selectFrom('customers').select('customer_id').where('name', '=', name).executeTakeFirstOrThrow();
  return r.customer_id;
}
async function accountOf(name: string): Promise<number> {
  const r = await fd.ctx.database.db.selectFrom('accounts').select('account_id').where('customer_id', '=', await customerIdOf(name)).orderBy('account_id').executeTakeFirstOrThrow();
  return r.account_id;
}
async function frontDeskPayments(accountId: number) {
  return fd.ctx.database.db.selectFrom('payments').selectAll().where('account_id', '=', accountId).where('channel', '=', 'front_desk').orderBy('payment_id').execute();
}
function noCrash(p: FrontDeskPage): void {
  expect(p.errors, 'uncaught errors in the page').toEqual([]);
}

describe('front desk (zh-CN)', () => {
  test('R-CUS-2 hall01 logs in, finds 李华 by name (masked list), opens the 360 by keyboard and sees subscribers and arrears', async () => {
    const p = await fd.newPage();
    const { page } = p;
    await p.login(...HALL01);
    const topbar = page.getByTestId('topbar');
    await expect.poll(() => topbar.innerText()).toContain('营业日期 2026-11-23');
    expect(await topbar.innerText()).toMatch(/张敏[\s\S]*河西友谊路营业厅/);
    expect(await page.getByRole('menu').innerText()).toMatch(/工作台[\s\S]*缴费/);

    // the search box has the focus: type, Enter
    await page.keyboard.type('李华');
    await page.keyboard.press('Enter');
    const row = page.locator('tbody tr[data-row-key]');
    await expect.poll(() => row.count()).toBe(1);
    const text = await row.first().innerText();
    expect(text).toContain('李华');
    expect(text).toMatch(/120104\*{8}\d{3}[\dX]/);
    expect(text).toContain('136****5678');

    // ↓ into the results, Enter opens the customer 360
    await page.getByPlaceholder('服务号码 / 证件号码 / 客户名称').press('ArrowDown');
    await page.keyboard.press('Enter');
    const id = await customerIdOf('李华');
    await page.waitForURL(`**/customers/${id}`);
    await page.getByText('客户资料').waitFor();
    const body = await page.locator('main, .ant-layout-content').first().innerText();
    // hall01 may see personal data whole in the detail view (customer.pii)
    expect(body).toContain('完整个人信息（已授权）');
    expect(body).toMatch(/120104\d{11}[\dX]/);
    expect(body).toContain('13602105678');
    expect(body).toContain('2026-11-23 10:00');
    expect(body).toContain('正常');
    const accountId = await accountOf('李华');
    const balance = await fd.ctx.accounts.balance(accountId);
    expect(balance.arrearsFen).toBeGreaterThan(0);
    const card = await page.getByTestId(`account-${accountId}`).innerText();
    expect(card).toContain(`欠费\n${formatFen(balance.arrearsFen)}`);
    expect(card).toContain('2026-10');
    noCrash(p);
  });

  test('R-ACC-13 a cash payment from the 360 writes off the arrears; the result shows the lines and the new balance', async () => {
    const p = await fd.newPage();
    const { page } = p;
    await p.login(...HALL01);
    const id = await customerIdOf('李华');
    const accountId = await accountOf('李华');
    const before = await fd.ctx.accounts.balance(accountId);
    await page.goto(`/customers/${id}`);
    await page.getByTestId(`account-${accountId}`).getByRole('button', { name: '缴费' }).click();
    await page.waitForURL(`**/payment?account=${accountId}`);
    await page.getByTestId('payment-account').waitFor();
    expect(await page.getByTestId('payment-account').innerText()).toContain(formatFen(before.arrearsFen));

    // the amount field has the focus; the preview says what will happen; Enter pays
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id')).toBe('amount');
    await page.keyboard.type('100');
    await expect.poll(() => page.getByText('将向帐户').first().innerText()).toContain(`将向帐户 #${accountId} 缴费 ¥100.00，存入“现金”帐本`);
    await page.keyboard.press('Enter');
    const result = page.getByTestId('payment-result');
    await result.waitFor();

    const payment = (await frontDeskPayments(accountId)).at(-1);
    expect(payment).toMatchObject({ amount_fen: 10000, book_type: 'cash', kind: 'payment' });
    expect(payment?.idempotency_key).toMatch(/^fd-[0-9a-f]{32}$/);
    const writeOffs = await fd.ctx.database.db.selectFrom('write_offs').selectAll().where('trigger_kind', '=', 'payment').where('trigger_id', '=', payment?.payment_id ?? 0).execute();
    const written = writeOffs.reduce((s, w) => s + w.amount_fen, 0);
    expect(written).toBe(Math.min(10000, before.arrearsFen));
    const after = await fd.ctx.accounts.balance(accountId);
    const shown = await result.innerText();
    expect(shown).toContain('缴费成功：¥100.00');
    expect(shown).toContain(`本次销账 ${formatFen(written)}`);
    expect(await result.locator('tbody tr').count()).toBe(writeOffs.length);
    expect(shown).toContain('13602105678');
    expect(shown).toContain(`实时结余\n${formatFen(after.realtimeBalanceFen)}`);
    expect(shown).toContain(`欠费\n${formatFen(after.arrearsFen)}`);
    noCrash(p);
  });

  test('R-ACC-12 a special-fund payment by service number needs its bill items; bad amounts and unknown numbers are readable errors', async () => {
    const p = await fd.newPage();
    const { page } = p;
    await p.login(...HALL01);
    await page.getByRole('menuitem', { name: '缴费' }).click();
    await page.waitForURL('**/payment');
    await expect.poll(() => page.evaluate<string | null | undefined>("document.activeElement?.getAttribute('placeholder')")).toBe('输入服务号码，Enter 查询');

    // an unknown number: the server's message, not JSON
    await page.keyboard.type('13900000000');
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    expect(await alert.innerText()).toContain('用户不存在：13900000000');
    expect(await alert.innerText()).not.toContain('{');

    const search = page.getByPlaceholder('输入服务号码，Enter 查询');
    await search.fill('18602201234');
    await search.press('Enter');
    await page.getByTestId('payment-account').waitFor();
    const accountId = await accountOf('王小明');

    // yuan with three decimals is refused before anything is sent
    await page.locator('#amount').fill('12.345');
    await page.locator('#amount').press('Enter');
    await page.getByText('金额格式不正确').waitFor();
    await page.locator('#amount').fill('300');

    await page.locator('#bookType').click();
    await page.keyboard.type('专款');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: '确认缴费' }).click();
    await page.getByText('专款预存须选择可支付的帐目').waitFor();
    expect(await frontDeskPayments(accountId)).toHaveLength(1); // the demo's own fund only

    await page.locator('#items').click();
    await page.keyboard.type('宽带月租');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: '确认缴费' }).click();
    const result = page.getByTestId('payment-result');
    await result.waitFor();
    expect(await result.innerText()).toContain('缴费成功：¥300.00');
    const payments = await frontDeskPayments(accountId);
    expect(payments).toHaveLength(2);
    expect(payments[1]).toMatchObject({ amount_fen: 30000, book_type: 'restricted_fund' });
    const book = await fd.ctx.database.db.selectFrom('books').select('restricted_items').where('book_id', '=', payments[1]?.book_id ?? 0).executeTakeFirstOrThrow();
    expect(book.restricted_items).toEqual(['RENT_BB']);
    noCrash(p);
  });

  test('R-ACC-14 an answer lost on the way is retried with the same key: one payment, shown as the original', async () => {
    const p = await fd.newPage();
    const { page } = p;
    await p.login(...HALL01);
    const accountId = await accountOf('赵小雨');
    const before = (await frontDeskPayments(accountId)).length;
    let lost = 0;
    // the server takes the payment, the browser never sees the answer
    await page.route('**/api/v1/accounts/*/payments', async (route) => {
      if (lost++ === 0) {
        await route.fetch();
        await route.abort('connectionreset');
      } else await route.continue();
    });
    await page.goto(`/payment?account=${accountId}`);
    await page.getByTestId('payment-account').waitFor();
    await page.locator('#amount').fill('20');
    await page.locator('#amount').press('Enter');
    const alert = page.getByRole('alert').filter({ hasText: '无法连接服务器' });
    await alert.waitFor();
    expect(await frontDeskPayments(accountId)).toHaveLength(before + 1);

    await page.getByRole('button', { name: '确认缴费' }).click();
    const result = page.getByTestId('payment-result');
    await result.waitFor();
    expect(await result.innerText()).toContain('重复提交：返回原缴费，未重复扣款');
    expect(await frontDeskPayments(accountId)).toHaveLength(before + 1);
    noCrash(p);
  });

  test('an expired session leads to the login page, and back to the page after logging in', async () => {
    const p = await fd.newPage();
    const { page } = p;
    await p.login(...HALL01);
    // the token is revoked on the server (as by a logout in another tab); nothing of the page in
    // flight, so no request of it re-caches the token in the server's 30 s actor cache
    await page.waitForLoadState('networkidle');
    const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('openboss.session') ?? '{}') as { token?: string }).token);
    const out = await fetch(`${fd.url}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(out.status).toBe(204);
    const id = await customerIdOf('王小明');
    await page.goto(`/customers/${id}`);
    await page.waitForURL('**/login');
    await page.getByText('登录已失效，请重新登录').waitFor();
    await page.locator('#username').fill(HALL01[0]);
    await page.locator('#password').fill(HALL01[1]);
    await page.locator('#password').press('Enter');
    await page.waitForURL(`**/customers/${id}`);
    await page.getByText('客户资料').waitFor();
    expect(await page.locator('.ant-layout-content').innerText()).toContain('王小明');
    noCrash(p);
  });
});

describe('language', () => {
  test('§13 Chinese first; the English switch changes the menu, the labels and the server’s messages, and is remembered', async () => {
    const p = await fd.newPage();
    const { page } = p;
    await page.goto('/login');
    expect(await page.getByRole('button', { name: '登 录' }).or(page.getByRole('button', { name: '登录' })).count()).toBe(1);
    await p.login(...HALL01);
    expect(await page.getByRole('menu').innerText()).toMatch(/工作台[\s\S]*缴费/);

    await page.getByText('English', { exact: true }).click();
    await expect.poll(() => page.getByRole('menu').innerText()).toMatch(/Workbench[\s\S]*Payment/);
    expect(await page.getByTestId('topbar').innerText()).toContain('Business date 2026-11-23');

    // after a reload, still English; a server error comes in English too
    await page.goto('/payment');
    await page.getByPlaceholder('Service number, then Enter').fill('13900000000');
    await page.getByPlaceholder('Service number, then Enter').press('Enter');
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    expect(await alert.innerText()).toContain('Subscriber not found: 13900000000');

    await page.getByText('中文', { exact: true }).click();
    await expect.poll(() => page.getByRole('menu').innerText()).toMatch(/工作台[\s\S]*缴费/);
    // the message already shown follows the language too
    expect(await alert.innerText()).toContain('用户不存在：13900000000');
    noCrash(p);
  });
});
