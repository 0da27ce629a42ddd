// 打印清单 PRINT_BILL (seed 004 §6.10.1): changes nothing; its receipt and result list the subscriber's
// bill lines of a cycle — item, amount, paid — from the published bills (R-BIL-9), on whichever account
// pays them (R-ACC-9). The ITEMISED_BILL fee of the fees table, when the carrier charges one.
import { Type } from 'typebox';
import { type CheckFailure, failure } from '../../../platform/checks.ts';
import { compareCycles, CYCLE_PATTERN, cycleOf } from '../../../platform/clock.ts';
import { type Fen, formatYuan } from '../../../platform/money.ts';
import type { DocumentsInput } from '../facts.ts';
import { baseFailures, feeLine, type GeneralFacts, loadGeneral, subscriberFields, subscriberLine } from '../general.ts';
import type { BusinessType } from '../types.ts';

export const PrintBillInput = Type.Object({ ...subscriberFields, cycle: Type.String({ pattern: CYCLE_PATTERN }) }, { additionalProperties: false });

export interface PrintBillIn {
  customerId: number;
  subscriberId: number;
  documents: DocumentsInput;
  cycle: string;
}

export interface BillLineFacts {
  lineId: number;
  accountId: number;
  item: string;
  name: { zh: string; en: string };
  amountFen: Fen;
  paidFen: Fen;
  openFen: Fen;
}

export interface PrintBillFacts extends GeneralFacts {
  lines: BillLineFacts[];
}

const total = (lines: BillLineFacts[], k: 'amountFen' | 'paidFen' | 'openFen') => lines.reduce((s, l) => s + l[k], 0);

export const printBill: BusinessType<PrintBillIn, PrintBillFacts> = {
  code: 'PRINT_BILL',
  name: { zh: '打印清单', en: 'Print itemised bill' },
  input: PrintBillInput,
  sensitive: false,

  refs: (i) => ({ customerId: i.customerId, subscriberId: i.subscriberId }),

  async load(c, i) {
    const g = await loadGeneral(c, i);
    const lines = g.subscriber ? await c.services.accounts.billLines(g.subscriber.subscriberId, i.cycle, c.q) : [];
    return { ...g, lines };
  },

  check(f, i, env) {
    // a pre-cancelled subscriber still gets its bills printed (to settle them, R-ORD-9)
    const out: CheckFailure[] = baseFailures(f, i, { documents: true, allowPreCancelled: true });
    if (compareCycles(i.cycle, cycleOf(env.now)) > 0) {
      out.push(failure('CYCLE_IN_FUTURE', { zh: `帐期 ${i.cycle} 尚未开始`, en: `Cycle ${i.cycle} has not started yet` }, { zh: '请选择已出帐的帐期', en: 'Choose a billed cycle' }, { cycle: i.cycle }));
    } else if (f.subscriber && f.lines.length === 0) {
      out.push(failure('NO_BILL_FOR_CYCLE', { zh: `帐期 ${i.cycle} 没有已出帐的帐单`, en: `No published bill for cycle ${i.cycle}` }, { zh: '请选择其他帐期', en: 'Choose another cycle' }, { cycle: i.cycle }));
    }
    return out;
  },

  quote: (_f, _i, env) => feeLine(env, 'ITEMISED_BILL'),

  describe(f, i) {
    return [
      ...subscriberLine(f.subscriber),
      { label: { zh: '帐期', en: 'Cycle' }, value: i.cycle },
      ...f.lines.map((l) => ({ label: { zh: l.name.zh, en: l.name.en }, value: `${formatYuan(l.amountFen)}（已付 ${formatYuan(l.paidFen)}）` })),
      { label: { zh: '合计', en: 'Total' }, value: `${formatYuan(total(f.lines, 'amountFen'))}（已付 ${formatYuan(total(f.lines, 'paidFen'))}，未付 ${formatYuan(total(f.lines, 'openFen'))}）` },
    ];
  },

  // a print holds nothing: it never blocks, and is never blocked by, a change in transit
  subjects: () => [],

  async apply(c, f, i) {
    const s = f.subscriber as NonNullable<GeneralFacts['subscriber']>;
    return {
      accountId: s.accountId,
      customerId: s.customerId,
      subscribers: { main: s.subscriberId },
      result: {
        cycle: i.cycle,
        serviceNumber: s.serviceNumber,
        lines: f.lines,
        totalFen: total(f.lines, 'amountFen'),
        paidFen: total(f.lines, 'paidFen'),
        openFen: total(f.lines, 'openFen'),
      },
    };
  },
};
