// The generic order form's model (web/src/pages/Order/schema.ts): each business type's branch of the
// POST /orders body schema becomes form fields, and the form's values become the order body — amounts
// typed in yuan sent as integer fen (R-ACC-7), empty optional fields and switched-off objects left out.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { fenToYuanText, fieldsOf, includeKey, orderBranch, toBody, toValues } from '../web/src/pages/Order/schema.ts';
import { yuanToFen } from '../web/src/utils/money.ts';
import { BUSINESS_TYPE_CODES } from '../src/domains/orders/routes.ts';

const doc: unknown = JSON.parse(readFileSync(new URL('../web/src/services/openapi.json', import.meta.url), 'utf8'));

describe('order form from the OpenAPI body schema', () => {
  test('every business type the engine registers has its branch in the generated schema (run `npm run gen:api` after adding one)', () => {
    const missing = BUSINESS_TYPE_CODES.filter((code) => !orderBranch(doc, code));
    expect(missing).toEqual([]);
  });

  test('R-ORD-7 a branch lists its fields in order, without the discriminator; documents are a nested object', () => {
    const suspend = orderBranch(doc, 'SUSPEND');
    expect(suspend).toBeDefined();
    const fields = fieldsOf(suspend ?? {});
    expect(fields.map((f) => f.name)).not.toContain('businessType');
    expect(fields.find((f) => f.name === 'documents')).toMatchObject({ required: true, schema: { type: 'object' } });
  });

  test('R-ACC-7 values → body: yuan to integer fen, ids to numbers, empty optional fields and switched-off objects left out', () => {
    const schema = {
      type: 'object',
      required: ['customerId', 'documents'],
      properties: {
        businessType: { type: 'string', enum: ['X'] },
        customerId: { type: 'integer' },
        documents: { type: 'object', required: ['presenter'], properties: { presenter: { type: 'string' }, ownerIdOriginal: { type: 'boolean' }, agent: { type: 'object', properties: { name: { type: 'string' } } } } },
        prestoreFen: { type: 'integer', minimum: 1 },
        note: { type: 'string' },
        newAccount: { type: 'object', properties: { billingType: { type: 'string' } } },
        subscriberIds: { type: 'array', items: { type: 'integer' } },
        add: { type: 'array', items: { type: 'string' } },
      },
    };
    const body = toBody(
      schema,
      {
        customerId: 7,
        documents: { presenter: 'owner', ownerIdOriginal: true, agent: { name: '' } },
        prestoreFen: '0.1',
        note: '  ',
        newAccount: { billingType: 'virtual' },
        [includeKey('newAccount')]: false,
        subscriberIds: ['3', '12'],
        add: [],
      },
      yuanToFen,
    );
    expect(body).toEqual({ customerId: 7, documents: { presenter: 'owner', ownerIdOriginal: true }, prestoreFen: 10, subscriberIds: [3, 12] });
    // switched on, the object goes; an amount the validator would refuse is never sent
    expect(toBody(schema, { customerId: 7, documents: { presenter: 'owner' }, newAccount: { billingType: 'virtual' }, [includeKey('newAccount')]: true }, yuanToFen)).toMatchObject({ newAccount: { billingType: 'virtual' } });
    expect(() => toBody(schema, { prestoreFen: '1.234' }, yuanToFen)).toThrow(/prestoreFen/);
    expect(() => toBody(schema, { prestoreFen: '0' }, yuanToFen)).toThrow(/zero/);
  });

  test('a stored input comes back into the form as it was typed (fen as yuan, optional objects switched on)', () => {
    const transfer = orderBranch(doc, 'TRANSFER_OWNERSHIP') ?? {};
    const input = { customerId: 1, subscriberId: 2, documents: { presenter: 'owner', ownerIdOriginal: true }, newCustomerId: 9, newOwnerDocuments: { presenter: 'owner' }, newAccount: { billingType: 'virtual', paymentMethod: 'cash' }, prestoreFen: 20050 };
    const values = toValues(transfer, input);
    expect(values).toMatchObject({ prestoreFen: '200.5', [includeKey('newAccount')]: true });
    expect(toBody(transfer, values, yuanToFen)).toEqual(input);
    expect([0, 1, 10, 100, 1205, 29800].map(fenToYuanText)).toEqual(['0', '0.01', '0.1', '1', '12.05', '298']);
  });
});
