// 捆绑业务 in the customer 360 (SPEC §8): each bundle of the customer with its members (role, line,
// status), whether it is active or ended, the grants per month (granted, or skipped and why —
// R-BND-7, R-BND-8) and the family numbers of each month (R-BND-9). Nothing when the customer has none.
import { Card } from 'antd';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useI18n } from '../../locales/index.tsx';
import { customerBundles } from '../../services/bundles.ts';
import { BundleCard } from '../Bundles/common.tsx';
import { useLoad } from '../Stock/common.tsx';

export function CustomerBundles({ customerId, version }: { customerId: number; version: number }) {
  const { t } = useI18n();
  const { data, error, reload } = useLoad(() => customerBundles(customerId), [customerId, version]);
  if (error) return <ErrorAlert error={error} onRetry={reload} style={{ marginTop: 16 }} />;
  if (!data || data.length === 0) return null;
  // active bundles first, then the latest ended
  const rows = [...data].sort((a, b) => (a.status === b.status ? b.packageId - a.packageId : a.status === 'active' ? -1 : 1));
  return (
    <Card title={t('bundle.title')} style={{ marginTop: 16 }} data-testid="customer-bundles">
      {rows.map((b) => (
        <BundleCard key={b.packageId} b={b} />
      ))}
    </Card>
  );
}
