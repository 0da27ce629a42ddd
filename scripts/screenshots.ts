// `npm run screenshots`: the front desk on the demo data (same harness as the E2E tests), saved as
// docs/screenshots/workbench.png, customer-360.png and payment.png at 1440×900.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startFrontDesk } from '../test/e2e/browser.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
mkdirSync(OUT, { recursive: true });

const fd = await startFrontDesk({ log: console.log });
try {
  const { page, errors, login } = await fd.newPage();
  await login('hall01', 'demo-hall01');
  const shot = async (name: string) => {
    await page.waitForLoadState('networkidle');
    await page.evaluate('document.fonts.ready');
    // let antd's transitions settle
    await page.waitForTimeout(400);
    await page.screenshot({ path: `${OUT}${name}.png` });
    console.log(`docs/screenshots/${name}.png`);
  };

  // 工作台: a search by part of a name
  await page.keyboard.type('小');
  await page.keyboard.press('Enter');
  await page.locator('tbody tr[data-row-key]').nth(1).waitFor();
  await shot('workbench');

  // 客户视图: the e9 family (mobile + broadband on one real-time account, a restricted fund)
  await page.getByRole('row', { name: /王小明/ }).click();
  await page.getByText('客户资料').waitFor();
  await shot('customer-360');

  // 缴费: found by service number, an amount typed, the preview of what will happen
  await page.getByRole('menuitem', { name: '缴费' }).click();
  await page.getByPlaceholder('输入服务号码，Enter 查询').fill('13602105678');
  await page.getByPlaceholder('输入服务号码，Enter 查询').press('Enter');
  await page.getByTestId('payment-account').waitFor();
  await page.locator('#amount').fill('100');
  await page.getByText('将向帐户').waitFor();
  await shot('payment');

  if (errors.length) throw new Error(`the page reported errors: ${errors.join('; ')}`);
} finally {
  await fd.close();
}
