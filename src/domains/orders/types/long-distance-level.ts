// 更改长途级别 LONG_DISTANCE_LEVEL (seed 004 §6.10.1): local / domestic / international. Opening
// international long distance takes the international deposit like INTL_ROAMING (seed 004 §6.10.5,
// demo 500) unless the account is a corporate bank-collection account (对公帐号).
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import { StrEnum } from '../../../platform/schemas.ts';
import { type DocumentsInput, subscriberSubject } from '../facts.ts';
import { baseFailures, type GeneralFacts, internationalDeposit, isCorporateAccount, loadGeneral, provision, subscriberFields, subscriberLine } from '../general.ts';
import type { BusinessType, QuoteLine } from '../types.ts';

const LEVELS = ['local', 'domestic', 'international'] as const;
type Level = (typeof LEVELS)[number];

export const LEVEL_NAMES: Record<Level, Text> = {
  local: { zh: '本地', en: 'local only' },
  domestic: { zh: '国内长途', en: 'domestic long distance' },
  international: { zh: '国际长途', en: 'international long distance' },
};

export const LongDistanceLevelInput = Type.Object({ ...subscriberFields, level: StrEnum(LEVELS) }, { additionalProperties: false });

export interface LongDistanceLevelIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  level: Level;
}

export const longDistanceLevel: BusinessType<LongDistanceLevelIn, GeneralFacts> = {
  code: 'LONG_DISTANCE_LEVEL',
  name: { zh: '更改长途级别', en: 'Change long-distance level' },
  input: LongDistanceLevelInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  load: (c, i) => loadGeneral(c, i),

  check(f, i) {
    const out: CheckFailure[] = baseFailures(f, i);
    const s = f.subscriber;
    if (s?.network === 'broadband') {
      out.push(failure('LONG_DISTANCE_NOT_APPLICABLE', { zh: '宽带用户没有长途级别', en: 'A broadband line has no long-distance level' }, { zh: '请选择手机或固话号码', en: 'Choose a mobile or fixed line' }));
    } else if (s && s.longDistanceLevel === i.level) {
      out.push(
        failure('SAME_LONG_DISTANCE_LEVEL', { zh: `长途级别已是${LEVEL_NAMES[i.level].zh}`, en: `The level is already ${LEVEL_NAMES[i.level].en}` }, { zh: '请选择其他长途级别', en: 'Choose another level' }, {
          level: i.level,
        }),
      );
    }
    return out;
  },

  quote(f, i, env): QuoteLine[] {
    const opening = i.level === 'international' && f.subscriber?.longDistanceLevel !== 'international';
    return opening && !isCorporateAccount(f) ? [internationalDeposit(env, { zh: '国际长途预存款', en: 'International long-distance deposit' }, 'INTL_LD_DEPOSIT')] : [];
  },

  describe(f, i) {
    const from = f.subscriber?.longDistanceLevel;
    return [...subscriberLine(f.subscriber), { label: { zh: '长途级别', en: 'Long-distance level' }, value: `${from ? LEVEL_NAMES[from].zh : '—'} → ${LEVEL_NAMES[i.level].zh}` }];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId)],

  async apply(c, f, i) {
    const s = f.subscriber as NonNullable<GeneralFacts['subscriber']>;
    await c.services.accounts.updateSubscriberDetails(c.tx, c.actor, s.subscriberId, { longDistanceLevel: i.level }, { orderId: c.orderId, what: 'long_distance_level' });
    const command = await provision(c, s, 'long_distance_level', { from: s.longDistanceLevel, level: i.level });
    return { accountId: s.accountId, customerId: s.customerId, subscribers: { main: s.subscriberId }, result: { from: s.longDistanceLevel, level: i.level, provisioning: [command] } };
  },
};
