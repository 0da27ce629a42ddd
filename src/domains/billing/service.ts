// The bill run (出账, SPEC §5): R-BIL-4..9, R-X-9, R-X-14. A run is cut into chunks of account ids;
// a chunk is billed in one transaction (recurring fees + usage + late fees → payment relations →
// pre-bills), so a worker killed half-way leaves nothing and the chunk is simply done again. Workers
// (threads of this process, other processes, pg-boss jobs) claim chunks with FOR UPDATE SKIP LOCKED.
// Publishing is chunked the same way: bills published, parked payments replayed, write-off set-based.
import { hostname } from 'node:os';
import { type Actor, can, systemActor } from '../../platform/audit.ts';
import { addCycles, type Clock, compareCycles, cycleOf, cycleStart } from '../../platform/clock.ts';
import type { Db, Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Jobs } from '../../platform/jobs.ts';
import type { Fen } from '../../platform/money.ts';
import { recordChange } from '../../platform/outbox.ts';
import type { MoneyService } from '../accounts/money.ts';
import type { AccountingReference } from '../accounts/reference.ts';
import { assignCharges, type RelationState } from '../accounts/relations.ts';
import { type Allocation, writeOff } from '../accounts/writeoff.ts';
import { billingRepo, type ChunkRow, type NewLine, type RunRow, type Scope } from './repo.ts';
import { advanceRentCharges, dueDate, minimumSpendShortfall, progress, type RecurringCharge, recurringCharges } from './rules.ts';

const RUN = { zh: '出账批次', en: 'Bill run' };
const MAX_ATTEMPTS = 3;

/** A usage charge of a cycle not yet billed (rating, issue 4 part 1). */
export interface UsageCharge {
  subscriberId: number;
  itemCode: string;
  amountFen: Fen;
}

/**
 * What the bill run needs of rating (`ctx.usage`): everything rated before the run starts. The rated
 * charges themselves it reads and marks billed in usage_charges (billingRepo.takeUnbilledUsage, under
 * the rating lock taken shared, as usage/service.ts describes).
 */
export interface UsageSource {
  ratePending(): Promise<unknown>;
}

/** Late fees of an account billed into a cycle (R-ACC-17); returns the charges to bill. */
export type LateFeeSource = (tx: Tx, accountId: number, cycle: string) => Promise<UsageCharge[] | unknown>;

/** Hooks of a chunk (tests): called inside the chunk's transaction after its lines are written. */
export type ChunkFault = (chunk: ChunkRow, phase: 'bill' | 'publish') => void | Promise<void>;

type Charge = UsageCharge & { source: NewLine['source'] };

export interface WorkResult {
  chunks: number;
  failed: number;
  state: RunRow['state'];
}

export class BillRunService {
  private readonly deps: { db: Db; clock: Clock; money: MoneyService; reference: AccountingReference };
  /** Rating (A): usage charges and ratePending; absent, the run bills recurring fees only. */
  usage: UsageSource | undefined;
  /** Late fees (E, R-ACC-17). */
  lateFees: LateFeeSource | undefined;
  /** Credit control (C): accounts whose bills were just published. */
  onPublished: ((accountIds: number[]) => Promise<void>) | undefined;
  /** Credit control (C): virtual accounts that were just charged their advance rent. */
  onCharged: ((accountIds: number[]) => Promise<void>) | undefined;
  /** Tests only: throw inside a chunk's transaction. */
  fault: ChunkFault | undefined;
  private jobs: Jobs | undefined;

  constructor(deps: { db: Db; clock: Clock; money: MoneyService; reference: AccountingReference }) {
    this.deps = deps;
    // R-X-9: payments to an account whose bills are pre-bills keep their money; write-off waits for publish
    deps.money.parkWriteOff = (tx, accountId, paymentId) => billingRepo.parkIfPrebilled(tx, accountId, paymentId, deps.clock.now());
  }

  registerJobs(jobs: Jobs): void {
    this.jobs = jobs;
    jobs.register(
      'billrun-chunk',
      async (run) => {
        const d = (run.data ?? {}) as { runId?: number; phase?: 'bill' | 'publish' };
        if (typeof d.runId !== 'number') return { skipped: 'no runId' };
        return this.work(d.runId, d.phase ?? 'bill');
      },
      { zh: '出账分片（多个进程共同完成一个批次）', en: 'Bill-run chunks (several processes share one run)' },
    );
    jobs.register('virtual-rent', async (run) => this.chargeVirtualRent(run.now), { zh: '实时帐户月初扣月租 (R-BIL-8)', en: 'Advance monthly rent of virtual accounts (R-BIL-8)' });
    jobs.schedule('virtual-rent', '5 0 * * *');
  }

  // ---- the run ----

  /**
   * Starts the bill run of a finished cycle, or resumes it (R-BIL-6): one run per cycle. Usage is rated
   * first; chunks are cut; with jobs running, `workers` chunk jobs are queued for any process to take.
   */
  async start(actor: Actor, cycle: string, opts: { workers?: number; chunkAccounts?: number } = {}): Promise<RunRow> {
    const now = this.deps.clock.now();
    if (compareCycles(cycle, cycleOf(now)) >= 0) {
      throw new DomainError('CYCLE_NOT_ENDED', `帐期 ${cycle} 尚未结束，不能出账`, `Cycle ${cycle} has not ended; it cannot be billed yet`, 422, { cycle });
    }
    let run = await billingRepo.runByCycle(this.deps.db, cycle);
    if (!run) {
      await this.usage?.ratePending();
      const size = opts.chunkAccounts ?? (await billingRepo.parameter(this.deps.db, 'billrun_chunk_accounts', 2000));
      run = await this.deps.db.transaction().execute(async (tx) => {
        const created = await billingRepo.insertRun(tx, cycle, actor.operatorId, now);
        if (!created) return undefined;
        const t = await billingRepo.insertChunks(tx, created.run_id, Math.max(1, size));
        await this.record(tx, actor, created.run_id, 'billrun.start', 'billrun.started', { runId: created.run_id, cycle, chunks: t.chunks, accounts: t.accounts });
        return created;
      });
      run ??= await billingRepo.runByCycle(this.deps.db, cycle);
      if (!run) throw new Error(`bill run of ${cycle} vanished`);
    } else if (run.state === 'failed') {
      const failedId = run.run_id;
      // an operator starting a failed run again gives its failed chunks fresh attempts
      await this.deps.db.transaction().execute(async (tx) => {
        await billingRepo.resetFailed(tx, failedId);
        await billingRepo.setRunState(tx, failedId, 'running', now);
      });
    }
    await this.queue(run.run_id, run.state === 'publishing' ? 'publish' : 'bill', opts.workers ?? 2);
    return (await billingRepo.runById(this.deps.db, run.run_id)) as RunRow;
  }

  /** Queues chunk jobs when pg-boss runs in this process; otherwise the caller works the run itself. */
  private async queue(runId: number, phase: 'bill' | 'publish', workers: number): Promise<void> {
    if (!this.jobs?.running) return;
    for (let i = 0; i < Math.max(1, workers); i++) await this.jobs.send('billrun-chunk', { runId, phase });
  }

  /**
   * Works chunks of a run until none is left (or `maxChunks`), then settles the run's state. Safe to
   * call from many workers at once; a chunk that throws is rolled back, its error kept, and retried.
   */
  async work(runId: number, phase: 'bill' | 'publish' = 'bill', opts: { maxChunks?: number; worker?: string; onChunk?: (c: ChunkRow) => void } = {}): Promise<WorkResult> {
    const worker = opts.worker ?? `${hostname()}:${process.pid}`;
    let chunks = 0;
    let failed = 0;
    const run = await billingRepo.runById(this.deps.db, runId);
    if (!run) throw notFound(RUN, runId);
    const wanted = phase === 'bill' ? ['running'] : ['publishing'];
    if (wanted.includes(run.state)) {
      while (opts.maxChunks === undefined || chunks < opts.maxChunks) {
        let claimed: ChunkRow | undefined;
        let accountIds: number[] = [];
        try {
          const done = await this.deps.db.transaction().execute(async (tx) => {
            claimed = await billingRepo.claimChunk(tx, runId, phase, MAX_ATTEMPTS);
            if (!claimed) return false;
            await billingRepo.chunkSettings(tx);
            if (phase === 'bill') await this.billChunk(tx, run, claimed, worker);
            else accountIds = await this.publishChunk(tx, run, claimed);
            return true;
          });
          if (!done) break;
          chunks++;
          if (phase === 'publish' && accountIds.length && this.onPublished) await this.onPublished(accountIds);
          if (claimed) opts.onChunk?.(claimed);
        } catch (err) {
          if (!claimed) throw err;
          failed++;
          await billingRepo.chunkFailed(this.deps.db, runId, claimed.chunk_no, phase, err instanceof Error ? err.message : String(err), worker);
        }
      }
    }
    return { chunks, failed, state: await this.settleRunState(runId, phase) };
  }

  /** After work: every chunk done → prebilled / published; a chunk out of attempts → failed. */
  private async settleRunState(runId: number, phase: 'bill' | 'publish'): Promise<RunRow['state']> {
    return this.deps.db.transaction().execute(async (tx) => {
      const run = (await billingRepo.runById(tx, runId, 'FOR UPDATE')) as RunRow;
      const expected = phase === 'bill' ? 'running' : 'publishing';
      if (run.state !== expected) return run.state;
      const chunks = await billingRepo.chunks(tx, runId);
      const state = (c: ChunkRow) => (phase === 'bill' ? c.state : c.publish_state);
      const now = this.deps.clock.now();
      if (chunks.every((c) => state(c) === 'done')) {
        const next = phase === 'bill' ? 'prebilled' : 'published';
        await billingRepo.setRunState(tx, runId, next, now);
        const totals = chunks.reduce((s, c) => ({ lines: s.lines + c.lines, amountFen: s.amountFen + Number(c.amount_fen) }), { lines: 0, amountFen: 0 });
        await this.record(tx, systemActor('billrun'), runId, `billrun.${next}`, `billrun.${next}`, { runId, cycle: run.cycle, ...totals });
        return next;
      }
      if (chunks.some((c) => state(c) === 'failed' && c.attempts >= MAX_ATTEMPTS)) {
        await billingRepo.setRunState(tx, runId, 'failed', now);
        return 'failed';
      }
      return run.state;
    });
  }

  /** Start (or resume) and work the run here until it is pre-billed; with `publish`, publish it too. */
  async run(actor: Actor, cycle: string, opts: { workers?: number; publish?: boolean; chunkAccounts?: number; onChunk?: (c: ChunkRow) => void } = {}) {
    let run = await this.start(actor, cycle, { ...opts, workers: this.jobs?.running ? opts.workers : 0 });
    const workers = Math.max(1, opts.workers ?? 1);
    const loop = async (phase: 'bill' | 'publish') => {
      await Promise.all(Array.from({ length: workers }, (_, i) => this.work(run.run_id, phase, { worker: `${hostname()}:${process.pid}:${i}`, onChunk: opts.onChunk })));
    };
    if (run.state === 'running') await loop('bill');
    if (opts.publish) {
      run = (await billingRepo.runById(this.deps.db, run.run_id)) as RunRow;
      if (run.state === 'prebilled' || run.state === 'publishing') return this.publish(actor, run.run_id, { workers, inline: true });
    }
    return this.view(run.run_id);
  }

  // ---- billing a chunk ----

  private async billChunk(tx: Tx, run: RunRow, chunk: ChunkRow, worker: string): Promise<void> {
    const startedAt = new Date();
    const stats = await this.billScope(tx, run, { lo: Number(chunk.account_lo), hi: Number(chunk.account_hi) }, new Map());
    await this.fault?.(chunk, 'bill');
    await billingRepo.chunkDone(tx, run.run_id, chunk.chunk_no, stats, worker, startedAt);
  }

  /**
   * R-BIL-5 for the subscribers in scope: recurring fees (R-BIL-4) and the minimum-spend shortfall
   * (R-X-14) through the ledger (a fee is written once), unbilled usage, late fees, then the payment
   * relations (R-ACC-9/10) and the pre-bills of the paying accounts. `extra`: charges a re-run keeps.
   */
  private async billScope(tx: Tx, run: RunRow, scope: Scope, extra: Map<number, Charge[]>) {
    const cycle = run.cycle;
    const now = this.deps.clock.now();
    const subs = await billingRepo.subscribersInScope(tx, scope, cycleStart(cycle), cycleStart(addCycles(cycle, 1)));
    const subIds = subs.map((s) => s.subscriberId);
    const usage = new Map<number, Charge[]>();
    if (this.usage && subIds.length) {
      for (const u of await billingRepo.takeUnbilledUsage(tx, subIds, cycle, now)) {
        if (u.amountFen > 0) push(usage, u.subscriberId, { ...u, source: 'usage' });
      }
    }
    // R-ACC-17 late fees: LateFeeService.chargeLateFees(tx, accountId, cycle) (src/domains/accounts/late-fees.ts,
    // wired in context.ts as `billing.lateFees`) writes its LATE_FEE lines onto the cycle's bill itself (a pre-bill
    // while this run is open); a source that returns charges instead has them billed here. Only accounts that may
    // owe one are asked (one set-based query per chunk instead of one per account).
    if (this.lateFees && subs.length) {
      const accounts = [...new Set(subs.map((s) => s.accountId))].sort((a, b) => a - b);
      for (const accountId of await billingRepo.mayOweLateFees(tx, accounts, cycle, cycleStart(cycle))) {
        const fees = await this.lateFees(tx, accountId, cycle);
        for (const f of Array.isArray(fees) ? fees.map(usageCharge) : []) if (f.amountFen > 0) push(usage, f.subscriberId, { ...f, source: 'late_fee' });
      }
    }
    const ledger: (RecurringCharge & { accountId: number; cycle: string })[] = [];
    for (const s of subs) {
      const rec = recurringCharges(cycle, s.offers);
      const others = [...(usage.get(s.subscriberId) ?? []), ...(extra.get(s.subscriberId) ?? [])];
      const monthFen = rec.reduce((t, c) => t + c.amountFen, 0) + others.reduce((t, c) => t + c.amountFen, 0);
      const shortfall = minimumSpendShortfall(cycle, s.offers, monthFen);
      for (const c of shortfall ? [...rec, shortfall] : rec) ledger.push({ ...c, accountId: s.accountId, cycle });
    }
    const written = await billingRepo.insertLedger(tx, ledger, run.run_id, now);
    const charges = new Map<number, Charge[]>();
    for (const c of written) push(charges, c.subscriberId, { subscriberId: c.subscriberId, itemCode: c.itemCode, amountFen: c.amountFen, source: c.kind === 'minimum_spend' ? 'minimum_spend' : 'recurring' });
    for (const m of [usage, extra]) for (const [id, list] of m) for (const c of list) push(charges, id, c);
    const lines = await this.assign(tx, cycle, subs, charges);
    await billingRepo.insertBillsAndLines(tx, cycle, lines, { runId: run.run_id, status: 'prebill', now });
    return { subscribers: subs.length, lines: lines.length, amountFen: lines.reduce((t, l) => t + l.amountFen, 0) };
  }

  /** R-ACC-9/10: each subscriber's charges (merged per item) go to the paying accounts by relation priority and limit. */
  private async assign(tx: Tx, cycle: string, subs: { subscriberId: number; accountId: number }[], charges: Map<number, Charge[]>): Promise<NewLine[]> {
    const billed = subs.filter((s) => charges.has(s.subscriberId));
    const relations = await billingRepo.relations(
      tx,
      billed.map((s) => s.subscriberId),
      cycle,
    );
    const bySub = new Map<number, RelationState[]>();
    for (const r of relations) {
      const list = bySub.get(r.subscriber_id) ?? [];
      list.push({ relationId: r.relation_id, payerAccountId: r.payer_account_id, priority: r.priority, items: r.items, limitFen: r.limit_fen, usedFen: r.used });
      bySub.set(r.subscriber_id, list);
    }
    const priorities = new Map((await this.deps.reference.allItems(tx)).map((i) => [i.code, i.priority]));
    const lines: NewLine[] = [];
    for (const s of billed) {
      const merged = new Map<string, Charge>();
      for (const c of charges.get(s.subscriberId) ?? []) {
        const m = merged.get(c.itemCode);
        if (m) m.amountFen += c.amountFen;
        else merged.set(c.itemCode, { ...c });
      }
      const list = [...merged.values()];
      const source = new Map(list.map((c) => [c.itemCode, c.source]));
      const input = list.map((c) => ({ itemCode: c.itemCode, amountFen: c.amountFen, itemPriority: priorities.get(c.itemCode) ?? Number.MAX_SAFE_INTEGER }));
      for (const a of assignCharges(input, bySub.get(s.subscriberId) ?? [], s.accountId)) {
        lines.push({ accountId: a.payerAccountId, subscriberId: s.subscriberId, itemCode: a.itemCode, amountFen: a.amountFen, relationId: a.relationId, source: source.get(a.itemCode) ?? 'recurring' });
      }
    }
    return lines;
  }

  // ---- review, re-run, publish (R-BIL-9) ----

  /** R-BIL-9: re-bills one account's subscribers of a pre-billed run after a correction. */
  async rerunAccount(actor: Actor, runId: number, accountId: number) {
    return this.deps.db.transaction().execute(async (tx) => {
      const run = await billingRepo.runById(tx, runId, 'FOR SHARE');
      if (!run) throw notFound(RUN, runId);
      if (run.state !== 'prebilled' && run.state !== 'running') {
        throw new DomainError('BILL_RUN_NOT_OPEN', '该出账批次已发布或失败，不能重出单个帐户', 'The bill run is published or failed; single accounts cannot be re-run', 409, { state: run.state });
      }
      const chunk = await billingRepo.chunkOfAccount(tx, runId, accountId);
      if (!chunk || chunk.state !== 'done') {
        throw new DomainError('ACCOUNT_NOT_BILLED_YET', '该帐户尚未出账', 'The account has not been billed in this run yet', 409, { accountId });
      }
      const subs = await billingRepo.subscribersInScope(tx, { lo: accountId - 1, hi: accountId }, cycleStart(run.cycle), cycleStart(addCycles(run.cycle, 1)));
      const subIds = subs.map((s) => s.subscriberId);
      if (subIds.length === 0) throw new DomainError('NOTHING_TO_RERUN', '该帐户没有按月出账的用户', 'The account has no postpaid subscribers to bill', 422, { accountId });
      const taken = await billingRepo.takeBack(tx, runId, run.cycle, subIds);
      // usage and late fees already billed stay billed: they are kept and billed again with the new fees
      const extra = new Map<number, Charge[]>();
      for (const t of taken) {
        if (t.source === 'usage' || t.source === 'late_fee') push(extra, t.subscriber_id, { subscriberId: t.subscriber_id, itemCode: t.item_code, amountFen: t.amount_fen, source: t.source });
      }
      const before = taken.reduce((s, t) => s + Number(t.amount_fen), 0);
      const stats = await this.billScope(tx, run, { subscriberIds: subIds }, extra);
      const view = { runId, cycle: run.cycle, accountId, subscribers: subIds.length, beforeFen: before, afterFen: stats.amountFen, lines: stats.lines };
      await recordChange(
        tx,
        this.deps.clock,
        actor,
        { action: 'billrun.account_rerun', targetType: 'bill_run', targetId: runId, accountId, after: view },
        { type: 'billrun.account_rerun', aggregateType: 'account', aggregateId: accountId, accountId, payload: view },
      );
      return view;
    });
  }

  /** R-BIL-9 正式出账: publishes the pre-bills with their due date, replays parked payments (R-X-9), writes off. */
  async publish(actor: Actor, runId: number, opts: { workers?: number; inline?: boolean } = {}) {
    const run = await this.deps.db.transaction().execute(async (tx) => {
      const r = await billingRepo.runById(tx, runId, 'FOR UPDATE');
      if (!r) throw notFound(RUN, runId);
      if (r.state === 'prebilled') {
        await billingRepo.setRunState(tx, runId, 'publishing', this.deps.clock.now());
        await this.record(tx, actor, runId, 'billrun.publish', 'billrun.publishing', { runId, cycle: r.cycle });
        return { ...r, state: 'publishing' as const };
      }
      if (r.state === 'publishing' || r.state === 'published') return r;
      throw new DomainError('BILL_RUN_NOT_PREBILLED', '出账尚未完成预出账，不能发布', 'The bill run has not finished its pre-bill; it cannot be published', 409, { state: r.state });
    });
    if (run.state === 'publishing') {
      // job workers (any server or `billrun worker` process) publish it; otherwise it is done here
      if (this.jobs?.running && !opts.inline) await this.queue(runId, 'publish', opts.workers ?? 2);
      else await Promise.all(Array.from({ length: Math.max(1, opts.workers ?? 1) }, () => this.work(runId, 'publish')));
    }
    return this.view(runId);
  }

  private async publishChunk(tx: Tx, run: RunRow, chunk: ChunkRow): Promise<number[]> {
    const now = this.deps.clock.now();
    const lo = Number(chunk.account_lo);
    const hi = Number(chunk.account_hi);
    const accountIds = await billingRepo.runAccountsInRange(tx, run.run_id, lo, hi);
    // the account lock: a payment waiting on it sees the published bills (and is not parked) once we commit
    await billingRepo.lockAccounts(tx, accountIds);
    const dueAt = dueDate(run.cycle, now, await billingRepo.parameter(tx, 'bill_due_day', 20));
    const bills = await billingRepo.publishBills(tx, run.run_id, lo, hi, now, dueAt, run.operator_id);
    // R-X-9: payments parked during the run are written off first, in payment order
    for (const p of await billingRepo.parkedPayments(tx, accountIds)) {
      await this.deps.money.settle(tx, p.account_id, { kind: 'payment', id: p.payment_id });
      await billingRepo.markReplayed(tx, p.account_id, p.payment_id, now);
    }
    const billOf = new Map(bills.map((b) => [b.account_id, b.bill_id]));
    await this.writeOffMany(tx, accountIds, (a) => ({ kind: 'bill', id: billOf.get(a) ?? 0 }), now);
    await this.fault?.(chunk, 'publish');
    await billingRepo.chunkPublished(tx, run.run_id, chunk.chunk_no);
    return accountIds;
  }

  /**
   * R-ACC-1..5 for many locked accounts at once: the same pure write-off as `MoneyService.settle`, with
   * the books and open lines of every account read in one statement each and the result written in one.
   */
  private async writeOffMany(tx: Tx, accountIds: number[], trigger: (accountId: number) => { kind: 'bill' | 'payment'; id: number }, now: Date): Promise<void> {
    if (accountIds.length === 0) return;
    await billingRepo.expireDueBooks(tx, accountIds, now);
    const books = await billingRepo.bookStates(tx, accountIds, now);
    const withBooks = accountIds.filter((a) => books.has(a));
    const lines = await billingRepo.openLines(tx, withBooks);
    const rows: (Allocation & { accountId: number; triggerKind: 'bill' | 'payment'; triggerId: number })[] = [];
    for (const a of withBooks) {
      const open = lines.get(a);
      if (!open) continue;
      const t = trigger(a);
      for (const x of writeOff(books.get(a) ?? [], open, now).allocations) rows.push({ ...x, accountId: a, triggerKind: t.kind, triggerId: t.id });
    }
    await billingRepo.applyWriteOffs(tx, rows, now);
  }

  // ---- R-BIL-8 virtual accounts ----

  /**
   * R-BIL-8: every virtual-account subscriber pays each cycle's rent in advance, up to the current
   * cycle (the activation cycle pro rata from the activation day), as published lines written off at
   * once. The ledger makes it idempotent: run daily, twice, or after the clock jumped months.
   */
  async chargeVirtualRent(now: Date = this.deps.clock.now()) {
    const recentFrom = cycleStart(addCycles(cycleOf(now), -3));
    let after = 0;
    let charged = 0;
    let amountFen = 0;
    const touched: number[] = [];
    for (;;) {
      const hi = await billingRepo.nextVirtualRange(this.deps.db, after, 500);
      if (hi === null) break;
      const lo = after;
      const accounts = await this.deps.db.transaction().execute(async (tx) => {
        await billingRepo.chunkSettings(tx);
        const subs = await billingRepo.virtualSubscribers(tx, lo, hi, now, recentFrom);
        const offers = subs.flatMap((s) => s.offers.map((o) => ({ o, accountId: s.accountId })));
        const keys = await billingRepo.ledgerKeys(
          tx,
          offers.map((x) => x.o.subscriberOfferId),
        );
        const due: (RecurringCharge & { accountId: number; cycle: string })[] = [];
        for (const { o, accountId } of offers) {
          const mine = new Set([...keys].filter((k) => k.startsWith(`${o.subscriberOfferId}/`)).map((k) => k.slice(k.indexOf('/') + 1)));
          for (const c of advanceRentCharges(o, now, mine)) due.push({ ...c, accountId });
        }
        const written = await billingRepo.insertLedger(tx, due, null, now);
        const payers = new Set<number>();
        const billOf = new Map<number, number>();
        for (const cycle of [...new Set(written.map((w) => w.cycle))].sort()) {
          const charges = new Map<number, Charge[]>();
          for (const w of written.filter((x) => x.cycle === cycle)) push(charges, w.subscriberId, { subscriberId: w.subscriberId, itemCode: w.itemCode, amountFen: w.amountFen, source: 'virtual_rent' });
          const lines = await this.assign(tx, cycle, subs, charges);
          const bills = await billingRepo.insertBillsAndLines(tx, cycle, lines, { runId: null, status: 'published', now });
          for (const [a, b] of bills) billOf.set(a, b);
          for (const l of lines) payers.add(l.accountId);
          charged += lines.length;
          amountFen += lines.reduce((s, l) => s + l.amountFen, 0);
        }
        const ids = [...payers].sort((a, b) => a - b);
        await billingRepo.lockAccounts(tx, ids);
        await this.writeOffMany(tx, ids, (a) => ({ kind: 'bill', id: billOf.get(a) ?? 0 }), now);
        return ids;
      });
      touched.push(...accounts);
      if (accounts.length && this.onCharged) await this.onCharged(accounts);
      after = hi;
    }
    return { lines: charged, amountFen, accounts: touched.length };
  }

  // ---- views ----

  async list() {
    const runs = await billingRepo.runs(this.deps.db);
    return { items: await Promise.all(runs.map((r) => this.view(r.run_id))) };
  }

  /**
   * R-BIL-7: progress (accounts done/total, rate, ETA), per-chunk errors, totals per bill item. `totals:
   * false` leaves the totals out (empty): they sum every line of the cycle, too much for a progress bar
   * asking twice a second while the run writes those lines.
   */
  async view(runId: number, opts: { totals?: boolean } = {}) {
    const run = await billingRepo.runById(this.deps.db, runId);
    if (!run) throw notFound(RUN, runId);
    const chunks = await billingRepo.chunks(this.deps.db, runId);
    const publishing = run.state === 'publishing' || run.state === 'published';
    const total = Number(run.accounts_total);
    const done = publishing
      ? chunks.filter((c) => c.publish_state === 'done').reduce((s, c) => s + c.accounts, 0)
      : chunks.filter((c) => c.state === 'done').reduce((s, c) => s + c.accounts, 0);
    const end = run.wall_finished_at ?? new Date();
    const p = progress(done, total, end.getTime() - run.wall_started_at.getTime());
    const totals = opts.totals === false ? [] : await billingRepo.itemTotals(this.deps.db, [run.cycle]);
    return {
      runId: run.run_id,
      cycle: run.cycle,
      state: run.state,
      phase: publishing ? ('publish' as const) : ('bill' as const),
      startedAt: run.started_at.toISOString(),
      prebilledAt: run.prebilled_at?.toISOString() ?? null,
      publishedAt: run.published_at?.toISOString() ?? null,
      progress: {
        accountsDone: done,
        accountsTotal: total,
        chunksDone: chunks.filter((c) => (publishing ? c.publish_state : c.state) === 'done').length,
        chunksTotal: chunks.length,
        subscribers: chunks.reduce((s, c) => s + c.subscribers, 0),
        ratePerSecond: p.ratePerSecond,
        etaSeconds: p.etaSeconds,
      },
      totalFen: totals.reduce((s, t) => s + t.total, 0),
      lines: chunks.reduce((s, c) => s + c.lines, 0),
      totalsByItem: totals.map((t) => ({ item: t.item_code, name: { zh: t.name_zh, en: t.name_en }, amountFen: t.total, lines: t.lines })),
      errors: chunks.filter((c) => c.error).map((c) => ({ chunkNo: c.chunk_no, state: c.state, publishState: c.publish_state, attempts: c.attempts, error: c.error, worker: c.worker })),
    };
  }

  /** R-BIL-9: totals per bill item against the previous cycle, and subscribers far above their usual. */
  async review(runId: number) {
    const run = await billingRepo.runById(this.deps.db, runId);
    if (!run) throw notFound(RUN, runId);
    const prev = addCycles(run.cycle, -1);
    const rows = await billingRepo.itemTotals(this.deps.db, [run.cycle, prev]);
    const items = [...new Set(rows.map((r) => r.item_code))];
    const byItem = items.map((item) => {
      const cur = rows.find((r) => r.item_code === item && r.cycle === run.cycle);
      const old = rows.find((r) => r.item_code === item && r.cycle === prev);
      const amountFen = cur?.total ?? 0;
      const previousFen = old?.total ?? 0;
      const name = cur ?? old;
      return { item, name: { zh: name?.name_zh ?? item, en: name?.name_en ?? item }, amountFen, previousFen, changeFen: amountFen - previousFen, changePermille: previousFen > 0 ? Math.round(((amountFen - previousFen) * 1000) / previousFen) : null };
    });
    const factor = await billingRepo.parameter(this.deps.db, 'billrun_anomaly_factor', 3);
    const minFen = await billingRepo.parameter(this.deps.db, 'billrun_anomaly_min_fen', 10000);
    const anomalies = await billingRepo.anomalies(this.deps.db, runId, run.cycle, [1, 2, 3].map((k) => addCycles(run.cycle, -k)), factor, minFen, 200);
    return {
      runId,
      cycle: run.cycle,
      previousCycle: prev,
      state: run.state,
      totalFen: byItem.reduce((s, i) => s + i.amountFen, 0),
      previousTotalFen: byItem.reduce((s, i) => s + i.previousFen, 0),
      items: byItem,
      anomalies: { factor, minFen, items: anomalies },
    };
  }

  /** Bills of an account with lines and write-off lines. */
  async accountBills(accountId: number) {
    const acc = await this.deps.db.selectFrom('accounts').select('account_id').where('account_id', '=', accountId).executeTakeFirst();
    if (!acc) throw notFound({ zh: '帐户', en: 'Account' }, accountId);
    return { items: await billingRepo.accountBills(this.deps.db, accountId, 24) };
  }

  runIdOf(cycle: string) {
    return billingRepo.runByCycle(this.deps.db, cycle).then((r) => r?.run_id);
  }

  /** Runs with work left for a worker process: billing or publishing. */
  async openRuns(): Promise<{ runId: number; phase: 'bill' | 'publish' }[]> {
    const runs = await billingRepo.runs(this.deps.db);
    return runs.filter((r) => r.state === 'running' || r.state === 'publishing').map((r) => ({ runId: r.run_id, phase: r.state === 'running' ? 'bill' : 'publish' }));
  }

  assertCan(actor: Actor, permission: string) {
    if (!can(actor, permission)) throw new DomainError('FORBIDDEN', '无权限', 'Permission denied', 403, { permission });
  }

  private record(tx: Tx, actor: Actor, runId: number, action: string, event: string, view: Record<string, unknown>) {
    return recordChange(tx, this.deps.clock, actor, { action, targetType: 'bill_run', targetId: runId, after: view }, { type: event, aggregateType: 'bill_run', aggregateId: runId, payload: view });
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** A usage or late-fee charge as rating returns it (camelCase or the table's snake_case). */
function usageCharge(x: unknown): UsageCharge {
  const r = x as Record<string, unknown>;
  return {
    subscriberId: Number(r.subscriberId ?? r.subscriber_id),
    itemCode: String(r.itemCode ?? r.item_code ?? r.item),
    amountFen: Number(r.amountFen ?? r.amount_fen),
  };
}
