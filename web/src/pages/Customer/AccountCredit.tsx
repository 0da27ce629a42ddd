// 信控 (R-CC-1, R-CC-4) in the customer 360: the account's real-time balance with its parts (usable
// books − unpaid bills − unbilled usage + credit limit) and, per subscriber, the judgement of credit
// control with its rule, its own overdue lines and where it stands (since when); a line stopped for
// arrears can get a special credit reopen (信用特殊开机, R-X-2) here by a permitted operator.
import { UnlockOutlined } from '@ant-design/icons';
import { Button, Descriptions, Space, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { useState } from 'react';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useI18n } from '../../locales/index.tsx';
import * as billing from '../../services/billing.ts';
import type { AccountCredit as Credit } from '../../services/billing.ts';
import { useSession } from '../../session.tsx';
import { formatTime } from '../../utils/time.ts';
import { CreditStateTag, ReopenModal } from '../Credit/index.tsx';
import { useLoad } from '../Stock/common.tsx';

type Row = Credit['subscribers'][number];
const VERDICT_COLOR: Record<string, string> = { ok: 'green', remind: 'gold', arrears: 'red' };

export function AccountCredit({ accountId }: { accountId: number }) {
  const { t, label } = useI18n();
  const { access } = useSession();
  const { data, error, loading, reload } = useLoad(() => billing.accountCredit(accountId), [accountId]);
  const [reopening, setReopening] = useState<Row | null>(null);
  if (error) return <ErrorAlert error={error} onRetry={reload} />;

  const columns: TableColumnsType<Row> = [
    { title: t('subscriber.serviceNumber'), dataIndex: 'serviceNumber', render: (v: string) => <span className="mono">{v}</span> },
    { title: t('credit.judgement'), dataIndex: 'judgement', render: (v: string) => <Tag color={VERDICT_COLOR[v] ?? 'default'}>{label('verdict', v)}</Tag> },
    { title: t('credit.why'), dataIndex: 'rule', render: (v: string) => label('creditRule', v) },
    { title: t('credit.ownArrears'), dataIndex: 'ownArrearsFen', align: 'right', render: (v: number) => <Money fen={v} owed /> },
    {
      title: t('credit.state'),
      key: 'state',
      render: (_: unknown, r) =>
        r.creditState ? (
          <Space orientation="vertical" size={0}>
            <span>
              <CreditStateTag state={r.creditState.state} /> <Typography.Text type="secondary">{t('credit.sinceAt', { at: formatTime(r.creditState.since) })}</Typography.Text>
            </span>
            {r.creditState.reopenUntil ? <Typography.Text type="secondary">{t('credit.reopenUntil', { at: formatTime(r.creditState.reopenUntil) })}</Typography.Text> : null}
          </Space>
        ) : (
          '—'
        ),
    },
    {
      title: '',
      key: 'reopen',
      width: 140,
      render: (_: unknown, r) =>
        access.creditReopen && r.stopReasons.some((x) => x === 'arrears_one_way' || x === 'arrears_two_way') ? (
          <Button size="small" icon={<UnlockOutlined />} onClick={() => setReopening(r)} data-testid={`reopen-${r.subscriberId}`}>
            {t('credit.reopen')}
          </Button>
        ) : null,
    },
  ];
  return (
    <div data-testid={`account-credit-${accountId}`}>
      {data ? (
        <Descriptions
          size="small"
          column={{ xs: 1, md: 3, xl: 4 }}
          items={[
            { key: 'books', label: t('credit.usableBooks'), children: <Money fen={data.usableBooksFen} /> },
            { key: 'unpaid', label: t('credit.unpaidBills'), children: <Money fen={data.unpaidBillsFen} owed /> },
            { key: 'notDue', label: t('credit.notYetDue'), children: <Money fen={data.notYetDueFen} /> },
            { key: 'usage', label: t('credit.unbilledUsage'), children: <Money fen={data.unbilledUsageFen} /> },
            { key: 'limit', label: t('account.creditLimit'), children: <Money fen={data.creditLimitFen} /> },
            { key: 'rt', label: t('money.realtime'), children: <Money fen={data.realtimeBalanceFen} strong /> },
            { key: 'threshold', label: t('credit.threshold'), children: <Money fen={data.reminderThresholdFen} /> },
            { key: 'asOf', label: t('credit.asOf'), children: formatTime(data.asOf) },
          ]}
        />
      ) : null}
      <Table<Row> rowKey="subscriberId" size="small" loading={loading} columns={columns} dataSource={data?.subscribers ?? []} pagination={false} style={{ marginTop: 8 }} />
      <ReopenModal entry={reopening} onClose={() => setReopening(null)} onDone={() => (setReopening(null), reload())} />
    </div>
  );
}
