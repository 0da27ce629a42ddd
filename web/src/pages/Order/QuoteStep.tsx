// ④ 预算: the fee lines (fees and prestores) with what is payable; an operator with order.waive may
// waive fee lines, each with a reason (R-ORD-2) — the waiver is on the receipt and in the audit.
import { ArrowLeftOutlined, ArrowRightOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Checkbox, Input, Space, Statistic, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Money } from '../../components/Money.tsx';
import { useI18n } from '../../locales/index.tsx';
import type { FeeLine, OrderView, Waiver } from '../../services/orders.ts';
import { formatFen, yuanToFen } from '../../utils/money.ts';
import { Changes, Notices } from './CheckStep.tsx';
import { fenToYuanText } from './schema.ts';

interface Draft {
  on: boolean;
  amount: string;
}

export function QuoteStep({ order, canWaive, busy, onQuote, onBack, onNext }: { order: OrderView; canWaive: boolean; busy: boolean; onQuote(w: Waiver[]): void; onBack(): void; onNext(): void }) {
  const { t, pick, label } = useI18n();
  const next = useRef<HTMLButtonElement>(null);
  const [drafts, setDrafts] = useState<Record<number, Draft>>({});
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  // what the stored quote waived, as the starting point of the form
  useEffect(() => {
    const d: Record<number, Draft> = {};
    for (const l of order.fees) if (l.waivable) d[l.lineNo] = { on: l.waivedFen > 0, amount: fenToYuanText(l.waivedFen > 0 ? l.waivedFen : l.amountFen) };
    setDrafts(d);
    setReason(order.fees.find((l) => l.waiverReason)?.waiverReason ?? '');
    setProblem(null);
  }, [order.fees]);

  useEffect(() => {
    if (order.status === 'quoted') next.current?.focus();
  }, [order.status, order.payableFen]);

  const changed = useMemo(() => order.fees.some((l) => l.waivable && (drafts[l.lineNo]?.on ?? false) !== l.waivedFen > 0), [order.fees, drafts]);

  const apply = () => {
    const waivers: Waiver[] = [];
    for (const l of order.fees) {
      const d = drafts[l.lineNo];
      if (!l.waivable || !d?.on) continue;
      const r = yuanToFen(d.amount);
      if (!r.ok || r.fen > l.amountFen) {
        setProblem(t('order.waiverAmount', { name: pick(l.name), max: formatFen(l.amountFen) }));
        return;
      }
      waivers.push({ lineNo: l.lineNo, ...(r.fen === l.amountFen ? {} : { amountFen: r.fen }), reason: reason.trim() });
    }
    if (waivers.length && !reason.trim()) {
      setProblem(t('order.waiverReasonRequired'));
      return;
    }
    setProblem(null);
    onQuote(waivers);
  };

  const columns: TableColumnsType<FeeLine> = [
    { title: t('order.fee'), key: 'name', render: (_: unknown, l) => <Typography.Text strong>{pick(l.name)}</Typography.Text> },
    { title: t('order.feeMember'), dataIndex: 'memberRole', render: (v: string | undefined) => (v ? label('role', v) : '—') },
    { title: t('order.feeKind'), dataIndex: 'kind', render: (v: string) => <Tag color={v === 'prestore' ? 'blue' : undefined}>{label('feeKind', v)}</Tag> },
    { title: t('order.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    {
      title: t('order.waived'),
      key: 'waived',
      render: (_: unknown, l) => {
        if (!canWaive || !l.waivable || l.amountFen === 0) return l.waivedFen ? <Money fen={l.waivedFen} /> : '—';
        const d = drafts[l.lineNo] ?? { on: false, amount: fenToYuanText(l.amountFen) };
        return (
          <Space>
            <Checkbox checked={d.on} onChange={(e) => setDrafts({ ...drafts, [l.lineNo]: { ...d, on: e.target.checked } })} aria-label={`${t('order.waive')} ${pick(l.name)}`} data-testid={`waive-${l.feeCode}`}>
              {t('order.waive')}
            </Checkbox>
            {d.on ? (
              <Input size="small" prefix="¥" style={{ width: 110 }} value={d.amount} onChange={(e) => setDrafts({ ...drafts, [l.lineNo]: { ...d, amount: e.target.value } })} aria-label={t('order.waiveAmount')} />
            ) : null}
            {l.waivedFen > 0 ? (
              <Typography.Text type="success">
                {t('order.waivedNow')} <Money fen={l.waivedFen} />
              </Typography.Text>
            ) : null}
          </Space>
        );
      },
    },
    { title: t('order.payable'), key: 'payable', align: 'right', render: (_: unknown, l) => <Money fen={l.amountFen - l.waivedFen} strong /> },
  ];

  return (
    <Card data-testid="order-quote">
      <Notices notices={order.notices} />
      <Table<FeeLine> rowKey="lineNo" size="small" columns={columns} dataSource={order.fees} pagination={false} data-testid="order-fees" locale={{ emptyText: t('order.noFees') }} />
      {canWaive && order.fees.some((l) => l.waivable && l.amountFen > 0) ? (
        <div style={{ marginTop: 12 }}>
          <Space wrap>
            <Input
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              placeholder={t('order.waiverReason')}
              aria-label={t('order.waiverReason')}
              maxLength={200}
              style={{ width: 360 }}
              data-testid="waiver-reason"
              onPressEnter={apply}
            />
            <Button onClick={apply} loading={busy} type={changed ? 'primary' : 'default'} data-testid="apply-waivers">
              {t('order.applyWaivers')}
            </Button>
          </Space>
        </div>
      ) : null}
      {problem ? <Alert type="error" showIcon role="alert" title={problem} style={{ marginTop: 12 }} /> : null}
      <div style={{ margin: '16px 0' }}>
        <Space size={48} wrap>
          <Statistic title={t('order.total')} value={formatFen(order.totalFen)} />
          <Statistic title={t('order.waivedTotal')} value={formatFen(order.waivedFen)} />
          <Statistic title={t('order.payableTotal')} value={formatFen(order.payableFen)} styles={{ content: { color: '#cf1322' } }} data-testid="order-payable" />
        </Space>
      </div>
      <Changes order={order} />
      <Space>
        <Button icon={<ArrowLeftOutlined />} onClick={onBack} disabled={busy}>
          {t('order.prev')}
        </Button>
        <Button ref={next} type="primary" onClick={onNext} disabled={busy || changed || order.status !== 'quoted'} icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="order-to-receipt">
          {t('order.toReceipt')}
        </Button>
      </Space>
    </Card>
  );
}
