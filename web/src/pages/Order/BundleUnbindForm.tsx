// 解除捆绑 BUNDLE_UNBIND (R-BND-15): the operator enters a number of the bundle and queries it — the
// bundle type, its members with their status and arrears (both lines must owe nothing) — then the
// order goes on to the check, where the customer's service password authorises it, the 8-yuan fee,
// the receipt and the submit.
import { SearchOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, Space, type TableColumnsType, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useI18n } from '../../locales/index.tsx';
import { type BundleMember, type BundleView, bundleOfNumber } from '../../services/bundles.ts';
import { BundleCard } from '../Bundles/common.tsx';
import { type DocumentsValues, DocumentsFields, documentsBody } from './DocumentsFields.tsx';
import { FormFooter, type OrderFormProps } from './FormFooter.tsx';

interface Values {
  serviceNumber?: string;
  documents?: DocumentsValues;
}

export function BundleUnbindForm(p: OrderFormProps) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const number = ((Form.useWatch('serviceNumber', form) as string | undefined) ?? '').trim();
  const [found, setFound] = useState<{ number: string; bundle: BundleView | null } | null>(null);
  const [querying, setQuerying] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const preset = (p.initial?.serviceNumber as string | undefined) ?? p.customer?.subscribers.find((s) => s.subscriberId === p.subscriberId)?.serviceNumber;

  const query = async (n: string) => {
    if (!n) return;
    setQuerying(true);
    setError(null);
    try {
      setFound({ number: n, bundle: await bundleOfNumber(n) });
    } catch (e) {
      setFound(null);
      setError(e);
    } finally {
      setQuerying(false);
    }
  };

  // an order being changed, or a line picked in the 360: queried at once
  useEffect(() => {
    if (preset) void query(preset);
  }, [preset]);

  const current = found && found.number === number ? found : null;
  // R-BND-15 both lines without arrears: what each member's paying account owes (the customer 360's figure)
  const accounts = new Map((p.customer?.accounts ?? []).map((a) => [a.accountId, a.arrearsFen]));
  const arrearsOf = (m: BundleMember) => m.arrearsFen ?? accounts.get(m.accountId);
  const owes = (current?.bundle?.members ?? []).some((m) => (arrearsOf(m) ?? 0) > 0);
  const arrearsColumn: TableColumnsType<BundleMember> = [
    {
      title: t('bundle.arrears'),
      key: 'arrears',
      align: 'right',
      render: (_: unknown, m) => {
        const v = arrearsOf(m);
        return v === undefined ? '—' : v > 0 ? <Money fen={v} owed strong /> : t('bundle.noArrears');
      },
    },
  ];

  return (
    <Card data-testid="order-form">
      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={{ serviceNumber: preset, documents: (p.initial?.documents as DocumentsValues | undefined) ?? { presenter: 'owner', ownerIdOriginal: p.customer?.customer.kind === 'person' } }}
        disabled={p.busy}
        scrollToFirstError
        onFinish={(v) => {
          // the bundle must have been queried for this number first
          if (!current?.bundle) {
            void query((v.serviceNumber ?? '').trim());
            return;
          }
          p.onSubmit({ businessType: p.businessType, customerId: p.customer?.customer.customerId ?? 0, serviceNumber: (v.serviceNumber ?? '').trim(), documents: documentsBody(v.documents) });
        }}
      >
        <Typography.Paragraph type="secondary">{t('bundle.unbindHint')}</Typography.Paragraph>
        <Form.Item label={t('bundle.unbindNumber')} required style={{ maxWidth: 480 }}>
          <Space.Compact style={{ width: '100%' }}>
            <Form.Item name="serviceNumber" noStyle rules={[{ required: true, whitespace: true, message: t('form.required', { label: t('bundle.unbindNumber') }) }]}>
              <Input
                id="serviceNumber"
                autoComplete="off"
                maxLength={40}
                onPressEnter={(e) => {
                  // Enter queries a number not yet queried; once shown, Enter goes on
                  if (!current) {
                    e.preventDefault();
                    void query(number);
                  }
                }}
              />
            </Form.Item>
            <Button icon={<SearchOutlined />} loading={querying} onClick={() => void query(number)} disabled={!number} data-testid="bundle-query">
              {t('bundle.query')}
            </Button>
          </Space.Compact>
        </Form.Item>
        {error ? <ErrorAlert error={error} style={{ marginBottom: 16 }} /> : null}
        {current && !current.bundle ? <Alert type="warning" showIcon title={t('bundle.noBundle', { number: current.number })} style={{ marginBottom: 16 }} /> : null}
        {current?.bundle ? (
          <div data-testid="bundle-query-result" style={{ marginBottom: 16 }}>
            <BundleCard b={current.bundle} full={false} memberColumns={arrearsColumn} />
            {owes ? <Alert type="error" showIcon title={t('bundle.arrearsBlock')} style={{ marginTop: 12 }} /> : null}
          </div>
        ) : null}
        {!current ? <Typography.Paragraph type="secondary">{t('bundle.queryFirst')}</Typography.Paragraph> : null}
        <DocumentsFields prefix={['documents']} customerKind={p.customer?.customer.kind} />
        <FormFooter onBack={p.onBack} busy={p.busy} />
      </Form>
    </Card>
  );
}
