// The generic order form's model: each business type's branch of the POST /orders body schema
// (web/src/services/openapi.json, `npm run gen:api`) turned into form fields, and the form's values
// turned back into the order body. Pure functions, no React: the form renders what these describe.
// Amounts: a field whose name ends in `Fen` is typed in yuan and sent as integer fen (R-ACC-7).
import { MAX_AMOUNT_FEN } from '../../utils/money.ts';

export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  enum?: (string | number)[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

interface OpenApiDoc {
  paths: Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: { oneOf?: JsonSchema[] } }> } } }>;
}

/** The branch of the POST /orders body for one business type (its `businessType` is a one-value enum). */
export function orderBranch(doc: unknown, code: string): JsonSchema | undefined {
  const oneOf = (doc as OpenApiDoc).paths['/api/v1/orders']?.post?.requestBody?.content?.['application/json']?.schema?.oneOf ?? [];
  return oneOf.find((b) => b.title === code || b.properties?.businessType?.enum?.[0] === code || b.properties?.businessType?.const === code);
}

/** The schema loaded once, in its own chunk: only the generic form needs it. */
let docP: Promise<unknown> | undefined;
export function loadOrderSchema(): Promise<unknown> {
  docP ??= import('../../services/openapi.json').then((m) => m.default as unknown);
  return docP;
}

export const isFen = (name: string) => name.endsWith('Fen');

/** Where a toggled optional object keeps its "filled in" switch, beside the object. */
export const includeKey = (name: string) => `${name}__include`;

/** Fields the form fills itself (the discriminator). */
const HIDDEN = new Set(['businessType']);

export interface FieldSpec {
  name: string;
  schema: JsonSchema;
  required: boolean;
}

/** The fields of an object schema in schema order, without the discriminator. */
export function fieldsOf(s: JsonSchema): FieldSpec[] {
  const req = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {})
    .filter(([name]) => !HIDDEN.has(name))
    .map(([name, schema]) => ({ name, schema, required: req.has(name) }));
}

export type YuanResult = { ok: true; fen: number } | { ok: false; reason: 'empty' | 'format' | 'zero' | 'too_large' };

/** Yuan text → fen, as utils/money.yuanToFen, but zero is allowed where the schema allows it (a handset's price). */
export function yuanText(input: string, allowZero: boolean, yuanToFen: (s: string) => YuanResult): YuanResult {
  const r = yuanToFen(input);
  if (!r.ok && r.reason === 'zero' && allowZero) return { ok: true, fen: 0 };
  return r;
}

/** fen → the yuan text the form shows ("12.5" for 1250, "0" for 0). */
export function fenToYuanText(fen: number): string {
  const yuan = Math.trunc(fen / 100);
  const rest = fen % 100;
  return rest === 0 ? String(yuan) : `${yuan}.${String(rest).padStart(2, '0').replace(/0$/, '')}`;
}

type Values = Record<string, unknown>;

const filled = (v: unknown): boolean => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.values(v).some(filled) : !empty(v) && v !== false);

const empty = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

/**
 * The form's values → the order body of this schema. Empty optional fields are left out, yuan become
 * fen, optional objects are sent only when switched on. Throws on an amount the validators let pass.
 */
export function toBody(s: JsonSchema, values: Values, yuanToFen: (s: string) => YuanResult): Values {
  const out: Values = {};
  for (const f of fieldsOf(s)) {
    const v = values[f.name];
    const t = f.schema.type;
    if (t === 'object') {
      // an optional object goes when switched on, or (no switch) when anything in it is filled in
      const on = values[includeKey(f.name)];
      if (!f.required && (on === false || (on === undefined && !filled(v)))) continue;
      out[f.name] = toBody(f.schema, (v ?? {}) as Values, yuanToFen);
      continue;
    }
    if (empty(v)) continue;
    if (t === 'integer' && isFen(f.name)) {
      const r = yuanText(String(v), (f.schema.minimum ?? 1) <= 0, yuanToFen);
      if (!r.ok) throw new Error(`${f.name}: ${r.reason}`);
      out[f.name] = r.fen;
    } else if (t === 'integer' || t === 'number') {
      out[f.name] = Number(v);
    } else if (t === 'array') {
      const items = (v as unknown[]).map((x) => (f.schema.items?.type === 'integer' ? Number(x) : typeof x === 'string' ? x.trim() : x));
      out[f.name] = items;
    } else if (t === 'string') {
      out[f.name] = String(v).trim();
    } else {
      out[f.name] = v;
    }
  }
  return out;
}

/** An order's stored input → the form's values (fen back to yuan, optional objects switched on). */
export function toValues(s: JsonSchema, body: Values): Values {
  const out: Values = {};
  for (const f of fieldsOf(s)) {
    const v = body[f.name];
    if (v === undefined) continue;
    if (f.schema.type === 'object' && v && typeof v === 'object') {
      out[f.name] = toValues(f.schema, v as Values);
      if (!f.required) out[includeKey(f.name)] = true;
    } else if (f.schema.type === 'integer' && isFen(f.name) && typeof v === 'number') {
      out[f.name] = fenToYuanText(v);
    } else {
      out[f.name] = v;
    }
  }
  return out;
}

/** The largest amount a Fen field takes, in fen (the schema's maximum, or the API's single-amount cap). */
export const maxFen = (s: JsonSchema) => s.maximum ?? MAX_AMOUNT_FEN;
