// 代理商领卡/退卡 (R-RES-2, R-RES-3): the writing warehouse's keeper picks blank cards for a social
// channel (warehouse, channel, card type, quantity); the prepared pick asks "批量领卡成功，确认正式
// 提交？" and only the confirmation moves the cards. A return takes the channel's picked cards back,
// from an ICCID text file or an ICCID range; a card the channel did not pick refuses the whole
// return with "卡库位不一致" and the cards it concerns.
import { ImportOutlined, ReloadOutlined, SearchOutlined, UploadOutlined } from '@ant-design/icons';
import { App, Alert, Button, Card, Form, Input, Radio, Space, Table, Tabs, Tag, Typography, Upload } from 'antd';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { useI18n } from '../../locales/index.tsx';
import * as stock from '../../services/stock.ts';
import type { Card as StockCard, CardType, DocAction, StockDocument } from '../../services/stock.ts';
import { CardTypeSelect, ChannelSelect, DocTable, type SelectionValues, SelectionFields, StockError, WarehouseSelect, selectionBody, useChannels, useDocAction, useLoad, useWarehouses } from './common.tsx';

interface PickValues extends SelectionValues {
  warehouseCode?: string;
  channelDepartmentId?: string;
  cardType?: CardType;
}

/** The prepared document's question ("批量领卡成功，确认正式提交？"): confirm moves the cards, cancel releases them. */
function useConfirmDocument(after: () => void) {
  const { t, pick, label } = useI18n();
  const { modal, message } = App.useApp();
  return (d: StockDocument) =>
    new Promise<void>((resolve, reject) => {
      const question = d.confirmMessage ? pick(d.confirmMessage) : t('stock.confirmReturn');
      modal.confirm({
        title: question,
        content: (
          <div data-testid="confirm-document">
            <Typography.Paragraph>{t('stock.confirmBody', { id: d.stockOrderId, kind: label('docKind', d.kind), n: d.quantity, channel: d.channelName ?? d.channelDepartmentId ?? '' })}</Typography.Paragraph>
            <Typography.Paragraph type="secondary" className="mono" ellipsis={{ rows: 3 }}>
              {d.iccids.join('、')}
            </Typography.Paragraph>
          </div>
        ),
        okText: t('stock.action.confirm'),
        cancelText: t('stock.action.cancel'),
        onOk: async () => {
          try {
            const r = await stock.act(d.stockOrderId, 'confirm');
            void message.success(t('stock.done', { id: r.stockOrderId, state: label('docState', r.state) }));
            resolve();
          } catch (e) {
            reject(e);
          } finally {
            after();
          }
        },
        onCancel: async () => {
          await stock.act(d.stockOrderId, 'cancel').catch(() => undefined);
          void message.info(t('stock.released', { id: d.stockOrderId }));
          after();
          resolve();
        },
      });
    });
}

function PickForm({ onDone }: { onDone(): void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<PickValues>();
  const { data: whs } = useWarehouses();
  const { data: chans } = useChannels();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const confirm = useConfirmDocument(onDone);
  const writing = (whs ?? []).slice().sort((a, b) => Number(b.level === 'writing') - Number(a.level === 'writing'));
  const home = writing[0]?.warehouseCode;
  // the keeper's writing warehouse is the usual one
  useEffect(() => {
    if (home && !form.getFieldValue('warehouseCode')) form.setFieldValue('warehouseCode', home);
  }, [home, form]);

  const submit = async (v: PickValues) => {
    const sel = selectionBody(v);
    if (!sel.ok) {
      form.setFields([{ name: 'iccidText', errors: [t('stock.iccidBad', { bad: sel.bad })] }]);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const d = await stock.createPick({ warehouseCode: v.warehouseCode ?? '', channelDepartmentId: v.channelDepartmentId ?? '', cardType: v.cardType ?? 'blank_128k_micro', ...sel.selection });
      await confirm(d);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Form<PickValues>
      form={form}
      name="pick"
      layout="vertical"
      style={{ maxWidth: 640 }}
      initialValues={{ mode: 'quantity', cardType: 'blank_128k_micro' }}
      onFinish={(v) => void submit(v)}
      disabled={busy}
      data-testid="pick-form"
    >
      <Form.Item name="warehouseCode" label={t('stock.pickWarehouse')} rules={[{ required: true, message: t('form.required', { label: t('stock.pickWarehouse') }) }]}>
        <WarehouseSelect warehouses={writing} />
      </Form.Item>
      <Form.Item name="channelDepartmentId" label={t('stock.channel')} rules={[{ required: true, message: t('form.required', { label: t('stock.channel') }) }]}>
        <ChannelSelect channels={chans ?? []} autoFocus />
      </Form.Item>
      <Form.Item name="cardType" label={t('stock.cardType')} extra={t('stock.pickTypeHint')} rules={[{ required: true, message: t('form.required', { label: t('stock.cardType') }) }]}>
        <CardTypeSelect only={['blank_128k_micro', 'blank_128k']} />
      </Form.Item>
      <SelectionFields />
      <Typography.Paragraph type="secondary">{t('stock.pickFeeHint')}</Typography.Paragraph>
      <Button type="primary" htmlType="submit" loading={busy} icon={<ImportOutlined />} data-testid="pick-submit">
        {t('stock.pickSubmit')}
      </Button>
      {error ? <StockError error={error} style={{ marginTop: 12 }} /> : null}
    </Form>
  );
}

interface ReturnValues {
  channelDepartmentId?: string;
  mode: 'file' | 'range';
  from?: string;
  to?: string;
}

function ReturnForm({ onDone }: { onDone(): void }) {
  const { t, label } = useI18n();
  const [form] = Form.useForm<ReturnValues>();
  const { data: chans } = useChannels();
  const mode = Form.useWatch('mode', form);
  const channel = Form.useWatch('channelDepartmentId', form);
  const [file, setFile] = useState<{ name: string; iccids: string[]; bad: { line: number; text: string }[] } | null>(null);
  const [preview, setPreview] = useState<StockCard[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const confirm = useConfirmDocument(() => {
    setFile(null);
    setPreview(null);
    onDone();
  });

  const query = async () => {
    const v = await form.validateFields(['channelDepartmentId', 'from', 'to']);
    setError(null);
    setBusy(true);
    try {
      setPreview(await stock.cards({ channelDepartmentId: v.channelDepartmentId, from: v.from?.trim(), to: v.to?.trim() }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const submit = async (v: ReturnValues) => {
    setError(null);
    if (v.mode === 'file' && (!file || file.iccids.length === 0)) {
      setError(null);
      form.setFields([{ name: 'mode', errors: [t('stock.noFile')] }]);
      return;
    }
    setBusy(true);
    try {
      const d = await stock.createReturn({
        channelDepartmentId: v.channelDepartmentId ?? '',
        ...(v.mode === 'file' ? { iccids: file?.iccids ?? [] } : { range: { from: (v.from ?? '').trim(), to: (v.to ?? '').trim() } }),
      });
      await confirm(d);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const iccidRule = { pattern: /^[0-9]{19,20}$/, message: t('stock.iccidFormat') };
  return (
    <Form<ReturnValues> form={form} name="return" layout="vertical" style={{ maxWidth: 720 }} initialValues={{ mode: 'file' }} onFinish={(v) => void submit(v)} disabled={busy} data-testid="return-form">
      <Form.Item name="channelDepartmentId" label={t('stock.channel')} rules={[{ required: true, message: t('form.required', { label: t('stock.channel') }) }]}>
        <ChannelSelect channels={chans ?? []} />
      </Form.Item>
      <Form.Item name="mode" label={t('stock.returnMode')}>
        <Radio.Group
          optionType="button"
          options={[
            { value: 'file', label: t('stock.returnByFile') },
            { value: 'range', label: t('stock.returnByRange') },
          ]}
        />
      </Form.Item>
      {mode === 'range' ? (
        <>
          <Space wrap align="start">
            <Form.Item name="from" label={t('stock.rangeFrom')} rules={[{ required: true, message: t('form.required', { label: t('stock.rangeFrom') }) }, iccidRule]}>
              <Input className="mono" maxLength={20} autoComplete="off" style={{ width: 240 }} />
            </Form.Item>
            <Form.Item name="to" label={t('stock.rangeTo')} rules={[{ required: true, message: t('form.required', { label: t('stock.rangeTo') }) }, iccidRule]}>
              <Input className="mono" maxLength={20} autoComplete="off" style={{ width: 240 }} />
            </Form.Item>
            <Form.Item label=" ">
              <Button icon={<SearchOutlined />} onClick={() => void query().catch(() => undefined)} disabled={!channel} data-testid="return-query">
                {t('action.search')}
              </Button>
            </Form.Item>
          </Space>
          {preview ? (
            <Table<StockCard>
              rowKey="iccid"
              size="small"
              style={{ marginBottom: 16 }}
              dataSource={preview}
              pagination={{ pageSize: 10, hideOnSinglePage: true }}
              data-testid="return-preview"
              title={() => t('stock.rangeFound', { n: preview.length })}
              columns={[
                { title: 'ICCID', dataIndex: 'iccid', render: (v: string) => <span className="mono">{v}</span> },
                { title: t('stock.cardType'), dataIndex: 'cardType', render: (v: string) => label('cardType', v) },
                { title: t('stock.cardState'), dataIndex: 'state', render: (v: string) => <Tag color={v === 'picked' ? 'blue' : 'red'}>{label('simState', v)}</Tag> },
                { title: t('stock.holder'), dataIndex: 'pickedByDepartmentId' },
              ]}
            />
          ) : null}
        </>
      ) : (
        <Form.Item label={t('stock.iccidFile')} extra={t('stock.iccidFileHint')}>
          <Upload
            accept=".txt,.csv,text/plain,text/csv"
            maxCount={1}
            showUploadList={false}
            beforeUpload={(f) => {
              void f.text().then((text) => {
                const r = stock.parseIccids(text);
                setFile({ name: f.name, ...r });
                form.setFields([{ name: 'mode', errors: [] }]);
              });
              return false;
            }}
          >
            <Button icon={<UploadOutlined />} data-testid="return-file">
              {t('stock.chooseFile')}
            </Button>
          </Upload>
          {file ? (
            <Alert
              style={{ marginTop: 8 }}
              type={file.bad.length ? 'warning' : 'success'}
              showIcon
              data-testid="return-file-summary"
              title={t('stock.fileRead', { name: file.name, n: file.iccids.length })}
              description={file.bad.length ? t('stock.fileBad', { n: file.bad.length, lines: file.bad.slice(0, 10).map((b) => `${b.line}: ${b.text}`).join('；') }) : undefined}
            />
          ) : null}
        </Form.Item>
      )}
      <div>
        <Button type="primary" htmlType="submit" loading={busy} icon={<ImportOutlined rotate={180} />} data-testid="return-submit">
          {t('stock.returnSubmit')}
        </Button>
      </div>
      {error ? <StockError error={error} style={{ marginTop: 12 }} /> : null}
    </Form>
  );
}

export default function AgentCards() {
  const { t, label, pick } = useI18n();
  const { modal } = App.useApp();
  const [tab, setTab] = useState<'pick' | 'return'>('pick');
  const { data, loading, reload, error: loadError } = useLoad(async () => (await stock.documents({ box: 'out', kind: tab })).slice(0, 50), [tab]);
  const { busyId, error, run } = useDocAction(reload);

  const onAct = (d: StockDocument, a: DocAction) => {
    if (a === 'confirm' && d.confirmMessage) modal.confirm({ title: pick(d.confirmMessage), content: t('stock.confirmBody', { id: d.stockOrderId, kind: label('docKind', d.kind), n: d.quantity, channel: d.channelName ?? '' }), onOk: () => run(d, a) });
    else void run(d, a);
  };

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }} data-testid="agent-cards">
      <Card title={t('stock.agentCards')}>
        <Tabs
          activeKey={tab}
          onChange={(k) => setTab(k as 'pick' | 'return')}
          items={[
            { key: 'pick', label: t('stock.pick'), children: <PickForm onDone={reload} /> },
            { key: 'return', label: t('stock.return'), children: <ReturnForm onDone={reload} /> },
          ]}
        />
      </Card>
      <Card
        title={t(tab === 'pick' ? 'stock.recentPicks' : 'stock.recentReturns')}
        extra={
          <Button icon={<ReloadOutlined />} onClick={reload} loading={loading}>
            {t('action.refresh')}
          </Button>
        }
      >
        {error ? <StockError error={error} style={{ marginBottom: 12 }} /> : null}
        {loadError ? <StockError error={loadError} /> : <DocTable rows={data ?? []} box="out" busyId={busyId} onAct={onAct} loading={loading} />}
        <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
          {t('stock.historyHint')} <Link to="/stock/cards">{t('menu.cardHistory')}</Link>
        </Typography.Paragraph>
      </Card>
    </Space>
  );
}
