import { describe, expect, test } from 'vitest';
import {
  ancestorsOf,
  countDifference,
  type DocumentFacts,
  documentAction,
  limitsFailures,
  maskImsi,
  ownsWarehouse,
  PICK_CONFIRM_MESSAGE,
  type ReturnFacts,
  returnFailures,
  selectionOf,
  stockAlert,
  transferFailures,
  type WarehouseFacts,
} from './stock-rules.ts';

const W = (warehouseCode: string, departmentId: string, parentCode: string | null = null): WarehouseFacts => ({ warehouseCode, departmentId, parentCode });
const branch = W('130041', 'B1');
const writing = W('13ZDF16', 'W1', '130041');
const hall = W('130041H1', 'H1', '130041');
const other = W('130040', 'B2');
const tree = new Map([branch, writing, hall, other].map((w) => [w.warehouseCode, w]));
const keeper = { departmentId: 'B1', stockAll: false };
const ess = { departmentId: 'W1', stockAll: false };
const auditor = { departmentId: 'HQ', stockAll: true };

const doc = (over: Partial<DocumentFacts> = {}): DocumentFacts => ({ stockOrderId: 1, kind: 'allocate', state: 'pending', source: branch, target: writing, createdDepartmentId: 'B1', ...over });
const codes = (r: ReturnType<typeof documentAction>) => ('failures' in r ? r.failures.map((f) => f.code) : r.to);

describe('scoping', () => {
  test('R-RES-2 an operator owns only its own department\'s warehouses; stock.all owns all', () => {
    expect(ownsWarehouse(keeper, branch)).toBe(true);
    expect(ownsWarehouse(keeper, writing)).toBe(false);
    expect(ownsWarehouse({ departmentId: null, stockAll: false }, branch)).toBe(false);
    expect(ownsWarehouse(auditor, writing)).toBe(true);
  });
});

describe('R-RES-1 transfers', () => {
  test('R-RES-1 an allocation (下拨) goes down the tree; a lateral transfer anywhere; the source department only', () => {
    expect(ancestorsOf('13ZDF16', tree)).toEqual(['130041']);
    expect(transferFailures({ kind: 'allocate', source: branch, target: writing }, tree, keeper)).toEqual([]);
    expect(transferFailures({ kind: 'allocate', source: writing, target: branch }, tree, ess).map((f) => f.code)).toEqual(['TRANSFER_NOT_DOWNWARD']);
    expect(transferFailures({ kind: 'transfer', source: writing, target: hall }, tree, ess)).toEqual([]);
    expect(transferFailures({ kind: 'transfer', source: branch, target: branch }, tree, keeper).map((f) => f.code)).toEqual(['TRANSFER_SAME_WAREHOUSE']);
    expect(transferFailures({ kind: 'allocate', source: branch, target: writing }, tree, ess).map((f) => f.code)).toEqual(['STOCK_DEPARTMENT_MISMATCH']);
    expect(transferFailures({ kind: 'allocate', source: branch, target: writing }, tree, auditor)).toEqual([]);
  });

  test('R-RES-1 a cycle in the warehouse data does not hang the walk', () => {
    const loop = new Map([
      ['A000', W('A000', 'X', 'B000')],
      ['B000', W('B000', 'X', 'A000')],
    ]);
    expect(ancestorsOf('A000', loop)).toEqual(['B000', 'A000']);
  });

  test('R-RES-1 two-step approval: out by the source, then in by the target; in before out is refused; double approval is a state conflict', () => {
    expect(codes(documentAction(doc(), 'approve-out', keeper))).toBe('out_approved');
    expect(codes(documentAction(doc(), 'approve-out', ess))).toEqual(['STOCK_DEPARTMENT_MISMATCH']);
    expect(codes(documentAction(doc(), 'approve-in', ess))).toEqual(['TRANSFER_NOT_OUT_APPROVED']);
    expect(codes(documentAction(doc({ state: 'out_approved' }), 'approve-out', keeper))).toEqual(['STOCK_DOCUMENT_STATE']);
    expect(codes(documentAction(doc({ state: 'out_approved' }), 'approve-in', keeper))).toEqual(['STOCK_DEPARTMENT_MISMATCH']);
    expect(codes(documentAction(doc({ state: 'out_approved' }), 'approve-in', ess))).toBe('completed');
    expect(codes(documentAction(doc({ state: 'completed' }), 'approve-in', ess))).toEqual(['STOCK_DOCUMENT_STATE']);
    expect(codes(documentAction(doc(), 'confirm', keeper))).toEqual(['STOCK_DOCUMENT_KIND']);
  });

  test('R-X-12 the sender cancels until received; the target rejects only after the out approval', () => {
    expect(codes(documentAction(doc(), 'cancel', keeper))).toBe('cancelled');
    expect(codes(documentAction(doc({ state: 'out_approved' }), 'cancel', keeper))).toBe('cancelled');
    expect(codes(documentAction(doc({ state: 'completed' }), 'cancel', keeper))).toEqual(['TRANSFER_ALREADY_RECEIVED']);
    expect(codes(documentAction(doc({ state: 'cancelled' }), 'cancel', keeper))).toEqual(['STOCK_DOCUMENT_STATE']);
    expect(codes(documentAction(doc(), 'cancel', ess))).toEqual(['STOCK_DEPARTMENT_MISMATCH']);
    expect(codes(documentAction(doc(), 'reject', ess))).toEqual(['STOCK_DOCUMENT_STATE']);
    expect(codes(documentAction(doc({ state: 'out_approved' }), 'reject', ess))).toBe('rejected');
    expect(codes(documentAction(doc({ state: 'out_approved' }), 'reject', keeper))).toEqual(['STOCK_DEPARTMENT_MISMATCH']);
  });
});

describe('R-RES-2 / R-RES-3 picks and returns', () => {
  const pick = doc({ kind: 'pick', source: writing, target: null, createdDepartmentId: 'W1' });
  test('R-RES-2 a pick is confirmed or cancelled by the warehouse department, never approved', () => {
    expect(PICK_CONFIRM_MESSAGE.zh).toBe('批量领卡成功，确认正式提交？');
    expect(codes(documentAction(pick, 'confirm', ess))).toBe('completed');
    expect(codes(documentAction(pick, 'confirm', keeper))).toEqual(['STOCK_DEPARTMENT_MISMATCH']);
    expect(codes(documentAction(pick, 'approve-out', ess))).toEqual(['STOCK_DOCUMENT_KIND']);
    expect(codes(documentAction(pick, 'cancel', ess))).toBe('cancelled');
    expect(codes(documentAction({ ...pick, state: 'completed' }, 'cancel', ess))).toEqual(['STOCK_DOCUMENT_STATE']);
    expect(codes(documentAction({ ...pick, state: 'completed' }, 'confirm', ess))).toEqual(['STOCK_DOCUMENT_STATE']);
  });

  const facts = (over: Partial<ReturnFacts> = {}): ReturnFacts => ({
    found: 3,
    unknown: [],
    mismatched: [],
    mismatchedCount: 0,
    notReturnable: [],
    notReturnableCount: 0,
    locked: [],
    lockedCount: 0,
    warehouses: [writing],
    ...over,
  });
  test('R-RES-3 every card picked by the channel, else 卡库位不一致 first', () => {
    expect(returnFailures(facts(), 'C1', ess)).toEqual([]);
    const mixed = returnFailures(facts({ mismatched: ['8986x'], mismatchedCount: 1, unknown: ['8986y'] }), 'C1', ess);
    expect(mixed.map((f) => f.code)).toEqual(['CARD_LOCATION_MISMATCH', 'SIM_NOT_FOUND']);
    expect(mixed[0]?.message.zh).toBe('卡库位不一致');
    expect(mixed[0]?.details).toMatchObject({ iccids: ['8986x'], count: 1 });
    // cards of one channel from two warehouses are not in one place either
    expect(returnFailures(facts({ warehouses: [writing, hall] }), 'C1', ess).map((f) => f.code)).toEqual(['CARD_LOCATION_MISMATCH']);
    expect(returnFailures(facts({ notReturnable: ['8986z'], notReturnableCount: 1 }), 'C1', ess).map((f) => f.code)).toEqual(['CARD_NOT_RETURNABLE']);
    expect(returnFailures(facts({ locked: ['8986z'], lockedCount: 1 }), 'C1', ess).map((f) => f.code)).toEqual(['STOCK_CARDS_LOCKED']);
    expect(returnFailures(facts(), 'C1', keeper).map((f) => f.code)).toEqual(['STOCK_DEPARTMENT_MISMATCH']);
    expect(returnFailures(facts({ found: 0, warehouses: [] }), 'C1', ess).map((f) => f.code)).toEqual(['STOCK_SELECTION_INVALID']);
  });
});

describe('selection', () => {
  const code = (s: ReturnType<typeof selectionOf>) => ('code' in s ? s.code : s.kind);
  test('exactly one of quantity, ICCID list, range; lists without repeats; ranges of one length, from ≤ to', () => {
    const all = ['quantity', 'iccid_list', 'range'] as const;
    expect(code(selectionOf({ quantity: 5 }, all))).toBe('quantity');
    expect(code(selectionOf({ iccids: ['1', '2'] }, all))).toBe('iccid_list');
    expect(code(selectionOf({ range: { from: '11', to: '12' } }, all))).toBe('range');
    expect(code(selectionOf({}, all))).toBe('STOCK_SELECTION_INVALID');
    expect(code(selectionOf({ quantity: 1, iccids: ['1'] }, all))).toBe('STOCK_SELECTION_INVALID');
    expect(code(selectionOf({ quantity: 0 }, all))).toBe('STOCK_SELECTION_INVALID');
    expect(code(selectionOf({ quantity: 1 }, ['iccid_list', 'range']))).toBe('STOCK_SELECTION_INVALID');
    const dup = selectionOf({ iccids: ['1', '2', '1'] }, all);
    expect('code' in dup && dup.details).toEqual({ repeated: ['1'] });
    expect(code(selectionOf({ range: { from: '12', to: '11' } }, all))).toBe('STOCK_SELECTION_INVALID');
    expect(code(selectionOf({ range: { from: '9', to: '10' } }, all))).toBe('STOCK_SELECTION_INVALID');
    expect(code(selectionOf({ iccids: [] }, all))).toBe('STOCK_SELECTION_INVALID');
  });
});

describe('R-X-12 alerts, limits and counts', () => {
  test('R-X-12 below the minimum, above the maximum, or no alert; no limits, no alert', () => {
    const l = { minQuantity: 10, maxQuantity: 20 };
    expect(stockAlert(9, l)).toBe('below_min');
    expect(stockAlert(10, l)).toBeNull();
    expect(stockAlert(20, l)).toBeNull();
    expect(stockAlert(21, l)).toBe('above_max');
    expect(stockAlert(0, null)).toBeNull();
  });

  test('R-X-12 limits: min ≥ 0, max ≥ min, one pair per card type', () => {
    expect(limitsFailures([{ cardType: 'finished', minQuantity: 0, maxQuantity: 0 }])).toEqual([]);
    expect(limitsFailures([{ cardType: 'finished', minQuantity: 3, maxQuantity: 2 }]).map((f) => f.code)).toEqual(['STOCK_LIMITS_INVALID']);
    expect(limitsFailures([{ cardType: 'finished', minQuantity: -1, maxQuantity: 2 }]).map((f) => f.code)).toEqual(['STOCK_LIMITS_INVALID']);
    expect(
      limitsFailures([
        { cardType: 'finished', minQuantity: 0, maxQuantity: 2 },
        { cardType: 'finished', minQuantity: 0, maxQuantity: 3 },
      ]).map((f) => f.code),
    ).toEqual(['STOCK_LIMITS_INVALID']);
  });

  test('R-X-12 a count: difference = counted − book; by list the missing and unexpected cards', () => {
    expect(countDifference(10, 8)).toMatchObject({ bookQuantity: 10, countedQuantity: 8, difference: -2 });
    expect(countDifference(['a', 'b', 'c'], ['b', 'c', 'd', 'd'])).toEqual({ bookQuantity: 3, countedQuantity: 3, difference: 0, missing: ['a'], unexpected: ['d'] });
  });

  test('IMSI masked for operators without stock.all', () => {
    expect(maskImsi('460011234567890', false)).toBe('46001123****890');
    expect(maskImsi('460011234567890', true)).toBe('460011234567890');
    expect(maskImsi(null, false)).toBeNull();
  });
});
