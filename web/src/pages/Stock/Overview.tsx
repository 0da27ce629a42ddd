// 库存总览 (SPEC §10): the operator's warehouses (all of them with stock.all), each card type's
// stock — in stock, locked by an open document, picked by agents — against its min/max limits, with
// the alerts first. A warehouse opens its card list; a card opens its history.
import { ReloadOutlined, WarningOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Drawer, Empty, Space, Statistic, Table, type TableColumnsType, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import * as stock from '../../services/stock.ts';
import type { Card as StockCard, CardType, Warehouse, WarehouseStock } from '../../services/stock.ts';
import { useSession } from '../../session.tsx';
import { formatTime } from '../../utils/time.ts';
import { useLoad, useWarehouses } from './common.tsx';

function StockCell({ s }: { s: WarehouseStock | undefined }) {
  const { t } = useI18n();
  if (!s) return <Typography.Text type="secondary">—</Typography.Text>;
  const limits = s.minQuantity !== null || s.maxQuantity !== null ? t('stock.limits', { min: s.minQuantity ?? '—', max: s.maxQuantity ?? '—' }) : null;
  return (
    <Space orientation="vertical" size={0}>
      <Space size={4}>
        <Typography.Text strong style={{ fontVariantNumeric: 'tabular-nums' }} type={s.alert ? 'danger' : undefined}>
          {s.inStock}
        </Typography.Text>
        {s.alert ? (
          <Tag color="red" icon={<WarningOutlined />}>
            {t(`stockAlert.${s.alert}`)}
          </Tag>
        ) : null}
      </Space>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('stock.lockedPicked', { locked: s.locked, picked: s.picked })}
        {limits ? ` · ${limits}` : ''}
      </Typography.Text>
    </Space>
  );
}

/** Cards of a warehouse, or the cards a social channel picked (an agent's own stock). */
function CardList({ query }: { query: { warehouseCode?: string; channelDepartmentId?: string } }) {
  const { t, label } = useI18n();
  const { data, error, loading } = useLoad(() => stock.cards(query), [query.warehouseCode, query.channelDepartmentId]);
  const columns: TableColumnsType<StockCard> = [
    { title: 'ICCID', dataIndex: 'iccid', render: (v: string) => <Link to={`/stock/cards?iccid=${v}`} className="mono">{v}</Link> },
    { title: t('stock.cardType'), dataIndex: 'cardType', render: (v: string) => label('cardType', v) },
    { title: t('stock.cardState'), dataIndex: 'state', render: (v: string) => label('simState', v) },
    { title: t('stock.holder'), dataIndex: 'pickedByDepartmentId', render: (v: string | null) => v ?? '—' },
    { title: 'IMSI', dataIndex: 'imsi', render: (v: string | null) => (v ? <span className="mono">{v}</span> : '—') },
    { title: t('stock.docId'), dataIndex: 'stockOrderId', render: (v: number | null) => (v ? <Tag color="orange">{t('stock.lockedBy', { id: v })}</Tag> : '') },
    { title: t('stock.stateChangedAt'), dataIndex: 'stateChangedAt', render: (v: string | null) => formatTime(v) },
  ];
  if (error) return <ErrorAlert error={error} />;
  return <Table<StockCard> rowKey="iccid" size="small" loading={loading} columns={columns} dataSource={data ?? []} pagination={{ pageSize: 50, hideOnSinglePage: true }} />;
}

export default function StockOverview() {
  const { t, label } = useI18n();
  const { session } = useSession();
  const { data, error, loading, reload } = useWarehouses();
  const [open, setOpen] = useState<Warehouse | null>(null);
  const rows = data ?? [];
  const types: CardType[] = stock.CARD_TYPES.filter((c) => rows.some((w) => w.stock.some((s) => s.cardType === c)));
  const alerts = rows.flatMap((w) => w.stock.filter((s) => s.alert).map((s) => ({ w, s })));
  const total = (f: (s: WarehouseStock) => number) => rows.reduce((n, w) => n + w.stock.reduce((m, s) => m + f(s), 0), 0);

  const columns: TableColumnsType<Warehouse> = [
    {
      title: t('stock.warehouse'),
      key: 'wh',
      fixed: 'start',
      render: (_: unknown, w) => (
        <Space orientation="vertical" size={0}>
          <Space size={4}>
            <Typography.Text strong className="mono">
              {w.warehouseCode}
            </Typography.Text>
            <Button type="link" size="small" onClick={() => setOpen(w)} aria-label={`${t('stock.cards')} ${w.warehouseCode}`} data-testid={`wh-cards-${w.warehouseCode}`}>
              {t('stock.cards')}
            </Button>
          </Space>
          <Typography.Text>{w.name}</Typography.Text>
        </Space>
      ),
    },
    { title: t('stock.level'), key: 'level', render: (_: unknown, w) => <Tag>{label('whLevel', w.level)}</Tag> },
    { title: t('stock.department'), key: 'dept', render: (_: unknown, w) => w.departmentName ?? w.departmentId },
    { title: t('stock.parent'), dataIndex: 'parentCode', render: (v: string | null) => (v ? <span className="mono">{v}</span> : '—') },
    ...types.map((c) => ({
      title: label('cardType', c),
      key: c,
      render: (_: unknown, w: Warehouse) => <StockCell s={w.stock.find((s) => s.cardType === c)} />,
    })),
  ];

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }} data-testid="stock-overview">
      <Card
        title={t('stock.overview')}
        extra={
          <Button icon={<ReloadOutlined />} onClick={reload} loading={loading}>
            {t('action.refresh')}
          </Button>
        }
      >
        <Space size={48} wrap>
          <Statistic title={t('stock.warehouses')} value={rows.length} />
          <Statistic title={t('stock.inStockTotal')} value={total((s) => s.inStock)} />
          <Statistic title={t('stock.lockedTotal')} value={total((s) => s.locked)} />
          <Statistic title={t('stock.pickedTotal')} value={total((s) => s.picked)} />
          <Statistic title={t('stock.alerts')} value={alerts.length} styles={alerts.length ? { content: { color: '#cf1322' } } : undefined} />
        </Space>
      </Card>
      {error ? <ErrorAlert error={error} onRetry={reload} /> : null}
      {alerts.length ? (
        <Alert
          type="warning"
          showIcon
          data-testid="stock-alerts"
          title={t('stock.alertsTitle', { n: alerts.length })}
          description={
            <ul style={{ margin: 0, paddingInlineStart: 20 }}>
              {alerts.map(({ w, s }) => (
                <li key={`${w.warehouseCode}-${s.cardType}`}>
                  {t(s.alert === 'below_min' ? 'stock.alertBelow' : 'stock.alertAbove', {
                    wh: `${w.warehouseCode} ${w.name}`,
                    type: label('cardType', s.cardType),
                    n: s.inStock,
                    limit: (s.alert === 'below_min' ? s.minQuantity : s.maxQuantity) ?? '—',
                  })}
                </li>
              ))}
            </ul>
          }
        />
      ) : null}
      {/* an agent's channel keeps no warehouse: its picked cards below instead */}
      {data && rows.length === 0 ? null : (
        <Card>
          <Table<Warehouse>
            rowKey="warehouseCode"
            size="middle"
            loading={loading && !data}
            columns={columns}
            dataSource={rows}
            scroll={{ x: 'max-content' }}
            pagination={{ pageSize: 30, hideOnSinglePage: true }}
            data-testid="stock-warehouses"
            onRow={(w) => ({ tabIndex: 0, onKeyDown: (e) => e.key === 'Enter' && setOpen(w) })}
            locale={{ emptyText: <Empty description={t('stock.noWarehouses')} /> }}
          />
        </Card>
      )}
      {data && rows.length === 0 && session ? (
        <Card title={t('stock.channelCards')} data-testid="channel-cards">
          <CardList query={{ channelDepartmentId: session.operator.departmentId }} />
        </Card>
      ) : null}
      <Drawer open={open !== null} onClose={() => setOpen(null)} size={960} title={open ? `${open.warehouseCode} ${open.name}` : ''} destroyOnHidden>
        {open ? <CardList query={{ warehouseCode: open.warehouseCode }} /> : null}
      </Drawer>
      <Typography.Paragraph type="secondary">
        <Tooltip title={t('stock.scopeHint')}>{t('stock.scope')}</Tooltip>
      </Typography.Paragraph>
    </Space>
  );
}
