// R-INT-1 the relay's NATS JetStream sink on a real server (runs when NATS_URL is set, e.g.
// nats://127.0.0.1:4222): events arrive on `<prefix>.<event type>` with the event id as the
// message id; a second publish of the same event (a crash between send and mark) is dropped by the
// stream's duplicate window. Each run has its own stream and subject prefix.
import { randomBytes } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/platform/config.ts';
import { emit } from '../src/platform/outbox.ts';
import { Relay } from '../src/platform/relay.ts';
import { natsSink } from '../src/platform/relay-sinks.ts';
import { onPostgres, testEnv, type TestEnv } from './helpers.ts';

const NATS_URL = process.env.NATS_URL;
const run = randomBytes(4).toString('hex');
const STREAM = `OPENBOSS_TEST_${run}`;
const PREFIX = `openboss_test_${run}`;

describe.runIf(NATS_URL)(`NATS JetStream at ${NATS_URL ?? '(NATS_URL unset)'}`, () => {
  let env: TestEnv;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const db = () => env.ctx.database.db;
  beforeAll(async () => {
    env = await testEnv();
    nc = await connect({ servers: NATS_URL });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await jsm?.streams.delete(STREAM).catch(() => undefined);
    await nc?.close();
    await env?.close();
  });

  async function event(type: string, aggregateId: number): Promise<number> {
    await emit(db(), env.clock, { type, aggregateType: 'payment', aggregateId, payload: { paymentId: aggregateId } });
    return Number((await db().selectFrom('outbox').select('event_id').orderBy('event_id', 'desc').limit(1).executeTakeFirstOrThrow()).event_id);
  }

  async function messages() {
    const info = await jsm.streams.info(STREAM);
    const out: { subject: string; msgId: string | undefined; eventId: number }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(STREAM, { seq });
      if (m) out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), eventId: m.json<{ eventId: number }>().eventId });
    }
    return out;
  }

  test(`R-INT-1 events reach the stream with the event id as msgID; a re-sent event is deduplicated (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, async () => {
    await sql`UPDATE outbox SET published_at = ${env.clock.now()} WHERE published_at IS NULL`.execute(db());
    const sink = natsSink({ url: NATS_URL as string, stream: STREAM, subjectPrefix: PREFIX });
    let crash = false;
    const relay = new Relay({
      db: db(),
      clock: env.clock,
      log: pino({ level: 'silent' }),
      config: loadConfig({}).relay,
      sinks: [sink],
      leaseSeconds: 60,
      afterSend: () => {
        if (crash) throw new Error('killed after publish');
      },
    });
    try {
      const a = await event('payment.created', 1);
      const b = await event('payment.reversed', 2);
      expect(await relay.runOnce()).toMatchObject({ claimed: 2, delivered: 2, published: 2 });
      // the relay created the stream on `<prefix>.>`
      expect((await jsm.streams.info(STREAM)).config.subjects).toEqual([`${PREFIX}.>`]);
      expect(await messages()).toEqual([
        { subject: `${PREFIX}.payment.created`, msgId: String(a), eventId: a },
        { subject: `${PREFIX}.payment.reversed`, msgId: String(b), eventId: b },
      ]);

      // published, then the process dies before marking: after the lease it is published again …
      const c = await event('payment.created', 3);
      crash = true;
      await expect(relay.runOnce()).rejects.toThrow('killed after publish');
      expect(sink.lastAck).toMatchObject({ duplicate: false });
      crash = false;
      env.clock.advance(60_000);
      expect(await relay.runOnce()).toMatchObject({ claimed: 1, delivered: 1 });
      // … and the stream keeps one message for it
      expect(sink.lastAck).toMatchObject({ duplicate: true });
      expect((await messages()).map((m) => m.eventId)).toEqual([a, b, c]);
    } finally {
      await relay.stop();
    }
  });

  test('R-INT-1 a NATS server that does not answer: the delivery stays pending with the error, retried later', async () => {
    await sql`UPDATE outbox SET published_at = ${env.clock.now()} WHERE published_at IS NULL`.execute(db());
    const relay = new Relay({ db: db(), clock: env.clock, log: pino({ level: 'silent' }), config: loadConfig({}).relay, sinks: [natsSink({ url: 'nats://127.0.0.1:1', stream: STREAM, subjectPrefix: PREFIX })] });
    try {
      const a = await event('payment.created', 4);
      expect(await relay.runOnce()).toMatchObject({ claimed: 1, failed: 1 });
      const d = await db().selectFrom('outbox_deliveries').selectAll().where('event_id', '=', a).executeTakeFirstOrThrow();
      expect(d).toMatchObject({ sink: 'nats', status: 'pending', attempts: 1 });
      expect(d.last_error).toMatch(/^NATS nats:\/\/127\.0\.0\.1:1: /);
    } finally {
      await relay.stop();
    }
  });
});
