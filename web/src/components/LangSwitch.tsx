import { ConfigProvider, Segmented } from 'antd';
import { type Lang, useI18n } from '../locales/index.tsx';

// readable on the dark top bar
const ON_DARK = { components: { Segmented: { trackBg: 'rgba(255,255,255,0.12)', itemColor: 'rgba(255,255,255,0.85)', itemHoverColor: '#fff', itemSelectedBg: '#fff', itemSelectedColor: '#001529' } } };

/** 中文 | English, remembered in localStorage. */
export function LangSwitch({ dark = false }: { dark?: boolean }) {
  const { lang, setLang, t } = useI18n();
  const control = (
    <Segmented<Lang>
      size="small"
      aria-label={t('lang.switch')}
      value={lang}
      onChange={setLang}
      options={[
        { label: '中文', value: 'zh-CN' },
        { label: 'English', value: 'en-US' },
      ]}
    />
  );
  return dark ? <ConfigProvider theme={ON_DARK}>{control}</ConfigProvider> : control;
}
