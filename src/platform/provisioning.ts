// Network provisioning (R-INT-2): the commands the BOSS sends to the network (HLR/HSS) through one
// adapter interface, with a built-in simulator for tests, the demo and the training sandbox. Account
// opening activates the card's IMSI with its number at submission (R-RES-4, R-X-11); the
// stop/resume commands of credit control and status orders (issue 4) join the NetworkCommand union.
import type { Clock } from './clock.ts';

interface CommandBase {
  serviceNumber: string;
  subscriberId: number;
  /** the order that asked for it, when one did */
  orderId?: number | null | undefined;
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

/** Every command the adapter carries; issue 4 adds stop / resume here. */
export type NetworkCommand = ActivateCommand | DeactivateCommand;
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
    return { commandId, at };
  }
}
