import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { creditExhaustion, firstCycleRentFen, isOnline, monthlyFeeFen, type Offer, planChangeFailures } from './rules.ts';

const T = new Date('2026-11-15T02:00:00Z'); // 2026-11-15 10:00 Shanghai

function plan(code: string, over: Partial<Offer> = {}): Offer {
  return {
    offerCode: code,
    kind: 'plan',
    nameZh: code,
    nameEn: code,
    brandCode: null,
    network: 'gsm2g',
    validFrom: new Date('2020-01-01T00:00:00+08:00'),
    validTo: null,
    allowedPredecessors: null,
    forbiddenSwitches: [],
    members: null,
    linkage: null,
    requiresSmsConfirmation: false,
    minimumSpendFen: 0,
    termMonths: 0,
    customerSegment: null,
    attributes: {},
    bundle: null,
    charges: [{ kind: 'recurring', itemCode: 'RENT_PLAN', memberRole: null, amountFen: 3000 }],
    ...over,
  };
}
const codesOf = (f: { code: string }[]) => f.map((x) => x.code).sort();
const on = (o: Offer) => ({ offer: o, termEndsAt: null, minimumSpendFen: 0 });

describe('catalog validity (§8.4)', () => {
  test('§8.4 an offer is online inside its window and expired outside it', () => {
    const o = plan('P', { validFrom: new Date('2026-01-01T00:00:00+08:00'), validTo: new Date('2026-11-15T10:00:00+08:00') });
    expect(isOnline(o, new Date('2026-11-15T09:59:59+08:00'))).toBe(true);
    expect(isOnline(o, new Date('2026-11-15T10:00:00+08:00'))).toBe(false);
    expect(isOnline(o, new Date('2025-12-31T23:59:59+08:00'))).toBe(false);
  });
});

describe('plan changes', () => {
  const shared = plan('SHARED-MIN', { forbiddenSwitches: ['MF-1PLUS1'] });
  const mf = plan('MF-1PLUS1', { forbiddenSwitches: [] });
  test('R-BND-16 a forbidden switch is refused in both directions, even when only one side names it', () => {
    expect(codesOf(planChangeFailures(on(shared), mf, 'gsm2g', T))).toEqual(['PLAN_SWITCH_FORBIDDEN']);
    expect(codesOf(planChangeFailures(on(mf), shared, 'gsm2g', T))).toEqual(['PLAN_SWITCH_FORBIDDEN']);
    expect(codesOf(planChangeFailures(on(plan('G2-18')), mf, 'gsm2g', T))).toEqual([]);
  });
  test('R-BND-17 only a subscriber on an allowed predecessor may take the plan', () => {
    const neu = plan('SUIYIDA-1PLUS1', { allowedPredecessors: ['SUIYIDA-OLD'] });
    expect(codesOf(planChangeFailures(on(plan('SUIYIDA-OLD')), neu, 'gsm2g', T))).toEqual([]);
    expect(codesOf(planChangeFailures(on(plan('G2-18')), neu, 'gsm2g', T))).toEqual(['PLAN_PREDECESSOR_REQUIRED']);
  });
  test('R-ORD-11 expired, wrong network, same plan and non-plans are refused together', () => {
    const old = plan('OLD', { validTo: new Date('2020-06-01T00:00:00+08:00'), network: 'wcdma3g', kind: 'pack' });
    expect(codesOf(planChangeFailures(on(old), old, 'gsm2g', T))).toEqual(['NOT_A_PLAN', 'OFFER_NETWORK_MISMATCH', 'OFFER_NOT_ONLINE', 'SAME_PLAN']);
  });
  test('R-X-14 a minimum-spend term blocks cheaper plans until it ends, not equal or dearer ones', () => {
    const contract = plan('C96', { charges: [{ kind: 'recurring', itemCode: 'RENT_PLAN', memberRole: null, amountFen: 9600 }] });
    const from = { offer: contract, termEndsAt: new Date('2027-11-15T00:00:00+08:00'), minimumSpendFen: 9600 };
    const cheap = plan('C46', { charges: [{ kind: 'recurring', itemCode: 'RENT_PLAN', memberRole: null, amountFen: 4600 }] });
    const dear = plan('C126', { charges: [{ kind: 'recurring', itemCode: 'RENT_PLAN', memberRole: null, amountFen: 12600 }] });
    expect(codesOf(planChangeFailures(from, cheap, 'gsm2g', T))).toEqual(['MINIMUM_SPEND_TERM']);
    expect(codesOf(planChangeFailures(from, dear, 'gsm2g', T))).toEqual([]);
    expect(codesOf(planChangeFailures(from, cheap, 'gsm2g', new Date('2027-11-15T00:00:00+08:00')))).toEqual([]);
  });
});

describe('R-E9-4 credit exhaustion', () => {
  test('R-E9-4 seed 002: 100 yuan of credit stops e9-C’s 19-yuan mobile in month 6 and e9-G’s 29-yuan one in month 4', () => {
    expect(creditExhaustion(10000, 1900, T)).toEqual({ cycle: '2027-04', month: 6 });
    expect(creditExhaustion(10000, 2900, T)).toEqual({ cycle: '2027-02', month: 4 });
  });
  test('R-E9-4 the activation month is charged pro rata by day (R-BIL-4)', () => {
    expect(firstCycleRentFen(3000, new Date('2026-11-01T00:00:00+08:00'))).toBe(3000);
    expect(firstCycleRentFen(3000, new Date('2026-11-30T12:00:00+08:00'))).toBe(100);
    expect(creditExhaustion(50, 3000, new Date('2026-11-01T00:00:00+08:00'))).toEqual({ cycle: '2026-11', month: 1 });
    expect(creditExhaustion(10000, 0, T)).toBeNull();
  });
  test('R-E9-4 property: the months paid for never cost more than the credit, one more month always does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 50_000 }), fc.integer({ min: 0, max: 365 * 3 }), (credit, monthly, days) => {
        const at = new Date(T.getTime() + days * 86_400_000);
        const r = creditExhaustion(credit, monthly, at);
        if (!r) return false;
        const paid = firstCycleRentFen(monthly, at) + (r.month - 2) * monthly;
        // conservation of the credit: all months before the stop month were covered, the stop month is not
        return (r.month === 1 ? firstCycleRentFen(monthly, at) > credit : paid <= credit && paid + monthly > credit);
      }),
    );
  });
  test('monthly fee per member role', () => {
    const e9 = plan('e9-C', {
      kind: 'package',
      charges: [
        { kind: 'recurring', itemCode: 'RENT_BB', memberRole: 'broadband', amountFen: 5000 },
        { kind: 'recurring', itemCode: 'RENT_PLAN', memberRole: 'mobile', amountFen: 1900 },
        { kind: 'one_off', itemCode: 'ONE_OFF', memberRole: 'broadband', amountFen: 5800 },
      ],
    });
    expect([monthlyFeeFen(e9), monthlyFeeFen(e9, 'mobile'), monthlyFeeFen(e9, 'broadband')]).toEqual([6900, 1900, 5000]);
  });
});
