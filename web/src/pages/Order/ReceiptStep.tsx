// ⑤ 免填单 (R-ORD-3): the receipt as the server renders it (HTML, fetched with the operator's token,
// shown in a frame), printed from its own page, or downloaded as PDF.
import { ArrowLeftOutlined, ArrowRightOutlined, FilePdfOutlined, PrinterOutlined } from '@ant-design/icons';
import { App, Button, Card, Skeleton, Space } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import { receiptHtml, receiptPdf } from '../../services/orders.ts';

/** Opens the receipt in a page of its own and prints it there (the print CSS of the receipt applies). */
export function printReceipt(html: string): Window | null {
  const page = html.replace('</body>', '<script>window.addEventListener("load", () => window.print());</script></body>');
  const url = URL.createObjectURL(new Blob([page], { type: 'text/html;charset=utf-8' }));
  const w = window.open(url, '_blank');
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return w;
}

export async function downloadPdf(orderId: number): Promise<void> {
  const blob = await receiptPdf(orderId);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `receipt-${orderId}.pdf`;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The receipt of an order, in the operator's language; `version` reloads it after a change. */
export function useReceipt(orderId: number, version: string) {
  const { lang } = useI18n();
  const [html, setHtml] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    setHtml(null);
    receiptHtml(orderId)
      .then((h) => live && setHtml(h))
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [orderId, version, lang, attempt]);
  return { html, error, retry: () => setAttempt((n) => n + 1) };
}

export function ReceiptButtons({ orderId, html }: { orderId: number; html: string | null }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [downloading, setDownloading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <Space wrap>
        <Button
          icon={<PrinterOutlined />}
          disabled={!html}
          data-testid="print-receipt"
          onClick={() => {
            if (html && !printReceipt(html)) void message.warning(t('order.popupBlocked'));
          }}
        >
          {t('order.print')}
        </Button>
        <Button
          icon={<FilePdfOutlined />}
          loading={downloading}
          data-testid="download-pdf"
          onClick={() => {
            setDownloading(true);
            setError(null);
            downloadPdf(orderId)
              .catch((e: unknown) => setError(e))
              .finally(() => setDownloading(false));
          }}
        >
          {t('order.pdf')}
        </Button>
      </Space>
      {error ? <ErrorAlert error={error} style={{ marginTop: 12 }} /> : null}
    </>
  );
}

export function ReceiptStep({ orderId, version, onBack, onNext }: { orderId: number; version: string; onBack(): void; onNext(): void }) {
  const { t } = useI18n();
  const { html, error, retry } = useReceipt(orderId, version);
  const next = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (html) next.current?.focus();
  }, [html]);
  return (
    <Card data-testid="order-receipt" title={t('order.receiptPreview')} extra={<ReceiptButtons orderId={orderId} html={html} />}>
      {error ? <ErrorAlert error={error} onRetry={retry} /> : html ? <iframe title={t('order.receiptPreview')} srcDoc={html} className="receipt-frame" data-testid="receipt-frame" /> : <Skeleton active paragraph={{ rows: 10 }} />}
      <Space style={{ marginTop: 16 }}>
        <Button icon={<ArrowLeftOutlined />} onClick={onBack}>
          {t('order.prev')}
        </Button>
        <Button ref={next} type="primary" onClick={onNext} disabled={!html} icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="order-to-submit">
          {t('order.toSubmit')}
        </Button>
      </Space>
    </Card>
  );
}
