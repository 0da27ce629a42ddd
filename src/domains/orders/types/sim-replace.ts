// 补卡 SIM_REPLACE (seed 004 §6.10.5 补卡收相应卡费): a new card for the same number, the SIM_CARD fee of
// the fees table, the old card retired and the subscriber's ICCID/IMSI updated; needs the service password.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import type { Failure } from '../../resources/service.ts';
import { type DocumentsInput, subscriberSubject } from '../facts.ts';
import { baseFailures, feeLine, type GeneralFacts, loadGeneral, mobileOnly, provision, subscriberFields, subscriberLine } from '../general.ts';
import type { BusinessType } from '../types.ts';

export const SimReplaceInput = Type.Object(
  {
    ...subscriberFields,
    /** the new card (a finished card in stock, or a blank card written for this number) */
    iccid: Type.String({ pattern: '^[0-9]{19,20}$' }),
  },
  { additionalProperties: false },
);

export interface SimReplaceIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  iccid: string;
}

export interface SimReplaceFacts extends GeneralFacts {
  simFailures: Failure[];
  imsi: string | null;
}

export const simReplace: BusinessType<SimReplaceIn, SimReplaceFacts> = {
  code: 'SIM_REPLACE',
  name: { zh: '补卡', en: 'SIM replacement' },
  input: SimReplaceInput,
  sensitive: true,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const g = await loadGeneral(c, i);
    const r = c.services.resources;
    if (!g.subscriber) return { ...g, simFailures: [], imsi: await r.simImsi(c.q, i.iccid) };
    const sim = await r.simCheck(c.q, i.iccid, { orderId: c.orderId, serviceNumber: g.subscriber.serviceNumber });
    return { ...g, simFailures: sim.problems, imsi: sim.imsi };
  },

  check(f, i) {
    const out: CheckFailure[] = [...baseFailures(f, i), ...mobileOnly(f.subscriber, { zh: '补卡', en: 'SIM replacement' })];
    if (f.subscriber && f.subscriber.iccid === i.iccid) {
      out.push(failure('SAME_SIM', { zh: '新卡与用户当前的卡相同', en: 'The new card is the subscriber’s current card' }, { zh: '请扫描新卡的 ICCID', en: 'Scan the new card’s ICCID' }, { iccid: i.iccid }));
    } else {
      out.push(...f.simFailures);
    }
    return out;
  },

  quote: (_f, _i, env) => feeLine(env, 'SIM_CARD'),

  describe(f, i) {
    return [...subscriberLine(f.subscriber), { label: { zh: '原卡', en: 'Old card' }, value: f.subscriber?.iccid ?? '—' }, { label: { zh: '新卡', en: 'New card' }, value: i.iccid }];
  },

  notices(f) {
    // R-X-1 decision: replacing the card does not clear `lost` — only RESUME after the loss does, with the password
    if (!f.subscriber?.stopReasons.includes('lost')) return [];
    return [
      {
        zh: '该号码已挂失：补卡后仍处于挂失停机，请客户凭服务密码办理报开（解挂）后恢复通话。',
        en: 'The number is reported lost: after the new card it stays stopped until a RESUME with the service password.',
      },
    ];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId), `sim:${i.iccid}`],

  async apply(c, f, i) {
    const s = f.subscriber as NonNullable<SimReplaceFacts['subscriber']>;
    const card = await c.services.resources.replaceSim(c.tx, { oldIccid: s.iccid, newIccid: i.iccid, serviceNumber: s.serviceNumber, subscriberId: s.subscriberId, orderId: c.orderId, actor: c.actor });
    await c.services.accounts.updateSubscriberDetails(c.tx, c.actor, s.subscriberId, { iccid: card.iccid, imsi: card.imsi }, { orderId: c.orderId, what: 'sim_replace' });
    // R-X-1: the stop reasons are left as they are; a lost line stays stopped until RESUME
    const command = await provision(c, s, 'sim_change', { oldIccid: s.iccid, oldImsi: s.imsi, iccid: card.iccid, imsi: card.imsi });
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      result: { oldIccid: s.iccid, iccid: card.iccid, imsi: card.imsi, retiredIccid: card.retiredIccid, stopReasons: s.stopReasons, provisioning: [command] },
    };
  },
};
