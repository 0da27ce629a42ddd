// 改号 CHANGE_NUMBER: the subscriber takes a new number from the pool (R-X-10 level rules, premium price),
// the old one is frozen for its cooling period and recycled later; the CHANGE_NUMBER fee of the fees
// table; the SIM keeps its card and is recorded with the new number. Needs the service password.
import { Type } from 'typebox';
import { type CheckFailure, failure, type Text } from '../../../platform/checks.ts';
import type { Fen } from '../../../platform/money.ts';
import type { Network } from '../../../platform/schema.ts';
import type { Failure } from '../../resources/service.ts';
import { type DocumentsInput, numberSubject, subscriberSubject } from '../facts.ts';
import { baseFailures, feeLine, type GeneralFacts, loadGeneral, provision, subscriberFields, subscriberLine } from '../general.ts';
import type { BusinessType, QuoteLine } from '../types.ts';

export const ChangeNumberInput = Type.Object(
  {
    ...subscriberFields,
    newNumber: Type.String({ minLength: 4, maxLength: 20 }),
    /** who approved a premium number (R-X-10) */
    numberApprovedBy: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export interface ChangeNumberIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  newNumber: string;
  numberApprovedBy?: string;
}

export interface ChangeNumberFacts extends GeneralFacts {
  numberFailures: Failure[];
  level: { code: string; name: Text; priceFen: Fen } | null;
  newNumberInUse: boolean;
  /** the old number is in the pool (numbers table) and goes back to it */
  oldNumberInPool: boolean;
}

const FORMATS: Partial<Record<Network, RegExp>> = { gsm2g: /^1\d{10}$/, wcdma3g: /^1\d{10}$/, fixed: /^0\d{9,11}$|^\d{7,8}$/ };

export const changeNumber: BusinessType<ChangeNumberIn, ChangeNumberFacts> = {
  code: 'CHANGE_NUMBER',
  name: { zh: '改号', en: 'Change number' },
  input: ChangeNumberInput,
  sensitive: true,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const g = await loadGeneral(c, i);
    const r = c.services.resources;
    const network = g.subscriber?.network;
    const pooled = network !== undefined && FORMATS[network]?.test(i.newNumber) === true;
    const [number, newNumberInUse, oldLevel] = await Promise.all([
      pooled ? r.numberCheck(c.q, i.newNumber, { orderId: c.orderId, channel: 'hall', approvedBy: i.numberApprovedBy }) : Promise.resolve({ problems: [], level: null }),
      network ? c.services.accounts.numberInUse(i.newNumber, network, c.q) : Promise.resolve(false),
      g.subscriber ? r.numberLevelOf(c.q, g.subscriber.serviceNumber) : Promise.resolve(null),
    ]);
    return { ...g, numberFailures: number.problems, level: number.level, newNumberInUse, oldNumberInPool: oldLevel !== null };
  },

  check(f, i) {
    const out: CheckFailure[] = baseFailures(f, i);
    const s = f.subscriber;
    if (!s) return out;
    const format = FORMATS[s.network];
    if (!format) {
      out.push(failure('NUMBER_CHANGE_NOT_APPLICABLE', { zh: '宽带帐号不能改号', en: 'A broadband account has no pool number to change' }, { zh: '请选择手机或固话号码', en: 'Choose a mobile or fixed line' }));
      return out;
    }
    if (i.newNumber === s.serviceNumber) {
      out.push(failure('SAME_NUMBER', { zh: '新号码与原号码相同', en: 'The new number is the current number' }, { zh: '请选择另一个号码', en: 'Choose another number' }));
      return out;
    }
    if (!format.test(i.newNumber)) {
      out.push(
        failure('INVALID_SERVICE_NUMBER', { zh: `号码格式与网络类型不符：${i.newNumber}`, en: `The number does not fit network ${s.network}: ${i.newNumber}` }, { zh: '请重新选号', en: 'Choose the number again' }, {
          serviceNumber: i.newNumber,
        }),
      );
    }
    if (f.newNumberInUse) {
      out.push(failure('SERVICE_NUMBER_TAKEN', { zh: `号码已被使用：${i.newNumber}`, en: `The number is in use: ${i.newNumber}` }, { zh: '请换一个号码', en: 'Choose another number' }, { serviceNumber: i.newNumber }));
    }
    out.push(...f.numberFailures);
    return out;
  },

  quote(f, _i, env): QuoteLine[] {
    const lines = feeLine(env, 'CHANGE_NUMBER');
    if (f.level && f.level.priceFen > 0) {
      const lv = env.fees.get('NUMBER_LEVEL');
      lines.push({
        feeCode: 'NUMBER_LEVEL',
        kind: 'fee',
        name: { zh: `选号费（${f.level.name.zh}）`, en: `Number fee (${f.level.name.en})` },
        itemCode: lv?.itemCode ?? 'ONE_OFF',
        memberRole: 'main',
        amountFen: f.level.priceFen,
        waivable: lv?.waivable ?? true,
      });
    }
    return lines;
  },

  describe(f, i) {
    return [...subscriberLine(f.subscriber), { label: { zh: '新号码', en: 'New number' }, value: i.newNumber }];
  },

  notices: () => [{ zh: '原号码将冻结，冷冻期满后回收再售；请提醒客户通知亲友新号码。', en: 'The old number is frozen and later recycled; remind the customer to tell contacts the new number.' }],

  subjects: (f, i) => [subscriberSubject(i.subscriberId), numberSubject(i.newNumber), ...(f.subscriber ? [numberSubject(f.subscriber.serviceNumber)] : [])],

  async apply(c, f, i) {
    const s = f.subscriber as NonNullable<ChangeNumberFacts['subscriber']>;
    const r = c.services.resources;
    // the old number is frozen first: a subscriber holds one in-use number of the pool at a time
    const old = f.oldNumberInPool ? await r.releaseNumber(c.tx, s.serviceNumber, 'change_number', c.actor) : null;
    await r.takeNumber(c.tx, i.newNumber, { orderId: c.orderId, subscriberId: s.subscriberId, customerId: s.customerId, actor: c.actor });
    await c.services.accounts.changeServiceNumber(c.tx, c.actor, s.subscriberId, i.newNumber, { orderId: c.orderId });
    if (s.iccid) await r.renumberSim(c.tx, s.iccid, i.newNumber, c.actor);
    const command = await provision(c, s, 'change_number', { oldNumber: s.serviceNumber, newNumber: i.newNumber, imsi: s.imsi });
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      result: { oldNumber: s.serviceNumber, newNumber: i.newNumber, oldNumberState: old?.state ?? null, coolingUntil: old?.coolingUntil ?? null, provisioning: [command] },
    };
  },
};
