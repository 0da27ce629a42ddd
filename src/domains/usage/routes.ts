// Usage routes (SPEC §5, §12): CDR batches from integrators, the imported files, the itemised bill (详单).
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { CYCLE_PATTERN } from '../../platform/clock.ts';
import { Example, IdParams, problems } from '../../platform/schemas.ts';
import { MAX_BATCH_RECORDS } from './service.ts';

const Cycle = Type.String({ pattern: CYCLE_PATTERN, examples: ['2026-11'] });
const Field = (max: number, example: string, zh: string, en: string) => Type.String({ maxLength: max, examples: [example], description: `${zh} / ${en}` });

// fields are checked record by record (a bad one is rejected with its index), so only their shape is here
const Record = Type.Object(
  {
    recordId: Field(128, 'SW01-20261115-000001', '话单编号（全局唯一）', 'record id (unique)'),
    serviceNumber: Field(32, '18620000101', '用户号码', 'service number'),
    otherParty: Field(40, '13900001111', '对方号码', 'other party'),
    startTime: Field(40, '2026-11-15T09:30:00+08:00', '开始时间：ISO 8601 带时区，或 YYYY-MM-DD HH:MM:SS（北京时间）', 'start time: ISO 8601 with offset, or YYYY-MM-DD HH:MM:SS (Asia/Shanghai)'),
    usage: Field(16, 'voice', '业务：voice 语音、sms 短信、data 流量', 'usage: voice, sms, data'),
    scope: Field(16, 'local', '类型：local 本地、long_distance 长途、roaming 漫游', 'scope: local, long_distance, roaming'),
    quantity: Type.Union([Type.Integer(), Type.String({ maxLength: 20 })], { description: '用量：秒、条或字节 / seconds, messages or bytes', examples: [125] }),
    area: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()], { description: '基站或漫游地 / cell or roaming area', examples: ['TJ-HX-0012'] })),
  },
  { additionalProperties: false },
);

const batchExample = {
  fileId: 31,
  received: 3,
  accepted: 1,
  rejected: 1,
  duplicate: 1,
  rejections: [{ index: 2, recordId: 'SW01-20261115-000003', code: 'USAGE_UNKNOWN', reason: { zh: '业务类型未知（voice、sms、data）', en: 'Unknown usage (voice, sms, data)' } }],
  rated: 1,
};

const itemisedExample = {
  subscriberId: 7,
  serviceNumber: '186****0101',
  cycle: '2026-11',
  total: 1,
  limit: 100,
  offset: 0,
  totals: [{ itemCode: 'VOICE_LOCAL', records: 1, units: 3, amountFen: 0, billedFen: 0 }],
  totalFen: 0,
  records: [
    {
      recordId: 'SW01-20261115-000001',
      startedAt: '2026-11-15T01:30:00.000Z',
      usage: 'voice',
      scope: 'local',
      otherParty: '139****1111',
      quantity: 125,
      area: 'TJ-HX-0012',
      itemCode: 'VOICE_LOCAL',
      unit: 'minute',
      units: 3,
      freeUnits: 3,
      chargeFen: 0,
      freeReason: 'allowance',
      offerCode: 'WO-46',
      rated: true,
    },
  ],
};

export function usageRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/usage',
    {
      config: { permission: 'usage.import' },
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags: ['usage'],
        summary: 'Import a batch of CDRs (话单) and rate them / 导入一批话单并批价',
        description:
          `Up to ${MAX_BATCH_RECORDS} records. Each bad record (malformed time, unknown usage or scope, negative quantity, unknown number…) is rejected with its index and reason, the rest is imported and rated at once (R-BIL-3). A record id imported before changes nothing (counted as duplicate). ` +
          `每批最多 ${MAX_BATCH_RECORDS} 条；错误的记录逐条拒绝（序号与原因），其余导入并立即批价；已导入的话单编号不会重复计费。`,
        body: Type.Object(
          { records: Type.Array(Record, { minItems: 1, maxItems: MAX_BATCH_RECORDS }) },
          {
            additionalProperties: false,
            examples: [
              {
                records: [
                  { recordId: 'SW01-20261115-000001', serviceNumber: '18620000101', otherParty: '13900001111', startTime: '2026-11-15T09:30:00+08:00', usage: 'voice', scope: 'local', quantity: 125, area: 'TJ-HX-0012' },
                  { recordId: 'SW01-20261115-000002', serviceNumber: '18620000101', otherParty: '10086', startTime: '2026-11-15 09:40:00', usage: 'sms', scope: 'local', quantity: 1 },
                ],
              },
            ],
          },
        ),
        response: { 200: Example('Counts, the rejected records and how many were rated', batchExample), ...problems(403, 413) },
      },
    },
    async (req) => ctx.usage.importBatch(req.actor, (req.body as { records: never[] }).records),
  );

  app.get(
    '/usage/files',
    {
      config: { permission: 'usage.read' },
      schema: {
        tags: ['usage'],
        summary: 'Imported CDR files and API batches, newest first / 已导入的话单文件与批次',
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })), offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Example('The files', {
            items: [
              {
                fileId: 30,
                kind: 'file',
                fileName: 'sw01-20261115.csv',
                sha256: '9f2c6a1e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a29181706f5e4d3c2b1a09f8e',
                status: 'completed',
                rowsTotal: 120000,
                accepted: 119990,
                rejected: 10,
                duplicate: 0,
                errors: [{ line: 57, recordId: 'SW01-57', code: 'START_TIME_INVALID', reason: { zh: '开始时间格式错误', en: 'Malformed start time' } }],
                operatorId: 4,
                startedAt: '2026-11-15T02:00:00.000Z',
                finishedAt: '2026-11-15T02:00:09.000Z',
              },
            ],
          }),
          ...problems(403),
        },
      },
    },
    async (req) => ({ items: await ctx.usage.files(req.query as { limit?: number; offset?: number }) }),
  );

  app.get(
    '/subscribers/:id/usage',
    {
      config: { permission: 'usage.read' },
      schema: {
        tags: ['usage'],
        summary: 'Itemised usage (详单) of a subscriber in a cycle: records (paged) and totals per bill item; other parties masked',
        params: IdParams,
        querystring: Type.Object(
          { cycle: Type.Optional(Cycle), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })) },
          { additionalProperties: false },
        ),
        response: { 200: Example('The itemised usage', itemisedExample), ...problems(403, 404) },
      },
    },
    async (req) => {
      const q = req.query as { cycle?: string; limit?: number; offset?: number };
      return ctx.usage.itemised((req.params as { id: number }).id, q.cycle, q);
    },
  );
}
