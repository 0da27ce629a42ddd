-- Every new subscriber, subscription, book, order and fee line pointed through a foreign key at one of a few
-- reference rows that every transaction shares: the hall (departments), the operator, the brand, the plan
-- (offers), the book type and the bill item. A foreign-key check locks the referenced row FOR KEY SHARE; when
-- several transactions hold that lock on the same row PostgreSQL replaces the row's locker by a MultiXact (a new
-- one for every further locker, written to pg_multixact and to the WAL) and writes the row's lock into its page.
-- At the front desk's load (bench/orders: 16 concurrent orders) that was about 3.5 MultiXacts and 8 lock
-- records per order on rows nobody changes.
--
-- The writers of these columns take the codes from the rows themselves, in the same transaction or from the
-- catalog's cache of them: the order's operator and hall are the session's (operators and departments are never
-- deleted: an operator leaves by status); a subscriber's brand and a subscription's offer come from the offer the
-- order or the grant loaded (offers are never deleted: they expire by their validity window); a book's type is
-- read through `ReferenceData.bookType` (422 UNKNOWN_BOOK_TYPE) or comes from a bundle's grant item, whose own
-- foreign key to book_types stays; a fee line's item and book type come from the catalog's fees and a waiver's
-- operator is the session's. What the keys also did, refuse to delete or re-key a referenced row, is done by the
-- trigger below (it costs nothing on the hot inserts; the rare delete scans the referencing table).
ALTER TABLE subscribers DROP CONSTRAINT subscribers_brand_code_fkey;
ALTER TABLE subscriber_offers DROP CONSTRAINT subscriber_offers_offer_code_fkey;
ALTER TABLE books DROP CONSTRAINT books_book_type_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_operator_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_department_id_fkey;
ALTER TABLE order_fees DROP CONSTRAINT order_fees_item_code_fkey;
ALTER TABLE order_fees DROP CONSTRAINT order_fees_book_type_fkey;
ALTER TABLE order_fees DROP CONSTRAINT order_fees_waived_by_fkey;

-- refuse_referenced_key_change(key column, referencing table, its column, [table, column] …): a DELETE of the
-- row, or an UPDATE that changes its key, fails with 23503 (as the foreign key's NO ACTION did) while a row of a
-- referencing table still holds the key.
CREATE FUNCTION refuse_referenced_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_key text := to_jsonb(OLD) ->> TG_ARGV[0];
  referenced boolean;
  i int := 1;
BEGIN
  IF TG_OP = 'UPDATE' AND old_key IS NOT DISTINCT FROM (to_jsonb(NEW) ->> TG_ARGV[0]) THEN
    RETURN NEW;
  END IF;
  WHILE i < array_length(TG_ARGV, 1) LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I::text = $1)', TG_ARGV[i], TG_ARGV[i + 1]) INTO referenced USING old_key;
    IF referenced THEN
      RAISE EXCEPTION 'key (%)=(%) of % is still referenced from %', TG_ARGV[0], old_key, TG_TABLE_NAME, TG_ARGV[i]
        USING ERRCODE = '23503', TABLE = TG_ARGV[i];
    END IF;
    i := i + 2;
  END LOOP;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER brands_refuse_referenced_key_change BEFORE DELETE OR UPDATE OF brand_code ON brands
  FOR EACH ROW EXECUTE FUNCTION refuse_referenced_key_change('brand_code', 'subscribers', 'brand_code');
CREATE TRIGGER offers_refuse_referenced_key_change BEFORE DELETE OR UPDATE OF offer_code ON offers
  FOR EACH ROW EXECUTE FUNCTION refuse_referenced_key_change('offer_code', 'subscriber_offers', 'offer_code');
CREATE TRIGGER book_types_refuse_referenced_key_change BEFORE DELETE OR UPDATE OF code ON book_types
  FOR EACH ROW EXECUTE FUNCTION refuse_referenced_key_change('code', 'books', 'book_type', 'order_fees', 'book_type');
CREATE TRIGGER bill_items_refuse_referenced_key_change BEFORE DELETE OR UPDATE OF code ON bill_items
  FOR EACH ROW EXECUTE FUNCTION refuse_referenced_key_change('code', 'order_fees', 'item_code');
CREATE TRIGGER operators_refuse_referenced_key_change BEFORE DELETE OR UPDATE OF operator_id ON operators
  FOR EACH ROW EXECUTE FUNCTION refuse_referenced_key_change('operator_id', 'orders', 'operator_id', 'order_fees', 'waived_by');
CREATE TRIGGER departments_refuse_referenced_key_change BEFORE DELETE OR UPDATE OF department_id ON departments
  FOR EACH ROW EXECUTE FUNCTION refuse_referenced_key_change('department_id', 'orders', 'department_id');
