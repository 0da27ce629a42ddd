// What the stock pages share: the operator's warehouses and social channels, card type and
// selection fields (quantity, ICCID list, ICCID range), the stock document table with its actions,
// and the error of a refused stock call with the cards it names (e.g. 卡库位不一致).
import { Alert, App, Button, Form, Input, InputNumber, Radio, Select, type SelectProps, Space, Table, type TableColumnsType, Tag, Typography } from 'antd';
import { type CSSProperties, useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import { ApiError } from '../../services/api.ts';
import * as stock from '../../services/stock.ts';
import type { CardType, Channel, DocAction, Selection, StockDocument, Warehouse } from '../../services/stock.ts';
import { formatTime } from '../../utils/time.ts';

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: unknown; loading: boolean; reload(): void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    load()
      .then((r) => live && setData(r))
      .catch((e: unknown) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [...deps, n]); // the caller names what the load depends on
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, loading, reload };
}

export const useWarehouses = () => useLoad<Warehouse[]>(() => stock.warehouses(), []);
export const useChannels = () => useLoad<Channel[]>(() => stock.channels(), []);

type Common = Pick<SelectProps, 'id' | 'value' | 'onChange' | 'disabled' | 'placeholder' | 'autoFocus' | 'style'>;

export function WarehouseSelect(props: Common & { warehouses: Warehouse[] }) {
  const { label } = useI18n();
  const { warehouses, ...rest } = props;
  return (
    <Select
      {...rest}
      showSearch={{ optionFilterProp: 'search' }}
      options={warehouses.map((w) => ({
        value: w.warehouseCode,
        search: `${w.warehouseCode} ${w.name}`,
        label: (
          <span>
            <span className="mono">{w.warehouseCode}</span> {w.name} <Typography.Text type="secondary">· {label('whLevel', w.level)}</Typography.Text>
          </span>
        ),
      }))}
    />
  );
}

export function ChannelSelect(props: Common & { channels: Channel[] }) {
  const { channels, ...rest } = props;
  return (
    <Select
      {...rest}
      showSearch={{ optionFilterProp: 'search' }}
      options={channels.map((c) => ({ value: c.departmentId, search: `${c.departmentId} ${c.name}`, label: `${c.name}（${c.departmentId}）` }))}
    />
  );
}

export function CardTypeSelect(props: Common & { only?: readonly CardType[] }) {
  const { label } = useI18n();
  const { only, ...rest } = props;
  return <Select {...rest} showSearch={{ optionFilterProp: 'label' }} options={(only ?? stock.CARD_TYPES).map((c) => ({ value: c, label: label('cardType', c) }))} />;
}

export interface SelectionValues {
  mode: 'quantity' | 'iccids' | 'range';
  quantity?: number;
  iccidText?: string;
  from?: string;
  to?: string;
}

const ICCID = /^[0-9]{19,20}$/;

/** The selection fields of a form (quantity, ICCID list, range); `modes` are the ones offered. */
export function SelectionFields({ modes = ['quantity', 'iccids', 'range'] }: { modes?: SelectionValues['mode'][] }) {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  const mode = Form.useWatch('mode', form) as SelectionValues['mode'] | undefined;
  const iccidRule = { pattern: ICCID, message: t('stock.iccidFormat') };
  return (
    <>
      <Form.Item name="mode" label={t('stock.selection')}>
        <Radio.Group optionType="button" options={modes.map((m) => ({ value: m, label: t(`stock.selection.${m}`) }))} />
      </Form.Item>
      {mode === 'iccids' ? (
        <Form.Item name="iccidText" label={t('stock.iccidList')} extra={t('stock.iccidListHint')} rules={[{ required: true, whitespace: true, message: t('form.required', { label: t('stock.iccidList') }) }]}>
          <Input.TextArea rows={4} className="mono" autoComplete="off" />
        </Form.Item>
      ) : mode === 'range' ? (
        <Space wrap align="start">
          <Form.Item name="from" label={t('stock.rangeFrom')} rules={[{ required: true, message: t('form.required', { label: t('stock.rangeFrom') }) }, iccidRule]}>
            <Input className="mono" maxLength={20} autoComplete="off" style={{ width: 240 }} />
          </Form.Item>
          <Form.Item name="to" label={t('stock.rangeTo')} rules={[{ required: true, message: t('form.required', { label: t('stock.rangeTo') }) }, iccidRule]}>
            <Input className="mono" maxLength={20} autoComplete="off" style={{ width: 240 }} />
          </Form.Item>
        </Space>
      ) : (
        <Form.Item name="quantity" label={t('stock.quantity')} rules={[{ required: true, message: t('form.required', { label: t('stock.quantity') }) }]}>
          <InputNumber min={1} max={100000} precision={0} style={{ width: 160 }} suffix={t('stock.cardsUnit')} />
        </Form.Item>
      )}
    </>
  );
}

/** The form's selection as the API takes it; a problem with the ICCID list as text. */
export function selectionBody(v: SelectionValues): { ok: true; selection: Selection } | { ok: false; bad: string } {
  if (v.mode === 'iccids') {
    const { iccids, bad } = stock.parseIccids(v.iccidText ?? '');
    if (bad.length) return { ok: false, bad: bad.map((b) => `${b.line}: ${b.text}`).join('；') };
    return { ok: true, selection: { iccids } };
  }
  if (v.mode === 'range') return { ok: true, selection: { range: { from: (v.from ?? '').trim(), to: (v.to ?? '').trim() } } };
  return { ok: true, selection: { quantity: v.quantity ?? 0 } };
}

/** The ICCIDs a refusal names (卡库位不一致 lists the cards not picked by the channel). */
function iccidsOf(details: unknown): string[] {
  const out = new Set<string>();
  const walk = (x: unknown, depth: number) => {
    if (depth > 8 || x === null || x === undefined) return;
    if (typeof x === 'string') {
      if (ICCID.test(x)) out.add(x);
    } else if (Array.isArray(x)) x.forEach((y) => walk(y, depth + 1));
    else if (typeof x === 'object') Object.values(x).forEach((y) => walk(y, depth + 1));
  };
  walk(details, 0);
  return [...out];
}

interface FailureDetail {
  code: string;
  message: { zh: string; en: string };
  fix?: { zh: string; en: string };
}

/** The failures a refusal carries (details.failures), each with its fix. */
function failuresOf(details: unknown): FailureDetail[] {
  const list = (details as { failures?: unknown } | null)?.failures;
  if (!Array.isArray(list)) return [];
  return list.filter((f): f is FailureDetail => typeof (f as FailureDetail)?.code === 'string' && typeof (f as FailureDetail)?.message?.zh === 'string');
}

/** A refused stock call: its message, every failure with its fix, and the cards it names. */
export function StockError({ error, style }: { error: unknown; style?: CSSProperties }) {
  const { t, pick } = useI18n();
  const details = error instanceof ApiError ? error.details : undefined;
  const cards = iccidsOf(details);
  const failures = failuresOf(details);
  return (
    <div style={style} data-testid="stock-error">
      <ErrorAlert error={error} />
      {failures.length ? (
        <ul style={{ margin: '8px 0 0', paddingInlineStart: 20 }}>
          {failures.map((f, i) => (
            <li key={`${f.code}-${i}`}>
              {/* the first failure is the error itself: only its fix is new */}
              {failures.length > 1 || !(error instanceof ApiError) || error.messages.zh !== f.message.zh ? <Typography.Text type="danger">{pick(f.message)} </Typography.Text> : null}
              {f.fix ? (
                <Typography.Text type="secondary">
                  {t('order.fix')}
                  {pick(f.fix)}
                </Typography.Text>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {cards.length ? (
        <Alert
          type="warning"
          style={{ marginTop: 8 }}
          title={t('stock.problemCards', { n: cards.length })}
          description={
            <Space wrap size={[8, 4]}>
              {cards.slice(0, 50).map((c) => (
                <Link key={c} to={`/stock/cards?iccid=${c}`} className="mono">
                  {c}
                </Link>
              ))}
              {cards.length > 50 ? <Typography.Text type="secondary">…</Typography.Text> : null}
            </Space>
          }
        />
      ) : null}
    </div>
  );
}

export function DocStateTag({ d }: { d: StockDocument }) {
  const { label } = useI18n();
  const color = d.state === 'completed' ? 'green' : d.state === 'pending' ? 'orange' : d.state === 'out_approved' ? 'blue' : 'default';
  const key = d.state === 'pending' && (d.kind === 'allocate' || d.kind === 'transfer') ? 'pending_transfer' : d.state;
  return <Tag color={color}>{label('docState', key)}</Tag>;
}

/** The actions this operator may take on a document from this box. */
export function actionsOf(d: StockDocument, box: 'out' | 'in'): DocAction[] {
  const transfer = d.kind === 'allocate' || d.kind === 'transfer';
  if (box === 'in') return transfer && d.state === 'out_approved' ? ['approve-in', 'reject'] : [];
  if (transfer) return d.state === 'pending' ? ['approve-out', 'cancel'] : d.state === 'out_approved' ? ['cancel'] : [];
  return d.state === 'pending' ? ['confirm', 'cancel'] : [];
}

export function DocTable({ rows, box, busyId, onAct, loading }: { rows: StockDocument[]; box: 'out' | 'in'; busyId: number | null; onAct(d: StockDocument, a: DocAction): void; loading?: boolean }) {
  const { t, label, pick } = useI18n();
  const columns: TableColumnsType<StockDocument> = [
    { title: t('stock.docId'), dataIndex: 'stockOrderId', width: 90 },
    { title: t('stock.docKind'), dataIndex: 'kind', width: 80, render: (v: string) => <Tag>{label('docKind', v)}</Tag> },
    {
      title: t('stock.route'),
      key: 'route',
      render: (_: unknown, d) => (
        <span>
          <span className="mono">{d.sourceWarehouseCode}</span> → {d.targetWarehouseCode ? <span className="mono">{d.targetWarehouseCode}</span> : (d.channelName ?? d.channelDepartmentId)}
        </span>
      ),
    },
    { title: t('stock.cardType'), dataIndex: 'cardType', render: (v: string | null) => (v ? label('cardType', v) : '—') },
    { title: t('stock.quantity'), dataIndex: 'quantity', align: 'right', width: 80 },
    { title: t('stock.createdBy'), key: 'by', render: (_: unknown, d) => d.createdBy.name },
    { title: t('stock.createdAt'), dataIndex: 'createdAt', render: (v: string) => formatTime(v) },
    { title: t('stock.docState'), key: 'state', render: (_: unknown, d) => <DocStateTag d={d} /> },
    {
      title: '',
      key: 'actions',
      render: (_: unknown, d) => (
        <Space wrap size={4}>
          {actionsOf(d, box).map((a) => (
            <Button
              key={a}
              size="small"
              type={a === 'approve-out' || a === 'approve-in' || a === 'confirm' ? 'primary' : 'default'}
              danger={a === 'cancel' || a === 'reject'}
              loading={busyId === d.stockOrderId}
              onClick={() => onAct(d, a)}
              data-testid={`doc-${d.stockOrderId}-${a}`}
            >
              {t(`stock.action.${a}`)}
            </Button>
          ))}
          {d.confirmMessage && d.state === 'pending' ? <Typography.Text type="warning">{pick(d.confirmMessage)}</Typography.Text> : null}
        </Space>
      ),
    },
  ];
  return (
    <Table<StockDocument>
      rowKey="stockOrderId"
      size="small"
      loading={loading}
      columns={columns}
      dataSource={rows}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
      expandable={{
        rowExpandable: (d) => d.iccids.length > 0,
        expandedRowRender: (d) => (
          <Space wrap size={[8, 4]}>
            {d.iccids.map((c) => (
              <Link key={c} to={`/stock/cards?iccid=${c}`} className="mono">
                {c}
              </Link>
            ))}
            {d.quantity > d.iccids.length ? <Typography.Text type="secondary">{t('stock.moreCards', { n: d.quantity - d.iccids.length })}</Typography.Text> : null}
            {d.closeReason ? <Typography.Text type="secondary">{d.closeReason}</Typography.Text> : null}
          </Space>
        ),
      }}
      locale={{ emptyText: t('stock.noDocs') }}
    />
  );
}

/** A document action (approve, confirm, cancel…): the busy row, the result message, the error, then `reload`. */
export function useDocAction(reload: () => void) {
  const { t, label } = useI18n();
  const { message } = App.useApp();
  const [busyId, setBusyId] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (d: StockDocument, a: DocAction) => {
    setBusyId(d.stockOrderId);
    setError(null);
    try {
      const r = await stock.act(d.stockOrderId, a);
      void message.success(t('stock.done', { id: r.stockOrderId, state: label('docState', r.state) }));
      reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusyId(null);
    }
  };
  return { busyId, error, run };
}
