import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  canSimTransition,
  canTransition,
  coolingUntil,
  deriveLevel,
  hasValidLuhn,
  type LevelPattern,
  luhnCheckDigit,
  matchesPattern,
  type NumberFacts,
  numberFailures,
  type NumberLevel,
  type NumberPolicy,
  type NumberState,
  patternProblem,
  recycledReleaseCutoff,
  reservationExpiry,
  reservationFailures,
  simFailures,
} from './rules.ts';

const level = (code: string, priority: number, patterns: LevelPattern[], extra: Partial<NumberLevel> = {}): NumberLevel => ({
  code,
  nameZh: code,
  nameEn: code,
  patterns,
  priority,
  priceFen: 0,
  requiresApproval: false,
  requiresCampaign: false,
  agentAllowed: true,
  ...extra,
});

// the shape of the demo levels in migrations/0008_resources.sql
const LEVELS = [
  level('ordinary', 1000, [{ kind: 'any' }]),
  level('luxury_c', 30, [{ kind: 'suffix', values: ['88', '66', '99', '168', '518'] }, { kind: 'tail_run', length: 3, step: 1 }], { priceFen: 10000, agentAllowed: false }),
  level(
    'luxury_b',
    20,
    [
      { kind: 'tail_shape', shape: 'AAA' },
      { kind: 'tail_run', length: 4, step: 1 },
      { kind: 'tail_run', length: 4, step: -1 },
      { kind: 'tail_shape', shape: 'AABB' },
      { kind: 'tail_shape', shape: 'ABAB' },
    ],
    { priceFen: 50000, requiresApproval: true, agentAllowed: false },
  ),
  level(
    'luxury_a',
    10,
    [
      { kind: 'tail_shape', shape: 'AAAA' },
      { kind: 'tail_run', length: 5, step: 1 },
      { kind: 'suffix', values: ['888', '666', '999'] },
    ],
    { priceFen: 200000, requiresApproval: true, agentAllowed: false },
  ),
];
const levelOf = (n: string) => deriveLevel(n, LEVELS)?.code;
const byCode = (code: string) => LEVELS.find((l) => l.code === code) as NumberLevel;

const NOW = new Date('2026-11-15T02:00:00Z');
const HOUR = 3600_000;
const POLICY: NumberPolicy = { holdHours: { online: 72, card_writing: 12, order: 24 }, coolingDays: 90, recycledHoldHours: 0 };

const facts = (state: NumberState, extra: Partial<NumberFacts> = {}): NumberFacts => ({
  serviceNumber: '13902201357',
  state,
  reservationKind: state === 'reserved' ? 'online' : null,
  reservedOrderId: null,
  reservedCustomerId: null,
  reservedOperatorId: null,
  reservedUntil: state === 'reserved' ? new Date(NOW.getTime() + HOUR) : null,
  ...extra,
});
const codes = (fs: { code: string }[]) => fs.map((f) => f.code);

describe('R-X-10 number levels are derived from patterns', () => {
  test('R-X-10 tail_shape AAAA matches a 4-repeat tail only', () => {
    const p: LevelPattern = { kind: 'tail_shape', shape: 'AAAA' };
    expect(matchesPattern('13902208888', p)).toBe(true);
    expect(matchesPattern('13902200000', p)).toBe(true);
    expect(matchesPattern('13902208788', p)).toBe(false);
    expect(matchesPattern('888', p)).toBe(false);
  });

  test('R-X-10 tail_shape AABB and ABAB: different letters must be different digits', () => {
    expect(matchesPattern('13902201122', { kind: 'tail_shape', shape: 'AABB' })).toBe(true);
    expect(matchesPattern('13902201111', { kind: 'tail_shape', shape: 'AABB' })).toBe(false);
    expect(matchesPattern('13902201212', { kind: 'tail_shape', shape: 'ABAB' })).toBe(true);
    expect(matchesPattern('13902201221', { kind: 'tail_shape', shape: 'ABAB' })).toBe(false);
    expect(matchesPattern('13902201221', { kind: 'tail_shape', shape: 'ABBA' })).toBe(true);
  });

  test('R-X-10 tail_run: ABCD ascending, DCBA descending, no wrap from 9 to 0', () => {
    expect(matchesPattern('13902201234', { kind: 'tail_run', length: 4, step: 1 })).toBe(true);
    expect(matchesPattern('13902204321', { kind: 'tail_run', length: 4, step: -1 })).toBe(true);
    expect(matchesPattern('13902204321', { kind: 'tail_run', length: 4, step: 1 })).toBe(false);
    expect(matchesPattern('13902207890', { kind: 'tail_run', length: 4, step: 1 })).toBe(false);
    expect(matchesPattern('13902201235', { kind: 'tail_run', length: 4, step: 1 })).toBe(false);
  });

  test('R-X-10 suffix: 888 and 666 endings', () => {
    const p: LevelPattern = { kind: 'suffix', values: ['888', '666'] };
    expect(matchesPattern('18911000888', p)).toBe(true);
    expect(matchesPattern('18911001666', p)).toBe(true);
    expect(matchesPattern('18911001686', p)).toBe(false);
    expect(matchesPattern('18911001689', { kind: 'regex', pattern: '^189' })).toBe(true);
  });

  test('R-X-10 a 4-repeat number is level 靓号A and needs approval', () => {
    expect(levelOf('13902208888')).toBe('luxury_a');
    const fs = numberFailures(facts('free', { serviceNumber: '13902208888' }), byCode('luxury_a'), { channel: 'hall' }, NOW);
    expect(codes(fs)).toEqual(['NUMBER_NEEDS_APPROVAL']);
    expect(fs[0]?.message.zh).toContain('须经审批');
    expect(fs[0]?.fix.en).toMatch(/approv/);
    expect(numberFailures(facts('free'), byCode('luxury_a'), { channel: 'hall', approvedBy: 'manager01' }, NOW)).toEqual([]);
  });

  test('R-X-10 the most valuable level that matches wins; ordinary when nothing else does', () => {
    expect(levelOf('13902200888')).toBe('luxury_a'); // 888 ending (A) although also AAA (B)
    expect(levelOf('13902202777')).toBe('luxury_b'); // AAA
    expect(levelOf('13902205678')).toBe('luxury_b'); // ABCD
    expect(levelOf('13902201234')).toBe('luxury_a'); // 01234: a 5-run
    expect(levelOf('13902204321')).toBe('luxury_b'); // DCBA
    expect(levelOf('13902203344')).toBe('luxury_b'); // AABB
    expect(levelOf('13902205858')).toBe('luxury_b'); // ABAB
    expect(levelOf('13902200168')).toBe('luxury_c'); // 168
    expect(levelOf('13902200789')).toBe('luxury_c'); // ABC
    expect(levelOf('13902203571')).toBe('ordinary');
    expect(deriveLevel('13902203571', LEVELS.filter((l) => l.code !== 'ordinary'))).toBeUndefined();
  });

  test('R-X-10 every number gets exactly the first matching level by priority (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^1[3-9][0-9]{9}$/), (n) => {
        const got = deriveLevel(n, LEVELS) as NumberLevel;
        const better = LEVELS.filter((l) => l.priority < got.priority);
        return got.patterns.some((p) => matchesPattern(n, p)) && better.every((l) => !l.patterns.some((p) => matchesPattern(n, p)));
      }),
    );
  });

  test('R-X-10 agent channels cannot sell 靓号; ordinary numbers they can', () => {
    expect(codes(numberFailures(facts('free'), byCode('luxury_c'), { channel: 'agent' }, NOW))).toEqual(['NUMBER_LEVEL_AGENT_FORBIDDEN']);
    expect(codes(numberFailures(facts('free'), byCode('luxury_a'), { channel: 'agent' }, NOW))).toEqual(['NUMBER_LEVEL_AGENT_FORBIDDEN', 'NUMBER_NEEDS_APPROVAL']);
    expect(numberFailures(facts('free'), byCode('ordinary'), { channel: 'agent' }, NOW)).toEqual([]);
    expect(codes(reservationFailures(facts('free'), byCode('luxury_b'), 'agent', NOW))).toEqual(['NUMBER_LEVEL_AGENT_FORBIDDEN']);
  });

  test('R-X-10 a level may require a bound campaign', () => {
    const l = level('luxury_s', 5, [{ kind: 'tail_shape', shape: 'AAAAA' }], { requiresCampaign: true });
    expect(codes(numberFailures(facts('free'), l, { channel: 'hall' }, NOW))).toEqual(['NUMBER_NEEDS_CAMPAIGN']);
    expect(numberFailures(facts('free'), l, { channel: 'hall', campaignCode: 'PRESTORE-300' }, NOW)).toEqual([]);
  });

  test('R-X-10 pattern data is checked: unknown kinds, bad shapes and broken regexes are refused', () => {
    expect(patternProblem({ kind: 'tail_shape', shape: 'AABB' })).toBeNull();
    expect(patternProblem({ kind: 'tail_shape', shape: 'aabb' })).toMatch(/shape/);
    expect(patternProblem({ kind: 'tail_run', length: 4, step: 2 })).toMatch(/step/);
    expect(patternProblem({ kind: 'suffix', values: [] })).toMatch(/suffix/);
    expect(patternProblem({ kind: 'regex', pattern: '(' })).toMatch(/compile/);
    expect(patternProblem({ kind: 'lucky' })).toMatch(/unknown/);
    expect(patternProblem('AAAA')).toMatch(/object/);
  });
});

describe('R-X-10 reservations and the number lifecycle', () => {
  test('R-X-10 reservation expiry comes from the policy: 72 h online selection, 12 h card-writing data', () => {
    expect(reservationExpiry(POLICY, 'online', NOW).getTime() - NOW.getTime()).toBe(72 * HOUR);
    expect(reservationExpiry(POLICY, 'card_writing', NOW).getTime() - NOW.getTime()).toBe(12 * HOUR);
    expect(reservationExpiry({ ...POLICY, holdHours: { ...POLICY.holdHours, online: 24 } }, 'online', NOW).getTime() - NOW.getTime()).toBe(24 * HOUR);
    expect(coolingUntil(POLICY, NOW).getTime() - NOW.getTime()).toBe(90 * 24 * HOUR);
    expect(recycledReleaseCutoff({ ...POLICY, recycledHoldHours: 48 }, NOW).getTime()).toBe(NOW.getTime() - 48 * HOUR);
  });

  test('R-X-10 a live reservation holds the number for its order, its customer or its operator only', () => {
    const ord = facts('reserved', { reservationKind: 'order', reservedOrderId: 7, reservedOperatorId: 3 });
    const l = byCode('ordinary');
    expect(numberFailures(ord, l, { channel: 'hall', orderId: 7 }, NOW)).toEqual([]);
    expect(codes(numberFailures(ord, l, { channel: 'hall', orderId: 8 }, NOW))).toEqual(['NUMBER_RESERVED']);
    // an order's hold is the order's, not its operator's
    expect(codes(numberFailures(ord, l, { channel: 'hall', operatorId: 3 }, NOW))).toEqual(['NUMBER_RESERVED']);
    const cust = facts('reserved', { reservedCustomerId: 42, reservedOperatorId: 3 });
    expect(numberFailures(cust, l, { channel: 'hall', customerId: 42 }, NOW)).toEqual([]);
    expect(codes(numberFailures(cust, l, { channel: 'hall', customerId: 43, operatorId: 3 }, NOW))).toEqual(['NUMBER_RESERVED']);
    const bare = facts('reserved', { reservedOperatorId: 3 });
    expect(numberFailures(bare, l, { channel: 'hall', operatorId: 3 }, NOW)).toEqual([]);
    expect(codes(numberFailures(bare, l, { channel: 'hall', operatorId: 4 }, NOW))).toEqual(['NUMBER_RESERVED']);
  });

  test('R-X-10 an expired reservation holds nothing: anyone may take or reserve the number', () => {
    const expired = facts('reserved', { reservedCustomerId: 42, reservedUntil: NOW });
    expect(numberFailures(expired, byCode('ordinary'), { channel: 'hall', customerId: 1 }, NOW)).toEqual([]);
    expect(reservationFailures(expired, byCode('ordinary'), 'hall', NOW)).toEqual([]);
    // a live one cannot be renewed, not even by its holder
    const live = facts('reserved', { reservedCustomerId: 42 });
    expect(codes(reservationFailures(live, byCode('ordinary'), 'hall', NOW))).toEqual(['NUMBER_RESERVED']);
  });

  test('R-X-10 numbers in use, frozen, recycled or unknown cannot be taken, whatever their level', () => {
    expect(codes(numberFailures(undefined, undefined, { channel: 'hall' }, NOW, '13900000000'))).toEqual(['NUMBER_NOT_FOUND']);
    expect(codes(numberFailures(facts('in_use'), byCode('luxury_a'), { channel: 'agent' }, NOW))).toEqual(['NUMBER_IN_USE']);
    expect(codes(numberFailures(facts('frozen'), byCode('ordinary'), { channel: 'hall' }, NOW))).toEqual(['NUMBER_FROZEN']);
    expect(codes(numberFailures(facts('recycled'), byCode('ordinary'), { channel: 'hall' }, NOW))).toEqual(['NUMBER_RECYCLED']);
  });

  test('R-X-10 number states: free → reserved → in_use → frozen → recycled → free, no step skipped', () => {
    const allowed: [NumberState, NumberState][] = [
      ['free', 'reserved'],
      ['free', 'in_use'],
      ['reserved', 'free'],
      ['reserved', 'in_use'],
      ['in_use', 'frozen'],
      ['frozen', 'recycled'],
      ['recycled', 'free'],
    ];
    const states: NumberState[] = ['free', 'reserved', 'in_use', 'frozen', 'recycled'];
    for (const from of states) {
      for (const to of states) expect(canTransition(from, to), `${from} → ${to}`).toBe(allowed.some(([a, b]) => a === from && b === to));
    }
  });

  test('R-X-11 SIM lifecycle: in stock → picked → written → activated → retired; a failed activation gives a written card back', () => {
    expect(canSimTransition('in_stock', 'picked')).toBe(true);
    expect(canSimTransition('picked', 'written')).toBe(true);
    expect(canSimTransition('written', 'activated')).toBe(true);
    expect(canSimTransition('written', 'picked')).toBe(true);
    expect(canSimTransition('picked', 'returned')).toBe(true);
    expect(canSimTransition('activated', 'retired')).toBe(true);
    expect(canSimTransition('retired', 'in_stock')).toBe(false);
    expect(canSimTransition('activated', 'in_stock')).toBe(false);
    expect(canSimTransition('in_stock', 'written')).toBe(false);
  });
});

describe('R-RES-4 which SIM card an order can activate', () => {
  const sim = (extra: Partial<Parameters<typeof simFailures>[0] & object> = {}) => ({
    iccid: '89860126100000000007',
    cardType: 'finished' as const,
    state: 'in_stock' as const,
    reservedOrderId: null,
    serviceNumber: null,
    ...extra,
  });

  test('R-RES-4 a finished card in stock can be activated for any number; unknown cards are named', () => {
    expect(simFailures(sim(), { serviceNumber: '13902203571' })).toEqual([]);
    expect(codes(simFailures(undefined, {}, '89860000000000000000'))).toEqual(['SIM_NOT_FOUND']);
  });

  test('R-RES-4 a card that is activated, retired or reserved for another order is not available', () => {
    expect(codes(simFailures(sim({ state: 'activated' }), {}))).toEqual(['SIM_NOT_AVAILABLE']);
    expect(codes(simFailures(sim({ state: 'retired' }), {}))).toEqual(['SIM_NOT_AVAILABLE']);
    expect(codes(simFailures(sim({ state: 'reserved', reservedOrderId: 5 }), { orderId: 6 }))).toEqual(['SIM_NOT_AVAILABLE']);
    expect(simFailures(sim({ state: 'reserved', reservedOrderId: 5 }), { orderId: 5 })).toEqual([]);
  });

  test('R-RES-4 a finished card paired with another number is refused (SIM_NUMBER_MISMATCH)', () => {
    const paired = sim({ serviceNumber: '18911002468' });
    expect(codes(simFailures(paired, { serviceNumber: '13902203571' }))).toEqual(['SIM_NUMBER_MISMATCH']);
    expect(simFailures(paired, { serviceNumber: '18911002468' })).toEqual([]);
  });

  test('R-RES-4 a blank card must be written with the number before activation', () => {
    expect(codes(simFailures(sim({ cardType: 'blank_128k' }), { serviceNumber: '13902203571' }))).toEqual(['SIM_NOT_WRITTEN']);
    expect(simFailures(sim({ cardType: 'blank_128k_micro', state: 'written', serviceNumber: '13902203571' }), { serviceNumber: '13902203571' })).toEqual([]);
    expect(codes(simFailures(sim({ cardType: 'blank_128k', state: 'written', serviceNumber: '13902203571' }), { serviceNumber: '13902209753' }))).toEqual(['SIM_NUMBER_MISMATCH']);
  });

  test('R-RES-5 ICCID and IMEI check digits (Luhn)', () => {
    expect(luhnCheckDigit('7992739871')).toBe(3); // the textbook example 79927398713
    expect(hasValidLuhn('79927398713')).toBe(true);
    expect(hasValidLuhn('79927398710')).toBe(false);
    expect(hasValidLuhn('490154203237518')).toBe(true); // a published sample IMEI
    const body = '8986012610000000007';
    expect(hasValidLuhn(body + luhnCheckDigit(body))).toBe(true);
    fc.assert(fc.property(fc.stringMatching(/^[0-9]{14,19}$/), (b) => hasValidLuhn(b + luhnCheckDigit(b)) && !hasValidLuhn(b + ((luhnCheckDigit(b) + 1) % 10))));
  });
});
