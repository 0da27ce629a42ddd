// Payment relations (帐务关系): pure rules. R-ACC-8, R-ACC-9, R-ACC-10.
import type { Fen } from '../../platform/money.ts';

export interface RelationState {
  relationId: number;
  payerAccountId: number;
  priority: number;
  /** null = all items (R-ACC-10 "all items"); otherwise the listed items only. */
  items: readonly string[] | null;
  /** null = no limit; otherwise the most this relation pays per cycle. */
  limitFen: Fen | null;
  /** What this relation already took in the cycle being billed. */
  usedFen: Fen;
}

export interface Charge {
  itemCode: string;
  itemPriority: number;
  amountFen: Fen;
}

export interface AssignedCharge {
  itemCode: string;
  amountFen: Fen;
  payerAccountId: number;
  /** null when the charge fell to the subscriber's default account. */
  relationId: number | null;
}

/** The four group-payment modes of R-ACC-10 are the combinations of item scope and limit. */
export function groupMode(r: Pick<RelationState, 'items' | 'limitFen'>): 'all_limited' | 'all_unlimited' | 'listed_limited' | 'listed_unlimited' {
  const all = r.items === null;
  const limited = r.limitFen !== null;
  return all ? (limited ? 'all_limited' : 'all_unlimited') : limited ? 'listed_limited' : 'listed_unlimited';
}

/**
 * R-ACC-9: one subscriber's charges of one cycle are assigned in relation priority order; a limited
 * relation takes items up to its limit (an item may be split), the rest falls to the next relation,
 * and whatever is left falls to the default account (R-ACC-8).
 */
export function assignCharges(charges: readonly Charge[], relations: readonly RelationState[], defaultAccountId: number): AssignedCharge[] {
  // Charges are positive (the API and the bill_lines table refuse others); credits are books, not charges.
  for (const c of charges) if (!(c.amountFen > 0)) throw new RangeError(`charge must be positive fen, got ${c.amountFen}`);
  const ordered = [...relations].sort((a, b) => a.priority - b.priority || a.relationId - b.relationId);
  const chargeOrder = charges.map((c, i) => ({ c, i })).sort((a, b) => a.c.itemPriority - b.c.itemPriority || a.i - b.i);
  const remaining = charges.map((c) => c.amountFen);
  const out: AssignedCharge[] = [];
  for (const r of ordered) {
    let room = r.limitFen === null ? Number.POSITIVE_INFINITY : Math.max(0, r.limitFen - r.usedFen);
    for (const { c, i } of chargeOrder) {
      if (room <= 0) break;
      const left = remaining[i] ?? 0;
      if (left === 0 || (r.items !== null && !r.items.includes(c.itemCode))) continue;
      const take = Math.min(left, room);
      remaining[i] = left - take;
      room -= take;
      out.push({ itemCode: c.itemCode, amountFen: take, payerAccountId: r.payerAccountId, relationId: r.relationId });
    }
  }
  charges.forEach((c, i) => {
    const left = remaining[i] ?? 0;
    if (left > 0) out.push({ itemCode: c.itemCode, amountFen: left, payerAccountId: defaultAccountId, relationId: null });
  });
  return out;
}
