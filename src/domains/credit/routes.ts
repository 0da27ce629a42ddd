// Credit control routes (信控, SPEC §6): the real-time balance, the queue, special reopen, sent SMS.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { SimulatedSms } from '../../platform/notifications.ts';
import { Example, IdParams, problems, StrEnum } from '../../platform/schemas.ts';
import type { CreditState } from '../../platform/schema.ts';

const STATES = ['reminded', 'exempt', 'reopened', 'stopped_one_way', 'stopped_two_way', 'linked_pending', 'linked_stopped', 'ok'] as const;
/** `stopped` is every stopped state at once, the usual view of the credit-control desk. */
const STOPPED: CreditState[] = ['stopped_one_way', 'stopped_two_way', 'linked_stopped'];

const creditExample = {
  accountId: 12,
  billingType: 'monthly',
  usableBooksFen: 5000,
  unpaidBillsFen: 3000,
  notYetDueFen: 0,
  unbilledUsageFen: 2500,
  creditLimitFen: 0,
  realtimeBalanceFen: -500,
  reminderThresholdFen: 1000,
  subscribers: [{ subscriberId: 30, serviceNumber: '18602201234', network: 'wcdma3g', stopReasons: ['arrears_one_way'], ownArrearsFen: 3000, judgement: 'arrears', rule: 'R-CC-4 own bill lines unpaid' }],
};

export function creditRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/accounts/:id/credit',
    {
      config: { permission: 'credit.read' },
      schema: {
        tags: ['credit'],
        summary: 'Real-time balance (实时结余) with its parts and each subscriber’s judgement (R-CC-1, R-CC-4)',
        description:
          '实时结余 = 可用帐本 − 未缴已出帐单 − 本期未出帐话费 + 信用度。每个用户按自己的帐单行单独判定（合帐时已缴清的用户不停机）。 / Real-time balance = usable books − unpaid published bills − unbilled usage of the cycle + credit limit; each subscriber is judged on its own bill lines.',
        params: IdParams,
        response: { 200: Example('The balance breakdown', creditExample), ...problems(403, 404) },
      },
    },
    async (req) => ctx.credit.accountCredit((req.params as { id: number }).id),
  );

  app.get(
    '/credit/queue',
    {
      config: { permission: 'credit.read' },
      schema: {
        tags: ['credit'],
        summary: 'Credit-control queue (信控队列): who is reminded, exempt, reopened or stopped, since when and why',
        description: '按状态列出信控中的用户：提醒、VIP 免停、特殊开机、单停、双停、关联停机。 / Subscribers under credit control by state; `stopped` lists every stopped state.',
        querystring: Type.Object(
          {
            state: Type.Optional(StrEnum([...STATES, 'stopped'] as const, { description: '状态 / state; default: every state but ok' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Example('A page of the queue', {
            total: 1,
            limit: 50,
            offset: 0,
            items: [{ subscriberId: 30, serviceNumber: '18602201234', state: 'stopped_one_way', since: '2026-11-20T00:00:00.000Z', rule: 'R-CC-4 own bill lines unpaid', balanceFen: -3000, arrearsFen: 3000 }],
          }),
          ...problems(403),
        },
      },
    },
    async (req) => {
      const q = req.query as { state?: (typeof STATES)[number] | 'stopped'; limit?: number; offset?: number };
      const states: CreditState[] = q.state === undefined ? STATES.filter((s) => s !== 'ok') : q.state === 'stopped' ? STOPPED : [q.state];
      return ctx.credit.queue({ states, limit: q.limit ?? 50, offset: q.offset ?? 0 });
    },
  );

  app.post(
    '/subscribers/:id/credit-reopen',
    {
      config: { permission: 'credit.reopen' },
      schema: {
        tags: ['credit'],
        summary: 'Special credit reopen (信用特殊开机, R-X-2): an arrears-stopped line reopens for a set time',
        description: '有权限的工号可为欠费停机用户特殊开机若干小时；到期未缴费，信控任务再次停机。 / By permission; when the time ends unpaid, credit control stops the line again.',
        params: IdParams,
        body: Type.Object(
          {
            hours: Type.Integer({ minimum: 1, maximum: 720, description: '开机时长（小时） / hours' }),
            reason: Type.String({ minLength: 1, maxLength: 200, description: '原因 / reason' }),
          },
          { additionalProperties: false, examples: [{ hours: 48, reason: '客户承诺两日内缴费' }] },
        ),
        response: { 200: Example('The reopen', { subscriberId: 30, state: 'reopened', reopenUntil: '2026-11-22T02:00:00.000Z', stopReasons: [] }), ...problems(403, 404, 409, 422) },
      },
    },
    async (req) => ctx.credit.reopen(req.actor, (req.params as { id: number }).id, req.body as { hours: number; reason: string }),
  );

  app.get(
    '/admin/notifications/sms',
    {
      config: { permission: 'credit.read' },
      schema: {
        tags: ['admin'],
        summary: 'SMS the simulated notification adapter has sent (R-INT-3)',
        querystring: Type.Object({ to: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })) }, { additionalProperties: false }),
        response: { 200: Example('Sent messages', { adapter: 'simulator', messages: [{ messageId: 'SMS-1', eventId: 41, to: '18602201234', templateCode: 'CREDIT_REMINDER', text: '尊敬的客户…', at: '2026-11-15T02:00:00.000Z' }] }), ...problems(403) },
      },
    },
    async (req) => {
      const n = ctx.notifications;
      return { adapter: n.name, messages: n instanceof SimulatedSms ? n.sent((req.query as { to?: string }).to) : [] };
    },
  );

  app.post(
    '/credit/run',
    {
      config: { permission: 'credit.run' },
      schema: {
        tags: ['credit'],
        summary: 'Run credit control for some accounts now (the bill run and rating do this after charging, R-BIL-8)',
        body: Type.Object({ accountIds: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false, examples: [{ accountIds: [12] }] }),
        response: { 200: Example('What was done per account', { results: [{ accountId: 12, reminded: [], stopped: [30], resumed: [] }] }), ...problems(403) },
      },
    },
    async (req) => ({ results: await ctx.credit.evaluateAccounts((req.body as { accountIds: number[] }).accountIds, req.actor) }),
  );
}
