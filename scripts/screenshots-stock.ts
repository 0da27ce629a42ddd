// Screenshots of the stock screens (SPEC §10, seed 003) on the demo data, at 1440×900:
// docs/screenshots/stock-overview.png — every warehouse's stock with min/max alerts (audit01, all
// stock), after keeper01 allocated 20 micro blank cards down to 13ZDF16 and ess01 picked 12 of them
// for the channel 河西宏达通讯; docs/screenshots/agent-wizard.png — agent01's account opening with
// on-site card writing, on the write step after the simulated reader wrote the card.
// Called by scripts/screenshots.ts (`npm run screenshots`); alone: `node scripts/screenshots-stock.ts`.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { demoBlankIccid, demoResidentId } from '../src/app/demo.ts';
import { systemActor } from '../src/platform/audit.ts';
import { type FrontDesk, startFrontDesk } from '../test/e2e/browser.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

/** One call of the public API as a demo operator. */
async function api(fd: FrontDesk, token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${fd.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function token(fd: FrontDesk, username: string): Promise<string> {
  const res = await fetch(`${fd.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: `demo-${username}` }) });
  return ((await res.json()) as { token: string }).token;
}

async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.evaluate('document.fonts.ready');
  await page.waitForTimeout(400);
}

async function choose(page: Page, id: string, text: string) {
  await page.locator(`#${id}`).click();
  await page.locator(`#${id}`).fill(text);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option').first().waitFor();
  await page.locator(`#${id}`).press('Enter');
}

export async function stockScreenshots(fd: FrontDesk, out = OUT, log: (s: string) => void = console.log): Promise<void> {
  mkdirSync(out, { recursive: true });
  // the stock the screens show: limits on both stores, 20 cards allocated down, 12 picked for a channel
  const keeper = await token(fd, 'keeper01');
  const ess = await token(fd, 'ess01');
  await api(fd, keeper, 'PUT', '/stock/warehouses/130041/limits', {
    limits: [
      { cardType: 'blank_128k_micro', minQuantity: 20, maxQuantity: 100 },
      { cardType: 'blank_128k', minQuantity: 10, maxQuantity: 50 },
    ],
  });
  await api(fd, ess, 'PUT', '/stock/warehouses/13ZDF16/limits', { limits: [{ cardType: 'blank_128k_micro', minQuantity: 20, maxQuantity: 200 }] });
  const transfer = await api(fd, keeper, 'POST', '/stock/transfers', {
    kind: 'allocate',
    sourceWarehouseCode: '130041',
    targetWarehouseCode: '13ZDF16',
    cardType: 'blank_128k_micro',
    range: { from: demoBlankIccid(0), to: demoBlankIccid(19) },
  });
  await api(fd, keeper, 'POST', `/stock/documents/${String(transfer.stockOrderId)}/approve-out`, {});
  await api(fd, ess, 'POST', `/stock/documents/${String(transfer.stockOrderId)}/approve-in`, {});
  const pick = await api(fd, ess, 'POST', '/stock/picks', { warehouseCode: '13ZDF16', channelDepartmentId: 'TJ-130041-C01', cardType: 'blank_128k_micro', range: { from: demoBlankIccid(0), to: demoBlankIccid(11) } });
  await api(fd, ess, 'POST', `/stock/documents/${String(pick.stockOrderId)}/confirm`, {});

  // 库存总览: every warehouse (audit01 sees all stock), the alerts first
  const audit = await fd.newPage();
  await audit.login('audit01', 'demo-audit01');
  await audit.page.goto('/stock');
  await audit.page.getByTestId('stock-alerts').waitFor();
  await settle(audit.page);
  await audit.page.screenshot({ path: `${out}stock-overview.png` });
  log('docs/screenshots/stock-overview.png');
  if (audit.errors.length) throw new Error(`the stock page reported errors: ${audit.errors.join('; ')}`);

  // 现场写卡开户: agent01 for a new customer, on the write step after the card was written
  const customer = await fd.ctx.customers.create(
    { ...systemActor('screenshots'), departmentId: 'TJ-130041-C01' },
    { kind: 'person', name: '赵渠道', idType: 'resident_id', idNumber: demoResidentId('120103', '19920415', '318'), contactPhone: '13920007788', address: '天津市河西区友谊路 50 号', servicePassword: '480126' },
  );
  const agent = await fd.newPage();
  await agent.login('agent01', 'demo-agent01');
  const p = agent.page;
  await p.goto('/agent/open');
  await p.getByPlaceholder('服务号码 / 证件号码 / 客户名称').fill(customer.name);
  await p.getByPlaceholder('服务号码 / 证件号码 / 客户名称').press('Enter');
  await p.getByRole('row', { name: /赵渠道/ }).click();
  await p.getByTestId('order-customer').waitFor();
  await p.getByTestId('agent-next').click();
  await p.locator('#number_serviceNumber').click();
  await p.locator('.ant-select-dropdown:visible .ant-select-item-option').first().waitFor();
  await p.locator('#number_serviceNumber').press('Enter');
  await p.getByTestId('agent-next').click();
  await choose(p, 'plan_planCode', 'W3-46');
  await p.getByTestId('agent-next').click();
  const iccid = demoBlankIccid(0);
  await p.locator('#sim-iccid').fill(iccid);
  await p.locator('#sim-iccid').press('Escape');
  await p.getByTestId('sim-insert').click();
  await p.getByTestId('read-card').click();
  await p.getByTestId('agent-check-passed').waitFor();
  await p.getByTestId('agent-to-write').click();
  await p.getByTestId('write-card').click();
  await p.getByTestId('agent-write').getByTestId('agent-check-passed').waitFor();
  await settle(p);
  await p.evaluate('window.scrollTo(0, 0)');
  await p.screenshot({ path: `${out}agent-wizard.png` });
  log('docs/screenshots/agent-wizard.png');
  if (agent.errors.length) throw new Error(`the agent page reported errors: ${agent.errors.join('; ')}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const fd = await startFrontDesk({ log: console.log });
  try {
    await stockScreenshots(fd);
  } finally {
    await fd.close();
  }
}
