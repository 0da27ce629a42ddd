// 工作台: one search box (service number, ID number or name), results masked (R-CUS-2).
// Enter searches; ↓ moves into the results; Enter or a click opens the customer 360.
import { FormOutlined, SearchOutlined } from '@ant-design/icons';
import { Button, Card, Empty, Input, type InputRef, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import { searchCustomers } from '../../services/frontdesk.ts';
import type { CustomerSummary } from '../../services/types.ts';
import { useSession } from '../../session.tsx';

/** Moves the focus between result rows with the arrow keys. */
function focusRow(from: HTMLElement | null, step: 1 | -1, table: HTMLElement | null): void {
  const rows = [...(table?.querySelectorAll<HTMLElement>('tbody tr[data-row-key]') ?? [])];
  if (rows.length === 0) return;
  const i = from ? rows.indexOf(from) : -1;
  rows[Math.min(rows.length - 1, Math.max(0, i + step))]?.focus();
}

export default function Workbench() {
  const { t, label } = useI18n();
  const { access } = useSession();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  const [rows, setRows] = useState<CustomerSummary[] | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const input = useRef<InputRef>(null);
  const table = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!q) {
      setRows(null);
      return;
    }
    let live = true;
    setLoading(true);
    setError(null);
    searchCustomers(q)
      .then((r) => live && setRows(r))
      .catch((e: unknown) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [q, attempt]);

  const search = (value: string) => {
    const v = value.trim();
    if (!v) return;
    if (v === q) setAttempt((n) => n + 1);
    else setParams({ q: v });
  };
  const open = (c: CustomerSummary) => navigate(`/customers/${c.customerId}`);

  const columns: TableColumnsType<CustomerSummary> = [
    { title: t('customer.name'), dataIndex: 'name', render: (v: string) => <Typography.Text strong>{v}</Typography.Text> },
    { title: t('customer.kind'), dataIndex: 'kind', width: 90, render: (v: string) => <Tag color={v === 'organisation' ? 'purple' : 'blue'}>{label('kind', v)}</Tag> },
    { title: t('customer.idType'), dataIndex: 'idType', width: 150, render: (v: string) => label('idType', v) },
    { title: t('customer.idNumber'), dataIndex: 'idNumber', render: (v: string) => <span className="mono">{v}</span> },
    { title: t('customer.contactPhone'), dataIndex: 'contactPhone', render: (v: string | null) => <span className="mono">{v ?? '—'}</span> },
    { title: t('customer.segment'), dataIndex: 'segment', width: 100, render: (v: string) => label('segment', v) },
    { title: t('customer.vipLevel'), dataIndex: 'vipLevel', width: 100, render: (v: string) => (v === 'none' ? '—' : <Tag color="gold">{label('vip', v)}</Tag>) },
    ...(access.orders
      ? [
          {
            title: '',
            key: 'order',
            width: 120,
            render: (_: unknown, c: CustomerSummary) => (
              <Button
                size="small"
                icon={<FormOutlined />}
                tabIndex={-1}
                aria-label={`${t('order.start')} ${c.name}`}
                onClick={(e) => {
                  // the row opens the 360; this opens the wizard
                  e.stopPropagation();
                  navigate(`/orders/new?customerId=${c.customerId}`);
                }}
              >
                {t('order.start')}
              </Button>
            ),
          },
        ]
      : []),
  ];

  const onRowKey = (c: CustomerSummary) => (e: KeyboardEvent<HTMLElement>) => {
    if (e.key === 'Enter') open(c);
    else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      focusRow(e.currentTarget, e.key === 'ArrowDown' ? 1 : -1, table.current);
    } else if (e.key === 'Escape') input.current?.focus();
  };

  return (
    <Card title={t('workbench.title')}>
      <Input.Search
        ref={input}
        autoFocus
        size="large"
        allowClear
        value={text}
        onChange={(e) => setText(e.target.value)}
        onSearch={search}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            focusRow(null, 1, table.current);
          }
        }}
        placeholder={t('workbench.placeholder')}
        enterButton={
          <>
            <SearchOutlined /> {t('action.search')}
          </>
        }
        aria-label={t('workbench.placeholder')}
        style={{ maxWidth: 640 }}
        maxLength={64}
      />
      <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
        {t('workbench.keys')}
      </Typography.Paragraph>
      {error ? <ErrorAlert error={error} onRetry={() => setAttempt((n) => n + 1)} style={{ marginBottom: 16 }} /> : null}
      {rows !== null || loading ? (
        <div ref={table}>
          <Table<CustomerSummary>
            rowKey="customerId"
            size="middle"
            loading={loading}
            columns={columns}
            dataSource={rows ?? []}
            pagination={(rows?.length ?? 0) > 20 ? { pageSize: 20, showSizeChanger: false } : false}
            locale={{ emptyText: <Empty description={t('workbench.none', { q })} /> }}
            onRow={(c) => ({ tabIndex: 0, onClick: () => open(c), onKeyDown: onRowKey(c), style: { cursor: 'pointer' }, 'aria-label': c.name })}
          />
        </div>
      ) : null}
    </Card>
  );
}
