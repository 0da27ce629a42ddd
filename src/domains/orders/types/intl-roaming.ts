// 开/停国际漫游 INTL_ROAMING (seed 004 §6.10.5: 开国际漫游须缴交XXX元预付费（对公帐号除外），还要按要求
// 签订担保书). On: the feature offer INTL_ROAMING is subscribed, the deposit (parameter
// intl_roaming_deposit_fen) goes into the account's books, and the guarantee must be signed — a
// corporate bank-collection account is exempt from both. Off: the subscription ends.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import { StrEnum } from '../../../platform/schemas.ts';
import { type Offer, saleFailures } from '../../catalog/rules.ts';
import { type DocumentsInput, subscriberSubject } from '../facts.ts';
import { baseFailures, type GeneralFacts, internationalDeposit, isCorporateAccount, loadGeneral, mobileOnly, provision, subscriberFields, subscriberLine } from '../general.ts';
import type { BusinessType, QuoteLine } from '../types.ts';

export const ROAMING = 'INTL_ROAMING';

export const IntlRoamingInput = Type.Object(
  {
    ...subscriberFields,
    action: StrEnum(['on', 'off'] as const),
    /** 担保书: the customer signed the roaming guarantee (needed to switch on, except a corporate account) */
    guaranteeSigned: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export interface IntlRoamingIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  action: 'on' | 'off';
  guaranteeSigned?: boolean;
}

export interface IntlRoamingFacts extends GeneralFacts {
  offer: Offer | undefined;
}

/** in force now (a subscription ending later still counts) */
const isOn = (f: GeneralFacts) => f.subscriber?.offers.some((o) => o.offerCode === ROAMING) ?? false;

export const intlRoaming: BusinessType<IntlRoamingIn, IntlRoamingFacts> = {
  code: 'INTL_ROAMING',
  name: { zh: '开/停国际漫游', en: 'International roaming on/off' },
  input: IntlRoamingInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [g, offer] = await Promise.all([loadGeneral(c, i), c.services.catalog.offer(ROAMING, c.q)]);
    return { ...g, offer };
  },

  check(f, i, env) {
    const out: CheckFailure[] = [...baseFailures(f, i), ...mobileOnly(f.subscriber, { zh: '国际漫游', en: 'International roaming' })];
    if (!f.subscriber) return out;
    if (i.action === 'on') {
      if (!f.offer) {
        out.push(failure('OFFER_NOT_FOUND', { zh: `产品不存在：${ROAMING}`, en: `No such offer: ${ROAMING}` }, { zh: '请联系市场部配置国际漫游功能', en: 'Ask marketing to configure the roaming feature' }));
      } else {
        out.push(...saleFailures(f.offer, env.now, f.subscriber.network));
      }
      if (isOn(f)) {
        out.push(failure('INTL_ROAMING_ALREADY_ON', { zh: '该用户已开通国际漫游', en: 'International roaming is already on' }, { zh: '无需重复开通', en: 'Nothing to do' }));
      }
      if (!isCorporateAccount(f) && !i.guaranteeSigned) {
        out.push(
          failure('GUARANTEE_REQUIRED', { zh: '开通国际漫游须签订担保书', en: 'International roaming needs the signed guarantee' }, {
            zh: '请客户签订国际漫游担保书后勾选“已签担保书”',
            en: 'Have the customer sign the roaming guarantee and tick “guarantee signed”',
          }),
        );
      }
    } else if (!isOn(f)) {
      out.push(failure('INTL_ROAMING_NOT_ON', { zh: '该用户未开通国际漫游', en: 'International roaming is not on' }, { zh: '无需关闭', en: 'Nothing to switch off' }));
    }
    return out;
  },

  quote(f, i, env): QuoteLine[] {
    return i.action === 'on' && !isCorporateAccount(f) ? [internationalDeposit(env, { zh: '国际漫游预存款', en: 'International roaming deposit' })] : [];
  },

  describe(f, i) {
    return [...subscriberLine(f.subscriber), { label: { zh: '国际漫游', en: 'International roaming' }, value: i.action === 'on' ? '开通 / on' : '关闭 / off' }];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId)],

  async apply(c, f, i) {
    const s = f.subscriber as NonNullable<GeneralFacts['subscriber']>;
    if (i.action === 'on') {
      await c.services.catalog.subscribe(c.tx, c.actor, [{ subscriberId: s.subscriberId, offer: f.offer as Offer, orderId: c.orderId, startsAt: c.now }]);
    } else {
      const rows = s.offers.filter((o) => o.offerCode === ROAMING).map((o) => ({ subscriberOfferId: o.subscriberOfferId, subscriberId: s.subscriberId, offerCode: o.offerCode }));
      await c.services.catalog.unsubscribe(c.tx, c.actor, rows, c.now, c.orderId);
    }
    const command = await provision(c, s, i.action === 'on' ? 'feature_on' : 'feature_off', { feature: ROAMING });
    return { accountId: s.accountId, customerId: s.customerId, subscribers: { main: s.subscriberId }, result: { feature: ROAMING, action: i.action, provisioning: [command] } };
  },
};
