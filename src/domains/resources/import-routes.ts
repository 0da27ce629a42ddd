// Stock import and audit routes (SPEC §10): card files and card data files are uploaded as text
// (text/plain or text/csv) and streamed into the import line by line, never held whole in memory.
import type { Readable } from 'node:stream';
import { Ajv } from 'ajv';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { DomainError } from '../../platform/errors.ts';
import { Example, Id, problems, StrEnum } from '../../platform/schemas.ts';
import { auditStock } from './stock-audit.ts';
import { CARD_TYPES, MAX_IMPORT_BYTES, StockImportService } from './stock-import.ts';

const UPLOAD_TYPES = ['text/plain', 'text/csv'];

const WarehouseCode = Type.String({ pattern: '^[0-9A-Z]{4,16}$', examples: ['130041'] });
const FileName = Type.String({ minLength: 1, maxLength: 200, examples: ['blank-micro-2026-11.txt'] });

const batchExample = {
  batchId: 12,
  kind: 'cards',
  fileName: 'blank-micro-2026-11.txt',
  fileSha256: '9f2c6a1e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a29181706f5e4d3c2b1a09f8e',
  warehouseCode: '130041',
  cardType: 'blank_128k_micro',
  rowsTotal: 3,
  rowsImported: 2,
  rowsFailed: 1,
  errors: [{ line: 3, iccid: '8986012610000000001', code: 'ICCID_CHECK_DIGIT', reason: { zh: 'ICCID 校验位错误', en: 'Wrong ICCID check digit (Luhn)' } }],
  state: 'completed',
  operatorId: 8,
  departmentId: 'TJ-130041',
  startedAt: '2026-11-15T02:00:00.000Z',
  finishedAt: '2026-11-15T02:00:01.000Z',
};

// The upload is the request stream itself; its rows are checked one by one (line errors in the
// batch report), so the body schema only documents it and the query is validated as usual.
const queryAjv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: true, strict: false });
const streamValidator: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => (httpPart === 'body' ? () => true : queryAjv.compile(schema as object));

const uploadBody = (description: string, example: string) => Type.String({ description, examples: [example] });

function uploadOf(body: unknown, headers: Record<string, unknown>): Readable {
  if (!body || typeof (body as Readable).pipe !== 'function') {
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', '请以 text/plain 或 text/csv 上传文件内容', 'Upload the file as text/plain or text/csv', 415);
  }
  const length = Number(headers['content-length']);
  if (Number.isFinite(length) && length > MAX_IMPORT_BYTES) {
    throw new DomainError('IMPORT_TOO_LARGE', `文件过大（超过 ${MAX_IMPORT_BYTES} 字节）`, `The file is too large (over ${MAX_IMPORT_BYTES} bytes)`, 413, { maxBytes: MAX_IMPORT_BYTES });
  }
  return body as Readable;
}

export function importRoutes(app: FastifyInstance, ctx: AppContext): void {
  const imports = new StockImportService({ db: ctx.database.db, clock: ctx.clock, kiBox: ctx.kiBox, chunksInFlight: ctx.database.kind === 'pg' ? 2 : 1 });

  // a child context: the text parsers (the request stream as the body) apply to these routes only
  void app.register(async (api) => {
    api.addContentTypeParser(UPLOAD_TYPES, (_req, payload, done) => done(null, payload));

    api.post(
      '/stock/imports/cards',
      {
        config: { permission: 'stock.import' },
        validatorCompiler: streamValidator,
        schema: {
          tags: ['stock'],
          summary: 'Import a card file (号卡文件): one ICCID per line (finished cards: ICCID,IMSI) into a warehouse of the operator’s department',
          description:
            'Body: text/plain or text/csv, optional header `iccid`. Bad rows (malformed ICCID, wrong check digit, duplicate in the file, card already in stock) go to the error report and the rest is imported; the same file twice imports nothing new.',
          consumes: UPLOAD_TYPES,
          querystring: Type.Object(
            { warehouseCode: WarehouseCode, cardType: StrEnum(CARD_TYPES), fileName: Type.Optional(FileName) },
            { additionalProperties: false, examples: [{ warehouseCode: '130041', cardType: 'blank_128k_micro', fileName: 'blank-micro-2026-11.txt' }] },
          ),
          body: uploadBody('The card file', 'iccid\n89860126100000000015\n89860126100000000023\n'),
          response: { 201: Example('The import batch with its error report', batchExample), ...problems(403, 404, 413, 415, 422) },
        },
      },
      async (req, reply) => {
        const q = req.query as { warehouseCode: string; cardType: (typeof CARD_TYPES)[number]; fileName?: string };
        const view = await imports.importCards(req.actor, uploadOf(req.body, req.headers), { warehouseCode: q.warehouseCode, cardType: q.cardType, fileName: q.fileName ?? 'upload' });
        return reply.status(201).send(view);
      },
    );

    api.post(
      '/stock/imports/card-data',
      {
        config: { permission: 'stock.import' },
        validatorCompiler: streamValidator,
        schema: {
          tags: ['stock'],
          summary: 'Import a card data file (卡数据): iccid,imsi,ki[,opc] per line; Ki and OPc are stored encrypted',
          description:
            'Body: text/plain or text/csv, optional header. Ki/OPc are 32 hex digits, IMSI 15 digits. Unknown cards, cards that already have data, IMSIs of other cards, duplicates and malformed rows go to the error report and the rest is imported.',
          consumes: UPLOAD_TYPES,
          querystring: Type.Object({ fileName: Type.Optional(FileName) }, { additionalProperties: false, examples: [{ fileName: 'card-data-2026-11.csv' }] }),
          body: uploadBody('The card data file', 'iccid,imsi,ki,opc\n89860126100000000015,460012200000015,000102030405060708090a0b0c0d0e0f,f0e0d0c0b0a090807060504030201000\n'),
          response: {
            201: Example('The import batch with its error report', { ...batchExample, kind: 'card_data', fileName: 'card-data-2026-11.csv', warehouseCode: null, cardType: null }),
            ...problems(403, 413, 415, 422),
          },
        },
      },
      async (req, reply) => {
        const q = req.query as { fileName?: string };
        const view = await imports.importCardData(req.actor, uploadOf(req.body, req.headers), { fileName: q.fileName ?? 'upload' });
        return reply.status(201).send(view);
      },
    );
  });

  app.get(
    '/stock/imports/:batchId',
    {
      config: { permission: 'stock.read' },
      schema: {
        tags: ['stock'],
        summary: 'One import batch with its counts and error report (the first 1,000 errors)',
        params: Type.Object({ batchId: Id }, { additionalProperties: false }),
        response: { 200: Example('The import batch', batchExample), ...problems(403, 404) },
      },
    },
    async (req) => imports.getBatch(req.actor, (req.params as { batchId: number }).batchId),
  );

  app.get(
    '/stock/audit',
    {
      config: { permission: 'stock.all' },
      schema: {
        tags: ['stock'],
        summary: 'Stock conservation check: every card in exactly one place and state, its history consistent (also `openboss audit stock`)',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) }, { additionalProperties: false, examples: [{ limit: 100 }] }),
        response: {
          200: Example('Cards and history rows checked, and the differences found (none when the stock is consistent)', {
            cards: 1240,
            events: 2480,
            differences: [{ iccid: '89860126100000000015', problem: 'HISTORY_STATE_MISMATCH', detail: 'card in_stock, last event picked' }],
            truncated: false,
          }),
          ...problems(403),
        },
      },
    },
    async (req) => auditStock(ctx.database.db, { limit: (req.query as { limit?: number }).limit }),
  );
}
