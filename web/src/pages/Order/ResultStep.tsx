// ⑥ 提交 and its result: what will be paid, the notices once more (R-E9-4), then the subscribers and
// account created, the money taken, the installation work orders, or the SMS confirmation awaited.
import { CheckCircleOutlined, CloseCircleOutlined, SendOutlined, ToolOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Descriptions, Result, Space, Statistic, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { useEffect, useRef } from 'react';
import { useNavigate } from 'react-router';
import { ArrowLeftOutlined } from '@ant-design/icons';
import { useBusinessTypes } from '../../components/useBusinessTypes.ts';
import { useI18n } from '../../locales/index.tsx';
import type { OrderView, WorkOrder } from '../../services/orders.ts';
import { useSession } from '../../session.tsx';
import { formatFen } from '../../utils/money.ts';
import { formatTime } from '../../utils/time.ts';
import { Changes, Notices } from './CheckStep.tsx';
import { ReceiptButtons, useReceipt } from './ReceiptStep.tsx';

export function SubmitStep({ order, busy, onSubmit, onBack }: { order: OrderView; busy: boolean; onSubmit(): void; onBack(): void }) {
  const { t } = useI18n();
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => button.current?.focus(), []);
  return (
    <Card data-testid="order-submit">
      <Notices notices={order.notices} />
      <Statistic title={t('order.payableTotal')} value={formatFen(order.payableFen)} styles={{ content: { color: '#cf1322' } }} style={{ marginBottom: 16 }} />
      <Changes order={order} />
      <Typography.Paragraph type="secondary">{t('order.submitHint')}</Typography.Paragraph>
      <Space>
        <Button icon={<ArrowLeftOutlined />} onClick={onBack} disabled={busy}>
          {t('order.prev')}
        </Button>
        <Button ref={button} type="primary" size="large" icon={<SendOutlined />} loading={busy} onClick={onSubmit} data-testid="order-submit-button">
          {t('order.submit')}
        </Button>
      </Space>
    </Card>
  );
}

export function OrderResult({ order, busy, onConfirm }: { order: OrderView; busy: boolean; onConfirm(accepted: boolean): void }) {
  const { t, label, pick } = useI18n();
  const { access } = useSession();
  const { typeName } = useBusinessTypes();
  const navigate = useNavigate();
  const { html } = useReceipt(order.orderId, order.status);
  const r = order.result ?? {};
  const members = (order.input.members as { role: string; serviceNumber: string; network: string }[] | undefined) ?? [];
  const created = Object.entries(r.subscribers ?? {}).map(([role, id]) => {
    const m = members.find((x) => x.role === role);
    return { role, id, serviceNumber: m?.serviceNumber, network: m?.network };
  });
  const status = order.status;
  const title =
    status === 'completed' ? t('order.done.completed') : status === 'submitted' ? t('order.done.submitted') : status === 'awaiting_confirmation' ? t('order.done.awaiting') : status === 'cancelled' ? t('order.done.cancelled') : label('orderStatus', status);

  const woColumns: TableColumnsType<WorkOrder> = [
    { title: t('workOrder.id'), dataIndex: 'workOrderId', width: 90 },
    { title: t('workOrder.kind'), dataIndex: 'kind', render: (v: string) => label('workOrderKind', v) },
    { title: t('workOrder.address'), dataIndex: 'address', render: (v: string | null) => v ?? '—' },
    { title: t('workOrder.status'), dataIndex: 'status', render: (v: string) => <Tag color={v === 'open' ? 'orange' : v === 'completed' ? 'green' : 'default'}>{label('workOrderStatus', v)}</Tag> },
  ];

  return (
    <Card data-testid="order-result">
      <Result
        status={status === 'completed' ? 'success' : status === 'cancelled' ? 'warning' : 'info'}
        title={title}
        subTitle={`${t('order.number', { id: order.orderId })} · ${label('orderStatus', status)}${order.cancelReason ? ` · ${order.cancelReason}` : ''}`}
        style={{ padding: '16px 0' }}
        extra={[
          <ReceiptButtons key="receipt" orderId={order.orderId} html={html} />,
          ...(order.customerId
            ? [
                <Button key="360" onClick={() => navigate(`/customers/${order.customerId}`)}>
                  {t('payment.open360')}
                </Button>,
              ]
            : []),
        ]}
      />
      {status === 'awaiting_confirmation' && order.confirmation ? (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 16 }}
          title={t('order.confirmationSent', { number: order.confirmation.serviceNumber ?? '', until: formatTime(order.confirmation.expiresAt) })}
          description={order.confirmation.text ? pick(order.confirmation.text) : undefined}
          action={
            access.orders ? (
              <Space orientation="vertical">
                <Button size="small" type="primary" icon={<CheckCircleOutlined />} loading={busy} onClick={() => onConfirm(true)}>
                  {t('order.confirmYes')}
                </Button>
                <Button size="small" danger icon={<CloseCircleOutlined />} loading={busy} onClick={() => onConfirm(false)}>
                  {t('order.confirmNo')}
                </Button>
              </Space>
            ) : undefined
          }
        />
      ) : null}
      <Descriptions
        size="small"
        bordered
        column={{ xs: 1, md: 2 }}
        style={{ marginBottom: 16 }}
        items={[
          { key: 'type', label: t('order.businessType'), children: typeName(order.businessType) },
          ...(r.accountId ? [{ key: 'account', label: t('order.resultAccount'), children: t('account.title', { id: r.accountId }) }] : []),
          ...(created.length
            ? [
                {
                  key: 'subs',
                  label: t('order.resultSubscribers'),
                  children: (
                    <Space wrap data-testid="order-created">
                      {created.map((c) => (
                        <Tag key={c.role} color="blue">
                          {label('role', c.role)} {c.serviceNumber ?? `#${c.id}`}
                          {c.network ? ` · ${label('network', c.network)}` : ''}
                        </Tag>
                      ))}
                    </Space>
                  ),
                },
              ]
            : []),
          ...(r.money ? [{ key: 'fees', label: t('order.resultFees'), children: formatFen(r.money.feesCollectedFen) }] : []),
          ...(r.money ? [{ key: 'prestore', label: t('order.resultPrestore'), children: formatFen(r.money.prestoreFen) }] : []),
          ...(order.confirmation && status !== 'awaiting_confirmation'
            ? [{ key: 'conf', label: t('order.confirmation'), children: `${label('confirmationStatus', order.confirmation.status)}${order.confirmation.reason ? `（${order.confirmation.reason}）` : ''}` }]
            : []),
        ]}
      />
      <Notices notices={order.notices} />
      <Changes order={order} />
      {order.workOrders.length ? (
        <>
          <Typography.Title level={5}>
            <ToolOutlined /> {t('order.workOrders')}
          </Typography.Title>
          <Table<WorkOrder> rowKey="workOrderId" size="small" columns={woColumns} dataSource={order.workOrders} pagination={false} data-testid="order-work-orders" />
          {order.workOrders.some((w) => w.status === 'open') && access.orderRead ? (
            <Button style={{ marginTop: 12 }} icon={<ToolOutlined />} onClick={() => navigate('/work-orders')}>
              {t('order.toWorkOrders')}
            </Button>
          ) : null}
        </>
      ) : null}
    </Card>
  );
}
