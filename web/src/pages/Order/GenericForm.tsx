// The form of every business type without a hand-written one, rendered from that type's branch of
// the POST /orders body schema: strings, enums (Select), integers, booleans, nested objects (the
// R-ORD-7 documents), arrays. Labels come from the locales (field.<name>, enum.<name>.<value>), the
// raw field name when there is none. Ids of the customer's subscribers and accounts are picked from
// the customer 360; amounts (…Fen) are typed in yuan.
import { Alert, Card, Checkbox, Form, Input, InputNumber, Select, Skeleton, Switch } from 'antd';
import { type ReactNode, useEffect, useState } from 'react';
import { useReference } from '../../components/useReference.ts';
import { type MessageKey, useI18n } from '../../locales/index.tsx';
import type { CustomerOverview } from '../../services/types.ts';
import { yuanToFen } from '../../utils/money.ts';
import { DocumentsFields } from './DocumentsFields.tsx';
import { FormFooter, type OrderFormProps } from './FormFooter.tsx';
import { AccountSelect, NumberPicker, OfferSelect, SimPicker, SubscriberSelect } from './pickers.tsx';
import { fieldsOf, includeKey, isFen, type JsonSchema, loadOrderSchema, maxFen, orderBranch, toBody, toValues, yuanText } from './schema.ts';

type Path = (string | number)[];
const ACCOUNT_FIELDS = new Set(['accountId', 'sourceAccountId', 'targetAccountId', 'payerAccountId']);
const OFFER_ARRAYS = new Set(['add', 'remove', 'features', 'packs']);

function useFieldLabel() {
  const { label } = useI18n();
  return (name: string) => label('field', name);
}

function FieldInput({ name, schema, path, required, customer }: { name: string; schema: JsonSchema; path: Path; required: boolean; customer: CustomerOverview | null }) {
  const { t, label, name: nameOf } = useI18n();
  const fieldLabel = useFieldLabel();
  // an enum value: its own label (enum.<field>.<value>), else the app's label group of the same name (idType, network…)
  const enumLabel = (field: string, v: string) => {
    const own = label(`enum.${field}`, v);
    return own === v ? label(field, v) : own;
  };
  const { bookTypes, billItems } = useReference();
  const title = fieldLabel(name);
  const req = required ? [{ required: true, message: t('form.required', { label: title }) }] : [];
  const type = schema.type;

  if (type === 'object') {
    if (name === 'documents' || name === 'newOwnerDocuments') return <DocumentsFields prefix={path} customerKind={name === 'documents' ? customer?.customer.kind : undefined} title={title} />;
    return <NestedObject name={name} schema={schema} path={path} required={required} customer={customer} />;
  }
  if (type === 'boolean') {
    return (
      <Form.Item name={path} valuePropName="checked">
        <Checkbox>{title}</Checkbox>
      </Form.Item>
    );
  }
  let control: ReactNode;
  let rules: object[] = req;
  const subs = customer?.subscribers ?? [];
  if (type === 'integer' && isFen(name)) {
    const allowZero = (schema.minimum ?? 1) <= 0;
    rules = [
      {
        validator: (_: unknown, v: string | undefined) => {
          if (v === undefined || v === null || String(v).trim() === '') return required ? Promise.reject(new Error(t('form.required', { label: title }))) : Promise.resolve();
          const r = yuanText(String(v), allowZero, yuanToFen);
          if (!r.ok) return Promise.reject(new Error(t(AMOUNT_ERRORS[r.reason])));
          if (r.fen > maxFen(schema)) return Promise.reject(new Error(t('payment.amount.tooLarge')));
          return Promise.resolve();
        },
      },
    ];
    control = <Input prefix="¥" suffix={t('payment.yuan')} inputMode="decimal" autoComplete="off" maxLength={16} />;
  } else if (name === 'customerId' && customer) {
    control = <Select disabled options={[{ value: customer.customer.customerId, label: `#${customer.customer.customerId} ${customer.customer.name}` }]} />;
  } else if (name === 'subscriberId' && subs.length) {
    control = <SubscriberSelect subscribers={subs} />;
  } else if (name === 'subscriberIds' && subs.length) {
    control = <SubscriberSelect subscribers={subs} multiple />;
  } else if (ACCOUNT_FIELDS.has(name) && customer?.accounts.length) {
    control = <AccountSelect accounts={customer.accounts} />;
  } else if (name === 'planCode') {
    control = <OfferSelect kinds={['plan']} />;
  } else if (name === 'packageCode') {
    control = <OfferSelect kinds={['package']} />;
  } else if (name === 'newNumber') {
    control = <NumberPicker />;
  } else if (name === 'iccid') {
    control = <SimPicker />;
  } else if (name === 'bookType') {
    control = <Select showSearch={{ optionFilterProp: 'label' }} options={bookTypes.map((b) => ({ value: b.code, label: nameOf(b) }))} />;
  } else if (name === 'restrictedItems') {
    control = <Select mode="multiple" showSearch={{ optionFilterProp: 'label' }} options={billItems.map((i) => ({ value: i.code, label: nameOf(i) }))} />;
  } else if (type === 'array' && OFFER_ARRAYS.has(name)) {
    control = <OfferSelect kinds={['feature', 'pack']} multiple />;
  } else if (type === 'array' && schema.items?.enum) {
    control = <Select mode="multiple" options={schema.items.enum.map((v) => ({ value: v, label: enumLabel(name, String(v)) }))} />;
  } else if (type === 'array') {
    const ints = schema.items?.type === 'integer';
    control = <Select mode="tags" open={false} tokenSeparators={[',', ' ', '，']} placeholder={t('form.tagsHint')} />;
    if (ints) rules = [...req, { validator: (_: unknown, v: string[] | undefined) => ((v ?? []).every((x) => /^\d{1,15}$/.test(String(x))) ? Promise.resolve() : Promise.reject(new Error(t('form.integers')))) }];
  } else if (schema.enum) {
    control = <Select showSearch={{ optionFilterProp: 'label' }} options={schema.enum.map((v) => ({ value: v, label: enumLabel(name, String(v)) }))} />;
  } else if (type === 'integer' || type === 'number') {
    control = <InputNumber min={schema.minimum} max={schema.maximum} precision={type === 'integer' ? 0 : undefined} style={{ width: 220 }} />;
  } else {
    const long = (schema.maxLength ?? 0) > 100;
    if (schema.pattern) {
      const re = new RegExp(schema.pattern);
      rules = [...req, { validator: (_: unknown, v: string | undefined) => (!v || re.test(v.trim()) ? Promise.resolve() : Promise.reject(new Error(t('form.format', { label: title })))) }];
    }
    control = long ? <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} maxLength={schema.maxLength} /> : <Input maxLength={schema.maxLength} autoComplete="off" />;
  }
  return (
    <Form.Item name={path} label={title} rules={rules} required={required} style={{ maxWidth: 640 }}>
      {control}
    </Form.Item>
  );
}

const AMOUNT_ERRORS: Record<'empty' | 'format' | 'zero' | 'too_large', MessageKey> = { empty: 'payment.amount.empty', format: 'payment.amount.format', zero: 'payment.amount.zero', too_large: 'payment.amount.tooLarge' };

/** An object inside the body; an optional one is filled in only when switched on. */
function NestedObject({ name, schema, path, required, customer }: { name: string; schema: JsonSchema; path: Path; required: boolean; customer: CustomerOverview | null }) {
  const fieldLabel = useFieldLabel();
  const form = Form.useFormInstance();
  const toggle = [...path.slice(0, -1), includeKey(name)];
  const on = Form.useWatch(toggle, form) as boolean | undefined;
  return (
    <fieldset className="order-fieldset">
      <legend>
        {fieldLabel(name)}
        {required ? null : (
          <Form.Item name={toggle} valuePropName="checked" noStyle>
            <Switch size="small" style={{ marginInlineStart: 8 }} aria-label={fieldLabel(name)} />
          </Form.Item>
        )}
      </legend>
      {required || on ? fieldsOf(schema).map((f) => <FieldInput key={f.name} name={f.name} schema={f.schema} path={[...path, f.name]} required={f.required} customer={customer} />) : null}
    </fieldset>
  );
}

export function GenericForm({ businessType, customer, subscriberId, initial, onSubmit, onBack, busy }: OrderFormProps) {
  const { t } = useI18n();
  const [branch, setBranch] = useState<JsonSchema | null | undefined>(undefined);
  const [form] = Form.useForm();
  useEffect(() => {
    let live = true;
    loadOrderSchema()
      .then((doc) => live && setBranch(orderBranch(doc, businessType) ?? null))
      .catch(() => live && setBranch(null));
    return () => {
      live = false;
    };
  }, [businessType]);

  if (branch === undefined) return <Skeleton active />;
  if (branch === null) return <Alert type="error" showIcon title={t('order.noSchema', { type: businessType })} />;

  const props = branch.properties ?? {};
  const initialValues = {
    ...(props.customerId && customer ? { customerId: customer.customer.customerId } : {}),
    ...(props.subscriberId && subscriberId ? { subscriberId } : {}),
    ...(props.documents ? { documents: { presenter: 'owner', ownerIdOriginal: customer?.customer.kind === 'person' } } : {}),
    ...(props.newOwnerDocuments ? { newOwnerDocuments: { presenter: 'owner' } } : {}),
    ...(initial ? toValues(branch, initial) : {}),
  };
  return (
    <Card data-testid="order-form">
      <Form
        form={form}
        layout="vertical"
        initialValues={initialValues}
        disabled={busy}
        onFinish={(values: Record<string, unknown>) => onSubmit({ businessType, ...toBody(branch, values, yuanToFen) })}
        scrollToFirstError
      >
        {fieldsOf(branch).map((f) => (
          <FieldInput key={f.name} name={f.name} schema={f.schema} path={[f.name]} required={f.required} customer={customer} />
        ))}
        <FormFooter onBack={onBack} busy={busy} />
      </Form>
    </Card>
  );
}
