// Pickers the order forms share: a number from the pool (free, ordinary first, with level and
// price — R-X-10), a finished SIM card in stock, offers of the catalog, and the customer's own
// subscribers and accounts (from the customer 360). Each is an antd Select: type to filter, Enter to pick.
import { Select, type SelectProps, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useI18n } from '../../locales/index.tsx';
import { freeNumbers, type OfferInfo, offers as loadOffers, type PoolNumber, type SimCard, stockSims } from '../../services/orders.ts';
import type { CustomerOverview } from '../../services/types.ts';
import { formatFen } from '../../utils/money.ts';

type Common = Pick<SelectProps, 'id' | 'value' | 'onChange' | 'disabled' | 'placeholder' | 'autoFocus' | 'status' | 'style'> & { 'aria-label'?: string };

function useLoad<T>(load: () => Promise<T[]>, deps: unknown[]): { items: T[]; loading: boolean } {
  const [items, setItems] = useState<T[]>([]);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load()
      .then((r) => live && setItems(r))
      .catch(() => live && setItems([]))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, deps); // the caller names what the load depends on
  return { items, loading };
}

/** Catalog offers, loaded once per page. */
let offersP: Promise<OfferInfo[]> | undefined;
export function useOffers(): OfferInfo[] {
  const { items } = useLoad(() => {
    offersP ??= loadOffers();
    offersP.catch(() => (offersP = undefined));
    return offersP;
  }, []);
  return items;
}

const isMobileNet = (n: string | null | undefined) => n === 'gsm2g' || n === 'wcdma3g';

/** A number of the pool: ordinary numbers first; a premium number shows its level, price and that it needs approval. */
export function NumberPicker(props: Common & { onLevel?: (n: PoolNumber | undefined) => void }) {
  const { t, name } = useI18n();
  const { items, loading } = useLoad(() => freeNumbers(), []);
  const { onLevel, onChange, value, ...rest } = props;
  useEffect(() => {
    if (onLevel) onLevel(items.find((n) => n.serviceNumber === value));
  }, [items, value, onLevel]);
  return (
    <Select
      {...rest}
      value={value}
      onChange={onChange}
      loading={loading}
      showSearch={{ optionFilterProp: 'value' }}
      allowClear
      placeholder={props.placeholder ?? t('order.pickNumber')}
      notFoundContent={loading ? undefined : t('order.noNumber')}
      options={items.map((n) => ({
        value: n.serviceNumber,
        label: (
          <span>
            <span className="mono">{n.serviceNumber}</span>{' '}
            <Tag color={n.level && (n.level.priceFen > 0 || n.level.requiresApproval) ? 'gold' : undefined}>{n.level ? name(n.level) : n.levelCode}</Tag>
            <Typography.Text type="secondary">{formatFen(n.level?.priceFen ?? 0)}</Typography.Text>
            {n.level?.requiresApproval ? <Typography.Text type="warning"> · {t('order.needsApproval')}</Typography.Text> : null}
          </span>
        ),
      }))}
    />
  );
}

/** A finished card in stock; one already written for another number is not offered (SIM_NUMBER_MISMATCH). */
export function SimPicker(props: Common & { serviceNumber?: string | undefined }) {
  const { t } = useI18n();
  const { items, loading } = useLoad(() => stockSims(), []);
  const { serviceNumber, ...rest } = props;
  const usable = items.filter((s: SimCard) => s.serviceNumber === null || s.serviceNumber === serviceNumber);
  return (
    <Select
      {...rest}
      loading={loading}
      showSearch={{ optionFilterProp: 'value' }}
      allowClear
      placeholder={props.placeholder ?? t('order.pickSim')}
      notFoundContent={loading ? undefined : t('order.noSim')}
      options={usable.map((s) => ({
        value: s.iccid,
        label: (
          <span>
            <span className="mono">{s.iccid}</span>
            {s.serviceNumber ? <Tag style={{ marginInlineStart: 8 }}>{s.serviceNumber}</Tag> : null}
          </span>
        ),
      }))}
    />
  );
}

/** Offers of a kind (and network): the name, the monthly fee; packages also their members. */
export function OfferSelect(props: Common & { kinds: OfferInfo['kind'][]; network?: string | undefined; multiple?: boolean }) {
  const { name } = useI18n();
  const all = useOffers();
  const { kinds, network, multiple, ...rest } = props;
  // a plan is for its own network; a feature or pack without one fits any line, a mobile one any mobile line
  const fits = (o: OfferInfo) => !network || o.network === null || o.network === network || (o.kind !== 'plan' && isMobileNet(network) && isMobileNet(o.network));
  const list = all.filter((o) => o.status === 'online' && kinds.includes(o.kind) && fits(o));
  return (
    <Select
      {...rest}
      mode={multiple ? 'multiple' : undefined}
      allowClear
      showSearch={{ optionFilterProp: 'search' }}
      options={list.map((o) => ({ value: o.offerCode, search: `${o.offerCode} ${o.name.zh} ${o.name.en}`, label: `${name({ nameZh: o.name.zh, nameEn: o.name.en })}（${o.offerCode}）${o.monthlyFeeFen ? ` ${formatFen(o.monthlyFeeFen)}` : ''}` }))}
    />
  );
}

type Sub = CustomerOverview['subscribers'][number];

export function SubscriberSelect(props: Common & { subscribers: Sub[]; multiple?: boolean; network?: string }) {
  const { label } = useI18n();
  const { subscribers, multiple, network, ...rest } = props;
  return (
    <Select
      {...rest}
      mode={multiple ? 'multiple' : undefined}
      allowClear
      showSearch={{ optionFilterProp: 'search' }}
      options={subscribers
        .filter((s) => !network || s.network === network)
        .map((s) => ({ value: s.subscriberId, search: `${s.serviceNumber} ${s.subscriberId}`, label: `${s.serviceNumber} · ${label('network', s.network)} · ${label('subStatus', s.status)}` }))}
    />
  );
}

type Acc = CustomerOverview['accounts'][number];

export function AccountSelect(props: Common & { accounts: Acc[] }) {
  const { t, label } = useI18n();
  const { accounts, ...rest } = props;
  return (
    <Select
      {...rest}
      allowClear
      showSearch={{ optionFilterProp: 'search' }}
      options={accounts.map((a) => ({
        value: a.accountId,
        search: `${a.accountId} ${a.name}`,
        label: `${t('account.title', { id: a.accountId })} ${a.name} · ${label('billingType', a.billingType)}${a.status === 'active' ? '' : ` · ${label('accountStatus', a.status)}`}`,
      }))}
    />
  );
}
