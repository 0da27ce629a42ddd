// R-ORD-3: the no-fill receipt (免填单) as a printable HTML page and as a PDF with an embedded CJK font.
// Both renderers draw the same ReceiptView, so the browser print and the PDF cannot drift apart.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { create as createFont, type Font } from 'fontkit';
import PDFDocument from 'pdfkit';
import { formatYuan } from '../../platform/money.ts';
import { maskIdNumber, maskPhone } from '../customers/rules.ts';
import type { ReceiptData } from './receipt-model.ts';

export type ReceiptLang = 'zh' | 'en';

type Pair = [label: string, value: string];

interface Column {
  header: string;
  /** share of the table width */
  weight: number;
  align: 'left' | 'right';
}

interface Table {
  heading: string;
  columns: Column[];
  rows: string[][];
  empty: string;
}

/** Everything the receipt prints, already translated and formatted; the renderers only lay it out. */
interface ReceiptView {
  lang: ReceiptLang;
  title: string;
  subtitle: string;
  /** null on a final receipt */
  preview: string | null;
  meta: Pair[];
  customerHeading: string;
  customer: Pair[];
  handlingHeading: string;
  handling: Pair[];
  changes: Table;
  fees: Table;
  totals: Pair[];
  noticesHeading: string;
  notices: string[];
  confirmation: string;
  /** labels end with the colon of the language */
  signature: { customer: string; date: string; operator: string };
  print: string;
}

const PREVIEW_TEXT = '预览 PREVIEW – 未提交';

const LABELS = {
  zh: {
    title: 'OpenBOSS 业务受理单',
    subtitle: '免填单',
    orderNo: '受理单号',
    businessType: '业务类型',
    status: '状态',
    createdAt: '受理时间',
    submittedAt: '提交时间',
    printedAt: '打印时间',
    customer: '客户信息',
    customerName: '客户名称',
    customerKind: '客户类型',
    idType: '证件类型',
    idNumber: '证件号码',
    phone: '联系电话',
    address: '地址',
    handling: '受理信息',
    operator: '受理员工',
    department: '受理部门',
    changes: '业务内容',
    changeItem: '项目',
    changeValue: '内容',
    noChanges: '无业务变更',
    fees: '费用明细',
    feeName: '费用项目',
    feeKind: '类别',
    amount: '金额（元）',
    waived: '减免（元）',
    payable: '应缴（元）',
    waiver: '减免原因 / 审批人',
    noFees: '无费用',
    total: '费用合计',
    totalWaived: '减免合计',
    totalPayable: '应缴合计',
    notices: '重要提示',
    confirmation: '本人已阅读并确认以上业务内容及费用，同意办理。',
    customerSignature: '客户签名',
    date: '日期',
    operatorStamp: '受理员工签章（营业厅盖章）',
  },
  en: {
    title: 'OpenBOSS Order receipt',
    subtitle: 'Business acceptance form',
    orderNo: 'Order no.',
    businessType: 'Business type',
    status: 'Status',
    createdAt: 'Accepted at',
    submittedAt: 'Submitted at',
    printedAt: 'Printed at',
    customer: 'Customer',
    customerName: 'Name',
    customerKind: 'Customer type',
    idType: 'ID type',
    idNumber: 'ID number',
    phone: 'Contact phone',
    address: 'Address',
    handling: 'Handled by',
    operator: 'Operator',
    department: 'Department',
    changes: 'What changes',
    changeItem: 'Item',
    changeValue: 'Value',
    noChanges: 'No changes',
    fees: 'Fees',
    feeName: 'Fee item',
    feeKind: 'Kind',
    amount: 'Amount (CNY)',
    waived: 'Waived (CNY)',
    payable: 'Payable (CNY)',
    waiver: 'Waiver reason / by',
    noFees: 'No fees',
    total: 'Total',
    totalWaived: 'Total waived',
    totalPayable: 'Total payable',
    notices: 'Important notices',
    confirmation: 'I have read and confirm the business and fees above and agree to proceed.',
    customerSignature: 'Customer signature',
    date: 'Date',
    operatorStamp: 'Operator signature / branch stamp',
  },
} as const;

const PRINT_LABEL = '打印 / Print';

const STATUS_NAMES: Record<string, { zh: string; en: string }> = {
  draft: { zh: '草稿', en: 'Draft' },
  checked: { zh: '已校验', en: 'Checked' },
  quoted: { zh: '已预算', en: 'Quoted' },
  submitted: { zh: '已提交', en: 'Submitted' },
  completed: { zh: '已竣工', en: 'Completed' },
  cancelled: { zh: '已取消', en: 'Cancelled' },
};

const ID_TYPE_NAMES: Record<string, { zh: string; en: string }> = {
  resident_id: { zh: '居民身份证', en: 'Resident ID card' },
  passport: { zh: '护照', en: 'Passport' },
  hk_macau_permit: { zh: '港澳居民来往内地通行证', en: 'Home Return Permit (HK/Macau)' },
  taiwan_permit: { zh: '台湾居民来往大陆通行证', en: 'Mainland Travel Permit (Taiwan)' },
  military_id: { zh: '军官证', en: 'Military officer ID' },
  business_licence: { zh: '营业执照', en: 'Business licence' },
};

const CUSTOMER_KIND_NAMES = {
  person: { zh: '个人', en: 'Person' },
  organisation: { zh: '单位', en: 'Organisation' },
} as const;

const FEE_KIND_NAMES = {
  fee: { zh: '费用', en: 'Fee' },
  prestore: { zh: '预存款', en: 'Prestore' },
} as const;

const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;

/** An ISO instant as Asia/Shanghai wall time, `YYYY-MM-DD HH:mm:ss`; anything unparseable prints as given. */
export function shanghaiDateTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const d = new Date(ms + SHANGHAI_OFFSET_MS);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
  );
}

/** R-CUS-2: the model promises masked values; a value that arrives without a mask is masked here rather than printed. */
function ensureMasked(value: string, mask: (v: string) => string | null): string {
  return value === '' || value.includes('*') ? value : (mask(value) ?? '');
}

function yuan(fen: number): string {
  return `¥${formatYuan(fen)}`;
}

function buildView(data: ReceiptData, lang: ReceiptLang): ReceiptView {
  const L = LABELS[lang];
  const paren = (main: string, extra: string) => (lang === 'zh' ? `${main}（${extra}）` : `${main} (${extra})`);
  const dash = '-';
  const colon = (label: string) => (lang === 'zh' ? `${label}：` : `${label}:`);
  const meta: Pair[] = [
    [L.orderNo, String(data.orderId)],
    [L.businessType, paren(data.businessTypeName[lang], data.businessType)],
    [L.status, STATUS_NAMES[data.status]?.[lang] ?? data.status],
    [L.createdAt, shanghaiDateTime(data.createdAt)],
  ];
  if (data.submittedAt) meta.push([L.submittedAt, shanghaiDateTime(data.submittedAt)]);
  meta.push([L.printedAt, shanghaiDateTime(data.printedAt)]);

  const c = data.customer;
  const phone = c.contactPhoneMasked ? ensureMasked(c.contactPhoneMasked, maskPhone) : '';
  const customer: Pair[] = [
    [L.customerName, c.name],
    [L.customerKind, CUSTOMER_KIND_NAMES[c.kind]?.[lang] ?? c.kind],
    [L.idType, ID_TYPE_NAMES[c.idType]?.[lang] ?? c.idType],
    [L.idNumber, ensureMasked(c.idNumberMasked, maskIdNumber)],
    [L.phone, phone || dash],
    [L.address, c.address || dash],
  ];

  const waiverText = (reason: string | undefined, by: string | undefined): string => {
    if (reason && by) return paren(reason, by);
    return reason || by || dash;
  };

  return {
    lang,
    title: L.title,
    subtitle: L.subtitle,
    preview: data.final ? null : PREVIEW_TEXT,
    meta,
    customerHeading: L.customer,
    customer,
    handlingHeading: L.handling,
    handling: [
      [L.operator, paren(data.operator.name, data.operator.username)],
      [L.department, paren(data.department.name, data.department.departmentId)],
    ],
    changes: {
      heading: L.changes,
      columns: [
        { header: L.changeItem, weight: 1, align: 'left' },
        { header: L.changeValue, weight: 3, align: 'left' },
      ],
      rows: data.changes.map((ch) => [ch.label[lang], ch.value]),
      empty: L.noChanges,
    },
    fees: {
      heading: L.fees,
      columns: [
        { header: L.feeName, weight: 2.2, align: 'left' },
        { header: L.feeKind, weight: 1, align: 'left' },
        { header: L.amount, weight: 1.2, align: 'right' },
        { header: L.waived, weight: 1.2, align: 'right' },
        { header: L.payable, weight: 1.2, align: 'right' },
        { header: L.waiver, weight: 2.2, align: 'left' },
      ],
      rows: data.fees.map((f) => [
        f.name[lang],
        FEE_KIND_NAMES[f.kind]?.[lang] ?? f.kind,
        formatYuan(f.amountFen),
        formatYuan(f.waivedFen),
        formatYuan(f.amountFen - f.waivedFen),
        f.waivedFen !== 0 || f.waiverReason || f.waivedBy ? waiverText(f.waiverReason, f.waivedBy) : dash,
      ]),
      empty: L.noFees,
    },
    totals: [
      [L.total, yuan(data.totalFen)],
      [L.totalWaived, yuan(data.waivedFen)],
      [L.totalPayable, yuan(data.payableFen)],
    ],
    noticesHeading: L.notices,
    notices: data.notices.map((n) => n[lang]),
    confirmation: L.confirmation,
    signature: { customer: colon(L.customerSignature), date: colon(L.date), operator: colon(L.operatorStamp) },
    print: PRINT_LABEL,
  };
}

function pdfTitle(v: ReceiptView, data: ReceiptData): string {
  return `${v.title} ${data.orderId}`;
}

// ---------------------------------------------------------------------------------------------
// HTML

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

const CSS = `
*{box-sizing:border-box}
html,body{margin:0;padding:0;background:#eee}
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei","Hiragino Sans GB",sans-serif;font-size:13px;color:#222;line-height:1.5}
.sheet{position:relative;width:210mm;min-height:297mm;margin:16px auto;padding:15mm;background:#fff;box-shadow:0 1px 6px rgba(0,0,0,.2)}
.toolbar{text-align:right;width:210mm;margin:16px auto 0}
.toolbar button{font:inherit;font-size:14px;padding:6px 20px;cursor:pointer;border:1px solid #1677ff;background:#1677ff;color:#fff;border-radius:4px}
h1{font-size:22px;text-align:center;margin:0 0 2px;letter-spacing:2px}
.subtitle{text-align:center;color:#555;margin:0 0 12px}
h2{font-size:14px;margin:14px 0 6px;padding-left:6px;border-left:4px solid #1677ff}
.preview-banner{border:2px dashed #c00;color:#c00;background:#fff1f0;text-align:center;font-weight:bold;font-size:16px;padding:6px;margin-bottom:10px;letter-spacing:1px}
.watermark{position:fixed;top:45%;left:0;right:0;text-align:center;transform:rotate(-30deg);font-size:72px;font-weight:bold;color:rgba(204,0,0,.12);pointer-events:none;z-index:2;white-space:nowrap}
table{width:100%;border-collapse:collapse;margin:0}
th,td{border:1px solid #999;padding:4px 6px;vertical-align:top;text-align:left;word-break:break-word}
th{background:#f0f0f0;font-weight:bold}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.kv th{width:16%;background:#fafafa;font-weight:normal;color:#555}
table.kv td{width:34%}
table.totals{width:50%;margin-left:50%;margin-top:-1px}
table.totals th{background:#fafafa;font-weight:normal}
table.totals tr.payable td,table.totals tr.payable th{font-weight:bold;font-size:15px}
.empty{color:#777;text-align:center}
.notices{border:2px solid #fa8c16;background:#fff7e6;padding:8px 12px;margin-top:14px}
.notices h2{border:0;padding:0;margin:0 0 4px;color:#d46b08}
.notices ul{margin:0;padding-left:20px}
.sign-off{margin-top:18px}
.confirmation{margin:0 0 8px}
.signatures{display:flex;flex-wrap:wrap;gap:10px 40px}
.sig{display:flex;align-items:flex-end;gap:6px;flex:1 1 40%}
.sig.stamp{flex-basis:100%;max-width:70%}
.sig .line{flex:1;border-bottom:1px solid #222;min-width:120px;height:28px}
.sig.stamp .line{height:48px}
@page{size:A4;margin:12mm}
@media print{
  html,body{background:#fff}
  .no-print{display:none !important}
  .sheet{width:auto;min-height:0;margin:0;padding:0;box-shadow:none}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  body{font-size:11.5px;line-height:1.4}
  h1{font-size:20px}
  h2{margin:10px 0 4px}
  th,td{padding:2px 5px}
  tr,.notices,.sign-off{break-inside:avoid;page-break-inside:avoid}
  thead{display:table-header-group}
}
`;

function kvTable(pairs: Pair[]): string {
  const rows: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const cells = pairs
      .slice(i, i + 2)
      .map(([k, v]) => `<th>${esc(k)}</th><td>${esc(v)}</td>`)
      .join('');
    const pad = i + 1 < pairs.length ? '' : '<th></th><td></td>';
    rows.push(`<tr>${cells}${pad}</tr>`);
  }
  return `<table class="kv"><tbody>${rows.join('')}</tbody></table>`;
}

function htmlTable(t: Table, cls: string): string {
  const cellClass = (c: Column | undefined) => (c?.align === 'right' ? ' class="num"' : '');
  const head = t.columns.map((c) => `<th${cellClass(c)}>${esc(c.header)}</th>`).join('');
  const body = t.rows.length
    ? t.rows.map((r) => `<tr>${r.map((cell, i) => `<td${cellClass(t.columns[i])}>${esc(cell)}</td>`).join('')}</tr>`).join('')
    : `<tr><td class="empty" colspan="${t.columns.length}">${esc(t.empty)}</td></tr>`;
  return `<h2>${esc(t.heading)}</h2><table class="${cls}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** R-ORD-3: a self-contained, print-styled HTML page (inline CSS, no external assets). */
export function renderReceiptHtml(data: ReceiptData, lang: ReceiptLang): string {
  const v = buildView(data, lang);
  const totals = v.totals
    .map(([k, val], i) => `<tr${i === v.totals.length - 1 ? ' class="payable"' : ''}><th>${esc(k)}</th><td class="num">${esc(val)}</td></tr>`)
    .join('');
  const notices = v.notices.length
    ? `<section class="notices" role="alert"><h2>${esc(v.noticesHeading)}</h2><ul>${v.notices.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`
    : '';
  const preview = v.preview
    ? `<div class="watermark" aria-hidden="true">${esc(v.preview)}</div><div class="preview-banner">${esc(v.preview)}</div>`
    : '';
  return `<!DOCTYPE html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(pdfTitle(v, data))}</title>
<style>${CSS}</style>
</head>
<body>
<div class="toolbar no-print"><button type="button" onclick="window.print()">${esc(v.print)}</button></div>
<main class="sheet">
${preview}
<h1>${esc(v.title)}</h1>
<p class="subtitle">${esc(v.subtitle)}</p>
${kvTable(v.meta)}
<h2>${esc(v.customerHeading)}</h2>
${kvTable(v.customer)}
<h2>${esc(v.handlingHeading)}</h2>
${kvTable(v.handling)}
${htmlTable(v.changes, 'changes')}
${htmlTable(v.fees, 'fees')}
<table class="totals"><tbody>${totals}</tbody></table>
${notices}
<section class="sign-off">
<p class="confirmation">${esc(v.confirmation)}</p>
<div class="signatures">
<div class="sig"><span>${esc(v.signature.customer)}</span><span class="line"></span></div>
<div class="sig"><span>${esc(v.signature.date)}</span><span class="line"></span></div>
<div class="sig stamp"><span>${esc(v.signature.operator)}</span><span class="line"></span></div>
</div>
</section>
</main>
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------
// PDF

let cjkFont: Font | undefined;

/**
 * Noto Sans Hans (Simplified Chinese), read and parsed once per process: the file is ~8 MB and parsing
 * it costs more than drawing a receipt. Each PDF embeds only a subset of the glyphs it uses.
 */
export function receiptFont(): Font {
  if (!cjkFont) {
    // The package exports only its JS entry, so find the fonts folder beside it.
    const entry = createRequire(import.meta.url).resolve('@embedpdf/fonts-sc');
    const parsed = createFont(readFileSync(join(dirname(entry), '..', 'fonts', 'NotoSansHans-Regular.otf')));
    if (!('layout' in parsed)) throw new Error('NotoSansHans-Regular.otf is a font collection, expected one font');
    cjkFont = parsed;
  }
  return cjkFont;
}

const PAGE_MARGIN = 40;
const FOOTER_SPACE = 24;
const BODY_SIZE = 9;
const CELL_PAD = 3;
const INK = '#222222';
const GRID = '#999999';

type Doc = PDFKit.PDFDocument;

/** A bordered, optionally filled box; state is set before the path, as PDF requires. */
function box(doc: Doc, x: number, y: number, w: number, h: number, fill: string | null, stroke = GRID): void {
  doc.strokeColor(stroke);
  if (fill) doc.fillColor(fill).rect(x, y, w, h).fillAndStroke();
  else doc.rect(x, y, w, h).stroke();
}

function pdfLayout(doc: Doc) {
  const left = PAGE_MARGIN;
  const width = doc.page.width - 2 * PAGE_MARGIN;
  const bottom = () => doc.page.height - doc.page.margins.bottom;
  const ensureSpace = (h: number): boolean => {
    if (doc.y + h <= bottom()) return false;
    doc.addPage();
    return true;
  };
  const textHeight = (s: string, w: number, size = BODY_SIZE) => doc.fontSize(size).heightOfString(s || ' ', { width: w });
  const cell = (s: string, x: number, y: number, w: number, align: 'left' | 'right' | 'center' = 'left', color = INK) =>
    doc.fillColor(color).fontSize(BODY_SIZE).text(s, x + CELL_PAD, y + CELL_PAD, { width: w - 2 * CELL_PAD, align });

  const heading = (s: string) => {
    ensureSpace(40);
    doc.y += 6;
    const y = doc.y;
    doc.fillColor('#1677ff').rect(left, y + 1, 3, 12).fill();
    doc.fillColor(INK).fontSize(11).text(s, left + 8, y, { width: width - 8 });
    doc.y += 3;
  };

  /** Label/value pairs, two pairs per row, bordered like the HTML kv table. */
  const kv = (pairs: Pair[]) => {
    const labelW = width * 0.16;
    const valueW = width * 0.34;
    for (let i = 0; i < pairs.length; i += 2) {
      const row = pairs.slice(i, i + 2);
      const h = Math.max(...row.map(([k, v]) => Math.max(textHeight(k, labelW - 2 * CELL_PAD), textHeight(v, valueW - 2 * CELL_PAD)))) + 2 * CELL_PAD;
      ensureSpace(h);
      const y = doc.y;
      row.forEach(([k, v], j) => {
        const x = left + j * (labelW + valueW);
        box(doc, x, y, labelW, h, '#fafafa');
        box(doc, x + labelW, y, valueW, h, null);
        cell(k, x, y, labelW, 'left', '#555555');
        cell(v, x + labelW, y, valueW);
      });
      if (row.length === 1) box(doc, left + labelW + valueW, y, labelW + valueW, h, null);
      doc.y = y + h;
    }
  };

  const table = (t: Table) => {
    heading(t.heading);
    const total = t.columns.reduce((s, c) => s + c.weight, 0);
    const widths = t.columns.map((c) => (width * c.weight) / total);
    const rowHeight = (cells: string[]) => Math.max(...cells.map((s, i) => textHeight(s, (widths[i] ?? width) - 2 * CELL_PAD))) + 2 * CELL_PAD;
    const header = () => {
      const cells = t.columns.map((c) => c.header);
      const h = rowHeight(cells);
      ensureSpace(h + 20);
      const y = doc.y;
      let x = left;
      t.columns.forEach((c, i) => {
        const w = widths[i] ?? 0;
        box(doc, x, y, w, h, '#f0f0f0');
        cell(c.header, x, y, w, c.align);
        x += w;
      });
      doc.y = y + h;
    };
    header();
    if (t.rows.length === 0) {
      const h = rowHeight([t.empty]);
      box(doc, left, doc.y, width, h, null);
      cell(t.empty, left, doc.y, width, 'center', '#777777');
      doc.y += h;
      return;
    }
    for (const r of t.rows) {
      const h = rowHeight(r);
      if (ensureSpace(h)) header(); // repeat the header on a new page
      const y = doc.y;
      let x = left;
      r.forEach((s, i) => {
        const w = widths[i] ?? 0;
        box(doc, x, y, w, h, null);
        cell(s, x, y, w, t.columns[i]?.align ?? 'left');
        x += w;
      });
      doc.y = y + h;
    }
  };

  return { left, width, ensureSpace, textHeight, cell, heading, kv, table };
}

function drawWatermark(doc: Doc, text: string): void {
  const { x, y } = doc;
  const cx = doc.page.width / 2;
  const cy = doc.page.height / 2;
  doc.save();
  doc.rotate(-30, { origin: [cx, cy] });
  doc.fillColor('#cc0000').fillOpacity(0.12).fontSize(54);
  doc.text(text, 0, cy - 30, { width: doc.page.width, align: 'center', lineBreak: false });
  doc.restore();
  doc.fillOpacity(1);
  doc.x = x;
  doc.y = y;
}

function drawReceipt(doc: Doc, v: ReceiptView): void {
  const ui = pdfLayout(doc);
  const { left, width } = ui;

  if (v.preview) {
    const text = v.preview;
    drawWatermark(doc, text);
    doc.on('pageAdded', () => drawWatermark(doc, text));
    const y = doc.y;
    doc.dash(4, { space: 3 }).lineWidth(1.5);
    box(doc, left, y, width, 26, '#fff1f0', '#cc0000');
    doc.undash().lineWidth(1);
    doc.fillColor('#cc0000').fontSize(13).text(text, left, y + 6, { width, align: 'center' });
    doc.y = y + 34;
  }

  doc.fillColor(INK).fontSize(18).text(v.title, left, doc.y, { width, align: 'center', characterSpacing: 1 });
  doc.fillColor('#555555').fontSize(10).text(v.subtitle, left, doc.y + 2, { width, align: 'center' });
  doc.y += 8;
  ui.kv(v.meta);
  ui.heading(v.customerHeading);
  ui.kv(v.customer);
  ui.heading(v.handlingHeading);
  ui.kv(v.handling);
  ui.table(v.changes);
  ui.table(v.fees);

  // totals: right half, payable last and larger
  const labelW = width * 0.25;
  const valueW = width * 0.25;
  const x0 = left + width - labelW - valueW;
  const totalRows = v.totals.map(([k, val], i) => {
    const size = i === v.totals.length - 1 ? 11 : BODY_SIZE;
    return { k, val, size, h: ui.textHeight(val, valueW - 2 * CELL_PAD, size) + 2 * CELL_PAD };
  });
  ui.ensureSpace(totalRows.reduce((s, r) => s + r.h, 0)); // the totals stay together
  totalRows.forEach(({ k, val, size, h }) => {
    const y = doc.y;
    box(doc, x0, y, labelW, h, '#fafafa');
    box(doc, x0 + labelW, y, valueW, h, null);
    doc.fillColor(INK).fontSize(size).text(k, x0 + CELL_PAD, y + CELL_PAD, { width: labelW - 2 * CELL_PAD });
    doc.fontSize(size).text(val, x0 + labelW + CELL_PAD, y + CELL_PAD, { width: valueW - 2 * CELL_PAD, align: 'right' });
    doc.y = y + h;
  });

  if (v.notices.length) {
    const inner = width - 24;
    const items = v.notices.map((n) => `• ${n}`);
    const bodyH = items.reduce((s, n) => s + ui.textHeight(n, inner) + 2, 0);
    const h = bodyH + 34;
    doc.y += 12;
    ui.ensureSpace(h);
    const y = doc.y;
    doc.lineWidth(1.5);
    box(doc, left, y, width, h, '#fff7e6', '#fa8c16');
    doc.lineWidth(1);
    doc.fillColor('#d46b08').fontSize(11).text(v.noticesHeading, left + 12, y + 8, { width: inner });
    let ny = y + 26;
    for (const n of items) {
      doc.fillColor(INK).fontSize(BODY_SIZE).text(n, left + 12, ny, { width: inner });
      ny += ui.textHeight(n, inner) + 2;
    }
    doc.y = y + h;
  }

  // confirmation + signature lines stay together on one page
  doc.y += 12;
  ui.ensureSpace(ui.textHeight(v.confirmation, width, 10) + 75);
  doc.fillColor(INK).fontSize(10).text(v.confirmation, left, doc.y, { width });
  const signLine = (label: string, x: number, y: number, w: number) => {
    doc.fillColor(INK).fontSize(10).text(label, x, y, { lineBreak: false });
    const lx = x + doc.widthOfString(label) + 4;
    doc.strokeColor(INK).moveTo(lx, y + 13).lineTo(x + w, y + 13).stroke();
  };
  let y = doc.y + 20;
  signLine(v.signature.customer, left, y, width * 0.55);
  signLine(v.signature.date, left + width * 0.62, y, width * 0.38);
  y += 38;
  signLine(v.signature.operator, left, y, width * 0.7);
  doc.x = left;
  doc.y = y + 24;
}

function drawFooters(doc: Doc, text: string): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottomMargin = doc.page.margins.bottom;
    doc.page.margins.bottom = 0; // writing below the bottom margin would otherwise start a new page
    doc.fillColor('#777777').fontSize(8).text(`${text} · ${i + 1}/${range.count}`, PAGE_MARGIN, doc.page.height - PAGE_MARGIN + 6, {
      width: doc.page.width - 2 * PAGE_MARGIN,
      align: 'center',
      lineBreak: false,
    });
    doc.page.margins.bottom = bottomMargin;
  }
}

/** R-ORD-3: the same receipt as an A4 PDF; the CJK font is embedded as a subset of the glyphs used. */
export function renderReceiptPdf(data: ReceiptData, lang: ReceiptLang): Promise<Buffer> {
  const v = buildView(data, lang);
  const printedAt = new Date(data.printedAt);
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: PAGE_MARGIN, left: PAGE_MARGIN, right: PAGE_MARGIN, bottom: PAGE_MARGIN + FOOTER_SPACE },
    bufferPages: true,
    font: '', // no default Helvetica: every glyph comes from the CJK font
    lang: lang === 'zh' ? 'zh-CN' : 'en',
    displayTitle: true,
    info: {
      Title: pdfTitle(v, data),
      Author: 'OpenBOSS',
      Subject: `${data.businessTypeName[lang]} ${data.orderId}`,
      Creator: 'OpenBOSS',
      // the receipt's print time (business clock), not the host clock
      ...(Number.isNaN(printedAt.getTime()) ? {} : { CreationDate: printedAt }),
    },
  });
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    try {
      // pdfkit >= 0.20 takes a parsed fontkit font (and then skips parsing); @types/pdfkit only lists file sources.
      doc.registerFont('cjk', receiptFont() as unknown as Buffer);
      doc.font('cjk');
      drawReceipt(doc, v);
      drawFooters(doc, `OpenBOSS · ${v.meta[0]?.[0] ?? ''} ${data.orderId} · ${shanghaiDateTime(data.printedAt)}`);
      doc.end();
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
