// R-INT-1 the outbox relay: a local HTTP server as the webhook — each event once, retried after a
// 500 with backoff, dead after the configured attempts, retried from dead by an operator (audited);
// the signature checks out; a crash between send and mark sends the same event id again; order
// per aggregate; two relays side by side lose nothing. R-INT-3: `notification.sms` events reach
// the notification adapter. The operator API: filters, figures, bad input as problem+json.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { loadConfig, type RelayConfig } from '../src/platform/config.ts';
import type { SimulatedSms } from '../src/platform/notifications.ts';
import { emit } from '../src/platform/outbox.ts';
import { backoffSeconds, fanOutLimit, passAgainSoon, type PassResult, Relay, type RelayDeps } from '../src/platform/relay.ts';
import { notificationSink, type NotificationMessage, signBody, webhookSink } from '../src/platform/relay-sinks.ts';
import { type Api, onPostgres, testApi, testEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let api: Api;
const db = () => env.ctx.database.db;
const SECRET = 'relay-test-secret';

interface Received {
  eventId: string;
  type: string;
  signature: string | undefined;
  attempt: string;
  raw: string;
  body: { eventId: number; type: string; aggregateId: string; payload: unknown };
}

/** A webhook receiver whose answer the test chooses. */
class Receiver {
  received: Received[] = [];
  authorization: (string | undefined)[] = [];
  status = 200;
  server!: Server;
  url = '';
  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        const h: IncomingHttpHeaders = req.headers;
        this.authorization.push(h.authorization);
        this.received.push({
          eventId: String(h['x-openboss-event-id']),
          type: String(h['x-openboss-event-type']),
          signature: h['x-openboss-signature'] as string | undefined,
          attempt: String(h['x-openboss-delivery-attempt']),
          raw,
          body: JSON.parse(raw) as Received['body'],
        });
        res.statusCode = this.status;
        res.end(this.status === 200 ? 'ok' : 'boom');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }
  ids(): number[] {
    return this.received.map((r) => Number(r.eventId));
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let hook: Receiver;
beforeAll(async () => {
  env = await testEnv();
  api = await testApi(env);
  hook = await new Receiver().start();
});
afterAll(async () => {
  await hook?.close();
  await api?.app.close();
  await env?.close();
});

/** Each test starts with nothing to deliver and a receiver that accepts. */
beforeEach(async () => {
  await sql`DELETE FROM outbox_deliveries`.execute(db());
  await sql`UPDATE outbox SET published_at = ${env.clock.now()} WHERE published_at IS NULL`.execute(db());
  hook.received = [];
  hook.authorization = [];
  hook.status = 200;
});

const config = (over: Partial<RelayConfig> = {}): RelayConfig => ({ ...loadConfig({}).relay, maxAttempts: 3, backoffSeconds: 30, backoffMaxSeconds: 3600, ...over });
const silent = pino({ level: 'silent' });

function relay(over: Partial<RelayDeps> = {}, cfg: Partial<RelayConfig> = {}): Relay {
  const c = config(cfg);
  return new Relay({ db: db(), clock: env.clock, log: silent, config: c, sinks: [webhookSink('webhook', hook.url, { secret: SECRET, timeoutMs: 5000 })], ...over });
}

async function event(type: string, aggregateId: string | number, payload: unknown = { n: aggregateId }): Promise<number> {
  await emit(db(), env.clock, { type, aggregateType: type.split('.')[0] as string, aggregateId, payload });
  const r = await db().selectFrom('outbox').select('event_id').orderBy('event_id', 'desc').limit(1).executeTakeFirstOrThrow();
  return Number(r.event_id);
}

const delivery = (eventId: number, sink = 'webhook') => db().selectFrom('outbox_deliveries').selectAll().where('event_id', '=', eventId).where('sink', '=', sink).executeTakeFirstOrThrow();
const publishedAt = async (eventId: number) => (await db().selectFrom('outbox').select('published_at').where('event_id', '=', eventId).executeTakeFirstOrThrow()).published_at;

test(`R-INT-1 each event reaches the webhook once, signed, with its id and type in the headers; published when every sink has it (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, async () => {
  const a = await event('payment.created', 1, { paymentId: 1, amountFen: 5000 });
  const b = await event('subscriber.created', 2);
  const r = relay();
  const pass = await r.runOnce();
  expect(pass).toMatchObject({ fannedOut: 2, claimed: 2, delivered: 2, failed: 0, dead: 0, published: 2 });
  expect(hook.ids()).toEqual([a, b]);
  const first = hook.received[0] as Received;
  expect(first).toMatchObject({ eventId: String(a), type: 'payment.created', attempt: '1' });
  expect(first.body).toMatchObject({ eventId: a, type: 'payment.created', aggregateId: '1', payload: { paymentId: 1, amountFen: 5000 } });
  // the receiver recomputes the HMAC over the raw body with the shared secret
  expect(first.signature).toBe(signBody(SECRET, first.raw));
  expect(first.signature).not.toBe(signBody('another-secret', first.raw));
  expect(await delivery(a)).toMatchObject({ status: 'delivered', attempts: 1, last_error: null });
  expect(await publishedAt(a)).toEqual(env.clock.now());
  // nothing is sent twice
  expect(await r.drain()).toMatchObject({ claimed: 0, delivered: 0 });
  expect(hook.ids()).toEqual([a, b]);
  // without a secret there is no signature header
  hook.received = [];
  const c = await event('payment.created', 3);
  await relay({ sinks: [webhookSink('webhook', hook.url, { timeoutMs: 5000 })] }).runOnce();
  expect(hook.received.map((x) => [Number(x.eventId), x.signature])).toEqual([[c, undefined]]);
});

test('R-INT-1 a 500 is retried after an exponential backoff; the same event id comes again', async () => {
  expect([1, 2, 3, 4, 20].map((n) => backoffSeconds(n, 30, 3600))).toEqual([30, 60, 120, 240, 3600]);
  const a = await event('payment.created', 10);
  const r = relay();
  hook.status = 500;
  expect(await r.runOnce()).toMatchObject({ claimed: 1, delivered: 0, failed: 1, dead: 0, published: 0 });
  const d = await delivery(a);
  expect(d).toMatchObject({ status: 'pending', attempts: 1 });
  expect(d.last_error).toMatch(/HTTP 500 boom/);
  expect(d.last_error).toBe(`POST ${hook.url}: HTTP 500 boom`);
  expect(new Date(d.next_attempt_at).getTime() - env.clock.now().getTime()).toBe(30_000);
  // not due yet
  expect(await r.runOnce()).toMatchObject({ claimed: 0 });
  hook.status = 200;
  env.clock.advance(30_000);
  expect(await r.runOnce()).toMatchObject({ claimed: 1, delivered: 1, published: 1 });
  expect(hook.received.map((x) => [Number(x.eventId), x.attempt])).toEqual([
    [a, '1'],
    [a, '2'],
  ]);
  expect(await delivery(a)).toMatchObject({ status: 'delivered', attempts: 2 });
});

test('R-INT-1 dead after the configured attempts; an operator retries it (audited) and it is delivered', async () => {
  const a = await event('payment.created', 20);
  const r = relay();
  hook.status = 503;
  for (let i = 0; i < 3; i++) {
    await r.runOnce();
    env.clock.advance(3600_000);
  }
  expect(await delivery(a)).toMatchObject({ status: 'dead', attempts: 3 });
  expect(hook.ids()).toEqual([a, a, a]);
  expect(await r.drain()).toMatchObject({ claimed: 0 });
  expect(await publishedAt(a)).toBeNull();

  // the operator screen: dead letters, the event's detail, the figures
  const dead = await api.call('GET', '/api/v1/outbox/dead-letters', { as: 'auditor' });
  expect(dead.status).toBe(200);
  expect(dead.body.items).toEqual([expect.objectContaining({ eventId: a, sink: 'webhook', type: 'payment.created', attempts: 3, lastError: expect.stringMatching(/HTTP 503/) })]);
  const list = await api.call('GET', '/api/v1/outbox?status=dead&type=payment.*', { as: 'auditor' });
  expect(list.body.items.map((e: { eventId: number }) => e.eventId)).toEqual([a]);
  expect(list.body.items[0]).toMatchObject({ status: 'dead', deliveries: [{ sink: 'webhook', status: 'dead', attempts: 3 }] });
  expect((await api.call('GET', '/api/v1/outbox?status=pending', { as: 'auditor' })).body.items).toEqual([]);
  const detail = await api.call('GET', `/api/v1/outbox/${a}`, { as: 'auditor' });
  expect(detail.body).toMatchObject({ eventId: a, status: 'dead', payload: { n: 20 } });

  // auditors look, only administrators retry
  const refused = await api.call('POST', `/api/v1/outbox/${a}/retry`, { as: 'auditor' });
  expect(refused.status).toBe(403);
  expect((await api.call('GET', '/api/v1/outbox', { as: 'front_desk' })).status).toBe(403);

  hook.status = 200;
  const retried = await api.call('POST', `/api/v1/outbox/${a}/retry`, { body: {} });
  expect(retried.status).toBe(200);
  expect(retried.body).toMatchObject({ eventId: a, status: 'pending', deliveries: [{ sink: 'webhook', status: 'pending', attempts: 0 }] });
  const audit = await db().selectFrom('audit_log').selectAll().where('action', '=', 'outbox.retry').where('target_id', '=', String(a)).executeTakeFirstOrThrow();
  expect(audit.after).toEqual({ status: 'pending', sinks: ['webhook'] });
  // a second retry has nothing to do
  const again = await api.call('POST', `/api/v1/outbox/${a}/retry`);
  expect(again.status).toBe(409);
  expect(again.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(again.body).toMatchObject({ code: 'OUTBOX_NOT_DEAD', messages: { zh: expect.stringContaining('无需重投'), en: expect.any(String) } });

  const pass = await r.runOnce();
  expect(pass.delivered).toBeGreaterThanOrEqual(1);
  expect(await delivery(a)).toMatchObject({ status: 'delivered', attempts: 1 });
  expect(await publishedAt(a)).not.toBeNull();
  // the retry itself is an event too (outbox.retried), delivered like any other
  expect(hook.received.filter((x) => x.type === 'outbox.retried').map((x) => x.body.payload)).toEqual([{ eventId: a, sinks: ['webhook'] }]);
  const stats = await api.call('GET', '/api/v1/outbox/stats', { as: 'auditor' });
  // the application's relay has the SMS adapter only; the webhook rows come from this test's relay
  expect(stats.body.sinks).toEqual([
    expect.objectContaining({ sink: 'notifications', configured: true, pending: 0, dead: 0 }),
    expect.objectContaining({ sink: 'webhook', configured: false, dead: 0, pending: 0, delivered: 2 }),
  ]);
});

test('R-INT-1 dead letters retried together by type; each event audited; only administrators', async () => {
  const p1 = await event('payment.created', 50);
  const p2 = await event('payment.reversed', 51);
  const s1 = await event('subscriber.created', 52);
  hook.status = 500;
  expect(await relay({}, { maxAttempts: 1 }).runOnce()).toMatchObject({ dead: 3 });
  expect((await api.call('POST', '/api/v1/outbox/dead-letters/retry', { as: 'auditor', body: {} })).status).toBe(403);
  const bad = await api.call('POST', '/api/v1/outbox/dead-letters/retry', { body: { type: 'Payment' } });
  expect(bad.status).toBe(400);
  expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
  const r = await api.call('POST', '/api/v1/outbox/dead-letters/retry', { body: { type: 'payment.*', sink: 'webhook' } });
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ retried: 2, eventIds: [p1, p2], more: false });
  expect((await delivery(p1)).status).toBe('pending');
  expect((await delivery(s1)).status).toBe('dead');
  const audited = await db().selectFrom('audit_log').select('target_id').where('action', '=', 'outbox.retry').where('target_id', 'in', [String(p1), String(p2), String(s1)]).orderBy('target_id').execute();
  expect(audited.map((a) => Number(a.target_id))).toEqual([p1, p2]);
  // nothing left of that type
  expect((await api.call('POST', '/api/v1/outbox/dead-letters/retry', { body: { type: 'payment.*' } })).body).toEqual({ retried: 0, eventIds: [], more: false });
  // no body: every dead letter
  expect((await api.call('POST', '/api/v1/outbox/dead-letters/retry')).body).toMatchObject({ retried: 1, eventIds: [s1] });
});

test('R-INT-5 the operator API is in the OpenAPI document, with examples', async () => {
  const doc = await api.call('GET', '/openapi.json', { as: null });
  const paths = doc.body.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { example?: unknown }> }> }>>;
  for (const [path, method] of [
    ['/api/v1/outbox', 'get'],
    ['/api/v1/outbox/dead-letters', 'get'],
    ['/api/v1/outbox/dead-letters/retry', 'post'],
    ['/api/v1/outbox/stats', 'get'],
    ['/api/v1/outbox/{eventId}', 'get'],
    ['/api/v1/outbox/{eventId}/retry', 'post'],
  ] as const) {
    const op = paths[path]?.[method];
    expect(op, `${method} ${path}`).toBeDefined();
    expect(op?.responses['200']?.content?.['application/json']?.example, `${method} ${path} example`).toBeTypeOf('object');
  }
});

test('R-INT-1 an error shown to operators never carries the webhook URL\'s credentials or query', async () => {
  const a = await event('payment.created', 70);
  const secretUrl = hook.url.replace('http://', 'http://user:pa55@') + '?token=abc';
  hook.status = 500;
  await relay({ sinks: [webhookSink('webhook', secretUrl, { timeoutMs: 5000 })] }).runOnce();
  const d = await delivery(a);
  expect(d.last_error).toBe(`POST ${hook.url}: HTTP 500 boom`);
  // user and password go as Basic authentication
  expect(hook.received).toHaveLength(1);
  expect(hook.authorization).toEqual([`Basic ${Buffer.from('user:pa55').toString('base64')}`]);
});

test('R-INT-1 a crash between send and mark: after the lease the same event id is sent again (at least once)', async () => {
  const a = await event('payment.created', 30);
  let crash = true;
  const r = relay({
    leaseSeconds: 120,
    afterSend: () => {
      if (crash) throw new Error('killed after send');
    },
  });
  await expect(r.runOnce()).rejects.toThrow('killed after send');
  expect(hook.ids()).toEqual([a]);
  expect(await delivery(a)).toMatchObject({ status: 'pending', attempts: 0 });
  // another relay does not take it while the lease runs
  expect(await relay().runOnce()).toMatchObject({ claimed: 0 });
  crash = false;
  env.clock.advance(120_000);
  expect(await relay().runOnce()).toMatchObject({ claimed: 1, delivered: 1, published: 1 });
  expect(hook.ids()).toEqual([a, a]);
  expect(new Set(hook.received.map((x) => x.body.eventId))).toEqual(new Set([a]));
});

test('R-INT-1 per aggregate in order: a failed event holds back the later events of its aggregate, not the others', async () => {
  const a1 = await event('payment.created', 'acct-1');
  const a2 = await event('payment.created', 'acct-1');
  const b1 = await event('payment.created', 'acct-2');
  const failOnce = new Set([a1]);
  const r = relay({
    sinks: [
      {
        name: 'webhook',
        typePrefix: '',
        deliver: async (e) => {
          if (failOnce.delete(e.eventId)) throw new Error('refused');
          hook.received.push({ eventId: String(e.eventId), type: e.type, signature: undefined, attempt: String(e.attempt), raw: '', body: e as never });
        },
      },
    ],
  });
  expect(await r.runOnce()).toMatchObject({ claimed: 3, delivered: 1, failed: 1 });
  expect(hook.ids()).toEqual([b1]);
  // a2 waits for a1 (due again after the backoff), then both go in order
  expect(await r.runOnce()).toMatchObject({ claimed: 0 });
  env.clock.advance(30_000);
  expect(await r.runOnce()).toMatchObject({ claimed: 2, delivered: 2 });
  expect(hook.ids()).toEqual([b1, a1, a2]);
});

test('R-INT-1 two relays at once on one webhook: no event lost, none left behind', async () => {
  const ids: number[] = [];
  for (let i = 0; i < 60; i++) ids.push(await event('payment.created', `acct-${i % 7}`));
  const a = relay({}, { batchSize: 7 });
  const b = relay({}, { batchSize: 5 });
  await Promise.all([a.drain(), b.drain()]);
  const got = new Set(hook.ids());
  expect(ids.filter((id) => !got.has(id))).toEqual([]);
  const left = await db().selectFrom('outbox').select('event_id').where('published_at', 'is', null).execute();
  expect(left).toEqual([]);
  // at least once; in the common case (SKIP LOCKED and the lease) exactly once
  expect(hook.received.length).toBeGreaterThanOrEqual(ids.length);
  if (onPostgres) expect(hook.received.length).toBe(ids.length);
});

test('R-INT-3 notification.sms events go to the notification adapter with the event id; other events do not', async () => {
  const sent: NotificationMessage[] = [];
  const adapter = { send: async (m: NotificationMessage) => (sent.push(m), { messageId: `SMS-${sent.length}` }) };
  const r = relay({ sinks: [webhookSink('webhook', hook.url, { timeoutMs: 5000 }), notificationSink(() => adapter)] });
  const sms = await event('notification.sms', 'sub-1', { to: '18602200001', templateCode: 'CREDIT_WARN', params: { balance: '3.20' }, text: '您的余额为3.20元，请及时缴费。' });
  const pay = await event('payment.created', 'acct-9');
  const bad = await event('notification.sms', 'sub-2', { to: '18602200002' });
  const pass = await r.drain();
  expect(sent).toEqual([{ eventId: sms, to: '18602200001', templateCode: 'CREDIT_WARN', text: '您的余额为3.20元，请及时缴费。' }]);
  // the webhook gets every event, the notification events too
  expect(hook.ids()).toEqual([sms, pay, bad]);
  expect(await db().selectFrom('outbox_deliveries').select(['event_id', 'sink']).where('sink', '=', 'notifications').orderBy('event_id').execute()).toEqual([
    { event_id: sms, sink: 'notifications' },
    { event_id: bad, sink: 'notifications' },
  ]);
  // a payload without to/templateCode/text can never be sent: dead at once, not retried
  expect(await delivery(bad, 'notifications')).toMatchObject({ status: 'dead', attempts: 1, last_error: expect.stringMatching(/needs to, templateCode and text/) });
  expect(pass.dead).toBe(1);
  // an adapter that fails is retried like any sink
  const flaky = { send: async () => Promise.reject(new Error('SMSC unavailable')) };
  const sms2 = await event('notification.sms', 'sub-3', { to: '18602200003', templateCode: 'X', params: {}, text: 't' });
  await relay({ sinks: [notificationSink(() => flaky)] }).runOnce();
  expect(await delivery(sms2, 'notifications')).toMatchObject({ status: 'pending', attempts: 1, last_error: 'SMSC unavailable' });
});

test('R-INT-3 the application relay hands notification.sms to ctx.notifications (the simulator), once per event', async () => {
  expect(env.ctx.relay.sinks.map((x) => x.name)).toEqual(['notifications']);
  const sms = await event('notification.sms', 'sub-7', { to: '18602200007', templateCode: 'CREDIT_STOP', params: {}, text: '您已欠费停机。' });
  const other = await event('payment.created', 'acct-7');
  const r = await env.ctx.relay.drain();
  expect(r).toMatchObject({ delivered: 1, skipped: 1 });
  const simulator = env.ctx.notifications as SimulatedSms;
  expect(simulator.sent('18602200007')).toEqual([expect.objectContaining({ eventId: sms, templateCode: 'CREDIT_STOP', text: '您已欠费停机。' })]);
  expect(await publishedAt(sms)).not.toBeNull();
  expect(await publishedAt(other)).not.toBeNull();
  expect(await env.ctx.relay.drain()).toMatchObject({ claimed: 0 });
  expect(simulator.sent('18602200007')).toHaveLength(1);
});

test('R-INT-1 events no sink takes are published at once; with no sink at all the relay waits', async () => {
  const a = await event('payment.created', 40);
  expect(await relay({ sinks: [] }).drain()).toMatchObject({ fannedOut: 0, skipped: 0 });
  expect(await publishedAt(a)).toBeNull();
  const onlySms = relay({ sinks: [notificationSink(() => undefined)] });
  expect(await onlySms.runOnce()).toMatchObject({ fannedOut: 0, skipped: 1 });
  expect(await publishedAt(a)).not.toBeNull();
  // the job `outbox-relay` runs every minute and catches up
  expect(env.ctx.jobs.list().find((j) => j.name === 'outbox-relay')).toMatchObject({ cron: '* * * * *' });
  expect((await env.ctx.jobs.runNow('outbox-relay')).result).toMatchObject({ claimed: 0 });
});

test('R-INT-1 the loop inside serve relays on its own and stops cleanly (no pass after stop)', async () => {
  const r = relay();
  let passes = 0;
  const once = r.runOnce.bind(r);
  r.runOnce = async () => {
    passes++;
    return once();
  };
  r.start(5);
  const a = await event('payment.created', 60);
  await expect.poll(() => hook.ids(), { timeout: 10_000 }).toEqual([a]);
  await r.stop();
  const after = passes;
  const b = await event('payment.created', 61);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(passes).toBe(after);
  expect(await r.runOnce()).toMatchObject({ claimed: 0, fannedOut: 0 });
  expect(hook.ids()).toEqual([a]);
  expect(await publishedAt(b)).toBeNull();
});

test('R-INT-1 the loop passes again at once while a pass finds more than it takes (a full claim that delivered, or a full fan-out)', () => {
  const c = { batchSize: 100 };
  const pass = (over: Partial<PassResult>): PassResult => ({ fannedOut: 0, skipped: 0, claimed: 0, delivered: 0, failed: 0, dead: 0, published: 0, ...over });
  expect(fanOutLimit(c)).toBe(500);
  expect(fanOutLimit({ batchSize: 2000 })).toBe(2000);
  expect(passAgainSoon(pass({ claimed: 100, delivered: 1 }), c)).toBe(true);
  // a sink that fails everything backs off instead
  expect(passAgainSoon(pass({ claimed: 100, delivered: 0, failed: 100 }), c)).toBe(false);
  expect(passAgainSoon(pass({ claimed: 99, delivered: 99 }), c)).toBe(false);
  // events no sink takes: published 500 at a time, and the next 500 at once
  expect(passAgainSoon(pass({ skipped: 500 }), c)).toBe(true);
  expect(passAgainSoon(pass({ fannedOut: 300, skipped: 200 }), c)).toBe(true);
  expect(passAgainSoon(pass({ fannedOut: 120, skipped: 379 }), c)).toBe(false);
  expect(passAgainSoon(pass({}), c)).toBe(false);
});

test('R-INT-1 the loop works off a backlog of events no sink takes without waiting its interval after each 500', async () => {
  // 1,300 events nobody subscribes to (only the SMS adapter's sink, which takes notification.* events)
  await sql`INSERT INTO outbox (event_type, aggregate_type, aggregate_id, payload, occurred_at)
            SELECT 'order.checked', 'order', g::text, '{}'::jsonb, ${env.clock.now()} FROM generate_series(1, 1300) g`.execute(db());
  const unpublished = async () => Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`.execute(db())).rows[0]?.n);
  expect(await unpublished()).toBe(1300);
  const r = relay({ sinks: [notificationSink(() => undefined)] });
  const t0 = Date.now();
  r.start(3000);
  try {
    // the first pass comes after 3 s; the other two of the 1,300 follow at once (before: 3 s apart, 9 s in all)
    await expect.poll(unpublished, { timeout: 5_500, interval: 100 }).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_500);
  } finally {
    await r.stop();
  }
}, 15_000);

test('R-INT-1 configuration: webhook URLs, NATS settings and retry limits from the environment; bad values refused', () => {
  const c = loadConfig({ OPENBOSS_WEBHOOK_URL: 'https://a.example.com/h, http://b.example.com/h', OPENBOSS_WEBHOOK_SECRET: 's', NATS_URL: 'nats://127.0.0.1:4222', OPENBOSS_RELAY_MAX_ATTEMPTS: '5' }).relay;
  expect(c).toMatchObject({ webhookUrls: ['https://a.example.com/h', 'http://b.example.com/h'], webhookSecret: 's', natsUrl: 'nats://127.0.0.1:4222', natsStream: 'OPENBOSS', natsSubjectPrefix: 'openboss', maxAttempts: 5 });
  expect(new Relay({ db: db(), clock: env.clock, log: silent, config: c }).sinks.map((s) => s.name)).toEqual(['webhook', 'webhook2', 'nats']);
  expect(loadConfig({}).relay).toMatchObject({ webhookUrls: [], natsUrl: undefined, maxAttempts: 10, backoffSeconds: 30, backoffMaxSeconds: 3600 });
  expect(() => loadConfig({ OPENBOSS_WEBHOOK_URL: 'ftp://x' })).toThrow(/OPENBOSS_WEBHOOK_URL/);
  expect(() => loadConfig({ OPENBOSS_RELAY_MAX_ATTEMPTS: '0' })).toThrow(/at least 1/);
  expect(() => loadConfig({ NATS_SUBJECT_PREFIX: 'a.>' })).toThrow(/NATS_SUBJECT_PREFIX/);
});

test('R-INT-1 bad input to the operator API is a 4xx problem+json', async () => {
  const cases: [string, string, unknown, number][] = [
    ['GET', '/api/v1/outbox?status=lost', undefined, 400],
    ['GET', '/api/v1/outbox?type=Payment%20Created', undefined, 400],
    ['GET', '/api/v1/outbox?limit=0', undefined, 400],
    ['GET', '/api/v1/outbox?before=-1', undefined, 400],
    ['GET', '/api/v1/outbox/dead-letters?sink=Web%20Hook', undefined, 400],
    ['GET', '/api/v1/outbox/abc', undefined, 400],
    ['GET', '/api/v1/outbox/999999999', undefined, 404],
    ['POST', '/api/v1/outbox/0/retry', undefined, 400],
    ['POST', '/api/v1/outbox/999999999/retry', undefined, 404],
    ['POST', '/api/v1/outbox/1/retry', { sink: 'webhook', extra: 1 }, 400],
    ['POST', '/api/v1/outbox/dead-letters/retry', { sink: 'x'.repeat(40) }, 400],
  ];
  for (const [method, url, body, status] of cases) {
    const r = await api.call(method, url, body === undefined ? {} : { body });
    expect([url, r.status]).toEqual([url, status]);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ status, code: expect.any(String), messages: { zh: expect.any(String), en: expect.any(String) } });
  }
  expect((await api.call('GET', '/api/v1/outbox', { as: null })).status).toBe(401);
});
