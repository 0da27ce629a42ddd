// 信控队列 (SPEC §6, R-CC-1..4, R-X-1..3): who is reminded, exempt, specially reopened or stopped
// (one-way, two-way, linked to a member in arrears), since when and why (the rule with the balance
// and the arrears it saw). Filter by state; open the customer 360 of a line; permitted operators give
// a line stopped for arrears a special credit reopen (信用特殊开机, R-X-2) for some hours with a reason.
import { ReloadOutlined, UnlockOutlined, UserOutlined } from '@ant-design/icons';
import { App, Button, Card, Form, Input, InputNumber, Modal, Select, Space, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useI18n } from '../../locales/index.tsx';
import * as billing from '../../services/billing.ts';
import type { CreditEntry, CreditStateCode } from '../../services/billing.ts';
import { useSession } from '../../session.tsx';
import { formatTime } from '../../utils/time.ts';
import { useOpen360 } from '../Billing/common.tsx';
import { useLoad } from '../Stock/common.tsx';

export const CREDIT_STATES: readonly CreditStateCode[] = ['stopped_one_way', 'stopped_two_way', 'linked_stopped', 'linked_pending', 'reminded', 'reopened', 'exempt'];
const STOPPED: ReadonlySet<string> = new Set(['stopped_one_way', 'stopped_two_way', 'linked_stopped']);
const COLOR: Record<string, string> = { reminded: 'gold', exempt: 'purple', reopened: 'cyan', stopped_one_way: 'orange', stopped_two_way: 'red', linked_pending: 'gold', linked_stopped: 'red', ok: 'green' };
const PAGE = 20;

export function CreditStateTag({ state }: { state: string }) {
  const { label } = useI18n();
  return <Tag color={COLOR[state] ?? 'default'}>{label('creditState', state)}</Tag>;
}

/** Why a line is where it is: the rule, and the balance and arrears it saw. */
export function CreditReason({ e }: { e: Pick<CreditEntry, 'rule' | 'balanceFen' | 'arrearsFen' | 'linkedTo' | 'linkedStopAt' | 'reopenUntil' | 'exemptUntil'> }) {
  const { t, label } = useI18n();
  return (
    <Space orientation="vertical" size={0}>
      {/* the server names the rule in English; known rules have their words here */}
      <span>{label('creditRule', e.rule)}</span>
      <Typography.Text type="secondary">
        {e.balanceFen !== null ? (
          <>
            {t('credit.balance')} <Money fen={e.balanceFen} />{' '}
          </>
        ) : null}
        {e.arrearsFen !== null && e.arrearsFen > 0 ? (
          <>
            {t('credit.arrears')} <Money fen={e.arrearsFen} owed />
          </>
        ) : null}
      </Typography.Text>
      {e.linkedTo ? <Typography.Text type="secondary">{t('credit.linkedTo', { id: e.linkedTo })}{e.linkedStopAt ? ` · ${t('credit.linkedStopAt', { at: formatTime(e.linkedStopAt) })}` : ''}</Typography.Text> : null}
      {e.reopenUntil ? <Typography.Text type="secondary">{t('credit.reopenUntil', { at: formatTime(e.reopenUntil) })}</Typography.Text> : null}
      {e.exemptUntil ? <Typography.Text type="secondary">{t('credit.exemptUntil', { at: formatTime(e.exemptUntil) })}</Typography.Text> : null}
    </Space>
  );
}

interface ReopenValues {
  hours: number;
  reason: string;
}

/** 信用特殊开机: hours (at most what the carrier allows) and the reason, then the line works again. */
export function ReopenModal({ entry, onClose, onDone }: { entry: { subscriberId: number; serviceNumber: string } | null; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<ReopenValues>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (v: ReopenValues) => {
    if (!entry) return;
    setBusy(true);
    setError(null);
    try {
      await billing.creditReopen(entry.subscriberId, { hours: v.hours, reason: v.reason.trim() });
      void message.success(t('credit.reopened', { number: entry.serviceNumber }));
      form.resetFields();
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      open={entry !== null}
      title={t('credit.reopenTitle', { number: entry?.serviceNumber ?? '' })}
      onCancel={() => {
        setError(null);
        onClose();
      }}
      okText={t('credit.reopen')}
      onOk={() => form.submit()}
      okButtonProps={{ loading: busy, 'data-testid': 'reopen-submit' } as never}
      destroyOnHidden
    >
      <Typography.Paragraph type="secondary">{t('credit.reopenHint')}</Typography.Paragraph>
      <Form<ReopenValues> form={form} name="reopen" layout="vertical" initialValues={{ hours: 24 }} onFinish={(v) => void submit(v)} disabled={busy}>
        <Form.Item name="hours" label={t('credit.hours')} rules={[{ required: true, message: t('form.required', { label: t('credit.hours') }) }]}>
          <InputNumber min={1} max={720} precision={0} style={{ width: 160 }} suffix={t('credit.hoursUnit')} />
        </Form.Item>
        <Form.Item name="reason" label={t('credit.reason')} rules={[{ required: true, whitespace: true, message: t('form.required', { label: t('credit.reason') }) }]}>
          <Input.TextArea rows={3} maxLength={200} showCount autoFocus />
        </Form.Item>
      </Form>
      {error ? <ErrorAlert error={error} /> : null}
    </Modal>
  );
}

export default function CreditQueue() {
  const { t, label } = useI18n();
  const { access } = useSession();
  const [params, setParams] = useSearchParams();
  const raw = params.get('state') ?? '';
  // one state, `stopped` (every stopped state) or all but ok
  const state = raw === 'stopped' || (CREDIT_STATES as readonly string[]).includes(raw) ? (raw as CreditStateCode | 'stopped') : '';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const { data, error, loading, reload } = useLoad(() => billing.creditQueue({ ...(state ? { state } : {}), limit: PAGE, offset: (page - 1) * PAGE }), [state, page]);
  const [reopening, setReopening] = useState<CreditEntry | null>(null);
  const open360 = useOpen360();

  const columns: TableColumnsType<CreditEntry> = [
    {
      title: t('subscriber.serviceNumber'),
      dataIndex: 'serviceNumber',
      render: (v: string) => (
        <Typography.Text strong className="mono" style={{ whiteSpace: 'nowrap' }}>
          {v}
        </Typography.Text>
      ),
    },
    { title: t('subscriber.network'), dataIndex: 'network', render: (v: string) => <span style={{ whiteSpace: 'nowrap' }}>{label('network', v)}</span> },
    { title: t('credit.state'), dataIndex: 'state', render: (v: string) => <CreditStateTag state={v} /> },
    { title: t('credit.since'), dataIndex: 'since', render: (v: string) => <span style={{ whiteSpace: 'nowrap' }}>{formatTime(v)}</span> },
    { title: t('credit.why'), key: 'why', render: (_: unknown, e) => <CreditReason e={e} /> },
    { title: t('subscriber.status'), dataIndex: 'status', render: (v: string) => <span style={{ whiteSpace: 'nowrap' }}>{label('subStatus', v)}</span> },
    { title: t('credit.account'), dataIndex: 'accountId', render: (v: number) => <span style={{ whiteSpace: 'nowrap' }}>{t('account.title', { id: v })}</span> },
    {
      title: '',
      key: 'actions',
      width: 200,
      render: (_: unknown, e) => (
        <Space size={4}>
          {access.customers ? (
            <Button size="small" icon={<UserOutlined />} onClick={() => void open360.open(e.serviceNumber)} aria-label={`${t('credit.open360')} ${e.serviceNumber}`}>
              {t('credit.open360')}
            </Button>
          ) : null}
          {access.creditReopen && STOPPED.has(e.state) ? (
            <Button size="small" type="primary" icon={<UnlockOutlined />} onClick={() => setReopening(e)} data-testid={`reopen-${e.subscriberId}`}>
              {t('credit.reopen')}
            </Button>
          ) : null}
        </Space>
      ),
    },
  ];

  const setFilter = (next: string | undefined) => setParams(next ? { state: next } : {});
  return (
    <Card
      title={t('credit.title')}
      extra={
        <Space>
          <label htmlFor="credit-states">{t('credit.filter')}</label>
          <Select
            id="credit-states"
            allowClear
            value={state || undefined}
            onChange={setFilter}
            placeholder={t('credit.allStates')}
            style={{ width: 220 }}
            options={[{ value: 'stopped', label: t('credit.allStopped') }, ...CREDIT_STATES.map((s) => ({ value: s, label: label('creditState', s) }))]}
            data-testid="credit-filter"
          />
          <Button icon={<ReloadOutlined />} onClick={reload} aria-label={t('action.refresh')} />
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t('credit.hint')}</Typography.Paragraph>
      {error ? <ErrorAlert error={error} onRetry={reload} style={{ marginBottom: 16 }} /> : null}
      {open360.error ? <ErrorAlert error={open360.error} style={{ marginBottom: 16 }} /> : null}
      <Table<CreditEntry>
        rowKey="subscriberId"
        size="small"
        loading={loading}
        columns={columns}
        dataSource={data?.items ?? []}
        locale={{ emptyText: t('credit.none') }}
        pagination={{
          current: page,
          pageSize: PAGE,
          total: data?.total ?? 0,
          hideOnSinglePage: true,
          showTotal: (n) => t('credit.total', { n }),
          onChange: (p) => setParams({ ...(state ? { state } : {}), page: String(p) }),
        }}
        data-testid="credit-queue"
      />
      <ReopenModal entry={reopening} onClose={() => setReopening(null)} onDone={() => (setReopening(null), reload())} />
    </Card>
  );
}
