import { Button, Result } from 'antd';
import { useNavigate } from 'react-router';
import { useI18n } from '../locales/index.tsx';

export default function NotFound() {
  const { t } = useI18n();
  const navigate = useNavigate();
  return (
    <Result
      status="404"
      title={t('notFound.title')}
      extra={
        <Button type="primary" onClick={() => navigate('/')}>
          {t('menu.workbench')}
        </Button>
      }
    />
  );
}
