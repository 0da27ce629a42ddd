// ③ 校验 (R-ORD-1): every failing rule with its message and the fix, in the operator's language;
// the service password for sensitive types; what the order will change; the notices the operator
// must tell the customer (R-E9-4).
import { ArrowLeftOutlined, ArrowRightOutlined, SafetyCertificateOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Descriptions, Form, Input, type InputRef, List, Result, Space, Tag, Typography } from 'antd';
import { type CSSProperties, type ReactNode, useEffect, useRef } from 'react';
import { useI18n } from '../../locales/index.tsx';
import type { OrderView, Text } from '../../services/orders.ts';

/** R-E9-4: what will happen if the customer never tops up — shown before the customer signs. */
type Failure = NonNullable<OrderView['checks']>['failures'][number];

/** R-ORD-1: each failing check with its code and the fix the operator should make. */
export function FailureList({ failures, header, style }: { failures: Failure[]; header?: ReactNode; style?: CSSProperties }) {
  const { t, pick } = useI18n();
  return (
    <List
      bordered
      data-testid="order-failures"
      style={style}
      header={header}
      dataSource={failures}
      renderItem={(f) => (
        <List.Item>
          <List.Item.Meta
            title={
              <Space wrap>
                <Typography.Text type="danger" strong>
                  {pick(f.message)}
                </Typography.Text>
                <Tag>{f.code}</Tag>
              </Space>
            }
            description={`${t('order.fix')}${pick(f.fix)}`}
          />
        </List.Item>
      )}
    />
  );
}

export function Notices({ notices }: { notices: Text[] }) {
  const { t, pick } = useI18n();
  if (notices.length === 0) return null;
  return (
    <Alert
      type="warning"
      showIcon
      role="alert"
      data-testid="order-notices"
      style={{ marginBottom: 16 }}
      title={<Typography.Text strong>{t('order.noticesTitle')}</Typography.Text>}
      description={
        <ul style={{ margin: 0, paddingInlineStart: 20 }}>
          {notices.map((n) => (
            <li key={n.zh}>{pick(n)}</li>
          ))}
        </ul>
      }
    />
  );
}

/** What the order changes (the receipt's lines). */
export function Changes({ order }: { order: OrderView }) {
  const { t, pick } = useI18n();
  if (order.changes.length === 0) return null;
  return (
    <Descriptions
      size="small"
      bordered
      column={1}
      title={t('order.changes')}
      style={{ marginBottom: 16 }}
      items={order.changes.map((c, i) => ({ key: String(i), label: pick(c.label), children: c.value }))}
    />
  );
}

export function CheckStep({
  order,
  sensitive,
  busy,
  onCheck,
  onEdit,
  onNext,
}: {
  order: OrderView;
  sensitive: boolean;
  busy: boolean;
  onCheck(password?: string): void;
  onEdit(): void;
  onNext(): void;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ password?: string }>();
  const password = useRef<InputRef>(null);
  const next = useRef<HTMLButtonElement>(null);
  const checks = order.checks;
  const passed = order.status === 'checked' || order.status === 'quoted';
  const failures = checks?.failures ?? [];
  // sensitive types, and those whose input makes them so (报开 after a loss report, R-X-1)
  const asksPassword = failures.some((f) => f.code === 'SERVICE_PASSWORD_REQUIRED' || f.code === 'SERVICE_PASSWORD_WRONG');
  const needsPassword = (sensitive || asksPassword) && !order.authorised;

  useEffect(() => {
    if (passed) next.current?.focus();
    else if (needsPassword) password.current?.focus();
  }, [passed, needsPassword, checks?.checkedAt]);

  return (
    <Card data-testid="order-check">
      <Notices notices={order.notices} />
      {checks === null ? (
        <Typography.Paragraph type="secondary">{t('order.notChecked')}</Typography.Paragraph>
      ) : passed ? (
        <Result status="success" title={t('order.checkPassed')} style={{ padding: '16px 0' }} />
      ) : (
        <>
          <Alert type="error" showIcon title={t('order.checkFailed', { n: failures.length })} style={{ marginBottom: 12 }} />
          <FailureList failures={failures} style={{ marginBottom: 16 }} />
        </>
      )}
      <Changes order={order} />
      {needsPassword ? (
        <Form form={form} layout="inline" onFinish={(v) => onCheck(v.password)} style={{ marginBottom: 16 }}>
          <Form.Item name="password" label={t('order.servicePassword')} rules={[{ pattern: /^[0-9]{6}$/, message: t('order.passwordFormat') }, { required: true, message: t('order.passwordFormat') }]}>
            <Input.Password ref={password} maxLength={6} inputMode="numeric" autoComplete="off" prefix={<SafetyCertificateOutlined />} />
          </Form.Item>
          <Button htmlType="submit" type="primary" loading={busy}>
            {t('order.check')}
          </Button>
        </Form>
      ) : null}
      <Space>
        <Button icon={<ArrowLeftOutlined />} onClick={onEdit} disabled={busy}>
          {t('order.edit')}
        </Button>
        {needsPassword ? null : (
          <Button onClick={() => onCheck()} loading={busy}>
            {t('order.recheck')}
          </Button>
        )}
        <Button ref={next} type="primary" disabled={!passed || busy} onClick={onNext} icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="order-to-quote">
          {t('order.toQuote')}
        </Button>
      </Space>
    </Card>
  );
}
