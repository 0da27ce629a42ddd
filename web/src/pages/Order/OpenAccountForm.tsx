// 新开户 OPEN_ACCOUNT (SPEC §7.2, R-ORD-7, R-E9-1): one subscriber on a plan, or every member of a
// package (e9-C / e9-G: the mobile and the broadband) on a new or an existing account, with the
// documents presented and an optional prestore typed in yuan.
import { Card, Col, Form, Input, Radio, Row, Select, Typography } from 'antd';
import { useI18n } from '../../locales/index.tsx';
import { yuanToFen } from '../../utils/money.ts';
import { type DocumentsValues, DocumentsFields, documentsBody } from './DocumentsFields.tsx';
import { FormFooter, type OrderFormProps } from './FormFooter.tsx';
import { type MemberValues, MemberFields, memberBody, memberValues } from './MemberFields.tsx';
import { AccountSelect, OfferSelect, useOffers } from './pickers.tsx';
import { fenToYuanText, yuanText } from './schema.ts';

const NETWORKS = ['gsm2g', 'wcdma3g', 'broadband', 'fixed'] as const;
const BILLING = ['virtual', 'quota', 'monthly'] as const;
const PAYMENT = ['cash', 'recharge_card', 'bank_agency', 'bank_collection'] as const;

interface Values {
  documents?: DocumentsValues;
  mode: 'package' | 'plan';
  packageCode?: string;
  network?: string;
  accountMode: 'new' | 'existing';
  accountId?: number;
  newAccount?: { billingType?: string; paymentMethod?: string; bankName?: string; bankAccountHolder?: string; bankAccountNumber?: string };
  members?: MemberValues[];
  prestore?: string;
}

/** Keeps what was typed for a role when the package changes. */
function membersFor(roles: { role: string; network: string }[], old: MemberValues[] | undefined): MemberValues[] {
  return roles.map((r) => {
    const had = old?.find((m) => m.role === r.role && m.network === r.network);
    return had ?? { role: r.role, network: r.network, ...(r.network === 'broadband' ? { bandwidthMbps: 4 } : {}) };
  });
}

function initialValues(p: OrderFormProps): Values {
  const i = p.initial;
  if (!i) {
    return {
      documents: { presenter: 'owner', ownerIdOriginal: p.customer?.customer.kind === 'person' },
      mode: 'package',
      accountMode: 'new',
      newAccount: { billingType: 'virtual', paymentMethod: 'cash' },
      members: [],
    };
  }
  const members = ((i.members as Record<string, unknown>[] | undefined) ?? []).map(memberValues);
  return {
    documents: i.documents as DocumentsValues,
    mode: i.packageCode ? 'package' : 'plan',
    packageCode: i.packageCode as string | undefined,
    network: i.packageCode ? undefined : members[0]?.network,
    accountMode: i.accountId ? 'existing' : 'new',
    accountId: i.accountId as number | undefined,
    newAccount: (i.newAccount as Values['newAccount']) ?? { billingType: 'virtual', paymentMethod: 'cash' },
    members,
    prestore: typeof i.prestoreFen === 'number' ? fenToYuanText(i.prestoreFen) : undefined,
  };
}

export function OpenAccountForm(p: OrderFormProps) {
  const { t, label } = useI18n();
  const [form] = Form.useForm<Values>();
  const offers = useOffers();
  const mode = Form.useWatch('mode', form);
  const accountMode = Form.useWatch('accountMode', form);
  const paymentMethod = Form.useWatch(['newAccount', 'paymentMethod'], form);
  const members = (Form.useWatch('members', { form, preserve: true }) ?? []) as MemberValues[];
  const customer = p.customer;

  const onValuesChange = (changed: Partial<Values>, all: Values) => {
    if ('mode' in changed || 'packageCode' in changed || 'network' in changed) {
      if (all.mode === 'package') {
        const pkg = offers.find((o) => o.offerCode === all.packageCode);
        form.setFieldValue('members', membersFor(pkg?.members ?? [], all.members));
      } else {
        form.setFieldValue('members', all.network ? membersFor([{ role: 'main', network: all.network }], all.members) : []);
      }
    }
  };

  const submit = (v: Values) => {
    const prestore = v.prestore?.trim() ? yuanText(v.prestore, false, yuanToFen) : null;
    const na = v.newAccount ?? {};
    const bank = na.paymentMethod === 'bank_collection' || na.paymentMethod === 'bank_agency';
    p.onSubmit({
      businessType: 'OPEN_ACCOUNT',
      customerId: customer?.customer.customerId ?? 0,
      documents: documentsBody(v.documents),
      ...(v.mode === 'package' && v.packageCode ? { packageCode: v.packageCode } : {}),
      ...(v.accountMode === 'existing'
        ? { accountId: v.accountId }
        : {
            newAccount: {
              billingType: na.billingType ?? 'virtual',
              paymentMethod: na.paymentMethod ?? 'cash',
              ...(bank && na.bankName?.trim() ? { bankName: na.bankName.trim() } : {}),
              ...(bank && na.bankAccountHolder?.trim() ? { bankAccountHolder: na.bankAccountHolder.trim() } : {}),
              ...(bank && na.bankAccountNumber?.trim() ? { bankAccountNumber: na.bankAccountNumber.trim() } : {}),
            },
          }),
      members: (v.members ?? []).map(memberBody),
      ...(prestore?.ok ? { prestoreFen: prestore.fen } : {}),
    });
  };

  return (
    <Card data-testid="order-form">
      <Form<Values> form={form} layout="vertical" initialValues={initialValues(p)} onValuesChange={onValuesChange} onFinish={submit} disabled={p.busy} scrollToFirstError>
        <DocumentsFields prefix={['documents']} customerKind={customer?.customer.kind} />

        <fieldset className="order-fieldset">
          <legend>{t('order.product')}</legend>
          <Form.Item name="mode" label={t('order.productMode')}>
            <Radio.Group
              optionType="button"
              options={[
                { value: 'package', label: t('order.modePackage') },
                { value: 'plan', label: t('order.modePlan') },
              ]}
            />
          </Form.Item>
          {mode === 'plan' ? (
            <Form.Item name="network" label={t('field.network')} rules={[{ required: true, message: t('form.required', { label: t('field.network') }) }]}>
              <Select showSearch={{ optionFilterProp: 'label' }} style={{ maxWidth: 320 }} options={NETWORKS.map((n) => ({ value: n, label: label('network', n) }))} />
            </Form.Item>
          ) : (
            <Form.Item name="packageCode" label={t('field.packageCode')} rules={[{ required: true, message: t('form.required', { label: t('field.packageCode') }) }]}>
              <OfferSelect kinds={['package']} style={{ maxWidth: 480 }} />
            </Form.Item>
          )}
        </fieldset>

        <fieldset className="order-fieldset">
          <legend>{t('order.account')}</legend>
          <Form.Item name="accountMode">
            <Radio.Group
              optionType="button"
              options={[
                { value: 'new', label: t('order.accountNew') },
                { value: 'existing', label: t('order.accountExisting'), disabled: !customer?.accounts.length },
              ]}
            />
          </Form.Item>
          {accountMode === 'existing' ? (
            <Form.Item name="accountId" label={t('field.accountId')} rules={[{ required: true, message: t('form.required', { label: t('field.accountId') }) }]}>
              <AccountSelect accounts={(customer?.accounts ?? []).filter((a) => a.status === 'active')} style={{ maxWidth: 480 }} />
            </Form.Item>
          ) : (
            <Row gutter={16}>
              <Col xs={24} md={8}>
                <Form.Item name={['newAccount', 'billingType']} label={t('account.billingType')}>
                  <Select showSearch={{ optionFilterProp: 'label' }} options={BILLING.map((b) => ({ value: b, label: label('billingType', b) }))} />
                </Form.Item>
              </Col>
              <Col xs={24} md={8}>
                <Form.Item name={['newAccount', 'paymentMethod']} label={t('account.paymentMethod')}>
                  <Select showSearch={{ optionFilterProp: 'label' }} options={PAYMENT.map((b) => ({ value: b, label: label('paymentMethod', b) }))} />
                </Form.Item>
              </Col>
              {paymentMethod === 'bank_collection' || paymentMethod === 'bank_agency' ? (
                <>
                  <Col xs={24} md={8}>
                    <Form.Item name={['newAccount', 'bankName']} label={t('field.bankName')}>
                      <Input maxLength={64} />
                    </Form.Item>
                  </Col>
                  <Col xs={24} md={8}>
                    <Form.Item name={['newAccount', 'bankAccountHolder']} label={t('field.bankAccountHolder')}>
                      <Input maxLength={64} />
                    </Form.Item>
                  </Col>
                  <Col xs={24} md={8}>
                    <Form.Item name={['newAccount', 'bankAccountNumber']} label={t('field.bankAccountNumber')} rules={[{ pattern: /^[0-9]{8,32}$/, message: t('form.format', { label: t('field.bankAccountNumber') }) }]}>
                      <Input maxLength={32} className="mono" />
                    </Form.Item>
                  </Col>
                </>
              ) : null}
            </Row>
          )}
        </fieldset>

        <fieldset className="order-fieldset">
          <legend>{t('order.members')}</legend>
          {members.length === 0 ? <Typography.Paragraph type="secondary">{mode === 'plan' ? t('order.pickNetwork') : t('order.pickPackage')}</Typography.Paragraph> : null}
          {members.map((m, i) => (
            <MemberFields key={`${m.role}-${m.network}`} index={i} withPlan={mode === 'plan'} />
          ))}
        </fieldset>

        <Form.Item
          name="prestore"
          label={t('field.prestoreFen')}
          extra={t('order.prestoreHint')}
          rules={[
            {
              validator: (_: unknown, v: string | undefined) => {
                if (!v?.trim()) return Promise.resolve();
                const r = yuanText(v, false, yuanToFen);
                return r.ok ? Promise.resolve() : Promise.reject(new Error(t(r.reason === 'zero' ? 'payment.amount.zero' : r.reason === 'too_large' ? 'payment.amount.tooLarge' : 'payment.amount.format')));
              },
            },
          ]}
        >
          <Input prefix="¥" suffix={t('payment.yuan')} inputMode="decimal" autoComplete="off" maxLength={16} style={{ maxWidth: 240 }} />
        </Form.Item>
        <FormFooter onBack={p.onBack} busy={p.busy} />
      </Form>
    </Card>
  );
}
