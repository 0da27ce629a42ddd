// 社会渠道开户（现场写卡）, seed 003 and R-RES-4/R-RES-5: ① customer and documents → ② number →
// ③ plan and account → ④ read card (a blank card this channel picked) → ⑤ write card (the server
// issues the script, the reader writes it, the result always goes back: R-X-11) → ⑥ fees → ⑦ the
// receipt → ⑧ final submit. The order is created at ④ with the card that was read and checked
// there; ⑥–⑧ are the order wizard's own steps.
import { ArrowLeftOutlined, ArrowRightOutlined, CheckCircleOutlined, CreditCardOutlined, EditOutlined, LinkOutlined, UserAddOutlined, UserOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Col, Descriptions, Form, Input, Radio, Result, Row, Skeleton, Space, Steps, Tabs, Tag, Typography } from 'antd';
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import { createCustomer, customerOverview } from '../../services/frontdesk.ts';
import * as api from '../../services/orders.ts';
import type { OrderView, Waiver } from '../../services/orders.ts';
import * as stock from '../../services/stock.ts';
import type { Card as StockCard } from '../../services/stock.ts';
import type { CustomerOverview } from '../../services/types.ts';
import { useSession } from '../../session.tsx';
import { type DocumentsValues, DocumentsFields, documentsBody } from '../Order/DocumentsFields.tsx';
import { FailureList } from '../Order/CheckStep.tsx';
import { CustomerCard, CustomerSearch } from '../Order/index.tsx';
import { AccountSelect, NumberPicker, OfferSelect } from '../Order/pickers.tsx';
import { QuoteStep } from '../Order/QuoteStep.tsx';
import { ReceiptStep } from '../Order/ReceiptStep.tsx';
import { OrderResult, SubmitStep } from '../Order/ResultStep.tsx';
import { DemoCardReader, readerMessage, SimulatorPanel } from './ReaderPanel.tsx';

const STEP = { customer: 0, number: 1, plan: 2, read: 3, write: 4, quote: 5, receipt: 6, submit: 7 } as const;
const NETWORK = 'wcdma3g';

interface Plan {
  planCode?: string;
  packs?: string[];
  accountMode: 'new' | 'existing';
  accountId?: number;
}

/** One reader per page load: the simulator keeps the inserted card across the steps. */
const reader = new DemoCardReader();

type ReaderState = { kind: 'idle' } | { kind: 'busy'; what: string } | { kind: 'error'; code: string; text: string } | { kind: 'ok'; text: string };

function ReaderStatus({ s }: { s: ReaderState }) {
  if (s.kind === 'idle') return null;
  if (s.kind === 'busy') return <Alert type="info" showIcon title={s.what} style={{ marginTop: 12 }} />;
  if (s.kind === 'ok') return <Alert type="success" showIcon title={s.text} style={{ marginTop: 12 }} data-testid="reader-ok" />;
  return <Alert type="error" showIcon role="alert" title={s.text} description={s.code} style={{ marginTop: 12 }} data-testid="reader-error" />;
}

/** Before the write, the blank card is not written yet: that one failure is what the next step does. */
const NOT_WRITTEN = 'SIM_NOT_WRITTEN';

/** The failures of the order's last check that the operator must act on (before the write: all but the write itself). */
function blocking(order: OrderView, beforeWrite: boolean) {
  return (order.checks?.failures ?? []).filter((f) => !(beforeWrite && f.code === NOT_WRITTEN));
}

/** The order's checks: passed (before the write: passed but for the write), or each failure with its fix. */
function Checks({ order, beforeWrite }: { order: OrderView; beforeWrite: boolean }) {
  const { t } = useI18n();
  if (!order.checks) return null;
  const failures = blocking(order, beforeWrite);
  if (order.status === 'checked' || order.status === 'quoted' || failures.length === 0) {
    return <Alert type="success" showIcon title={beforeWrite && order.status === 'draft' ? t('agent.checkedBeforeWrite') : t('order.checkPassed')} style={{ marginTop: 12 }} data-testid="agent-check-passed" />;
  }
  return (
    <FailureList
      failures={failures}
      style={{ marginTop: 12 }}
      header={
        <Typography.Text type="danger" strong>
          {t('order.checkFailed', { n: failures.length })}
        </Typography.Text>
      }
    />
  );
}

interface NewCustomerValues {
  name?: string;
  idNumber?: string;
  contactPhone?: string;
  address?: string;
  servicePassword?: string;
}

/** 新客户登记: the customer's basic information (starred fields required) and the service password opening needs. */
function NewCustomerForm({ onCreated }: { onCreated(id: number): void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const required = (key: Parameters<typeof t>[0]) => ({ required: true, whitespace: true, message: t('form.required', { label: t(key) }) });
  const submit = async (v: NewCustomerValues) => {
    setBusy(true);
    setError(null);
    try {
      const c = await createCustomer({
        kind: 'person',
        name: (v.name ?? '').trim(),
        idType: 'resident_id',
        idNumber: (v.idNumber ?? '').trim().toUpperCase(),
        servicePassword: v.servicePassword ?? '',
        ...(v.contactPhone?.trim() ? { contactPhone: v.contactPhone.trim() } : {}),
        ...(v.address?.trim() ? { address: v.address.trim() } : {}),
      });
      onCreated(c.customerId);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Form<NewCustomerValues> name="newCustomer" layout="vertical" onFinish={(v) => void submit(v)} disabled={busy} style={{ maxWidth: 720 }} data-testid="agent-new-customer">
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item name="name" label={t('customer.name')} rules={[required('customer.name')]}>
            <Input maxLength={64} autoComplete="off" autoFocus />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="idNumber" label={t('agent.residentId')} rules={[required('agent.residentId'), { pattern: /^[0-9]{17}[0-9Xx]$/, message: t('form.format', { label: t('agent.residentId') }) }]}>
            <Input maxLength={18} autoComplete="off" className="mono" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="contactPhone" label={t('customer.contactPhone')} rules={[{ pattern: /^[0-9+-]{5,20}$/, message: t('form.format', { label: t('customer.contactPhone') }) }]}>
            <Input maxLength={20} autoComplete="off" inputMode="tel" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="servicePassword" label={t('customer.servicePassword')} extra={t('agent.passwordHint')} rules={[{ required: true, pattern: /^[0-9]{6}$/, message: t('order.passwordFormat') }]}>
            <Input.Password maxLength={6} inputMode="numeric" autoComplete="new-password" />
          </Form.Item>
        </Col>
        <Col xs={24}>
          <Form.Item name="address" label={t('customer.address')}>
            <Input maxLength={200} autoComplete="off" />
          </Form.Item>
        </Col>
      </Row>
      <Button htmlType="submit" icon={<UserAddOutlined />} loading={busy} data-testid="agent-create-customer">
        {t('agent.createCustomer')}
      </Button>
      {error ? <ErrorAlert error={error} style={{ marginTop: 12 }} /> : null}
    </Form>
  );
}

export default function AgentOpen() {
  const { t, lang, label } = useI18n();
  const { session, access } = useSession();
  const [step, setStep] = useState<number>(STEP.customer);
  const [customerTab, setCustomerTab] = useState<'find' | 'new'>('find');
  const [customerId, setCustomerId] = useState<number | null>(null);
  const [customer, setCustomer] = useState<CustomerOverview | null>(null);
  const [documents, setDocuments] = useState<DocumentsValues>({ presenter: 'owner', ownerIdOriginal: true });
  const [number, setNumber] = useState<string | undefined>(undefined);
  const [plan, setPlan] = useState<Plan>({ accountMode: 'new' });
  const [card, setCard] = useState<{ iccid: string; blank: boolean } | null>(null);
  const [order, setOrder] = useState<OrderView | null>(null);
  const [written, setWritten] = useState<{ iccid: string; imsi: string | null } | null>(null);
  const [readerState, setReaderState] = useState<ReaderState>({ kind: 'idle' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [picked, setPicked] = useState<StockCard[]>([]);
  const [, setTick] = useState(0);
  const refresh = useCallback(() => setTick((n) => n + 1), []);
  const [docForm] = Form.useForm<{ documents: DocumentsValues }>();
  const [numberForm] = Form.useForm<{ serviceNumber?: string }>();
  const [planForm] = Form.useForm<Plan>();
  const nextRef = useRef<HTMLButtonElement>(null);
  const channel = session?.operator.departmentId;

  useEffect(() => {
    if (!customerId) return;
    let live = true;
    customerOverview(customerId)
      .then((c) => live && setCustomer(c))
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [customerId]);

  // the simulator offers the blank cards this channel picked and has not used yet
  useEffect(() => {
    if (!channel) return;
    let live = true;
    stock
      .cards({ state: 'picked', channelDepartmentId: channel, limit: 100 })
      .then((r) => live && setPicked(r))
      .catch(() => live && setPicked([]));
    return () => {
      live = false;
    };
  }, [channel, written]);

  /** Runs one server call of the wizard: busy while it runs, its error shown. */
  const run = useCallback(async <T,>(f: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await f();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);

  const body = useMemo(
    () => (iccid: string) => ({
      businessType: 'OPEN_ACCOUNT',
      customerId: customer?.customer.customerId ?? 0,
      documents: documentsBody(documents),
      ...(plan.accountMode === 'existing' && plan.accountId ? { accountId: plan.accountId } : { newAccount: { billingType: 'virtual', paymentMethod: 'cash' } }),
      members: [{ role: 'main', network: NETWORK, serviceNumber: number ?? '', iccid, planCode: plan.planCode, ...(plan.packs?.length ? { packs: plan.packs } : {}) }],
    }),
    [customer, documents, plan, number],
  );

  /** ④ 读卡: the reader reads the inserted card; a blank card goes on the order, which is checked. */
  const readCard = async () => {
    setError(null);
    setReaderState({ kind: 'busy', what: t('agent.reading') });
    let got: { iccid: string; blank: boolean };
    try {
      await reader.connect();
      got = await reader.readCard();
    } catch (e) {
      const m = readerMessage(e, lang);
      setReaderState(m ? { kind: 'error', code: m.code, text: m.text } : { kind: 'error', code: 'READER', text: String(e) });
      refresh();
      return;
    }
    refresh();
    setCard(got);
    if (!got.blank) {
      setReaderState({ kind: 'error', code: 'CARD_NOT_BLANK', text: t('agent.fail.CARD_NOT_BLANK') });
      return;
    }
    setReaderState({ kind: 'ok', text: t('agent.readOk', { iccid: got.iccid }) });
    setWritten(null);
    const o = await run(async () => {
      const b = body(got.iccid);
      const saved = order && ['draft', 'checked', 'quoted'].includes(order.status) ? await api.updateOrder(order.orderId, b) : await api.createOrder(b);
      return api.checkOrder(saved.orderId);
    });
    if (o) setOrder(o);
  };

  /** ⑤ 写卡: the script for this card and number, written by the reader, the result reported either way. */
  const writeCard = async () => {
    if (!order || !card) return;
    setError(null);
    setReaderState({ kind: 'busy', what: t('agent.writing') });
    const issued = await run(() => stock.issueCardWrite(order.orderId, card.iccid));
    if (!issued) {
      setReaderState({ kind: 'idle' });
      return;
    }
    let failure: { code: string; text: string } | null = null;
    try {
      if (!reader.ready) await reader.connect();
      await reader.writeCard(issued.script);
    } catch (e) {
      failure = readerMessage(e, lang) ?? { code: 'READER', text: String(e) };
    }
    refresh();
    const reported = await run(() => stock.reportCardWrite(issued.writeId, failure ? { success: false, errorCode: failure.code } : { success: true }));
    if (failure) {
      setReaderState({ kind: 'error', code: failure.code, text: failure.text });
      return;
    }
    if (reported) {
      setWritten({ iccid: reported.card?.iccid ?? card.iccid, imsi: reported.card?.imsi ?? null });
      setReaderState({ kind: 'ok', text: t('agent.writeOk', { iccid: card.iccid, number: issued.serviceNumber }) });
      // the written card on the order: checked again, now with nothing left to write
      const o = await run(() => api.checkOrder(order.orderId));
      if (o) setOrder(o);
      window.setTimeout(() => nextRef.current?.focus(), 0);
    }
  };

  const toQuote = async () => {
    if (!order) return;
    const o = await run(() => api.quoteOrder(order.orderId, []));
    if (o) {
      setOrder(o);
      setStep(STEP.quote);
    }
  };
  const quote = async (w: Waiver[]) => {
    if (!order) return;
    const o = await run(() => api.quoteOrder(order.orderId, w));
    if (o) setOrder(o);
  };
  const submit = async () => {
    if (!order) return;
    const o = await run(() => api.submitOrder(order.orderId));
    if (o) setOrder(o);
  };

  const finished = order !== null && !['draft', 'checked', 'quoted'].includes(order.status);
  const checked = order?.status === 'checked' || order?.status === 'quoted';
  const readyToWrite = order !== null && order.checks !== null && blocking(order, true).length === 0;
  const steps = (['customer', 'number', 'plan', 'read', 'write', 'quote', 'receipt', 'submit'] as const).map((k) => ({ title: t(`agent.step.${k}`) }));
  const back = (to: number) => (
    <Button icon={<ArrowLeftOutlined />} onClick={() => setStep(to)} disabled={busy}>
      {t('order.prev')}
    </Button>
  );
  /** 上一步 and the submit button of a step's form. */
  const formNav = (prev: number) => (
    <Space>
      {back(prev)}
      <Button type="primary" htmlType="submit" icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="agent-next">
        {t('order.next')}
      </Button>
    </Space>
  );

  let content: ReactNode = null;
  if (finished && order) {
    content = <OrderResult order={order} busy={busy} onConfirm={() => undefined} />;
  } else if (step === STEP.customer) {
    content = (
      <Card data-testid="agent-customer">
        {customer ? (
          <Space orientation="vertical" style={{ width: '100%' }}>
            <CustomerCard c={customer} />
            <Button
              size="small"
              icon={<EditOutlined />}
              onClick={() => {
                setCustomer(null);
                setCustomerId(null);
              }}
            >
              {t('agent.otherCustomer')}
            </Button>
          </Space>
        ) : (
          <Tabs
            activeKey={customerTab}
            onChange={(k) => setCustomerTab(k as 'find' | 'new')}
            items={[
              {
                key: 'find',
                label: (
                  <span>
                    <UserOutlined /> {t('agent.findCustomer')}
                  </span>
                ),
                children: <CustomerSearch onPick={setCustomerId} />,
              },
              {
                key: 'new',
                label: (
                  <span>
                    <UserAddOutlined /> {t('agent.newCustomer')}
                  </span>
                ),
                children: <NewCustomerForm onCreated={setCustomerId} />,
              },
            ]}
          />
        )}
        <Form form={docForm} name="customer" layout="vertical" style={{ marginTop: 16 }} initialValues={{ documents }} onFinish={(v) => {
          setDocuments(v.documents);
          setStep(STEP.number);
        }}>
          {customer ? <DocumentsFields prefix={['documents']} customerKind={customer.customer.kind} /> : null}
          <Button type="primary" htmlType="submit" disabled={!customer} icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="agent-next">
            {t('order.next')}
          </Button>
        </Form>
      </Card>
    );
  } else if (step === STEP.number) {
    content = (
      <Card data-testid="agent-number">
        <Form
          form={numberForm}
          name="number"
          layout="vertical"
          initialValues={{ serviceNumber: number }}
          onFinish={(v) => {
            setNumber(v.serviceNumber);
            setStep(STEP.plan);
          }}
          style={{ maxWidth: 560 }}
        >
          <Form.Item name="serviceNumber" label={t('field.serviceNumber')} extra={t('agent.numberHint')} rules={[{ required: true, message: t('form.required', { label: t('field.serviceNumber') }) }]}>
            <NumberPicker autoFocus />
          </Form.Item>
          {formNav(STEP.customer)}
        </Form>
      </Card>
    );
  } else if (step === STEP.plan) {
    content = (
      <Card data-testid="agent-plan">
        <Form<Plan>
          form={planForm}
          name="plan"
          layout="vertical"
          initialValues={plan}
          onFinish={(v) => {
            setPlan(v);
            setStep(STEP.read);
          }}
          style={{ maxWidth: 640 }}
        >
          <Form.Item name="planCode" label={t('field.planCode')} rules={[{ required: true, message: t('form.required', { label: t('field.planCode') }) }]}>
            <OfferSelect kinds={['plan']} network={NETWORK} autoFocus />
          </Form.Item>
          <Form.Item name="packs" label={t('field.packs')}>
            <OfferSelect kinds={['pack']} network={NETWORK} multiple />
          </Form.Item>
          <Form.Item name="accountMode" label={t('order.account')}>
            <Radio.Group
              optionType="button"
              options={[
                { value: 'new', label: t('agent.accountNew') },
                { value: 'existing', label: t('order.accountExisting'), disabled: !customer?.accounts.some((a) => a.status === 'active') },
              ]}
            />
          </Form.Item>
          <Form.Item noStyle shouldUpdate={(a, b) => a.accountMode !== b.accountMode}>
            {({ getFieldValue }) =>
              getFieldValue('accountMode') === 'existing' ? (
                <Form.Item name="accountId" label={t('field.accountId')} rules={[{ required: true, message: t('form.required', { label: t('field.accountId') }) }]}>
                  <AccountSelect accounts={(customer?.accounts ?? []).filter((a) => a.status === 'active')} />
                </Form.Item>
              ) : null
            }
          </Form.Item>
          {formNav(STEP.number)}
        </Form>
      </Card>
    );
  } else if (step === STEP.read) {
    content = (
      <Card data-testid="agent-read">
        <Typography.Paragraph>{t('agent.readHint')}</Typography.Paragraph>
        <Space>
          {back(STEP.plan)}
          <Button type="primary" icon={<CreditCardOutlined />} onClick={() => void readCard()} loading={busy} data-testid="read-card" autoFocus>
            {t('agent.readCard')}
          </Button>
          <Button type="primary" disabled={!readyToWrite || busy || !card?.blank} onClick={() => setStep(STEP.write)} icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="agent-to-write" ref={nextRef}>
            {t('agent.toWrite')}
          </Button>
        </Space>
        <ReaderStatus s={readerState} />
        {card ? (
          <Descriptions
            size="small"
            bordered
            column={{ xs: 1, md: 3 }}
            style={{ marginTop: 12 }}
            data-testid="agent-card"
            items={[
              { key: 'iccid', label: 'ICCID', children: <span className="mono">{card.iccid}</span> },
              { key: 'blank', label: t('agent.cardKind'), children: card.blank ? <Tag color="green">{t('agent.sim.blank')}</Tag> : <Tag color="red">{t('agent.sim.written')}</Tag> },
              { key: 'order', label: t('agent.order'), children: order ? t('order.number', { id: order.orderId }) : '—' },
            ]}
          />
        ) : null}
        {order && card?.blank ? <Checks order={order} beforeWrite /> : null}
      </Card>
    );
  } else if (step === STEP.write && order && card) {
    content = (
      <Card data-testid="agent-write">
        <Descriptions
          size="small"
          bordered
          column={{ xs: 1, md: 3 }}
          style={{ marginBottom: 12 }}
          items={[
            { key: 'iccid', label: 'ICCID', children: <span className="mono">{card.iccid}</span> },
            { key: 'number', label: t('field.serviceNumber'), children: <span className="mono">{number}</span> },
            { key: 'imsi', label: 'IMSI', children: written?.imsi ? <span className="mono">{written.imsi}</span> : '—' },
          ]}
        />
        <Typography.Paragraph>{t('agent.writeHint')}</Typography.Paragraph>
        <Space wrap>
          {back(STEP.read)}
          <Button type="primary" icon={<CreditCardOutlined />} onClick={() => void writeCard()} loading={busy} disabled={written !== null} data-testid="write-card" autoFocus>
            {t('agent.writeCard')}
          </Button>
          <Button type="primary" ref={nextRef} disabled={written === null || !checked || busy} onClick={() => void toQuote()} icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="agent-to-quote">
            {t('order.toQuote')}
          </Button>
        </Space>
        <ReaderStatus s={readerState} />
        {written ? (
          <>
            <Result status="success" icon={<CheckCircleOutlined />} title={t('agent.written')} subTitle={t('agent.writtenHint')} style={{ padding: '16px 0' }} />
            <Checks order={order} beforeWrite={false} />
          </>
        ) : null}
      </Card>
    );
  } else if (step === STEP.quote && order) {
    content = <QuoteStep order={order} canWaive={access.waive} busy={busy} onQuote={(w) => void quote(w)} onBack={() => setStep(STEP.write)} onNext={() => setStep(STEP.receipt)} />;
  } else if (step === STEP.receipt && order) {
    content = <ReceiptStep orderId={order.orderId} version={`${order.status}:${order.payableFen}:${order.waivedFen}`} onBack={() => setStep(STEP.quote)} onNext={() => setStep(STEP.submit)} />;
  } else if (step === STEP.submit && order) {
    content = <SubmitStep order={order} busy={busy} onSubmit={() => void submit()} onBack={() => setStep(STEP.receipt)} />;
  } else {
    content = <Skeleton active />;
  }

  const showReader = !finished && (step === STEP.read || step === STEP.write);
  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }} data-testid="agent-wizard">
      <Card
        title={
          <Space wrap>
            {t('agent.title')}
            {customer ? <Typography.Text type="secondary">{customer.customer.name}</Typography.Text> : null}
            {number ? <Tag className="mono">{number}</Tag> : null}
            {order ? (
              <Tag data-testid="order-status">
                {t('order.number', { id: order.orderId })} · {label('orderStatus', order.status)}
              </Tag>
            ) : null}
          </Space>
        }
        extra={
          order ? (
            <Typography.Link href={`/orders/${order.orderId}`} target="_blank">
              <LinkOutlined /> {t('agent.openOrder')}
            </Typography.Link>
          ) : null
        }
      >
        <Steps current={finished ? STEP.submit : step} items={steps} size="small" status={order?.status === 'cancelled' ? 'error' : finished ? 'finish' : 'process'} />
      </Card>
      {error ? <ErrorAlert error={error} /> : null}
      <Row gutter={16}>
        <Col xs={24} xl={showReader ? 16 : 24}>
          {content}
        </Col>
        {showReader ? (
          <Col xs={24} xl={8}>
            <SimulatorPanel reader={reader} cards={picked} onChange={refresh} />
            {picked.length === 0 ? <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>{t('agent.noPicked')}</Typography.Paragraph> : null}
            <Typography.Paragraph type="secondary" style={{ marginTop: 8, fontSize: 12 }}>
              {t('agent.chipHint')}
            </Typography.Paragraph>
          </Col>
        ) : null}
      </Row>
    </Space>
  );
}
