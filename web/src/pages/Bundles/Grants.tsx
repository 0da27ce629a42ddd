// 捆绑赠送月报 (R-BND-7, R-BND-8): for a month, how many active bundles were granted or skipped and
// the amount granted, the skips by reason, the figures per bundle type, and every bundle's line with
// its mobile and broadband, status, reason and whether it was caught up later. Filter by status;
// a line opens the customer 360; the accounting room may run the month's grants (idempotent).
import { PlayCircleOutlined, ReloadOutlined, UserOutlined } from '@ant-design/icons';
import { App, Button, Card, Col, Empty, Row, Select, Space, Statistic, Table, type TableColumnsType, Typography } from 'antd';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useI18n } from '../../locales/index.tsx';
import * as bundles from '../../services/bundles.ts';
import type { GrantReport, GrantReportRow } from '../../services/bundles.ts';
import { useSession } from '../../session.tsx';
import { formatFen } from '../../utils/money.ts';
import { formatTime } from '../../utils/time.ts';
import { CyclePicker, useBusinessCycle, useOpen360 } from '../Billing/common.tsx';
import { useLoad } from '../Stock/common.tsx';
import { GrantStatus, OfferName } from './common.tsx';

const PAGE = 20;
type Status = 'granted' | 'skipped';

function Totals({ r }: { r: GrantReport }) {
  const { t, label } = useI18n();
  const stats = [
    { key: 'bundles', title: t('grants.bundles'), value: String(r.totals.bundles) },
    { key: 'granted', title: t('grants.granted'), value: String(r.totals.granted) },
    { key: 'skipped', title: t('grants.skipped'), value: String(r.totals.skipped), warn: r.totals.skipped > 0 },
    { key: 'amount', title: t('grants.amount'), value: formatFen(r.totals.amountFen) },
  ];
  return (
    <>
      <Row gutter={[16, 16]} data-testid="grants-totals">
        {stats.map((s) => (
          <Col key={s.key} xs={12} md={6}>
            <Card size="small">
              <Statistic title={s.title} value={s.value} styles={{ content: s.warn ? { color: '#d46b08' } : {} }} />
            </Card>
          </Col>
        ))}
      </Row>
      <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
        <Col xs={24} lg={10}>
          <Card size="small" title={t('grants.byReason')} data-testid="grants-by-reason">
            <Table<GrantReport['byReason'][number]>
              rowKey="reason"
              size="small"
              pagination={false}
              dataSource={r.byReason}
              locale={{ emptyText: r.totals.bundles > 0 ? t('grants.noSkips') : t('grants.none') }}
              columns={[
                { title: t('bundle.reason'), dataIndex: 'reason', render: (v: string) => label('grantReason', v) },
                { title: t('grants.count'), dataIndex: 'count', align: 'right' },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} lg={14}>
          <Card size="small" title={t('grants.byOffer')} data-testid="grants-by-offer">
            <Table<GrantReport['byOffer'][number]>
              rowKey="offerCode"
              size="small"
              pagination={false}
              dataSource={r.byOffer}
              locale={{ emptyText: t('grants.none') }}
              columns={[
                { title: t('bundle.offer'), dataIndex: 'offerCode', render: (v: string) => <OfferName code={v} /> },
                { title: t('grants.granted'), dataIndex: 'granted', align: 'right' },
                { title: t('grants.skipped'), dataIndex: 'skipped', align: 'right' },
                { title: t('grants.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </>
  );
}

export default function BundleGrants() {
  const { t, label } = useI18n();
  const { access } = useSession();
  const { message, modal } = App.useApp();
  const [params, setParams] = useSearchParams();
  const now = useBusinessCycle();
  const cycle = /^\d{4}-\d{2}$/.test(params.get('cycle') ?? '') ? (params.get('cycle') as string) : now;
  const raw = params.get('status');
  const status: Status | undefined = raw === 'granted' || raw === 'skipped' ? raw : undefined;
  const page = Math.max(1, Number(params.get('page')) || 1);
  const { data, error, loading, reload } = useLoad(
    () => (cycle ? bundles.grantReport({ cycle, ...(status ? { status } : {}), limit: PAGE, offset: (page - 1) * PAGE }) : new Promise<GrantReport>(() => undefined)),
    [cycle, status, page],
  );
  const open360 = useOpen360();
  const [running, setRunning] = useState(false);
  const [runError, setRunError] = useState<unknown>(null);

  const go = (next: { cycle?: string | null; status?: Status | undefined; page?: number }) => {
    const c = next.cycle !== undefined ? next.cycle : cycle;
    const s = 'status' in next ? next.status : status;
    setParams({ ...(c ? { cycle: c } : {}), ...(s ? { status: s } : {}), ...(next.page && next.page > 1 ? { page: String(next.page) } : {}) });
  };

  const run = async () => {
    if (!cycle) return;
    setRunning(true);
    setRunError(null);
    try {
      await bundles.runGrants(cycle);
      void message.success(t('grants.runDone', { cycle }));
      reload();
    } catch (e) {
      setRunError(e);
    } finally {
      setRunning(false);
    }
  };

  const columns: TableColumnsType<GrantReportRow> = [
    { title: t('bundle.offer'), dataIndex: 'offerCode', render: (v: string) => <OfferName code={v} /> },
    { title: t('grants.mobileNumber'), dataIndex: 'mobileNumber', render: (v: string | null) => (v ? <Typography.Text strong className="mono">{v}</Typography.Text> : '—') },
    { title: t('grants.broadbandNumber'), dataIndex: 'broadbandNumber', render: (v: string | null) => (v ? <span className="mono">{v}</span> : '—') },
    { title: t('grants.status'), key: 'status', render: (_: unknown, r) => <GrantStatus status={r.status} reason={r.reason} caughtUp={r.caughtUp} /> },
    { title: t('bundle.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('bundle.grantedAt'), dataIndex: 'grantedAt', render: (v: string | null) => formatTime(v) || '—' },
    ...(access.customers
      ? [
          {
            title: '',
            key: 'open',
            width: 120,
            render: (_: unknown, r: GrantReportRow) =>
              r.mobileNumber ? (
                <Button size="small" icon={<UserOutlined />} onClick={() => void open360.open(r.mobileNumber as string)} aria-label={`${t('credit.open360')} ${r.mobileNumber}`}>
                  {t('credit.open360')}
                </Button>
              ) : null,
          },
        ]
      : []),
  ];

  return (
    <Card
      title={t('grants.title')}
      data-testid="bundle-grants-report"
      extra={
        <Space wrap>
          <label htmlFor="grants-cycle">{t('grants.cycle')}</label>
          <CyclePicker id="grants-cycle" value={cycle} onChange={(c) => go({ cycle: c, page: 1 })} />
          <label htmlFor="grants-status">{t('grants.status')}</label>
          <Select<Status>
            id="grants-status"
            allowClear
            value={status}
            placeholder={t('grants.allStatus')}
            style={{ width: 140 }}
            onChange={(s) => go({ status: s, page: 1 })}
            options={(['granted', 'skipped'] as const).map((s) => ({ value: s, label: label('grantStatus', s) }))}
          />
          <Button icon={<ReloadOutlined />} onClick={reload} aria-label={t('action.refresh')} />
          {access.bundleGrant ? (
            <Button
              icon={<PlayCircleOutlined />}
              loading={running}
              disabled={!cycle}
              data-testid="grants-run"
              onClick={() => modal.confirm({ title: t('grants.run'), content: t('grants.runConfirm', { cycle: cycle ?? '' }), onOk: () => run() })}
            >
              {t('grants.run')}
            </Button>
          ) : null}
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t('grants.hint')}</Typography.Paragraph>
      {error ? <ErrorAlert error={error} onRetry={reload} style={{ marginBottom: 16 }} /> : null}
      {runError ? <ErrorAlert error={runError} style={{ marginBottom: 16 }} /> : null}
      {open360.error ? <ErrorAlert error={open360.error} style={{ marginBottom: 16 }} /> : null}
      {data ? <Totals r={data} /> : null}
      <Table<GrantReportRow>
        style={{ marginTop: 16 }}
        rowKey="packageId"
        size="small"
        loading={loading}
        columns={columns}
        dataSource={data?.items ?? []}
        locale={{ emptyText: <Empty description={t('grants.none')} /> }}
        pagination={{
          current: page,
          pageSize: PAGE,
          total: data?.total ?? 0,
          hideOnSinglePage: true,
          showTotal: (n) => t('grants.total', { n }),
          onChange: (p) => go({ page: p }),
        }}
        data-testid="grants-table"
      />
    </Card>
  );
}
