// 开/停新业务功能 FEATURES (seed 004 §6.10.1): features and packs (offers of kind feature/pack, on sale,
// for the subscriber's network) are added and removed. R-ORD-6: when an added product needs the SMS
// double confirmation (demo: CRBT, DATA-10) the order waits for the customer's reply before it applies.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import { type Offer, saleFailures } from '../../catalog/rules.ts';
import { type DocumentsInput, subscriberSubject } from '../facts.ts';
import { baseFailures, type GeneralFacts, loadGeneral, provision, subscriberFields, subscriberLine } from '../general.ts';
import { isMobile } from '../members.ts';
import type { BusinessType, QuoteLine } from '../types.ts';
import { ROAMING } from './intl-roaming.ts';

const Codes = Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { maxItems: 20, uniqueItems: true });

export const FeaturesInput = Type.Object({ ...subscriberFields, add: Type.Optional(Codes), remove: Type.Optional(Codes) }, { additionalProperties: false });

export interface FeaturesIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  add?: string[];
  remove?: string[];
}

export interface FeaturesFacts extends GeneralFacts {
  offers: Map<string, Offer>;
}

const EXTRA_KINDS: readonly string[] = ['feature', 'pack'];
const added = (f: FeaturesFacts, i: FeaturesIn) => (i.add ?? []).map((c) => f.offers.get(c)).filter((o): o is Offer => o !== undefined);

export const features: BusinessType<FeaturesIn, FeaturesFacts> = {
  code: 'FEATURES',
  name: { zh: '开/停新业务功能', en: 'Features and packs on/off' },
  input: FeaturesInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const [g, offers] = await Promise.all([loadGeneral(c, i), c.services.catalog.offers([...(i.add ?? []), ...(i.remove ?? [])], c.q)]);
    return { ...g, offers };
  },

  check(f, i, env) {
    const out: CheckFailure[] = baseFailures(f, i);
    const add = i.add ?? [];
    const remove = i.remove ?? [];
    if (add.length === 0 && remove.length === 0) {
      out.push(failure('NOTHING_TO_CHANGE', { zh: '请选择要开通或关闭的功能', en: 'Choose features or packs to add or remove' }, { zh: '请至少选择一项', en: 'Choose at least one' }));
    }
    const s = f.subscriber;
    const has = (code: string) => s?.offers.some((o) => o.offerCode === code) ?? false;
    for (const code of [...add, ...remove]) {
      const o = f.offers.get(code);
      const tag = { offerCode: code };
      if (!o) {
        out.push(failure('OFFER_NOT_FOUND', { zh: `产品不存在：${code}`, en: `No such offer: ${code}` }, { zh: '请重新选择功能或优惠包', en: 'Choose the feature or pack again' }, tag));
        continue;
      }
      if (!EXTRA_KINDS.includes(o.kind)) {
        out.push(failure('OFFER_KIND_MISMATCH', { zh: `${o.nameZh} 不是功能或优惠包`, en: `${o.nameEn} is not a feature or pack` }, { zh: '换套餐请办理套餐变更', en: 'Plans change through a plan change order' }, tag));
      }
      if (code === ROAMING) {
        out.push(failure('USE_INTL_ROAMING_ORDER', { zh: '国际漫游须单独办理（预存款和担保书）', en: 'International roaming has its own order (deposit and guarantee)' }, { zh: '请办理“开/停国际漫游”', en: 'Use the INTL_ROAMING order' }, tag));
      }
    }
    for (const code of add) {
      const o = f.offers.get(code);
      if (!o || !s) continue;
      out.push(...saleFailures(o, env.now, s.network));
      if (has(code)) out.push(failure('OFFER_ALREADY_SUBSCRIBED', { zh: `已开通${o.nameZh}`, en: `${o.nameEn} is already on` }, { zh: '请去掉该项', en: 'Remove it from the order' }, { offerCode: code }));
      if (remove.includes(code)) {
        out.push(failure('OFFER_ADD_AND_REMOVE', { zh: `${o.nameZh} 不能同时开通和关闭`, en: `${o.nameEn} cannot be added and removed at once` }, { zh: '请只保留一项', en: 'Keep one of them' }, { offerCode: code }));
      }
    }
    for (const code of remove) {
      const o = f.offers.get(code);
      if (!o || !s) continue;
      if (!has(code)) out.push(failure('OFFER_NOT_SUBSCRIBED', { zh: `未开通${o.nameZh}`, en: `${o.nameEn} is not on` }, { zh: '请去掉该项', en: 'Remove it from the order' }, { offerCode: code }));
    }
    return out;
  },

  /** one-off charges of the added offers (recurring ones are rated per cycle, R-BIL-4) */
  quote(f, i): QuoteLine[] {
    return added(f, i).flatMap((o) =>
      o.charges
        .filter((ch) => ch.kind === 'one_off' && ch.amountFen > 0)
        .map((ch) => ({ feeCode: o.offerCode, kind: 'fee' as const, name: { zh: o.nameZh, en: o.nameEn }, itemCode: ch.itemCode, memberRole: 'main', amountFen: ch.amountFen, waivable: true })),
    );
  },

  describe(f, i) {
    const name = (c: string) => f.offers.get(c)?.nameZh ?? c;
    return [
      ...subscriberLine(f.subscriber),
      ...((i.add ?? []).length ? [{ label: { zh: '开通', en: 'Add' }, value: (i.add ?? []).map(name).join('、') }] : []),
      ...((i.remove ?? []).length ? [{ label: { zh: '关闭', en: 'Remove' }, value: (i.remove ?? []).map(name).join('、') }] : []),
    ];
  },

  notices(f, i) {
    const confirm = added(f, i).filter((o) => o.requiresSmsConfirmation);
    if (!confirm.length) return [];
    const names = confirm.map((o) => o.nameZh).join('、');
    return [{ zh: `${names}须客户短信二次确认：提交后客户回复 Y 才生效，超时未回复自动撤单。`, en: `${confirm.map((o) => o.nameEn).join(', ')} need the customer’s SMS confirmation: nothing applies until the reply; no reply in time cancels the order.` }];
  },

  subjects: (_f, i) => [subscriberSubject(i.subscriberId)],

  needsConfirmation(f, i) {
    const s = f.subscriber;
    const confirm = added(f, i).filter((o) => o.requiresSmsConfirmation);
    if (!s || !confirm.length || !isMobile(s.network)) return null;
    const zh = confirm.map((o) => o.nameZh).join('、');
    const en = confirm.map((o) => o.nameEn).join(', ');
    return { serviceNumber: s.serviceNumber, text: { zh: `您正在办理${zh}，回复 Y 确认，回复 N 取消。`, en: `You are ordering ${en}. Reply Y to confirm, N to cancel.` } };
  },

  async apply(c, f, i) {
    const s = f.subscriber as NonNullable<GeneralFacts['subscriber']>;
    const adds = added(f, i);
    const removes = s.offers.filter((o) => (i.remove ?? []).includes(o.offerCode));
    if (adds.length) await c.services.catalog.subscribe(c.tx, c.actor, adds.map((offer) => ({ subscriberId: s.subscriberId, offer, orderId: c.orderId, startsAt: c.now })));
    if (removes.length) {
      await c.services.catalog.unsubscribe(
        c.tx,
        c.actor,
        removes.map((o) => ({ subscriberOfferId: o.subscriberOfferId, subscriberId: s.subscriberId, offerCode: o.offerCode })),
        c.now,
        c.orderId,
      );
    }
    const commands = [];
    for (const o of adds) commands.push(await provision(c, s, 'feature_on', { feature: o.offerCode, kind: o.kind }));
    for (const o of removes) commands.push(await provision(c, s, 'feature_off', { feature: o.offerCode, kind: o.kind }));
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      result: { added: adds.map((o) => o.offerCode), removed: removes.map((o) => o.offerCode), provisioning: commands },
    };
  },
};
