import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Jobs } from './jobs.ts';
import { Example, problems } from './schemas.ts';

const JobName = Type.String({ pattern: '^[a-z][a-z0-9-]{1,62}$', examples: ['release-expired-numbers'] });

/** Admin view of the background jobs; `job.run` is held by the admin role (`*`) only. */
export function jobRoutes(app: FastifyInstance, jobs: Jobs): void {
  app.get(
    '/admin/jobs',
    {
      config: { permission: 'job.run' },
      schema: {
        tags: ['admin'],
        summary: 'Background jobs and their schedules (cron, Asia/Shanghai)',
        response: {
          200: Example('The jobs', {
            running: true,
            items: [{ name: 'release-expired-numbers', description: { zh: '释放到期的号码预占和冷冻期满的号码', en: 'Release expired number reservations and cooled numbers' }, cron: '*/5 * * * *' }],
          }),
          ...problems(403),
        },
      },
    },
    async () => ({ running: jobs.running, items: jobs.list() }),
  );

  app.post(
    '/admin/jobs/:name/run',
    {
      config: { permission: 'job.run' },
      schema: {
        tags: ['admin'],
        summary: 'Run a job now, in this process, at the business time of the clock',
        params: Type.Object({ name: JobName }, { additionalProperties: false }),
        response: {
          200: Example('The run', {
            name: 'release-expired-numbers',
            startedAt: '2026-11-18T02:00:01.000Z',
            finishedAt: '2026-11-18T02:00:01.000Z',
            result: { reservationsExpired: 1, recycled: 0, released: 0 },
          }),
          ...problems(403, 404),
        },
      },
    },
    async (req) => jobs.runNow((req.params as { name: string }).name),
  );
}
