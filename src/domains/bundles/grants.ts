// The monthly bundle grants (R-BND-7), the daily catch-up (R-BND-8) and the month's family numbers
// (R-BND-9), set-based and idempotent per bundle per month.
//
// Reading of seed 000 (1.2 / 3.2): "每月1号早上系统自动添加，每次加1个月" with the conditions (mobile in
// normal service; broadband not in arrears and its fund has money), and "每月1号除添加话费优惠项目外，
// 还会将手机与固话设置为互惠亲情号码……此设置也是每月判断，每次只设置一个月": the family numbers are part of
// the same monthly judgement, so they are set only for a bundle that is granted that month (and with
// the catch-up grant, R-BND-8), valid for that month only.
//
// A chunk of bundles is one transaction and (mostly) one statement (grants-repo.ts): the grant ledger
// row per bundle and month is its idempotency key. A grant normally writes off open bill lines of the
// account (money.settle): only the few receiving accounts with open lines (e.g. a virtual account whose
// rent of the month was charged at 00:05 on the 1st) are locked and settled one by one.
import type { Logger } from 'pino';
import { type Actor, systemActor } from '../../platform/audit.ts';
import { addCycles, type Clock, compareCycles, CYCLE_PATTERN, cycleOf, cycleStart } from '../../platform/clock.ts';
import type { Db } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';
import type { Jobs } from '../../platform/jobs.ts';
import type { NetworkCommand, NetworkProvisioning } from '../../platform/provisioning.ts';
import type { MoneyService } from '../accounts/money.ts';
import { billingRepo } from '../billing/repo.ts';
import { type ChunkParams, type ChunkResult, grantsRepo } from './grants-repo.ts';

export const GRANT_JOB = 'bundle-grants';
export const CATCHUP_JOB = 'bundle-grants-catchup';
const DEFAULT_CHUNK = 10_000;

export interface BundleGrantDeps {
  db: Db;
  clock: Clock;
  money: MoneyService;
  network?: NetworkProvisioning | undefined;
  log?: Logger | undefined;
}

export interface GrantRunResult {
  cycle: string;
  /** bundles this run wrote a row for (granted or skipped); 0 on a rerun */
  bundles: number;
  granted: number;
  skipped: number;
  amountFen: number;
  packs: number;
  familyNumbers: number;
  /** receiving accounts whose open lines the new books were asked to pay */
  settledAccounts: number;
  chunks: number;
}

export interface GrantReportQuery {
  status?: 'granted' | 'skipped' | undefined;
  limit: number;
  offset: number;
}

type Progress = (p: { done: number; granted: number; skipped: number }) => void;

export class BundleGrantService {
  readonly deps: BundleGrantDeps;
  private seq: ChunkParams['seq'] | undefined;
  constructor(deps: BundleGrantDeps) {
    this.deps = deps;
  }

  registerJobs(jobs: Jobs): void {
    jobs.register(GRANT_JOB, (run) => this.runMonth(systemActor(GRANT_JOB), cycleOf(run.now)), {
      zh: '捆绑业务每月1号早上添加优惠（话费、功能费项目、亲情号码，R-BND-7, R-BND-9）',
      en: 'Monthly bundle grants on the morning of the 1st (money, packs, family numbers; R-BND-7, R-BND-9)',
    });
    jobs.schedule(GRANT_JOB, '0 6 1 * *');
    jobs.register(CATCHUP_JOB, (run) => this.catchUp(systemActor(CATCHUP_JOB), run.now), {
      zh: '宽带复机后次日补加当月捆绑优惠（R-BND-8）',
      en: 'Daily catch-up: a bundle skipped for its broadband gets the month’s grant the day after the broadband resumes (R-BND-8)',
    });
    jobs.schedule(CATCHUP_JOB, '30 6 * * *');
  }

  /** A cycle a grant may be given for: the current month (the books are valid until its end). */
  private checkCycle(cycle: string): void {
    if (!new RegExp(CYCLE_PATTERN).test(cycle)) {
      throw new DomainError('INVALID_CYCLE', `帐期格式不正确：${cycle}（应为 YYYY-MM）`, `Invalid cycle ${cycle} (YYYY-MM expected)`, 400, { cycle });
    }
    const current = cycleOf(this.deps.clock.now());
    if (compareCycles(cycle, current) !== 0) {
      throw new DomainError(
        'BUNDLE_GRANT_CYCLE_NOT_CURRENT',
        `只能为当月（${current}）添加捆绑优惠，不能为 ${cycle}`,
        `Bundle grants are given for the current month (${current}) only, not ${cycle}`,
        422,
        { cycle, current },
      );
    }
  }

  private async sequences(): Promise<ChunkParams['seq']> {
    this.seq ??= await grantsRepo.sequences(this.deps.db);
    return this.seq;
  }

  /** Bundles still to be judged for the month (the CLI's progress bar). */
  async pending(cycle: string): Promise<number> {
    return grantsRepo.monthPending(this.deps.db, cycle, cycleStart(cycle));
  }

  /** R-BND-7 / R-BND-9: every active bundle started before the month, once per month. */
  async runMonth(actor: Actor, cycle: string, opts: { chunkSize?: number; workers?: number; onChunk?: Progress } = {}): Promise<GrantRunResult> {
    this.checkCycle(cycle);
    const start = cycleStart(cycle);
    return this.work(actor, 'month', cycle, (after, limit) => grantsRepo.monthChunk(this.deps.db, cycle, start, after, limit), opts);
  }

  /**
   * R-BND-8 (daily, in the morning): a bundle of this month skipped for its broadband (arrears, stop,
   * no fund) that is eligible now gets the month's grant, marked caught up. A broadband that paid
   * yesterday (or today after the job ran) is granted by the next morning's run.
   */
  async catchUp(actor: Actor, now: Date = this.deps.clock.now(), opts: { chunkSize?: number; workers?: number } = {}): Promise<GrantRunResult> {
    const cycle = cycleOf(now);
    return this.work(actor, 'catchup', cycle, (after, limit) => grantsRepo.catchUpChunk(this.deps.db, cycle, after, limit), opts);
  }

  private async work(
    actor: Actor,
    mode: ChunkParams['mode'],
    cycle: string,
    next: (after: number, limit: number) => Promise<number[]>,
    opts: { chunkSize?: number; workers?: number; onChunk?: Progress },
  ): Promise<GrantRunResult> {
    const size = Math.max(1, opts.chunkSize ?? DEFAULT_CHUNK);
    const seq = await this.sequences();
    const start = cycleStart(cycle);
    const end = cycleStart(addCycles(cycle, 1));
    const out: GrantRunResult = { cycle, bundles: 0, granted: 0, skipped: 0, amountFen: 0, packs: 0, familyNumbers: 0, settledAccounts: 0, chunks: 0 };
    // chunks are handed out in package order, one at a time; `workers` of them are worked at once
    let after = 0;
    let handing: Promise<unknown> = Promise.resolve();
    const take = (): Promise<number[]> => {
      const p = handing.then(async () => {
        const ids = await next(after, size);
        if (ids.length) after = ids[ids.length - 1] as number;
        return ids;
      });
      handing = p.catch(() => undefined);
      return p;
    };
    const worker = async () => {
      for (;;) {
        const ids = await take();
        if (ids.length === 0) return;
        const now = this.deps.clock.now();
        const r: ChunkResult = await this.deps.db.transaction().execute(async (tx) => {
          // a concurrent run touching these bundles waits here, then finds them done
          await grantsRepo.lockBundles(tx, ids);
          await grantsRepo.chunkSettings(tx);
          const res = await grantsRepo.grantChunk(tx, { mode, ids, cycle, start, end, now, previousCycle: addCycles(cycle, -1), actor, seq });
          if (res.settle.length) {
            // the account lock (as money.grant takes it) before reading the lines the new book may pay
            await billingRepo.lockAccounts(
              tx,
              res.settle.map((s) => s.accountId),
            );
            for (const s of res.settle) await this.deps.money.settle(tx, s.accountId, { kind: 'grant', id: s.grantId });
          }
          return res;
        });
        // after the commit: credit control may resume a line the grant paid (R-CC-2); the network gets the family numbers
        for (const s of r.settle) await this.deps.money.creditedAfterCommit(s.accountId, 'grant');
        await this.sendFamilyNumbers(r.familyLines, start);
        out.chunks++;
        out.bundles += r.bundles;
        out.granted += r.granted;
        out.skipped += r.skipped;
        out.amountFen += r.amountFen;
        out.packs += r.packs;
        out.familyNumbers += r.familyNumbers;
        out.settledAccounts += r.settle.length;
        opts.onChunk?.({ done: out.bundles, granted: out.granted, skipped: out.skipped });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.workers ?? 1) }, () => worker()));
    this.deps.log?.info({ mode, ...out }, 'bundle grants');
    return out;
  }

  /** R-BND-9 / R-INT-2: the line's family numbers of the month, replacing what the network had. */
  private async sendFamilyNumbers(lines: { subscriberId: number; serviceNumber: string }[], at: Date): Promise<void> {
    const network = this.deps.network;
    if (!network || lines.length === 0) return;
    const numbers = await grantsRepo.familyNumbersAt(
      this.deps.db,
      lines.map((l) => l.subscriberId),
      at,
    );
    for (const l of lines) {
      const c: NetworkCommand = { command: 'family_numbers', serviceNumber: l.serviceNumber, subscriberId: l.subscriberId, numbers: numbers.get(l.subscriberId) ?? [] };
      try {
        await network.send(c);
      } catch (err) {
        this.deps.log?.error({ err, command: c }, 'family numbers command of a bundle grant failed');
      }
    }
  }

  /** The month's grants: totals, skips by reason, per offer, and a page of bundles. */
  async report(cycle: string, q: GrantReportQuery) {
    if (!new RegExp(CYCLE_PATTERN).test(cycle)) {
      throw new DomainError('INVALID_CYCLE', `帐期格式不正确：${cycle}（应为 YYYY-MM）`, `Invalid cycle ${cycle} (YYYY-MM expected)`, 400, { cycle });
    }
    const db = this.deps.db;
    const [totals, byReason, byOffer, page] = await Promise.all([
      grantsRepo.totals(db, cycle),
      grantsRepo.byReason(db, cycle),
      grantsRepo.byOffer(db, cycle),
      grantsRepo.items(db, cycle, q),
    ]);
    return { cycle, totals, byReason, byOffer, items: page.items, total: page.total };
  }
}
