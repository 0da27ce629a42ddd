// Reference rows that orders, subscribers, subscriptions, books and fee lines point at (migration 0020):
// their foreign keys are gone from the hot inserts (each check locked a row every transaction shares), and a
// trigger on the referenced table refuses, as the keys' NO ACTION did, to delete a row or change its key while
// something still holds it. On PGlite, and on PostgreSQL in the second run.
import { sql } from 'kysely';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Mobile, openMobile, orderTestFile } from './order-helpers.ts';

const file = orderTestFile();
let mobile: Mobile;
beforeAll(async () => {
  mobile = await openMobile(file.env, file.api, { prestoreFen: 5000 });
});

const db = () => file.env.ctx.database.db;

/** Runs `statement` and returns the database's refusal (code and message), or undefined when it went through. */
async function refusal(statement: string): Promise<{ code: string; message: string } | undefined> {
  try {
    await sql.raw(statement).execute(db());
    return undefined;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { code: String(err.code), message: String(err.message) };
  }
}

describe('a referenced reference row can be neither deleted nor re-keyed (migration 0020)', () => {
  test('the subscriber\'s brand, the subscription\'s offer, the book\'s type, the fee line\'s item, the order\'s operator and hall', async () => {
    const sub = await db().selectFrom('subscribers').select('brand_code').where('subscriber_id', '=', mobile.subscriberId).executeTakeFirstOrThrow();
    const offer = await db().selectFrom('subscriber_offers').select('offer_code').where('subscriber_id', '=', mobile.subscriberId).executeTakeFirstOrThrow();
    const book = await db().selectFrom('books').select('book_type').where('account_id', '=', mobile.accountId).executeTakeFirstOrThrow();
    const order = await db().selectFrom('orders').select(['order_id', 'operator_id', 'department_id']).where('subscriber_id', '=', mobile.subscriberId).executeTakeFirstOrThrow();
    const fee = await db().selectFrom('order_fees').select('item_code').where('order_id', '=', order.order_id).where('item_code', 'is not', null).orderBy('line_no').executeTakeFirstOrThrow();
    expect(sub.brand_code).not.toBeNull();

    const cases: [string, string, string, string][] = [
      ['brands', 'brand_code', String(sub.brand_code), 'subscribers'],
      ['offers', 'offer_code', offer.offer_code, 'subscriber_offers'],
      ['book_types', 'code', book.book_type, 'books'],
      ['bill_items', 'code', String(fee.item_code), 'order_fees'],
      ['operators', 'operator_id', String(order.operator_id), 'orders'],
      ['departments', 'department_id', order.department_id, 'orders'],
    ];
    for (const [table, key, value, from] of cases) {
      const del = await refusal(`DELETE FROM ${table} WHERE ${key}::text = '${value}'`);
      expect(del, `${table} ${value}`).toMatchObject({ code: '23503' });
      expect(del?.message).toContain(`referenced from ${from}`);
      const rekey = key === 'operator_id' ? `UPDATE operators SET operator_id = operator_id + 100000 WHERE operator_id = ${value}` : `UPDATE ${table} SET ${key} = ${key} || '_X' WHERE ${key} = '${value}'`;
      expect(await refusal(rekey), `${table} re-key`).toMatchObject({ code: '23503' });
      // the row is still there, unchanged
      const still = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE ${sql.ref(key)}::text = ${value}`.execute(db());
      expect(still.rows[0]?.n).toBe(1);
    }
    // other columns of a referenced row change as before
    expect(await refusal(`UPDATE brands SET name_en = name_en WHERE brand_code = '${sub.brand_code}'`)).toBeUndefined();
    expect(await refusal(`UPDATE operators SET name = name || '' WHERE operator_id = ${order.operator_id}`)).toBeUndefined();
  });

  test('a waiver\'s operator and a fee line\'s book type are held by the fee line alone', async () => {
    const order = await db().selectFrom('orders').select('order_id').where('subscriber_id', '=', mobile.subscriberId).executeTakeFirstOrThrow();
    // an operator with no order of its own, and a book type no book uses, named on one fee line
    const auditor = await db().selectFrom('operators').select('operator_id').where('username', '=', 'auditor').executeTakeFirstOrThrow();
    const unused = await sql<{ code: string }>`SELECT code FROM book_types t WHERE NOT EXISTS (SELECT 1 FROM books b WHERE b.book_type = t.code) ORDER BY code LIMIT 1`.execute(db());
    const bookType = unused.rows[0]?.code as string;
    expect(bookType).toBeDefined();
    await db().updateTable('order_fees').set({ waived_by: auditor.operator_id, book_type: bookType }).where('order_id', '=', order.order_id).where('line_no', '=', 1).execute();

    expect((await refusal(`DELETE FROM operators WHERE operator_id = ${auditor.operator_id}`))?.message).toContain('referenced from order_fees');
    expect((await refusal(`DELETE FROM book_types WHERE code = '${bookType}'`))?.message).toContain('referenced from order_fees');
  });

  test('an unreferenced reference row is deleted and re-keyed as before', async () => {
    await db().insertInto('brands').values({ brand_code: 'TMP_BRAND', name_zh: '临时品牌', name_en: 'Temporary' }).execute();
    expect(await refusal(`UPDATE brands SET brand_code = 'TMP_BRAND2' WHERE brand_code = 'TMP_BRAND'`)).toBeUndefined();
    expect(await refusal(`DELETE FROM brands WHERE brand_code = 'TMP_BRAND2'`)).toBeUndefined();
    const left = await db().selectFrom('brands').select('brand_code').where('brand_code', 'like', 'TMP_BRAND%').execute();
    expect(left).toEqual([]);
  });
});
