// 详单/用量 (SPEC §5, R-BIL-1..3) in the customer 360: one subscriber's usage in a cycle — per bill
// item what the allowance covered and what was charged — and its CDRs (time, other party masked by
// the server, type, scope, duration or volume, charge), a page at a time. The allowance per item is
// summed from the records, so it is shown when the cycle's records fit in one answer (LIMIT).
import { Button, Card, Select, Space, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { useState } from 'react';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useReference } from '../../components/useReference.ts';
import { useI18n } from '../../locales/index.tsx';
import * as billing from '../../services/billing.ts';
import type { Cdr, Usage, UsageItemTotal } from '../../services/billing.ts';
import { formatTime } from '../../utils/time.ts';
import { CyclePicker, useBusinessCycle } from '../Billing/common.tsx';
import { useLoad } from '../Stock/common.tsx';

/** The records of a cycle fetched at once (the API's maximum page); more are paged from the server. */
const LIMIT = 1000;

interface ItemRow extends UsageItemTotal {
  unit: string | null;
  /** units the allowance covered; null when not every record of the cycle is at hand */
  freeUnits: number | null;
}

/** The API's totals per item with the unit and the allowance used, summed from the records. */
function itemRows(u: Usage): ItemRow[] {
  const complete = u.records.length >= u.total;
  return u.totals.map((x) => {
    const recs = u.records.filter((r) => r.itemCode === x.itemCode);
    return { ...x, unit: recs[0]?.unit ?? null, freeUnits: complete ? recs.reduce((s, r) => s + (r.freeUnits ?? 0), 0) : null };
  });
}

/** Seconds, messages or bytes in words. */
function useQuantity() {
  const { t } = useI18n();
  return (usage: string, q: number) => {
    if (usage === 'voice') return q >= 60 ? t('usage.minSec', { m: Math.floor(q / 60), s: q % 60 }) : t('usage.sec', { s: q });
    if (usage === 'sms') return t('usage.messages', { n: q });
    if (q >= 1024 * 1024) return `${(q / 1024 / 1024).toFixed(2)} MB`;
    return `${(q / 1024).toFixed(q < 10240 ? 2 : 0)} KB`;
  };
}

export function SubscriberUsage({ subscribers }: { subscribers: { subscriberId: number; serviceNumber: string }[] }) {
  const { t, label } = useI18n();
  const { itemName } = useReference();
  const quantity = useQuantity();
  const now = useBusinessCycle();
  const [picked, setPicked] = useState<number | null>(null);
  const [cycle, setCycle] = useState<string | null>(null);
  const [offset, setOffset] = useState(0);
  const subscriberId = picked ?? subscribers[0]?.subscriberId ?? null;
  const value = cycle ?? now;
  const { data, error, loading, reload } = useLoad(() => (subscriberId && value ? billing.usage(subscriberId, value, { limit: LIMIT, offset }) : Promise.resolve(null)), [subscriberId, value, offset]);
  const rows = data ? itemRows(data) : [];
  const choose = (f: () => void) => {
    setOffset(0);
    f();
  };

  const unitName = (u: string | null) => (u ? label('unit', u) : '');
  const totalColumns: TableColumnsType<ItemRow> = [
    { title: t('bill.item'), dataIndex: 'itemCode', render: (v: string) => itemName(v) },
    { title: t('usage.records'), dataIndex: 'records', align: 'right' },
    { title: t('usage.units'), key: 'units', align: 'right', render: (_: unknown, r) => `${r.units} ${unitName(r.unit)}` },
    { title: t('usage.allowanceUsed'), key: 'free', align: 'right', render: (_: unknown, r) => (r.freeUnits === null ? '—' : `${r.freeUnits} ${unitName(r.unit)}`) },
    { title: t('usage.chargedUnits'), key: 'charged', align: 'right', render: (_: unknown, r) => (r.freeUnits === null ? '—' : `${Math.max(0, r.units - r.freeUnits)} ${unitName(r.unit)}`) },
    { title: t('usage.charge'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
    { title: t('usage.billed'), dataIndex: 'billedFen', align: 'right', render: (v: number) => <Money fen={v} /> },
  ];
  const cdrColumns: TableColumnsType<Cdr> = [
    { title: t('usage.time'), dataIndex: 'startedAt', width: 170, render: (v: string) => formatTime(v) },
    { title: t('usage.otherParty'), dataIndex: 'otherParty', render: (v: string) => <span className="mono">{v}</span> },
    { title: t('usage.type'), dataIndex: 'usage', render: (v: string) => label('usageType', v) },
    { title: t('usage.scope'), dataIndex: 'scope', render: (v: string) => label('usageScope', v) },
    { title: t('usage.quantity'), key: 'q', align: 'right', render: (_: unknown, c) => quantity(c.usage, c.quantity) },
    { title: t('usage.area'), dataIndex: 'area', render: (v: string | null) => v ?? '—' },
    { title: t('bill.item'), dataIndex: 'itemCode', render: (v: string | null, c) => (c.rated && v ? itemName(v) : <Tag>{t('usage.unrated')}</Tag>) },
    {
      title: t('usage.charge'),
      dataIndex: 'chargeFen',
      align: 'right',
      render: (v: number | null, c) => (
        <Space size={4}>
          {c.freeReason ? <Tag color="green">{label('freeReason', c.freeReason)}</Tag> : null}
          {v === null ? '—' : <Money fen={v} />}
        </Space>
      ),
    },
  ];

  return (
    <Card
      title={t('usage.title')}
      style={{ marginTop: 16 }}
      data-testid="subscriber-usage"
      extra={
        <Space wrap>
          <label htmlFor="usage-subscriber">{t('subscriber.serviceNumber')}</label>
          <Select
            id="usage-subscriber"
            value={subscriberId}
            onChange={(v: number) => choose(() => setPicked(v))}
            style={{ width: 200 }}
            showSearch={{ optionFilterProp: 'label' }}
            options={subscribers.map((s) => ({ value: s.subscriberId, label: s.serviceNumber }))}
          />
          <label htmlFor="usage-cycle">{t('billing.cycle')}</label>
          <CyclePicker id="usage-cycle" value={value} onChange={(c) => choose(() => setCycle(c))} maxCycle={now} />
        </Space>
      }
    >
      {error ? <ErrorAlert error={error} onRetry={reload} style={{ marginBottom: 16 }} /> : null}
      <Table<ItemRow>
        rowKey="itemCode"
        size="small"
        loading={loading && !data}
        columns={totalColumns}
        dataSource={rows}
        pagination={false}
        locale={{ emptyText: t('usage.noUsage') }}
        data-testid="usage-totals"
        summary={() =>
          data?.totals.length ? (
            <Table.Summary.Row>
              <Table.Summary.Cell index={0} colSpan={5}>
                <Typography.Text strong>{t('billing.total')}</Typography.Text>
              </Table.Summary.Cell>
              <Table.Summary.Cell index={5} align="right">
                <Money fen={data.totalFen} strong />
              </Table.Summary.Cell>
              <Table.Summary.Cell index={6} align="right">
                <Money fen={data.totals.reduce((s, x) => s + x.billedFen, 0)} />
              </Table.Summary.Cell>
            </Table.Summary.Row>
          ) : null
        }
      />
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('usage.cdrs', { n: data?.total ?? 0 })}
      </Typography.Title>
      {data && data.total > LIMIT ? (
        <Space style={{ marginBottom: 8 }}>
          <Typography.Text type="secondary">{t('usage.slice', { from: offset + 1, to: offset + data.records.length, total: data.total })}</Typography.Text>
          <Button size="small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - LIMIT))}>
            {t('usage.prevSlice')}
          </Button>
          <Button size="small" disabled={offset + LIMIT >= data.total} onClick={() => setOffset(offset + LIMIT)}>
            {t('usage.nextSlice')}
          </Button>
        </Space>
      ) : null}
      <Table<Cdr>
        rowKey="recordId"
        size="small"
        loading={loading}
        columns={cdrColumns}
        dataSource={data?.records ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true, showSizeChanger: false }}
        locale={{ emptyText: t('usage.noCdrs') }}
        data-testid="usage-cdrs"
      />
    </Card>
  );
}
