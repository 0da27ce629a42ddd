// Notifications (R-INT-3): SMS to customers through one adapter interface, with a built-in simulator
// for tests, the demo and the training sandbox. Texts come from templates (`notification_templates`,
// zh with {placeholders}); a service renders the text when it decides to notify and stores a
// `notification.sms` outbox event in its transaction (R-INT-1); the outbox relay delivers the event
// to the adapter (`send`) at least once, so the adapter keys on `eventId`.
//
// The real protocol is SMPP (v3.4 submit_sm to the carrier's SMSC): an `SmppSms` adapter implements
// this interface (bind as transmitter, UCS-2 data_coding for Chinese, long messages as concatenated
// parts, message_id from submit_sm_resp). It is not implemented yet; the simulator ships.
import type { Clock } from './clock.ts';
import type { Q } from './db.ts';
import { DomainError } from './errors.ts';

export interface SmsMessage {
  /** the outbox event that asked for it (the idempotency key of a delivery) */
  eventId: number | string;
  /** the receiving number */
  to: string;
  templateCode: string;
  text: string;
}

export interface NotificationReceipt {
  messageId: string;
}

export interface NotificationAdapter {
  /** 'simulator', or the real adapter's name (e.g. 'smpp') */
  readonly name: string;
  send(m: SmsMessage): Promise<NotificationReceipt>;
}

export interface SentSms extends SmsMessage {
  messageId: string;
  at: string;
}

/**
 * Keeps the messages it was given in memory (the last `keep`), answers at once and sends each event
 * once: a redelivery of the same eventId gets the first message's id back.
 */
export class SimulatedSms implements NotificationAdapter {
  readonly name = 'simulator';
  private readonly clock: Clock | undefined;
  private readonly keep: number;
  private readonly log: SentSms[] = [];
  private readonly byEvent = new Map<string, string>();
  private seq = 0;

  constructor(opts: { clock?: Clock | undefined; keep?: number | undefined } = {}) {
    this.clock = opts.clock;
    this.keep = opts.keep ?? 1000;
  }

  send(m: SmsMessage): Promise<NotificationReceipt> {
    const key = String(m.eventId);
    const known = this.byEvent.get(key);
    if (known) return Promise.resolve({ messageId: known });
    const messageId = `SMS-${++this.seq}`;
    this.byEvent.set(key, messageId);
    this.log.push({ ...m, messageId, at: (this.clock?.now() ?? new Date()).toISOString() });
    if (this.log.length > this.keep) this.log.splice(0, this.log.length - this.keep);
    return Promise.resolve({ messageId });
  }

  /** Messages sent so far, oldest first; with `to`, only those to that number. */
  sent(to?: string): SentSms[] {
    return this.log.filter((m) => to === undefined || m.to === to);
  }
}

/** Fills a template's {placeholders}; a placeholder without a value stays visible (never an empty gap). */
export function renderTemplate(text: string, params: Record<string, string | number>): string {
  return text.replace(/\{([^{}]+)\}/g, (whole, name: string) => (params[name] === undefined ? whole : String(params[name])));
}

/** The template's text, rendered; an unknown template is a configuration error of the carrier. */
export async function renderSms(q: Q, templateCode: string, params: Record<string, string | number>): Promise<string> {
  return (await smsRenderer(q, [templateCode]))(templateCode, params);
}

/** renderSms for many messages: the templates read once, then rendered in memory (same errors). */
export async function smsRenderer(q: Q, templateCodes: readonly string[]): Promise<(templateCode: string, params: Record<string, string | number>) => string> {
  const rows = templateCodes.length === 0 ? [] : await q.selectFrom('notification_templates').select(['template_code', 'text_zh']).where('template_code', 'in', [...templateCodes]).execute();
  const texts = new Map(rows.map((r) => [r.template_code, r.text_zh]));
  return (templateCode, params) => {
    const t = texts.get(templateCode);
    if (t === undefined) throw new DomainError('UNKNOWN_TEMPLATE', `短信模板不存在：${templateCode}`, `No such notification template: ${templateCode}`, 500, { templateCode });
    return renderTemplate(t, params);
  };
}

/** Fen as yuan with two decimals for a message (display only; no rounding happens). */
export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const a = Math.abs(fen);
  return `${sign}${Math.trunc(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}
