// R-INT-1 outbox relay: delivers every `outbox` row at least once to each configured sink (webhook,
// NATS JetStream, the notification adapter for `notification.*`). A pass:
//   1. fan-out: an unpublished event without delivery rows gets one per sink that takes its type
//      (none takes it: it is published at once);
//   2. claim: due pending rows, oldest first, FOR UPDATE SKIP LOCKED, leased by moving their
//      next_attempt_at past the send — another relay process skips them (an event still waits while
//      an earlier event of its aggregate is pending for that sink and not due: order per aggregate);
//   3. send, per sink in event order (sinks side by side);
//   4. mark: delivered, or failed with exponential backoff — dead after maxAttempts tries;
//      `outbox.published_at` is set once every sink of the event has it.
// A crash between 3 and 4 sends the event again after the lease: consumers dedupe by event id.
import type { Logger } from 'pino';
import { sql } from 'kysely';
import type { Clock } from './clock.ts';
import type { RelayConfig } from './config.ts';
import type { Db } from './db.ts';
import type { Jobs } from './jobs.ts';
import { natsSink, type NotificationSender, notificationSink, PermanentDeliveryError, type RelayEvent, type Sink, webhookSink } from './relay-sinks.ts';
import * as admin from './relay-admin.ts';
import type { Actor } from './audit.ts';

export const RELAY_JOB = 'outbox-relay';
/** A sink's batch stops after this many failures in a row (a sink that is down costs few timeouts). */
const FAILURES_BEFORE_PAUSE = 3;
/** Passes of one `drain` at most (the job and `openboss outbox relay` catch up in one run). */
const DRAIN_PASSES = 1000;

export interface PassResult {
  /** Delivery rows created for new events. */
  fannedOut: number;
  /** Events no sink takes, published at once. */
  skipped: number;
  claimed: number;
  delivered: number;
  failed: number;
  dead: number;
  /** Events whose every sink has them now. */
  published: number;
}

const ZERO: PassResult = { fannedOut: 0, skipped: 0, claimed: 0, delivered: 0, failed: 0, dead: 0, published: 0 };

/** Delay before try `attempts + 1` after `attempts` failed tries: base·2^(attempts−1), capped. */
export function backoffSeconds(attempts: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

type Outcome =
  | { event_id: number; sink: string; kind: 'delivered' }
  | { event_id: number; sink: string; kind: 'failed'; attempts: number; error: string; permanent: boolean }
  /** not tried in this pass (an earlier event of its aggregate failed, or the sink paused) */
  | { event_id: number; sink: string; kind: 'released' };

interface Claimed {
  event_id: number;
  sink: string;
  attempts: number;
  event_type: string;
  aggregate_type: string;
  aggregate_id: string;
  account_id: number | null;
  payload: unknown;
  occurred_at: Date | string;
}

export interface RelayDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  config: RelayConfig;
  /** The sinks; by default those of the configuration plus the notification adapter. */
  sinks?: Sink[];
  /** The notification adapter (R-INT-3), looked up when a `notification.*` event is sent. */
  notifications?: () => NotificationSender | undefined;
  /** How long a claimed delivery is not claimed again (seconds; default 300). */
  leaseSeconds?: number;
  /** Tests: called after a send, before the mark; throwing simulates a crash of the process there. */
  afterSend?: (e: RelayEvent, sink: string) => void;
}

/** The sinks the configuration names, plus the notification adapter. */
export function configuredSinks(config: RelayConfig, notifications?: () => NotificationSender | undefined): Sink[] {
  const sinks: Sink[] = config.webhookUrls.map((url, i) => webhookSink(i === 0 ? 'webhook' : `webhook${i + 1}`, url, { secret: config.webhookSecret, timeoutMs: config.webhookTimeoutMs }));
  if (config.natsUrl) sinks.push(natsSink({ url: config.natsUrl, stream: config.natsStream, subjectPrefix: config.natsSubjectPrefix }));
  if (notifications) sinks.push(notificationSink(notifications));
  return sinks;
}

/** Events a pass fans out (or publishes at once when no sink takes them) at most. */
export function fanOutLimit(config: Pick<RelayConfig, 'batchSize'>): number {
  return Math.max(config.batchSize, 500);
}

/**
 * The loop's next pass comes at once (not after its interval) when this one found more than it could take:
 * a full claim that delivered something (a sink that fails backs off instead), or a full fan-out. Without the
 * second, a backlog of events that no sink takes was published 500 per interval (250 a second), slower than
 * the front desk makes them.
 */
export function passAgainSoon(r: PassResult, config: Pick<RelayConfig, 'batchSize'>): boolean {
  return (r.claimed >= config.batchSize && r.delivered > 0) || r.fannedOut + r.skipped >= fanOutLimit(config);
}

export class Relay {
  private readonly deps: RelayDeps;
  readonly sinks: Sink[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** after stop(): no more passes (a job still queued must not reopen a sink's connection) */
  private closed = false;

  constructor(deps: RelayDeps) {
    this.deps = deps;
    this.sinks = deps.sinks ?? configuredSinks(deps.config, deps.notifications);
    const names = new Set(this.sinks.map((s) => s.name));
    if (names.size !== this.sinks.length) throw new Error('relay sinks need distinct names');
  }

  /** The `outbox-relay` job: every minute, catching up on everything due. */
  registerJobs(jobs: Jobs): void {
    jobs.register(RELAY_JOB, () => this.drain(), { zh: '投递事件到 Webhook、NATS 与短信适配器（至少一次）', en: 'Deliver outbox events to webhooks, NATS and the SMS adapter (at least once)' });
    jobs.schedule(RELAY_JOB, '* * * * *');
  }

  /** Passes until nothing is due (a failing sink backs off, so this ends). */
  async drain(): Promise<PassResult> {
    const total = { ...ZERO };
    for (let i = 0; i < DRAIN_PASSES; i++) {
      const r = await this.runOnce();
      for (const k of Object.keys(total) as (keyof PassResult)[]) total[k] += r[k];
      // stop when nothing moved (a sink that fails backs off; the next run tries again)
      if (r.delivered === 0 && r.fannedOut === 0 && r.skipped === 0 && r.dead === 0) break;
    }
    return total;
  }

  /** One pass: fan out, claim, send, mark. */
  async runOnce(): Promise<PassResult> {
    if (this.sinks.length === 0 || this.closed) return { ...ZERO };
    const { db, clock, config } = this.deps;
    const now = clock.now();
    const result = { ...ZERO, ...(await this.fanOut(now)) };

    const lease = new Date(now.getTime() + (this.deps.leaseSeconds ?? 300) * 1000);
    const sinkNames = JSON.stringify(this.sinks.map((s) => s.name));
    const claimed = (
      await sql<Claimed>`
        WITH due AS (
          SELECT d.event_id, d.sink FROM outbox_deliveries d
          WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}
            AND d.sink IN (SELECT jsonb_array_elements_text(${sinkNames}::jsonb))
            AND NOT EXISTS (
              SELECT 1 FROM outbox_deliveries p
              WHERE p.sink = d.sink AND p.status = 'pending' AND p.aggregate_type = d.aggregate_type AND p.aggregate_id = d.aggregate_id
                AND p.event_id < d.event_id AND p.next_attempt_at > ${now})
          ORDER BY d.event_id
          LIMIT ${config.batchSize}
          FOR UPDATE OF d SKIP LOCKED
        )
        UPDATE outbox_deliveries d SET next_attempt_at = ${lease}
        FROM due, outbox o
        WHERE d.event_id = due.event_id AND d.sink = due.sink AND o.event_id = d.event_id
        RETURNING d.event_id, d.sink, d.attempts, o.event_type, o.aggregate_type, o.aggregate_id, o.account_id, o.payload, o.occurred_at`.execute(db)
    ).rows;
    result.claimed = claimed.length;
    if (claimed.length === 0) return result;

    const bySink = new Map<string, Claimed[]>();
    for (const c of claimed) bySink.set(c.sink, [...(bySink.get(c.sink) ?? []), c]);
    const settled = await Promise.allSettled([...bySink].map(([name, rows]) => this.sendAll(this.sinks.find((s) => s.name === name) as Sink, rows.sort((a, b) => a.event_id - b.event_id))));
    const crash = settled.find((s) => s.status === 'rejected');
    // a crash between send and mark: nothing is marked, the leases run out, the events go again
    if (crash) throw (crash as PromiseRejectedResult).reason;
    const outcomes = settled.flatMap((s) => (s as PromiseFulfilledResult<Outcome[]>).value);
    Object.assign(result, await this.mark(outcomes, claimed.map((c) => c.event_id)));
    return result;
  }

  private async fanOut(now: Date): Promise<{ fannedOut: number; skipped: number }> {
    const sinks = JSON.stringify(this.sinks.map((s) => ({ sink: s.name, prefix: s.typePrefix })));
    const r = await sql<{ inserted: number; skipped: number }>`
      WITH ev AS (
        SELECT o.event_id, o.event_type, o.aggregate_type, o.aggregate_id FROM outbox o
        WHERE o.published_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = o.event_id)
        ORDER BY o.event_id
        LIMIT ${fanOutLimit(this.deps.config)}
        FOR UPDATE OF o SKIP LOCKED
      ),
      s AS (SELECT * FROM jsonb_to_recordset(${sinks}::jsonb) AS t(sink text, prefix text)),
      ins AS (
        INSERT INTO outbox_deliveries (event_id, sink, aggregate_type, aggregate_id, next_attempt_at)
        SELECT ev.event_id, s.sink, ev.aggregate_type, ev.aggregate_id, ${now}::timestamptz
        FROM ev JOIN s ON left(ev.event_type, length(s.prefix)) = s.prefix
        ON CONFLICT DO NOTHING
        RETURNING event_id
      ),
      -- by key, event by event (as an IN … NOT IN it was planned as a scan of the whole outbox every pass)
      pub AS (
        UPDATE outbox o SET published_at = ${now}
          FROM ev WHERE o.event_id = ev.event_id AND NOT EXISTS (SELECT 1 FROM ins WHERE ins.event_id = ev.event_id)
        RETURNING o.event_id
      )
      SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM pub)::int AS skipped`.execute(this.deps.db);
    const row = r.rows[0] ?? { inserted: 0, skipped: 0 };
    return { fannedOut: Number(row.inserted), skipped: Number(row.skipped) };
  }

  /** One sink's claimed rows in event order; a failure holds back the later events of its aggregate. */
  private async sendAll(sink: Sink, rows: Claimed[]): Promise<Outcome[]> {
    const out: Outcome[] = [];
    const blocked = new Set<string>();
    let failuresInRow = 0;
    for (const c of rows) {
      const key = `${c.aggregate_type}\u0000${c.aggregate_id}`;
      if (blocked.has(key) || failuresInRow >= FAILURES_BEFORE_PAUSE) {
        out.push({ event_id: c.event_id, sink: c.sink, kind: 'released' });
        continue;
      }
      const e: RelayEvent = {
        eventId: c.event_id,
        type: c.event_type,
        aggregateType: c.aggregate_type,
        aggregateId: c.aggregate_id,
        accountId: c.account_id,
        payload: c.payload,
        occurredAt: new Date(c.occurred_at).toISOString(),
        attempt: c.attempts + 1,
      };
      try {
        await sink.deliver(e);
      } catch (err) {
        failuresInRow++;
        blocked.add(key);
        const message = err instanceof Error ? err.message : String(err);
        this.deps.log.warn({ eventId: c.event_id, sink: sink.name, attempt: e.attempt, err: message }, 'outbox delivery failed');
        out.push({ event_id: c.event_id, sink: c.sink, kind: 'failed', attempts: e.attempt, error: message.slice(0, 1000), permanent: err instanceof PermanentDeliveryError });
        continue;
      }
      this.deps.afterSend?.(e, sink.name);
      failuresInRow = 0;
      out.push({ event_id: c.event_id, sink: c.sink, kind: 'delivered' });
    }
    return out;
  }

  private async mark(outcomes: Outcome[], eventIds: number[]): Promise<Pick<PassResult, 'delivered' | 'failed' | 'dead' | 'published'>> {
    const { db, clock, config } = this.deps;
    const now = clock.now();
    let delivered = 0;
    let failed = 0;
    let dead = 0;
    const rows = outcomes.map((o) => {
      if (o.kind === 'delivered') {
        delivered++;
        return { event_id: o.event_id, sink: o.sink, status: 'delivered', counted: 1, next_at: now.toISOString(), error: null, delivered_at: now.toISOString() };
      }
      if (o.kind === 'released') return { event_id: o.event_id, sink: o.sink, status: 'pending', counted: 0, next_at: now.toISOString(), error: null, delivered_at: null };
      const isDead = o.permanent || o.attempts >= config.maxAttempts;
      if (isDead) dead++;
      else failed++;
      const next = new Date(now.getTime() + backoffSeconds(o.attempts, config.backoffSeconds, config.backoffMaxSeconds) * 1000);
      return { event_id: o.event_id, sink: o.sink, status: isDead ? 'dead' : 'pending', counted: 1, next_at: next.toISOString(), error: o.error, delivered_at: null };
    });
    await sql`
        UPDATE outbox_deliveries d SET
          status = r.status,
          attempts = d.attempts + r.counted,
          next_attempt_at = r.next_at,
          last_attempt_at = CASE WHEN r.counted = 1 THEN ${now}::timestamptz ELSE d.last_attempt_at END,
          last_error = coalesce(r.error, d.last_error),
          delivered_at = r.delivered_at
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(event_id bigint, sink text, status text, counted int, next_at timestamptz, error text, delivered_at timestamptz)
        WHERE d.event_id = r.event_id AND d.sink = r.sink AND d.status = 'pending'`.execute(db);
    const published = await sql`
      UPDATE outbox o SET published_at = ${now}
      WHERE o.event_id IN (SELECT (jsonb_array_elements_text(${JSON.stringify([...new Set(eventIds)])}::jsonb))::bigint)
        AND o.published_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = o.event_id AND d.status <> 'delivered')`.execute(db);
    return { delivered, failed, dead, published: Number(published.numAffectedRows ?? 0) };
  }

  /** The loop inside `serve`: a pass every intervalMs (sooner while there is more to do). */
  start(intervalMs = this.deps.config.intervalMs): void {
    if (intervalMs <= 0 || !this.stopped || this.closed) return;
    this.stopped = false;
    const tick = async () => {
      this.timer = undefined;
      let busy = false;
      try {
        this.running = this.runOnce();
        const r = (await this.running) as PassResult;
        busy = passAgainSoon(r, this.deps.config);
      } catch (err) {
        this.deps.log.error({ err }, 'outbox relay pass failed');
      } finally {
        this.running = undefined;
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), busy ? 10 : intervalMs);
    };
    this.timer = setTimeout(() => void tick(), intervalMs);
  }

  /** Stops the loop, waits for a pass in flight, closes the sinks' connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    for (const s of this.sinks) await s.close?.().catch(() => undefined);
  }

  // the operator API (事件投递)
  list(q: admin.ListQuery) {
    return admin.listEvents(this.deps.db, q);
  }
  event(eventId: number) {
    return admin.eventDetail(this.deps.db, eventId);
  }
  deadLetters(q: admin.DeadQuery) {
    return admin.deadLetters(this.deps.db, q);
  }
  stats() {
    return admin.stats(this.deps.db, this.deps.clock.now(), this.sinks.map((s) => s.name));
  }
  retry(actor: Actor, eventId: number, sink?: string) {
    return admin.retry(this.deps.db, this.deps.clock, actor, eventId, sink);
  }
  retryDead(actor: Actor, q: admin.RetryAllQuery) {
    return admin.retryDead(this.deps.db, this.deps.clock, actor, q);
  }
}
