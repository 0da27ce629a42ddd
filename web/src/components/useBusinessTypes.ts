// Business types (GET /business-types) with their names in the operator's language; read once per page load.
import { useEffect, useState } from 'react';
import { useI18n } from '../locales/index.tsx';
import { type BusinessTypeInfo, businessTypes } from '../services/orders.ts';

let typesP: Promise<BusinessTypeInfo[]> | undefined;

export function useBusinessTypes() {
  const { pick } = useI18n();
  const [types, setTypes] = useState<BusinessTypeInfo[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    typesP ??= businessTypes();
    typesP
      .then((r) => live && setTypes(r))
      .catch((e: unknown) => {
        typesP = undefined;
        if (live) setError(e);
      });
    return () => {
      live = false;
    };
  }, []);
  const typeName = (code: string) => {
    const r = types.find((x) => x.code === code);
    return r ? pick(r.name) : code;
  };
  return { types, typeName, error };
}
