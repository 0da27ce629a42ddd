import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { type Actor, can } from './audit.ts';
import { DomainError, sendProblem } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
  }
  interface FastifyContextConfig {
    /** The permission the route needs; omitted = any authenticated operator. */
    permission?: string;
    /** No token needed (login, health, docs). */
    public?: boolean;
  }
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    strict: false,
    // POST /orders: the body's businessType picks the schema, so errors speak of that type only
    discriminator: true,
  });
  addFormats(ajv);
  return ajv;
}

/** Bodies are validated without type coercion ("100" is not an amount); path and query values are coerced. */
export function installValidation(app: FastifyInstance): void {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
  // The API speaks JSON only: a text/plain body is an unsupported media type (415), not a string to validate.
  app.removeContentTypeParser('text/plain');
}

export type Authenticate = (token: string) => Promise<Actor | null>;

export function installAuth(app: FastifyInstance, authenticate: Authenticate): void {
  app.decorateRequest('actor', null as unknown as Actor);
  app.addHook('preValidation', async (req, reply) => {
    const cfg = req.routeOptions.config;
    if (!req.url.startsWith('/api/') || cfg?.public) return;
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) {
      return sendProblem(reply, req, new DomainError('AUTH_REQUIRED', '请先登录（缺少令牌）', 'Login required (no bearer token)', 401));
    }
    const actor = await authenticate(token);
    if (!actor) {
      return sendProblem(reply, req, new DomainError('AUTH_INVALID', '登录已失效，请重新登录', 'The token is invalid or expired; log in again', 401));
    }
    actor.requestId = String(req.id);
    req.actor = actor;
    if (cfg?.permission && !can(actor, cfg.permission)) {
      return sendProblem(
        reply,
        req,
        new DomainError('FORBIDDEN', `工号无此权限：${cfg.permission}`, `The operator lacks the permission ${cfg.permission}`, 403, {
          permission: cfg.permission,
        }),
      );
    }
  });
}
