import { describe, expect, test } from 'vitest';
import type { Offer } from '../catalog/rules.ts';
import { type BindFacts, bindFailures, type BindMemberFacts, bundleRestrictionFailures, subscribersInFacts } from './rules.ts';

const T = new Date('2026-11-15T02:00:00Z');

function offer(code: string, over: Partial<Offer> = {}): Offer {
  return {
    offerCode: code,
    kind: 'bundle',
    nameZh: code,
    nameEn: code,
    brandCode: null,
    network: null,
    validFrom: new Date('2020-01-01T00:00:00+08:00'),
    validTo: null,
    allowedPredecessors: null,
    forbiddenSwitches: [],
    members: [
      { role: 'mobile', network: 'gsm2g' },
      { role: 'broadband', network: 'broadband' },
    ],
    linkage: 'next_cycle_if_funded',
    requiresSmsConfirmation: false,
    minimumSpendFen: 0,
    termMonths: 0,
    customerSegment: null,
    attributes: {},
    charges: [],
    bundle: { generation: '2G', requiresJointAccount: true, requiresSameNumber: true, familyRoles: null, allowsContractPlans: false, oncePerMonth: false, grants: [] },
    ...over,
  };
}

const owner = { customerId: 1, name: '李捆绑', idType: 'resident_id', idNumber: '110105198001011234' };
function member(role: string, n: string, over: Partial<NonNullable<BindMemberFacts['subscriber']>> = {}, who = owner): BindMemberFacts {
  return {
    role,
    serviceNumber: n,
    subscriber: {
      subscriberId: role === 'mobile' ? 10 : 11,
      serviceNumber: n,
      network: role === 'mobile' ? 'gsm2g' : 'broadband',
      customerId: who.customerId,
      accountId: 100,
      lifecycle: 'normal',
      status: 'normal',
      packageId: null,
      planCode: role === 'mobile' ? 'G2-18' : 'BB-4M',
      plan: undefined,
      bundle: null,
      ...over,
    },
    owner: who,
  };
}
const input = (f: BindFacts) => ({ customerId: 1, offerCode: f.offer?.offerCode ?? 'X', members: f.members.map((m) => ({ role: m.role, serviceNumber: m.serviceNumber })) });
const codes = (f: BindFacts) => bindFailures(f, input(f), T).map((x) => x.code);

describe('bundle binding rules (pure)', () => {
  test('R-BND-2 R-BND-3 R-BND-4 every failure at once: other number, other person, two accounts', () => {
    const f: BindFacts = {
      offer: offer('BND-2G-BB'),
      members: [member('mobile', '13300000001'), member('broadband', 'adsl0001', { accountId: 200, customerId: 2 }, { ...owner, customerId: 2, name: '王别人' })],
      touchedThisMonth: [],
    };
    expect(codes(f).sort()).toEqual(['BUNDLE_JOINT_ACCOUNT_REQUIRED', 'BUNDLE_NUMBER_MISMATCH', 'BUNDLE_OWNER_MISMATCH']);
  });

  test('R-BND-3 the same name and ID under another customer record is the same person', () => {
    const f: BindFacts = { offer: offer('BND-2G-BB'), members: [member('mobile', '133'), member('broadband', '133', { customerId: 2 }, { ...owner, customerId: 2 })], touchedThisMonth: [] };
    expect(codes(f)).toEqual([]);
  });

  test('R-BND-5 a contract plan needs a bundle that allows it; R-BND-16 forbidden switches both ways and once a month', () => {
    const contract = { ...offer('W3-96-C24', { kind: 'plan', termMonths: 24, minimumSpendFen: 9600 }), bundle: null };
    const f: BindFacts = { offer: offer('B'), members: [member('mobile', '133', { plan: contract, planCode: 'W3-96-C24' }), member('broadband', '133')], touchedThisMonth: [] };
    expect(codes(f)).toEqual(['BUNDLE_CONTRACT_PLAN_NOT_ALLOWED']);
    const g3 = offer('B3', { bundle: { generation: '3G', requiresJointAccount: false, requiresSameNumber: true, familyRoles: null, allowsContractPlans: true, oncePerMonth: false, grants: [] } });
    expect(codes({ ...f, offer: g3 })).toEqual([]);

    const mf = offer('MF', { forbiddenSwitches: ['SHARED-MIN'], bundle: { generation: 'other', requiresJointAccount: true, requiresSameNumber: false, familyRoles: null, allowsContractPlans: false, oncePerMonth: true, grants: [] } });
    const shared = member('mobile', '133', { planCode: 'SHARED-MIN' });
    expect(codes({ offer: mf, members: [shared, member('broadband', 'x1')], touchedThisMonth: [] })).toEqual(['BUNDLE_SWITCH_FORBIDDEN']);
    const other = { ...offer('P', { kind: 'plan', forbiddenSwitches: ['MF'] }), bundle: null };
    expect(codes({ offer: mf, members: [member('mobile', '133', { planCode: 'P', plan: other }), member('broadband', 'x1')], touchedThisMonth: [] })).toEqual(['BUNDLE_SWITCH_FORBIDDEN']);
    expect(codes({ offer: mf, members: [member('mobile', '133'), member('broadband', 'x1')], touchedThisMonth: [10] })).toEqual(['BUNDLE_ONCE_PER_MONTH']);
  });

  test('R-BND-1 R-BND-5 not in service, not normal, already bound, in a package', () => {
    const gone: BindMemberFacts = { role: 'broadband', serviceNumber: '133', subscriber: null, owner: null };
    expect(codes({ offer: offer('B'), members: [member('mobile', '133'), gone], touchedThisMonth: [] })).toEqual(['BUNDLE_MEMBER_NOT_IN_SERVICE']);
    const f: BindFacts = {
      offer: offer('B'),
      members: [member('mobile', '133', { status: 'arrears_stop', bundle: { packageId: 5, offerCode: 'B', role: 'mobile' }, packageId: 5 }), member('broadband', '133', { packageId: 9 })],
      touchedThisMonth: [],
    };
    expect(codes(f).sort()).toEqual(['BUNDLE_MEMBER_ALREADY_BOUND', 'BUNDLE_MEMBER_IN_PACKAGE', 'BUNDLE_MEMBER_NOT_NORMAL']);
  });
});

describe('while bound (pure)', () => {
  const bound = { subscriberId: 1, serviceNumber: '133', status: 'normal', bundle: { packageId: 5, offerCode: 'BND-2G-BB', role: 'mobile' } };
  test('R-BND-14 the restricted types are refused for a bound member, others are not', () => {
    for (const t of ['CHANGE_PLAN', 'CANCEL', 'PRE_CANCEL', 'SUSPEND', 'TRANSFER_OWNERSHIP', 'HOUSEHOLD_MERGE', 'HOUSEHOLD_SPLIT', 'CHANGE_NUMBER']) {
      expect(bundleRestrictionFailures(t, [bound]).map((f) => f.code)).toEqual(['BUNDLE_BOUND_RESTRICTED']);
    }
    expect(bundleRestrictionFailures('FEATURES', [bound])).toEqual([]);
    expect(bundleRestrictionFailures('CHANGE_PLAN', [{ ...bound, bundle: null }])).toEqual([]);
  });

  test('R-BND-11 bundle_stop accepts top-ups only', () => {
    const stopped = { ...bound, status: 'bundle_stop', bundle: null };
    expect(bundleRestrictionFailures('PAYMENT', [stopped])).toEqual([]);
    expect(bundleRestrictionFailures('RESUME', [stopped]).map((f) => f.code)).toEqual(['BUNDLE_STOP_TOPUP_ONLY']);
  });

  test('R-BND-14 subscribers are found in facts: fields, arrays, { facts } and moved lists', () => {
    const got = subscribersInFacts({
      subscriber: bound,
      subscribers: [{ id: 2, facts: { ...bound, subscriberId: 2 } }],
      moved: [{ subscriberId: 3, serviceNumber: '134' }],
      other: { x: 1 },
    });
    expect(got.known.map((s) => s.subscriberId)).toEqual([1, 2]);
    expect(got.unknown.map((s) => s.subscriberId)).toEqual([3]);
  });
});
