// A new subscriber inside an order (新开户, e9 package members, 加装): for a mobile the number from
// the pool and the SIM card, features and packs, the account manager, a gift handset; for a
// broadband line its account, standard and install address and bandwidth. Mirrors NewMember in
// src/domains/orders/members.ts.
import { Card, Col, Form, Input, InputNumber, Row, Switch } from 'antd';
import { useState } from 'react';
import { useI18n } from '../../locales/index.tsx';
import type { PoolNumber } from '../../services/orders.ts';
import { yuanToFen } from '../../utils/money.ts';
import { NumberPicker, OfferSelect, SimPicker } from './pickers.tsx';
import { fenToYuanText, yuanText } from './schema.ts';

export interface MemberValues {
  role: string;
  network: string;
  serviceNumber?: string;
  iccid?: string;
  planCode?: string;
  features?: string[];
  packs?: string[];
  standardAddress?: string;
  installAddress?: string;
  bandwidthMbps?: number;
  accountManager?: string;
  numberApprovedBy?: string;
  gift?: boolean;
  handset?: { imei?: string; model?: string; price?: string };
}

export const isMobile = (n: string | undefined) => n === 'gsm2g' || n === 'wcdma3g';
const installed = (n: string | undefined) => n === 'broadband' || n === 'fixed';
const BROADBAND_ACCOUNT = /^[A-Za-z0-9_.@-]{4,40}$/;
const IMEI = /^[0-9]{15}$/;

const trimmed = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);

/** The member as the order body takes it (NewMember). */
export function memberBody(m: MemberValues): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, network: m.network, serviceNumber: (m.serviceNumber ?? '').trim() };
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  };
  put('planCode', m.planCode);
  if (isMobile(m.network)) {
    put('iccid', m.iccid);
    put('features', m.features);
    put('packs', m.packs);
    put('numberApprovedBy', trimmed(m.numberApprovedBy));
    if (m.gift && m.handset) {
      const price = yuanText(m.handset.price ?? '', true, yuanToFen);
      put('handset', { imei: (m.handset.imei ?? '').trim(), model: (m.handset.model ?? '').trim(), priceFen: price.ok ? price.fen : 0 });
    }
  }
  if (installed(m.network)) {
    put('standardAddress', trimmed(m.standardAddress));
    put('installAddress', trimmed(m.installAddress));
    if (m.network === 'broadband') put('bandwidthMbps', m.bandwidthMbps);
  }
  put('accountManager', trimmed(m.accountManager));
  return out;
}

/** A stored member back into the form (a draft being changed). */
export function memberValues(b: Record<string, unknown>): MemberValues {
  const h = b.handset as { imei: string; model: string; priceFen: number } | undefined;
  return { ...(b as unknown as MemberValues), gift: Boolean(h), handset: h ? { imei: h.imei, model: h.model, price: fenToYuanText(h.priceFen) } : undefined };
}

export function MemberFields({ index, withPlan }: { index: number; withPlan: boolean }) {
  const { t, label } = useI18n();
  const form = Form.useFormInstance();
  const base = ['members', index];
  const role = Form.useWatch([...base, 'role'], form) as string | undefined;
  const network = Form.useWatch([...base, 'network'], form) as string | undefined;
  const serviceNumber = Form.useWatch([...base, 'serviceNumber'], form) as string | undefined;
  const gift = Form.useWatch([...base, 'gift'], form) as boolean | undefined;
  const [level, setLevel] = useState<PoolNumber | undefined>(undefined);
  const required = (key: Parameters<typeof t>[0]) => [{ required: true, whitespace: true, message: t('form.required', { label: t(key) }) }];
  const mobile = isMobile(network);

  return (
    <Card size="small" type="inner" title={label('role', role) === label('network', network) ? label('role', role) : `${label('role', role)} · ${label('network', network)}`} style={{ marginBottom: 16 }} data-testid={`member-${role ?? index}`}>
      <Form.Item name={[...base, 'role']} hidden>
        <Input />
      </Form.Item>
      <Form.Item name={[...base, 'network']} hidden>
        <Input />
      </Form.Item>
      <Row gutter={16}>
        {withPlan ? (
          <Col xs={24} md={12}>
            <Form.Item name={[...base, 'planCode']} label={t('field.planCode')} rules={required('field.planCode')}>
              <OfferSelect kinds={['plan']} network={network} />
            </Form.Item>
          </Col>
        ) : null}
        {mobile ? (
          <>
            <Col xs={24} md={12}>
              <Form.Item name={[...base, 'serviceNumber']} label={t('field.serviceNumber')} rules={required('field.serviceNumber')} extra={t('order.numberHint')}>
                <NumberPicker onLevel={setLevel} />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name={[...base, 'iccid']} label={t('field.iccid')} rules={required('field.iccid')}>
                <SimPicker serviceNumber={serviceNumber} />
              </Form.Item>
            </Col>
            {level?.level?.requiresApproval ? (
              <Col xs={24} md={12}>
                <Form.Item name={[...base, 'numberApprovedBy']} label={t('field.numberApprovedBy')} rules={required('field.numberApprovedBy')}>
                  <Input maxLength={64} autoComplete="off" />
                </Form.Item>
              </Col>
            ) : null}
            <Col xs={24} md={12}>
              <Form.Item name={[...base, 'features']} label={t('field.features')}>
                <OfferSelect kinds={['feature']} network={network} multiple />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name={[...base, 'packs']} label={t('field.packs')}>
                <OfferSelect kinds={['pack']} network={network} multiple />
              </Form.Item>
            </Col>
          </>
        ) : (
          <>
            <Col xs={24} md={12}>
              <Form.Item
                name={[...base, 'serviceNumber']}
                label={network === 'broadband' ? t('field.broadbandAccount') : t('field.serviceNumber')}
                rules={[
                  ...required(network === 'broadband' ? 'field.broadbandAccount' : 'field.serviceNumber'),
                  ...(network === 'broadband' ? [{ pattern: BROADBAND_ACCOUNT, message: t('order.broadbandAccountFormat') }] : []),
                ]}
              >
                <Input maxLength={40} autoComplete="off" className="mono" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name={[...base, 'standardAddress']} label={t('field.standardAddress')} rules={required('field.standardAddress')}>
                <Input maxLength={200} autoComplete="off" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name={[...base, 'installAddress']} label={t('field.installAddress')} rules={required('field.installAddress')}>
                <Input maxLength={200} autoComplete="off" />
              </Form.Item>
            </Col>
            {network === 'broadband' ? (
              <Col xs={24} md={6}>
                <Form.Item name={[...base, 'bandwidthMbps']} label={t('field.bandwidthMbps')} rules={[{ required: true, message: t('form.required', { label: t('field.bandwidthMbps') }) }]}>
                  <InputNumber min={1} max={10000} precision={0} suffix="Mbps" style={{ width: '100%' }} />
                </Form.Item>
              </Col>
            ) : null}
          </>
        )}
        <Col xs={24} md={mobile ? 12 : 6}>
          <Form.Item name={[...base, 'accountManager']} label={t('field.accountManager')}>
            <Input maxLength={64} autoComplete="off" />
          </Form.Item>
        </Col>
      </Row>
      {mobile ? (
        <>
          <Form.Item name={[...base, 'gift']} valuePropName="checked" label={t('order.giftHandset')}>
            <Switch aria-label={t('order.giftHandset')} />
          </Form.Item>
          {gift ? (
            <Row gutter={16}>
              <Col xs={24} md={8}>
                <Form.Item
                  name={[...base, 'handset', 'imei']}
                  label={t('field.imei')}
                  preserve={false}
                  rules={[...required('field.imei'), { pattern: IMEI, message: t('order.imeiFormat') }]}
                >
                  <Input maxLength={15} autoComplete="off" inputMode="numeric" className="mono" />
                </Form.Item>
              </Col>
              <Col xs={24} md={8}>
                <Form.Item name={[...base, 'handset', 'model']} label={t('field.model')} preserve={false} rules={required('field.model')}>
                  <Input maxLength={64} autoComplete="off" />
                </Form.Item>
              </Col>
              <Col xs={24} md={8}>
                <Form.Item
                  name={[...base, 'handset', 'price']}
                  label={t('field.handsetPrice')}
                  preserve={false}
                  rules={[
                    {
                      validator: (_: unknown, v: string | undefined) => {
                        const r = yuanText(v ?? '', true, yuanToFen);
                        return r.ok && r.fen <= 10_000_000 ? Promise.resolve() : Promise.reject(new Error(t('payment.amount.format')));
                      },
                    },
                  ]}
                >
                  <Input prefix="¥" suffix={t('payment.yuan')} inputMode="decimal" autoComplete="off" maxLength={12} />
                </Form.Item>
              </Col>
            </Row>
          ) : null}
        </>
      ) : null}
    </Card>
  );
}
