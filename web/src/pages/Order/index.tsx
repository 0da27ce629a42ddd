// 受理向导 (SPEC §7): ① business type and customer → ② the form → ③ check (R-ORD-1) → ④ quote with
// waivers (R-ORD-2) → ⑤ receipt (R-ORD-3) → ⑥ submit and its result. Opened from the customer 360
// or the workbench (/orders/new?customerId=&subscriberId=&type=), or for an existing order
// (/orders/:id), which resumes at its step.
import { ArrowRightOutlined, StopOutlined, UserOutlined } from '@ant-design/icons';
import { App, Button, Card, Descriptions, Empty, Form, Input, Modal, Select, type SelectProps, Skeleton, Space, Steps, Table, Tag, Typography } from 'antd';
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import { customerOverview, searchCustomers } from '../../services/frontdesk.ts';
import * as api from '../../services/orders.ts';
import type { OrderView, Waiver } from '../../services/orders.ts';
import { useBusinessTypes } from '../../components/useBusinessTypes.ts';
import type { CustomerOverview, CustomerSummary } from '../../services/types.ts';
import { useSession } from '../../session.tsx';
import { AddOnForm } from './AddOnForm.tsx';
import { BundleBindForm } from './BundleBindForm.tsx';
import { BundleUnbindForm } from './BundleUnbindForm.tsx';
import { CheckStep } from './CheckStep.tsx';
import type { OrderFormProps } from './FormFooter.tsx';
import { GenericForm } from './GenericForm.tsx';
import { OpenAccountForm } from './OpenAccountForm.tsx';
import { QuoteStep } from './QuoteStep.tsx';
import { ReceiptStep } from './ReceiptStep.tsx';
import { OrderResult, SubmitStep } from './ResultStep.tsx';

const STEP = { start: 0, form: 1, check: 2, quote: 3, receipt: 4, submit: 5 } as const;
const OPEN: readonly string[] = ['draft', 'checked', 'quoted'];

/** The step an existing order resumes at. */
function stepOf(o: OrderView): number {
  if (o.status === 'draft') return o.checks ? STEP.check : STEP.form;
  if (o.status === 'checked') return STEP.check;
  if (o.status === 'quoted') return STEP.quote;
  return STEP.submit;
}

function OrderForm(p: OrderFormProps) {
  if (p.businessType === 'OPEN_ACCOUNT') return <OpenAccountForm {...p} />;
  if (p.businessType === 'ADD_ON') return <AddOnForm {...p} />;
  if (p.businessType === 'BUNDLE_BIND') return <BundleBindForm {...p} />;
  if (p.businessType === 'BUNDLE_UNBIND') return <BundleUnbindForm {...p} />;
  return <GenericForm {...p} />;
}

/** Finds the customer when the wizard was opened without one. */
export function CustomerSearch({ onPick }: { onPick(id: number): void }) {
  const { t, label } = useI18n();
  const [rows, setRows] = useState<CustomerSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  return (
    <>
      <Input.Search
        autoFocus
        allowClear
        placeholder={t('workbench.placeholder')}
        aria-label={t('workbench.placeholder')}
        enterButton={t('action.search')}
        loading={loading}
        style={{ maxWidth: 520 }}
        onSearch={(q) => {
          if (!q.trim()) return;
          setLoading(true);
          setError(null);
          searchCustomers(q.trim())
            .then(setRows)
            .catch(setError)
            .finally(() => setLoading(false));
        }}
      />
      {error ? <ErrorAlert error={error} style={{ marginTop: 12 }} /> : null}
      {rows ? (
        <Table<CustomerSummary>
          style={{ marginTop: 12 }}
          rowKey="customerId"
          size="small"
          dataSource={rows}
          pagination={false}
          locale={{ emptyText: <Empty description={t('order.noCustomer')} /> }}
          onRow={(c) => ({ tabIndex: 0, onClick: () => onPick(c.customerId), onKeyDown: (e) => e.key === 'Enter' && onPick(c.customerId), style: { cursor: 'pointer' } })}
          columns={[
            { title: t('customer.name'), dataIndex: 'name' },
            { title: t('customer.idType'), dataIndex: 'idType', render: (v: string) => label('idType', v) },
            { title: t('customer.idNumber'), dataIndex: 'idNumber', render: (v: string) => <span className="mono">{v}</span> },
            { title: t('customer.segment'), dataIndex: 'segment', render: (v: string) => label('segment', v) },
          ]}
        />
      ) : null}
    </>
  );
}

export function CustomerCard({ c }: { c: CustomerOverview }) {
  const { t, label } = useI18n();
  const k = c.customer;
  return (
    <Descriptions
      size="small"
      bordered
      column={{ xs: 1, md: 3 }}
      data-testid="order-customer"
      items={[
        { key: 'name', label: t('customer.name'), children: <Typography.Text strong>{k.name}</Typography.Text> },
        { key: 'id', label: t('customer.idNumber'), children: <span className="mono">{k.idNumber}</span> },
        { key: 'seg', label: t('customer.segment'), children: label('segment', k.segment) },
        { key: 'subs', label: t('subscriber.title'), children: c.subscribers.map((s) => `${s.serviceNumber}（${label('network', s.network)}）`).join('、') || '—' },
        { key: 'acc', label: t('summary.accounts'), children: c.accounts.length },
        { key: 'pw', label: t('customer.servicePassword'), children: k.hasServicePassword ? t('customer.passwordSet') : t('customer.passwordNotSet') },
      ]}
    />
  );
}

function OrderWizard() {
  const { t, pick, label } = useI18n();
  const { access } = useSession();
  const { message } = App.useApp();
  const routeId = useParams().id;
  const [params, setParams] = useSearchParams();
  const orderId = Number(routeId ?? params.get('order') ?? 0) || null;
  const customerParam = Number(params.get('customerId') ?? 0) || null;

  const { types, error: typesError } = useBusinessTypes();
  const [type, setType] = useState<string | undefined>(params.get('type') ?? undefined);
  const [subscriberId, setSubscriberId] = useState<number | undefined>(Number(params.get('subscriberId') ?? 0) || undefined);
  const [customerId, setCustomerId] = useState<number | null>(customerParam);
  const [customer, setCustomer] = useState<CustomerOverview | null>(null);
  const [order, setOrder] = useState<OrderView | null>(null);
  const [step, setStep] = useState<number>(STEP.start);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [cancelling, setCancelling] = useState(false);
  const [cancelReason, setCancelReason] = useState('');
  const nextRef = useRef<HTMLButtonElement>(null);


  // an existing order: its type, customer and step
  useEffect(() => {
    if (!orderId || order?.orderId === orderId) return;
    let live = true;
    api
      .getOrder(orderId)
      .then((o) => {
        if (!live) return;
        setOrder(o);
        setType(o.businessType);
        if (o.customerId) setCustomerId(o.customerId);
        setStep(stepOf(o));
      })
      .catch((e: unknown) => live && setLoadError(e));
    return () => {
      live = false;
    };
  }, [orderId, order?.orderId]);

  useEffect(() => {
    if (!customerId) return;
    let live = true;
    customerOverview(customerId)
      .then((c) => live && setCustomer(c))
      .catch((e: unknown) => live && setLoadError(e));
    return () => {
      live = false;
    };
  }, [customerId]);

  const info = types.find((x) => x.code === type);
  const sensitive = info?.sensitive ?? false;

  /** Runs one call of the wizard: busy while it runs, its error shown, the order it returns kept. */
  const run = useCallback(async (f: () => Promise<OrderView>, after?: (o: OrderView) => void) => {
    setBusy(true);
    setError(null);
    try {
      const o = await f();
      setOrder(o);
      after?.(o);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, []);

  const saveForm = (body: { businessType: string } & Record<string, unknown>) =>
    run(
      async () => {
        const saved = order && OPEN.includes(order.status) ? await api.updateOrder(order.orderId, body) : await api.createOrder(body);
        // a sensitive order waits for the service password; the others are checked at once
        return sensitive ? saved : api.checkOrder(saved.orderId);
      },
      (o) => {
        if (!routeId) setParams((p) => ({ ...Object.fromEntries(p), order: String(o.orderId) }), { replace: true });
        setStep(STEP.check);
      },
    );

  const check = (password?: string) => order && run(() => api.checkOrder(order.orderId, password));
  const quote = (waivers: Waiver[] = []) => order && run(() => api.quoteOrder(order.orderId, waivers));
  const toQuote = () => {
    if (!order) return;
    if (order.status === 'quoted') setStep(STEP.quote);
    else void run(() => api.quoteOrder(order.orderId, []), () => setStep(STEP.quote));
  };
  const submit = () => order && run(() => api.submitOrder(order.orderId));
  const confirm = (accepted: boolean) =>
    order &&
    run(() => api.confirmOrder(order.orderId, accepted));
  const cancel = () =>
    order &&
    run(
      () => api.cancelOrder(order.orderId, cancelReason.trim()),
      () => {
        setCancelling(false);
        setStep(STEP.submit);
        void message.success(t('order.cancelled'));
      },
    );

  if (loadError || typesError) return <ErrorAlert error={loadError ?? typesError} onRetry={() => window.location.reload()} />;
  if (orderId && !order) return <Skeleton active paragraph={{ rows: 10 }} />;

  const open = !order || OPEN.includes(order.status);
  const finished = order !== null && !open;
  const typeOptions: SelectProps['options'] = types.map((x) => ({ value: x.code, label: `${pick(x.name)}（${x.code}）`, search: `${x.code} ${x.name.zh} ${x.name.en}` }));

  const stepItems = [t('order.step.start'), t('order.step.form'), t('order.step.check'), t('order.step.quote'), t('order.step.receipt'), t('order.step.submit')].map((title) => ({ title }));

  let body: ReactNode = null;
  if (finished && order) {
    body = <OrderResult order={order} busy={busy} onConfirm={(a) => void confirm(a)} />;
  } else if (step === STEP.start) {
    body = (
      <Card data-testid="order-start">
        {customerId ? (
          customer ? (
            <CustomerCard c={customer} />
          ) : (
            <Skeleton active />
          )
        ) : (
          <>
            <Typography.Paragraph>
              <UserOutlined /> {t('order.pickCustomer')}
            </Typography.Paragraph>
            <CustomerSearch
              onPick={(id) => {
                setCustomerId(id);
                setParams((p) => ({ ...Object.fromEntries(p), customerId: String(id) }), { replace: true });
              }}
            />
          </>
        )}
        <Form layout="vertical" style={{ marginTop: 16, maxWidth: 560 }}>
          <Form.Item label={t('order.businessType')} required>
            <Select
              id="businessType"
              autoFocus={Boolean(customerId)}
              value={type}
              disabled={order !== null}
              showSearch={{ optionFilterProp: 'search' }}
              options={typeOptions}
              placeholder={t('order.pickType')}
              onChange={(v: string) => {
                setType(v);
                window.setTimeout(() => nextRef.current?.focus(), 0);
              }}
            />
          </Form.Item>
          {customer && customer.subscribers.length && type !== 'OPEN_ACCOUNT' ? (
            <Form.Item label={t('order.subscriber')}>
              <Select
                allowClear
                value={subscriberId}
                onChange={setSubscriberId}
                options={customer.subscribers.map((s) => ({ value: s.subscriberId, label: `${s.serviceNumber} · ${label('network', s.network)} · ${label('subStatus', s.status)}` }))}
              />
            </Form.Item>
          ) : null}
        </Form>
        <Button ref={nextRef} type="primary" disabled={!type || !customerId || !customer} onClick={() => setStep(STEP.form)} icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="order-start-next">
          {t('order.next')}
        </Button>
      </Card>
    );
  } else if (step === STEP.form && type) {
    body = <OrderForm businessType={type} customer={customer} subscriberId={subscriberId} initial={order?.input} onSubmit={(b) => void saveForm(b)} onBack={() => setStep(STEP.start)} busy={busy} />;
  } else if (step === STEP.check && order) {
    body = <CheckStep order={order} sensitive={sensitive} busy={busy} onCheck={(pw) => void check(pw)} onEdit={() => setStep(STEP.form)} onNext={toQuote} />;
  } else if (step === STEP.quote && order) {
    body = <QuoteStep order={order} canWaive={access.waive} busy={busy} onQuote={(w) => void quote(w)} onBack={() => setStep(STEP.check)} onNext={() => setStep(STEP.receipt)} />;
  } else if (step === STEP.receipt && order) {
    body = <ReceiptStep orderId={order.orderId} version={`${order.status}:${order.payableFen}:${order.waivedFen}`} onBack={() => setStep(STEP.quote)} onNext={() => setStep(STEP.submit)} />;
  } else if (step === STEP.submit && order) {
    body = <SubmitStep order={order} busy={busy} onSubmit={() => void submit()} onBack={() => setStep(STEP.receipt)} />;
  }

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }} data-testid="order-wizard">
      <Card
        title={
          <Space wrap>
            {t('order.title')}
            {type ? <Tag color="blue">{info ? pick(info.name) : type}</Tag> : null}
            {customer ? <Typography.Text type="secondary">{customer.customer.name}</Typography.Text> : null}
            {order ? (
              <Tag data-testid="order-status">
                {t('order.number', { id: order.orderId })} · {label('orderStatus', order.status)}
              </Tag>
            ) : null}
          </Space>
        }
        extra={
          order && OPEN.includes(order.status) ? (
            <Button danger icon={<StopOutlined />} onClick={() => setCancelling(true)}>
              {t('order.cancel')}
            </Button>
          ) : null
        }
      >
        <Steps current={finished ? STEP.submit : step} items={stepItems} size="small" status={order?.status === 'cancelled' ? 'error' : finished ? 'finish' : 'process'} />
      </Card>
      {error ? <ErrorAlert error={error} /> : null}
      {body}
      <Modal
        open={cancelling}
        title={t('order.cancel')}
        okText={t('order.cancelConfirm')}
        okButtonProps={{ danger: true, disabled: !cancelReason.trim(), loading: busy }}
        onOk={() => void cancel()}
        onCancel={() => setCancelling(false)}
        destroyOnHidden
      >
        <Input autoFocus value={cancelReason} onChange={(e) => setCancelReason(e.target.value)} placeholder={t('order.cancelReason')} maxLength={200} onPressEnter={() => cancelReason.trim() && void cancel()} />
      </Modal>
    </Space>
  );
}

/**
 * The wizard starts afresh for another order or another customer (a link from the 360, the menu);
 * the order it creates itself is added to the URL without starting again.
 */
export default function OrderPage() {
  const { id } = useParams();
  const [params] = useSearchParams();
  return <OrderWizard key={id ? `order-${id}` : `new-${params.get('customerId') ?? ''}`} />;
}
