// What the no-fill receipt (免填单, R-ORD-3) shows; the order engine builds it, receipt.ts renders it.
import type { Text } from '../../platform/checks.ts';
import type { Fen } from '../../platform/money.ts';

export type { Text };

export interface ReceiptFeeLine {
  name: Text;
  itemCode: string;
  /** 'fee' is a charge (installation, SIM card); 'prestore' goes into a balance book. */
  kind: 'fee' | 'prestore';
  amountFen: Fen;
  waivedFen: Fen;
  waiverReason?: string | undefined;
  /** username of the operator who granted the waiver (R-ORD-2) */
  waivedBy?: string | undefined;
}

export interface ReceiptData {
  orderId: number;
  /** only 'submitted' and 'completed' receipts are final; anything earlier prints as a preview (预览) */
  status: string;
  final: boolean;
  businessType: string;
  businessTypeName: Text;
  customer: {
    name: string;
    kind: 'person' | 'organisation';
    idType: string;
    /** R-CUS-2: always masked on a receipt */
    idNumberMasked: string;
    contactPhoneMasked: string | null;
    address: string | null;
  };
  operator: { username: string; name: string };
  department: { departmentId: string; name: string };
  createdAt: string;
  submittedAt: string | null;
  printedAt: string;
  /** what the order changes, in display order: 号码, 套餐, 帐户, 功能… */
  changes: { label: Text; value: string }[];
  fees: ReceiptFeeLine[];
  totalFen: Fen;
  waivedFen: Fen;
  payableFen: Fen;
  /** warnings the operator must tell the customer (R-E9-4) */
  notices: Text[];
}
