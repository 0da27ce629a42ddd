// 出帐管理 (SPEC §5, R-BIL-5..9): the accounting room's bill runs per cycle. A run is started for a
// cycle after a confirmation; while it runs the page polls every second and shows accounts done of
// the total, the rate and the ETA (R-BIL-7), and every chunk that failed with its error. A finished
// pre-bill (预出帐) is reviewed: totals per bill item beside the previous cycle and the flagged
// subscribers (a bill far above its usual); single accounts can be billed again; publishing (正式出帐)
// asks for a confirmation that names the totals.
import { CheckCircleOutlined, PlayCircleOutlined, RedoOutlined, ReloadOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Descriptions, Empty, InputNumber, Progress, Space, Table, type TableColumnsType, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useI18n } from '../../locales/index.tsx';
import * as billing from '../../services/billing.ts';
import type { BillRun, ChunkError } from '../../services/billing.ts';
import { useSession } from '../../session.tsx';
import { formatFen } from '../../utils/money.ts';
import { formatTime } from '../../utils/time.ts';
import { useLoad } from '../Stock/common.tsx';
import { CyclePicker, RunStateTag, useBusinessCycle, useDuration } from './common.tsx';
import { RunReview } from './Review.tsx';

const LIVE: ReadonlySet<string> = new Set(['running', 'publishing']);

/** A run, polled every second while it is running or publishing. */
function useRun(id: number, onSettled: () => void) {
  const [run, setRun] = useState<BillRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const load = async () => {
      try {
        const r = await billing.billRun(id);
        if (!live) return;
        setRun(r);
        setError(null);
        if (LIVE.has(r.state)) timer = window.setTimeout(() => void load(), 1000);
        else onSettled();
      } catch (e) {
        if (live) setError(e);
      }
    };
    void load();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
    // onSettled is the list's reload (stable)
  }, [id, n]);
  return { run, error, reload: () => setN((x) => x + 1) };
}

function StartRun({ onStarted }: { onStarted(r: BillRun): void }) {
  const { t } = useI18n();
  const { modal, message } = App.useApp();
  const now = useBusinessCycle();
  const [cycle, setCycle] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  // the cycle to bill is the one that ended: the month before the business date
  const value = cycle ?? (now ? billing.previousCycle(now) : null);
  const start = () => {
    if (!value) return;
    setError(null);
    modal.confirm({
      title: t('billing.startConfirm', { cycle: value }),
      content: <div data-testid="start-confirm">{t('billing.startBody', { cycle: value })}</div>,
      okText: t('billing.start'),
      onOk: async () => {
        try {
          const r = await billing.startBillRun(value);
          void message.success(t('billing.started', { cycle: r.cycle }));
          onStarted(r);
        } catch (e) {
          setError(e);
        }
      },
    });
  };
  return (
    <Space orientation="vertical" align="end">
      <Space>
        <label htmlFor="run-cycle">{t('billing.cycle')}</label>
        <CyclePicker id="run-cycle" value={value} onChange={setCycle} maxCycle={now} />
        <Button type="primary" icon={<PlayCircleOutlined />} onClick={start} disabled={!value} data-testid="start-run">
          {t('billing.start')}
        </Button>
      </Space>
      {error ? <ErrorAlert error={error} /> : null}
    </Space>
  );
}

function ChunkErrors({ errors }: { errors: ChunkError[] }) {
  const { t, label } = useI18n();
  const columns: TableColumnsType<ChunkError> = [
    { title: t('billing.chunk'), dataIndex: 'chunkNo', width: 80 },
    { title: t('billing.chunkState'), key: 'state', render: (_: unknown, c) => `${label('chunkState', c.state)} / ${label('chunkState', c.publishState)}` },
    { title: t('billing.attempts'), dataIndex: 'attempts', width: 90, align: 'right' },
    { title: t('billing.worker'), dataIndex: 'worker', render: (v: string | null) => <span className="mono">{v ?? '—'}</span> },
    { title: t('billing.error'), dataIndex: 'error', render: (v: string) => <Typography.Text type="danger">{v}</Typography.Text> },
  ];
  return (
    <Card size="small" title={t('billing.chunkErrors', { n: errors.length })} style={{ marginTop: 16 }} data-testid="chunk-errors">
      <Table<ChunkError> rowKey="chunkNo" size="small" columns={columns} dataSource={errors} pagination={{ pageSize: 10, hideOnSinglePage: true }} locale={{ emptyText: t('billing.noChunkErrors') }} />
    </Card>
  );
}

function RerunAccount({ run, onDone }: { run: BillRun; onDone(): void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [accountId, setAccountId] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const rerun = async () => {
    if (!accountId) return;
    setBusy(true);
    setError(null);
    try {
      await billing.rerunAccount(run.runId, accountId);
      void message.success(t('billing.rerunDone', { id: accountId }));
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Space orientation="vertical">
      <Space.Compact>
        <InputNumber<number> id="rerun-account" min={1} precision={0} value={accountId} onChange={setAccountId} placeholder={t('billing.accountId')} style={{ width: 160 }} onPressEnter={() => void rerun()} />
        <Button icon={<RedoOutlined />} loading={busy} disabled={!accountId} onClick={() => void rerun()} data-testid="rerun-account">
          {t('billing.rerun')}
        </Button>
      </Space.Compact>
      {error ? <ErrorAlert error={error} /> : null}
    </Space>
  );
}

function RunDetail({ id, onSettled }: { id: number; onSettled(): void }) {
  const { t, pick } = useI18n();
  const { access } = useSession();
  const { modal, message } = App.useApp();
  const duration = useDuration();
  const { run, error, reload } = useRun(id, onSettled);
  const [reviewN, setReviewN] = useState(0);
  const [actionError, setActionError] = useState<unknown>(null);
  if (error && !run) return <ErrorAlert error={error} onRetry={reload} style={{ marginTop: 16 }} />;
  if (!run || run.runId !== id) return <Card loading style={{ marginTop: 16 }} />;

  const p = run.progress;
  const total = p.accountsTotal;
  const done = Math.min(p.accountsDone, total);
  const percent = total > 0 ? Math.floor((done / total) * 100) : LIVE.has(run.state) ? 0 : 100;
  const totalFen = run.totalFen;
  const refresh = () => {
    reload();
    setReviewN((x) => x + 1);
  };

  const publish = () => {
    setActionError(null);
    modal.confirm({
      title: t('billing.publishConfirm', { cycle: run.cycle }),
      width: 560,
      content: (
        <div data-testid="publish-confirm">
          <Typography.Paragraph>{t('billing.publishBody', { total: formatFen(totalFen), accounts: total })}</Typography.Paragraph>
          <ul style={{ paddingInlineStart: 20, margin: 0 }}>
            {run.totalsByItem.map((x) => (
              <li key={x.item}>
                {pick(x.name)}：{formatFen(x.amountFen)}
              </li>
            ))}
          </ul>
        </div>
      ),
      okText: t('billing.publish'),
      onOk: async () => {
        try {
          await billing.publish(run.runId);
          void message.success(t('billing.publishStarted', { cycle: run.cycle }));
          reload();
        } catch (e) {
          setActionError(e);
        }
      },
    });
  };

  return (
    <>
      <Card
        style={{ marginTop: 16 }}
        data-testid="run-detail"
        title={
          <Space>
            {t('billing.runTitle', { cycle: run.cycle, id: run.runId })}
            <RunStateTag state={run.state} />
          </Space>
        }
        extra={
          <Space>
            <Button icon={<ReloadOutlined />} onClick={refresh} aria-label={t('action.refresh')} />
            {access.billRunPublish && run.state === 'prebilled' ? (
              <Button type="primary" danger icon={<CheckCircleOutlined />} onClick={publish} data-testid="publish-run">
                {t('billing.publish')}
              </Button>
            ) : null}
          </Space>
        }
      >
        <Progress percent={percent} format={(n) => `${n ?? 0}%`} status={run.state === 'failed' ? 'exception' : LIVE.has(run.state) ? 'active' : 'success'} data-testid="run-progress" aria-label={t('billing.progress')} />
        <Descriptions
          size="small"
          style={{ marginTop: 8 }}
          column={{ xs: 1, md: 2, xl: 4 }}
          items={[
            { key: 'acc', label: run.phase === 'publish' ? t('billing.accountsPublished') : t('billing.accounts'), children: <span data-testid="run-accounts">{t('billing.doneOfTotal', { done, total })}</span> },
            { key: 'chunks', label: t('billing.chunks'), children: t('billing.doneOfTotal', { done: p.chunksDone, total: p.chunksTotal }) },
            { key: 'rate', label: t('billing.rate'), children: t('billing.perSecond', { n: p.ratePerSecond }) },
            { key: 'eta', label: t('billing.eta'), children: LIVE.has(run.state) ? duration(p.etaSeconds) : '—' },
            { key: 'subs', label: t('billing.subscribers'), children: p.subscribers },
            { key: 'lines', label: t('billing.lines'), children: run.lines },
            { key: 'amount', label: t('billing.amount'), children: <Money fen={totalFen} strong /> },
            { key: 'started', label: t('billing.startedAt'), children: formatTime(run.startedAt) },
            { key: 'prebilled', label: t('billing.prebilledAt'), children: formatTime(run.prebilledAt) || '—' },
            { key: 'published', label: t('billing.publishedAt'), children: formatTime(run.publishedAt) || '—' },
          ]}
        />
        {run.state === 'prebilled' ? <Alert type="info" showIcon title={t('billing.prebilledHint')} style={{ marginTop: 8 }} /> : null}
        {run.state === 'published' ? <Alert type="success" showIcon title={t('billing.publishedHint', { cycle: run.cycle })} style={{ marginTop: 8 }} data-testid="run-published" /> : null}
        {actionError ? <ErrorAlert error={actionError} style={{ marginTop: 8 }} /> : null}
        {error ? <ErrorAlert error={error} onRetry={reload} style={{ marginTop: 8 }} /> : null}
        {access.billRunStart && run.state === 'prebilled' ? (
          <div style={{ marginTop: 16 }}>
            <Typography.Text type="secondary" style={{ display: 'block', marginBottom: 4 }}>
              {t('billing.rerunHint')}
            </Typography.Text>
            <RerunAccount run={run} onDone={refresh} />
          </div>
        ) : null}
      </Card>
      {run.errors.length ? <ChunkErrors errors={run.errors} /> : null}
      {run.state === 'running' ? null : <RunReview run={run} key={`${run.runId}-${run.state}-${reviewN}`} onRerun={access.billRunStart && run.state === 'prebilled' ? refresh : undefined} />}
    </>
  );
}

export default function BillRuns() {
  const { t } = useI18n();
  const { access } = useSession();
  const [params, setParams] = useSearchParams();
  const runs = useLoad(() => billing.billRuns(), []);
  const list = runs.data ?? [];
  const selected = Number(params.get('run')) || list[0]?.runId || null;
  const open = (id: number) => setParams({ run: String(id) });

  const columns: TableColumnsType<BillRun> = [
    { title: t('billing.cycle'), dataIndex: 'cycle', width: 110, render: (v: string) => <Typography.Text strong>{v}</Typography.Text> },
    { title: t('billing.state'), dataIndex: 'state', render: (v: BillRun['state']) => <RunStateTag state={v} /> },
    { title: t('billing.accounts'), key: 'acc', align: 'right', render: (_: unknown, r) => t('billing.doneOfTotal', { done: r.progress.accountsDone, total: r.progress.accountsTotal }) },
    { title: t('billing.amount'), dataIndex: 'totalFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('billing.startedAt'), dataIndex: 'startedAt', render: (v: string) => formatTime(v) },
    { title: t('billing.publishedAt'), dataIndex: 'publishedAt', render: (v: string | null) => formatTime(v) || '—' },
  ];

  return (
    <Space orientation="vertical" size={0} style={{ width: '100%' }}>
      <Card title={t('billing.title')} extra={access.billRunStart ? <StartRun onStarted={(r) => (open(r.runId), runs.reload())} /> : null}>
        {runs.error ? <ErrorAlert error={runs.error} onRetry={runs.reload} style={{ marginBottom: 16 }} /> : null}
        <Table<BillRun>
          rowKey="runId"
          size="small"
          loading={runs.loading && !runs.data}
          columns={columns}
          dataSource={list}
          pagination={{ pageSize: 12, hideOnSinglePage: true }}
          locale={{ emptyText: <Empty description={t('billing.noRuns')} /> }}
          rowClassName={(r) => (r.runId === selected ? 'ant-table-row-selected' : '')}
          onRow={(r) => ({
            tabIndex: 0,
            style: { cursor: 'pointer' },
            onClick: () => open(r.runId),
            onKeyDown: (e) => e.key === 'Enter' && open(r.runId),
          })}
          data-testid="bill-runs"
        />
      </Card>
      {selected ? <RunDetail id={selected} onSettled={runs.reload} /> : null}
    </Space>
  );
}
