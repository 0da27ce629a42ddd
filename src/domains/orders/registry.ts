// Every business type the engine accepts (SPEC §7.2), by its stable upper-snake code.
import { addOn } from './types/add-on.ts';
import { broadbandOneNumber } from './types/broadband-one-number.ts';
import { changePlan } from './types/change-plan.ts';
import { openAccount } from './types/open-account.ts';
import { preCancel } from './types/pre-cancel.ts';
import { cancel } from './types/cancel.ts';
import { feeRecovery } from './types/fee-recovery.ts';
import { transferOwnership } from './types/transfer-ownership.ts';
import { changePaymentMethod } from './types/change-payment-method.ts';
import { payment } from './types/payment.ts';
import { jointAccount } from './types/joint-account.ts';
import { householdMerge } from './types/household-merge.ts';
import { householdSplit } from './types/household-split.ts';
import { suspend } from './types/suspend.ts';
import { reportLoss } from './types/report-loss.ts';
import { resume } from './types/resume.ts';
import { reinstall } from './types/reinstall.ts';
import { simReplace } from './types/sim-replace.ts';
import { longDistanceLevel } from './types/long-distance-level.ts';
import { intlRoaming } from './types/intl-roaming.ts';
import { features } from './types/features.ts';
import { changeData } from './types/change-data.ts';
import { changeNumber } from './types/change-number.ts';
import { printBill } from './types/print-bill.ts';
import { reprintInvoice } from './types/reprint-invoice.ts';
import { bundleBind } from './types/bundle-bind.ts';
import { bundleUnbind } from './types/bundle-unbind.ts';
import { withBundleRules } from '../bundles/rules.ts';
import type { AnyBusinessType } from './types.ts';

/** Every type runs under the bundle rules (R-BND-14 bound members, R-BND-11 bundle_stop). */
export const BUSINESS_TYPES: readonly AnyBusinessType[] = [openAccount, changePlan, addOn, preCancel, cancel, feeRecovery, transferOwnership, changePaymentMethod, payment, jointAccount, householdMerge, householdSplit, suspend, reportLoss, resume, reinstall, simReplace, longDistanceLevel, intlRoaming, features, changeData, changeNumber, printBill, reprintInvoice, broadbandOneNumber, bundleBind, bundleUnbind].map(withBundleRules);

const byCode = new Map(BUSINESS_TYPES.map((t) => [t.code, t]));

export function businessType(code: string): AnyBusinessType | undefined {
  return byCode.get(code);
}
