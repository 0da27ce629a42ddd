// What every order form shares: its props, the back/next buttons, and the focus on its first field.
import { ArrowLeftOutlined, ArrowRightOutlined } from '@ant-design/icons';
import { Button, Space } from 'antd';
import { useEffect, useRef } from 'react';
import { useI18n } from '../../locales/index.tsx';
import type { CustomerOverview } from '../../services/types.ts';

export interface OrderFormProps {
  businessType: string;
  customer: CustomerOverview | null;
  /** preselected from the customer 360 (办理业务 on a subscriber) */
  subscriberId?: number | undefined;
  /** the stored input of an order being changed */
  initial?: Record<string, unknown> | undefined;
  onSubmit(body: { businessType: string } & Record<string, unknown>): void;
  onBack(): void;
  busy: boolean;
}

/** Back, and "next: check" (Enter in any field submits the form). Focuses the form's first field. */
export function FormFooter({ onBack, busy }: { onBack(): void; busy: boolean }) {
  const { t } = useI18n();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const form = ref.current?.closest('form');
    const first = form?.querySelector<HTMLElement>('input:not([disabled]):not([type=hidden]), textarea:not([disabled])');
    first?.focus();
  }, []);
  return (
    <div ref={ref}>
      <Space style={{ marginTop: 8 }}>
        <Button icon={<ArrowLeftOutlined />} onClick={onBack} disabled={busy}>
          {t('order.prev')}
        </Button>
        <Button type="primary" htmlType="submit" loading={busy} icon={<ArrowRightOutlined />} iconPlacement="end" data-testid="order-form-next">
          {t('order.toCheck')}
        </Button>
      </Space>
    </div>
  );
}
