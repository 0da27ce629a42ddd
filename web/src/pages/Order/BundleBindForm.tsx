// 捆绑 BUNDLE_BIND (SPEC §8.1–8.3): the bundle type (2G+宽带+固话…, from the catalog's bundle
// offers), then one number per member role the type asks for — picked from the customer's lines or
// typed — and the documents presented. The type's conditions (R-BND-2 same number, R-BND-4 joint
// account, R-BND-9 family numbers) and what it grants every month from the 1st of next month
// (R-BND-6) are shown before the checks run.
import { AutoComplete, Card, Form, Select, Space, Tag, Typography } from 'antd';
import { useEffect, useRef } from 'react';
import { useI18n } from '../../locales/index.tsx';
import { type BundleOfferInfo, grantItemsOf } from '../../services/bundles.ts';
import { firstOfNextMonth, GrantPreview } from '../Bundles/common.tsx';
import { useBusinessCycle } from '../Billing/common.tsx';
import { type DocumentsValues, DocumentsFields, documentsBody } from './DocumentsFields.tsx';
import { FormFooter, type OrderFormProps } from './FormFooter.tsx';
import { useOffers } from './pickers.tsx';

interface Values {
  offerCode?: string;
  /** role → service number */
  numbers?: Record<string, string | undefined>;
  documents?: DocumentsValues;
}

const MOBILE = new Set(['gsm2g', 'wcdma3g']);

/** The bundle offers of the catalog that are on sale. */
export function useBundleOffers(): BundleOfferInfo[] {
  return (useOffers() as BundleOfferInfo[]).filter((o) => o.kind === 'bundle' && o.status === 'online');
}

/** The 1st of next month by the business clock ("2026-12-01"), null until the clock answers. */
export function useNextFirst(): string | null {
  const cycle = useBusinessCycle();
  return cycle ? firstOfNextMonth(`${cycle}-01`) : null;
}

export function BundleBindForm(p: OrderFormProps) {
  const { t, pick, label } = useI18n();
  const [form] = Form.useForm<Values>();
  const offers = useBundleOffers();
  const from = useNextFirst();
  const offerCode = Form.useWatch('offerCode', form);
  const offer = offers.find((o) => o.offerCode === offerCode);
  const roles = offer?.members ?? [];
  const subs = (p.customer?.subscribers ?? []).filter((s) => s.status !== 'cancelled' && s.status !== 'pre_cancelled');
  const bundle = offer?.bundle ?? null;

  const initial: Values = p.initial
    ? {
        offerCode: p.initial.offerCode as string,
        numbers: Object.fromEntries(((p.initial.members as { role: string; serviceNumber: string }[] | undefined) ?? []).map((m) => [m.role, m.serviceNumber])),
        documents: p.initial.documents as DocumentsValues,
      }
    : { documents: { presenter: 'owner', ownerIdOriginal: p.customer?.customer.kind === 'person' } };

  // a line preselected from the 360 fills the role of its network, once per bundle type chosen
  const filledFor = useRef<string | null>(null);
  const preset = subs.find((x) => x.subscriberId === p.subscriberId);
  useEffect(() => {
    if (!offer || p.initial || !preset || filledFor.current === offer.offerCode) return;
    filledFor.current = offer.offerCode;
    const role = offer.members?.find((m) => m.network === preset.network || (MOBILE.has(m.network) && MOBILE.has(preset.network)));
    if (role && !form.getFieldValue(['numbers', role.role])) form.setFieldValue(['numbers', role.role], preset.serviceNumber);
  }, [offer, p.initial, preset, form]);

  return (
    <Card data-testid="order-form">
      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={initial}
        disabled={p.busy}
        scrollToFirstError
        onFinish={(v) =>
          p.onSubmit({
            businessType: p.businessType,
            customerId: p.customer?.customer.customerId ?? 0,
            offerCode: v.offerCode ?? '',
            members: roles.map((r) => ({ role: r.role, serviceNumber: (v.numbers?.[r.role] ?? '').trim() })),
            documents: documentsBody(v.documents),
          })
        }
      >
        <Form.Item name="offerCode" label={t('bundle.offer')} rules={[{ required: true, message: t('form.required', { label: t('bundle.offer') }) }]}>
          <Select
            id="offerCode"
            showSearch={{ optionFilterProp: 'search' }}
            style={{ maxWidth: 480 }}
            options={offers.map((o) => ({ value: o.offerCode, search: `${o.offerCode} ${o.name.zh} ${o.name.en}`, label: `${pick(o.name)}（${o.offerCode}）` }))}
          />
        </Form.Item>
        {offer ? (
          <Space wrap style={{ marginBottom: 12 }} data-testid="bundle-conditions">
            {bundle?.generation ? <Tag>{label('bundleGeneration', bundle.generation)}</Tag> : null}
            {bundle?.requiresSameNumber ? <Tag color="blue">{t('bundle.needsSameNumber')}</Tag> : null}
            {bundle?.requiresJointAccount ? <Tag color="blue">{t('bundle.needsJointAccount')}</Tag> : null}
            {bundle?.familyRoles?.length ? <Tag color="purple">{t('bundle.familyRoles')}</Tag> : null}
          </Space>
        ) : null}
        <fieldset className="order-fieldset">
          <legend>{t('bundle.members')}</legend>
          {roles.length === 0 ? <Typography.Paragraph type="secondary">{t('bundle.pickOffer')}</Typography.Paragraph> : null}
          {roles.map((r) => {
            const title = t('bundle.numberOf', { role: label('role', r.role) });
            const mine = subs.filter((s) => s.network === r.network || (MOBILE.has(r.network) && MOBILE.has(s.network)));
            return (
              <Form.Item
                key={r.role}
                name={['numbers', r.role]}
                label={
                  <span>
                    {title} <Typography.Text type="secondary">（{label('network', r.network)}）</Typography.Text>
                  </span>
                }
                extra={t('bundle.numberHint')}
                rules={[{ required: true, whitespace: true, message: t('form.required', { label: title }) }]}
                style={{ maxWidth: 480 }}
              >
                <AutoComplete
                  id={`numbers_${r.role}`}
                  options={mine.map((s) => ({ value: s.serviceNumber, label: `${s.serviceNumber} · ${label('network', s.network)} · ${label('subStatus', s.status)}` }))}
                  filterOption={(input, o) => String(o?.value ?? '').includes(input.trim())}
                />
              </Form.Item>
            );
          })}
        </fieldset>
        {offer ? <GrantPreview items={grantItemsOf(offer)} from={from} /> : null}
        <DocumentsFields prefix={['documents']} customerKind={p.customer?.customer.kind} />
        <FormFooter onBack={p.onBack} busy={p.busy} />
      </Form>
    </Card>
  );
}
