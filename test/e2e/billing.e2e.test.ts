// Rating, the bill run and credit control in a browser (SPEC §5, §6), on the demo data plus a
// monthly customer 周帐单 (test/e2e/billing-seed.ts: the G2-18 plan, ¥10 cash, November's CDRs
// rated: ¥18 rent, ¥3.00 local calls beyond the allowance, ¥1.50 long distance). On 1 December the
// accounting room (acct01) starts the bill run for 2026-11, watches it reach 100 %, reviews the
// totals per item and publishes them; the customer 360 shows the published bill with its write-off lines and the
// subscriber's itemised usage; after the due date credit control stops the number and the queue shows
// it with its reason; the hall manager (lead01) gives it a special credit reopen (R-X-2).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BILLING_NUMBER, seedMonthlyCustomer } from './billing-seed.ts';
import { type FrontDesk, startFrontDesk } from './browser.ts';
import { noCrash } from './ui.ts';

let fd: FrontDesk;
beforeAll(async () => {
  fd = await startFrontDesk();
});
afterAll(() => fd?.close());

const WAIT = { timeout: 60_000 };
const LONG = 300_000;
const NUMBER = BILLING_NUMBER;
const db = () => fd.ctx.database.db;

/** A month in an antd month picker: typed, then Enter. */
async function pickCycle(page: Page, id: string, cycle: string) {
  const input = page.locator(`#${id}`);
  await input.click();
  await input.fill(cycle);
  await input.press('Enter');
}

describe('bill run, bills, usage and credit control (SPEC §5, §6, zh-CN)', () => {
  test(
    'R-BIL-5 R-BIL-7 R-BIL-9 R-ACC-6 R-BIL-1 R-CC-1 R-CC-4 R-X-2 the accounting room bills November, reviews and publishes it; the 360 shows the bill with its write-offs and the usage; the queue shows the stopped number, which the hall manager reopens',
    async () => {
      const { customerId, accountId, subscriberId } = await seedMonthlyCustomer(fd);
      // November has ended: 1 December, 09:00 in Shanghai
      fd.clock.set(new Date('2026-12-01T01:00:00Z'));

      const acct = await fd.newPage();
      acct.page.setDefaultTimeout(60_000);
      await acct.login('acct01', 'demo-acct01');
      const p = acct.page;

      // ① 出帐管理: the cycle to bill is the month that ended; start it after the confirmation
      await p.getByRole('menuitem', { name: '出帐管理' }).click();
      await expect.poll(() => p.locator('#run-cycle').inputValue(), WAIT).toBe('2026-11');
      await p.getByTestId('start-run').click();
      const confirm = p.getByRole('dialog');
      await expect.poll(() => confirm.innerText(), WAIT).toContain('确认对 2026-11 帐期出帐？');
      await confirm.getByRole('button', { name: '开始出帐' }).click();

      // ② progress reaches 100 % and the run waits for its review
      const detail = p.getByTestId('run-detail');
      await expect.poll(() => detail.innerText(), WAIT).toContain('2026-11 帐期出帐');
      await expect.poll(() => p.getByTestId('run-progress').innerText(), WAIT).toContain('100%');
      await expect.poll(() => detail.innerText(), WAIT).toContain('预出帐待审核');
      const run = await db().selectFrom('bill_runs').selectAll().where('cycle', '=', '2026-11').executeTakeFirstOrThrow();
      expect(run.state).toBe('prebilled');
      const accounts = await p.getByTestId('run-accounts').innerText();
      expect(accounts).toBe(`${run.accounts_total} / ${run.accounts_total}`);
      // our pre-bill is not published, nothing written off yet
      const pre = await db().selectFrom('bills').select(['status', 'bill_id']).where('account_id', '=', accountId).where('cycle', '=', '2026-11').executeTakeFirstOrThrow();
      expect(pre.status).toBe('prebill');

      // ③ the review: totals per item beside October
      const review = p.getByTestId('run-review');
      await expect.poll(() => review.innerText(), WAIT).toMatch(/套餐月租[\s\S]*本地通话|本地通话[\s\S]*套餐月租/);
      expect(await review.innerText()).toContain('长途');
      expect(await review.innerText()).toContain('上期 2026-10');

      // ④ 正式出帐: the confirmation names the totals
      await p.getByTestId('publish-run').click();
      const publish = p.getByTestId('publish-confirm');
      await expect.poll(() => publish.innerText(), WAIT).toContain('套餐月租');
      expect(await publish.innerText()).toMatch(/本期出帐合计 ¥[\d,]+\.\d\d，共 \d+ 个帐户/);
      await p.getByRole('dialog').getByRole('button', { name: '正式出帐' }).click();
      await expect.poll(() => detail.innerText(), WAIT).toContain('已正式出帐');
      await p.getByTestId('run-published').waitFor();
      const bill = await db().selectFrom('bills').select(['status', 'due_at']).where('account_id', '=', accountId).where('cycle', '=', '2026-11').executeTakeFirstOrThrow();
      expect(bill.status).toBe('published');
      noCrash(acct);

      // ⑤ the customer 360: the bill with its lines and write-off lines (the ¥10 cash paid the rent first)
      await p.goto(`/customers/${customerId}`);
      const card = p.getByTestId(`account-${accountId}`);
      await card.waitFor();
      await card.getByRole('tab', { name: '帐单', exact: true }).click();
      const bills = p.getByTestId(`account-bills-${accountId}`);
      await expect.poll(() => bills.innerText(), WAIT).toContain('2026-11');
      const text = await bills.innerText();
      expect(text).toContain('已出帐');
      expect(text).toContain('套餐月租');
      expect(text).toContain('本地通话');
      expect(text).toContain(NUMBER);
      expect(text).toMatch(/现金 #\d+/);
      expect(text).toContain('¥10.00');
      expect(text).not.toContain('{');

      // the subscriber's usage of November: 20 minutes beyond the 100 included at ¥0.15, 5 long-distance minutes at ¥0.30
      const usage = p.getByTestId('subscriber-usage');
      await usage.waitFor();
      await pickCycle(p, 'usage-cycle', '2026-11');
      const totals = p.getByTestId('usage-totals');
      await expect.poll(() => totals.innerText(), WAIT).toContain('本地通话');
      expect(await totals.innerText()).toMatch(/本地通话[\s\S]*120 分钟[\s\S]*100 分钟[\s\S]*20 分钟[\s\S]*¥3\.00/);
      expect(await totals.innerText()).toMatch(/长途[\s\S]*¥1\.50/);
      const cdrs = p.getByTestId('usage-cdrs');
      await expect.poll(() => cdrs.innerText(), WAIT).toContain('139****0001');
      expect(await cdrs.innerText()).not.toContain('13900000001');
      expect(await cdrs.innerText()).toContain('100 分 0 秒');
      expect(await p.getByTestId('subscriber-usage').innerText()).toContain('详单（6 条）');
      noCrash(acct);

      // ⑥ past the due date the unpaid lines are arrears: credit control stops the number (R-CC-4)
      expect(bill.due_at).not.toBeNull();
      fd.clock.set(new Date((bill.due_at as Date).getTime() + 10 * 3600_000));
      await fd.ctx.credit.evaluateAccounts([accountId]);
      await p.getByRole('menuitem', { name: '信控队列' }).click();
      // only the stopped lines
      await p.locator('#credit-states').click();
      await p.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: '全部停机' }).click();
      await p.waitForURL('**/credit?state=stopped');
      const queue = p.getByTestId('credit-queue');
      const row = queue.locator('tr', { hasText: NUMBER });
      // stopped one-way, or already two-way when the grace has passed (R-X-2); why: the rule and the figures it saw
      await expect.poll(() => row.innerText(), WAIT).toMatch(/欠费(单|双)停/);
      expect(await row.innerText()).toMatch(/R-\S+[\s\S]*结余 -¥12\.50[\s\S]*欠费 ¥12\.50/);
      expect(await row.innerText()).toContain('欠费停机');
      // the accounting room may not reopen a line; the line opens the customer 360
      expect(await row.getByTestId(`reopen-${subscriberId}`).count()).toBe(0);
      await row.getByRole('button', { name: /客户视图/ }).click();
      await expect.poll(() => p.getByTestId(`account-${accountId}`).innerText(), WAIT).toContain('欠费');
      // its 信控 tab: the real-time balance with its parts, the line judged on its own overdue lines
      await p.getByTestId(`account-${accountId}`).getByRole('tab', { name: '信控', exact: true }).click();
      const credit = p.getByTestId(`account-credit-${accountId}`);
      await expect.poll(() => credit.innerText(), WAIT).toContain('R-CC-4 本用户帐单逾期未缴');
      expect(await credit.innerText()).toMatch(/未缴已出帐单\s*¥12\.50/);
      expect(await credit.innerText()).toMatch(/实时结余\s*-¥12\.50/);
      noCrash(acct);

      // ⑦ 信用特殊开机 by the hall manager: hours and a reason, then the line is reopened until then
      const lead = await fd.newPage();
      lead.page.setDefaultTimeout(60_000);
      await lead.login('lead01', 'demo-lead01');
      const lp = lead.page;
      await lp.goto('/credit?state=stopped');
      const stopped = lp.getByTestId('credit-queue').locator('tr', { hasText: NUMBER });
      await stopped.getByTestId(`reopen-${subscriberId}`).click();
      const dialog = lp.getByRole('dialog');
      await expect.poll(() => dialog.innerText(), WAIT).toContain(`信用特殊开机：${NUMBER}`);
      // the reason is required
      await lp.getByTestId('reopen-submit').click();
      await expect.poll(() => dialog.innerText(), WAIT).toContain('请填写原因');
      await lp.locator('#reopen_hours').fill('48');
      await lp.locator('#reopen_reason').fill('客户承诺两日内缴清欠费');
      await lp.getByTestId('reopen-submit').click();
      await dialog.waitFor({ state: 'hidden' });
      const state = await db().selectFrom('credit_states').selectAll().where('subscriber_id', '=', subscriberId).executeTakeFirstOrThrow();
      expect(state.state).toBe('reopened');
      await lp.goto('/credit?state=reopened');
      const reopened = lp.getByTestId('credit-queue').locator('tr', { hasText: NUMBER });
      await expect.poll(() => reopened.innerText(), WAIT).toContain('特殊开机');
      expect(await reopened.innerText()).toContain('特殊开机至');
      noCrash(lead);
    },
    LONG,
  );
});
