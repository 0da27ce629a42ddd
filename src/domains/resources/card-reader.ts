// On-site card writing (R-RES-5, seed 003 "读写卡注意事项 / 常见问题处理"): the card-reader driver
// interface the front end talks to, its errors with the exact messages of the seed, and a simulator
// for tests, the demo and the training sandbox. Pure TypeScript without Node imports: the web app
// imports this file too (atob/btoa are global in browsers and Node).

export type CardReaderErrorCode = 'READER_NOT_CONNECTED' | 'DRIVER_NOT_INSTALLED' | 'CARD_NOT_BLANK' | 'SCRIPT_MISSING' | 'SCRIPT_CARD_MISMATCH';

/** R-RES-5: the four messages of the seed, word for word (zh), plus a script written for another card. */
export const CARD_READER_MESSAGES: Record<CardReaderErrorCode, { zh: string; en: string }> = {
  // no reader attached, or no card in it (写卡器没有连接，或没有插入白卡)
  READER_NOT_CONNECTED: { zh: '连接写卡器失败，请尝试重新插入白卡！', en: 'Cannot connect to the card reader; insert the blank card again!' },
  // driver / ActiveX control missing or disabled in the browser
  DRIVER_NOT_INSTALLED: { zh: '写卡器驱动未安装。', en: 'The card reader driver is not installed.' },
  // a finished card, a blank card already written, or a card not inserted properly
  CARD_NOT_BLANK: { zh: '请更换白卡！', en: 'Please use another blank card!' },
  // the write script from the server does not exist (no IMSI/Ki card data for the card)
  SCRIPT_MISSING: { zh: '写卡脚本内容不存在，请把号卡文件维护到数据库！', en: 'The card write script does not exist; load the card data file into the database!' },
  SCRIPT_CARD_MISMATCH: { zh: '写卡脚本与读卡器中的卡不符，请重新读卡！', en: 'The write script is for another card; read the card again!' },
};

export function isCardReaderErrorCode(code: string): code is CardReaderErrorCode {
  return Object.hasOwn(CARD_READER_MESSAGES, code);
}

export class CardReaderError extends Error {
  readonly code: CardReaderErrorCode;
  readonly zh: string;
  readonly en: string;
  constructor(code: CardReaderErrorCode) {
    const m = CARD_READER_MESSAGES[code];
    super(m.zh);
    this.name = 'CardReaderError';
    this.code = code;
    this.zh = m.zh;
    this.en = m.en;
  }
}

export interface CardInfo {
  iccid: string;
  /** false: a finished card or a blank card already written (R-RES-5 "请更换白卡！") */
  blank: boolean;
}

/** The driver of a card reader (写卡器) as the front end sees it. */
export interface CardReader {
  /** Opens the reader; DRIVER_NOT_INSTALLED or READER_NOT_CONNECTED. */
  connect(): Promise<void>;
  /** 读卡: the inserted card's ICCID and whether it is still blank. */
  readCard(): Promise<CardInfo>;
  /** 写卡: writes the script the server issued (POST /orders/{id}/card-writes) onto the inserted card. */
  writeCard(script: string): Promise<void>;
}

/** What anyone may read of a write script: its version, write and card. The card data inside stays sealed. */
export interface CardScriptHeader {
  v: number;
  writeId: number;
  iccid: string;
  /** the transport key that sealed `sealed` */
  keyId: string;
}

/** Reads the clear header of an issued script; null when it is not a script at all. */
export function cardScriptHeader(script: string): CardScriptHeader | null {
  if (typeof script !== 'string' || script.length === 0 || script.length > 8192) return null;
  try {
    const o = JSON.parse(atob(script)) as Record<string, unknown>;
    if (o.v !== 1 || typeof o.writeId !== 'number' || typeof o.iccid !== 'string' || typeof o.keyId !== 'string' || typeof o.sealed !== 'string' || o.sealed.length === 0) return null;
    return { v: o.v, writeId: o.writeId, iccid: o.iccid, keyId: o.keyId };
  } catch {
    return null;
  }
}

/**
 * A card reader in memory. `insert` puts a card in (blank or not), `remove` takes it out, and
 * `failNext(code)` makes the next operation fail that way. A card it has written reads as not blank
 * afterwards; a script is accepted only for the card that is inserted.
 */
export class SimulatedCardReader implements CardReader {
  private card: { iccid: string; blank: boolean } | null = null;
  private connected = false;
  private failure: CardReaderErrorCode | null = null;
  private readonly driverInstalled: boolean;
  /** ICCIDs this reader has written, in order */
  readonly written: string[] = [];

  constructor(opts: { driverInstalled?: boolean } = {}) {
    this.driverInstalled = opts.driverInstalled ?? true;
  }

  insert(iccid: string, opts: { blank?: boolean } = {}): void {
    this.card = { iccid, blank: opts.blank ?? !this.written.includes(iccid) };
  }

  remove(): void {
    this.card = null;
  }

  failNext(code: CardReaderErrorCode): void {
    this.failure = code;
  }

  private injected(): void {
    const f = this.failure;
    this.failure = null;
    if (f) throw new CardReaderError(f);
  }

  async connect(): Promise<void> {
    this.injected();
    if (!this.driverInstalled) throw new CardReaderError('DRIVER_NOT_INSTALLED');
    if (!this.card) throw new CardReaderError('READER_NOT_CONNECTED');
    this.connected = true;
  }

  private inserted(): { iccid: string; blank: boolean } {
    if (!this.driverInstalled) throw new CardReaderError('DRIVER_NOT_INSTALLED');
    if (!this.connected || !this.card) throw new CardReaderError('READER_NOT_CONNECTED');
    return this.card;
  }

  async readCard(): Promise<CardInfo> {
    this.injected();
    const c = this.inserted();
    return { iccid: c.iccid, blank: c.blank };
  }

  async writeCard(script: string): Promise<void> {
    this.injected();
    const c = this.inserted();
    if (!c.blank) throw new CardReaderError('CARD_NOT_BLANK');
    const header = cardScriptHeader(script);
    if (!header) throw new CardReaderError('SCRIPT_MISSING');
    if (header.iccid !== c.iccid) throw new CardReaderError('SCRIPT_CARD_MISMATCH');
    c.blank = false;
    this.written.push(c.iccid);
  }
}
