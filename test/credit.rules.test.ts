// Credit-control rules without a database (R-CC-1, R-CC-4, R-X-1..3, R-BND-10) and the network and
// SMS simulators (R-INT-2, R-INT-3).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type BalanceFacts, decide, dependents, judge, linkedStopDue, type MemberState, nextMonthStart, realtimeBalance, reasonsAfter } from '../src/domains/credit/rules.ts';
import { SimulatedNetwork } from '../src/platform/provisioning.ts';
import type { StopReason } from '../src/platform/schema.ts';

const T = new Date('2026-11-15T02:00:00Z');
const facts = (o: Partial<BalanceFacts> = {}): BalanceFacts => ({ billingType: 'monthly', usableFen: 0, unpaidFen: 0, notDueFen: 0, unbilledUsageFen: 0, creditLimitFen: 0, ...o });
const member = (o: Partial<MemberState> = {}): MemberState => ({ network: 'wcdma3g', lifecycle: 'normal', stopReasons: [], vipExempt: false, state: null, stoppedAt: null, exemptUntil: null, reopenUntil: null, ...o });
const REASONS: StopReason[] = ['arrears_one_way', 'arrears_two_way', 'high_usage', 'on_request', 'lost', 'bundle', 'operator'];

describe('R-CC-1 real-time balance', () => {
  test('R-CC-1 usable books − unpaid bills − unbilled usage + credit limit', () => {
    expect(realtimeBalance(facts({ usableFen: 5000, unpaidFen: 3000, unbilledUsageFen: 1500, creditLimitFen: 2000 }))).toBe(2500);
    expect(realtimeBalance(facts({ usableFen: 0, unpaidFen: 0, unbilledUsageFen: 1, creditLimitFen: 0 }))).toBe(-1);
  });

  test('R-CC-1 a monthly account whose usage races below zero is in arrears; a virtual one is judged on its lines only', () => {
    const racing = facts({ usableFen: 1000, unbilledUsageFen: 1500 });
    expect(judge({ overdueFen: 0, balance: racing, thresholdFen: 1000 }).verdict).toBe('arrears');
    expect(judge({ overdueFen: 0, balance: { ...racing, billingType: 'virtual' }, thresholdFen: 1000 }).verdict).toBe('remind');
    // the credit limit holds it up
    expect(judge({ overdueFen: 0, balance: { ...racing, creditLimitFen: 5000 }, thresholdFen: 1000 }).verdict).toBe('ok');
    // exactly at the threshold is not below it
    expect(judge({ overdueFen: 0, balance: facts({ usableFen: 1000 }), thresholdFen: 1000 }).verdict).toBe('ok');
    expect(judge({ overdueFen: 0, balance: facts({ usableFen: 999 }), thresholdFen: 1000 }).verdict).toBe('remind');
  });

  test('R-CC-4 a sibling’s overdue lines do not put a paid-up line in arrears (only in the reminder zone)', () => {
    const b = facts({ usableFen: 0, unpaidFen: 5000, notDueFen: 0 });
    expect(judge({ overdueFen: 5000, balance: b, thresholdFen: 1000 }).verdict).toBe('arrears');
    expect(judge({ overdueFen: 0, balance: b, thresholdFen: 1000 }).verdict).toBe('remind');
  });
});

describe('R-X-2 stop, grace, exemption, reopen', () => {
  const arrears = { verdict: 'arrears' as const, rule: 'x', arrearsFen: 100 };
  test('R-X-2 a mobile stops one-way, two-way after the grace; a broadband two-way at once', () => {
    expect(decide(arrears, member(), T, 1440)).toEqual({ kind: 'stop', mode: 'one_way' });
    expect(decide(arrears, member({ network: 'broadband' }), T, 1440)).toEqual({ kind: 'stop', mode: 'two_way' });
    const stopped = member({ stopReasons: ['arrears_one_way'], stoppedAt: new Date(T.getTime() - 1439 * 60_000) });
    expect(decide(arrears, stopped, T, 1440)).toEqual({ kind: 'none', state: 'stopped_one_way' });
    expect(decide(arrears, { ...stopped, stoppedAt: new Date(T.getTime() - 1440 * 60_000) }, T, 1440)).toEqual({ kind: 'stop', mode: 'two_way' });
    expect(decide(arrears, member({ stopReasons: ['arrears_two_way'] }), T, 1440)).toEqual({ kind: 'none', state: 'stopped_two_way' });
  });

  test('R-X-2 a VIP is exempt until the 1st of next month (Asia/Shanghai), then stopped', () => {
    const until = nextMonthStart(T);
    expect(until.toISOString()).toBe('2026-11-30T16:00:00.000Z');
    expect(decide(arrears, member({ vipExempt: true }), T, 1440)).toEqual({ kind: 'exempt', until });
    expect(decide(arrears, member({ vipExempt: true, state: 'exempt', exemptUntil: until }), until, 1440)).toEqual({ kind: 'stop', mode: 'one_way' });
    // December 31st → January 1st of the next year
    expect(nextMonthStart(new Date('2026-12-31T15:00:00Z')).toISOString()).toBe('2026-12-31T16:00:00.000Z');
    expect(nextMonthStart(new Date('2026-12-31T16:00:00Z')).toISOString()).toBe('2027-01-31T16:00:00.000Z');
  });

  test('R-X-2 a special reopen holds until it ends', () => {
    const until = new Date(T.getTime() + 3600_000);
    expect(decide(arrears, member({ state: 'reopened', reopenUntil: until }), T, 1440)).toEqual({ kind: 'none', state: 'reopened' });
    expect(decide(arrears, member({ state: 'reopened', reopenUntil: until }), until, 1440)).toEqual({ kind: 'stop', mode: 'one_way' });
  });

  test('R-X-1 clearing arrears removes only arrears reasons (property)', () => {
    fc.assert(
      fc.property(fc.subarray(REASONS), (reasons) => {
        const r = reasonsAfter(reasons, { kind: 'resume' });
        expect(r.add).toEqual([]);
        expect(r.remove.every((x) => x === 'arrears_one_way' || x === 'arrears_two_way')).toBe(true);
        const left = reasons.filter((x) => !r.remove.includes(x));
        expect(left).toEqual(reasons.filter((x) => x !== 'arrears_one_way' && x !== 'arrears_two_way'));
      }),
    );
  });

  test('R-CC-4 a subscriber with nothing overdue on a virtual account is never in arrears (property)', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(100_000), (usable, unpaid, usage, limit) => {
        const j = judge({ overdueFen: 0, balance: facts({ billingType: 'virtual', usableFen: usable, unpaidFen: unpaid, unbilledUsageFen: usage, creditLimitFen: limit }), thresholdFen: 1000 });
        expect(j.verdict).not.toBe('arrears');
      }),
    );
  });
});

describe('R-CC-4 / R-X-3 linkage', () => {
  const mobile = { subscriberId: 1, network: 'wcdma3g' as const };
  const members = [
    { subscriberId: 1, network: 'wcdma3g' as const, lifecycle: 'normal', stopReasons: ['arrears_one_way' as const] },
    { subscriberId: 2, network: 'broadband' as const, lifecycle: 'normal', stopReasons: [] },
    { subscriberId: 3, network: 'broadband' as const, lifecycle: 'pre_cancelled', stopReasons: [] },
    { subscriberId: 4, network: 'fixed' as const, lifecycle: 'normal', stopReasons: ['bundle' as const] },
    { subscriberId: 5, network: 'gsm2g' as const, lifecycle: 'normal', stopReasons: [] },
  ];
  test('R-X-3 the cascade goes from the mobile to dependent lines, skipping pre-cancelled and already stopped ones', () => {
    expect(dependents(mobile, members, 'immediate', 'stop').map((m) => m.subscriberId)).toEqual([2]);
    expect(dependents(mobile, members, 'immediate', 'resume').map((m) => m.subscriberId)).toEqual([2, 4]);
    expect(dependents(mobile, members, null, 'stop')).toEqual([]);
    // a broadband's own arrears never stop the mobile (R-BND-12)
    expect(dependents({ subscriberId: 2, network: 'broadband' }, members, 'immediate', 'stop')).toEqual([]);
  });

  test('R-BND-10 the linked stop on the 1st needs the mobile still stopped and fund money', () => {
    const at = new Date('2026-11-30T16:00:00Z');
    expect(linkedStopDue({ causeArrearsStopped: true, fundFen: 1, stopAt: at, now: at })).toBe('stop');
    expect(linkedStopDue({ causeArrearsStopped: true, fundFen: 0, stopAt: at, now: at })).toBe('drop');
    expect(linkedStopDue({ causeArrearsStopped: false, fundFen: 100, stopAt: at, now: at })).toBe('drop');
    expect(linkedStopDue({ causeArrearsStopped: true, fundFen: 100, stopAt: at, now: new Date(at.getTime() - 1) })).toBe('wait');
  });
});

describe('R-INT-2 network simulator', () => {
  test('R-INT-2 stop, resume, family numbers, whitelist and features are recorded and change the line', async () => {
    const net = new SimulatedNetwork();
    const base = { serviceNumber: '18602200001', subscriberId: 1 };
    await net.activate({ ...base, imsi: '460010000000001', iccid: '8986010000000000001' });
    await net.send({ command: 'stop', ...base, mode: 'one_way', reason: 'arrears' });
    expect(net.lineState(base.serviceNumber).state).toBe('one_way');
    await net.send({ command: 'stop', ...base, mode: 'two_way', reason: 'arrears' });
    expect(net.lineState(base.serviceNumber).state).toBe('two_way');
    await net.send({ command: 'resume', ...base, reason: 'paid' });
    await net.send({ command: 'family_numbers', ...base, numbers: ['18602200002', '022-23456789'] });
    await net.send({ command: 'whitelist', ...base, add: ['10010', '120'] });
    await net.send({ command: 'whitelist', ...base, remove: ['120'] });
    await net.send({ command: 'features', ...base, add: ['INTL_ROAMING', 'EVDO'] });
    await net.send({ command: 'features', ...base, remove: ['EVDO'] });
    expect(net.lineState(base.serviceNumber)).toEqual({ state: 'open', familyNumbers: ['18602200002', '022-23456789'], whitelist: ['10010'], features: ['INTL_ROAMING'] });
    expect(net.commandsFor(base.serviceNumber).map((c) => c.command.command)).toEqual(['activate', 'stop', 'stop', 'resume', 'family_numbers', 'whitelist', 'whitelist', 'features', 'features']);
    // a refused command changes nothing on the line
    net.failNext({ command: 'stop' });
    await expect(net.send({ command: 'stop', ...base, mode: 'two_way', reason: 'arrears' })).rejects.toThrow();
    expect(net.lineState(base.serviceNumber).state).toBe('open');
    await net.send({ command: 'deactivate', ...base, imsi: '460010000000001', iccid: '8986010000000000001', reason: 'test' });
    expect(net.lineState(base.serviceNumber).state).toBe('inactive');
  });
});
