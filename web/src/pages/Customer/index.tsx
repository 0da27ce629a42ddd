// 客户视图 (customer 360, SPEC §11): the customer (masked unless the API returns it whole), money
// at a glance, subscribers with activation time, status and subscribed products with their monthly
// fees, per account its books, arrears, open bills and latest write-off lines, and the order history
// with the SMS confirmation results. "办理业务" opens the order wizard for the customer or a subscriber.
import { ArrowLeftOutlined, FormOutlined, PayCircleOutlined, ReloadOutlined } from '@ant-design/icons';
import { Button, Card, Col, Descriptions, Empty, Row, Skeleton, Space, Statistic, Table, type TableColumnsType, Tabs, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useBusinessTypes } from '../../components/useBusinessTypes.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Money } from '../../components/Money.tsx';
import { useReference } from '../../components/useReference.ts';
import { useI18n } from '../../locales/index.tsx';
import { customerOverview } from '../../services/frontdesk.ts';
import type { CustomerOverview, OverviewAccount, OverviewBill } from '../../services/types.ts';
import { useSession } from '../../session.tsx';
import { formatFen } from '../../utils/money.ts';
import { formatTime } from '../../utils/time.ts';
import { AccountBills } from './AccountBills.tsx';
import { AccountCredit } from './AccountCredit.tsx';
import { CustomerBundles } from './CustomerBundles.tsx';
import { OpenBills } from './OpenBills.tsx';
import { SubscriberUsage } from './SubscriberUsage.tsx';

type Book = OverviewAccount['books'][number];
type WriteOff = OverviewAccount['recentWriteOffs'][number];
type Sub = CustomerOverview['subscribers'][number];
type Product = Sub['products'][number];
type Order = CustomerOverview['orders'][number];

const ORDER_COLOR: Record<string, string> = { completed: 'green', submitted: 'blue', awaiting_confirmation: 'gold', cancelled: 'default', draft: 'default', checked: 'cyan', quoted: 'cyan' };

/** Subscribed products: name, kind, monthly fee (a package member: its share), term end. */
function Products({ products }: { products: Product[] }) {
  const { t, pick, label } = useI18n();
  if (products.length === 0) return <Typography.Text type="secondary">—</Typography.Text>;
  return (
    <Space orientation="vertical" size={2}>
      {products.map((p) => (
        <span key={p.subscriberOfferId}>
          <Tag color={p.kind === 'package' ? 'purple' : p.kind === 'plan' ? 'blue' : undefined}>{label('offerKind', p.kind)}</Tag>
          {pick(p.name)}
          {p.memberRole ? <Typography.Text type="secondary">（{label('role', p.memberRole)}）</Typography.Text> : null}
          <Typography.Text type="secondary"> · {t('product.monthly', { fee: formatFen(p.monthlyFeeFen) })}</Typography.Text>
          {p.termEndsAt ? <Typography.Text type="secondary"> · {t('product.termEnds', { date: formatTime(p.termEndsAt).slice(0, 10) })}</Typography.Text> : null}
        </span>
      ))}
    </Space>
  );
}

function OrderHistory({ orders }: { orders: Order[] }) {
  const { t, label } = useI18n();
  const { typeName } = useBusinessTypes();
  const navigate = useNavigate();
  const columns: TableColumnsType<Order> = [
    { title: t('order.no'), dataIndex: 'orderId', width: 110, render: (v: number) => <Link to={`/orders/${v}`}>{t('order.number', { id: v })}</Link> },
    { title: t('order.businessType'), dataIndex: 'businessType', render: (v: string) => typeName(v) },
    { title: t('order.status'), dataIndex: 'status', render: (v: string) => <Tag color={ORDER_COLOR[v] ?? 'default'}>{label('orderStatus', v)}</Tag> },
    { title: t('order.createdAt'), dataIndex: 'createdAt', render: (v: string) => formatTime(v) },
    { title: t('order.completedAt'), key: 'done', render: (_: unknown, o) => formatTime(o.completedAt ?? o.cancelledAt) || '—' },
    {
      title: t('order.confirmation'),
      dataIndex: 'confirmation',
      render: (c: Order['confirmation'], o) =>
        c ? (
          <span>
            <Tag color={c.status === 'confirmed' ? 'green' : c.status === 'pending' ? 'gold' : 'red'}>{label('confirmationStatus', c.status)}</Tag>
            {c.reason ?? (c.status === 'cancelled' ? o.cancelReason : null) ?? ''}
          </span>
        ) : (
          '—'
        ),
    },
  ];
  return (
    <Card title={t('order.history')} style={{ marginTop: 16 }} data-testid="order-history">
      <Table<Order>
        rowKey="orderId"
        size="small"
        columns={columns}
        dataSource={orders}
        pagination={false}
        locale={{ emptyText: t('order.noHistory') }}
        onRow={(o) => ({ onDoubleClick: () => navigate(`/orders/${o.orderId}`) })}
      />
    </Card>
  );
}

export const STATUS_COLOR: Record<string, string> = { normal: 'green', arrears_stop: 'red', bundle_stop: 'red', suspended: 'orange', lost: 'orange', pre_cancelled: 'default', cancelled: 'default' };

function AccountCard({ a, canPay, numbers }: { a: OverviewAccount; canPay: boolean; numbers: ReadonlyMap<number, string> }) {
  const { t, label } = useI18n();
  const { access } = useSession();
  const names = { numbers, books: new Map(a.books.map((b) => [b.bookId, b.bookType])) };
  const { bookTypeName, itemName } = useReference();
  const navigate = useNavigate();

  const bookColumns: TableColumnsType<Book> = [
    { title: t('book.id'), dataIndex: 'bookId', width: 90 },
    { title: t('book.type'), dataIndex: 'bookType', render: (v: string) => bookTypeName(v) },
    { title: t('book.balance'), dataIndex: 'balanceFen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
    { title: t('book.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('book.restrictedItems'), dataIndex: 'restrictedItems', render: (v: string[] | null) => (v ? v.map((i) => <Tag key={i}>{itemName(i)}</Tag>) : '—') },
    { title: t('book.startAt'), dataIndex: 'startAt', render: (v: string) => formatTime(v) },
    { title: t('book.expiryAt'), dataIndex: 'expiryAt', render: (v: string | null) => (v ? formatTime(v) : t('book.noExpiry')) },
    { title: t('book.status'), dataIndex: 'status', render: (v: string) => <Tag color={v === 'usable' ? 'green' : 'default'}>{label('bookStatus', v)}</Tag> },
  ];
  const writeOffColumns: TableColumnsType<WriteOff> = [
    { title: t('writeOff.at'), dataIndex: 'createdAt', render: (v: string) => formatTime(v) },
    { title: t('bill.cycle'), dataIndex: 'cycle', width: 100 },
    { title: t('subscriber.serviceNumber'), dataIndex: 'serviceNumber', render: (v: string) => <span className="mono">{v}</span> },
    { title: t('bill.item'), dataIndex: 'item', render: (v: string) => itemName(v) },
    { title: t('writeOff.book'), key: 'book', render: (_: unknown, w) => `${bookTypeName(w.bookType)} #${w.bookId}` },
    { title: t('writeOff.trigger'), key: 'trigger', render: (_: unknown, w) => `${label('trigger', w.trigger.kind)} #${w.trigger.id}` },
    { title: t('writeOff.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
  ];

  return (
    <Card
      title={
        <Space>
          {t('account.title', { id: a.accountId })}
          <Typography.Text type="secondary">{a.name}</Typography.Text>
          <Tag color={a.status === 'active' ? 'green' : 'default'}>{label('accountStatus', a.status)}</Tag>
        </Space>
      }
      extra={
        canPay && a.status === 'active' ? (
          <Button type="primary" icon={<PayCircleOutlined />} onClick={() => navigate(`/payment?account=${a.accountId}`)}>
            {t('menu.payment')}
          </Button>
        ) : null
      }
      style={{ marginTop: 16 }}
      data-testid={`account-${a.accountId}`}
    >
      <Descriptions
        size="small"
        column={{ xs: 1, md: 2, xl: 4 }}
        items={[
          { key: 'bt', label: t('account.billingType'), children: label('billingType', a.billingType) },
          { key: 'pm', label: t('account.paymentMethod'), children: label('paymentMethod', a.paymentMethod) },
          ...(a.bankName ? [{ key: 'bank', label: t('account.bank'), children: `${a.bankName} ${a.bankAccountNumber ?? ''}` }] : []),
          { key: 'cl', label: t('account.creditLimit'), children: <Money fen={a.creditLimitFen} /> },
          { key: 'ub', label: t('money.usable'), children: <Money fen={a.usableBalanceFen} strong /> },
          { key: 'ar', label: t('money.arrears'), children: <Money fen={a.arrearsFen} owed strong /> },
          { key: 'rt', label: t('money.realtime'), children: <Money fen={a.realtimeBalanceFen} strong /> },
        ]}
      />
      <Tabs
        style={{ marginTop: 8 }}
        defaultActiveKey={a.openBills.length ? 'bills' : 'books'}
        items={[
          {
            key: 'bills',
            label: `${t('account.tab.bills')} (${a.openBills.length})`,
            children: <OpenBills bills={a.openBills as OverviewBill[]} />,
          },
          {
            key: 'history',
            label: t('account.tab.history'),
            children: <AccountBills accountId={a.accountId} names={names} />,
          },
          ...(access.credit ? [{ key: 'credit', label: t('account.tab.credit'), children: <AccountCredit accountId={a.accountId} /> }] : []),
          {
            key: 'books',
            label: `${t('account.tab.books')} (${a.books.length})`,
            children: <Table<Book> rowKey="bookId" size="small" columns={bookColumns} dataSource={a.books} pagination={false} locale={{ emptyText: t('book.none') }} />,
          },
          {
            key: 'writeOffs',
            label: `${t('account.tab.writeOffs')} (${a.recentWriteOffs.length})`,
            children: (
              <>
                <Typography.Paragraph type="secondary">{t('writeOff.recentHint', { n: a.recentWriteOffs.length })}</Typography.Paragraph>
                <Table<WriteOff> rowKey="writeOffId" size="small" columns={writeOffColumns} dataSource={a.recentWriteOffs} pagination={false} locale={{ emptyText: t('writeOff.none') }} />
              </>
            ),
          },
        ]}
      />
    </Card>
  );
}

export default function Customer360() {
  const { t, label } = useI18n();
  const { access } = useSession();
  const navigate = useNavigate();
  const id = Number(useParams().id);
  const [data, setData] = useState<CustomerOverview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let live = true;
    setError(null);
    customerOverview(id)
      .then((d) => live && setData(d))
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [id, attempt]);

  const back = (
    // back to the search results; opened by a link, back to the workbench
    <Button icon={<ArrowLeftOutlined />} onClick={() => ((window.history.state as { idx?: number } | null)?.idx ? navigate(-1) : navigate('/'))}>
      {t('action.back')}
    </Button>
  );
  if (error) {
    return (
      <Space orientation="vertical" style={{ width: '100%' }}>
        {back}
        <ErrorAlert error={error} onRetry={() => setAttempt((n) => n + 1)} />
      </Space>
    );
  }
  if (!data || data.customer.customerId !== id) return <Skeleton active paragraph={{ rows: 12 }} />;

  const c = data.customer;
  const numbers = new Map(data.subscribers.map((s) => [s.subscriberId, s.serviceNumber]));
  const subColumns: TableColumnsType<Sub> = [
    { title: t('subscriber.serviceNumber'), dataIndex: 'serviceNumber', render: (v: string) => <Typography.Text strong className="mono">{v}</Typography.Text> },
    { title: t('subscriber.network'), dataIndex: 'network', render: (v: string) => label('network', v) },
    { title: t('subscriber.status'), dataIndex: 'status', render: (v: string) => <Tag color={STATUS_COLOR[v] ?? 'default'}>{label('subStatus', v)}</Tag> },
    { title: t('subscriber.activatedAt'), dataIndex: 'activatedAt', render: (v: string) => formatTime(v) },
    { title: t('subscriber.account'), dataIndex: 'defaultAccountId', render: (v: number) => t('account.title', { id: v }) },
    { title: t('subscriber.products'), dataIndex: 'products', render: (v: Product[]) => <Products products={v} /> },
    ...(access.orders
      ? [
          {
            title: '',
            key: 'order',
            width: 110,
            render: (_: unknown, s: Sub) => (
              <Button size="small" icon={<FormOutlined />} onClick={() => navigate(`/orders/new?customerId=${id}&subscriberId=${s.subscriberId}`)} aria-label={`${t('order.start')} ${s.serviceNumber}`}>
                {t('order.start')}
              </Button>
            ),
          },
        ]
      : []),
  ];
  const person = (p: { name: string; idNumber: string; phone?: string } | null) => (p ? `${p.name} ${p.idNumber}${p.phone ? ` ${p.phone}` : ''}` : '—');

  return (
    <Space orientation="vertical" size={0} style={{ width: '100%' }}>
      <Space style={{ marginBottom: 16 }} wrap>
        {back}
        <Typography.Title level={3} style={{ margin: 0 }}>
          {c.name}
        </Typography.Title>
        <Tag color={c.kind === 'organisation' ? 'purple' : 'blue'}>{label('kind', c.kind)}</Tag>
        {c.vipLevel !== 'none' ? <Tag color="gold">{label('vip', c.vipLevel)}</Tag> : null}
        <Tag color={c.masked ? 'default' : 'orange'}>{c.masked ? t('customer.masked') : t('customer.whole')}</Tag>
        <Button icon={<ReloadOutlined />} onClick={() => setAttempt((n) => n + 1)} aria-label={t('action.refresh')} />
        {access.orders ? (
          <Button type="primary" icon={<FormOutlined />} onClick={() => navigate(`/orders/new?customerId=${id}`)} data-testid="customer-new-order">
            {t('order.start')}
          </Button>
        ) : null}
      </Space>

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={16}>
          <Card title={t('customer.title')} style={{ height: '100%' }}>
            <Descriptions
              size="small"
              column={{ xs: 1, md: 2 }}
              items={[
                { key: 'id', label: t('customer.id'), children: c.customerId },
                { key: 'idType', label: t('customer.idType'), children: label('idType', c.idType) },
                { key: 'idNumber', label: t('customer.idNumber'), children: <span className="mono">{c.idNumber}</span> },
                { key: 'phone', label: t('customer.contactPhone'), children: <span className="mono">{c.contactPhone ?? '—'}</span> },
                { key: 'segment', label: t('customer.segment'), children: label('segment', c.segment) },
                { key: 'value', label: t('customer.valueLevel'), children: c.valueLevel },
                { key: 'pw', label: t('customer.servicePassword'), children: c.hasServicePassword ? t('customer.passwordSet') : t('customer.passwordNotSet') },
                { key: 'created', label: t('customer.createdAt'), children: formatTime(c.createdAt) },
                ...(c.kind === 'organisation'
                  ? [
                      { key: 'handler', label: t('customer.handler'), children: person(c.handler) },
                      { key: 'contact', label: t('customer.contact'), children: person(c.contact) },
                    ]
                  : []),
                { key: 'address', label: t('customer.address'), children: c.address ?? '—', span: 'filled' as const },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Row gutter={[16, 16]} style={{ height: '100%' }}>
            {[
              { key: 'accounts', title: t('summary.accounts'), value: String(data.summary.accounts) },
              { key: 'subscribers', title: t('summary.subscribers'), value: String(data.summary.subscribers) },
              { key: 'usable', title: t('money.usable'), value: formatFen(data.summary.usableBalanceFen) },
              { key: 'arrears', title: t('money.arrears'), value: formatFen(data.summary.arrearsFen), danger: data.summary.arrearsFen > 0 },
            ].map((s) => (
              <Col key={s.key} span={12}>
                <Card size="small" style={{ height: '100%' }}>
                  <Statistic title={s.title} value={s.value} styles={{ content: s.danger ? { color: '#cf1322' } : {} }} />
                </Card>
              </Col>
            ))}
          </Row>
        </Col>
      </Row>

      <Card title={t('subscriber.title')} style={{ marginTop: 16 }}>
        <Table<Sub> rowKey="subscriberId" size="small" columns={subColumns} dataSource={data.subscribers} pagination={false} locale={{ emptyText: t('subscriber.none') }} />
      </Card>
      {access.usage && data.subscribers.length ? <SubscriberUsage subscribers={data.subscribers} /> : null}
      {access.bundles ? <CustomerBundles customerId={id} version={attempt} /> : null}

      {access.accounts && data.accounts.length === 0 ? (
        <Card style={{ marginTop: 16 }}>
          <Empty description={t('account.none')} />
        </Card>
      ) : null}
      {data.accounts.map((a) => (
        <AccountCard key={a.accountId} a={a} canPay={access.payment} numbers={numbers} />
      ))}

      {access.orderRead ? <OrderHistory orders={data.orders} /> : null}
    </Space>
  );
}
