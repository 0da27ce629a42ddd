// 复装 REINSTALL (seed 004 §6.10.1 复装开机): a pre-cancelled subscriber comes back to the normal
// lifecycle before its formal cancellation (R-ORD-8/9), for the REINSTALL fee of the fees table. The
// network reopens unless stop reasons remain (R-X-1); a fixed or broadband line gets a reinstall work order.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import { type DocumentsInput, subscriberSubject } from '../facts.ts';
import { baseFailures, feeLine, type GeneralFacts, loadGeneral, networkState, provisionState, STOP_REASON_NAMES, subscriberFields, subscriberLine } from '../general.ts';
import type { BusinessType } from '../types.ts';

export const ReinstallInput = Type.Object({ ...subscriberFields }, { additionalProperties: false });

export interface ReinstallIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
}

export const reinstall: BusinessType<ReinstallIn, GeneralFacts> = {
  code: 'REINSTALL',
  name: { zh: '复装', en: 'Reinstall' },
  input: ReinstallInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  load: (c, i) => loadGeneral(c, i),

  check(f, i) {
    // a cancelled subscriber is refused by the lifecycle check (SUBSCRIBER_CANCELLED): after formal cancellation only fee recovery remains
    const out: CheckFailure[] = baseFailures(f, i, { documents: true, allowPreCancelled: true });
    if (f.subscriber?.lifecycle === 'normal') {
      out.push(
        failure('NOT_PRE_CANCELLED', { zh: `用户 ${f.subscriber.serviceNumber} 未预销号，无需复装`, en: `Subscriber ${f.subscriber.serviceNumber} is not pre-cancelled` }, {
          zh: '停机用户请办理报开或缴费开机',
          en: 'A stopped line reopens by RESUME or by payment',
        }),
      );
    }
    return out;
  },

  quote: (_f, _i, env) => feeLine(env, 'REINSTALL'),

  describe(f) {
    return [
      ...subscriberLine(f.subscriber),
      { label: { zh: '业务', en: 'Change' }, value: '预销号 → 正常 / pre-cancelled → normal' },
      ...(f.subscriber?.preCancelledAt ? [{ label: { zh: '预销号时间', en: 'Pre-cancelled at' }, value: f.subscriber.preCancelledAt.toISOString() }] : []),
    ];
  },

  notices(f) {
    const left = f.subscriber?.stopReasons ?? [];
    if (left.length === 0) return [];
    return [
      {
        zh: `复装后用户仍因${left.map((r) => STOP_REASON_NAMES[r].zh).join('、')}停机，须另行处理。`,
        en: `After reinstalling, the line stays stopped for: ${left.map((r) => STOP_REASON_NAMES[r].en).join(', ')}.`,
      },
    ];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId)],

  async apply(c, f) {
    const s = f.subscriber as NonNullable<GeneralFacts['subscriber']>;
    const { before, after } = await c.services.accounts.reinstate(c.tx, c.actor, s.subscriberId, { orderId: c.orderId });
    const commands = await provisionState(c, s, networkState(before.lifecycle, before.stopReasons), networkState(after.lifecycle, after.stopReasons), 'reinstall');
    const fieldWork = s.network === 'broadband' || s.network === 'fixed';
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      workOrders: fieldWork ? [{ kind: 'reinstall' as const, subscriberId: s.subscriberId, address: s.installAddress }] : [],
      result: { before, after, provisioning: commands },
    };
  },
};
