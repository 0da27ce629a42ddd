// `npm run screenshots`: the front desk on the demo data (same harness as the E2E tests), saved as
// docs/screenshots/workbench.png, customer-360.png (the whole page), payment.png and order-wizard.png at 1440×900,
// then stock-overview.png and agent-wizard.png (scripts/screenshots-stock.ts), then bill-run.png and
// credit-queue.png (scripts/screenshots-billing.ts; last: it moves the business clock to December).
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startFrontDesk } from '../test/e2e/browser.ts';
import { billingScreenshots } from './screenshots-billing.ts';
import { stockScreenshots } from './screenshots-stock.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
mkdirSync(OUT, { recursive: true });

const fd = await startFrontDesk({ log: console.log });
try {
  // 受理向导: the e9-C new user of 王小明 (hall manager), on the quote step with the R-E9-4 notice
  const lead = await fd.newPage();
  await lead.login('lead01', 'demo-lead01');
  const lp = lead.page;
  const db = fd.ctx.database.db;
  const wang = await db.selectFrom('customers').select('customer_id').where('name', '=', '王小明').executeTakeFirstOrThrow();
  const number = await db
    .selectFrom('numbers')
    .select('service_number')
    .where('state', '=', 'free')
    .where('level_code', '=', 'ordinary')
    .where('service_number', 'not in', db.selectFrom('sim_cards').select('service_number').where('service_number', 'is not', null) as never)
    .orderBy('service_number')
    .executeTakeFirstOrThrow();
  const sim = await db.selectFrom('sim_cards').select('iccid').where('state', '=', 'in_stock').where('card_type', '=', 'finished').where('service_number', 'is', null).orderBy('iccid').executeTakeFirstOrThrow();
  const choose = async (id: string, text: string, close = false) => {
    await lp.locator(`#${id}`).click();
    await lp.locator(`#${id}`).fill(text);
    await lp.locator('.ant-select-dropdown:visible .ant-select-item-option').first().waitFor();
    await lp.locator(`#${id}`).press('Enter');
    if (close) await lp.locator(`#${id}`).press('Escape');
  };
  await lp.goto(`/orders/new?customerId=${wang.customer_id}`);
  await lp.getByTestId('order-customer').waitFor();
  await choose('businessType', '新开户');
  await lp.getByTestId('order-start-next').click();
  await choose('packageCode', 'e9-C');
  await choose('members_0_serviceNumber', number.service_number);
  await choose('members_0_iccid', sim.iccid);
  await choose('members_0_features', 'EVDO', true);
  await lp.locator('#members_0_accountManager').fill('李经理');
  await lp.locator('#members_0_gift').click();
  await lp.locator('#members_0_handset_imei').fill('356938035643809');
  await lp.locator('#members_0_handset_model').fill('ZTE V5');
  await lp.locator('#members_0_handset_price').fill('298');
  await lp.locator('#members_1_serviceNumber').fill('tjwang88001');
  await lp.locator('#members_1_standardAddress').fill('天津市河西区友谊路 32 号');
  await lp.locator('#members_1_installAddress').fill('友谊路 32 号 2-1-302');
  await lp.getByTestId('order-form-next').click();
  await lp.getByText('校验通过').waitFor();
  await lp.getByTestId('order-to-quote').click();
  await lp.getByTestId('order-fees').getByText('安装调测费').waitFor();
  await lp.waitForLoadState('networkidle');
  await lp.evaluate('window.scrollTo(0, 0)');
  await lp.waitForTimeout(400);
  await lp.screenshot({ path: `${OUT}order-wizard.png` });
  console.log('docs/screenshots/order-wizard.png');
  // submitted, so the customer 360 below shows the new subscribers' products and the order
  await lp.getByTestId('order-to-receipt').click();
  await lp.getByTestId('order-to-submit').click();
  await lp.getByTestId('order-submit-button').click();
  await lp.getByTestId('order-result').waitFor();

  if (lead.errors.length) throw new Error(`the order page reported errors: ${lead.errors.join('; ')}`);
  const { page, errors, login } = await fd.newPage();
  await login('hall01', 'demo-hall01');
  const shot = async (name: string, fullPage = false) => {
    await page.waitForLoadState('networkidle');
    await page.evaluate('document.fonts.ready');
    // let antd's transitions settle
    await page.waitForTimeout(400);
    await page.screenshot({ path: `${OUT}${name}.png`, fullPage });
    console.log(`docs/screenshots/${name}.png`);
  };

  // 工作台: a search by part of a name
  await page.keyboard.type('小');
  await page.keyboard.press('Enter');
  await page.locator('tbody tr[data-row-key]').nth(1).waitFor();
  await shot('workbench');

  // 客户视图: the e9 family (mobile + broadband on one real-time account, a restricted fund), its
  // products and orders
  await page.getByRole('row', { name: /王小明/ }).click();
  await page.getByText('客户资料').waitFor();
  await page.getByTestId('order-history').waitFor();
  await shot('customer-360', true);

  // 缴费: found by service number, an amount typed, the preview of what will happen
  await page.getByRole('menuitem', { name: '缴费' }).click();
  await page.getByPlaceholder('输入服务号码，Enter 查询').fill('13602105678');
  await page.getByPlaceholder('输入服务号码，Enter 查询').press('Enter');
  await page.getByTestId('payment-account').waitFor();
  await page.locator('#amount').fill('100');
  await page.getByText('将向帐户').waitFor();
  await shot('payment');

  if (errors.length) throw new Error(`the page reported errors: ${errors.join('; ')}`);

  // 库存总览 and 现场写卡开户: stock-overview.png, agent-wizard.png
  await stockScreenshots(fd, OUT);

  // 出帐管理 and 信控队列: bill-run.png, credit-queue.png
  await billingScreenshots(fd, OUT);
} finally {
  await fd.close();
}
