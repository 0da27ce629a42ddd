// Network provisioning (R-INT-2): the commands the BOSS sends to the network (HLR/HSS) through one
// adapter interface, with a built-in simulator for tests, the demo and the training sandbox. Account
// opening activates the card's IMSI with its number at submission (R-RES-4, R-X-11); credit control
// and status orders stop (one-way: outgoing barred; two-way: all barred) and resume lines; family
// numbers, whitelists and features are set per subscriber. The simulator keeps each number's state.
import type { Clock } from './clock.ts';

interface CommandBase {
  serviceNumber: string;
  subscriberId: number;
  /** the order that asked for it, when one did */
  orderId?: number | null | undefined;
  /** the card the command is about (activate/deactivate); optional elsewhere so every command reads alike */
  iccid?: string | undefined;
}

/** Opens a new subscriber on the network: the card's IMSI with the number (开户开通). */
export interface ActivateCommand extends CommandBase {
  command: 'activate';
  imsi: string;
  iccid: string;
}

/** Takes back an activation whose order did not commit (compensation, R-X-11). */
export interface DeactivateCommand extends CommandBase {
  command: 'deactivate';
  imsi: string;
  iccid: string;
  reason: string;
}

/** Bars the line: `one_way` stops outgoing calls and data (单停), `two_way` everything (双停). */
export interface StopCommand extends CommandBase {
  command: 'stop';
  mode: 'one_way' | 'two_way';
  reason: string;
}

/** Lifts every bar (复机). */
export interface ResumeCommand extends CommandBase {
  command: 'resume';
  reason: string;
}

/** The family numbers (亲情号码) of the line, replacing what it had (R-BND-9). */
export interface FamilyNumbersCommand extends CommandBase {
  command: 'family_numbers';
  numbers: string[];
}

/** Numbers the line may still call while barred one-way, or a group's allowed callers (白名单). */
export interface WhitelistCommand extends CommandBase {
  command: 'whitelist';
  add?: string[] | undefined;
  remove?: string[] | undefined;
}

/** Network features (international roaming, EVDO/data, caller ID…) switched on and off. */
export interface FeaturesCommand extends CommandBase {
  command: 'features';
  add?: string[] | undefined;
  remove?: string[] | undefined;
}

/** Every command the adapter carries. */
export type NetworkCommand = ActivateCommand | DeactivateCommand | StopCommand | ResumeCommand | FamilyNumbersCommand | WhitelistCommand | FeaturesCommand;
export type NetworkCommandName = NetworkCommand['command'];

/** What activate() takes: an ActivateCommand without its name. */
export type Activation = Omit<ActivateCommand, 'command'>;

export interface NetworkReceipt {
  commandId: string;
  at: string;
}

/** The network refused or did not answer; `code` is stable, the messages are for the operator. */
export class ProvisioningError extends Error {
  readonly code: string;
  readonly zh: string;
  readonly en: string;
  constructor(code: string, zh: string, en: string) {
    super(en);
    this.name = 'ProvisioningError';
    this.code = code;
    this.zh = zh;
    this.en = en;
  }
}

export interface NetworkProvisioning {
  /** 'simulator', or the real adapter's name */
  readonly name: string;
  activate(a: Activation): Promise<NetworkReceipt>;
  send(c: NetworkCommand): Promise<NetworkReceipt>;
}

export interface SentCommand {
  commandId: string;
  at: string;
  command: NetworkCommand;
  ok: boolean;
  error?: { code: string; zh: string; en: string } | undefined;
}

const DEFAULT_FAILURE = { code: 'NETWORK_REJECTED', zh: '网络侧开通失败（HLR 拒绝）', en: 'The network refused the activation (HLR rejected it)' };

/** What the simulated network holds for one number after the commands it received. */
export interface LineState {
  /** `inactive` before activation and after deactivation */
  state: 'inactive' | 'open' | 'one_way' | 'two_way';
  familyNumbers: string[];
  whitelist: string[];
  features: string[];
}

/**
 * Records every command in memory (the last `keep`, so a long demo or a benchmark does not grow
 * without bound) and answers at once; `failNext` makes the next command of a kind fail.
 */
export class SimulatedNetwork implements NetworkProvisioning {
  readonly name = 'simulator';
  private readonly clock: Clock | undefined;
  private readonly keep: number;
  private readonly log: SentCommand[] = [];
  private readonly failures: { command: NetworkCommandName; error: typeof DEFAULT_FAILURE }[] = [];
  private readonly lines = new Map<string, LineState>();
  private seq = 0;

  constructor(opts: { clock?: Clock | undefined; keep?: number | undefined } = {}) {
    this.clock = opts.clock;
    this.keep = opts.keep ?? 1000;
  }

  /** The next `command` (default: activate) fails with this error. */
  failNext(opts: { command?: NetworkCommandName; code?: string; zh?: string; en?: string } = {}): void {
    this.failures.push({
      command: opts.command ?? 'activate',
      error: { code: opts.code ?? DEFAULT_FAILURE.code, zh: opts.zh ?? DEFAULT_FAILURE.zh, en: opts.en ?? DEFAULT_FAILURE.en },
    });
  }

  /** Commands sent so far (oldest first), successful or not. */
  get commands(): readonly SentCommand[] {
    return this.log;
  }

  /** The successful commands of one subscriber's number, oldest first. */
  commandsFor(serviceNumber: string): SentCommand[] {
    return this.log.filter((c) => c.command.serviceNumber === serviceNumber && c.ok);
  }

  /** The line as the network holds it now (a number never activated here counts as open: it predates the simulator). */
  lineState(serviceNumber: string): LineState {
    const l = this.lines.get(serviceNumber);
    return l ? { ...l, familyNumbers: [...l.familyNumbers], whitelist: [...l.whitelist], features: [...l.features] } : { state: 'open', familyNumbers: [], whitelist: [], features: [] };
  }

  activate(a: Activation): Promise<NetworkReceipt> {
    return this.send({ command: 'activate', ...a });
  }

  async send(c: NetworkCommand): Promise<NetworkReceipt> {
    const commandId = `SIM-${++this.seq}`;
    const at = (this.clock?.now() ?? new Date()).toISOString();
    const i = this.failures.findIndex((f) => f.command === c.command);
    const failure = i >= 0 ? this.failures.splice(i, 1)[0] : undefined;
    this.log.push({ commandId, at, command: { ...c }, ok: !failure, ...(failure ? { error: failure.error } : {}) });
    if (this.log.length > this.keep) this.log.splice(0, this.log.length - this.keep);
    if (failure) throw new ProvisioningError(failure.error.code, failure.error.zh, failure.error.en);
    this.apply(c);
    return { commandId, at };
  }

  private apply(c: NetworkCommand): void {
    const l = this.lines.get(c.serviceNumber) ?? { state: 'open', familyNumbers: [], whitelist: [], features: [] };
    const without = (xs: string[], drop: string[] | undefined) => xs.filter((x) => !(drop ?? []).includes(x));
    const withAll = (xs: string[], add: string[] | undefined) => [...new Set([...xs, ...(add ?? [])])];
    switch (c.command) {
      case 'activate':
        l.state = 'open';
        break;
      case 'deactivate':
        l.state = 'inactive';
        break;
      case 'stop':
        l.state = c.mode;
        break;
      case 'resume':
        l.state = 'open';
        break;
      case 'family_numbers':
        l.familyNumbers = [...c.numbers];
        break;
      case 'whitelist':
        l.whitelist = withAll(without(l.whitelist, c.remove), c.add);
        break;
      case 'features':
        l.features = withAll(without(l.features, c.remove), c.add);
        break;
    }
    this.lines.set(c.serviceNumber, l);
  }
}
