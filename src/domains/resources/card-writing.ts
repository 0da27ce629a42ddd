// On-site card writing (现场写卡, SPEC §10, seed 003): an agent operator opening an account writes a
// picked blank card with its card data. Each attempt is a card_writes row issued with a script built
// from the card data (IMSI + Ki, unsealed from storage and sealed again for the reader; never logged,
// never stored) and always closed by the reported result (R-X-11). R-RES-4: only the channel that
// picked the card may write it. R-RES-5: a failed write leaves the card and the number free for a retry.
// R-X-10: the number is held for the order while the card is written (12 h card-writing hold).
import { type Actor, can } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Db, Q, Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import { recordChange } from '../../platform/outbox.ts';
import type { SecretBox } from '../../platform/secrets.ts';
import { orderRepo } from '../orders/repo.ts';
import { recordCardEvents } from './card-events.ts';
import { CARD_READER_MESSAGES, type CardScriptHeader, isCardReaderErrorCode } from './card-reader.ts';
import { type CardForWrite, type CardWriteRow, cardWriteRepo } from './card-writing-repo.ts';
import { resourceRepo } from './repo.ts';
import { reservationIsFor } from './rules.ts';
import type { ResourceService } from './service.ts';
import { cardView } from './stock-service.ts';
import { maskImsi } from './stock-rules.ts';

const ORDER = { zh: '受理单', en: 'Order' };
const CARD_WRITE = { zh: '写卡记录', en: 'Card write' };
const WRITABLE_ORDER_STATES = ['draft', 'checked'];
const MOBILE = ['gsm2g', 'wcdma3g'];
const HOUR_MS = 3600_000;

/** R-RES-5 "请更换白卡！": a finished card, or a blank card already written. */
export const cardNotBlank = (iccid: string, reason: 'finished' | 'written') =>
  new DomainError('CARD_NOT_BLANK', CARD_READER_MESSAGES.CARD_NOT_BLANK.zh, CARD_READER_MESSAGES.CARD_NOT_BLANK.en, 409, { iccid, reason });

/** R-RES-5: no IMSI/Ki card data for the card. */
export const cardDataMissing = (iccid: string) =>
  new DomainError('CARD_DATA_MISSING', CARD_READER_MESSAGES.SCRIPT_MISSING.zh, CARD_READER_MESSAGES.SCRIPT_MISSING.en, 422, { iccid });

/** R-RES-4: the operator's department must be the one that picked the card. */
export const cardDepartmentMismatch = (iccid: string, pickedBy: string | null, departmentId: string | null) =>
  new DomainError(
    'CARD_DEPARTMENT_MISMATCH',
    pickedBy ? `该白卡由其他渠道（${pickedBy}）领用，本工号所属部门不能使用：${iccid}` : `该白卡未领用到本渠道，不能写卡：${iccid}`,
    pickedBy ? `The blank card was picked by another channel (${pickedBy}); this operator's department cannot use it: ${iccid}` : `The blank card was not picked for this channel: ${iccid}`,
    403,
    { iccid, pickedByDepartmentId: pickedBy, departmentId },
  );

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function errorMessage(code: string | null, stored: string | null): { zh: string; en: string } | null {
  if (code === null && stored === null) return null;
  if (code !== null && isCardReaderErrorCode(code)) return CARD_READER_MESSAGES[code];
  return { zh: stored ?? `写卡失败（${code}）`, en: `The card write failed (${code ?? 'unknown'})` };
}

function writeView(w: CardWriteRow, holdHours: number, actor: Actor) {
  return {
    writeId: w.write_id,
    orderId: w.order_id,
    iccid: w.iccid,
    serviceNumber: w.service_number,
    imsi: maskImsi(w.imsi, can(actor, 'stock.all')),
    state: w.state,
    errorCode: w.error_code,
    errorMessage: errorMessage(w.error_code, w.error_message),
    operatorId: w.operator_id,
    departmentId: w.department_id,
    issuedAt: w.issued_at.toISOString(),
    expiresAt: new Date(w.issued_at.getTime() + holdHours * HOUR_MS).toISOString(),
    reportedAt: iso(w.reported_at),
  };
}

/**
 * The write script: a clear header naming the write and the card (so the reader can refuse a script
 * for another card) and the card data sealed with the transport key.
 */
function buildScript(transport: SecretBox, writeId: number, iccid: string, data: { imsi: string; ki: Buffer; opc: Buffer | null }): string {
  const plain = Buffer.from(JSON.stringify({ iccid, imsi: data.imsi, ki: data.ki.toString('hex'), opc: data.opc?.toString('hex') ?? null }));
  try {
    const sealed = transport.seal(plain);
    const header: CardScriptHeader & { sealed: string } = { v: 1, writeId, iccid, keyId: transport.keyId, sealed: sealed.toString('base64') };
    return Buffer.from(JSON.stringify(header)).toString('base64');
  } finally {
    plain.fill(0);
    data.ki.fill(0);
    data.opc?.fill(0);
  }
}

/** What a reader holding the transport key finds in a script (tests, a real reader bridge). */
export function openCardScript(transport: SecretBox, script: string): { iccid: string; imsi: string; ki: string; opc: string | null; writeId: number } {
  const header = JSON.parse(Buffer.from(script, 'base64').toString('utf8')) as { writeId: number; sealed: string };
  const body = JSON.parse(transport.open(Buffer.from(header.sealed, 'base64')).toString('utf8')) as { iccid: string; imsi: string; ki: string; opc: string | null };
  return { ...body, writeId: header.writeId };
}

interface OrderMember {
  role?: string;
  network?: string;
  serviceNumber?: string;
  iccid?: string;
}

export interface WriteResult {
  success: boolean;
  errorCode?: string | undefined;
}

export class CardWritingService {
  private readonly deps: { db: Db; clock: Clock; resources: ResourceService; kiBox: SecretBox; transport: SecretBox };
  constructor(deps: { db: Db; clock: Clock; resources: ResourceService; kiBox: SecretBox; transport: SecretBox }) {
    this.deps = deps;
  }

  private async holdHours(q: Q): Promise<number> {
    return (await this.deps.resources.policy(q)).holdHours.card_writing;
  }

  /** POST /orders/{id}/card-writes: checks the order, the card and its data, holds the number and issues the script. */
  async issue(actor: Actor, orderId: number, iccid: string) {
    if (!actor.operatorId || !actor.departmentId) throw new DomainError('OPERATOR_REQUIRED', '写卡须由营业员工号办理', 'Card writing is done by an operator', 403);
    const operatorId = actor.operatorId;
    const departmentId = actor.departmentId;
    return this.deps.db.transaction().execute(async (tx) => {
      const now = this.deps.clock.now();
      const order = await orderRepo.lock(tx, orderId);
      if (!order || !(order.department_id === actor.departmentId || can(actor, 'order.read_any'))) throw notFound(ORDER, orderId);
      if (order.business_type !== 'OPEN_ACCOUNT' || !WRITABLE_ORDER_STATES.includes(order.status)) {
        throw new DomainError(
          'ORDER_STATE',
          `受理单（${order.business_type}，${order.status}）不能写卡：须为校验通过前的新开户受理单`,
          `Order (${order.business_type}, ${order.status}) cannot take a card write: it must be an open-account order before quoting`,
          409,
          { status: order.status, businessType: order.business_type },
        );
      }
      const members = ((order.input as { members?: OrderMember[] } | null)?.members ?? []) as OrderMember[];
      const member = members.find((m) => m.iccid === iccid);
      if (!member || !member.serviceNumber || !MOBILE.includes(member.network ?? '')) {
        throw new DomainError('CARD_NOT_IN_ORDER', `受理单中没有使用该卡的手机用户：${iccid}`, `No mobile subscriber of the order uses this card: ${iccid}`, 422, { iccid });
      }
      const serviceNumber = member.serviceNumber;
      const card = await cardWriteRepo.lockCard(tx, iccid);
      this.assertWritable(card, iccid, actor);
      const c = card as CardForWrite;
      // the number is held for this order for the card-writing hold (R-X-10); a hold the order or its
      // operator already has is renewed as a card-writing hold
      const n = await resourceRepo.numberWithLevel(tx, serviceNumber);
      const live = n?.state === 'reserved' && n.reserved_until !== null && n.reserved_until > now;
      const ours =
        live &&
        reservationIsFor(
          {
            serviceNumber,
            state: n.state,
            reservationKind: n.reservation_kind,
            reservedOrderId: n.reserved_order_id,
            reservedCustomerId: n.reserved_customer_id,
            reservedOperatorId: n.reserved_operator_id,
            reservedUntil: n.reserved_until,
          },
          { orderId, customerId: order.customer_id ?? undefined, operatorId },
          now,
        );
      if (ours) await this.deps.resources.releaseReservationIn(tx, actor, serviceNumber, { orderId: n.reserved_order_id === orderId ? orderId : undefined });
      const number = await this.deps.resources.reserveNumberIn(tx, actor, serviceNumber, { kind: 'card_writing', orderId });
      const w = await cardWriteRepo.insertWrite(tx, { iccid, orderId, serviceNumber, imsi: c.data_imsi as string, operatorId, departmentId, now });
      await recordCardEvents(tx, now, [iccid], { event: 'write_issued', fromState: c.state, orderId, operatorId, detail: { writeId: w.write_id, serviceNumber } });
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'card.write.issue', targetType: 'card_write', targetId: w.write_id, after: { writeId: w.write_id, iccid, orderId, serviceNumber, state: 'issued' } },
        { type: 'card.write_issued', aggregateType: 'sim_card', aggregateId: iccid, payload: { writeId: w.write_id, iccid, orderId, serviceNumber } },
      );
      // the card data is opened only now, after every refusal, and only into the sealed script
      const ki = Buffer.from(this.deps.kiBox.open(Buffer.from(c.ki_encrypted as Uint8Array)));
      const opc = c.opc_encrypted ? Buffer.from(this.deps.kiBox.open(Buffer.from(c.opc_encrypted))) : null;
      const script = buildScript(this.deps.transport, w.write_id, iccid, { imsi: c.data_imsi as string, ki, opc });
      return {
        writeId: w.write_id,
        orderId,
        iccid,
        serviceNumber,
        script,
        expiresAt: number.reservation?.reservedUntil ?? null,
      };
    });
  }

  /** The card refusals of R-RES-4 and R-RES-5, in the order an operator can act on them. */
  private assertWritable(card: CardForWrite | undefined, iccid: string, actor: Actor): void {
    if (!card) throw new DomainError('SIM_NOT_FOUND', `卡不在库存中：${iccid}`, `No such SIM card: ${iccid}`, 404, { iccid });
    if (card.card_type === 'finished') throw cardNotBlank(iccid, 'finished');
    if (card.state === 'written' || card.state === 'activated' || card.state === 'retired' || card.imsi !== null || card.written_at !== null) throw cardNotBlank(iccid, 'written');
    if (card.picked_by_department_id !== actor.departmentId) throw cardDepartmentMismatch(iccid, card.picked_by_department_id, actor.departmentId);
    if (card.state !== 'picked') {
      throw new DomainError('CARD_NOT_PICKED', `该白卡不在渠道领用状态（${card.state}）：${iccid}`, `The blank card is not picked by a channel (state ${card.state}): ${iccid}`, 409, { iccid, state: card.state });
    }
    if (card.stock_order_id !== null) {
      throw new DomainError('CARD_LOCKED', `该卡在未完成的单据 ${card.stock_order_id} 中，不能写卡`, `The card is held by open stock document ${card.stock_order_id}`, 409, { iccid, stockOrderId: card.stock_order_id });
    }
    if (card.open_write_id !== null) {
      throw new DomainError('CARD_WRITE_IN_PROGRESS', '该卡有未回报结果的写卡，请先回报写卡结果', 'The card has a write whose result was not reported; report it first', 409, { iccid, writeId: card.open_write_id });
    }
    if (!card.has_card_data || !card.data_imsi || !card.ki_encrypted) throw cardDataMissing(iccid);
    if (card.imsi_taken) {
      throw new DomainError('CARD_DATA_CONFLICT', `该卡数据的 IMSI 已被其他卡使用：${iccid}`, `The IMSI of this card's data is already on another card: ${iccid}`, 409, { iccid });
    }
    if (card.ki_key_id !== this.deps.kiBox.keyId) {
      throw new DomainError('CARD_DATA_KEY_UNAVAILABLE', '卡数据的加密密钥不可用，请联系系统管理员', 'The key that sealed this card data is not configured', 503, { iccid, keyId: card.ki_key_id });
    }
  }

  /**
   * POST /card-writes/{writeId}/result (R-X-11): the reader's outcome. Success: the card is written
   * (its IMSI, and the order's number while the order still holds it). Failure: the card stays picked
   * and the number's hold is given back (R-RES-5). Reporting the same outcome again answers the same.
   */
  async report(actor: Actor, writeId: number, result: WriteResult) {
    return this.deps.db.transaction().execute(async (tx) => {
      const now = this.deps.clock.now();
      const w = await cardWriteRepo.lockWrite(tx, writeId);
      if (!w) throw notFound(CARD_WRITE, writeId);
      if (w.department_id !== actor.departmentId && !can(actor, 'stock.all')) {
        throw new DomainError('CARD_DEPARTMENT_MISMATCH', '只能回报本部门的写卡结果', 'Only the department that wrote the card reports its result', 403, { writeId, departmentId: w.department_id });
      }
      if (w.state === 'succeeded' || w.state === 'failed') {
        if ((w.state === 'succeeded') === result.success) return this.resultView(tx, w, actor);
        throw new DomainError('CARD_WRITE_CLOSED', `该写卡已回报为${w.state === 'succeeded' ? '成功' : '失败'}`, `The write was already reported as ${w.state}`, 409, { writeId, state: w.state });
      }
      const card = await cardWriteRepo.lockCard(tx, w.iccid);
      if (!card) throw new Error(`card write ${writeId}: card ${w.iccid} is gone`);
      const held = await cardWriteRepo.numberHeldBy(tx, w.service_number, w.order_id);
      const live = held !== undefined && held.reserved_until !== null && held.reserved_until > now;
      if (result.success) {
        const written = await cardWriteRepo.markWritten(tx, w.iccid, { imsi: w.imsi as string, serviceNumber: live ? w.service_number : null, now });
        if (!written) throw cardNotBlank(w.iccid, 'written');
        const closed = (await cardWriteRepo.closeWrite(tx, writeId, { state: 'succeeded', errorCode: null, errorMessage: null, now })) as CardWriteRow;
        await recordCardEvents(tx, now, [w.iccid], { event: 'written', fromState: card.state, orderId: w.order_id, operatorId: actor.operatorId, detail: { writeId, serviceNumber: written.service_number } });
        await recordChange(
          tx,
          this.deps.clock,
          actor,
          { action: 'card.write.succeed', targetType: 'card_write', targetId: writeId, before: { state: w.state }, after: { state: 'succeeded', iccid: w.iccid, orderId: w.order_id, serviceNumber: written.service_number } },
          { type: 'card.written', aggregateType: 'sim_card', aggregateId: w.iccid, payload: { writeId, iccid: w.iccid, orderId: w.order_id, serviceNumber: written.service_number } },
        );
        return this.resultView(tx, closed, actor);
      }
      const code = result.errorCode ?? 'WRITE_FAILED';
      const message = isCardReaderErrorCode(code) ? CARD_READER_MESSAGES[code].zh : `写卡失败（${code}）`;
      const closed = (await cardWriteRepo.closeWrite(tx, writeId, { state: 'failed', errorCode: code, errorMessage: message, now })) as CardWriteRow;
      // R-RES-5: the number is free again for a retry (unless the hold already lapsed and went to someone else)
      if (held && held.reservation_kind === 'card_writing') await this.deps.resources.releaseReservationIn(tx, actor, w.service_number, { orderId: w.order_id });
      await recordCardEvents(tx, now, [w.iccid], { event: 'write_failed', fromState: card.state, orderId: w.order_id, operatorId: actor.operatorId, detail: { writeId, errorCode: code } });
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'card.write.fail', targetType: 'card_write', targetId: writeId, before: { state: w.state }, after: { state: 'failed', iccid: w.iccid, orderId: w.order_id, errorCode: code, errorMessage: message } },
        { type: 'card.write_failed', aggregateType: 'sim_card', aggregateId: w.iccid, payload: { writeId, iccid: w.iccid, orderId: w.order_id, serviceNumber: w.service_number, errorCode: code } },
      );
      return this.resultView(tx, closed, actor);
    });
  }

  private async resultView(q: Q, w: CardWriteRow, actor: Actor) {
    const [card, number, hold] = await Promise.all([cardWriteRepo.card(q, w.iccid), resourceRepo.numberWithLevel(q, w.service_number), this.holdHours(q)]);
    return {
      ...writeView(w, hold, actor),
      card: card ? cardView(card, can(actor, 'stock.all')) : null,
      number: number
        ? { serviceNumber: number.service_number, state: number.state, reservedOrderId: number.reserved_order_id, reservedUntil: iso(number.reserved_until) }
        : null,
    };
  }

  /** What a reader bridge holding the transport key finds in a script (the card data); for tests and such a bridge only. */
  openScript(script: string) {
    return openCardScript(this.deps.transport, script);
  }

  /** GET /orders/{id}/card-writes: every attempt of the order, oldest first. */
  async listForOrder(actor: Actor, orderId: number) {
    const order = await orderRepo.byId(this.deps.db, orderId);
    if (!order || !(order.department_id === actor.departmentId || order.operator_id === actor.operatorId || can(actor, 'order.read_any'))) throw notFound(ORDER, orderId);
    const [rows, hold] = await Promise.all([cardWriteRepo.writesOfOrder(this.deps.db, orderId), this.holdHours(this.deps.db)]);
    return { items: rows.map((w) => writeView(w, hold, actor)) };
  }
}

/**
 * R-X-11: an order reversed after its network activation failed gives back what it held, inside the
 * reversal's transaction: each number reserved for the order is free again, and a blank card written
 * for it stays written (its IMSI is on the chip) but no longer bound to the number, so it can serve
 * another order of the same channel. Finished cards were never changed (the submission rolled back).
 */
export async function releaseReversedOrder(
  tx: Tx,
  resources: ResourceService,
  clock: Clock,
  actor: Actor,
  r: { orderId: number; reason: string; members: { serviceNumber: string; iccid?: string | undefined }[] },
): Promise<{ numbers: string[]; cards: string[] }> {
  const out = { numbers: [] as string[], cards: [] as string[] };
  const now = clock.now();
  for (const m of r.members) {
    if (await cardWriteRepo.numberHeldBy(tx, m.serviceNumber, r.orderId)) {
      await resources.releaseReservationIn(tx, actor, m.serviceNumber, { orderId: r.orderId });
      out.numbers.push(m.serviceNumber);
    }
    if (!m.iccid) continue;
    const card = await cardWriteRepo.unbindWritten(tx, m.iccid, m.serviceNumber, now);
    if (!card) continue;
    await recordCardEvents(tx, now, [m.iccid], { event: 'released', fromState: 'written', orderId: r.orderId, operatorId: actor.operatorId, detail: { serviceNumber: m.serviceNumber, reason: r.reason } });
    await recordChange(
      tx,
      clock,
      actor,
      { action: 'sim.release', targetType: 'sim_card', targetId: m.iccid, before: { state: 'written', serviceNumber: m.serviceNumber }, after: { state: 'written', serviceNumber: null, orderId: r.orderId, reason: r.reason } },
      { type: 'sim.released', aggregateType: 'sim_card', aggregateId: m.iccid, payload: { iccid: m.iccid, serviceNumber: m.serviceNumber, orderId: r.orderId, reason: r.reason } },
    );
    out.cards.push(m.iccid);
  }
  return out;
}
