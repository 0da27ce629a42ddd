// 事件投递 (R-INT-1): what the outbox relay has delivered to each sink (webhook, NATS JetStream, the
// SMS adapter), what is still pending, and the dead letters — a delivery that gave up after the
// configured attempts. Figures per sink on top; tabs pending / delivered / dead; a filter by event
// type; a drawer with the event, its payload and each sink's last error; an administrator retries
// a dead letter (audited) once the receiver is fixed.
import { ReloadOutlined, RedoOutlined } from '@ant-design/icons';
import { Alert, App, Badge, Button, Card, Col, Descriptions, Drawer, Empty, Input, Popconfirm, Row, Space, Statistic, Table, type TableColumnsType, Tabs, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import { errorText } from '../../services/api.ts';
import * as outbox from '../../services/outbox.ts';
import type { Delivery, EventStatus, OutboxEvent, RelayStats } from '../../services/outbox.ts';
import { useSession } from '../../session.tsx';
import { formatTime } from '../../utils/time.ts';

const STATUS_COLOR: Record<EventStatus, string> = { pending: 'processing', delivered: 'success', dead: 'error' };
const TYPE = /^[a-z][a-z0-9_.-]{0,63}\*?$/;

function useAge() {
  const { t } = useI18n();
  return (seconds: number | null) => {
    if (seconds === null) return '—';
    if (seconds < 60) return t('outbox.ageSeconds', { n: seconds });
    if (seconds < 3600) return t('outbox.ageMinutes', { n: Math.floor(seconds / 60) });
    if (seconds < 86400) return t('outbox.ageHours', { n: Math.floor(seconds / 3600) });
    return t('outbox.ageDays', { n: Math.floor(seconds / 86400) });
  };
}

function SinkTags({ deliveries }: { deliveries: Delivery[] }) {
  const { t, label } = useI18n();
  if (deliveries.length === 0) return <Typography.Text type="secondary">{t('outbox.noSink')}</Typography.Text>;
  return (
    <Space size={4} wrap>
      {deliveries.map((d) => (
        <Tag key={d.sink} color={STATUS_COLOR[d.status]}>
          {t('outbox.sinkState', { sink: label('outboxSink', d.sink), status: label('outboxStatus', d.status) })}
        </Tag>
      ))}
    </Space>
  );
}

function StatsRow({ stats }: { stats: RelayStats }) {
  const { t, label } = useI18n();
  const age = useAge();
  if (stats.sinks.length === 0) return <Alert type="info" showIcon title={t('outbox.noSinks')} description={t('outbox.noSinksHint')} />;
  return (
    <Row gutter={[16, 16]} data-testid="outbox-stats">
      {stats.sinks.map((s) => (
        <Col key={s.sink} xs={24} md={12} xl={6}>
          <Card size="small" title={label('outboxSink', s.sink)} extra={s.configured ? null : <Tag>{t('outbox.notConfigured')}</Tag>} data-testid={`sink-${s.sink}`}>
            <Space size="large">
              <Statistic title={label('outboxStatus', 'pending')} value={s.pending} />
              <Statistic title={label('outboxStatus', 'delivered')} value={s.delivered} />
              <Statistic title={label('outboxStatus', 'dead')} value={s.dead} styles={{ content: s.dead > 0 ? { color: '#cf1322' } : {} }} />
            </Space>
            <Typography.Paragraph type="secondary" style={{ margin: '8px 0 0' }}>
              {t('outbox.oldestPending')}：{age(s.oldestPendingAgeSeconds)}
            </Typography.Paragraph>
          </Card>
        </Col>
      ))}
    </Row>
  );
}

/** The payload as a readable, indented block (the drawer's detail, not the page's main view). */
function Payload({ value }: { value: unknown }) {
  return (
    <pre className="mono" style={{ margin: 0, maxHeight: 360, overflow: 'auto', background: '#fafafa', padding: 12, borderRadius: 6, whiteSpace: 'pre-wrap', wordBreak: 'break-all' }} data-testid="outbox-payload">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

function EventDrawer({ eventId, onClose, onRetried }: { eventId: number | null; onClose(): void; onRetried(): void }) {
  const { t, label } = useI18n();
  const { access } = useSession();
  const { message } = App.useApp();
  const [e, setE] = useState<OutboxEvent | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (eventId === null) return;
    let live = true;
    setE(null);
    setError(null);
    outbox
      .event(eventId)
      .then((x) => live && setE(x))
      .catch((err: unknown) => live && setError(err));
    return () => {
      live = false;
    };
  }, [eventId]);

  const retry = async () => {
    if (!e) return;
    setBusy(true);
    try {
      setE(await outbox.retry(e.eventId));
      message.success(t('outbox.retried', { id: e.eventId }));
      onRetried();
    } catch (err) {
      message.error(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const columns: TableColumnsType<Delivery> = [
    { title: t('outbox.sink'), dataIndex: 'sink', render: (v: string) => label('outboxSink', v) },
    { title: t('outbox.status'), dataIndex: 'status', render: (v: EventStatus) => <Badge status={STATUS_COLOR[v] as 'success'} text={label('outboxStatus', v)} /> },
    { title: t('outbox.attempts'), dataIndex: 'attempts', width: 80 },
    {
      title: t('outbox.when'),
      key: 'when',
      render: (_: unknown, d) => (d.deliveredAt ? formatTime(d.deliveredAt) : d.nextAttemptAt ? t('outbox.nextAt', { at: formatTime(d.nextAttemptAt) }) : formatTime(d.lastAttemptAt)),
    },
  ];

  return (
    <Drawer
      open={eventId !== null}
      onClose={onClose}
      size={640}
      title={eventId !== null ? t('outbox.eventTitle', { id: eventId }) : ''}
      data-testid="outbox-drawer"
      extra={
        e?.status === 'dead' && access.outboxRetry ? (
          <Button type="primary" danger icon={<RedoOutlined />} loading={busy} onClick={() => void retry()} data-testid="drawer-retry">
            {t('outbox.retry')}
          </Button>
        ) : null
      }
    >
      {error ? <ErrorAlert error={error} /> : null}
      {e ? (
        <Space orientation="vertical" size={16} style={{ width: '100%' }}>
          <Descriptions
            size="small"
            bordered
            column={1}
            items={[
              { key: 'status', label: t('outbox.status'), children: <Tag color={STATUS_COLOR[e.status]}>{label('outboxStatus', e.status)}</Tag> },
              { key: 'type', label: t('outbox.type'), children: <span className="mono">{e.type}</span> },
              { key: 'agg', label: t('outbox.aggregate'), children: `${e.aggregateType} #${e.aggregateId}` },
              ...(e.accountId ? [{ key: 'acct', label: t('outbox.account'), children: e.accountId }] : []),
              { key: 'at', label: t('outbox.occurredAt'), children: formatTime(e.occurredAt) },
              { key: 'pub', label: t('outbox.publishedAt'), children: e.publishedAt ? formatTime(e.publishedAt) : '—' },
            ]}
          />
          <Table<Delivery>
            rowKey="sink"
            size="small"
            columns={columns}
            dataSource={e.deliveries}
            pagination={false}
            data-testid="drawer-deliveries"
            locale={{ emptyText: <Empty description={t('outbox.noSink')} /> }}
            expandable={{
              rowExpandable: (d) => d.lastError !== null,
              defaultExpandAllRows: true,
              expandedRowRender: (d) => (
                <Typography.Text type={d.status === 'delivered' ? 'secondary' : 'danger'} data-testid={`last-error-${d.sink}`}>
                  {t('outbox.lastError')}：{d.lastError}
                </Typography.Text>
              ),
            }}
          />
          <div>
            <Typography.Title level={5}>{t('outbox.payload')}</Typography.Title>
            <Payload value={e.payload} />
          </div>
        </Space>
      ) : null}
    </Drawer>
  );
}

export default function Outbox() {
  const { t, label } = useI18n();
  const { access } = useSession();
  const { message } = App.useApp();
  const [tab, setTab] = useState<EventStatus>('pending');
  const [type, setType] = useState('');
  const [typeText, setTypeText] = useState('');
  const [badType, setBadType] = useState(false);
  const [rows, setRows] = useState<OutboxEvent[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [stats, setStats] = useState<RelayStats | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [open, setOpen] = useState<number | null>(null);
  const [retrying, setRetrying] = useState<number | null>(null);
  const [n, setN] = useState(0);
  const reload = useCallback(() => setN((x) => x + 1), []);

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    Promise.all([outbox.events({ status: tab, ...(type ? { type } : {}) }), outbox.stats()])
      .then(([page, s]) => {
        if (!live) return;
        setRows(page.items);
        setNext(page.next);
        setStats(s);
      })
      .catch((err: unknown) => live && setError(err))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [tab, type, n]);

  const more = async () => {
    if (next === null) return;
    setLoading(true);
    try {
      const page = await outbox.events({ status: tab, before: next, ...(type ? { type } : {}) });
      setRows((r) => [...r, ...page.items]);
      setNext(page.next);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };

  const retry = async (id: number) => {
    setRetrying(id);
    try {
      await outbox.retry(id);
      message.success(t('outbox.retried', { id }));
      reload();
    } catch (err) {
      message.error(errorText(err));
    } finally {
      setRetrying(null);
    }
  };

  const retryAll = async () => {
    setRetrying(-1);
    try {
      const r = await outbox.retryAll(type ? { type } : {});
      message.success(t(r.more ? 'outbox.retriedAllMore' : 'outbox.retriedAll', { n: r.retried }));
      reload();
    } catch (err) {
      message.error(errorText(err));
    } finally {
      setRetrying(null);
    }
  };

  const total = (s: EventStatus) => stats?.sinks.reduce((sum, x) => sum + x[s], 0) ?? 0;
  const columns: TableColumnsType<OutboxEvent> = [
    { title: t('outbox.eventId'), dataIndex: 'eventId', width: 100, render: (v: number) => <span className="mono">{v}</span> },
    { title: t('outbox.type'), dataIndex: 'type', render: (v: string) => <span className="mono">{v}</span> },
    { title: t('outbox.aggregate'), key: 'agg', render: (_: unknown, r) => `${r.aggregateType} #${r.aggregateId}` },
    { title: t('outbox.occurredAt'), dataIndex: 'occurredAt', width: 180, render: (v: string) => formatTime(v) },
    { title: t('outbox.sinks'), key: 'sinks', render: (_: unknown, r) => <SinkTags deliveries={r.deliveries} /> },
    {
      title: t('outbox.attempts'),
      key: 'attempts',
      width: 90,
      render: (_: unknown, r) => (r.deliveries.length ? Math.max(...r.deliveries.map((d) => d.attempts)) : '—'),
    },
    {
      title: t('outbox.actions'),
      key: 'actions',
      width: 170,
      render: (_: unknown, r) => (
        <Space size={4}>
          <Button size="small" type="link" onClick={() => setOpen(r.eventId)} data-testid={`event-${r.eventId}-detail`}>
            {t('outbox.detail')}
          </Button>
          {r.status === 'dead' && access.outboxRetry ? (
            <Button size="small" danger icon={<RedoOutlined />} loading={retrying === r.eventId} onClick={() => void retry(r.eventId)} data-testid={`event-${r.eventId}-retry`}>
              {t('outbox.retry')}
            </Button>
          ) : null}
        </Space>
      ),
    },
  ];

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }} data-testid="outbox-page">
      <Card
        title={t('menu.outbox')}
        extra={
          <Button icon={<ReloadOutlined />} onClick={reload} data-testid="outbox-reload">
            {t('outbox.refresh')}
          </Button>
        }
      >
        <Typography.Paragraph type="secondary">{t('outbox.hint')}</Typography.Paragraph>
        {stats ? <StatsRow stats={stats} /> : null}
        {stats && stats.waiting.events > 0 ? (
          <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
            {t('outbox.waiting', { n: stats.waiting.events })}
          </Typography.Paragraph>
        ) : null}
      </Card>
      {error ? <ErrorAlert error={error} onRetry={reload} /> : null}
      <Card>
        <Tabs
          activeKey={tab}
          onChange={(k) => setTab(k as EventStatus)}
          items={(['pending', 'delivered', 'dead'] as const).map((s) => ({
            key: s,
            label: (
              <span data-testid={`tab-${s}`}>
                {t(`outbox.tab.${s}`)} {stats ? <Badge count={total(s)} overflowCount={99999} showZero color={s === 'dead' ? '#cf1322' : s === 'pending' ? '#1677ff' : '#52c41a'} /> : null}
              </span>
            ),
          }))}
          tabBarExtraContent={
            <Space orientation="vertical" size={0}>
              <Input.Search
                allowClear
                value={typeText}
                onChange={(e) => {
                  setTypeText(e.target.value);
                  setBadType(false);
                  if (e.target.value === '') setType('');
                }}
                placeholder={t('outbox.typePlaceholder')}
                aria-label={t('outbox.type')}
                enterButton={t('action.search')}
                className="mono"
                style={{ width: 340 }}
                status={badType ? 'error' : undefined}
                data-testid="outbox-type"
                onSearch={(q) => {
                  const s = q.trim();
                  if (s !== '' && !TYPE.test(s)) {
                    setBadType(true);
                    return;
                  }
                  setType(s);
                }}
              />
              {badType ? <Typography.Text type="danger">{t('outbox.typeFormat')}</Typography.Text> : null}
            </Space>
          }
        />
        {tab === 'dead' ? (
          <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }} wrap>
            <Typography.Text type="secondary">{t('outbox.deadHint')}</Typography.Text>
            {access.outboxRetry && rows.length > 0 ? (
              <Popconfirm title={type ? t('outbox.retryAllTypeConfirm', { type }) : t('outbox.retryAllConfirm')} onConfirm={() => void retryAll()} okText={t('outbox.retry')}>
                <Button danger icon={<RedoOutlined />} loading={retrying === -1} data-testid="outbox-retry-all">
                  {t('outbox.retryAll')}
                </Button>
              </Popconfirm>
            ) : null}
          </Space>
        ) : null}
        <Table<OutboxEvent>
          rowKey="eventId"
          size="small"
          loading={loading}
          columns={columns}
          dataSource={rows}
          pagination={false}
          data-testid={`outbox-${tab}`}
          locale={{ emptyText: <Empty description={t(`outbox.empty.${tab}`)} /> }}
          onRow={(r) => ({ onDoubleClick: () => setOpen(r.eventId) })}
        />
        {next !== null ? (
          <div style={{ textAlign: 'center', marginTop: 12 }}>
            <Button onClick={() => void more()} loading={loading} data-testid="outbox-more">
              {t('outbox.more')}
            </Button>
          </div>
        ) : null}
        <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>
          {label('outboxStatus', tab)} · {t('outbox.dedupeHint')}
        </Typography.Paragraph>
      </Card>
      <EventDrawer eventId={open} onClose={() => setOpen(null)} onRetried={reload} />
    </Space>
  );
}
