// 帐单 (R-BIL-9, R-ACC-6) in the customer 360: an account's bills by cycle — pre-bill or published,
// due date, amount, paid, still owed — each expanding to its lines per subscriber and item, and each
// line to the write-offs that paid it (which book, how much). The 360 names the numbers and books it
// already has (a line of a subscriber of another customer, paid by this account, shows its id).
import { Table, type TableColumnsType, Tag, Typography } from 'antd';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useReference } from '../../components/useReference.ts';
import { useI18n } from '../../locales/index.tsx';
import * as billing from '../../services/billing.ts';
import type { Bill, BillLine, BillWriteOff } from '../../services/billing.ts';
import { formatTime } from '../../utils/time.ts';
import { useLoad } from '../Stock/common.tsx';

export interface Names {
  /** subscriber id → service number */
  numbers: ReadonlyMap<number, string>;
  /** book id → book type */
  books: ReadonlyMap<number, string>;
}

function WriteOffs({ line, names }: { line: BillLine; names: Names }) {
  const { t, label } = useI18n();
  const { bookTypeName } = useReference();
  const columns: TableColumnsType<BillWriteOff> = [
    { title: t('writeOff.at'), dataIndex: 'at', render: (v: string) => formatTime(v) },
    { title: t('writeOff.book'), key: 'book', render: (_: unknown, w) => `${names.books.has(w.bookId) ? bookTypeName(names.books.get(w.bookId) ?? '') : t('writeOff.bookPlain')} #${w.bookId}` },
    { title: t('writeOff.trigger'), key: 'trigger', render: (_: unknown, w) => `${label('trigger', w.trigger)} #${w.triggerId}` },
    { title: t('writeOff.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
  ];
  if (line.writeOffs.length === 0) return <Typography.Text type="secondary">{t('bills.noWriteOffs')}</Typography.Text>;
  return <Table<BillWriteOff> rowKey="writeOffId" size="small" columns={columns} dataSource={line.writeOffs} pagination={false} />;
}

function Lines({ bill, names }: { bill: Bill; names: Names }) {
  const { t } = useI18n();
  const { itemName } = useReference();
  const columns: TableColumnsType<BillLine> = [
    { title: t('subscriber.serviceNumber'), dataIndex: 'subscriberId', render: (v: number) => <span className="mono">{names.numbers.get(v) ?? t('bills.subscriberId', { id: v })}</span> },
    { title: t('bill.item'), dataIndex: 'item', render: (v: string) => itemName(v) },
    { title: t('bill.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('bill.paid'), dataIndex: 'paidFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('bill.open'), key: 'open', align: 'right', render: (_: unknown, l) => <Money fen={l.amountFen - l.paidFen} owed={bill.status === 'published'} /> },
    { title: t('bills.writeOffs'), key: 'n', align: 'right', render: (_: unknown, l) => l.writeOffs.length },
  ];
  return (
    <Table<BillLine>
      rowKey="lineId"
      size="small"
      columns={columns}
      dataSource={bill.lines}
      pagination={false}
      expandable={{ defaultExpandAllRows: true, rowExpandable: (l) => l.writeOffs.length > 0, expandedRowRender: (l) => <WriteOffs line={l} names={names} /> }}
    />
  );
}

export function AccountBills({ accountId, names }: { accountId: number; names: Names }) {
  const { t, label } = useI18n();
  const { data, error, loading, reload } = useLoad(() => billing.accountBills(accountId), [accountId]);
  const columns: TableColumnsType<Bill> = [
    { title: t('bill.cycle'), dataIndex: 'cycle', width: 110, render: (v: string) => <Typography.Text strong>{v}</Typography.Text> },
    { title: t('bill.status'), dataIndex: 'status', render: (v: string) => <Tag color={v === 'published' ? 'blue' : 'default'}>{label('billStatus', v)}</Tag> },
    { title: t('bills.dueAt'), dataIndex: 'dueAt', render: (v: string | null) => (v ? formatTime(v).slice(0, 10) : '—') },
    { title: t('bill.amount'), dataIndex: 'totalFen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
    { title: t('bill.paid'), dataIndex: 'paidFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    {
      title: t('bills.arrears'),
      key: 'open',
      align: 'right',
      render: (_: unknown, b) => (b.status === 'published' ? <Money fen={b.totalFen - b.paidFen} owed strong /> : <Typography.Text type="secondary">{t('bills.notYetOwed')}</Typography.Text>),
    },
  ];
  if (error) return <ErrorAlert error={error} onRetry={reload} />;
  // a different key: the bills' table mounts with the data, so its newest bill opens expanded
  if (!data) return <Table<Bill> key="loading" rowKey="billId" size="small" loading columns={columns} dataSource={[]} pagination={false} />;
  return (
    <Table<Bill>
      key="bills"
      rowKey="billId"
      size="small"
      loading={loading}
      columns={columns}
      dataSource={data}
      pagination={{ pageSize: 12, hideOnSinglePage: true }}
      locale={{ emptyText: t('bills.none') }}
      expandable={{ defaultExpandedRowKeys: data[0] ? [data[0].billId] : [], expandedRowRender: (b) => <Lines bill={b} names={names} /> }}
      data-testid={`account-bills-${accountId}`}
    />
  );
}
