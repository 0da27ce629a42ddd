import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The one error type of the domain: a stable code, messages in zh and en, an HTTP status. */
export class DomainError extends Error {
  readonly code: string;
  readonly zh: string;
  readonly en: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, zh: string, en: string, status = 422, details?: unknown) {
    super(en);
    this.name = 'DomainError';
    this.code = code;
    this.zh = zh;
    this.en = en;
    this.status = status;
    this.details = details;
  }
}

export const notFound = (what: { zh: string; en: string }, id: unknown): DomainError =>
  new DomainError('NOT_FOUND', `${what.zh}不存在：${String(id)}`, `${what.en} not found: ${String(id)}`, 404, { id });

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  messages: { zh: string; en: string };
  instance?: string;
  details?: unknown;
}

function wantsChinese(req: FastifyRequest): boolean {
  const lang = String(req.headers['accept-language'] ?? 'zh');
  return !lang.toLowerCase().startsWith('en');
}

export function problemOf(err: DomainError, req: FastifyRequest): Problem {
  const zh = wantsChinese(req);
  return {
    type: `https://openboss.dev/problems/${err.code.toLowerCase().replaceAll('_', '-')}`,
    title: err.code,
    status: err.status,
    detail: zh ? err.zh : err.en,
    code: err.code,
    messages: { zh: err.zh, en: err.en },
    instance: req.url,
    ...(err.details === undefined ? {} : { details: err.details }),
  };
}

export function sendProblem(reply: FastifyReply, req: FastifyRequest, err: DomainError): FastifyReply {
  return reply.status(err.status).type('application/problem+json; charset=utf-8').send(problemOf(err, req));
}

/** Unique constraints whose violation means the same as the service's own duplicate check (same code). */
const UNIQUE_CONFLICTS: Record<string, [string, string, string]> = {
  customers_id_type_id_number_key: ['CUSTOMER_EXISTS', '该证件已登记为客户', 'A customer with this ID document exists'],
  subscribers_number_idx: ['SERVICE_NUMBER_TAKEN', '号码已被使用', 'The service number is in use'],
  payment_relations_unique_idx: ['RELATION_EXISTS', '该帐户已为此用户付费', 'That account already pays for this subscriber'],
  operators_username_key: ['OPERATOR_EXISTS', '工号已存在', 'The operator exists'],
};

/** Maps framework errors (validation, bad JSON, body too large…) to problem+json; never a 500 for a client's mistake. */
export function translateError(err: FastifyError | Error): DomainError {
  if (err instanceof DomainError) return err;
  const fe = err as FastifyError & { validation?: unknown[]; validationContext?: string };
  if (fe.validation) {
    return new DomainError('VALIDATION_FAILED', `请求参数不正确：${fe.message}`, `Invalid request: ${fe.message}`, 400, {
      errors: fe.validation,
      in: fe.validationContext,
    });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new DomainError('MALFORMED_JSON', '请求体不是合法的 JSON', 'The request body is not valid JSON', 400);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new DomainError('UNSUPPORTED_MEDIA_TYPE', '不支持的内容类型，请使用 application/json', 'Unsupported media type; send application/json', 415);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DomainError('BODY_TOO_LARGE', '请求体过大', 'The request body is too large', 413);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new DomainError('BAD_CONTENT_LENGTH', 'Content-Length 不正确', 'Invalid Content-Length', 400);
    case 'FST_ERR_BAD_URL':
      return new DomainError('BAD_URL', '请求地址不正确（编码错误）', 'The URL is not validly encoded', 400);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new DomainError('PARAM_TOO_LONG', '请求地址中的参数过长', 'A path parameter is too long', 414);
    default:
      break;
  }
  if (fe.statusCode === 429) {
    return new DomainError('RATE_LIMITED', '请求过于频繁，请稍后再试', 'Too many requests; try again later', 429);
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new DomainError('BAD_REQUEST', `请求不正确：${fe.message}`, `Bad request: ${fe.message}`, fe.statusCode);
  }
  // A database refusal caused by the request (e.g. a value out of range) is still the client's mistake.
  const pgCode = (err as { code?: unknown }).code;
  if (pgCode === '22003' || pgCode === '22P02' || pgCode === '22007' || pgCode === '22008') {
    return new DomainError('VALUE_OUT_OF_RANGE', '参数取值超出范围', 'A value is out of range', 422);
  }
  // Text the database cannot store (a NUL character, in text or in JSON).
  if (pgCode === '22021' || pgCode === '22P05') {
    return new DomainError('INVALID_TEXT', '文本含有不能保存的字符（如 NUL）', 'The text contains a character that cannot be stored (e.g. NUL)', 400);
  }
  // A reference to a row that does not exist (an unknown customer, subscriber or account id in a request).
  if (pgCode === '23503') {
    return new DomainError('UNKNOWN_REFERENCE', '引用的客户、用户或帐户不存在', 'A referenced customer, subscriber or account does not exist', 422, {
      constraint: String((err as { constraint?: unknown }).constraint ?? ''),
    });
  }
  // A unique constraint caught a duplicate that a concurrent request created between check and insert.
  if (pgCode === '23505') {
    const constraint = String((err as { constraint?: unknown }).constraint ?? '');
    const [code, zh, en] = UNIQUE_CONFLICTS[constraint] ?? ['CONFLICT', '数据已存在，不能重复创建', 'It already exists; it cannot be created twice'];
    return new DomainError(code, zh, en, 409);
  }
  return new DomainError('INTERNAL', '系统内部错误，请联系管理员', 'Internal error; contact the administrator', 500);
}

/** Fastify's `frameworkErrors` option: errors raised before routing (a badly encoded URL, an over-long parameter). */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, req, translateError(err));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const de = translateError(err);
    if (de.status >= 500) req.log.error({ err }, 'unhandled error');
    return sendProblem(reply, req, de);
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, req, new DomainError('ROUTE_NOT_FOUND', `接口不存在：${req.method} ${req.url}`, `No such route: ${req.method} ${req.url}`, 404)),
  );
}
