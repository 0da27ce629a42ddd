// 卡历史 (SPEC §10): one card by ICCID — where it is, who holds it, its masked IMSI — and every
// change of place or state: imported, transferred, picked, written, activated, returned.
import { Card, Descriptions, Empty, Input, Space, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useI18n } from '../../locales/index.tsx';
import * as stock from '../../services/stock.ts';
import type { Card as StockCard, CardHistoryRow } from '../../services/stock.ts';
import { formatTime } from '../../utils/time.ts';
import { StockError } from './common.tsx';

const ICCID = /^[0-9]{19,20}$/;

export default function CardHistory() {
  const { t, label } = useI18n();
  const [params, setParams] = useSearchParams();
  const iccid = params.get('iccid') ?? '';
  const [text, setText] = useState(iccid);
  const [data, setData] = useState<{ card: StockCard; history: CardHistoryRow[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [bad, setBad] = useState(false);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    setText(iccid);
    if (!iccid) return;
    let live = true;
    setLoading(true);
    setError(null);
    setData(null);
    stock
      .cardHistory(iccid)
      .then((r) => live && setData(r))
      .catch((e: unknown) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [iccid]);

  const columns: TableColumnsType<CardHistoryRow> = [
    { title: t('stock.at'), dataIndex: 'at', width: 180, render: (v: string) => formatTime(v) },
    { title: t('stock.event'), dataIndex: 'event', render: (v: string) => <Tag color="blue">{label('cardEvent', v)}</Tag> },
    {
      title: t('stock.stateChange'),
      key: 'state',
      render: (_: unknown, r) => (
        <span>
          {r.fromState ? label('simState', r.fromState) : '—'} → <Typography.Text strong>{label('simState', r.toState)}</Typography.Text>
        </span>
      ),
    },
    { title: t('stock.warehouse'), dataIndex: 'warehouseCode', render: (v: string | null) => (v ? <span className="mono">{v}</span> : '—') },
    { title: t('stock.holder'), dataIndex: 'holderDepartmentId', render: (v: string | null) => v ?? '—' },
    {
      title: t('stock.document'),
      key: 'doc',
      render: (_: unknown, r) =>
        r.stockOrderId ? (
          t('stock.docNumber', { id: r.stockOrderId })
        ) : r.orderId ? (
          <Link to={`/orders/${r.orderId}`}>{t('order.number', { id: r.orderId })}</Link>
        ) : (
          '—'
        ),
    },
    { title: t('stock.operator'), key: 'op', render: (_: unknown, r) => r.operatorName ?? (r.operatorId ? `#${r.operatorId}` : '—') },
  ];

  const c = data?.card;
  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }} data-testid="card-history">
      <Card title={t('menu.cardHistory')}>
        <Input.Search
          autoFocus
          allowClear
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setBad(false);
          }}
          placeholder={t('stock.iccidPlaceholder')}
          aria-label="ICCID"
          enterButton={t('action.search')}
          className="mono"
          maxLength={20}
          loading={loading}
          style={{ maxWidth: 520 }}
          status={bad ? 'error' : undefined}
          onSearch={(q) => {
            const s = q.trim();
            if (!ICCID.test(s)) {
              setBad(true);
              return;
            }
            setParams({ iccid: s });
          }}
        />
        {bad ? <Typography.Paragraph type="danger" style={{ marginTop: 8 }}>{t('stock.iccidFormat')}</Typography.Paragraph> : null}
      </Card>
      {error ? <StockError error={error} /> : null}
      {c ? (
        <Card>
          <Descriptions
            size="small"
            bordered
            column={{ xs: 1, md: 3 }}
            data-testid="card-info"
            items={[
              { key: 'iccid', label: 'ICCID', children: <span className="mono">{c.iccid}</span> },
              { key: 'type', label: t('stock.cardType'), children: label('cardType', c.cardType) },
              { key: 'state', label: t('stock.cardState'), children: <Tag color="blue">{label('simState', c.state)}</Tag> },
              { key: 'wh', label: t('stock.warehouse'), children: c.warehouseCode ? <span className="mono">{c.warehouseCode}</span> : '—' },
              { key: 'dept', label: t('stock.department'), children: c.departmentId ?? '—' },
              { key: 'holder', label: t('stock.holder'), children: c.pickedByDepartmentId ? `${c.pickedByDepartmentId}（${formatTime(c.pickedAt)}）` : '—' },
              { key: 'number', label: t('field.serviceNumber'), children: c.serviceNumber ?? '—' },
              { key: 'imsi', label: 'IMSI', children: c.imsi ? <span className="mono">{c.imsi}</span> : '—' },
              { key: 'data', label: t('stock.cardData'), children: c.hasCardData ? t('stock.hasCardData') : t('stock.noCardData') },
              ...(c.stockOrderId ? [{ key: 'lock', label: t('stock.docId'), children: <Tag color="orange">{t('stock.lockedBy', { id: c.stockOrderId })}</Tag> }] : []),
            ]}
          />
          <Table<CardHistoryRow>
            style={{ marginTop: 16 }}
            rowKey="eventId"
            size="small"
            columns={columns}
            dataSource={data?.history ?? []}
            pagination={false}
            data-testid="card-events"
            locale={{ emptyText: <Empty description={t('stock.noEvents')} /> }}
          />
        </Card>
      ) : null}
    </Space>
  );
}
