// R-ORD-7 documents presented at the counter: who presents (the owner, or an agent with the agent's
// own ID), the owner's ID original (person), the business licence and unit certificate (organisation).
import { Checkbox, Col, Form, Input, Radio, Row, Select } from 'antd';
import { useI18n } from '../../locales/index.tsx';

const ID_TYPES = ['resident_id', 'passport', 'hk_macau_permit', 'taiwan_permit', 'military_id', 'business_licence'] as const;

export interface DocumentsValues {
  presenter?: 'owner' | 'agent';
  ownerIdOriginal?: boolean;
  businessLicence?: boolean;
  unitCertificate?: boolean;
  agent?: { name?: string; idType?: string; idNumber?: string };
}

/** The documents as the order body takes them. */
export function documentsBody(d: DocumentsValues | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { presenter: d?.presenter ?? 'owner' };
  if (d?.ownerIdOriginal) out.ownerIdOriginal = true;
  if (d?.businessLicence) out.businessLicence = true;
  if (d?.unitCertificate) out.unitCertificate = true;
  if (d?.presenter === 'agent' && d.agent) out.agent = { name: d.agent.name?.trim() ?? '', idType: d.agent.idType ?? 'resident_id', idNumber: d.agent.idNumber?.trim() ?? '' };
  return out;
}

export function DocumentsFields({ prefix, customerKind, title }: { prefix: (string | number)[]; customerKind?: 'person' | 'organisation' | undefined; title?: string }) {
  const { t, label } = useI18n();
  const form = Form.useFormInstance();
  const presenter = Form.useWatch([...prefix, 'presenter'], form) as string | undefined;
  const person = customerKind !== 'organisation';
  const org = customerKind !== 'person';
  return (
    <fieldset className="order-fieldset">
      <legend>{title ?? t('field.documents')}</legend>
      <Form.Item name={[...prefix, 'presenter']} label={t('field.presenter')} rules={[{ required: true, message: t('form.required', { label: t('field.presenter') }) }]}>
        <Radio.Group
          options={[
            { value: 'owner', label: t('enum.presenter.owner') },
            { value: 'agent', label: t('enum.presenter.agent') },
          ]}
        />
      </Form.Item>
      <Row gutter={16}>
        {person ? (
          <Col>
            <Form.Item name={[...prefix, 'ownerIdOriginal']} valuePropName="checked">
              <Checkbox>{t('field.ownerIdOriginal')}</Checkbox>
            </Form.Item>
          </Col>
        ) : null}
        {org ? (
          <>
            <Col>
              <Form.Item name={[...prefix, 'businessLicence']} valuePropName="checked">
                <Checkbox>{t('field.businessLicence')}</Checkbox>
              </Form.Item>
            </Col>
            <Col>
              <Form.Item name={[...prefix, 'unitCertificate']} valuePropName="checked">
                <Checkbox>{t('field.unitCertificate')}</Checkbox>
              </Form.Item>
            </Col>
          </>
        ) : null}
      </Row>
      {presenter === 'agent' ? (
        <Row gutter={16}>
          <Col xs={24} md={8}>
            <Form.Item name={[...prefix, 'agent', 'name']} label={t('field.agentName')} preserve={false} rules={[{ required: true, whitespace: true, message: t('form.required', { label: t('field.agentName') }) }]}>
              <Input maxLength={64} autoComplete="off" />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name={[...prefix, 'agent', 'idType']} label={t('field.idType')} preserve={false} initialValue="resident_id">
              <Select options={ID_TYPES.map((v) => ({ value: v, label: label('idType', v) }))} />
            </Form.Item>
          </Col>
          <Col xs={24} md={10}>
            <Form.Item name={[...prefix, 'agent', 'idNumber']} label={t('field.agentIdNumber')} preserve={false} rules={[{ required: true, whitespace: true, message: t('form.required', { label: t('field.agentIdNumber') }) }]}>
              <Input maxLength={32} autoComplete="off" className="mono" />
            </Form.Item>
          </Col>
        </Row>
      ) : null}
    </fieldset>
  );
}
