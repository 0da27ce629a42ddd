// Unit tests for payment relations (帐务关系): R-ACC-8, R-ACC-9, R-ACC-10. No database.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { assignCharges, groupMode, type AssignedCharge, type Charge, type RelationState } from './relations.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------------------------

const DEFAULT_ACCOUNT = 9000;

function rel(relationId: number, over: Partial<RelationState> = {}): RelationState {
  return { relationId, payerAccountId: 1000 + relationId, priority: 1, items: null, limitFen: null, usedFen: 0, ...over };
}

function charge(itemCode: string, amountFen: number, itemPriority = 1): Charge {
  return { itemCode, itemPriority, amountFen };
}

/** An assignment to a relation (payer account = 1000 + relationId, as rel() builds it). */
function toRel(relationId: number, itemCode: string, amountFen: number): AssignedCharge {
  return { itemCode, amountFen, payerAccountId: 1000 + relationId, relationId };
}

/** An assignment that fell to the subscriber's default account (R-ACC-8). */
function toDefault(itemCode: string, amountFen: number): AssignedCharge {
  return { itemCode, amountFen, payerAccountId: DEFAULT_ACCOUNT, relationId: null };
}

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object' && !Object.isFrozen(x)) {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

function totalsByItem(xs: readonly { itemCode: string; amountFen: number }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x.itemCode, (m.get(x.itemCode) ?? 0) + x.amountFen);
  for (const [k, v] of m) if (v === 0) m.delete(k);
  return m;
}

function totalByRelation(out: readonly AssignedCharge[], relationId: number | null): number {
  return out.filter((o) => o.relationId === relationId).reduce((s, o) => s + o.amountFen, 0);
}

/** Assigns on frozen inputs, checks non-mutation and per-item conservation, returns the result. */
function assign(charges: Charge[], relations: RelationState[], defaultAccountId = DEFAULT_ACCOUNT): AssignedCharge[] {
  const before = structuredClone({ charges, relations });
  const out = assignCharges(deepFreeze(charges), deepFreeze(relations), defaultAccountId);
  expect({ charges, relations }).toEqual(before);
  expect(totalsByItem(out)).toEqual(totalsByItem(charges));
  for (const o of out) {
    expect(Number.isSafeInteger(o.amountFen)).toBe(true);
    expect(o.amountFen).toBeGreaterThan(0);
  }
  return out;
}

const RENT = charge('RENT_PLAN', 3000, 1);
const DATA = charge('DATA', 2000, 2);
const SMS = charge('SMS', 500, 3);

// ---------------------------------------------------------------------------------------------
// R-ACC-8 default relation
// ---------------------------------------------------------------------------------------------

describe('R-ACC-8 the default relation to the subscriber\'s own account', () => {
  test('R-ACC-8 with no relations everything goes to the default account, one row per charge in input order', () => {
    const out = assign([SMS, RENT, DATA], []);
    expect(out).toEqual([toDefault('SMS', 500), toDefault('RENT_PLAN', 3000), toDefault('DATA', 2000)]);
  });

  test('R-ACC-8 with no charges nothing is assigned', () => {
    expect(assign([], [])).toEqual([]);
    expect(assign([], [rel(1)])).toEqual([]);
  });

  test('R-ACC-8 the default account id passed in is used for the rest', () => {
    const out = assign([RENT], [], 42);
    expect(out).toEqual([{ itemCode: 'RENT_PLAN', amountFen: 3000, payerAccountId: 42, relationId: null }]);
  });

  test('R-ACC-8 items no relation covers fall to the default account', () => {
    const out = assign([RENT, DATA, SMS], [rel(1, { items: ['DATA'] })]);
    expect(out).toEqual([toRel(1, 'DATA', 2000), toDefault('RENT_PLAN', 3000), toDefault('SMS', 500)]);
  });
});

// ---------------------------------------------------------------------------------------------
// R-ACC-9 priority order and limits
// ---------------------------------------------------------------------------------------------

describe('R-ACC-9 relation priority order and per-cycle limits', () => {
  test('R-ACC-9 the relation with the smaller priority number pays first', () => {
    const out = assign([RENT, DATA], [rel(1, { priority: 5 }), rel(2, { priority: 1 })]);
    expect(out).toEqual([toRel(2, 'RENT_PLAN', 3000), toRel(2, 'DATA', 2000)]);
  });

  test('R-ACC-9 a limited relation takes items up to its limit, splitting an item; the rest goes to the next relation, the remainder to the default account', () => {
    const relations = [rel(2, { priority: 2, limitFen: 1000 }), rel(1, { priority: 1, limitFen: 4000 })];
    const out = assign([RENT, DATA, SMS], relations);
    expect(out).toEqual([
      toRel(1, 'RENT_PLAN', 3000),
      toRel(1, 'DATA', 1000),
      toRel(2, 'DATA', 1000),
      toDefault('SMS', 500),
    ]);
    expect(totalByRelation(out, 1)).toBe(4000);
    expect(totalByRelation(out, 2)).toBe(1000);
    expect(totalByRelation(out, null)).toBe(500);
  });

  test('R-ACC-9 a limit smaller than the first item splits that item between relation and default account', () => {
    const out = assign([RENT], [rel(1, { limitFen: 1234 })]);
    expect(out).toEqual([toRel(1, 'RENT_PLAN', 1234), toDefault('RENT_PLAN', 1766)]);
  });

  test('R-ACC-9 a relation takes items in item priority order, not input order; equal priority keeps input order', () => {
    const out = assign([SMS, charge('VAS', 700, 2), RENT, DATA], [rel(1, { limitFen: 3500 })]);
    expect(out).toEqual([toRel(1, 'RENT_PLAN', 3000), toRel(1, 'VAS', 500), toDefault('SMS', 500), toDefault('VAS', 200), toDefault('DATA', 2000)]);
  });

  test('R-ACC-9 usedFen already consumed this cycle reduces the room', () => {
    const out = assign([RENT, DATA], [rel(1, { limitFen: 5000, usedFen: 3000 })]);
    expect(out).toEqual([toRel(1, 'RENT_PLAN', 2000), toDefault('RENT_PLAN', 1000), toDefault('DATA', 2000)]);
  });

  test('R-ACC-9 a relation whose limit is used up (or overused) takes nothing and the next relation pays', () => {
    const relations = [rel(1, { limitFen: 5000, usedFen: 5000 }), rel(2, { priority: 2, limitFen: 5000, usedFen: 7000 }), rel(3, { priority: 3, limitFen: 2500 })];
    const out = assign([RENT, DATA], relations);
    expect(out).toEqual([toRel(3, 'RENT_PLAN', 2500), toDefault('RENT_PLAN', 500), toDefault('DATA', 2000)]);
  });

  test('R-ACC-9 a zero limit takes nothing', () => {
    expect(assign([RENT], [rel(1, { limitFen: 0 })])).toEqual([toDefault('RENT_PLAN', 3000)]);
  });

  test('R-ACC-9 a limit exactly equal to the charges leaves nothing to the default account', () => {
    const out = assign([RENT, DATA, SMS], [rel(1, { limitFen: 5500 })]);
    expect(out).toEqual([toRel(1, 'RENT_PLAN', 3000), toRel(1, 'DATA', 2000), toRel(1, 'SMS', 500)]);
    expect(totalByRelation(out, null)).toBe(0);
  });

  test('R-ACC-9 an unlimited all-items relation after a limited one takes all the rest; the default account gets nothing', () => {
    const out = assign([RENT, DATA], [rel(1, { limitFen: 1000 }), rel(2, { priority: 2 })]);
    expect(out).toEqual([toRel(1, 'RENT_PLAN', 1000), toRel(2, 'RENT_PLAN', 2000), toRel(2, 'DATA', 2000)]);
  });

  test('R-ACC-9 ties in priority are broken by the lower relationId, whatever the input order', () => {
    const a = rel(5, { priority: 1, limitFen: 1000 });
    const b = rel(3, { priority: 1, limitFen: 1000 });
    const expected = [toRel(3, 'RENT_PLAN', 1000), toRel(5, 'RENT_PLAN', 1000), toDefault('RENT_PLAN', 1000)];
    expect(assign([RENT], [a, b])).toEqual(expected);
    expect(assign([RENT], [b, a])).toEqual(expected);
  });

  test('R-ACC-9 a chain of limited, listed and default relations', () => {
    const relations = [
      rel(1, { priority: 1, limitFen: 1000 }),
      rel(2, { priority: 2, items: ['DATA', 'SMS'], limitFen: 2200 }),
      rel(3, { priority: 3, items: ['SMS'] }),
    ];
    const out = assign([RENT, DATA, SMS], relations);
    expect(out).toEqual([
      toRel(1, 'RENT_PLAN', 1000),
      toRel(2, 'DATA', 2000),
      toRel(2, 'SMS', 200),
      toRel(3, 'SMS', 300),
      toDefault('RENT_PLAN', 2000),
    ]);
  });

  test('R-ACC-9 inputs are not mutated (charges, relations, their order)', () => {
    const charges = [SMS, RENT, DATA].map((c) => ({ ...c }));
    const relations = [rel(2, { priority: 2, items: ['DATA'], limitFen: 100, usedFen: 10 }), rel(1, { limitFen: 1000 })];
    const snapshot = structuredClone({ charges, relations });
    const out = assignCharges(charges, relations, DEFAULT_ACCOUNT);
    expect(out.length).toBeGreaterThan(0);
    expect({ charges, relations }).toEqual(snapshot);
  });
});

// ---------------------------------------------------------------------------------------------
// R-ACC-10 the four group-payment modes
// ---------------------------------------------------------------------------------------------

describe('R-ACC-10 the four group-payment modes', () => {
  test('R-ACC-10 groupMode names the four combinations of item scope and limit', () => {
    expect(groupMode({ items: null, limitFen: 5000 })).toBe('all_limited');
    expect(groupMode({ items: null, limitFen: null })).toBe('all_unlimited');
    expect(groupMode({ items: ['RENT_PLAN'], limitFen: 5000 })).toBe('listed_limited');
    expect(groupMode({ items: ['RENT_PLAN'], limitFen: null })).toBe('listed_unlimited');
    // a zero limit is still a limit
    expect(groupMode({ items: null, limitFen: 0 })).toBe('all_limited');
    expect(groupMode({ items: ['DATA'], limitFen: 0 })).toBe('listed_limited');
  });

  test('R-ACC-10 groupMode accepts a full RelationState', () => {
    expect(groupMode(rel(1, { items: ['DATA'], limitFen: null, usedFen: 99 }))).toBe('listed_unlimited');
  });

  test('R-ACC-10 all items with a limit: the group pays every item up to the limit', () => {
    const group = rel(1, { items: null, limitFen: 4500 });
    expect(groupMode(group)).toBe('all_limited');
    expect(assign([RENT, DATA, SMS], [group])).toEqual([
      toRel(1, 'RENT_PLAN', 3000),
      toRel(1, 'DATA', 1500),
      toDefault('DATA', 500),
      toDefault('SMS', 500),
    ]);
  });

  test('R-ACC-10 all items without limit: the group pays everything', () => {
    const group = rel(1, { items: null, limitFen: null, usedFen: 999_999 });
    expect(groupMode(group)).toBe('all_unlimited');
    expect(assign([RENT, DATA, SMS], [group])).toEqual([toRel(1, 'RENT_PLAN', 3000), toRel(1, 'DATA', 2000), toRel(1, 'SMS', 500)]);
  });

  test('R-ACC-10 listed items with a limit: the group pays only the listed items, up to the limit', () => {
    const group = rel(1, { items: ['DATA', 'SMS'], limitFen: 2300 });
    expect(groupMode(group)).toBe('listed_limited');
    expect(assign([RENT, DATA, SMS], [group])).toEqual([
      toRel(1, 'DATA', 2000),
      toRel(1, 'SMS', 300),
      toDefault('RENT_PLAN', 3000),
      toDefault('SMS', 200),
    ]);
  });

  test('R-ACC-10 listed items without limit: the group pays all of the listed items and nothing else', () => {
    const group = rel(1, { items: ['RENT_PLAN', 'SMS'], limitFen: null });
    expect(groupMode(group)).toBe('listed_unlimited');
    expect(assign([RENT, DATA, SMS], [group])).toEqual([toRel(1, 'RENT_PLAN', 3000), toRel(1, 'SMS', 500), toDefault('DATA', 2000)]);
  });

  test('R-ACC-10 a listed relation whose list matches no charge takes nothing', () => {
    expect(assign([RENT, DATA], [rel(1, { items: ['VOICE_ROAM'], limitFen: 100 }), rel(2, { items: [] })])).toEqual([
      toDefault('RENT_PLAN', 3000),
      toDefault('DATA', 2000),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Property test
// ---------------------------------------------------------------------------------------------

const ITEMS = ['RENT_PLAN', 'DATA', 'SMS', 'VAS'] as const;

describe('R-ACC-9 property: random charges and relations', () => {
  test('R-ACC-9 property: conservation, limits, scope, priority order and default fallback', () => {
    const relationsArb = fc.uniqueArray(
      fc.record({
        relationId: fc.integer({ min: 1, max: 50 }),
        payerAccountId: fc.integer({ min: 1, max: 5 }),
        priority: fc.integer({ min: 1, max: 4 }),
        items: fc.option(fc.subarray([...ITEMS]), { nil: null }),
        limitFen: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: null }),
        usedFen: fc.integer({ min: 0, max: 2000 }),
      }),
      { selector: (r) => r.relationId, maxLength: 5 },
    );
    const chargesArb = fc.array(
      fc.record({ itemCode: fc.constantFrom(...ITEMS), itemPriority: fc.integer({ min: 1, max: 3 }), amountFen: fc.integer({ min: 1, max: 2500 }) }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(chargesArb, relationsArb, (charges: Charge[], relations: RelationState[]) => {
        const out = assign(charges, relations); // conservation per item, positive amounts, no mutation
        const ordered = [...relations].sort((x, y) => x.priority - y.priority || x.relationId - y.relationId);
        const room = (r: RelationState): number => (r.limitFen === null ? Number.POSITIVE_INFINITY : Math.max(0, r.limitFen - r.usedFen));
        for (const r of relations) {
          const mine = out.filter((o) => o.relationId === r.relationId);
          // a relation never exceeds its remaining room and only takes items in its scope
          expect(totalByRelation(out, r.relationId)).toBeLessThanOrEqual(room(r));
          for (const o of mine) {
            expect(o.payerAccountId).toBe(r.payerAccountId);
            if (r.items !== null) expect(r.items).toContain(o.itemCode);
          }
        }
        for (const o of out) {
          if (o.relationId === null) expect(o.payerAccountId).toBe(DEFAULT_ACCOUNT);
          else expect(relations.some((r) => r.relationId === o.relationId)).toBe(true);
        }
        // an item reaches a later relation (or the default account) only when every earlier
        // relation that covers it has used up its room
        const position = (id: number | null): number => (id === null ? ordered.length : ordered.findIndex((r) => r.relationId === id));
        for (const o of out) {
          for (const earlier of ordered.slice(0, position(o.relationId))) {
            if (earlier.items === null || earlier.items.includes(o.itemCode)) {
              expect(totalByRelation(out, earlier.relationId)).toBe(room(earlier));
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

test('R-ACC-9 charges must be positive: a zero or negative charge is refused, never dropped', () => {
  expect(() => assignCharges([{ itemCode: 'RENT_BB_ADJ', itemPriority: 1, amountFen: -500 }], [], 9)).toThrow(RangeError);
  expect(() => assignCharges([{ itemCode: 'RENT_BB', itemPriority: 1, amountFen: 0 }], [], 9)).toThrow(RangeError);
});
