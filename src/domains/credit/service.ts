// Credit control (信控): judges each subscriber (R-CC-1, R-CC-4), reminds (R-CC-3), stops one-way then
// two-way (R-X-2), resumes on payment (R-CC-2, R-X-4) and cascades to linked members (R-CC-4, R-X-3).
// An account is evaluated under its row lock (the lock payments take), so a payment and a stop never
// cross: alone (evaluateAccount) or with up to BATCH others in one transaction (evaluateMany, the
// same writes); network commands go out right after the commit (R-INT-2), SMS as
// `notification.sms` outbox events in the transaction (R-CC-3, R-INT-3).
import type { Insertable, Selectable } from 'kysely';
import type { Logger } from 'pino';
import { type Actor, type AuditEntry, systemActor } from '../../platform/audit.ts';
import { type Clock, cycleOf } from '../../platform/clock.ts';
import { type Db, probePlanSettings, type Q, type Tx } from '../../platform/db.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import type { Jobs } from '../../platform/jobs.ts';
import type { Fen } from '../../platform/money.ts';
import { renderSms, smsRenderer, yuan } from '../../platform/notifications.ts';
import { emit, emitMany, type OutboxEvent, recordChange, recordChanges } from '../../platform/outbox.ts';
import type { NetworkCommand, NetworkProvisioning } from '../../platform/provisioning.ts';
import type { CreditState, CreditStatesTable, StopReason } from '../../platform/schema.ts';
import type { AccountService } from '../accounts/service.ts';
import { networkState } from '../orders/general.ts';
import { type CreditSubscriberRow, creditRepo } from './repo.ts';
import { type Action, ARREARS_REASONS, type BalanceFacts, decide, dependents, isMobile, type Judgement, judge, linkedStopDue, nextMonthStart, racingBalance, realtimeBalance, reasonsAfter } from './rules.ts';

/** Rated usage not yet on a bill (the rating domain provides it, R-CC-1). */
export interface UsageSource {
  unbilledFen(q: Q, accountId: number, cycle: string): Promise<Fen>;
  /** the same for many accounts at once (accounts without any may be left out) */
  unbilledFenMany?(q: Q, accountIds: readonly number[], cycle: string): Promise<Map<number, Fen>>;
}

export const CREDIT_JOB = 'credit-control';
export const LINKED_STOPS_JOB = 'credit-linked-stops';
const SUBSCRIBER = { zh: '用户', en: 'Subscriber' };
const ACCOUNT = { zh: '帐户', en: 'Account' };
const PAGE = 500;
/** accounts evaluated in one transaction by evaluateAccounts (their rows stay locked until it commits) */
const BATCH = 200;

type StateRow = Selectable<CreditStatesTable>;

type AccountRow = { account_id: number; billing_type: BalanceFacts['billingType']; credit_limit_fen: number };

/** R-CC-1: an account's money from its usable books, open lines and unbilled usage. */
function factsOf(acc: AccountRow, usableFen: Fen, lines: { openFen: number; overdue: boolean }[], unbilledUsageFen: Fen): BalanceFacts {
  return {
    billingType: acc.billing_type,
    usableFen,
    unpaidFen: lines.reduce((s, l) => s + l.openFen, 0),
    notDueFen: lines.filter((l) => !l.overdue).reduce((s, l) => s + l.openFen, 0),
    unbilledUsageFen: Number(unbilledUsageFen),
    creditLimitFen: acc.credit_limit_fen,
  };
}

interface Params {
  thresholdFen: Fen;
  graceMinutes: number;
  reopenMaxMinutes: number;
}

/** What one evaluation did, for the caller (job result, payment path, tests). */
export interface CreditOutcome {
  accountId: number;
  reminded: number[];
  stopped: number[];
  resumed: number[];
  exempted: number[];
  linkedStopped: number[];
  linkedPending: number[];
  commands: NetworkCommand[];
}

interface Work {
  outcome: CreditOutcome;
  actor: Actor;
  now: Date;
  params: Params;
}

export class CreditService {
  private readonly deps: { db: Db; clock: Clock; accounts: AccountService; network?: NetworkProvisioning | undefined; log?: Logger | undefined };
  private usage: UsageSource | undefined;

  constructor(deps: { db: Db; clock: Clock; accounts: AccountService; network?: NetworkProvisioning | undefined; usage?: UsageSource | undefined; log?: Logger | undefined }) {
    this.deps = deps;
    this.usage = deps.usage;
  }

  /** The rating domain's unbilled usage (wired in context when it exists; tests give a stub). */
  useUsage(usage: UsageSource | undefined): void {
    this.usage = usage;
  }

  registerJobs(jobs: Jobs): void {
    jobs.register(CREDIT_JOB, (run) => this.runControl(systemActor(CREDIT_JOB), run.now), {
      zh: '信控：余额提醒、欠费停机、单停转双停、特殊开机到期（R-CC-1, R-CC-3, R-X-2）',
      en: 'Credit control: reminders, arrears stops, one-way to two-way, ended special reopens (R-CC-1, R-CC-3, R-X-2)',
    });
    // hourly in the day, never at night: reminders and stops are not sent while customers sleep, and
    // the 24 h one-way grace (R-X-2) is kept to the hour; a payment resumes at once, outside this job (R-X-4)
    jobs.schedule(CREDIT_JOB, '0 8-21 * * *');
    jobs.register(LINKED_STOPS_JOB, (run) => this.runLinkedStops(systemActor(LINKED_STOPS_JOB), run.now), {
      zh: '月初关联停机：手机欠费停机且宽带仍有专款的，宽带捆绑停机（R-BND-10）',
      en: 'Linked stops on the 1st: broadband of a mobile still stopped for arrears, with fund left (R-BND-10)',
    });
    jobs.schedule(LINKED_STOPS_JOB, '5 0 1 * *');
  }

  private async params(q: Q): Promise<Params> {
    const rows = await q
      .selectFrom('business_parameters')
      .select(['key', 'value'])
      .where('key', 'in', ['credit_reminder_threshold_fen', 'credit_two_way_after_minutes', 'credit_reopen_max_minutes'])
      .execute();
    const get = (k: string, d: number) => Number(rows.find((r) => r.key === k)?.value ?? d);
    return { thresholdFen: get('credit_reminder_threshold_fen', 1000), graceMinutes: get('credit_two_way_after_minutes', 1440), reopenMaxMinutes: get('credit_reopen_max_minutes', 10080) };
  }

  private async balanceFacts(q: Q, acc: AccountRow, now: Date) {
    const [usableFen, lines, unbilledUsageFen] = await Promise.all([
      creditRepo.usableFen(q, acc.account_id, now),
      creditRepo.openLines(q, acc.account_id, now),
      this.usage ? this.usage.unbilledFen(q, acc.account_id, cycleOf(now)) : Promise.resolve(0),
    ]);
    return { facts: factsOf(acc, usableFen, lines, unbilledUsageFen), lineSubscribers: [...new Set(lines.map((l) => l.subscriberId))] };
  }

  /** balanceFacts of many accounts, in three statements. */
  private async balanceFactsMany(q: Q, accs: AccountRow[], now: Date): Promise<Map<number, BalanceFacts>> {
    const ids = accs.map((a) => a.account_id);
    const usage = this.usage;
    const unbilled = async (): Promise<Map<number, Fen>> => {
      if (!usage) return new Map();
      if (usage.unbilledFenMany) return usage.unbilledFenMany(q, ids, cycleOf(now));
      const m = new Map<number, Fen>();
      for (const id of ids) m.set(id, await usage.unbilledFen(q, id, cycleOf(now)));
      return m;
    };
    const [usable, lines, unbilledFen] = await Promise.all([creditRepo.usableFenMany(q, ids, now), creditRepo.openLinesMany(q, ids, now), unbilled()]);
    const linesOf = Map.groupBy(lines, (l) => l.accountId);
    return new Map(accs.map((a) => [a.account_id, factsOf(a, usable.get(a.account_id) ?? 0, linesOf.get(a.account_id) ?? [], unbilledFen.get(a.account_id) ?? 0)]));
  }

  /** R-CC-1: the real-time balance with its parts and each subscriber's judgement (read only). */
  async accountCredit(accountId: number, q: Q = this.deps.db) {
    const acc = await creditRepo.accountRow(q, accountId);
    if (!acc) throw notFound(ACCOUNT, accountId);
    const now = this.deps.clock.now();
    const params = await this.params(q);
    const { facts, lineSubscribers } = await this.balanceFacts(q, acc, now);
    const subs = await creditRepo.subscribersOf(q, accountId, lineSubscribers);
    const [overdue, states] = await Promise.all([creditRepo.overdueBySubscriber(q, subs.map((s) => s.subscriber_id), now), creditRepo.states(q, subs.map((s) => s.subscriber_id))]);
    const stateOf = new Map(states.map((s) => [s.subscriber_id, s]));
    return {
      accountId,
      billingType: acc.billing_type,
      asOf: now.toISOString(),
      usableBooksFen: facts.usableFen,
      unpaidBillsFen: facts.unpaidFen,
      notYetDueFen: facts.notDueFen,
      unbilledUsageFen: facts.unbilledUsageFen,
      creditLimitFen: facts.creditLimitFen,
      realtimeBalanceFen: realtimeBalance(facts),
      reminderThresholdFen: params.thresholdFen,
      subscribers: subs.map((s) => {
        const j = judge({ overdueFen: overdue.get(s.subscriber_id) ?? 0, balance: facts, thresholdFen: params.thresholdFen });
        const st = stateOf.get(s.subscriber_id);
        return {
          subscriberId: s.subscriber_id,
          serviceNumber: s.service_number,
          network: s.network,
          stopReasons: s.stop_reasons,
          ownArrearsFen: overdue.get(s.subscriber_id) ?? 0,
          judgement: j.verdict,
          rule: j.rule,
          creditState: st ? stateView(st) : null,
        };
      }),
    };
  }

  /**
   * R-BIL-8: after usage charged these (virtual) accounts: only those where evaluating can do
   * something now are evaluated (creditRepo.accountsToJudgeAfterCharge), many at once as
   * evaluateAccounts does; one statement for the rest instead of a transaction per account.
   */
  async evaluateCharged(accountIds: readonly number[]): Promise<CreditOutcome[]> {
    const params = await this.params(this.deps.db);
    return this.evaluateAccounts(await creditRepo.accountsToJudgeAfterCharge(this.deps.db, accountIds, this.deps.clock.now(), params.thresholdFen));
  }

  /**
   * After a bill run publishes a chunk: a fresh monthly bill is not arrears before its due date
   * (R-CC-4), so only accounts where something can happen now are judged here — one statement for
   * the chunk instead of a transaction per account; low-balance reminders come with the scheduled job.
   */
  async evaluatePublished(accountIds: readonly number[]): Promise<CreditOutcome[]> {
    // no JIT, no parallel workers: its estimate for a chunk's ids is large, its work a few index probes
    const judge = await this.deps.db.transaction().execute(async (tx) => {
      await probePlanSettings(tx);
      return creditRepo.accountsToJudgeNow(tx, accountIds, this.deps.clock.now());
    });
    return this.evaluateAccounts(judge);
  }

  /**
   * Evaluates accounts now (the bill run and rating call it after publishing or charging, R-BIL-8;
   * the job page by page), with the outcome of evaluating each alone (evaluateAccount), in id order:
   * up to BATCH accounts in one transaction (evaluateMany); an account whose evaluation reaches
   * beyond its own subscribers is evaluated alone after its batch.
   */
  async evaluateAccounts(accountIds: readonly number[], actor: Actor = systemActor('credit-control')): Promise<CreditOutcome[]> {
    const ids = [...new Set(accountIds)].sort((a, b) => a - b);
    const out = new Map<number, CreditOutcome>();
    for (let i = 0; i < ids.length; i += BATCH) {
      const { outcomes, alone } = await this.evaluateMany(ids.slice(i, i + BATCH), actor);
      for (const o of outcomes) out.set(o.accountId, o);
      for (const id of alone) out.set(id, await this.evaluateAccount(id, actor));
    }
    return ids.map((id) => out.get(id) as CreditOutcome);
  }

  /**
   * evaluateAccount for many accounts in one transaction, with the same writes: the accounts locked
   * in one statement (id order, the lock payments take), their money, subscribers, overdue lines and
   * credit states read in a few statements, `judge`/`decide` per subscriber in memory, then the stop
   * reasons (accounts domain, audited), credit states, SMS events and audit records written in a
   * statement each; network commands after the commit. Accounts whose evaluation reaches beyond their
   * own subscribers — paying another account's subscriber by relation or holding its lines, packages
   * with a linkage (R-CC-4 / R-X-3 cascades), linked credit states — are rare and returned as `alone`
   * for evaluateAccount; here no cascade can happen, so each subscriber is read and written once.
   */
  private async evaluateMany(accountIds: number[], actor: Actor): Promise<{ outcomes: CreditOutcome[]; alone: number[] }> {
    const now = this.deps.clock.now();
    const outcomes = new Map(accountIds.map((id) => [id, emptyOutcome(id)]));
    let alone: number[] = [];
    await this.deps.db.transaction().execute(async (tx) => {
      await probePlanSettings(tx);
      const active = (await creditRepo.lockAccounts(tx, accountIds)).filter((a) => a.status === 'active');
      const reaching = await creditRepo.accountsReachingOut(tx, active.map((a) => a.account_id));
      alone = active.filter((a) => reaching.has(a.account_id)).map((a) => a.account_id);
      const here = active.filter((a) => !reaching.has(a.account_id));
      if (here.length === 0) return;
      const params = await this.params(tx);
      const facts = await this.balanceFactsMany(tx, here, now);
      const subs = (await creditRepo.subscribersOfAccounts(tx, here.map((a) => a.account_id))).filter((s) => s.lifecycle === 'normal');
      const ids = subs.map((s) => s.subscriber_id);
      const [overdue, states] = await Promise.all([creditRepo.overdueBySubscriber(tx, ids, now), creditRepo.states(tx, ids)]);
      const stateOf = new Map(states.map((st) => [st.subscriber_id, st]));
      const work = (accountId: number): Work => ({ outcome: outcomes.get(accountId) as CreditOutcome, actor, now, params });
      const plans = subs.map((s) => {
        const f = facts.get(s.default_account_id) as BalanceFacts;
        return plan(work(s.default_account_id), s, stateOf.get(s.subscriber_id), judge({ overdueFen: overdue.get(s.subscriber_id) ?? 0, balance: f, thresholdFen: params.thresholdFen }), f);
      });
      const changed = await this.deps.accounts.changeStopReasonsMany(
        tx,
        actor,
        plans.flatMap((p) => (p.change ? [{ subscriberId: p.s.subscriber_id, add: p.change.add, remove: p.change.remove, reason: p.change.reason }] : [])),
      );
      const states2: Insertable<CreditStatesTable>[] = [];
      const sms: { s: CreditSubscriberRow; to: string; templateCode: string; params: Record<string, string | number> }[] = [];
      const records: { audit: AuditEntry; event: OutboxEvent }[] = [];
      for (const p of plans) {
        const w = work(p.s.default_account_id);
        const c = changed.get(p.s.subscriber_id);
        if (p.change && c) {
          const cmd = commandOf(p.s, c.before, c.after, p.change.reason);
          if (cmd) w.outcome.commands.push(cmd);
        }
        const e = effectsOf(w, p, c ? c.after.stopReasons : p.s.stop_reasons);
        if (e.state) states2.push(e.state);
        const to = smsTo(p.s);
        if (e.sms && to) sms.push({ s: p.s, to, ...e.sms });
        if (e.record) records.push(creditChange(p.s, e.record.type, p.st, e.record.after));
        if (e.outcome) w.outcome[e.outcome].push(p.s.subscriber_id);
      }
      await creditRepo.upsertStates(tx, states2);
      const render = await smsRenderer(tx, [...new Set(sms.map((m) => m.templateCode))]);
      await emitMany(tx, this.deps.clock, sms.map((m) => smsEvent(m.s, m.to, m.templateCode, m.params, render(m.templateCode, m.params))));
      await recordChanges(tx, this.deps.clock, actor, records);
    });
    for (const o of outcomes.values()) await this.send(o.commands);
    return { outcomes: [...outcomes.values()].filter((o) => !alone.includes(o.accountId)), alone };
  }

  /**
   * The payment listener (R-CC-2, R-X-4): runs in the payment's request right after it commits, never
   * queued. A payment or grant can only resume, so it costs one indexed probe unless a line it pays is
   * stopped for arrears (reminders and their end wait for the job); a reversal may stop: full evaluation.
   */
  async onCredited(e: { accountId: number; kind?: 'payment' | 'grant' | 'reversal' }): Promise<void> {
    try {
      if (e.kind !== 'reversal' && !(await creditRepo.hasArrearsStops(this.deps.db, e.accountId))) return;
      await this.evaluateAccount(e.accountId, systemActor('credit-payment'));
    } catch (err) {
      this.deps.log?.error({ err, accountId: e.accountId }, 'credit control after a payment failed');
    }
  }

  async evaluateAccount(accountId: number, actor: Actor = systemActor('credit-control'), followOthers = true): Promise<CreditOutcome> {
    const now = this.deps.clock.now();
    const outcome = emptyOutcome(accountId);
    // subscribers this account pays by relation are judged with their own account's money
    const others = new Set<number>();
    await this.deps.db.transaction().execute(async (tx) => {
      await probePlanSettings(tx);
      const acc = await creditRepo.lockAccount(tx, accountId);
      if (!acc || acc.status !== 'active') return;
      const w: Work = { outcome, actor, now, params: await this.params(tx) };
      const { facts, lineSubscribers } = await this.balanceFacts(tx, acc, now);
      const subs = await creditRepo.subscribersOf(tx, accountId, lineSubscribers);
      const ids = subs.map((s) => s.subscriber_id);
      const overdue = await creditRepo.overdueBySubscriber(tx, ids, now);
      for (const s of subs) {
        if (s.lifecycle !== 'normal') continue;
        if (s.default_account_id !== accountId) {
          others.add(s.default_account_id);
          continue;
        }
        const j = judge({ overdueFen: overdue.get(s.subscriber_id) ?? 0, balance: facts, thresholdFen: w.params.thresholdFen });
        // read now, not with the others: a linked stop earlier in this loop may have just changed it
        await this.act(tx, w, s, await creditRepo.stateOf(tx, s.subscriber_id), j, facts);
      }
    });
    await this.send(outcome.commands);
    if (followOthers) {
      for (const id of [...others].sort((a, b) => a - b)) {
        const o = await this.evaluateAccount(id, actor, false);
        for (const k of ['reminded', 'stopped', 'resumed', 'exempted', 'linkedStopped', 'linkedPending', 'commands'] as const) (outcome[k] as unknown[]).push(...o[k]);
      }
    }
    return outcome;
  }

  /** One subscriber's action from its judgement, then the linkage (R-CC-4). */
  private async act(tx: Tx, w: Work, s: CreditSubscriberRow, st: StateRow | undefined, j: Judgement, facts: BalanceFacts): Promise<void> {
    const p = plan(w, s, st, j, facts);
    const after = p.change ? await this.applyReasons(tx, w, s, p.change, p.change.reason) : s.stop_reasons;
    const e = effectsOf(w, p, after);
    if (e.state) await creditRepo.upsertState(tx, e.state);
    if (e.sms) await this.sms(tx, s, e.sms.templateCode, e.sms.params);
    if (e.record) await this.record(tx, w, s, e.record.type, st, e.record.after);
    if (e.outcome) w.outcome[e.outcome].push(s.subscriber_id);
    if (e.cascade === 'stop') await this.cascadeStop(tx, w, s);
    if (e.cascade === 'resume') await this.cascadeResume(tx, w, s);
  }

  private async applyReasons(tx: Tx, w: Work, s: CreditSubscriberRow, change: { add: StopReason[]; remove: StopReason[] }, reason: string): Promise<StopReason[]> {
    const { before, after } = await this.deps.accounts.changeStopReasons(tx, w.actor, s.subscriber_id, change, { reason });
    const c = commandOf(s, before, after, reason);
    if (c) w.outcome.commands.push(c);
    return after.stopReasons;
  }

  /** R-CC-4 / R-X-3: the lines that follow a mobile's arrears stop under its package's linkage. */
  private async cascadeStop(tx: Tx, w: Work, cause: CreditSubscriberRow): Promise<void> {
    if (cause.package_id === null) return;
    const pkg = await creditRepo.packageOf(tx, cause.package_id);
    if (!pkg?.linkage) return;
    const members = dependents(
      { subscriberId: cause.subscriber_id, network: cause.network },
      pkg.members.map((m) => ({ subscriberId: m.subscriber_id, network: m.network, lifecycle: m.lifecycle, stopReasons: m.stop_reasons })),
      pkg.linkage,
      'stop',
    );
    for (const m of members) {
      const d = pkg.members.find((x) => x.subscriber_id === m.subscriberId) as CreditSubscriberRow;
      const st = await creditRepo.stateOf(tx, d.subscriber_id);
      const base = { subscriber_id: d.subscriber_id, account_id: d.default_account_id, balance_fen: null, arrears_fen: null, updated_at: w.now, reminded_at: st?.reminded_at ?? null, stopped_at: st?.stopped_at ?? null, exempt_until: null, reopen_until: null, reopened_by: null };
      if (pkg.linkage === 'immediate') {
        // e9 (R-E9-4): the broadband stops with the mobile, whatever its own fund holds
        const rule = 'R-CC-4 immediate linkage (R-E9-4)';
        const after = await this.applyReasons(tx, w, d, { add: ['bundle'], remove: [] }, rule);
        await creditRepo.upsertState(tx, { ...base, state: 'linked_stopped', since: w.now, rule, stopped_at: w.now, linked_to: cause.subscriber_id, linked_stop_at: w.now });
        await this.sms(tx, d, 'CREDIT_LINKED_STOP', { 号码: d.service_number, 关联号码: cause.service_number });
        await this.record(tx, w, d, 'credit.linked_stopped', st, { state: 'linked_stopped', linkedTo: cause.subscriber_id, linkage: pkg.linkage, stopReasons: after, rule });
        w.outcome.linkedStopped.push(d.subscriber_id);
      } else {
        if (st?.linked_to === cause.subscriber_id) continue;
        // R-BND-10 / R-BND-13: told now, stopped on the 1st if the mobile is still stopped and the fund still has money
        const rule = 'R-BND-10 next_cycle_if_funded linkage';
        const at = nextMonthStart(w.now);
        await creditRepo.upsertState(tx, { ...base, state: 'linked_pending', since: w.now, rule, linked_to: cause.subscriber_id, linked_stop_at: at });
        const day = new Date(at.getTime() + 8 * 3600_000);
        await this.sms(tx, d, 'BUNDLE_MOBILE_ARREARS', { 月: day.getUTCMonth() + 1, 日: day.getUTCDate() });
        await this.record(tx, w, d, 'credit.linked_pending', st, { state: 'linked_pending', linkedTo: cause.subscriber_id, linkage: pkg.linkage, stopAt: at.toISOString(), rule });
        w.outcome.linkedPending.push(d.subscriber_id);
      }
    }
  }

  /** R-CC-2 / R-BND-10: when the cause resumes, the lines that followed it resume at once. */
  private async cascadeResume(tx: Tx, w: Work, cause: CreditSubscriberRow): Promise<void> {
    const rows = await creditRepo.linkedTo(tx, cause.subscriber_id);
    if (rows.length === 0) return;
    const subs = await creditRepo.subscribersByIds(tx, rows.map((r) => r.subscriber_id));
    for (const st of rows) {
      const d = subs.find((x) => x.subscriber_id === st.subscriber_id);
      if (!d) continue;
      let after = d.stop_reasons;
      const rule = 'R-CC-2 linked member resumed';
      if (d.stop_reasons.includes('bundle')) {
        after = await this.applyReasons(tx, w, d, { add: [], remove: ['bundle'] }, rule);
        if (after.length === 0) await this.sms(tx, d, 'CREDIT_RESUME', { 号码: d.service_number });
        w.outcome.resumed.push(d.subscriber_id);
      }
      const linked = st.state === 'linked_pending' || st.state === 'linked_stopped';
      await creditRepo.upsertState(tx, { ...st, state: linked ? 'ok' : st.state, since: linked ? w.now : st.since, rule: linked ? rule : st.rule, linked_to: null, linked_stop_at: null, updated_at: w.now });
      await this.record(tx, w, d, 'credit.linked_resumed', st, { state: linked ? 'ok' : st.state, linkedTo: cause.subscriber_id, stopReasons: after, rule });
    }
  }

  /** R-BND-10 on the 1st: pending linked stops happen if the mobile is still stopped and the line still has fund money. */
  async runLinkedStops(actor: Actor, now: Date = this.deps.clock.now()) {
    const due = await creditRepo.dueLinkedStops(this.deps.db, now);
    const result = { due: due.length, stopped: [] as number[], dropped: [] as number[] };
    for (const row of due) {
      const commands: NetworkCommand[] = [];
      await this.deps.db.transaction().execute(async (tx) => {
        const [d] = await creditRepo.subscribersByIds(tx, [row.subscriber_id]);
        const [cause] = row.linked_to === null ? [] : await creditRepo.subscribersByIds(tx, [row.linked_to]);
        if (!d) return;
        await creditRepo.lockAccount(tx, d.default_account_id);
        const st = await creditRepo.stateOf(tx, d.subscriber_id);
        if (st?.state !== 'linked_pending') return;
        const w: Work = { outcome: { accountId: d.default_account_id, reminded: [], stopped: [], resumed: [], exempted: [], linkedStopped: [], linkedPending: [], commands }, actor, now, params: await this.params(tx) };
        const causeStopped = !!cause && cause.stop_reasons.some((r) => ARREARS_REASONS.includes(r));
        const verdict = d.lifecycle !== 'normal' ? 'drop' : linkedStopDue({ causeArrearsStopped: causeStopped, fundFen: await creditRepo.fundFen(tx, d.subscriber_id, d.default_account_id, now), stopAt: st.linked_stop_at, now });
        if (verdict === 'wait') return;
        if (verdict === 'stop') {
          const rule = 'R-BND-10 linked stop at the start of the month';
          const after = d.stop_reasons.includes('bundle') ? d.stop_reasons : await this.applyReasons(tx, w, d, { add: ['bundle'], remove: [] }, rule);
          await creditRepo.upsertState(tx, { ...st, state: 'linked_stopped', since: now, rule, stopped_at: now, updated_at: now });
          await this.sms(tx, d, 'CREDIT_LINKED_STOP', { 号码: d.service_number, 关联号码: cause?.service_number ?? '' });
          await this.record(tx, w, d, 'credit.linked_stopped', st, { state: 'linked_stopped', linkedTo: st.linked_to, linkage: 'next_cycle_if_funded', stopReasons: after, rule });
          result.stopped.push(d.subscriber_id);
        } else {
          const rule = causeStopped ? 'R-BND-10 no fund left: no linked stop' : 'R-BND-10 linked member resumed before the 1st';
          await creditRepo.upsertState(tx, { ...st, state: 'ok', since: now, rule, linked_to: null, linked_stop_at: null, updated_at: now });
          await this.record(tx, w, d, 'credit.linked_dropped', st, { state: 'ok', linkedTo: st.linked_to, rule });
          result.dropped.push(d.subscriber_id);
        }
      });
      await this.send(commands);
    }
    return result;
  }

  /** The credit-control job: every account with a live subscriber, page by page; ended special reopens are among them. */
  async runControl(actor: Actor, _now: Date = this.deps.clock.now()) {
    const totals = { accounts: 0, reminded: 0, stopped: 0, resumed: 0, exempted: 0, linkedStopped: 0, linkedPending: 0 };
    let after = 0;
    for (;;) {
      const page = await creditRepo.accountPage(this.deps.db, after, PAGE);
      if (page.length === 0) break;
      for (const o of await this.evaluateAccounts(page, actor)) {
        totals.accounts++;
        totals.reminded += o.reminded.length;
        totals.stopped += o.stopped.length;
        totals.resumed += o.resumed.length;
        totals.exempted += o.exempted.length;
        totals.linkedStopped += o.linkedStopped.length;
        totals.linkedPending += o.linkedPending.length;
      }
      after = page[page.length - 1] as number;
    }
    return totals;
  }

  /**
   * 信用特殊开机 (R-X-2): by permission, an arrears-stopped line reopens for a set time; when it ends
   * without payment the next credit-control run stops it again. Linked lines resume with it.
   */
  async reopen(actor: Actor, subscriberId: number, input: { hours: number; reason: string }) {
    const now = this.deps.clock.now();
    const commands: NetworkCommand[] = [];
    const view = await this.deps.db.transaction().execute(async (tx) => {
      const [s0] = await creditRepo.subscribersByIds(tx, [subscriberId]);
      if (!s0) throw notFound(SUBSCRIBER, subscriberId);
      await creditRepo.lockAccount(tx, s0.default_account_id);
      const [s] = await creditRepo.subscribersByIds(tx, [subscriberId]);
      if (!s) throw notFound(SUBSCRIBER, subscriberId);
      const w: Work = { outcome: { accountId: s.default_account_id, reminded: [], stopped: [], resumed: [], exempted: [], linkedStopped: [], linkedPending: [], commands }, actor, now, params: await this.params(tx) };
      if (input.hours * 60 > w.params.reopenMaxMinutes) {
        throw new DomainError('REOPEN_TOO_LONG', `特殊开机时长不能超过 ${w.params.reopenMaxMinutes / 60} 小时`, `A special reopen may last at most ${w.params.reopenMaxMinutes / 60} hours`, 422, { maxHours: w.params.reopenMaxMinutes / 60 });
      }
      if (s.lifecycle !== 'normal' || !s.stop_reasons.some((r) => ARREARS_REASONS.includes(r))) {
        throw new DomainError('NOT_ARREARS_STOPPED', `用户 ${s.service_number} 未欠费停机，无需特殊开机`, `Subscriber ${s.service_number} is not stopped for arrears`, 409, { stopReasons: s.stop_reasons, lifecycle: s.lifecycle });
      }
      const st = await creditRepo.stateOf(tx, subscriberId);
      const until = new Date(now.getTime() + input.hours * 3600_000);
      const rule = 'R-X-2 special credit reopen';
      const after = await this.applyReasons(tx, w, s, { add: [], remove: [...ARREARS_REASONS] }, `${rule}: ${input.reason}`);
      await creditRepo.upsertState(tx, {
        subscriber_id: s.subscriber_id,
        account_id: s.default_account_id,
        state: 'reopened',
        since: now,
        rule,
        balance_fen: st?.balance_fen ?? null,
        arrears_fen: st?.arrears_fen ?? null,
        reminded_at: st?.reminded_at ?? null,
        stopped_at: st?.stopped_at ?? null,
        exempt_until: null,
        reopen_until: until,
        reopened_by: actor.operatorId,
        linked_to: st?.linked_to ?? null,
        linked_stop_at: st?.linked_stop_at ?? null,
        updated_at: now,
      });
      await this.sms(tx, s, 'CREDIT_REOPEN', { 号码: s.service_number, 截止: shanghaiMinute(until) });
      const v = { subscriberId, serviceNumber: s.service_number, state: 'reopened' as const, reopenUntil: until.toISOString(), reason: input.reason, stopReasons: after, rule };
      await this.record(tx, w, s, 'credit.reopened', st, v);
      await this.cascadeResume(tx, w, s);
      return v;
    });
    await this.send(commands);
    return { ...view, commands };
  }

  /** 信控队列: who is reminded, exempt, reopened or stopped, since when and why. */
  async queue(p: { states: CreditState[]; limit: number; offset: number }) {
    const { rows, total } = await creditRepo.queue(this.deps.db, p);
    return {
      total,
      limit: p.limit,
      offset: p.offset,
      items: rows.map((r) => ({
        subscriberId: r.subscriber_id,
        serviceNumber: r.service_number,
        network: r.network,
        status: r.status,
        stopReasons: r.stop_reasons,
        accountId: r.account_id,
        state: r.state,
        since: r.since.toISOString(),
        rule: r.rule,
        balanceFen: r.balance_fen,
        arrearsFen: r.arrears_fen,
        remindedAt: r.reminded_at?.toISOString() ?? null,
        stoppedAt: r.stopped_at?.toISOString() ?? null,
        exemptUntil: r.exempt_until?.toISOString() ?? null,
        reopenUntil: r.reopen_until?.toISOString() ?? null,
        linkedTo: r.linked_to,
        linkedStopAt: r.linked_stop_at?.toISOString() ?? null,
      })),
    };
  }

  /** R-CC-3: the SMS as an outbox event (`notification.sms`), text rendered from the template now. */
  private async sms(tx: Tx, s: CreditSubscriberRow, templateCode: string, params: Record<string, string | number>): Promise<void> {
    const to = smsTo(s);
    if (!to) return;
    await emit(tx, this.deps.clock, smsEvent(s, to, templateCode, params, await renderSms(tx, templateCode, params)));
  }

  private async record(tx: Tx, w: Work, s: CreditSubscriberRow, type: string, before: StateRow | undefined, after: Record<string, unknown>): Promise<void> {
    const c = creditChange(s, type, before, after);
    await recordChange(tx, this.deps.clock, w.actor, c.audit, c.event);
  }

  /** R-INT-2: right after the commit; a refused command is logged (the subscriber's state stays the record of what the network should hold). */
  private async send(commands: NetworkCommand[]): Promise<void> {
    const network = this.deps.network;
    if (!network) return;
    for (const c of commands) {
      try {
        await network.send(c);
      } catch (err) {
        this.deps.log?.error({ err, command: c }, 'network command of credit control failed');
      }
    }
  }
}

function emptyOutcome(accountId: number): CreditOutcome {
  return { accountId, reminded: [], stopped: [], resumed: [], exempted: [], linkedStopped: [], linkedPending: [], commands: [] };
}

function stateView(st: StateRow) {
  return {
    state: st.state,
    since: st.since.toISOString(),
    rule: st.rule,
    balanceFen: st.balance_fen,
    arrearsFen: st.arrears_fen,
    stoppedAt: st.stopped_at?.toISOString() ?? null,
    exemptUntil: st.exempt_until?.toISOString() ?? null,
    reopenUntil: st.reopen_until?.toISOString() ?? null,
    linkedTo: st.linked_to,
    linkedStopAt: st.linked_stop_at?.toISOString() ?? null,
  };
}

/** "2026-11-17 10:00" in Beijing time, for a customer's SMS. */
function shanghaiMinute(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
}

/** What credit control does to one subscriber, before the stop reasons change (act, evaluateMany). */
interface Plan {
  s: CreditSubscriberRow;
  st: StateRow | undefined;
  j: Judgement;
  a: Action;
  facts: BalanceFacts;
  /** the stop-reason change of a stop or resume (R-X-1), with the reason it is audited with */
  change: { add: StopReason[]; remove: StopReason[]; reason: string } | null;
}

/** Its writes, once the stop reasons after the change are known. */
interface Effects {
  state?: Insertable<CreditStatesTable>;
  sms?: { templateCode: string; params: Record<string, string | number> };
  record?: { type: string; after: Record<string, unknown> };
  outcome?: 'reminded' | 'stopped' | 'resumed' | 'exempted';
  cascade?: 'stop' | 'resume';
}

function plan(w: Work, s: CreditSubscriberRow, st: StateRow | undefined, j: Judgement, facts: BalanceFacts): Plan {
  const a = decide(
    j,
    {
      network: s.network,
      lifecycle: s.lifecycle,
      stopReasons: s.stop_reasons,
      vipExempt: s.vip_exempt,
      state: st?.state ?? null,
      stoppedAt: st?.stopped_at ?? null,
      exemptUntil: st?.state === 'exempt' ? (st.exempt_until ?? null) : null,
      reopenUntil: st?.state === 'reopened' ? (st.reopen_until ?? null) : null,
    },
    w.now,
    w.params.graceMinutes,
  );
  const reason = a.kind === 'stop' ? stopRule(s, a, j) : 'R-CC-2 arrears cleared';
  return { s, st, j, a, facts, change: a.kind === 'stop' || a.kind === 'resume' ? { ...reasonsAfter(s.stop_reasons, a), reason } : null };
}

function stopRule(s: CreditSubscriberRow, a: Action & { kind: 'stop' }, j: Judgement): string {
  return a.mode === 'two_way' && s.stop_reasons.includes('arrears_one_way') ? 'R-X-2 one-way stop became two-way after the grace' : j.rule;
}

function effectsOf(w: Work, p: Plan, after: StopReason[]): Effects {
  const { s, st, j, a, facts } = p;
  const balanceFen = realtimeBalance(facts);
  const arrearsFen = j.verdict === 'arrears' ? j.arrearsFen : 0;
  const figures = { balanceFen, arrearsFen, racingBalanceFen: racingBalance(facts), thresholdFen: w.params.thresholdFen, rule: j.rule };
  const keepLink = { linked_to: st?.linked_to ?? null, linked_stop_at: st?.linked_stop_at ?? null };
  const linked = st?.state === 'linked_pending' || st?.state === 'linked_stopped';
  const base = { subscriber_id: s.subscriber_id, account_id: s.default_account_id, rule: j.rule, balance_fen: balanceFen, arrears_fen: arrearsFen, updated_at: w.now, ...keepLink };
  switch (a.kind) {
    case 'none': {
      // a line that follows a linked member keeps that state while its own money is fine
      if (linked || st?.state === a.state) return {};
      if (!st && a.state === 'ok') return {};
      return {
        state: {
          ...base,
          state: a.state,
          since: w.now,
          reminded_at: st?.reminded_at ?? null,
          stopped_at: st?.stopped_at ?? null,
          exempt_until: null,
          reopen_until: a.state === 'reopened' ? (st?.reopen_until ?? null) : null,
          reopened_by: a.state === 'reopened' ? (st?.reopened_by ?? null) : null,
        },
      };
    }
    case 'remind': {
      if (linked) return {};
      return {
        state: { ...base, state: 'reminded', since: w.now, reminded_at: w.now, stopped_at: null, exempt_until: null, reopen_until: null, reopened_by: null },
        sms: { templateCode: 'CREDIT_REMINDER', params: { 号码: s.service_number, 结余: yuan(balanceFen), 阈值: yuan(w.params.thresholdFen) } },
        record: { type: 'credit.reminded', after: { state: 'reminded', ...figures } },
        outcome: 'reminded',
      };
    }
    case 'exempt': {
      if (st?.state === 'exempt') return {};
      return {
        state: { ...base, state: 'exempt', since: w.now, reminded_at: st?.reminded_at ?? null, stopped_at: null, exempt_until: a.until, reopen_until: null, reopened_by: null },
        record: { type: 'credit.exempted', after: { state: 'exempt', exemptUntil: a.until.toISOString(), vipLevel: s.vip_level, ...figures, rule: 'R-X-2 VIP exempt until the 1st of next month' } },
        outcome: 'exempted',
      };
    }
    case 'stop': {
      const state: CreditState = a.mode === 'one_way' ? 'stopped_one_way' : 'stopped_two_way';
      const rule = stopRule(s, a, j);
      return {
        state: {
          ...base,
          rule,
          state,
          since: w.now,
          reminded_at: st?.reminded_at ?? null,
          stopped_at: a.mode === 'one_way' ? w.now : (st?.stopped_at ?? w.now),
          exempt_until: null,
          reopen_until: null,
          reopened_by: null,
        },
        sms: { templateCode: a.mode === 'one_way' ? 'CREDIT_STOP_ONE_WAY' : 'CREDIT_STOP_TWO_WAY', params: { 号码: s.service_number, 欠费: yuan(arrearsFen) } },
        record: { type: 'credit.stopped', after: { state, mode: a.mode, stopReasons: after, ...figures, rule } },
        outcome: 'stopped',
        cascade: 'stop',
      };
    }
    case 'resume': {
      // a line that also follows a stopped mobile stays in the queue as linked until that one resumes
      const state: CreditState = keepLink.linked_to !== null && after.includes('bundle') ? 'linked_stopped' : j.verdict === 'remind' ? 'reminded' : 'ok';
      return {
        state: { ...base, state, since: w.now, reminded_at: st?.reminded_at ?? null, stopped_at: null, exempt_until: null, reopen_until: null, reopened_by: null },
        // R-X-1: a line still stopped for another reason (lost, on request) is told nothing about service
        ...(after.length === 0 ? { sms: { templateCode: 'CREDIT_RESUME', params: { 号码: s.service_number } } } : {}),
        record: { type: 'credit.resumed', after: { state, stopReasons: after, ...figures, rule: 'R-CC-2 arrears cleared' } },
        outcome: 'resumed',
        cascade: 'resume',
      };
    }
  }
}

/** R-INT-2: the network command when a stop-reason change changes what the network should hold. */
function commandOf(s: CreditSubscriberRow, before: { lifecycle: string; stopReasons: StopReason[] }, after: { lifecycle: string; stopReasons: StopReason[] }, reason: string): NetworkCommand | null {
  const from = networkState(before.lifecycle, before.stopReasons);
  const to = networkState(after.lifecycle, after.stopReasons);
  if (from === to) return null;
  const common = { serviceNumber: s.service_number, subscriberId: s.subscriber_id, orderId: null };
  return to === 'open' ? { command: 'resume', ...common, reason } : { command: 'stop', ...common, mode: to, reason };
}

/** R-CC-3: where a subscriber's SMS goes: a mobile's own number, a broadband or fixed line's customer contact phone (R-BND-13). */
function smsTo(s: CreditSubscriberRow): string | null {
  return isMobile(s.network) ? s.service_number : s.contact_phone;
}

function smsEvent(s: CreditSubscriberRow, to: string, templateCode: string, params: Record<string, string | number>, text: string): OutboxEvent {
  return { type: 'notification.sms', aggregateType: 'subscriber', aggregateId: s.subscriber_id, accountId: s.default_account_id, payload: { to, templateCode, params, text, subscriberId: s.subscriber_id } };
}

/** A credit change's audit entry and event. */
function creditChange(s: CreditSubscriberRow, type: string, before: StateRow | undefined, after: Record<string, unknown>): { audit: AuditEntry; event: OutboxEvent } {
  return {
    audit: { action: type, targetType: 'subscriber', targetId: s.subscriber_id, accountId: s.default_account_id, before: before ? stateView(before) : null, after },
    event: { type, aggregateType: 'subscriber', aggregateId: s.subscriber_id, accountId: s.default_account_id, payload: { subscriberId: s.subscriber_id, serviceNumber: s.service_number, ...after } },
  };
}
