// Bill-run API (出账, R-BIL-5..9): start or resume a run, progress, review, re-run one account, publish;
// an account's bills with their lines and write-off lines.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { CYCLE_PATTERN } from '../../platform/clock.ts';
import { Example, Id, IdParams, problems } from '../../platform/schemas.ts';

const runExample = {
  runId: 3,
  cycle: '2026-10',
  state: 'running',
  phase: 'bill',
  startedAt: '2026-11-01T01:00:00.000Z',
  prebilledAt: null,
  publishedAt: null,
  progress: { accountsDone: 4000, accountsTotal: 10000, chunksDone: 2, chunksTotal: 5, subscribers: 5200, ratePerSecond: 3100.5, etaSeconds: 2 },
  totalFen: 23900000,
  lines: 8100,
  totalsByItem: [{ item: 'RENT_PLAN', name: { zh: '套餐月租', en: 'plan rent' }, amountFen: 18400000, lines: 4000 }],
  errors: [{ chunkNo: 1, state: 'failed', publishState: 'pending', attempts: 1, error: 'connection reset', worker: 'host:1234:0' }],
};

export function billingRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/bill-runs',
    {
      config: { permission: 'billrun.run' },
      schema: {
        tags: ['billing'],
        summary: 'Start (or resume) the bill run of a finished cycle (出账, R-BIL-5/6): pre-bills, worked by job workers',
        description:
          '一个帐期只有一个出账批次；再次提交即续跑（已完成的分片不重算）。zh: starts or resumes; en: one run per cycle, a second call resumes it. Chunks are queued as `billrun-chunk` jobs when jobs run in the server; `openboss billrun worker` processes work them too.',
        body: Type.Object(
          { cycle: Type.String({ pattern: CYCLE_PATTERN, description: '帐期 / cycle (YYYY-MM)' }), workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })) },
          { additionalProperties: false, examples: [{ cycle: '2026-10' }] },
        ),
        response: { 202: Example('The run and its progress', runExample), ...problems(403, 422) },
      },
    },
    async (req, reply) => {
      const body = req.body as { cycle: string; workers?: number };
      const run = await ctx.billing.start(req.actor, body.cycle, { workers: body.workers });
      // no job workers in this process: work the run in the background here (the answer does not wait)
      if (!ctx.jobs.running) void ctx.billing.work(run.run_id).catch((err: unknown) => ctx.log.error({ err, runId: run.run_id }, 'bill run failed'));
      return reply.status(202).send(await ctx.billing.view(run.run_id));
    },
  );

  app.get(
    '/bill-runs',
    { config: { permission: 'billrun.read' }, schema: { tags: ['billing'], summary: 'Bill runs, newest cycle first, with progress (R-BIL-7)', response: { 200: Example('Runs', { items: [runExample] }), ...problems(403) } } },
    async () => ctx.billing.list(),
  );

  app.get(
    '/bill-runs/:id',
    {
      config: { permission: 'billrun.read' },
      schema: {
        tags: ['billing'],
        summary: 'A bill run: progress (done/total accounts, rate, ETA), per-chunk errors, totals per bill item (R-BIL-7)',
        params: IdParams,
        response: { 200: Example('The run', runExample), ...problems(403, 404) },
      },
    },
    async (req) => ctx.billing.view((req.params as { id: number }).id),
  );

  app.get(
    '/bill-runs/:id/review',
    {
      config: { permission: 'billrun.read' },
      schema: {
        tags: ['billing'],
        summary: 'Pre-bill review (预出账稽核, R-BIL-9): totals per bill item against the previous cycle, subscribers far above their usual',
        params: IdParams,
        response: {
          200: Example('The review', {
            runId: 3,
            cycle: '2026-10',
            previousCycle: '2026-09',
            state: 'prebilled',
            totalFen: 23900000,
            previousTotalFen: 23500000,
            items: [{ item: 'RENT_PLAN', name: { zh: '套餐月租', en: 'plan rent' }, amountFen: 18400000, previousFen: 18000000, changeFen: 400000, changePermille: 22 }],
            anomalies: { factor: 3, minFen: 10000, items: [{ subscriberId: 42, accountId: 17, serviceNumber: '18612345678', totalFen: 18400, averageFen: 2000 }] },
          }),
          ...problems(403, 404),
        },
      },
    },
    async (req) => ctx.billing.review((req.params as { id: number }).id),
  );

  app.post(
    '/bill-runs/:id/accounts/:accountId/rerun',
    {
      config: { permission: 'billrun.run' },
      schema: {
        tags: ['billing'],
        summary: 'Re-run one account of a pre-billed run after a correction (单帐户重出帐, R-BIL-9)',
        params: Type.Object({ id: Id, accountId: Id }, { additionalProperties: false }),
        response: { 200: Example('What changed', { runId: 3, cycle: '2026-10', accountId: 17, subscribers: 1, beforeFen: 18400, afterFen: 4600, lines: 1 }), ...problems(403, 404, 409, 422) },
      },
    },
    async (req) => {
      const p = req.params as { id: number; accountId: number };
      return ctx.billing.rerunAccount(req.actor, p.id, p.accountId);
    },
  );

  app.post(
    '/bill-runs/:id/publish',
    {
      config: { permission: 'billrun.publish' },
      schema: {
        tags: ['billing'],
        summary: 'Publish the pre-bills (正式出帐, R-BIL-9): due date, write-off from books, parked payments replayed (R-X-9), bill.published events',
        params: IdParams,
        response: { 200: Example('The run', { ...runExample, state: 'published', phase: 'publish' }), ...problems(403, 404, 409) },
      },
    },
    async (req) => ctx.billing.publish(req.actor, (req.params as { id: number }).id),
  );

  app.get(
    '/accounts/:id/bills',
    {
      config: { permission: 'account.read' },
      schema: {
        tags: ['money'],
        summary: 'Bills of an account (newest cycle first) with their lines and write-off lines (帐单, 销账信息)',
        params: IdParams,
        response: {
          200: Example('Bills', {
            items: [
              {
                billId: 9,
                accountId: 1,
                cycle: '2026-10',
                status: 'published',
                runId: 3,
                dueAt: '2026-11-20T00:00:00+08:00',
                publishedAt: '2026-11-02T01:00:00+00:00',
                createdAt: '2026-11-01T01:00:00+00:00',
                totalFen: 4600,
                paidFen: 4600,
                lines: [{ lineId: 31, subscriberId: 5, item: 'RENT_PLAN', amountFen: 4600, paidFen: 4600, source: 'recurring', relationId: null, writeOffs: [{ writeOffId: 70, bookId: 12, amountFen: 4600, trigger: 'bill', triggerId: 9, at: '2026-11-02T01:00:00+00:00' }] }],
              },
            ],
          }),
          ...problems(403, 404),
        },
      },
    },
    async (req) => ctx.billing.accountBills((req.params as { id: number }).id),
  );
}
