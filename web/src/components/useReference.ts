// Book types and bill items (configuration) with their names in the operator's language.
import { useEffect, useState } from 'react';
import { useI18n } from '../locales/index.tsx';
import { billItems, bookTypes } from '../services/frontdesk.ts';
import type { BillItem, BookType } from '../services/types.ts';

export function useReference() {
  const { name } = useI18n();
  const [types, setTypes] = useState<BookType[]>([]);
  const [items, setItems] = useState<BillItem[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    Promise.all([bookTypes(), billItems()])
      .then(([t, i]) => {
        if (!live) return;
        setTypes(t);
        setItems(i);
      })
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, []);
  const bookTypeName = (code: string) => {
    const r = types.find((x) => x.code === code);
    return r ? name(r) : code;
  };
  const itemName = (code: string) => {
    const r = items.find((x) => x.code === code);
    return r ? name(r) : code;
  };
  return { bookTypes: types, billItems: items, bookTypeName, itemName, error };
}
