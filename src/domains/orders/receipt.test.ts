import { inflateSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { renderReceiptHtml, renderReceiptPdf, shanghaiDateTime } from './receipt.ts';
import type { ReceiptData } from './receipt-model.ts';

function receipt(over: Partial<ReceiptData> = {}): ReceiptData {
  return {
    orderId: 1042,
    status: 'submitted',
    final: true,
    businessType: 'new_mobile',
    businessTypeName: { zh: '新装手机', en: 'New mobile line' },
    customer: {
      name: '张三丰',
      kind: 'person',
      idType: 'resident_id',
      idNumberMasked: '110101********1234',
      contactPhoneMasked: '138****5678',
      address: '北京市东城区东长安街1号',
    },
    operator: { username: 'op001', name: '李营业' },
    department: { departmentId: 'BJ-DC-01', name: '东城营业厅' },
    createdAt: '2026-11-23T02:05:00Z',
    submittedAt: '2026-11-23T02:06:00Z',
    printedAt: '2026-11-23T02:06:07Z',
    changes: [
      { label: { zh: '号码', en: 'Number' }, value: '13800138000' },
      { label: { zh: '套餐', en: 'Plan' }, value: '畅享套餐 58元/月' },
    ],
    fees: [
      { name: { zh: 'SIM卡费', en: 'SIM card' }, itemCode: 'SIM', kind: 'fee', amountFen: 2500, waivedFen: 2500, waiverReason: '新客户优惠', waivedBy: 'mgr01' },
      { name: { zh: '选号费', en: 'Number fee' }, itemCode: 'NUM', kind: 'fee', amountFen: 10000, waivedFen: 0 },
      { name: { zh: '预存话费', en: 'Prestore' }, itemCode: 'PRE', kind: 'prestore', amountFen: 5000, waivedFen: 0 },
    ],
    totalFen: 17500,
    waivedFen: 2500,
    payableFen: 15000,
    notices: [{ zh: '手机将于 2027-02 欠费停机', en: 'The mobile stops in 2027-02' }],
    ...over,
  };
}

const preview = (): Partial<ReceiptData> => ({ final: false, status: 'quoted', submittedAt: null });

// --- a small PDF reader: enough to read back what pdfkit writes, so the tests check the text a viewer shows.

function pdfStreams(pdf: Buffer): string[] {
  const raw = pdf.toString('latin1');
  const out: string[] = [];
  const re = /(?<!end)stream\r?\n/g;
  for (let m = re.exec(raw); m; m = re.exec(raw)) {
    const start = m.index + m[0].length;
    const end = raw.indexOf('endstream', start);
    const dict = raw.slice(raw.lastIndexOf(' obj', m.index), m.index);
    const body = pdf.subarray(start, end);
    out.push((dict.includes('/FlateDecode') ? inflateSync(body) : body).toString('latin1'));
  }
  return out;
}

function utf16Hex(hex: string): string {
  return Buffer.from(hex, 'hex').swap16().toString('utf16le');
}

/** Text of a pdfkit PDF: glyph ids in the content streams mapped back through the font's ToUnicode CMap. */
function pdfText(pdf: Buffer): string {
  const streams = pdfStreams(pdf);
  const cmap = streams.find((s) => s.includes('begincmap'));
  if (!cmap) throw new Error('no ToUnicode CMap: the text is not in an embedded font');
  const toUnicode = new Map<number, string>();
  for (const m of cmap.matchAll(/<([0-9a-f]{4})>\s*<([0-9a-f]{4})>\s*\[([^\]]*)\]/gi)) {
    const first = parseInt(m[1] ?? '', 16);
    [...(m[3] ?? '').matchAll(/<([0-9a-f]+)>/gi)].forEach((u, i) => toUnicode.set(first + i, utf16Hex(u[1] ?? '')));
  }
  const lines: string[] = [];
  for (const s of streams.filter((x) => x.includes('BT'))) {
    for (const tj of s.matchAll(/\[([^\]]*)\]\s*TJ|<([0-9a-f]*)>\s*Tj/gi)) {
      const hexes = [...(tj[1] ?? `<${tj[2] ?? ''}>`).matchAll(/<([0-9a-f]*)>/gi)].map((h) => h[1] ?? '');
      lines.push(hexes.join('').replace(/[0-9a-f]{4}/gi, (g) => toUnicode.get(parseInt(g, 16)) ?? '\u{fffd}'));
    }
  }
  return lines.join('\n');
}

const PDF_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };

/** A document-info entry (Title, Author…), which pdfkit writes as an indirect string object. */
function pdfInfo(pdf: Buffer, key: string): string | undefined {
  const raw = pdf.toString('latin1');
  const ref = new RegExp(`/${key} (\\d+) 0 R`).exec(raw)?.[1];
  const literal = ref && new RegExp(`\n${ref} 0 obj\n\\((.*?)\\)\nendobj`, 's').exec(raw)?.[1];
  if (literal === undefined || literal === '') return undefined;
  const bytes = Buffer.from(literal.replace(/\\(.)/gs, (_, c: string) => PDF_ESCAPES[c] ?? c), 'latin1');
  return bytes[0] === 0xfe && bytes[1] === 0xff ? bytes.subarray(2).swap16().toString('utf16le') : bytes.toString('latin1');
}

describe('R-ORD-3 HTML receipt', () => {
  test('R-ORD-3 the HTML receipt shows customer, operator, department, time, business type, changes, fees and a signature line', () => {
    const html = renderReceiptHtml(receipt(), 'zh');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('OpenBOSS 业务受理单');
    expect(html).toContain('1042');
    // customer block
    for (const s of ['张三丰', '个人', '居民身份证', '110101********1234', '138****5678', '北京市东城区东长安街1号']) expect(html).toContain(s);
    // operator and department
    expect(html).toContain('李营业（op001）');
    expect(html).toContain('东城营业厅（BJ-DC-01）');
    // times in Asia/Shanghai
    expect(html).toContain('2026-11-23 10:05:00');
    expect(html).toContain('2026-11-23 10:06:00');
    expect(html).toContain('2026-11-23 10:06:07');
    expect(html).not.toContain('02:05:00');
    // business type and what changes
    expect(html).toContain('新装手机（new_mobile）');
    for (const s of ['号码', '13800138000', '套餐', '畅享套餐 58元/月']) expect(html).toContain(s);
    // fees: name, amount, waived, payable, waiver reason and who granted it (R-ORD-2), totals in yuan
    expect(html).toMatch(/<td>SIM卡费<\/td><td>费用<\/td><td class="num">25\.00<\/td><td class="num">25\.00<\/td><td class="num">0\.00<\/td><td>新客户优惠（mgr01）<\/td>/);
    expect(html).toMatch(/<td>预存话费<\/td><td>预存款<\/td><td class="num">50\.00<\/td>/);
    expect(html).toContain('¥175.00');
    expect(html).toContain('¥25.00');
    expect(html).toMatch(/应缴合计<\/th><td class="num">¥150\.00</);
    // notices in a highlighted box
    expect(html).toMatch(/<section class="notices"[^>]*>.*手机将于 2027-02 欠费停机/s);
    // signature, date and operator stamp lines
    expect(html).toMatch(/客户签名：<\/span><span class="line">/);
    expect(html).toMatch(/日期：<\/span><span class="line">/);
    expect(html).toMatch(/受理员工签章（营业厅盖章）：<\/span><span class="line">/);
  });

  test('R-ORD-3 the HTML receipt is a self-contained A4 print page whose Print button does not print', () => {
    const html = renderReceiptHtml(receipt(), 'zh');
    expect(html).toMatch(/@page\s*\{\s*size:\s*A4/);
    expect(html).toMatch(/@media print\s*\{[^@]*\.no-print\s*\{\s*display:\s*none/);
    expect(html).toMatch(/<div class="toolbar no-print"><button type="button" onclick="window\.print\(\)">打印 \/ Print<\/button>/);
    // nothing fetched from elsewhere
    expect(html).not.toMatch(/<link|<script|<img|url\(|https?:/i);
  });

  test('R-ORD-3 the HTML receipt escapes every string it prints', () => {
    const evil = '<img src=x onerror="alert(1)"> & \'';
    const data = receipt({
      businessTypeName: { zh: `业务${evil}`, en: evil },
      customer: { ...receipt().customer, name: `</td><script>alert("x")</script>${evil}`, address: evil },
      operator: { username: evil, name: evil },
      department: { departmentId: evil, name: evil },
      changes: [{ label: { zh: evil, en: evil }, value: evil }],
      fees: [{ name: { zh: evil, en: evil }, itemCode: 'X', kind: 'fee', amountFen: 100, waivedFen: 100, waiverReason: evil, waivedBy: evil }],
      notices: [{ zh: evil, en: evil }],
    });
    for (const lang of ['zh', 'en'] as const) {
      const html = renderReceiptHtml(data, lang);
      expect(html).not.toMatch(/<img|<script|<\/td><script/i);
      expect(html).not.toContain('onerror="');
      expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;');
      expect(html).toContain('&lt;/td&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    }
  });

  test('R-ORD-3 a receipt that is not final shows the preview banner and watermark; a final one does not', () => {
    const draft = renderReceiptHtml(receipt(preview()), 'zh');
    expect(draft).toContain('<div class="preview-banner">预览 PREVIEW – 未提交</div>');
    expect(draft).toContain('<div class="watermark" aria-hidden="true">预览 PREVIEW – 未提交</div>');
    expect(renderReceiptHtml(receipt(preview()), 'en')).toContain('<div class="preview-banner">预览 PREVIEW – 未提交</div>');
    const final = renderReceiptHtml(receipt(), 'zh');
    expect(final).not.toContain('PREVIEW');
    expect(final).not.toContain('未提交');
  });

  test('R-ORD-3 R-CUS-2 the receipt prints the masked ID and phone as given, and masks one that arrives whole', () => {
    const masked = renderReceiptHtml(receipt(), 'zh');
    expect(masked).toContain('<td>110101********1234</td>');
    expect(masked).toContain('<td>138****5678</td>');
    const customerBlock = masked.slice(masked.indexOf('客户信息'), masked.indexOf('受理信息'));
    expect(customerBlock).not.toMatch(/\d{7,}/);

    const whole = receipt({ customer: { ...receipt().customer, idNumberMasked: '110101199003071234', contactPhoneMasked: '13812345678' } });
    const html = renderReceiptHtml(whole, 'zh');
    expect(html).not.toContain('110101199003071234');
    expect(html).not.toContain('13812345678');
    expect(html).toContain('<td>110101********1234</td>');
    expect(html).toContain('<td>138****5678</td>');
  });

  test('R-ORD-3 the English receipt has English labels and the English names of the business type, changes and fees', () => {
    const html = renderReceiptHtml(receipt(), 'en');
    expect(html).toContain('<html lang="en">');
    for (const s of [
      'OpenBOSS Order receipt',
      'New mobile line (new_mobile)',
      'Resident ID card',
      '李营业 (op001)',
      '东城营业厅 (BJ-DC-01)',
      '<td>Number</td><td>13800138000</td>',
      '<td>SIM card</td><td>Fee</td>',
      'SIM card',
      'Total payable',
      'The mobile stops in 2027-02',
      'Customer signature:',
      'Date:',
      'Operator signature / branch stamp:',
      '2026-11-23 10:05:00',
    ]) {
      expect(html).toContain(s);
    }
    for (const zh of ['业务受理单', '客户签名', '费用明细', '新装手机', '居民身份证', '（']) expect(html).not.toContain(zh);
  });

  test('R-ORD-3 times print in Asia/Shanghai as YYYY-MM-DD HH:mm:ss', () => {
    expect(shanghaiDateTime('2026-12-31T16:30:05.123Z')).toBe('2027-01-01 00:30:05');
    expect(shanghaiDateTime('2026-11-23T10:05:00+08:00')).toBe('2026-11-23 10:05:00');
  });
});

describe('R-ORD-3 PDF receipt', () => {
  test('R-ORD-3 the PDF is A4 with metadata and embeds a subset of the CJK font', async () => {
    const pdf = await renderReceiptPdf(receipt(), 'zh');
    const raw = pdf.toString('latin1');
    expect(raw.startsWith('%PDF-')).toBe(true);
    expect(raw.trimEnd().endsWith('%%EOF')).toBe(true);
    expect(raw).toContain('/MediaBox [0 0 595.28 841.89]');
    expect(pdfInfo(pdf, 'Author')).toBe('OpenBOSS');
    expect(pdfInfo(pdf, 'Title')).toBe('OpenBOSS 业务受理单 1042');
    // CFF-flavoured OpenType is embedded as FontFile3; the six-letter tag marks a subset
    expect(raw).toMatch(/\/BaseFont \/[A-Z]{6}\+NotoSansHans-Regular/);
    expect(raw).toContain('/FontFile3');
    expect(raw).toContain('/CIDFontType0C');
    expect(raw).not.toMatch(/\/BaseFont \/Helvetica/);
    expect(pdf.length).toBeLessThan(300_000);
  });

  test('R-ORD-3 the PDF carries the receipt text in Chinese, read back through the embedded font', async () => {
    const text = pdfText(await renderReceiptPdf(receipt(), 'zh'));
    for (const s of [
      'OpenBOSS 业务受理单',
      '张三丰',
      '110101********1234',
      '138****5678',
      '李营业（op001）',
      '东城营业厅（BJ-DC-01）',
      '2026-11-23 10:05:00',
      '新装手机（new_mobile）',
      '畅享套餐 58元/月',
      'SIM卡费',
      '新客户优惠（mgr01）',
      '¥150.00',
      '手机将于 2027-02 欠费停机',
      '客户签名：',
      '日期：',
      '受理员工签章（营业厅盖章）：',
    ]) {
      expect(text).toContain(s);
    }
    expect(text).not.toContain('PREVIEW');
    expect(text).not.toContain('\u{fffd}');
  });

  test('R-ORD-3 a PDF that is not final carries the preview mark', async () => {
    const text = pdfText(await renderReceiptPdf(receipt(preview()), 'zh'));
    expect(text).toContain('预览 PREVIEW – 未提交');
  });

  test('R-ORD-3 R-CUS-2 the PDF masks an ID or phone that arrives whole', async () => {
    const whole = receipt({ customer: { ...receipt().customer, idNumberMasked: '110101199003071234', contactPhoneMasked: '13812345678' } });
    const text = pdfText(await renderReceiptPdf(whole, 'zh'));
    expect(text).toContain('110101********1234');
    expect(text).not.toContain('110101199003071234');
    expect(text).not.toContain('13812345678');
  });

  test('R-ORD-3 an English PDF has English labels and still renders Chinese names', async () => {
    const pdf = await renderReceiptPdf(receipt(), 'en');
    expect(pdfInfo(pdf, 'Title')).toBe('OpenBOSS Order receipt 1042');
    const text = pdfText(pdf);
    for (const s of ['OpenBOSS Order receipt', 'Customer signature:', 'Total payable', 'New mobile line (new_mobile)', 'The mobile stops in 2027-02', '张三丰']) {
      expect(text).toContain(s);
    }
    expect(text).not.toContain('客户签名');
  });

  test('R-ORD-3 a long receipt flows onto more pages, each numbered and still showing every row', async () => {
    const changes = Array.from({ length: 70 }, (_, i) => ({ label: { zh: `功能${i + 1}`, en: `Feature ${i + 1}` }, value: `第${i + 1}项变更` }));
    const pdf = await renderReceiptPdf(receipt({ ...preview(), changes }), 'zh');
    const pages = pdf.toString('latin1').match(/\/Type \/Page\b/g)?.length ?? 0;
    expect(pages).toBeGreaterThan(1);
    const text = pdfText(pdf);
    for (const c of changes) expect(text).toContain(c.value);
    expect(text).toContain(`1/${pages}`);
    expect(text).toContain(`${pages}/${pages}`);
    // the preview watermark is on every page
    expect(text.match(/预览 PREVIEW – 未提交/g)?.length).toBeGreaterThanOrEqual(pages);
    // the signature block is still there after the table
    expect(text).toContain('客户签名：');
  });
});
