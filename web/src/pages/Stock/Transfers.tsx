// 调拨审批 (R-RES-1, R-X-12): the documents the operator's warehouses send (调出) and receive (调入).
// A new allocate-down (下拨) or lateral transfer: source, target, card type and a quantity, an ICCID
// list or a range. The source approves out (审核通过), the target approves in; the stock moves only
// then. The sender may cancel until the target confirms; the target may reject after out approval.
import { PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { App, AutoComplete, Button, Card, Form, Input, Modal, Radio, Space, Tabs, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useI18n } from '../../locales/index.tsx';
import * as stock from '../../services/stock.ts';
import type { CardType, DocAction, StockDocument } from '../../services/stock.ts';
import { useSession } from '../../session.tsx';
import { CardTypeSelect, DocTable, type SelectionValues, SelectionFields, StockError, WarehouseSelect, selectionBody, useDocAction, useLoad, useWarehouses } from './common.tsx';

interface NewTransfer extends SelectionValues {
  kind: 'allocate' | 'transfer';
  sourceWarehouseCode?: string;
  targetWarehouseCode?: string;
  cardType?: CardType;
  note?: string;
}

const CODE = /^[0-9A-Z]{4,16}$/;

function NewTransferModal({ open, onClose, onCreated }: { open: boolean; onClose(): void; onCreated(d: StockDocument): void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<NewTransfer>();
  const { data: whs } = useWarehouses();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const source = Form.useWatch('sourceWarehouseCode', form);
  const mine = whs ?? [];
  // a keeper of one warehouse sends from it
  useEffect(() => {
    if (open && mine.length === 1 && !form.getFieldValue('sourceWarehouseCode')) form.setFieldValue('sourceWarehouseCode', mine[0]?.warehouseCode);
  }, [open, mine, form]);
  // targets offered: the warehouses under the source (下拨) that the operator can see, any code typed in
  const children = (whs ?? []).filter((w) => w.parentCode === source);

  const submit = async (v: NewTransfer) => {
    const sel = selectionBody(v);
    if (!sel.ok) {
      form.setFields([{ name: 'iccidText', errors: [t('stock.iccidBad', { bad: sel.bad })] }]);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const d = await stock.createTransfer({
        kind: v.kind,
        sourceWarehouseCode: v.sourceWarehouseCode ?? '',
        targetWarehouseCode: (v.targetWarehouseCode ?? '').trim().toUpperCase(),
        cardType: v.cardType ?? 'blank_128k_micro',
        ...(v.note?.trim() ? { note: v.note.trim() } : {}),
        ...sel.selection,
      });
      form.resetFields();
      onCreated(d);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal open={open} title={t('stock.newTransfer')} onCancel={onClose} okText={t('stock.createTransfer')} onOk={() => form.submit()} okButtonProps={{ loading: busy, 'data-testid': 'transfer-submit' } as never} width={640} destroyOnHidden>
      <Form<NewTransfer> form={form} name="transfer" layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ kind: 'allocate', mode: 'quantity', cardType: 'blank_128k_micro' }} disabled={busy}>
        <Form.Item name="kind" label={t('stock.transferKind')}>
          <Radio.Group
            optionType="button"
            options={[
              { value: 'allocate', label: t('docKind.allocate') },
              { value: 'transfer', label: t('docKind.transfer') },
            ]}
          />
        </Form.Item>
        <Form.Item name="sourceWarehouseCode" label={t('stock.source')} rules={[{ required: true, message: t('form.required', { label: t('stock.source') }) }]}>
          <WarehouseSelect warehouses={mine} autoFocus />
        </Form.Item>
        <Form.Item
          name="targetWarehouseCode"
          label={t('stock.target')}
          extra={t('stock.targetHint')}
          normalize={(v: string | undefined) => v?.toUpperCase()}
          rules={[
            { required: true, message: t('form.required', { label: t('stock.target') }) },
            { pattern: CODE, message: t('form.format', { label: t('stock.target') }) },
          ]}
        >
          <AutoComplete options={children.map((w) => ({ value: w.warehouseCode, label: `${w.warehouseCode} ${w.name}` }))}>
            <Input className="mono" maxLength={16} autoComplete="off" />
          </AutoComplete>
        </Form.Item>
        <Form.Item name="cardType" label={t('stock.cardType')} rules={[{ required: true, message: t('form.required', { label: t('stock.cardType') }) }]}>
          <CardTypeSelect />
        </Form.Item>
        <SelectionFields />
        <Form.Item name="note" label={t('stock.note')}>
          <Input maxLength={200} autoComplete="off" />
        </Form.Item>
      </Form>
      {error ? <StockError error={error} /> : null}
    </Modal>
  );
}

export default function Transfers() {
  const { t } = useI18n();
  const { access } = useSession();
  const { message, modal } = App.useApp();
  const [box, setBox] = useState<'out' | 'in'>('out');
  const [creating, setCreating] = useState(false);
  const { data, error: loadError, loading, reload } = useLoad(async () => (await stock.documents({ box })).filter((d) => d.kind === 'allocate' || d.kind === 'transfer'), [box]);
  const { busyId, error, run } = useDocAction(reload);

  const onAct = (d: StockDocument, a: DocAction) => {
    if (a === 'cancel' || a === 'reject') {
      modal.confirm({
        title: t(a === 'cancel' ? 'stock.confirmCancel' : 'stock.confirmReject', { id: d.stockOrderId }),
        okText: t(`stock.action.${a}`),
        okButtonProps: { danger: true },
        onOk: () => run(d, a),
      });
    } else void run(d, a);
  };

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }} data-testid="stock-transfers">
      <Card
        title={t('stock.transfers')}
        extra={
          <Space>
            <Button icon={<ReloadOutlined />} onClick={reload} loading={loading}>
              {t('action.refresh')}
            </Button>
            {access.stockTransfer ? (
              <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="new-transfer">
                {t('stock.newTransfer')}
              </Button>
            ) : null}
          </Space>
        }
      >
        <Typography.Paragraph type="secondary">{t('stock.transfersHint')}</Typography.Paragraph>
        <Tabs
          activeKey={box}
          onChange={(k) => setBox(k as 'out' | 'in')}
          items={[
            { key: 'out', label: t('stock.boxOut') },
            { key: 'in', label: t('stock.boxIn') },
          ]}
        />
        {error ? <StockError error={error} style={{ marginBottom: 12 }} /> : null}
        {loadError ? <StockError error={loadError} /> : <DocTable rows={data ?? []} box={box} busyId={busyId} onAct={onAct} loading={loading} />}
      </Card>
      <NewTransferModal
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(d) => {
          setCreating(false);
          void message.success(t('stock.transferCreated', { id: d.stockOrderId, n: d.quantity }));
          if (box === 'out') reload();
          else setBox('out');
        }}
      />
    </Space>
  );
}
