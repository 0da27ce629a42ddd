// Open bills (欠费 / 未结帐单) of an account, each with its unpaid lines; used by the 360 and the payment page.
import { Table, type TableColumnsType, Tag } from 'antd';
import { Money } from '../../components/Money.tsx';
import { useReference } from '../../components/useReference.ts';
import { useI18n } from '../../locales/index.tsx';
import type { OverviewBill } from '../../services/types.ts';

type Line = OverviewBill['lines'][number];

export function OpenBills({ bills, expandAll = true }: { bills: OverviewBill[]; expandAll?: boolean }) {
  const { t, label } = useI18n();
  const { itemName } = useReference();
  const billColumns: TableColumnsType<OverviewBill> = [
    { title: t('bill.cycle'), dataIndex: 'cycle', width: 120 },
    { title: t('bill.status'), dataIndex: 'status', render: (v: string) => <Tag color={v === 'published' ? 'red' : 'default'}>{label('billStatus', v)}</Tag> },
    { title: t('bill.lines'), key: 'n', render: (_: unknown, b) => b.lines.length },
    { title: t('bill.open'), dataIndex: 'openFen', align: 'right', render: (v: number, b) => <Money fen={v} owed={b.status === 'published'} strong /> },
  ];
  const lineColumns: TableColumnsType<Line> = [
    { title: t('subscriber.serviceNumber'), dataIndex: 'serviceNumber', render: (v: string) => <span className="mono">{v}</span> },
    { title: t('bill.item'), dataIndex: 'item', render: (v: string) => itemName(v) },
    { title: t('bill.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('bill.paid'), dataIndex: 'paidFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('bill.open'), dataIndex: 'openFen', align: 'right', render: (v: number) => <Money fen={v} owed /> },
  ];
  return (
    <Table<OverviewBill>
      rowKey="billId"
      size="small"
      columns={billColumns}
      dataSource={bills}
      pagination={false}
      locale={{ emptyText: t('bill.none') }}
      expandable={{
        defaultExpandAllRows: expandAll,
        expandedRowRender: (b) => <Table<Line> rowKey="lineId" size="small" columns={lineColumns} dataSource={b.lines} pagination={false} />,
      }}
    />
  );
}
