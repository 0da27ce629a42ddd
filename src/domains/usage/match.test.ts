// R-BIL-3: a record belongs to the subscriber in service under its number at its start time. matchRecords
// compares whole milliseconds with bounds made once from the holders' microseconds; the reference compares
// the microseconds themselves (BigInt), record by record, as the import did before.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { matchRecords } from './staging.ts';
import type { NumberHolder } from './repo.ts';
import type { ParsedCdr } from './rules.ts';

function reference(rows: (ParsedCdr & { line: number })[], holders: NumberHolder[]) {
  return rows.map((r) => {
    const list = holders.filter((h) => h.serviceNumber === r.serviceNumber);
    const us = BigInt(r.startedAt.getTime()) * 1000n;
    const h = list.find((x) => x.activatedUs <= us && (x.cancelledUs === null || x.cancelledUs > us));
    return h ? `${r.line}:${h.subscriberId}` : `${r.line}:${list.length ? 'NOT_IN_SERVICE' : 'UNKNOWN_NUMBER'}`;
  });
}

test('R-BIL-3 property: records match the holder in service at their start time to the microsecond, at either edge', () => {
  const T0 = 1_790_000_000_000; // ms
  const number = fc.constantFrom('13900000001', '13900000002', '13900000003');
  // activation and cancellation within ±3 ms of T0, to the microsecond; holders newest activation first
  const holder = fc.record({
    serviceNumber: number,
    subscriberId: fc.nat(1000),
    accountId: fc.nat(1000),
    activatedUs: fc.bigInt({ min: BigInt(T0 - 3) * 1000n, max: BigInt(T0 + 3) * 1000n }),
    cancelAfterUs: fc.option(fc.bigInt({ min: 0n, max: 6000n })),
  });
  const record = fc.record({ serviceNumber: fc.oneof(number, fc.constant('13900000009')), ms: fc.integer({ min: T0 - 4, max: T0 + 9 }) });
  fc.assert(
    fc.property(fc.array(holder, { maxLength: 6 }), fc.array(record, { minLength: 1, maxLength: 30 }), (hs, rs) => {
      const holders: NumberHolder[] = hs
        .map((h) => ({ serviceNumber: h.serviceNumber, subscriberId: h.subscriberId, accountId: h.accountId, activatedUs: h.activatedUs, cancelledUs: h.cancelAfterUs === null ? null : h.activatedUs + h.cancelAfterUs }))
        .sort((a, b) => (a.activatedUs > b.activatedUs ? -1 : a.activatedUs < b.activatedUs ? 1 : 0));
      const rows = rs.map((r, i) => ({
        line: i + 2,
        recordId: `R${i}`,
        serviceNumber: r.serviceNumber,
        otherParty: '13800000000',
        startedAt: new Date(r.ms),
        cycle: '2026-09',
        usage: 'voice' as const,
        scope: 'local' as const,
        quantity: 1,
        area: null,
      }));
      const m = matchRecords(rows, holders);
      const got = [...m.pending.map((p) => `${p.line}:${p.subscriberId}`), ...m.refused.map((x) => `${x.line}:${x.code}`)].sort();
      expect(got).toEqual(reference(rows, holders).sort());
    }),
    { numRuns: 3000 },
  );
});
