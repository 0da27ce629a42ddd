import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Q } from '../../platform/db.ts';
import type { CustomersTable } from '../../platform/schema.ts';

export type CustomerRow = Selectable<CustomersTable>;

export const customerRepo = {
  insert(q: Q, row: Insertable<CustomersTable>) {
    return q.insertInto('customers').values(row).returningAll().executeTakeFirstOrThrow();
  },
  byId(q: Q, id: number) {
    return q.selectFrom('customers').selectAll().where('customer_id', '=', id).executeTakeFirst();
  },
  byDocument(q: Q, idType: string, idNumber: string) {
    return q.selectFrom('customers').selectAll().where('id_type', '=', idType).where('id_number', '=', idNumber).executeTakeFirst();
  },
  /** Search by ID number or service number (exact) or by name (prefix, then contains). */
  search(q: Q, text: string, limit: number) {
    const escaped = text.replaceAll('\\', '\\\\').replaceAll('%', '\\%').replaceAll('_', '\\_');
    return q
      .selectFrom('customers as c')
      .selectAll('c')
      .where((eb) =>
        eb.or([
          eb('c.id_number', '=', text.toUpperCase()),
          eb('c.name', 'like', `%${escaped}%`),
          eb.exists(eb.selectFrom('subscribers as s').select('s.subscriber_id').whereRef('s.customer_id', '=', 'c.customer_id').where('s.service_number', '=', text)),
        ]),
      )
      .orderBy((eb) => eb.case().when('c.name', '=', text).then(0).else(1).end())
      .orderBy('c.customer_id')
      .limit(limit)
      .execute();
  },
  accountsOf(q: Q, customerId: number) {
    return q.selectFrom('accounts').selectAll().where('customer_id', '=', customerId).orderBy('account_id').execute();
  },
  lock(q: Q, id: number) {
    return q.selectFrom('customers').selectAll().where('customer_id', '=', id).forUpdate().executeTakeFirst();
  },
  update(q: Q, id: number, set: Updateable<CustomersTable>) {
    return q.updateTable('customers').set(set).where('customer_id', '=', id).returningAll().executeTakeFirstOrThrow();
  },
  subscribersOf(q: Q, customerId: number) {
    return q.selectFrom('subscribers').selectAll().where('customer_id', '=', customerId).orderBy('subscriber_id').execute();
  },
};
