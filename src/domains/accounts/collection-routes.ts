// Late fees (R-ACC-17, R-X-7), refund cases (R-ACC-16) and bad debt (R-BIL-10). Logic lives in
// LateFeeService, RefundService and BadDebtService.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../app/context.ts';
import { AmountFen, Example, Id, IdParams, problems, StrEnum } from '../../platform/schemas.ts';
import { ID_TYPES } from '../customers/rules.ts';

const Reason = Type.String({ minLength: 1, maxLength: 200 });
const IdType = StrEnum(ID_TYPES);
const IdNumber = Type.String({ minLength: 4, maxLength: 32 });
const REFUND_STATES = ['opened', 'confirmed', 'identified', 'refunded', 'rejected'] as const;

const at = '2026-11-15T02:00:00.000Z';
const caseExample = {
  caseId: 3,
  accountId: 12,
  paymentId: 41,
  bookId: 30,
  amountFen: 4500,
  complaintRef: 'TS-20261115-0007',
  note: '银行重复扣款',
  state: 'identified',
  openedBy: 2,
  openedAt: at,
  confirmedBy: 4,
  confirmedAt: at,
  rejectedReason: null,
  customerId: { idType: 'resident_id', idNumber: '110105********1234' },
  holder: { name: '张三', idType: 'resident_id', idNumber: '110105********4321' },
  identifiedBy: 2,
  identifiedAt: at,
  refundPaymentId: null,
  refundedBy: null,
  refundedAt: null,
  masked: true,
};
const accrualExample = {
  accrualId: 5,
  principal: { lineId: 21, cycle: '2026-09', item: 'RENT_PLAN', amountFen: 10000 },
  subscriberId: 7,
  cycle: '2026-11',
  dueDate: '2026-10-20',
  firstDay: '2026-11-01',
  lastDay: '2026-11-30',
  days: 30,
  baseFenDays: 300000,
  ratePer10k: 30,
  computedFen: 900,
  amountFen: 900,
  lateFeeLineId: 88,
  paidFen: 0,
  waivedFen: 0,
  openFen: 900,
};

export function collectionRoutes(app: FastifyInstance, ctx: AppContext): void {
  // ---- late fees (滞纳金) ----
  app.get(
    '/accounts/:id/late-fees',
    {
      config: { permission: 'late_fee.read' },
      schema: {
        tags: ['money'],
        summary: 'Late fees of an account (滞纳金): the ledger of charged days per principal line, paid, waived, open (R-ACC-17)',
        description: '滞纳金台帐：每条欠费明细按天计收的滞纳金，已缴、已减免、未缴。 / The late-fee ledger: days charged per overdue line, paid, waived and open.',
        params: IdParams,
        response: { 200: Example('The ledger and the policy', { accountId: 12, policy: { ratePer10k: 30, startOffsetDays: 1, cycleCapFen: 10000, dueDay: 20 }, items: [accrualExample] }), ...problems(403, 404) },
      },
    },
    async (req) => ctx.lateFees.list((req.params as { id: number }).id),
  );

  app.post(
    '/late-fees/:id/waiver',
    {
      config: { permission: 'late_fee.waive' },
      schema: {
        tags: ['money'],
        summary: 'Waive a late fee (滞纳金减免), whole or in part, with a reason (R-ACC-17)',
        description: '减免需帐务室权限，记录原因并审计；减免金额以优惠赠款冲销该滞纳金明细。 / Needs the accounting permission; audited; booked as a discount grant written off on that line.',
        params: IdParams,
        body: Type.Object(
          { reason: Reason, amountFen: Type.Optional(AmountFen()) },
          { additionalProperties: false, examples: [{ reason: '银行托收失败非客户原因', amountFen: 900 }] },
        ),
        response: { 201: Example('The waiver', { waiverId: 1, accrualId: 5, accountId: 12, lateFeeLineId: 88, grantId: 9, amountFen: 900, reason: '银行托收失败非客户原因', openFen: 0 }), ...problems(403, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.lateFees.waive(req.actor, (req.params as { id: number }).id, req.body as never)),
  );

  // ---- refund cases (退费) ----
  app.post(
    '/refund-cases',
    {
      config: { permission: 'refund.open' },
      schema: {
        tags: ['money'],
        summary: 'Open a refund case for a bank-collection over-deduction (退费, R-ACC-16)',
        description: '前台接到扣费投诉后登记退费工单：投诉单号、金额、所涉银行托收缴费。 / The front desk opens a case from a complaint: reference, amount, the bank-collection payment.',
        body: Type.Object(
          { paymentId: Id, amountFen: AmountFen(), complaintRef: Type.String({ minLength: 1, maxLength: 64 }), note: Type.Optional(Type.String({ maxLength: 500 })) },
          { additionalProperties: false, examples: [{ paymentId: 41, amountFen: 4500, complaintRef: 'TS-20261115-0007', note: '银行重复扣款' }] },
        ),
        response: { 201: Example('The case', { ...caseExample, state: 'opened' }), ...problems(403, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.refunds.open(req.actor, req.body as never)),
  );

  app.get(
    '/refund-cases',
    {
      config: { permission: 'refund.read' },
      schema: {
        tags: ['money'],
        summary: 'Refund cases, newest first (ID numbers masked unless customer.pii)',
        querystring: Type.Object({ accountId: Type.Optional(Id), state: Type.Optional(StrEnum(REFUND_STATES)) }, { additionalProperties: false }),
        response: { 200: Example('The cases', { items: [caseExample] }), ...problems(403) },
      },
    },
    async (req) => ctx.refunds.list(req.actor, req.query as never),
  );

  app.get(
    '/refund-cases/:id',
    {
      config: { permission: 'refund.read' },
      schema: { tags: ['money'], summary: 'A refund case', params: IdParams, response: { 200: Example('The case', caseExample), ...problems(403, 404) } },
    },
    async (req) => ctx.refunds.get(req.actor, (req.params as { id: number }).id),
  );

  app.post(
    '/refund-cases/:id/confirm',
    {
      config: { permission: 'refund.confirm' },
      schema: {
        tags: ['money'],
        summary: 'The accounting room confirms (or rejects) the over-deduction (帐务室确认)',
        description: '帐务室核查后确认多扣；accept=false 则驳回并写明原因。 / The accounting room confirms; accept=false rejects with a reason.',
        params: IdParams,
        body: Type.Union([Type.Null(), Type.Object({ accept: Type.Optional(Type.Boolean()), reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false })], {
          examples: [{ accept: true }],
        }),
        response: { 200: Example('The case', { ...caseExample, state: 'confirmed' }), ...problems(403, 404, 409, 422) },
      },
    },
    async (req) => {
      const b = (req.body ?? {}) as { accept?: boolean; reason?: string };
      return ctx.refunds.confirm(req.actor, (req.params as { id: number }).id, { accept: b.accept ?? true, reason: b.reason });
    },
  );

  app.post(
    '/refund-cases/:id/identities',
    {
      config: { permission: 'refund.identify' },
      schema: {
        tags: ['money'],
        summary: 'Record the customer’s and the bank account holder’s ID (seed 004 §6.6.3)',
        description: '登记客户身份证及银行帐户户主身份证（按证件规则校验，展示时脱敏）。 / IDs are checked like every ID (R-CUS-1) and shown masked (R-CUS-2).',
        params: IdParams,
        body: Type.Object(
          {
            customer: Type.Object({ idType: IdType, idNumber: IdNumber }, { additionalProperties: false }),
            holder: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), idType: IdType, idNumber: IdNumber }, { additionalProperties: false }),
          },
          {
            additionalProperties: false,
            examples: [{ customer: { idType: 'resident_id', idNumber: '11010519491231002X' }, holder: { name: '张三', idType: 'resident_id', idNumber: '11010519491231002X' } }],
          },
        ),
        response: { 200: Example('The case', caseExample), ...problems(403, 404, 409, 422) },
      },
    },
    async (req) => ctx.refunds.identify(req.actor, (req.params as { id: number }).id, req.body as never),
  );

  app.post(
    '/refund-cases/:id/refund',
    {
      config: { permission: 'refund.execute' },
      schema: {
        tags: ['money'],
        summary: 'Book the refund against the bank-collection book (退费操作, seed 004 §6.6.4)',
        description: '从该笔银行托收帐本中退出相应金额（退费记录为负数缴费），守恒不变。 / The money leaves the collection’s book as a refund record; conservation holds.',
        params: IdParams,
        response: { 200: Example('The case', { ...caseExample, state: 'refunded', refundPaymentId: 52 }), ...problems(403, 404, 409) },
      },
    },
    async (req) => ctx.refunds.refund(req.actor, (req.params as { id: number }).id),
  );

  // ---- bad debt (坏账核销) ----
  app.post(
    '/accounts/:id/bad-debt',
    {
      config: { permission: 'bad_debt.write_off' },
      schema: {
        tags: ['money'],
        summary: 'Write off a closed account’s unpaid bills as bad debt (坏账核销, R-BIL-10)',
        description: '仅限已销户帐户、用户已销号且帐单逾期满规定天数；明细保留可见，客户日后缴费仍可回收。 / Closed accounts only, lines overdue long enough; they stay visible and recoverable.',
        params: IdParams,
        body: Type.Object(
          { reason: Reason, lineIds: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 500 })) },
          { additionalProperties: false, examples: [{ reason: '销户欠费催缴无果' }] },
        ),
        response: {
          201: Example('The bad-debt record', { badDebtId: 2, accountId: 12, amountFen: 6900, reason: '销户欠费催缴无果', lines: [{ lineId: 21, cycle: '2026-09', subscriberId: 7, item: 'RENT_PLAN', amountFen: 6900 }], skipped: [] }),
          ...problems(403, 404, 409, 422),
        },
      },
    },
    async (req, reply) => reply.status(201).send(await ctx.badDebts.writeOff(req.actor, (req.params as { id: number }).id, req.body as never)),
  );

  app.get(
    '/accounts/:id/bad-debt',
    {
      config: { permission: 'bad_debt.read' },
      schema: {
        tags: ['money'],
        summary: 'Bad-debt records of an account with what was recovered since (R-BIL-10)',
        params: IdParams,
        response: { 200: Example('The records', { accountId: 12, writtenOffFen: 6900, recoveredFen: 2000, outstandingFen: 4900, items: [] }), ...problems(403, 404) },
      },
    },
    async (req) => ctx.badDebts.list((req.params as { id: number }).id),
  );
}
