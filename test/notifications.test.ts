// Notifications (R-INT-3): templates with {placeholders}, the SMS simulator and its dedupe by event id.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { renderSms, renderTemplate, SimulatedSms, yuan } from '../src/platform/notifications.ts';
import { SimulatedClock } from '../src/platform/clock.ts';
import { DomainError } from '../src/platform/errors.ts';
import { T0, type TestEnv, testEnv } from './helpers.ts';

describe('R-INT-3 templates', () => {
  test('R-INT-3 placeholders are filled; a missing value stays visible', () => {
    expect(renderTemplate('您的号码{号码}余额{结余}元', { 号码: '18602201234', 结余: '5.00' })).toBe('您的号码18602201234余额5.00元');
    expect(renderTemplate('将于{月}月{日}日停机', { 月: 12 })).toBe('将于12月{日}日停机');
    expect(renderTemplate('没有占位符', { x: 1 })).toBe('没有占位符');
  });

  test('R-INT-3 amounts in messages are yuan with two decimals, negative too', () => {
    expect(yuan(0)).toBe('0.00');
    expect(yuan(5)).toBe('0.05');
    expect(yuan(123456)).toBe('1234.56');
    expect(yuan(-250)).toBe('-2.50');
  });
});

describe('R-INT-3 the SMS simulator', () => {
  test('R-INT-3 keeps what it sent, by number, and sends one message per event', async () => {
    const sms = new SimulatedSms({ clock: new SimulatedClock(T0, { frozen: true }), keep: 3 });
    const a = await sms.send({ eventId: 1, to: '18602201234', templateCode: 'CREDIT_REMINDER', text: 'a' });
    const again = await sms.send({ eventId: 1, to: '18602201234', templateCode: 'CREDIT_REMINDER', text: 'a' });
    expect(again.messageId).toBe(a.messageId);
    await sms.send({ eventId: 2, to: '18602209999', templateCode: 'CREDIT_RESUME', text: 'b' });
    expect(sms.sent('18602201234')).toEqual([{ eventId: 1, to: '18602201234', templateCode: 'CREDIT_REMINDER', text: 'a', messageId: a.messageId, at: T0.toISOString() }]);
    expect(sms.sent().length).toBe(2);
    // bounded memory: only the last `keep` are kept
    for (let i = 3; i <= 6; i++) await sms.send({ eventId: i, to: '1', templateCode: 'X', text: String(i) });
    expect(sms.sent().map((m) => m.text)).toEqual(['4', '5', '6']);
  });
});

describe('R-INT-3 templates in the database', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv();
  }, 240_000);
  afterAll(() => env?.close());

  test('R-BND-13 the mobile-arrears notice to the broadband customer has the seed’s text', async () => {
    const text = await renderSms(env.ctx.database.db, 'BUNDLE_MOBILE_ARREARS', { 月: 12, 日: 1 });
    expect(text).toBe('您的手机已经欠费，若未及时缴费，您的宽带将于12月1日停机，为方便您的使用，请尽快缴纳手机欠费！详询10010。');
  });

  test('R-CC-3 the reminder, stop and resume templates exist in Chinese', async () => {
    const rows = await env.ctx.database.db.selectFrom('notification_templates').select(['template_code', 'text_zh']).execute();
    const codes = rows.map((r) => r.template_code);
    expect(codes).toEqual(expect.arrayContaining(['CREDIT_REMINDER', 'CREDIT_STOP_ONE_WAY', 'CREDIT_STOP_TWO_WAY', 'CREDIT_RESUME', 'CREDIT_LINKED_STOP', 'CREDIT_REOPEN', 'BUNDLE_MOBILE_ARREARS']));
    for (const r of rows) expect(r.text_zh).toMatch(/[\u4e00-\u9fff]/);
  });

  test('R-INT-3 an unknown template is a configuration error with a code', async () => {
    const err = await renderSms(env.ctx.database.db, 'NO_SUCH', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('UNKNOWN_TEMPLATE');
  });

  test('R-INT-3 the context carries the simulator as its notification adapter', () => {
    expect(env.ctx.notifications.name).toBe('simulator');
    expect(env.ctx.notifications).toBeInstanceOf(SimulatedSms);
  });
});
