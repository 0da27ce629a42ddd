// 事件投递 (R-INT-1): the outbox relay's events with their state per sink, dead letters, figures per
// sink, and the retry of a dead letter. One public API call each (STYLE: pages → services); the
// views are open objects in the OpenAPI document, so their shapes are written down here from the
// API contract (docs: src/domains/integration/routes.ts).
import { call, client } from './api.ts';

export type EventStatus = 'pending' | 'delivered' | 'dead';

export interface Delivery {
  sink: string;
  status: EventStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface OutboxEvent {
  eventId: number;
  type: string;
  aggregateType: string;
  aggregateId: string;
  accountId: number | null;
  occurredAt: string;
  publishedAt: string | null;
  status: EventStatus;
  deliveries: Delivery[];
  payload?: unknown;
}

export interface SinkStats {
  sink: string;
  configured: boolean;
  pending: number;
  delivered: number;
  dead: number;
  oldestPendingAt: string | null;
  oldestPendingAgeSeconds: number | null;
}

export interface RelayStats {
  now: string;
  sinks: SinkStats[];
  waiting: { events: number; oldestAt: string | null; oldestAgeSeconds: number | null };
}

export interface Page<T> {
  items: T[];
  next: number | null;
}

export const events = (query: { status?: EventStatus; type?: string; before?: number; limit?: number }) =>
  call(client.GET('/api/v1/outbox', { params: { query: { limit: 50, ...query } as never } })) as Promise<unknown> as Promise<Page<OutboxEvent>>;

export const event = (eventId: number) => call(client.GET('/api/v1/outbox/{eventId}', { params: { path: { eventId } } })) as Promise<unknown> as Promise<OutboxEvent>;

export const stats = () => call(client.GET('/api/v1/outbox/stats')) as Promise<unknown> as Promise<RelayStats>;

export const retry = (eventId: number) => call(client.POST('/api/v1/outbox/{eventId}/retry', { params: { path: { eventId } }, body: {} as never })) as Promise<unknown> as Promise<OutboxEvent>;

/** Every dead letter of a type (or all), oldest first, up to 1000 per call. */
export const retryAll = (body: { type?: string; sink?: string }) =>
  call(client.POST('/api/v1/outbox/dead-letters/retry', { body: body as never })) as Promise<unknown> as Promise<{ retried: number; eventIds: number[]; more: boolean }>;
