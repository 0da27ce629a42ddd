// Book types and bill items are configuration: read often, changed rarely, so cached briefly.
import type { Db, Q } from '../../platform/db.ts';
import { DomainError } from '../../platform/errors.ts';

export interface BookType {
  code: string;
  nameZh: string;
  nameEn: string;
  priority: number;
  paysEarlierCycles: boolean;
  excludedItems: string[];
}
export interface BillItem {
  code: string;
  nameZh: string;
  nameEn: string;
  priority: number;
}

const TTL_MS = 60_000;

export class AccountingReference {
  private loadedAt = 0;
  private bookTypes = new Map<string, BookType>();
  private items = new Map<string, BillItem>();

  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** `q`: the caller's transaction, when there is one (PGlite has a single connection). */
  private async refresh(q: Q = this.db): Promise<void> {
    if (Date.now() - this.loadedAt < TTL_MS) return;
    const [bt, it] = await Promise.all([
      q.selectFrom('book_types').selectAll().orderBy('priority').execute(),
      q.selectFrom('bill_items').selectAll().where('active', '=', true).orderBy('priority').execute(),
    ]);
    this.bookTypes = new Map(
      bt.map((r) => [r.code, { code: r.code, nameZh: r.name_zh, nameEn: r.name_en, priority: r.priority, paysEarlierCycles: r.pays_earlier_cycles, excludedItems: r.excluded_items }]),
    );
    this.items = new Map(it.map((r) => [r.code, { code: r.code, nameZh: r.name_zh, nameEn: r.name_en, priority: r.priority }]));
    this.loadedAt = Date.now();
  }

  invalidate(): void {
    this.loadedAt = 0;
  }

  async allBookTypes(q?: Q): Promise<BookType[]> {
    await this.refresh(q);
    return [...this.bookTypes.values()];
  }

  async allItems(q?: Q): Promise<BillItem[]> {
    await this.refresh(q);
    return [...this.items.values()];
  }

  async bookType(code: string, q?: Q): Promise<BookType> {
    await this.refresh(q);
    const t = this.bookTypes.get(code);
    if (!t) {
      throw new DomainError('UNKNOWN_BOOK_TYPE', `帐本类型不存在：${code}`, `Unknown book type: ${code}`, 422, {
        known: [...this.bookTypes.keys()],
      });
    }
    return t;
  }

  /** Refuses unknown bill items, naming all of them. */
  async assertItems(codes: readonly string[], q?: Q): Promise<void> {
    await this.refresh(q);
    const unknown = [...new Set(codes)].filter((c) => !this.items.has(c));
    if (unknown.length) {
      throw new DomainError('UNKNOWN_BILL_ITEM', `帐目项不存在：${unknown.join(',')}`, `Unknown bill items: ${unknown.join(',')}`, 422, { unknown });
    }
  }

  async itemPriority(code: string, q?: Q): Promise<number> {
    await this.refresh(q);
    return this.items.get(code)?.priority ?? Number.MAX_SAFE_INTEGER;
  }
}
