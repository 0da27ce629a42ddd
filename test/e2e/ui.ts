// What the E2E tests do the same way in the front desk: no crash of the page, antd Selects driven
// from the keyboard, and starting an order from the customer 360.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { FrontDeskPage } from './browser.ts';

export function noCrash(p: FrontDeskPage): void {
  expect(p.errors, 'uncaught errors in the page').toEqual([]);
}

/** An antd Select: focus it, type to filter, Enter takes the first match (close: Escape after, for a multiple select). */
export async function choose(page: Page, id: string, text: string, opts: { close?: boolean } = {}) {
  const input = page.locator(`#${id}`);
  await input.click();
  await input.fill(text);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option').first().waitFor();
  await input.press('Enter');
  if (opts.close) await input.press('Escape');
}

/** ① on the order page opened from the customer 360's 办理业务 (or a subscriber's): the business type, then next. */
export async function startOrder(page: Page, type: string, wait: { timeout: number }) {
  await page.waitForURL(/\/orders\/new\?customerId=\d+/);
  await page.getByTestId('order-customer').waitFor();
  // the business type has the focus: type, Enter, and the focus is on "next"
  await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id'), wait).toBe('businessType');
  await page.keyboard.type(type);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option').first().waitFor();
  await page.keyboard.press('Enter');
  await expect.poll(() => page.evaluate<string | null | undefined>("document.activeElement?.getAttribute('data-testid')"), wait).toBe('order-start-next');
  await page.keyboard.press('Enter');
  await page.getByTestId('order-form').waitFor();
}
