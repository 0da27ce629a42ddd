// 缴费: find the account by service number or account number, see its balance and arrears, take a
// payment into a book type (a special fund names the bill items it may pay, R-ACC-12), and see
// what was written off and the balance after. Amounts are typed in yuan and sent as integer fen.
import { PayCircleOutlined, SearchOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Col, Descriptions, Form, Input, type InputRef, Result, Row, Select, Space, Statistic, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useReference } from '../../components/useReference.ts';
import { useI18n } from '../../locales/index.tsx';
import * as fd from '../../services/frontdesk.ts';
import type { Account, Balance, PaymentResult } from '../../services/types.ts';
import { formatFen, yuanToFen } from '../../utils/money.ts';
import { OpenBills } from '../Customer/OpenBills.tsx';

type Mode = 'number' | 'account';
interface Target {
  account: Account;
  balance: Balance;
  /** The number the operator typed, when the account was found by it. */
  serviceNumber?: string;
}
interface FormValues {
  bookType: string;
  amount: string;
  items?: string[];
  /** a special fund private to one subscriber of the account (R-E9-2: the broadband's) */
  subscriberId?: number;
}
interface Done {
  result: PaymentResult;
  before: Balance;
  after: Balance | null;
}

const AMOUNT_ERRORS = { empty: 'payment.amount.empty', format: 'payment.amount.format', zero: 'payment.amount.zero', too_large: 'payment.amount.tooLarge' } as const;

/** A fresh idempotency key (R-ACC-14): the same submission retried is one payment. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `fd-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function Balances({ b }: { b: Balance }) {
  const { t } = useI18n();
  const stat = (title: string, fen: number, danger: boolean) => (
    <Statistic title={title} value={formatFen(fen)} styles={{ content: danger ? { color: '#cf1322' } : {} }} />
  );
  return (
    <Space size={48} wrap>
      {stat(t('money.usable'), b.usableBalanceFen, false)}
      {stat(t('money.arrears'), b.arrearsFen, b.arrearsFen > 0)}
      {stat(t('money.realtime'), b.realtimeBalanceFen, b.realtimeBalanceFen < 0)}
    </Space>
  );
}

function PaymentDone({ done, target, onAgain, onNew }: { done: Done; target: Target; onAgain(): void; onNew(): void }) {
  const { t } = useI18n();
  const { bookTypeName, itemName } = useReference();
  const navigate = useNavigate();
  const lines = new Map(done.before.openBills.flatMap((b) => b.lines.map((l) => [l.lineId, { ...l, cycle: b.cycle }] as const)));
  const rows = done.result.writeOffs.map((w, i) => ({ ...w, key: `${w.lineId}-${w.bookId}-${i}`, line: lines.get(w.lineId) }));
  const written = rows.reduce((s, r) => s + r.amountFen, 0);
  const p = done.result.payment;
  const columns: TableColumnsType<(typeof rows)[number]> = [
    { title: t('bill.cycle'), key: 'cycle', render: (_: unknown, r) => r.line?.cycle ?? '—' },
    { title: t('subscriber.serviceNumber'), key: 'number', render: (_: unknown, r) => <span className="mono">{r.line?.serviceNumber ?? '—'}</span> },
    { title: t('bill.item'), key: 'item', render: (_: unknown, r) => (r.line ? itemName(r.line.item) : `#${r.lineId}`) },
    { title: t('writeOff.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
  ];
  return (
    <Card data-testid="payment-result">
      <Result
        status="success"
        title={t('payment.done', { amount: formatFen(p.amountFen) })}
        subTitle={
          <>
            {t('payment.doneDetail', { id: p.paymentId, account: target.account.accountId, book: bookTypeName(p.bookType) })}
            {done.result.replayed ? <Tag color="orange" style={{ marginInlineStart: 8 }}>{t('payment.replayed')}</Tag> : null}
          </>
        }
        extra={[
          <Button key="again" type="primary" autoFocus onClick={onAgain}>
            {t('payment.again')}
          </Button>,
          <Button key="new" onClick={onNew}>
            {t('payment.newLookup')}
          </Button>,
          <Button key="360" onClick={() => navigate(`/customers/${target.account.customerId}`)}>
            {t('payment.open360')}
          </Button>,
        ]}
      />
      <Typography.Title level={5}>{t('payment.writtenOff', { amount: formatFen(written) })}</Typography.Title>
      {rows.length ? (
        <Table rowKey="key" size="small" columns={columns} dataSource={rows} pagination={false} />
      ) : (
        <Alert type="info" showIcon title={t('payment.nothingWrittenOff')} />
      )}
      <Typography.Title level={5} style={{ marginTop: 24 }}>
        {t('payment.after')}
      </Typography.Title>
      {done.after ? <Balances b={done.after} /> : null}
    </Card>
  );
}

export default function Payment() {
  const { t, label, name } = useI18n();
  const { bookTypes, billItems } = useReference();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const [mode, setMode] = useState<Mode>(params.get('account') ? 'account' : 'number');
  const [text, setText] = useState(params.get('account') ?? params.get('number') ?? '');
  const [target, setTarget] = useState<Target | null>(null);
  const [lookupError, setLookupError] = useState<unknown>(null);
  const [looking, setLooking] = useState(false);
  const [paying, setPaying] = useState(false);
  const [payError, setPayError] = useState<unknown>(null);
  const [done, setDone] = useState<Done | null>(null);
  const [key, setKey] = useState(newKey);
  const [form] = Form.useForm<FormValues>();
  const bookType = Form.useWatch('bookType', form);
  const amount = Form.useWatch('amount', form);
  const searchInput = useRef<InputRef>(null);
  const amountInput = useRef<InputRef>(null);

  const load = useCallback(async (m: Mode, raw: string) => {
    const v = raw.trim();
    if (!v) return;
    setLooking(true);
    setLookupError(null);
    setDone(null);
    setPayError(null);
    try {
      let accountId: number;
      if (m === 'number') accountId = (await fd.subscriberByNumber(v)).defaultAccountId;
      else if (/^\d{1,15}$/.test(v)) accountId = Number(v);
      else throw new Error('not a number');
      const [account, balance] = await Promise.all([fd.account(accountId), fd.balance(accountId)]);
      setTarget({ account, balance, ...(m === 'number' ? { serviceNumber: v } : {}) });
      setKey(newKey());
    } catch (e) {
      setTarget(null);
      setLookupError(e instanceof Error && e.message === 'not a number' ? 'accountFormat' : e);
    } finally {
      setLooking(false);
    }
  }, []);

  // /payment?account=12 (from the customer 360) or ?number=186…
  const initial = params.get('account') ?? params.get('number');
  const initialMode: Mode = params.get('account') ? 'account' : 'number';
  useEffect(() => {
    if (initial) void load(initialMode, initial);
  }, [initial, initialMode, load]);

  useEffect(() => {
    if (target && !done) window.setTimeout(() => amountInput.current?.focus(), 0);
  }, [target, done]);

  const lookup = (v: string) => {
    const value = v.trim();
    if (!value) return;
    setParams(mode === 'account' ? { account: value } : { number: value });
    if (value === initial && mode === initialMode) void load(mode, value);
  };

  const submit = async (v: FormValues) => {
    if (!target) return;
    const parsed = yuanToFen(v.amount);
    if (!parsed.ok) return;
    setPaying(true);
    setPayError(null);
    try {
      const result = await fd.pay(target.account.accountId, {
        amountFen: parsed.fen,
        bookType: v.bookType,
        ...(v.bookType === 'restricted_fund' ? { restrictedItems: v.items ?? [], ...(v.subscriberId ? { subscriberId: v.subscriberId } : {}) } : {}),
        channel: 'front_desk',
        idempotencyKey: key,
      });
      const after = await fd.balance(target.account.accountId).catch(() => null);
      setDone({ result, before: target.balance, after });
      if (after) setTarget({ ...target, balance: after });
    } catch (e) {
      // the key stays: sending the same payment again cannot pay twice (R-ACC-14)
      setPayError(e);
    } finally {
      setPaying(false);
    }
  };

  const again = () => {
    setDone(null);
    form.resetFields();
    setKey(newKey());
  };
  const fresh = () => {
    again();
    setTarget(null);
    setText('');
    setParams({});
    window.setTimeout(() => searchInput.current?.focus(), 0);
  };

  const parsed = typeof amount === 'string' ? yuanToFen(amount) : null;
  const amountRule = {
    validator: (_: unknown, value: string | undefined) => {
      const r = yuanToFen(value ?? '');
      return r.ok ? Promise.resolve() : Promise.reject(new Error(t(AMOUNT_ERRORS[r.reason])));
    },
  };
  const a = target?.account;

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <Card title={t('payment.title')}>
        <Space.Compact style={{ width: '100%', maxWidth: 640 }}>
          <Select<Mode>
            value={mode}
            onChange={setMode}
            style={{ width: 140 }}
            size="large"
            aria-label={t('payment.lookupBy')}
            options={[
              { value: 'number', label: t('payment.byNumber') },
              { value: 'account', label: t('payment.byAccount') },
            ]}
          />
          <Input.Search
            ref={searchInput}
            autoFocus
            size="large"
            allowClear
            value={text}
            onChange={(e) => setText(e.target.value)}
            onSearch={lookup}
            loading={looking}
            maxLength={40}
            placeholder={mode === 'number' ? t('payment.numberPlaceholder') : t('payment.accountPlaceholder')}
            aria-label={mode === 'number' ? t('payment.numberPlaceholder') : t('payment.accountPlaceholder')}
            enterButton={
              <>
                <SearchOutlined /> {t('action.search')}
              </>
            }
          />
        </Space.Compact>
        {lookupError === 'accountFormat' ? (
          <Alert type="error" showIcon role="alert" title={t('payment.accountFormat')} style={{ marginTop: 16 }} />
        ) : lookupError ? (
          <ErrorAlert error={lookupError} style={{ marginTop: 16 }} />
        ) : null}
      </Card>

      {target && a ? (
        <Row gutter={[16, 16]} align="top">
          <Col xs={24} xl={14}>
            <Card
              title={
                <Space>
                  {t('account.title', { id: a.accountId })}
                  <Typography.Text type="secondary">{a.name}</Typography.Text>
                  <Tag color={a.status === 'active' ? 'green' : 'default'}>{label('accountStatus', a.status)}</Tag>
                </Space>
              }
              extra={<Button onClick={() => navigate(`/customers/${a.customerId}`)}>{t('payment.open360')}</Button>}
              data-testid="payment-account"
            >
              <Descriptions
                size="small"
                column={{ xs: 1, md: 2 }}
                items={[
                  { key: 'bt', label: t('account.billingType'), children: label('billingType', a.billingType) },
                  { key: 'pm', label: t('account.paymentMethod'), children: label('paymentMethod', a.paymentMethod) },
                  {
                    key: 'subs',
                    label: t('payment.subscribers'),
                    children: a.subscribers.length
                      ? a.subscribers.map((s) => (
                          <Tag key={s.subscriberId} color={s.serviceNumber === target.serviceNumber ? 'blue' : undefined}>
                            {s.serviceNumber} · {label('network', s.network)}
                          </Tag>
                        ))
                      : '—',
                  },
                ]}
              />
              <div style={{ margin: '16px 0' }}>
                <Balances b={target.balance} />
              </div>
              {target.balance.openBills.length ? <OpenBills bills={target.balance.openBills} expandAll={false} /> : <Alert type="success" showIcon title={t('payment.noArrears')} />}
            </Card>
          </Col>
          <Col xs={24} xl={10}>
            {done ? (
              <PaymentDone done={done} target={target} onAgain={again} onNew={fresh} />
            ) : (
              <Card title={t('payment.form')}>
                <Form<FormValues>
                  form={form}
                  layout="vertical"
                  initialValues={{ bookType: 'cash', amount: '' }}
                  onValuesChange={() => setKey(newKey())}
                  onFinish={submit}
                  disabled={paying || a.status !== 'active'}
                >
                  <Form.Item name="amount" label={t('payment.amount')} rules={[amountRule]} validateTrigger="onSubmit" extra={parsed?.ok ? t('payment.amountFen', { fen: parsed.fen }) : undefined}>
                    <Input ref={amountInput} prefix="¥" suffix={t('payment.yuan')} inputMode="decimal" autoComplete="off" size="large" maxLength={16} />
                  </Form.Item>
                  <Form.Item name="bookType" label={t('payment.bookType')} rules={[{ required: true }]}>
                    <Select showSearch={{ optionFilterProp: 'label' }} options={bookTypes.map((b) => ({ value: b.code, label: name(b) }))} />
                  </Form.Item>
                  {bookType === 'restricted_fund' ? (
                    <>
                      <Form.Item name="items" label={t('payment.items')} rules={[{ required: true, type: 'array', min: 1, message: t('payment.itemsRequired') }]} extra={t('payment.itemsHint')}>
                        <Select mode="multiple" showSearch={{ optionFilterProp: 'label' }} options={billItems.map((i) => ({ value: i.code, label: name(i) }))} />
                      </Form.Item>
                      <Form.Item name="subscriberId" label={t('payment.fundSubscriber')} extra={t('payment.fundSubscriberHint')}>
                        <Select
                          allowClear
                          showSearch={{ optionFilterProp: 'label' }}
                          options={a.subscribers.map((x) => ({ value: x.subscriberId, label: `${x.serviceNumber} · ${label('network', x.network)}` }))}
                        />
                      </Form.Item>
                    </>
                  ) : null}
                  {parsed?.ok ? (
                    <Alert
                      type="info"
                      showIcon
                      style={{ marginBottom: 16 }}
                      title={t('payment.preview', { amount: formatFen(parsed.fen), account: a.accountId, book: name(bookTypes.find((b) => b.code === bookType) ?? { nameZh: bookType ?? '', nameEn: bookType ?? '' }) })}
                      description={target.balance.arrearsFen > 0 ? t('payment.previewArrears', { arrears: formatFen(target.balance.arrearsFen) }) : t('payment.previewNoArrears')}
                    />
                  ) : null}
                  {payError ? <ErrorAlert error={payError} style={{ marginBottom: 16 }} /> : null}
                  <Button type="primary" htmlType="submit" size="large" block icon={<PayCircleOutlined />} loading={paying}>
                    {t('payment.submit')}
                  </Button>
                </Form>
              </Card>
            )}
          </Col>
        </Row>
      ) : null}
    </Space>
  );
}
