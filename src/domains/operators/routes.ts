import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { Example, problems } from '../../platform/schemas.ts';

export function operatorRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Log in an operator (工号登录)',
        security: [],
        body: Type.Object(
          { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
          { additionalProperties: false, examples: [{ username: 'hall01', password: 'demo-hall01' }] },
        ),
        response: {
          200: Example('A bearer token for the Authorization header', {
            token: 'q3Vt…',
            expiresAt: '2026-11-24T01:00:00.000Z',
            operator: { operatorId: 2, username: 'hall01', name: '张敏', departmentId: 'TJ-130041-H1', departmentName: '河西友谊路营业厅', roles: ['front_desk'] },
          }),
          ...problems(429),
        },
      },
    },
    async (req) => {
      const { username, password } = req.body as { username: string; password: string };
      return ctx.operators.login(username, password, req.ip);
    },
  );

  app.post('/auth/logout', { schema: { tags: ['auth'], summary: 'Invalidate the current token', response: { 204: Type.Null(), ...problems() } } }, async (req, reply) => {
    const token = (req.headers.authorization ?? '').slice(7).trim();
    await ctx.operators.logout(req.actor, token);
    return reply.status(204).send();
  });

  app.get('/auth/me', { schema: { tags: ['auth'], summary: 'The logged-in operator and its permissions', response: problems() } }, async (req) => ({
    operatorId: req.actor.operatorId,
    username: req.actor.username,
    departmentId: req.actor.departmentId,
    permissions: [...req.actor.permissions].sort(),
  }));

  app.post(
    '/operators',
    {
      config: { permission: 'operator.manage' },
      schema: {
        tags: ['auth'],
        summary: 'Create an operator (工号)',
        body: Type.Object(
          {
            username: Type.String({ pattern: '^[A-Za-z0-9_.-]{2,32}$' }),
            name: Type.String({ minLength: 1, maxLength: 64 }),
            departmentId: Type.String({ minLength: 1, maxLength: 64 }),
            roles: Type.Array(Type.String({ minLength: 1 }), { maxItems: 20 }),
            password: Type.String({ minLength: 8, maxLength: 256 }),
          },
          { additionalProperties: false, examples: [{ username: 'hall09', name: '李娜', departmentId: 'TJ-HX-H1', roles: ['front_desk'], password: 'change-me-now' }] },
        ),
        response: { 201: Example('The operator', { operatorId: 9, username: 'hall09' }), ...problems(403, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.operators.create(req.actor, req.body as never)),
  );

  app.get('/admin/clock', { schema: { tags: ['admin'], summary: 'The business clock', response: problems() } }, async () => ctx.clockService.view());

  app.post(
    '/admin/clock',
    {
      config: { permission: 'clock.set' },
      schema: {
        tags: ['admin'],
        summary: 'Set or advance the simulated clock (OPENBOSS_CLOCK=simulated)',
        body: Type.Object(
          {
            now: Type.Optional(Type.String({ format: 'date-time' })),
            advanceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 * 365 * 86400 })),
            frozen: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, examples: [{ now: '2026-12-01T00:00:00+08:00' }, { advanceSeconds: 86400 }] },
        ),
        response: { 200: Example('The clock after the change', { kind: 'simulated', now: '2026-11-30T16:00:00.000Z', frozen: false }), ...problems(403, 409) },
      },
    },
    async (req) => ctx.clockService.set(req.actor, req.body as never),
  );

  app.post(
    '/admin/clock/travel',
    {
      config: { permission: 'clock.set' },
      schema: {
        tags: ['admin'],
        summary: 'Move the simulated clock forward, running every scheduled job for each day passed, in order',
        description:
          '时间推进：逐日运行到期的定时任务（出账、月初扣费、信控……），每个任务在其自己的业务时间运行。A job that fires several times a day runs once per day, at its last firing of that day. A bare date is midnight Asia/Shanghai.',
        body: Type.Union(
          [
            Type.Object({ to: Type.String({ minLength: 10, maxLength: 40 }) }, { additionalProperties: false }),
            Type.Object({ advanceSeconds: Type.Integer({ minimum: 1, maximum: 20 * 365 * 86400 }) }, { additionalProperties: false }),
          ],
          { examples: [{ to: '2027-06-01' }, { advanceSeconds: 2592000 }] },
        ),
        response: {
          200: Example('The clock after the journey and the job runs', {
            kind: 'simulated',
            now: '2027-05-31T16:00:00.000Z',
            frozen: true,
            from: '2026-11-15T02:00:00.000Z',
            days: 198,
            runs: [{ at: '2026-11-15T16:05:00.000Z', job: 'virtual-rent', result: { charged: 2 } }],
          }),
          ...problems(400, 403, 409, 422),
        },
      },
    },
    async (req) => ctx.clockService.travel(req.actor, req.body as never, ctx.jobs),
  );
}
