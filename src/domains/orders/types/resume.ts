// 报开 RESUME (seed 004 §6.10.1): removes `on_request` (报停) and/or `lost` (挂失, 解挂) from the
// subscriber's stop reasons, as the input says. R-X-1: `lost` is cleared only here — never by a
// payment — and only with the customer's service password. Other reasons (arrears…) stay, and the
// line stays stopped for them.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { StrEnum } from '../../../platform/schemas.ts';
import { type DocumentsInput, subscriberSubject } from '../facts.ts';
import { baseFailures, feeLine, type GeneralFacts, loadGeneral, networkState, provisionState, STOP_REASON_NAMES, subscriberFields, subscriberLine } from '../general.ts';
import type { BusinessType } from '../types.ts';

const RESUMABLE = ['on_request', 'lost'] as const;
type Resumable = (typeof RESUMABLE)[number];

export const ResumeInput = Type.Object(
  {
    ...subscriberFields,
    /** the stop reasons to remove: 报停 (on_request), 挂失 (lost), or both */
    reasons: Type.Array(StrEnum(RESUMABLE), { minItems: 1, maxItems: 2, uniqueItems: true }),
  },
  { additionalProperties: false },
);

export interface ResumeIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  reasons: Resumable[];
}

const NOT_THERE: Record<Resumable, { code: string; message: Text; fix: Text }> = {
  on_request: {
    code: 'NOT_SUSPENDED',
    message: { zh: '该用户未报停，无需报开', en: 'The subscriber is not suspended on request' },
    fix: { zh: '请核对用户状态；欠费停机请缴费开机', en: 'Check the status; an arrears stop reopens on payment' },
  },
  lost: {
    code: 'NOT_LOST',
    message: { zh: '该用户未挂失，无需解挂', en: 'The subscriber is not reported lost' },
    fix: { zh: '请核对用户状态', en: 'Check the subscriber’s status' },
  },
};

export const resume: BusinessType<ResumeIn, GeneralFacts> = {
  code: 'RESUME',
  name: { zh: '报开', en: 'Resume' },
  input: ResumeInput,
  sensitive: false,
  // R-X-1: reopening a lost line needs the owner's service password
  sensitiveFor: (i) => i.reasons.includes('lost'),

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  load: (c, i) => loadGeneral(c, i),

  check(f, i) {
    const out: CheckFailure[] = baseFailures(f, i);
    const s = f.subscriber;
    if (s) {
      for (const r of i.reasons) {
        if (!s.stopReasons.includes(r)) out.push(failure(NOT_THERE[r].code, NOT_THERE[r].message, NOT_THERE[r].fix, { stopReasons: s.stopReasons }));
      }
    }
    return out;
  },

  quote: (_f, _i, env) => feeLine(env, 'RESUME'),

  describe(f, i) {
    return [
      ...subscriberLine(f.subscriber),
      { label: { zh: '解除停机原因', en: 'Stop reasons removed' }, value: i.reasons.map((r) => STOP_REASON_NAMES[r].zh).join('、') },
      { label: { zh: '当前状态', en: 'Status now' }, value: f.subscriber?.status ?? '—' },
    ];
  },

  notices(f, i) {
    const left = (f.subscriber?.stopReasons ?? []).filter((r) => !(i.reasons as string[]).includes(r));
    if (left.length === 0) return [];
    const names = left.map((r) => STOP_REASON_NAMES[r]);
    return [
      {
        zh: `报开后用户仍因${names.map((n) => n.zh).join('、')}停机，须另行处理（如缴清欠费）才能恢复通话。`,
        en: `After this the line stays stopped for: ${names.map((n) => n.en).join(', ')}; those need their own remedy (e.g. paying the arrears).`,
      },
    ];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId)],

  async apply(c, f, i) {
    const s = f.subscriber as NonNullable<GeneralFacts['subscriber']>;
    const { before, after } = await c.services.accounts.changeStopReasons(c.tx, c.actor, s.subscriberId, { remove: i.reasons }, { orderId: c.orderId, reason: 'resume' });
    const commands = await provisionState(c, s, networkState(before.lifecycle, before.stopReasons), networkState(after.lifecycle, after.stopReasons), i.reasons.join(','));
    return { accountId: s.accountId, customerId: s.customerId, subscribers: { main: s.subscriberId }, result: { before, after, provisioning: commands } };
  },
};
