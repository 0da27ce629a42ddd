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
  return new DomainError('INTERNAL', '系统内部错误，请联系管理员', 'Internal error; contact the administrator', 500);
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
