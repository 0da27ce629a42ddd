// 加装 ADD_ON (R-E9-3 当期到期续费): a package (e9-G) attached to an existing subscriber of the
// customer (the old broadband), the package's other members (the mobile) opened on the same account.
import { Card, Form, Typography } from 'antd';
import { useI18n } from '../../locales/index.tsx';
import { type DocumentsValues, DocumentsFields, documentsBody } from './DocumentsFields.tsx';
import { FormFooter, type OrderFormProps } from './FormFooter.tsx';
import { type MemberValues, MemberFields, memberBody, memberValues } from './MemberFields.tsx';
import { OfferSelect, SubscriberSelect, useOffers } from './pickers.tsx';

interface Values {
  subscriberId?: number;
  packageCode?: string;
  documents?: DocumentsValues;
  members?: MemberValues[];
}

export function AddOnForm(p: OrderFormProps) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const offers = useOffers();
  const members = (Form.useWatch('members', { form, preserve: true }) ?? []) as MemberValues[];
  const subs = (p.customer?.subscribers ?? []).filter((s) => s.status !== 'cancelled' && s.status !== 'pre_cancelled');

  /** The package's members but the one the existing subscriber becomes (its network's role). */
  const newMembers = (subscriberId: number | undefined, packageCode: string | undefined, old: MemberValues[] | undefined): MemberValues[] => {
    const pkg = offers.find((o) => o.offerCode === packageCode);
    const network = subs.find((s) => s.subscriberId === subscriberId)?.network;
    const roles = (pkg?.members ?? []).filter((m) => m.network !== network);
    return roles.map((r) => old?.find((m) => m.role === r.role && m.network === r.network) ?? { role: r.role, network: r.network });
  };

  const initial: Values = p.initial
    ? {
        subscriberId: p.initial.subscriberId as number,
        packageCode: p.initial.packageCode as string,
        documents: p.initial.documents as DocumentsValues,
        members: ((p.initial.members as Record<string, unknown>[] | undefined) ?? []).map(memberValues),
      }
    : { subscriberId: p.subscriberId, documents: { presenter: 'owner', ownerIdOriginal: p.customer?.customer.kind === 'person' }, members: [] };

  return (
    <Card data-testid="order-form">
      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={initial}
        disabled={p.busy}
        scrollToFirstError
        onValuesChange={(changed, all) => {
          if ('subscriberId' in changed || 'packageCode' in changed) form.setFieldValue('members', newMembers(all.subscriberId, all.packageCode, all.members));
        }}
        onFinish={(v) =>
          p.onSubmit({
            businessType: 'ADD_ON',
            subscriberId: v.subscriberId ?? 0,
            packageCode: v.packageCode ?? '',
            documents: documentsBody(v.documents),
            members: (v.members ?? []).map(memberBody),
          })
        }
      >
        <Form.Item name="subscriberId" label={t('order.addOnSubscriber')} rules={[{ required: true, message: t('form.required', { label: t('order.addOnSubscriber') }) }]} extra={t('order.addOnHint')}>
          <SubscriberSelect subscribers={subs} style={{ maxWidth: 480 }} />
        </Form.Item>
        <Form.Item name="packageCode" label={t('field.packageCode')} rules={[{ required: true, message: t('form.required', { label: t('field.packageCode') }) }]}>
          <OfferSelect kinds={['package']} style={{ maxWidth: 480 }} />
        </Form.Item>
        <DocumentsFields prefix={['documents']} customerKind={p.customer?.customer.kind} />
        <fieldset className="order-fieldset">
          <legend>{t('order.addOnMembers')}</legend>
          {members.length === 0 ? <Typography.Paragraph type="secondary">{t('order.pickPackage')}</Typography.Paragraph> : null}
          {members.map((m, i) => (
            <MemberFields key={`${m.role}-${m.network}`} index={i} withPlan={false} />
          ))}
        </fieldset>
        <FormFooter onBack={p.onBack} busy={p.busy} />
      </Form>
    </Card>
  );
}
