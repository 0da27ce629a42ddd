// What the bundle screens share (SPEC §8): the bundle's state, a grant month's status with the reason
// it was skipped, the members with their roles, the grant items a bundle type gives each month
// (R-BND-6) and a bundle's card (members, grants per month, family numbers) for the customer 360 and
// the unbind query.
import { Card, Descriptions, List, Space, Table, type TableColumnsType, Tag, Typography } from 'antd';
import type { ReactNode } from 'react';
import { Money } from '../../components/Money.tsx';
import { useI18n } from '../../locales/index.tsx';
import type { BundleGrantMonth, BundleMember, BundleView, FamilyNumber, GrantItem, GrantSkipReason } from '../../services/bundles.ts';
import { formatFen } from '../../utils/money.ts';
import { businessDate, formatTime } from '../../utils/time.ts';
import { STATUS_COLOR } from '../Customer/index.tsx';
import { useOffers } from '../Order/pickers.tsx';

/** The 1st of the month after a business date "2026-11-23" → "2026-12-01". */
export function firstOfNextMonth(date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}

/** A bundle type by its name (the catalog's), with its code. */
export function OfferName({ code }: { code: string }) {
  const { pick } = useI18n();
  const offer = useOffers().find((o) => o.offerCode === code);
  return (
    <span style={{ whiteSpace: 'nowrap' }}>
      {offer ? `${pick(offer.name)} ` : null}
      <Typography.Text type="secondary" className="mono">
        {code}
      </Typography.Text>
    </span>
  );
}

export function BundleStatusTag({ status }: { status: BundleView['status'] }) {
  const { label } = useI18n();
  return <Tag color={status === 'active' ? 'green' : 'default'}>{label('bundleStatus', status)}</Tag>;
}

/** Granted (with a catch-up mark, R-BND-8), or skipped with its reason in words. */
export function GrantStatus({ status, reason, caughtUp }: { status: BundleGrantMonth['status']; reason: GrantSkipReason | null; caughtUp: boolean }) {
  const { t, label } = useI18n();
  return (
    <Space size={4} wrap>
      <Tag color={status === 'granted' ? 'green' : 'orange'}>{label('grantStatus', status)}</Tag>
      {caughtUp ? <Tag color="cyan">{t('bundle.caughtUp')}</Tag> : null}
      {status === 'skipped' && reason ? <Typography.Text type="secondary">{label('grantReason', reason)}</Typography.Text> : null}
    </Space>
  );
}

/** One grant item: what (credit with its amount, or a pack) and to which member. */
export function GrantItemText({ item }: { item: GrantItem }) {
  const { t, pick, label } = useI18n();
  return (
    <span>
      <Tag color={item.kind === 'money' ? 'gold' : 'blue'}>{label('grantKind', item.kind)}</Tag>
      {pick(item.name)}
      {item.kind === 'money' && item.amountFen !== null ? <Typography.Text strong> {formatFen(item.amountFen)}</Typography.Text> : null}
      <Typography.Text type="secondary"> · {t('bundle.grantTo', { role: label('role', item.role) })}</Typography.Text>
    </span>
  );
}

/** R-BND-6: what the bundle will grant every month from the 1st of next month. */
export function GrantPreview({ items, from }: { items: GrantItem[]; from: string | null }) {
  const { t } = useI18n();
  return (
    <List
      size="small"
      bordered
      data-testid="bundle-grant-preview"
      style={{ marginBottom: 16, maxWidth: 720 }}
      header={
        <Space orientation="vertical" size={0}>
          <Typography.Text strong>{t('bundle.grantPreview', { date: from ?? '…' })}</Typography.Text>
          <Typography.Text type="secondary">{t('bundle.grantPreviewHint')}</Typography.Text>
        </Space>
      }
      locale={{ emptyText: t('bundle.noGrantItems') }}
      dataSource={items}
      renderItem={(i) => (
        <List.Item>
          <GrantItemText item={i} />
        </List.Item>
      )}
    />
  );
}

export function MembersTable({ members, extra }: { members: BundleMember[]; extra?: TableColumnsType<BundleMember> }) {
  const { t, label } = useI18n();
  const columns: TableColumnsType<BundleMember> = [
    { title: t('bundle.role'), dataIndex: 'role', render: (v: string) => label('role', v) },
    { title: t('subscriber.serviceNumber'), dataIndex: 'serviceNumber', render: (v: string) => <Typography.Text strong className="mono">{v}</Typography.Text> },
    { title: t('subscriber.network'), dataIndex: 'network', render: (v: string) => label('network', v) },
    { title: t('subscriber.status'), dataIndex: 'status', render: (v: string) => <Tag color={STATUS_COLOR[v] ?? 'default'}>{label('subStatus', v)}</Tag> },
    { title: t('subscriber.account'), dataIndex: 'accountId', render: (v: number) => t('account.title', { id: v }) },
    ...(extra ?? []),
  ];
  return <Table<BundleMember> rowKey="subscriberId" size="small" columns={columns} dataSource={members} pagination={false} />;
}

function GrantMonths({ grants }: { grants: BundleGrantMonth[] }) {
  const { t } = useI18n();
  const columns: TableColumnsType<BundleGrantMonth> = [
    { title: t('bundle.cycle'), dataIndex: 'cycle', width: 100 },
    { title: t('grants.status'), key: 'status', render: (_: unknown, g) => <GrantStatus status={g.status} reason={g.reason} caughtUp={g.caughtUp} /> },
    { title: t('bundle.amount'), dataIndex: 'amountFen', align: 'right', render: (v: number) => <Money fen={v} /> },
    { title: t('bundle.grantedAt'), dataIndex: 'grantedAt', render: (v: string | null) => formatTime(v) || '—' },
  ];
  return <Table<BundleGrantMonth> rowKey="cycle" size="small" columns={columns} dataSource={grants} pagination={false} locale={{ emptyText: t('bundle.noGrants') }} data-testid="bundle-grants" />;
}

/** R-BND-9: the pairs of family numbers, one row per line and month. */
function FamilyNumbers({ rows, numbers }: { rows: FamilyNumber[]; numbers: ReadonlyMap<number, string> }) {
  const { t } = useI18n();
  const columns: TableColumnsType<FamilyNumber> = [
    { title: t('bundle.familyMonth'), key: 'month', width: 100, render: (_: unknown, f) => businessDate(f.validFrom).slice(0, 7) },
    { title: t('subscriber.serviceNumber'), dataIndex: 'subscriberId', render: (v: number) => <span className="mono">{numbers.get(v) ?? `#${v}`}</span> },
    { title: t('bundle.familyNumber'), dataIndex: 'familyNumber', render: (v: string) => <span className="mono">{v}</span> },
    { title: t('book.startAt'), dataIndex: 'validFrom', render: (v: string) => businessDate(v) },
    { title: t('book.expiryAt'), dataIndex: 'validTo', render: (v: string) => businessDate(v) },
  ];
  return (
    <Table<FamilyNumber>
      rowKey={(f) => `${f.subscriberId}:${f.familyNumber}:${f.validFrom}`}
      size="small"
      columns={columns}
      dataSource={rows}
      pagination={false}
      locale={{ emptyText: t('bundle.noFamily') }}
      data-testid="bundle-family"
    />
  );
}

/** A bundle: its type and state, the members, and (the 360) the grants per month and the family numbers. */
export function BundleCard({ b, full = true, extra, memberColumns }: { b: BundleView; full?: boolean; extra?: ReactNode; memberColumns?: TableColumnsType<BundleMember> }) {
  const { t, pick, label } = useI18n();
  const numbers = new Map(b.members.map((m) => [m.subscriberId, m.serviceNumber]));
  return (
    <Card
      size="small"
      type="inner"
      style={{ marginTop: 12 }}
      data-testid={`bundle-${b.packageId}`}
      title={
        <Space wrap>
          {t('bundle.titleOf', { name: pick(b.name), id: b.packageId })}
          <Tag>{label('bundleGeneration', b.generation)}</Tag>
          <BundleStatusTag status={b.status} />
        </Space>
      }
      extra={extra}
    >
      <Descriptions
        size="small"
        column={{ xs: 1, md: 3 }}
        items={[
          { key: 'offer', label: t('bundle.offer'), children: <span className="mono">{b.offerCode}</span> },
          { key: 'start', label: t('bundle.startedAt'), children: formatTime(b.startedAt) },
          { key: 'end', label: t('bundle.endedAt'), children: formatTime(b.endedAt) || '—' },
        ]}
      />
      <Typography.Title level={5}>{t('bundle.members')}</Typography.Title>
      <MembersTable members={b.members} extra={memberColumns} />
      {full ? (
        <>
          <Typography.Title level={5} style={{ marginTop: 16 }}>
            {t('bundle.grants')}
          </Typography.Title>
          <GrantMonths grants={b.grants} />
          <Typography.Title level={5} style={{ marginTop: 16 }}>
            {t('bundle.family')}
          </Typography.Title>
          <FamilyNumbers rows={b.familyNumbers} numbers={numbers} />
        </>
      ) : null}
    </Card>
  );
}
