// A failed call shown as a sentence in the operator's language (the problem's zh/en message), never raw JSON.
import { Alert, Button } from 'antd';
import type { CSSProperties } from 'react';
import { useI18n } from '../locales/index.tsx';
import { ApiError, toApiError } from '../services/api.ts';

export function ErrorAlert({ error, onRetry, style }: { error: unknown; onRetry?: () => void; style?: CSSProperties }) {
  const { lang, t } = useI18n();
  const err = error instanceof ApiError ? error : toApiError(0, undefined);
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      style={style}
      title={err.text(lang)}
      description={err.code.startsWith('HTTP_') || err.code === 'NETWORK' ? undefined : t('error.code', { code: err.code })}
      action={
        onRetry ? (
          <Button size="small" onClick={onRetry}>
            {t('action.retry')}
          </Button>
        ) : undefined
      }
    />
  );
}
