// 事件投递 in a browser (R-INT-1): the relay's webhook points at a port where nothing listens, so a
// new event fails and becomes a dead letter after the configured attempts; the auditor audit01 sees
// it under 死信 with the connection error in the detail drawer but has no retry button; once a
// receiver listens on that port, admin retries it from the screen and sees it delivered (已投递).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { systemActor } from '../../src/platform/audit.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { Relay } from '../../src/platform/relay.ts';
import { type FrontDesk, startFrontDesk } from './browser.ts';
import { noCrash } from './ui.ts';

let fd: FrontDesk;
let receiver: Server | undefined;
let port = 0;
const received: string[] = [];
beforeAll(async () => {
  fd = await startFrontDesk();
  // a port that refuses: taken and given back
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(async () => {
  if (receiver) await new Promise((resolve) => receiver?.close(resolve));
  await fd?.close();
});

const WAIT = { timeout: 60_000 };
const db = () => fd.ctx.database.db;

describe('事件投递 (outbox relay, zh-CN)', () => {
  test('R-INT-1 a dead letter (the webhook refuses) is seen, retried after the receiver is fixed, and delivered', async () => {
    // the demo's own events count as published earlier; the relay sends to the refusing port, two tries
    await sql`UPDATE outbox SET published_at = ${fd.clock.now()} WHERE published_at IS NULL`.execute(db());
    fd.ctx.relay = new Relay({
      db: db(),
      clock: fd.clock,
      log: pino({ level: 'silent' }),
      config: { ...loadConfig({}).relay, webhookUrls: [`http://127.0.0.1:${port}/openboss`], webhookSecret: 'e2e-secret', maxAttempts: 2, backoffSeconds: 30 },
    });
    await fd.ctx.operators.create(systemActor('e2e'), { username: 'relay01', name: '投递测试', departmentId: 'TJ', roles: [], password: 'relay-e2e-password' });
    const ev = await db().selectFrom('outbox').select(['event_id', 'event_type']).where('published_at', 'is', null).orderBy('event_id').execute();
    expect(ev.map((e) => e.event_type)).toEqual(['operator.created']);
    const id = Number(ev[0]?.event_id);

    expect(await fd.ctx.relay.runOnce()).toMatchObject({ fannedOut: 1, failed: 1 });
    fd.clock.advance(60_000);
    expect(await fd.ctx.relay.runOnce()).toMatchObject({ dead: 1 });

    // the auditor: the dead letter with its error, no retry
    const audit = await fd.newPage();
    audit.page.setDefaultTimeout(60_000);
    await audit.login('audit01', 'demo-audit01');
    const ap = audit.page;
    await ap.getByRole('menuitem', { name: '事件投递' }).click();
    await ap.getByTestId('outbox-page').waitFor();
    await expect.poll(() => ap.getByTestId('sink-webhook').innerText(), WAIT).toMatch(/投递失败\s*1/);
    await ap.getByTestId('tab-dead').click();
    const row = ap.locator(`[data-testid="outbox-dead"] tr[data-row-key="${id}"]`);
    await expect.poll(() => row.innerText(), WAIT).toMatch(/operator\.created[\s\S]*Webhook：投递失败/);
    expect(await ap.getByTestId(`event-${id}-retry`).count()).toBe(0);
    await ap.getByTestId(`event-${id}-detail`).click();
    const drawer = ap.getByTestId('outbox-drawer');
    await expect.poll(() => drawer.innerText(), WAIT).toContain(`事件 ${id}`);
    await expect.poll(() => ap.getByTestId('last-error-webhook').innerText(), WAIT).toMatch(/最近错误：POST http:\/\/127\.0\.0\.1:\d+\/openboss: ECONNREFUSED/);
    expect(await ap.getByTestId('outbox-payload').innerText()).toContain('"username": "relay01"');
    expect(await ap.getByTestId('drawer-retry').count()).toBe(0);
    noCrash(audit);

    // the receiver is fixed: it listens on that port now
    receiver = createServer((req, res) => {
      received.push(String(req.headers['x-openboss-event-id']));
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => receiver?.listen(port, '127.0.0.1', resolve));

    // admin retries from the dead letters, the relay delivers it
    const admin = await fd.newPage();
    admin.page.setDefaultTimeout(60_000);
    await admin.login('admin', 'demo-admin');
    const p = admin.page;
    await p.goto('/outbox');
    await p.getByTestId('tab-dead').click();
    await p.getByTestId(`event-${id}-retry`).click();
    await p.getByText(`事件 ${id} 已放回投递队列`).waitFor();
    expect((await db().selectFrom('outbox_deliveries').selectAll().where('event_id', '=', id).executeTakeFirstOrThrow()).status).toBe('pending');
    await expect.poll(() => p.getByTestId('outbox-dead').innerText(), WAIT).toContain('没有死信');
    await p.getByTestId('tab-pending').click();
    await expect.poll(() => p.locator(`[data-testid="outbox-pending"] tr[data-row-key="${id}"]`).innerText(), WAIT).toContain('Webhook：待投递');

    await fd.ctx.relay.drain();
    expect(received).toContain(String(id));
    await p.getByTestId('outbox-reload').click();
    await p.getByTestId('tab-delivered').click();
    await p.getByTestId('outbox-type').locator('input').fill('operator.*');
    await p.getByTestId('outbox-type').locator('input').press('Enter');
    const delivered = p.locator(`[data-testid="outbox-delivered"] tr[data-row-key="${id}"]`);
    await expect.poll(() => delivered.innerText(), WAIT).toContain('Webhook：已投递');
    await p.getByTestId(`event-${id}-detail`).click();
    await expect.poll(() => p.getByTestId('drawer-deliveries').innerText(), WAIT).toMatch(/已投递[\s\S]*1/);
    const audited = await db().selectFrom('audit_log').select(['action', 'operator_id']).where('action', '=', 'outbox.retry').where('target_id', '=', String(id)).execute();
    expect(audited).toHaveLength(1);
    noCrash(admin);

    // in English
    const en = await fd.newPage({ lang: 'en-US' });
    await en.login('audit01', 'demo-audit01');
    await en.page.goto('/outbox');
    await en.page.getByTestId('tab-delivered').click();
    await expect.poll(() => en.page.getByTestId('outbox-delivered').innerText(), WAIT).toContain('Webhook: delivered');
    expect(await en.page.getByTestId('outbox-page').innerText()).toContain('Dead letters');
    noCrash(en);
  });
});
