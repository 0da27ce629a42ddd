// 预出帐稽核 (R-BIL-9): the run's totals per bill item beside the previous cycle, the change, and the
// subscribers whose bill is far above their usual (flagged), each with its account to bill again.
import { RedoOutlined, WarningOutlined } from '@ant-design/icons';
import { App, Button, Card, Col, Row, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { useState } from 'react';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useI18n } from '../../locales/index.tsx';
import * as billing from '../../services/billing.ts';
import type { Anomaly, BillRun, ReviewItem } from '../../services/billing.ts';
import { formatFen } from '../../utils/money.ts';
import { useLoad } from '../Stock/common.tsx';
import { useOpen360 } from './common.tsx';

/** Above this change against the previous cycle (‰) an item's total is flagged for a look. */
const ITEM_CHANGE_FLAG = 500;

function Change({ now, before }: { now: number; before: number }) {
  const { t } = useI18n();
  if (before === 0) return now === 0 ? <span>—</span> : <Tag color="blue">{t('billing.new')}</Tag>;
  const permille = Math.round(((now - before) * 1000) / before);
  const text = `${permille > 0 ? '+' : ''}${(permille / 10).toFixed(1)}%`;
  return Math.abs(permille) > ITEM_CHANGE_FLAG ? (
    <Typography.Text type="warning" strong style={{ whiteSpace: 'nowrap' }}>
      <WarningOutlined /> {text}
    </Typography.Text>
  ) : (
    <span style={{ whiteSpace: 'nowrap' }}>{text}</span>
  );
}

export function RunReview({ run, onRerun }: { run: BillRun; onRerun?: () => void }) {
  const { t, pick } = useI18n();
  const { message } = App.useApp();
  const open360 = useOpen360();
  const { data, error, loading, reload } = useLoad(() => billing.review(run.runId), [run.runId]);
  const [busy, setBusy] = useState<number | null>(null);
  const [rerunError, setRerunError] = useState<unknown>(null);

  const rerun = async (accountId: number) => {
    setBusy(accountId);
    setRerunError(null);
    try {
      await billing.rerunAccount(run.runId, accountId);
      void message.success(t('billing.rerunDone', { id: accountId }));
      onRerun?.();
      reload();
    } catch (e) {
      setRerunError(e);
    } finally {
      setBusy(null);
    }
  };

  const previous = data?.previousCycle ?? billing.previousCycle(run.cycle);
  const itemColumns: TableColumnsType<ReviewItem> = [
    { title: t('bill.item'), dataIndex: 'name', render: (v: ReviewItem['name']) => pick(v) },
    { title: t('billing.thisCycle', { cycle: run.cycle }), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('billing.previousCycle', { cycle: previous }), dataIndex: 'previousFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('billing.change'), key: 'change', align: 'right', render: (_: unknown, r) => <Change now={r.amountFen} before={r.previousFen} /> },
  ];
  const anomalyColumns: TableColumnsType<Anomaly> = [
    {
      title: t('subscriber.serviceNumber'),
      dataIndex: 'serviceNumber',
      render: (v: string) => (
        <Typography.Link className="mono" onClick={() => void open360.open(v)}>
          {v}
        </Typography.Link>
      ),
    },
    { title: t('billing.accountId'), dataIndex: 'accountId', render: (v: number) => t('account.title', { id: v }) },
    { title: t('billing.billThisCycle'), dataIndex: 'totalFen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
    { title: t('billing.usualBill'), dataIndex: 'averageFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    ...(onRerun
      ? [
          {
            title: '',
            key: 'rerun',
            width: 120,
            render: (_: unknown, a: Anomaly) => (
              <Button size="small" icon={<RedoOutlined />} loading={busy === a.accountId} onClick={() => void rerun(a.accountId)} data-testid={`rerun-${a.accountId}`}>
                {t('billing.rerun')}
              </Button>
            ),
          },
        ]
      : []),
  ];

  const totalNow = data?.totalFen ?? 0;
  const totalBefore = data?.previousTotalFen ?? 0;
  return (
    <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
      <Col xs={24} xl={12}>
        <Card size="small" title={t('billing.review')} loading={loading && !data} data-testid="run-review">
          {error ? <ErrorAlert error={error} onRetry={reload} /> : null}
          <Table<ReviewItem>
            rowKey="item"
            size="small"
            columns={itemColumns}
            dataSource={data?.items ?? []}
            pagination={false}
            locale={{ emptyText: t('billing.noTotals') }}
            summary={() =>
              data?.items.length ? (
                <Table.Summary.Row>
                  <Table.Summary.Cell index={0}>
                    <Typography.Text strong>{t('billing.total')}</Typography.Text>
                  </Table.Summary.Cell>
                  <Table.Summary.Cell index={1} align="right">
                    <Money fen={totalNow} strong />
                  </Table.Summary.Cell>
                  <Table.Summary.Cell index={2} align="right">
                    <Money fen={totalBefore} />
                  </Table.Summary.Cell>
                  <Table.Summary.Cell index={3} align="right">
                    <Change now={totalNow} before={totalBefore} />
                  </Table.Summary.Cell>
                </Table.Summary.Row>
              ) : null
            }
          />
        </Card>
      </Col>
      <Col xs={24} xl={12}>
        <Card size="small" title={t('billing.anomalies', { n: data?.anomalies.items.length ?? 0 })} loading={loading && !data} data-testid="run-anomalies">
          <Typography.Paragraph type="secondary">{data ? t('billing.anomalyHint', { factor: data.anomalies.factor, min: formatFen(data.anomalies.minFen) }) : null}</Typography.Paragraph>
          {rerunError ? <ErrorAlert error={rerunError} style={{ marginBottom: 8 }} /> : null}
          {open360.error ? <ErrorAlert error={open360.error} style={{ marginBottom: 8 }} /> : null}
          <Table<Anomaly> rowKey="subscriberId" size="small" columns={anomalyColumns} dataSource={data?.anomalies.items ?? []} pagination={{ pageSize: 10, hideOnSinglePage: true }} locale={{ emptyText: t('billing.noAnomalies') }} />
        </Card>
      </Col>
    </Row>
  );
}
