// 报停 SUSPEND (seed 004 §6.10.1): the customer asks to stop the line; the stop reason `on_request` joins
// the subscriber's set (R-X-1) and the network stops it (R-INT-2). REPORT_LOSS is the same order with
// the reason `lost`, so both are built here.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import type { StopReason } from '../../../platform/schema.ts';
import type { DocumentsInput } from '../facts.ts';
import { subscriberSubject } from '../facts.ts';
import {
  baseFailures,
  feeLine,
  type GeneralFacts,
  loadGeneral,
  networkState,
  provisionState,
  STOP_REASON_NAMES,
  subscriberFields,
  subscriberLine,
} from '../general.ts';
import type { BusinessType } from '../types.ts';

export interface StopIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  /** what the customer said (出国、手机丢失…), kept on the audit */
  note?: string;
}

export const StopInput = Type.Object({ ...subscriberFields, note: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false });

/** A stop order for one reason: the code, the refusal when the reason is already there, the notices. */
export function stopType(p: {
  code: string;
  name: Text;
  reason: StopReason;
  sensitive: boolean;
  already: { code: string; message: Text; fix: Text };
  notices: Text[];
}): BusinessType<StopIn, GeneralFacts> {
  return {
    code: p.code,
    name: p.name,
    input: StopInput,
    sensitive: p.sensitive,

    refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

    load: (c, i) => loadGeneral(c, i),

    check(f, i) {
      const out: CheckFailure[] = baseFailures(f, i);
      if (f.subscriber?.stopReasons.includes(p.reason)) {
        out.push(failure(p.already.code, p.already.message, p.already.fix, { stopReasons: f.subscriber.stopReasons }));
      }
      return out;
    },

    quote: (_f, _i, env) => feeLine(env, p.code),

    describe(f) {
      return [
        ...subscriberLine(f.subscriber),
        { label: { zh: '停机原因', en: 'Stop reason' }, value: `${STOP_REASON_NAMES[p.reason].zh} / ${STOP_REASON_NAMES[p.reason].en}` },
        { label: { zh: '当前状态', en: 'Status now' }, value: f.subscriber?.status ?? '—' },
      ];
    },

    notices: () => p.notices,

    subjects: (_f, i) => [subscriberSubject(i.subscriberId)],

    async apply(c, f, i) {
      const s = f.subscriber as NonNullable<GeneralFacts['subscriber']>;
      const { before, after } = await c.services.accounts.changeStopReasons(c.tx, c.actor, s.subscriberId, { add: [p.reason] }, { orderId: c.orderId, reason: i.note ?? p.reason });
      const commands = await provisionState(c, s, networkState(before.lifecycle, before.stopReasons), networkState(after.lifecycle, after.stopReasons), p.reason);
      return { accountId: s.accountId, customerId: s.customerId, subscribers: { main: s.subscriberId }, result: { before, after, provisioning: commands } };
    },
  };
}

export const suspend = stopType({
  code: 'SUSPEND',
  name: { zh: '报停', en: 'Suspend on request' },
  reason: 'on_request',
  sensitive: false,
  already: {
    code: 'ALREADY_SUSPENDED',
    message: { zh: '该用户已报停', en: 'The subscriber is already suspended on request' },
    fix: { zh: '无需重复报停；如需恢复请办理报开', en: 'Nothing to do; use RESUME to reopen it' },
  },
  notices: [{ zh: '报停期间号码保留，月租等费用按资费规定收取；恢复通话须办理报开。', en: 'The number is kept while suspended; recurring fees follow the tariff. Reopening needs a RESUME order.' }],
});
