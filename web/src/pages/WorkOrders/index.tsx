// 工单: the open installation work orders; completing one (竣工) starts the line's service and
// completes its order when no work order of it is left open.
import { CheckOutlined, ReloadOutlined } from '@ant-design/icons';
import { App, Button, Card, Input, Modal, Segmented, Space, Table, type TableColumnsType, Tag } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import { completeWorkOrder, type WorkOrder, workOrders } from '../../services/orders.ts';
import { useSession } from '../../session.tsx';
import { formatTime } from '../../utils/time.ts';

export default function WorkOrders() {
  const { t, label } = useI18n();
  const { access } = useSession();
  const { message } = App.useApp();
  const [status, setStatus] = useState<'open' | 'completed'>('open');
  const [rows, setRows] = useState<WorkOrder[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [completing, setCompleting] = useState<WorkOrder | null>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [completeError, setCompleteError] = useState<unknown>(null);

  const load = useCallback(() => {
    setLoading(true);
    setError(null);
    workOrders(status)
      .then(setRows)
      .catch(setError)
      .finally(() => setLoading(false));
  }, [status]);
  useEffect(load, [load]);

  const complete = async () => {
    if (!completing) return;
    setBusy(true);
    setCompleteError(null);
    try {
      await completeWorkOrder(completing.workOrderId, note.trim() || undefined);
      void message.success(t('workOrder.completed', { id: completing.workOrderId }));
      setCompleting(null);
      setNote('');
      load();
    } catch (e) {
      setCompleteError(e);
    } finally {
      setBusy(false);
    }
  };

  const columns: TableColumnsType<WorkOrder> = [
    { title: t('workOrder.id'), dataIndex: 'workOrderId', width: 90 },
    { title: t('workOrder.order'), dataIndex: 'orderId', width: 120, render: (v: number) => <Link to={`/orders/${v}`}>{t('order.number', { id: v })}</Link> },
    { title: t('workOrder.kind'), dataIndex: 'kind', render: (v: string) => label('workOrderKind', v) },
    { title: t('workOrder.address'), dataIndex: 'address', render: (v: string | null) => v ?? '—' },
    { title: t('workOrder.measurementRoom'), dataIndex: 'measurementRoom', render: (v: string | null | undefined) => v ?? '—' },
    { title: t('workOrder.createdAt'), dataIndex: 'createdAt', render: (v: string) => formatTime(v) },
    { title: t('workOrder.status'), dataIndex: 'status', render: (v: string) => <Tag color={v === 'open' ? 'orange' : 'green'}>{label('workOrderStatus', v)}</Tag> },
    ...(status === 'completed'
      ? [
          { title: t('workOrder.completedAt'), dataIndex: 'completedAt', render: (v: string | null) => formatTime(v) },
          { title: t('workOrder.note'), dataIndex: 'note', render: (v: string | null) => v ?? '—' },
        ]
      : []),
    ...(access.completeWorkOrder && status === 'open'
      ? [
          {
            title: '',
            key: 'action',
            width: 120,
            render: (_: unknown, w: WorkOrder) => (
              <Button type="primary" size="small" icon={<CheckOutlined />} onClick={() => setCompleting(w)} aria-label={`${t('workOrder.complete')} #${w.workOrderId}`}>
                {t('workOrder.complete')}
              </Button>
            ),
          },
        ]
      : []),
  ];

  return (
    <Card
      title={t('workOrder.title')}
      extra={
        <Space>
          <Segmented<'open' | 'completed'>
            value={status}
            onChange={setStatus}
            options={[
              { value: 'open', label: label('workOrderStatus', 'open') },
              { value: 'completed', label: label('workOrderStatus', 'completed') },
            ]}
          />
          <Button icon={<ReloadOutlined />} onClick={load} aria-label={t('action.refresh')} />
        </Space>
      }
    >
      {error ? <ErrorAlert error={error} onRetry={load} style={{ marginBottom: 16 }} /> : null}
      <Table<WorkOrder>
        rowKey="workOrderId"
        size="middle"
        loading={loading}
        columns={columns}
        dataSource={rows ?? []}
        pagination={(rows?.length ?? 0) > 20 ? { pageSize: 20, showSizeChanger: false } : false}
        locale={{ emptyText: t('workOrder.none') }}
        data-testid="work-orders"
      />
      <Modal
        open={completing !== null}
        title={completing ? t('workOrder.completeTitle', { id: completing.workOrderId, order: completing.orderId }) : ''}
        okText={t('workOrder.complete')}
        okButtonProps={{ loading: busy }}
        onOk={() => void complete()}
        onCancel={() => {
          setCompleting(null);
          setCompleteError(null);
        }}
        destroyOnHidden
      >
        <Input.TextArea autoFocus value={note} onChange={(e) => setNote(e.target.value)} placeholder={t('workOrder.notePlaceholder')} maxLength={500} autoSize={{ minRows: 2, maxRows: 4 }} />
        {completeError ? <ErrorAlert error={completeError} style={{ marginTop: 12 }} /> : null}
      </Modal>
    </Card>
  );
}
