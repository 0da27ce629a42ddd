-- R-INT-1 outbox relay: one delivery row per event and configured sink (webhook, NATS JetStream, the
-- notification adapter). A relay claims due rows with FOR UPDATE SKIP LOCKED and a lease (the row's
-- next_attempt_at moves past the send), so two relay processes do not send the same row in the
-- common case; a crash between send and mark sends again after the lease (at-least-once: consumers
-- dedupe by event_id).
CREATE TABLE outbox_deliveries (
  event_id        bigint NOT NULL REFERENCES outbox (event_id),
  sink            text NOT NULL CHECK (sink ~ '^[a-z][a-z0-9-]{0,31}$'),
  -- copied from the event: per-aggregate order is kept per sink without touching the outbox's indexes
  aggregate_type  text NOT NULL,
  aggregate_id    text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL,
  last_attempt_at timestamptz,
  last_error      text,
  delivered_at    timestamptz,
  PRIMARY KEY (event_id, sink)
);
-- due rows in event order, and the earlier pending event of the same aggregate
CREATE INDEX outbox_deliveries_due_idx ON outbox_deliveries (sink, next_attempt_at, event_id) WHERE status = 'pending';
CREATE INDEX outbox_deliveries_aggregate_idx ON outbox_deliveries (sink, aggregate_type, aggregate_id, event_id) WHERE status = 'pending';
CREATE INDEX outbox_deliveries_dead_idx ON outbox_deliveries (event_id) WHERE status = 'dead';

-- the operator screen 事件投递: auditors look, administrators (`*`) retry dead letters
UPDATE roles SET permissions = permissions || '{outbox.read}'::text[] WHERE role_code = 'auditor';
