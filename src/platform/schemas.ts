// Shared TypeBox pieces for routes: ids, money, problems, open response objects with examples.
import { type TSchema, Type } from 'typebox';
import { MAX_AMOUNT_FEN } from './money.ts';

export const StrEnum = <const T extends readonly string[]>(values: T, opts: Record<string, unknown> = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

/** Money in integer fen (R-ACC-7): positive, whole, at most 100 million yuan. */
export const AmountFen = (opts: Record<string, unknown> = {}) => Type.Integer({ minimum: 1, maximum: MAX_AMOUNT_FEN, ...opts });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    messages: Type.Object({ zh: Type.String(), en: Type.String() }),
    instance: Type.Optional(Type.String()),
    details: Type.Optional(Type.Unknown()),
  },
  {
    $id: 'Problem',
    description: 'RFC 9457 problem details with a stable code and messages in zh and en',
    examples: [
      {
        type: 'https://openboss.dev/problems/unknown-book-type',
        title: 'UNKNOWN_BOOK_TYPE',
        status: 422,
        detail: '帐本类型不存在：gold',
        code: 'UNKNOWN_BOOK_TYPE',
        messages: { zh: '帐本类型不存在：gold', en: 'Unknown book type: gold' },
        instance: '/api/v1/accounts/1/payments',
      },
    ],
  },
);

const problemRef = Type.Unsafe({ $ref: 'Problem#' });

/** Error responses a route may give, all problem+json. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of [400, 401, ...statuses]) out[s] = problemRef;
  return out;
}

/** An open response object documented by its example. */
export const Example = (description: string, example: unknown) =>
  Type.Object({}, { additionalProperties: true, description, examples: [example] });
