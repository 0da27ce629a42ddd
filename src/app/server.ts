import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { accountRoutes } from '../domains/accounts/routes.ts';
import { collectionRoutes } from '../domains/accounts/collection-routes.ts';
import { customerRoutes } from '../domains/customers/routes.ts';
import { operatorRoutes } from '../domains/operators/routes.ts';
import { resourceRoutes } from '../domains/resources/routes.ts';
import { cardWritingRoutes } from '../domains/resources/card-writing-routes.ts';
import { stockRoutes } from '../domains/resources/stock-routes.ts';
import { importRoutes } from '../domains/resources/import-routes.ts';
import { catalogRoutes } from '../domains/catalog/routes.ts';
import { orderRoutes } from '../domains/orders/routes.ts';
import { creditRoutes } from '../domains/credit/routes.ts';
import { bundleGrantRoutes } from '../domains/bundles/grants-routes.ts';
import { bundleRoutes } from '../domains/bundles/routes.ts';
import { jobRoutes } from '../platform/jobs-routes.ts';
import { usageRoutes } from '../domains/usage/routes.ts';
import { billingRoutes } from '../domains/billing/routes.ts';
import { integrationRoutes } from '../domains/integration/routes.ts';
import { frameworkErrors, installErrorHandling } from '../platform/errors.ts';
import { installAuth, installValidation } from '../platform/http.ts';
import { Problem } from '../platform/schemas.ts';
import type { AppContext } from './context.ts';
import { registerWebApp } from './web.ts';

export const API_VERSION = '0.1.0';

export async function buildServer(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: ctx.config.logLevel !== 'debug' && ctx.config.logLevel !== 'trace' }),
    bodyLimit: 1024 * 1024,
    trustProxy: ctx.config.trustProxy,
    requestIdHeader: 'x-request-id',
    // a badly encoded URL or an over-long parameter is answered as problem+json too
    frameworkErrors,
  });
  installValidation(app);
  installErrorHandling(app);
  installAuth(app, (t) => ctx.operators.authenticate(t));
  app.addSchema(Problem);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'OpenBOSS API',
        version: API_VERSION,
        description:
          'Open-source telecom BOSS. Money is integer fen (fields end in `Fen`). Errors are RFC 9457 problem+json with a stable `code` and messages in zh and en. Authenticate with `POST /api/v1/auth/login`, then send `Authorization: Bearer <token>`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
      tags: [
        { name: 'auth', description: '工号、登录' },
        { name: 'customers', description: '客户' },
        { name: 'accounts', description: '帐户' },
        { name: 'subscribers', description: '用户与帐务关系' },
        { name: 'money', description: '帐本、缴费、销账、冲正' },
        { name: 'reference', description: '配置' },
        { name: 'resources', description: '号码与卡资源' },
        { name: 'stock', description: '库存、调拨、领卡退卡、盘点' },
        { name: 'catalog', description: '产品目录' },
        { name: 'orders', description: '受理、校验、预算、免填单、提交、工单' },
        { name: 'credit', description: '信控：实时结余、提醒、停复机、特殊开机' },
        { name: 'bundles', description: '捆绑业务：绑定、解绑、每月优惠添加' },
        { name: 'usage', description: '话单导入、批价、详单' },
        { name: 'billing', description: '出账：批次、进度、稽核、发布' },
        { name: 'admin', description: '管理' },
        { name: 'integration', description: '事件投递（outbox 中继）' },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { tags: ['admin'], summary: 'Liveness and database check', security: [] } }, async (_req, reply) => {
    try {
      await ctx.database.db.selectFrom('schema_migrations').select('version').limit(1).execute();
      return { status: 'ok', database: ctx.database.kind, clock: ctx.clock.kind, now: ctx.clock.now().toISOString() };
    } catch {
      return reply.status(503).send({ status: 'unavailable', database: ctx.database.kind });
    }
  });
  // the front-desk web app at / (web/dist; a hint to build it when missing)
  await registerWebApp(app);

  await app.register(
    async (api) => {
      operatorRoutes(api, ctx);
      customerRoutes(api, ctx);
      accountRoutes(api, ctx);
      collectionRoutes(api, ctx);
      resourceRoutes(api, ctx);
      cardWritingRoutes(api, ctx);
      stockRoutes(api, ctx);
      importRoutes(api, ctx);
      catalogRoutes(api, ctx);
      orderRoutes(api, ctx);
      creditRoutes(api, ctx);
      bundleGrantRoutes(api, ctx);
      bundleRoutes(api, ctx);
      jobRoutes(api, ctx.jobs);
      usageRoutes(api, ctx);
      billingRoutes(api, ctx);
      integrationRoutes(api, ctx);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
