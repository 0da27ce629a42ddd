// i18n: zh-CN first, en-US on the switch. Pages call t('key') for their own text, pick() for a
// server message pair {zh, en}, name() for configuration with nameZh/nameEn, label() for codes.
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import enUS from './en-US.ts';
import { currentLang, type Lang, storeLang } from './lang.ts';
import zhCN, { type MessageKey } from './zh-CN.ts';

export type { Lang, MessageKey };
const MESSAGES: Record<Lang, Record<MessageKey, string>> = { 'zh-CN': zhCN, 'en-US': enUS };

export interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  /** The text of a key; `{name}` placeholders are filled from vars. */
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  pick(m: { zh: string; en: string }): string;
  name(r: { nameZh: string; nameEn: string }): string;
  /** A code's label, e.g. label('network', 'gsm2g'); an unknown code shows as itself. */
  label(group: string, code: string | null | undefined): string;
}

const Ctx = createContext<I18n | null>(null);

export function LocaleProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(currentLang);
  const setLang = useCallback((l: Lang) => {
    storeLang(l);
    setLangState(l);
  }, []);
  const value = useMemo<I18n>(() => {
    const dict = MESSAGES[lang];
    const t = (key: MessageKey, vars?: Record<string, string | number>) => {
      const text = dict[key] ?? key;
      return vars ? text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : text;
    };
    return {
      lang,
      setLang,
      t,
      pick: (m) => (lang === 'en-US' ? m.en : m.zh),
      name: (r) => (lang === 'en-US' ? r.nameEn : r.nameZh),
      label: (group, code) => {
        if (code === null || code === undefined || code === '') return '';
        const key = `${group}.${code}`;
        return key in dict ? dict[key as MessageKey] : code;
      },
    };
  }, [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error('useI18n outside LocaleProvider');
  return v;
}
