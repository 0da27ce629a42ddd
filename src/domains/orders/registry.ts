// Every business type the engine accepts (SPEC §7.2), by its stable upper-snake code.
import { addOn } from './types/add-on.ts';
import { changePlan } from './types/change-plan.ts';
import { openAccount } from './types/open-account.ts';
import type { AnyBusinessType } from './types.ts';

export const BUSINESS_TYPES: readonly AnyBusinessType[] = [openAccount, changePlan, addOn];

const byCode = new Map(BUSINESS_TYPES.map((t) => [t.code, t]));

export function businessType(code: string): AnyBusinessType | undefined {
  return byCode.get(code);
}
