// The order wizard in a browser (SPEC §7, §9.1 e9): the hall manager lead01 opens an e9-C new user
// from the customer 360 — number and SIM from the pool, EVDO, gift handset, broadband, new real-time
// account — sees the checks pass with the R-E9-4 notice, the quote (installation 58, free credit 100,
// SIM fee 0), the receipt (preview, print page, PDF), submits, and completes the installation on the
// work-orders page. Then the renewal (R-E9-3): a BB-4M broadband opened through the wizard, installed,
// e9-G added on with the mobile and a 298 handset, installation and SIM fee waived with a reason
// (payable 100), and the 600 special fund on the payment page (R-E9-2).
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoResidentId } from '../../src/app/demo.ts';
import { systemActor } from '../../src/platform/audit.ts';
import { type FrontDesk, type FrontDeskPage, startFrontDesk } from './browser.ts';
import { choose, noCrash, startOrder } from './ui.ts';

let fd: FrontDesk;
beforeAll(async () => {
  fd = await startFrontDesk();
});
afterAll(() => fd?.close());

const LEAD01 = ['lead01', 'demo-lead01'] as const;
/** a page load or a server round trip, on a busy machine */
const WAIT = { timeout: 60_000 };
/** each test walks several orders through the browser: generous on a loaded machine */
const LONG = 300_000;
const db = () => fd.ctx.database.db;

async function customerIdOf(name: string): Promise<number> {
  return (await db().selectFrom('customers').select('customer_id').where('name', '=', name).executeTakeFirstOrThrow()).customer_id;
}

const taken = new Set<string>();
/** A free ordinary number of the pool that no card carries and this file has not used. */
async function freeNumber(): Promise<string> {
  const rows = await db()
    .selectFrom('numbers')
    .select('service_number')
    .where('state', '=', 'free')
    .where('level_code', '=', 'ordinary')
    .where('service_number', 'not in', db().selectFrom('sim_cards').select('service_number').where('service_number', 'is not', null) as never)
    .orderBy('service_number', 'desc')
    .execute();
  const n = rows.map((r) => r.service_number).find((s) => !taken.has(s));
  if (!n) throw new Error('no free number');
  taken.add(n);
  return n;
}
/** A finished card in stock with no number on it. */
async function freeSim(): Promise<string> {
  const rows = await db().selectFrom('sim_cards').select('iccid').where('state', '=', 'in_stock').where('card_type', '=', 'finished').where('service_number', 'is', null).orderBy('iccid', 'desc').execute();
  const s = rows.map((r) => r.iccid).find((x) => !taken.has(x));
  if (!s) throw new Error('no free SIM');
  taken.add(s);
  return s;
}

/** A page whose waits allow for a busy machine (the orders take several round trips each). */
async function orderPage(): Promise<FrontDeskPage> {
  const p = await fd.newPage();
  p.page.setDefaultTimeout(60_000);
  return p;
}

async function mobileMember(page: Page, i: number, m: { number: string; iccid: string; imei: string; manager?: string }) {
  await choose(page, `members_${i}_serviceNumber`, m.number);
  await choose(page, `members_${i}_iccid`, m.iccid);
  await choose(page, `members_${i}_features`, 'EVDO', { close: true });
  if (m.manager) await page.locator(`#members_${i}_accountManager`).fill(m.manager);
  await page.locator(`#members_${i}_gift`).click();
  await page.locator(`#members_${i}_handset_imei`).fill(m.imei);
  await page.locator(`#members_${i}_handset_model`).fill('ZTE V5');
  await page.locator(`#members_${i}_handset_price`).fill('298');
}

async function broadbandMember(page: Page, i: number, account: string) {
  await page.locator(`#members_${i}_serviceNumber`).fill(account);
  await page.locator(`#members_${i}_standardAddress`).fill('天津市河西区友谊路 32 号');
  await page.locator(`#members_${i}_installAddress`).fill('友谊路 32 号 2-1-302');
}

/** ② → ③: the form is sent and checked; the checks pass. */
async function formToCheck(page: Page) {
  await page.getByTestId('order-form-next').click();
  const check = page.getByTestId('order-check');
  await check.waitFor();
  await expect.poll(() => check.innerText(), WAIT).toContain('校验通过');
  return check;
}

/** ③ → ⑤ → ⑥ → result: the receipt shown, then submitted. */
async function receiptAndSubmit(page: Page) {
  await page.getByTestId('order-to-receipt').click();
  await page.frameLocator('[data-testid=receipt-frame]').getByText('免填单').first().waitFor();
  await page.getByTestId('order-to-submit').click();
  await page.getByTestId('order-submit-button').click();
  const result = page.getByTestId('order-result');
  await result.waitFor();
  return result;
}

async function orderIdOnPage(page: Page): Promise<number> {
  const text = await page.getByTestId('order-status').innerText();
  return Number(/受理单 (\d+)/.exec(text)?.[1]);
}

async function completeWorkOrder(page: Page, orderId: number) {
  await page.getByRole('menuitem', { name: '工单' }).click();
  await page.waitForURL('**/work-orders');
  const row = page.getByTestId('work-orders').locator('tbody tr', { hasText: `受理单 ${orderId}` });
  await row.waitFor();
  expect(await row.innerText()).toContain('装机');
  await row.getByRole('button', { name: /竣工/ }).click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('textarea').fill('已装机调测，信号正常');
  const ok = dialog.getByRole('button', { name: /竣\s*工/ });
  await ok.click();
  // completed: the dialog closes (a toast says so for a few seconds) and the row leaves the open list; a refusal stays in
  // the dialog, and a request in flight shows as [busy], both printed when this fails. Twice in CI on the shared host the
  // dialog was still open a minute later with nothing in it: a click that the modal did not take is given once more.
  const state = async () => ((await dialog.count()) === 0 ? 'closed' : `${await dialog.innerText()}${((await ok.getAttribute('class')) ?? '').includes('ant-btn-loading') ? ' [busy]' : ''}`);
  await expect
    .poll(state, { timeout: 10_000 })
    .toBe('closed')
    .catch(async () => {
      const now = await state();
      if (now !== 'closed' && !now.endsWith('[busy]')) await ok.click();
    });
  await expect.poll(state, WAIT).toBe('closed');
  await expect.poll(() => row.count(), WAIT).toBe(0);
}

describe('order wizard (e9, zh-CN)', () => {
  test('R-E9-1 R-E9-4 R-ORD-3 e9-C new user from the customer 360: checks pass with the stop-month notice, quote 58 + 100 with SIM fee 0, receipt printed and as PDF, submitted, installed on the work-orders page', async () => {
    const p = await orderPage();
    const { page } = p;
    // the receipt page prints itself; record that instead of opening the print dialog
    await page.context().addInitScript({ content: 'window.print = () => { window.printed = true; };' });
    await p.login(...LEAD01);
    const customerId = await customerIdOf('王小明');
    const number = await freeNumber();
    const iccid = await freeSim();

    await page.goto(`/customers/${customerId}`);
    await page.getByTestId('customer-new-order').click();
    await startOrder(page, '新开户', WAIT);

    // ② documents (owner, ID original) are preset for a person; the e9-C package and its members
    await choose(page, 'packageCode', 'e9-C');
    await page.getByTestId('member-mobile').waitFor();
    await page.getByTestId('member-broadband').waitFor();
    expect(await page.getByTestId('member-mobile').innerText()).toContain('号码池中的空闲号码');
    await mobileMember(page, 0, { number, iccid, imei: '356938035643809', manager: '李经理' });
    await broadbandMember(page, 1, 'tjwang88001');
    expect(await page.locator('#members_1_bandwidthMbps').inputValue()).toBe('4');

    // ③ every rule passes; R-E9-4: the month the mobile and with it the broadband stops
    const check = await formToCheck(page);
    const notice = page.getByTestId('order-notices');
    expect(await notice.innerText()).toMatch(/请务必告知客户[\s\S]*第 6 个月[\s\S]*宽带随之停机/);
    expect(await check.innerText()).toContain(number);
    const orderId = await orderIdOnPage(page);
    expect(orderId).toBeGreaterThan(0);

    // ④ the quote: installation 58, free-use credit 100, the SIM fee 0 in the package
    await page.getByTestId('order-to-quote').click();
    const quote = page.getByTestId('order-quote');
    await quote.waitFor();
    const fees = page.getByTestId('order-fees');
    await expect.poll(() => fees.innerText(), WAIT).toContain('安装调测费');
    const row = (name: string) => fees.locator('tbody tr', { hasText: name }).innerText();
    expect(await row('安装调测费')).toContain('¥58.00');
    expect(await row('自由话费')).toContain('¥100.00');
    expect(await row('SIM/UIM 卡费')).toContain('¥0.00');
    expect(await page.getByTestId('order-payable').innerText()).toContain('¥158.00');
    expect(await quote.getByTestId('order-notices').innerText()).toContain('第 6 个月');

    // ⑤ the receipt in a frame; printed from a page of its own; the PDF downloaded
    await page.getByTestId('order-to-receipt').click();
    const frame = page.frameLocator('[data-testid=receipt-frame]');
    await frame.getByText('免填单').first().waitFor();
    const receipt = await frame.locator('body').innerText();
    expect(receipt).toContain('王小明');
    expect(receipt).toContain('安装调测费');
    expect(receipt).toContain(number);
    const [printPage] = await Promise.all([page.waitForEvent('popup'), page.getByTestId('print-receipt').click()]);
    await printPage.waitForLoadState();
    expect(await printPage.locator('body').innerText()).toContain('王小明');
    await expect.poll(() => printPage.evaluate<boolean>('window.printed === true'), WAIT).toBe(true);
    await printPage.close();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-pdf').click()]);
    expect(download.suggestedFilename()).toBe(`receipt-${orderId}.pdf`);
    expect(readFileSync(await download.path()).subarray(0, 5).toString('latin1')).toBe('%PDF-');

    // ⑥ the notice once more before submitting; the result: subscribers, account, the work order
    await page.getByTestId('order-to-submit').click();
    expect(await page.getByTestId('order-submit').getByTestId('order-notices').innerText()).toContain('宽带随之停机');
    await page.getByTestId('order-submit-button').click();
    const result = page.getByTestId('order-result');
    await result.waitFor();
    const shown = await result.innerText();
    expect(shown).toContain('已提交，等待工单竣工');
    expect(await page.getByTestId('order-created').innerText()).toMatch(new RegExp(`手机 ${number}[\\s\\S]*宽带 tjwang88001`));
    expect(shown).toContain('收取费用');
    expect(await page.getByTestId('order-work-orders').innerText()).toContain('待竣工');

    const order = await fd.ctx.orders.get(systemActor('e2e'), orderId);
    expect(order.status).toBe('submitted');
    const accountId = (order.result as { accountId: number }).accountId;
    expect((await fd.ctx.accounts.balance(accountId)).usableBalanceFen).toBe(10_000);
    const handset = await db().selectFrom('handsets').selectAll().where('imei', '=', '356938035643809').executeTakeFirstOrThrow();
    expect(Number(handset.price_fen)).toBe(29_800);

    // the installation is completed on the work-orders page; the order is completed
    await completeWorkOrder(page, orderId);
    expect((await fd.ctx.orders.get(systemActor('e2e'), orderId)).status).toBe('completed');
    await page.goto(`/orders/${orderId}`);
    await expect.poll(() => page.getByTestId('order-result').innerText(), WAIT).toContain('受理完成');

    // the 360 shows the new products and the order
    await page.goto(`/customers/${customerId}`);
    const history = page.getByTestId('order-history');
    await history.waitFor();
    await expect.poll(() => history.locator('tbody tr', { hasText: `受理单 ${orderId}` }).innerText(), WAIT).toMatch(/新开户[\s\S]*已竣工/);
    expect(await page.locator('tr[data-row-key]', { hasText: number }).first().innerText()).toMatch(/e9-C[\s\S]*月费 ¥19\.00/);
    noCrash(p);
  }, LONG);

  test('R-E9-3 R-E9-2 renewal: a BB-4M broadband opened and installed, e9-G added on with the mobile and a 298 handset, installation and SIM fee waived with a reason (payable 100), then the 600 special fund', async () => {
    const hall = { ...systemActor('e2e'), departmentId: 'TJ-130041-H1' };
    const customer = await fd.ctx.customers.create(hall, {
      kind: 'person',
      name: '刘家庭',
      idType: 'resident_id',
      idNumber: demoResidentId('120103', '19800101', '517'),
      contactPhone: '13920005566',
      address: '天津市河西区友谊路 40 号',
      segment: 'family',
      servicePassword: '902417',
    });
    const p = await orderPage();
    const { page } = p;
    await p.login(...LEAD01);

    // the old broadband: a single plan through the wizard
    await page.goto(`/customers/${customer.customerId}`);
    await page.getByTestId('customer-new-order').click();
    await startOrder(page, '新开户', WAIT);
    await page.getByText('单一套餐').click();
    await choose(page, 'network', '宽带');
    await page.getByTestId('member-main').waitFor();
    await choose(page, 'members_0_planCode', 'BB-4M');
    await broadbandMember(page, 0, 'tjliu88002');
    await formToCheck(page);
    expect(await page.getByTestId('order-check').getByTestId('order-notices').count()).toBe(0);
    const first = await orderIdOnPage(page);
    await page.getByTestId('order-to-quote').click();
    await expect.poll(() => page.getByTestId('order-payable').innerText(), WAIT).toContain('¥58.00');
    const opened = await receiptAndSubmit(page);
    expect(await opened.innerText()).toContain('已提交，等待工单竣工');
    await completeWorkOrder(page, first);
    const broadband = await db().selectFrom('subscribers').select(['subscriber_id', 'default_account_id']).where('service_number', '=', 'tjliu88002').executeTakeFirstOrThrow();

    // 加装 from the broadband's row of the 360
    await page.goto(`/customers/${customer.customerId}`);
    await page.getByRole('button', { name: '办理业务 tjliu88002' }).click();
    await startOrder(page, '加装', WAIT);
    await expect.poll(() => page.locator('#subscriberId').locator('xpath=ancestor::div[contains(@class,"ant-select")][1]').innerText(), WAIT).toContain('tjliu88002');
    await choose(page, 'packageCode', 'e9-G');
    await page.getByTestId('member-mobile').waitFor();
    const number = await freeNumber();
    await mobileMember(page, 0, { number, iccid: await freeSim(), imei: '356938035643825' });
    await formToCheck(page);
    // e9-G's mobile pays 29 a month: the 100 credit lasts into the 5th month from 2026-11-23
    expect(await page.getByTestId('order-notices').innerText()).toMatch(/第 5 个月（2027年3月）[\s\S]*宽带随之停机/);
    const addOn = await orderIdOnPage(page);

    // R-ORD-2: the hall manager waives the installation and the SIM fee, with a reason
    await page.getByTestId('order-to-quote').click();
    await expect.poll(() => page.getByTestId('order-payable').innerText(), WAIT).toContain('¥183.00');
    await page.getByTestId('waive-INSTALL').click();
    await page.getByTestId('waive-SIM_CARD').click();
    // no reason: refused before anything is sent
    await page.getByTestId('apply-waivers').click();
    await page.getByText('减免须填写原因').waitFor();
    await page.getByTestId('waiver-reason').fill('e9 当期到期续费：安装调测费、卡费下调为 0');
    await page.getByTestId('apply-waivers').click();
    await expect.poll(() => page.getByTestId('order-payable').innerText(), WAIT).toContain('¥100.00');
    expect(await page.getByTestId('order-fees').locator('tbody tr', { hasText: '安装调测费' }).innerText()).toMatch(/¥58\.00[\s\S]*¥58\.00[\s\S]*¥0\.00/);
    const result = await receiptAndSubmit(page);
    expect(await result.innerText()).toContain('受理完成');
    const order = await fd.ctx.orders.get(systemActor('e2e'), addOn);
    expect(order).toMatchObject({ status: 'completed', payableFen: 10_000 });
    expect(order.fees.filter((f) => f.waivedFen > 0).map((f) => [f.feeCode, f.waiverReason])).toEqual([
      ['SIM_CARD', 'e9 当期到期续费：安装调测费、卡费下调为 0'],
      ['INSTALL', 'e9 当期到期续费：安装调测费、卡费下调为 0'],
    ]);
    expect((order.result as { accountId: number }).accountId).toBe(broadband.default_account_id);
    const handset = await db().selectFrom('handsets').selectAll().where('imei', '=', '356938035643825').executeTakeFirstOrThrow();
    expect(Number(handset.price_fen)).toBe(29_800);

    // R-E9-2: the 600 special fund for the broadband's items, private to the broadband
    await page.goto(`/payment?account=${broadband.default_account_id}`);
    await page.getByTestId('payment-account').waitFor();
    await page.locator('#amount').fill('600');
    await choose(page, 'bookType', '专款');
    await choose(page, 'items', '宽带月租');
    await choose(page, 'items', '加装包功能费');
    await choose(page, 'items', '宽带调整月租', { close: true });
    await choose(page, 'subscriberId', 'tjliu88002');
    await page.getByRole('button', { name: '确认缴费' }).click();
    const paid = page.getByTestId('payment-result');
    await paid.waitFor();
    expect(await paid.innerText()).toContain('缴费成功：¥600.00');
    const fund = await db().selectFrom('books').selectAll().where('account_id', '=', broadband.default_account_id).where('book_type', '=', 'restricted_fund').executeTakeFirstOrThrow();
    expect(fund).toMatchObject({ amount_fen: 60_000, subscriber_id: broadband.subscriber_id });
    expect([...(fund.restricted_items ?? [])].sort()).toEqual(['ADDON_FEE', 'RENT_BB', 'RENT_BB_ADJ']);
    noCrash(p);
  }, LONG);

  test('R-ORD-1 R-ORD-5 every failing rule with its fix, in the operator’s language; a sensitive order (挂失) through the generic form needs the service password', async () => {
    const p = await orderPage();
    const { page } = p;
    await p.login('hall01', 'demo-hall01');
    const li = await customerIdOf('李华');

    // e9-C for a personal customer on a monthly account: two rules fail, each with its fix
    await page.goto(`/customers/${li}`);
    await page.getByTestId('customer-new-order').click();
    await startOrder(page, 'OPEN_ACCOUNT', WAIT);
    await choose(page, 'packageCode', 'e9-C');
    await page.getByTestId('member-mobile').waitFor();
    await choose(page, 'newAccount_billingType', '月出帐');
    await choose(page, 'members_0_serviceNumber', await freeNumber());
    await choose(page, 'members_0_iccid', await freeSim());
    await broadbandMember(page, 1, 'tjli88003');
    await page.getByTestId('order-form-next').click();
    const failures = page.getByTestId('order-failures');
    await failures.waitFor();
    const text = await failures.innerText();
    expect(text).toContain('面向“家庭”客户');
    expect(text).toContain('处理办法：请将客户分群改为“家庭”');
    expect(text).toContain('须使用实时预付费（虚扣）帐户');
    expect(text).toContain('处理办法：请将帐户出帐类型选为“虚扣”');
    expect(text).not.toContain('{');
    expect(await page.getByTestId('order-check').innerText()).toContain('校验未通过：2 项须处理');
    expect(await page.getByTestId('order-to-quote').isDisabled()).toBe(true);
    // the same failures in English
    await page.getByText('English', { exact: true }).click();
    await expect.poll(() => failures.innerText(), WAIT).toContain('Fix: Choose billing type “virtual” for the account');
    await page.getByText('中文', { exact: true }).click();

    // back to the form with what was typed; the account fixed, one rule is left
    await page.getByRole('button', { name: /返回修改/ }).click();
    await page.getByTestId('order-form').waitFor();
    expect(await page.locator('#members_1_serviceNumber').inputValue()).toBe('tjli88003');
    await choose(page, 'newAccount_billingType', '虚扣');
    await page.getByTestId('order-form-next').click();
    await expect.poll(() => page.getByTestId('order-check').innerText(), WAIT).toContain('校验未通过：1 项须处理');
    expect(await failures.innerText()).not.toContain('虚扣');
    // 撤单 with a reason
    await page.getByRole('button', { name: /撤\s*单/ }).first().click();
    await page.getByPlaceholder('撤单原因（必填）').fill('客户改办其他业务');
    await page.getByRole('dialog').getByRole('button', { name: /确认撤单/ }).click();
    await expect.poll(() => page.getByTestId('order-result').innerText(), WAIT).toContain('受理单已撤销');

    // 挂失 of 李华's mobile, from its row of the 360: the generic form, then the service password
    await page.goto(`/customers/${li}`);
    await page.getByRole('button', { name: '办理业务 13602105678' }).click();
    await startOrder(page, '挂失', WAIT);
    const form = page.getByTestId('order-form');
    expect(await form.innerText()).toMatch(/客户[\s\S]*用户[\s\S]*出示证件（R-ORD-7）[\s\S]*机主本人/);
    expect(await form.locator('.ant-select', { has: page.locator('#subscriberId') }).innerText()).toContain('13602105678');
    await page.locator('#note').fill('手机遗失');
    await page.getByTestId('order-form-next').click();
    await page.getByTestId('order-check').waitFor();
    // the password field has the focus; a wrong password is a failure with its fix
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id'), WAIT).toBe('password');
    await page.keyboard.type('000000');
    await page.keyboard.press('Enter');
    await expect.poll(() => failures.innerText(), WAIT).toContain('服务密码不正确');
    expect(await failures.innerText()).toContain('处理办法：请客户重新输入服务密码');
    await page.locator('#password').fill('385160');
    await page.locator('#password').press('Enter');
    await expect.poll(() => page.getByTestId('order-check').innerText(), WAIT).toContain('校验通过');
    await page.getByTestId('order-to-quote').click();
    await page.getByTestId('order-quote').waitFor();
    // hall01 may not waive (R-ORD-2): no waiver controls
    expect(await page.getByTestId('waiver-reason').count()).toBe(0);
    const result = await receiptAndSubmit(page);
    expect(await result.innerText()).toContain('受理完成');
    await page.goto(`/customers/${li}`);
    await expect.poll(() => page.locator('tr[data-row-key]', { hasText: '13602105678' }).first().innerText(), WAIT).toContain('挂失');
    await expect.poll(() => page.getByTestId('order-history').innerText(), WAIT).toMatch(/挂失[\s\S]*已竣工[\s\S]*新开户[\s\S]*已撤单/);
    noCrash(p);
  }, LONG);
});
