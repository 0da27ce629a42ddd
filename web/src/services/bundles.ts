// 捆绑业务 (SPEC §8): a customer's bundles for the 360, the bundle of a number for the unbind query
// (R-BND-15) and the monthly grant report (R-BND-7, R-BND-8). One public API call each (STYLE:
// pages → services). The views are open objects in the OpenAPI document (examples only), so their
// shapes are written down here from the API contract (src/domains/bundles routes).
import { call, client } from './api.ts';
import type { OfferInfo } from './orders.ts';

export type Text = { zh: string; en: string };
export type GrantSkipReason = 'mobile_not_normal' | 'broadband_arrears' | 'broadband_no_fund' | 'broadband_stopped';

export interface BundleMember {
  role: string;
  subscriberId: number;
  serviceNumber: string;
  network: string;
  status: string;
  accountId: number;
  /** the unbind query: what the line owes (R-BND-15 both devices without arrears) */
  arrearsFen?: number;
}

export interface GrantItem {
  seq?: number;
  /** the member role it is granted to */
  role: string;
  kind: 'money' | 'pack';
  amountFen: number | null;
  restrictedItems?: string[] | null;
  packOfferCode?: string | null;
  name: Text;
}

export interface BundleGrantMonth {
  cycle: string;
  status: 'granted' | 'skipped';
  reason: GrantSkipReason | null;
  amountFen: number;
  grantedAt: string | null;
  caughtUp: boolean;
  items?: unknown[];
}

export interface FamilyNumber {
  subscriberId: number;
  familyNumber: string;
  validFrom: string;
  validTo: string;
}

export interface BundleView {
  packageId: number;
  offerCode: string;
  name: Text;
  generation: string;
  status: 'active' | 'ended';
  startedAt: string;
  endedAt: string | null;
  endedReason?: string | null;
  customerId?: number;
  accountId?: number;
  members: BundleMember[];
  grants: BundleGrantMonth[];
  familyNumbers: FamilyNumber[];
  /** the unbind query: arrears of the members together */
  arrearsFen?: number;
}

export interface GrantReportRow {
  packageId: number;
  offerCode: string;
  mobileNumber: string | null;
  broadbandNumber: string | null;
  status: 'granted' | 'skipped';
  reason: GrantSkipReason | null;
  amountFen: number;
  grantedAt: string | null;
  caughtUp: boolean;
}

export interface GrantReport {
  cycle: string;
  totals: { bundles: number; granted: number; skipped: number; amountFen: number };
  byReason: { reason: GrantSkipReason; count: number }[];
  byOffer: { offerCode: string; granted: number; skipped: number; amountFen: number }[];
  items: GrantReportRow[];
  total: number;
}

/** A bundle offer as the catalog lists it: the member roles, its terms and what it grants each month. */
export interface BundleOfferInfo extends OfferInfo {
  bundle?: {
    generation: string;
    requiresJointAccount: boolean;
    requiresSameNumber: boolean;
    familyRoles: string[] | null;
    allowsContractPlans: boolean;
    oncePerMonth: boolean;
    grants: GrantItem[];
  } | null;
}

/** The grant items of one month of a bundle offer (R-BND-6, R-BND-7). */
export const grantItemsOf = (o: BundleOfferInfo | undefined): GrantItem[] => o?.bundle?.grants ?? [];

export async function customerBundles(customerId: number): Promise<BundleView[]> {
  const r = (await call(client.GET('/api/v1/customers/{customerId}/bundles', { params: { path: { customerId } } }))) as unknown as { items?: BundleView[] };
  return r.items ?? [];
}

/** The unbind query: the active bundle of a service number, its members and their arrears. */
export async function bundleOfNumber(serviceNumber: string): Promise<BundleView | null> {
  const r = (await call(client.GET('/api/v1/bundles', { params: { query: { serviceNumber } } }))) as unknown as { items?: BundleView[] } | BundleView;
  if ('items' in r) return r.items?.find((b) => b.status === 'active') ?? r.items?.[0] ?? null;
  return r as BundleView;
}

export async function grantReport(query: { cycle: string; status?: 'granted' | 'skipped'; limit: number; offset: number }): Promise<GrantReport> {
  return (await call(client.GET('/api/v1/bundles/grants', { params: { query } }))) as unknown as GrantReport;
}

export async function runGrants(cycle: string): Promise<unknown> {
  return call(client.POST('/api/v1/bundles/grants/run', { body: { cycle } }));
}
