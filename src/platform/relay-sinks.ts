// R-INT-1 sinks of the outbox relay: a webhook (POST JSON, HMAC-SHA256 signed), NATS JetStream
// (msgID = event id, so the stream drops a re-sent event) and the notification adapter (R-INT-3,
// `notification.*` events only). A sink throws when the event was not accepted; the relay retries.
import { createHmac } from 'node:crypto';
import { jetstream, type JetStreamClient, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** One outbox row as the sinks see it. */
export interface RelayEvent {
  eventId: number;
  type: string;
  aggregateType: string;
  aggregateId: string;
  accountId: number | null;
  payload: unknown;
  occurredAt: string;
  /** 1 for the first try of this sink. */
  attempt: number;
}

export interface Sink {
  /** The delivery rows' `sink` (`webhook`, `webhook2`, `nats`, `notifications`). */
  readonly name: string;
  /** The event types it takes: those starting with this ('' = every event). */
  readonly typePrefix: string;
  /** Resolves once the receiver has taken the event; throws otherwise. */
  deliver(e: RelayEvent): Promise<void>;
  close?(): Promise<void>;
}

/** A delivery that no retry can make succeed (a malformed payload): dead at once. */
export class PermanentDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}

/** The JSON body a webhook receives (and NATS carries): the event, with its id as the dedupe key. */
export function eventBody(e: RelayEvent): string {
  return JSON.stringify({ eventId: e.eventId, type: e.type, aggregateType: e.aggregateType, aggregateId: e.aggregateId, accountId: e.accountId, occurredAt: e.occurredAt, payload: e.payload });
}

export const SIGNATURE_HEADER = 'x-openboss-signature';

/** `sha256=<hex>` of HMAC-SHA256(secret, raw body): what a receiver recomputes to check the header. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Webhook: POST the event as JSON; any 2xx is delivered, anything else (or no answer in time) is retried. */
export function webhookSink(name: string, url: string, opts: { secret?: string; timeoutMs: number }): Sink {
  // errors are shown to operators: never the URL's user and password, nor its query (a token)
  const u = new URL(url);
  const shown = `${u.origin}${u.pathname}`;
  // fetch takes no credentials in the URL: `https://user:password@host/…` becomes Basic authentication
  const basic = u.username ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined;
  u.username = '';
  u.password = '';
  const target = u.toString();
  return {
    name,
    typePrefix: '',
    async deliver(e) {
      const body = eventBody(e);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'openboss-relay',
        'x-openboss-event-id': String(e.eventId),
        'x-openboss-event-type': e.type,
        'x-openboss-delivery-attempt': String(e.attempt),
      };
      if (opts.secret) headers[SIGNATURE_HEADER] = signBody(opts.secret, body);
      if (basic) headers.authorization = basic;
      let res: Response;
      try {
        res = await fetch(target, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(opts.timeoutMs) });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        throw new Error(`POST ${shown}: ${cause ?? (err as Error).message}`);
      }
      // the answer's body is not needed; read it so the connection is reused
      const text = await res.text().catch(() => '');
      if (res.status < 200 || res.status > 299) throw new Error(`POST ${shown}: HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ''}`);
    },
  };
}

/** `<prefix>.<event type>`, with characters a subject token may not hold replaced. */
export function subjectOf(prefix: string, eventType: string): string {
  return `${prefix}.${eventType.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/**
 * NATS JetStream: publish to `<prefix>.<event type>` with msgID = event id; the stream (created on
 * `<prefix>.>` when missing) drops a second publish of the same id within its duplicate window.
 */
export function natsSink(opts: { url: string; stream: string; subjectPrefix: string }): Sink & { lastAck?: { seq: number; duplicate: boolean } } {
  let conn: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  const open = async () => {
    const nc = await connect({ servers: opts.url, name: 'openboss-relay', timeout: 5000 });
    try {
      const jsm = await jetstreamManager(nc);
      try {
        await jsm.streams.info(opts.stream);
      } catch {
        await jsm.streams.add({ name: opts.stream, subjects: [`${opts.subjectPrefix}.>`] });
      }
      return { nc, js: jetstream(nc) };
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  };
  const sink: Sink & { lastAck?: { seq: number; duplicate: boolean } } = {
    name: 'nats',
    typePrefix: '',
    async deliver(e) {
      conn ??= open();
      let c: { nc: NatsConnection; js: JetStreamClient };
      try {
        c = await conn;
      } catch (err) {
        conn = undefined;
        throw new Error(`NATS ${opts.url}: ${(err as Error).message}`);
      }
      if (c.nc.isClosed()) {
        conn = undefined;
        throw new Error(`NATS ${opts.url}: connection closed`);
      }
      const ack = await c.js.publish(subjectOf(opts.subjectPrefix, e.type), eventBody(e), { msgID: String(e.eventId), timeout: 5000 });
      sink.lastAck = { seq: ack.seq, duplicate: ack.duplicate };
    },
    async close() {
      const c = conn;
      conn = undefined;
      if (!c) return;
      const open = await c.catch(() => undefined);
      if (open && !open.nc.isClosed()) await open.nc.drain().catch(() => undefined);
    },
  };
  return sink;
}

/** An SMS as the notification adapter takes it (src/platform/notifications.ts, R-INT-3). */
export interface NotificationMessage {
  eventId: number;
  to: string;
  templateCode: string;
  text: string;
}

/** The part of the notification adapter the relay uses. */
export interface NotificationSender {
  send(m: NotificationMessage): Promise<{ messageId: string }>;
}

/**
 * R-INT-3: `notification.*` events (credit control's `notification.sms`: to, templateCode, params,
 * text) go to the notification adapter with the event id, which the adapter keeps as its dedupe key.
 */
export function notificationSink(sender: () => NotificationSender | undefined): Sink {
  return {
    name: 'notifications',
    typePrefix: 'notification.',
    async deliver(e) {
      const p = (e.payload ?? {}) as { to?: unknown; templateCode?: unknown; text?: unknown };
      if (typeof p.to !== 'string' || p.to === '' || typeof p.templateCode !== 'string' || typeof p.text !== 'string') {
        throw new PermanentDeliveryError(`${e.type} #${e.eventId}: the payload needs to, templateCode and text`);
      }
      const s = sender();
      if (!s) throw new Error('no notification adapter');
      await s.send({ eventId: e.eventId, to: p.to, templateCode: p.templateCode, text: p.text });
    },
  };
}
