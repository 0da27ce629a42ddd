// Screenshots of the bill-run and credit-control screens (SPEC §5, §6) on the demo data plus the
// monthly customer of test/e2e/billing-seed.ts, at 1440×900: docs/screenshots/bill-run.png — the
// accounting room's (acct01) pre-billed run of 2026-11 with its progress and the review of the totals
// per bill item against October; docs/screenshots/credit-queue.png — after publishing and the due
// date, the stopped lines with their reason, as the hall manager (lead01) who may reopen them.
// Called by scripts/screenshots.ts (`npm run screenshots`); alone: `node scripts/screenshots-billing.ts`.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { systemActor } from '../src/platform/audit.ts';
import { seedMonthlyCustomer } from '../test/e2e/billing-seed.ts';
import { type FrontDesk, startFrontDesk } from '../test/e2e/browser.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.evaluate('document.fonts.ready');
  await page.waitForTimeout(400);
}

export async function billingScreenshots(fd: FrontDesk, out = OUT, log: (s: string) => void = console.log): Promise<void> {
  mkdirSync(out, { recursive: true });
  const { accountId } = await seedMonthlyCustomer(fd);
  // November has ended: 1 December, 09:00 in Shanghai; the run is started and worked here
  fd.clock.set(new Date('2026-12-01T01:00:00Z'));
  const billing = fd.ctx.billing;
  const run = await billing.start(systemActor('screenshots'), '2026-11');
  await billing.work(run.run_id);

  // 出帐管理: the pre-billed run and its review
  const acct = await fd.newPage();
  await acct.login('acct01', 'demo-acct01');
  await acct.page.goto(`/billing?run=${run.run_id}`);
  await acct.page.getByTestId('run-review').getByText('套餐月租').waitFor();
  await settle(acct.page);
  await acct.page.screenshot({ path: `${out}bill-run.png` });
  log('docs/screenshots/bill-run.png');
  if (acct.errors.length) throw new Error(`the bill-run page reported errors: ${acct.errors.join('; ')}`);

  // 信控队列: published, past the due date, credit control run
  await billing.publish(systemActor('screenshots'), run.run_id);
  const bill = await fd.ctx.database.db.selectFrom('bills').select('due_at').where('account_id', '=', accountId).where('cycle', '=', '2026-11').executeTakeFirstOrThrow();
  fd.clock.set(new Date((bill.due_at ?? new Date()).getTime() + 10 * 3600_000));
  const published = await fd.ctx.database.db.selectFrom('bills').select('account_id').where('run_id', '=', run.run_id).execute();
  await fd.ctx.credit.evaluateAccounts(published.map((b) => b.account_id));
  const lead = await fd.newPage();
  await lead.login('lead01', 'demo-lead01');
  await lead.page.goto('/credit');
  await lead.page.getByTestId('credit-queue').getByText('13302201188').waitFor();
  await settle(lead.page);
  await lead.page.screenshot({ path: `${out}credit-queue.png` });
  log('docs/screenshots/credit-queue.png');
  if (lead.errors.length) throw new Error(`the credit page reported errors: ${lead.errors.join('; ')}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const fd = await startFrontDesk({ log: console.log });
  try {
    await billingScreenshots(fd);
  } finally {
    await fd.close();
  }
}
