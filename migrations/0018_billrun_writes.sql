-- The bill run and the publish write tens of thousands of bill lines and write-offs per minute; each row
-- paid for every index of its table and for each foreign-key check (a trigger per row: an index probe and a
-- row lock on the referenced row, ≈ 40 % of the insert). This migration keeps what a reader needs and what
-- the writers do not already guarantee themselves.

-- 1. Foreign keys whose writers already guarantee them, in the same transaction, by the referenced row itself.
--
-- write_offs (account_id, line_id) → bill_lines and write_offs (account_id, book_id) → books: every writer of
-- write_offs (accountRepo.applyWriteOff + adjustLinesAndBooks, billingRepo.applyWriteOffs, the reversals of
-- moneyRepo.insertNegativeWriteOffs + adjustLinesAndBooks) updates the line's paid_fen and the book's balance by
-- their keys in the same transaction (the update holds the row lock to commit, as the check's KEY SHARE lock
-- did) and fails when an update finds fewer lines or books than it wrote off (the count is checked: the
-- transaction is rolled back as the foreign-key error rolled it back). The line ids come from the open lines
-- and the book ids from the books read in that transaction.
ALTER TABLE write_offs DROP CONSTRAINT write_offs_account_id_line_id_fkey;
ALTER TABLE write_offs DROP CONSTRAINT write_offs_account_id_book_id_fkey;
--
-- bill_lines (account_id, bill_id) → bills: every writer takes the bill id from the bill it upserted in the same
-- transaction (billingRepo.insertBillsAndLines joins the lines to the bills its upsert returned, in the same
-- statement; usageRepo.ensureBills, lateFeeRepo.ensureBill and moneyRepo.ensureBill before their lines).
ALTER TABLE bill_lines DROP CONSTRAINT bill_lines_account_id_bill_id_fkey;
--
-- What the dropped keys also did: refuse to delete a row still referenced. Books and bills are never deleted,
-- bill lines only by a re-run (R-BIL-9: pre-bill lines nothing paid); these triggers refuse as the keys did
-- (they cost nothing on insert and update).
CREATE FUNCTION refuse_delete_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE referenced boolean;
BEGIN
  IF TG_TABLE_NAME = 'bills' THEN
    referenced := EXISTS (SELECT 1 FROM bill_lines l WHERE l.account_id = OLD.account_id AND l.bill_id = OLD.bill_id);
  ELSIF TG_TABLE_NAME = 'bill_lines' THEN
    referenced := EXISTS (SELECT 1 FROM write_offs w WHERE w.account_id = OLD.account_id AND w.line_id = OLD.line_id);
  ELSE
    referenced := EXISTS (SELECT 1 FROM write_offs w WHERE w.account_id = OLD.account_id AND w.book_id = OLD.book_id);
  END IF;
  IF referenced THEN
    RAISE EXCEPTION 'a row of % still referenced cannot be deleted', TG_TABLE_NAME USING ERRCODE = '23503';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER bills_refuse_delete_referenced BEFORE DELETE ON bills FOR EACH ROW EXECUTE FUNCTION refuse_delete_referenced();
CREATE TRIGGER bill_lines_refuse_delete_referenced BEFORE DELETE ON bill_lines FOR EACH ROW EXECUTE FUNCTION refuse_delete_referenced();
CREATE TRIGGER books_refuse_delete_referenced BEFORE DELETE ON books FOR EACH ROW EXECUTE FUNCTION refuse_delete_referenced();

-- 2. Indexes no reader needs.
--
-- write_offs (account_id, book_id): its one reader (moneyRepo.unreversedWriteOffsOfBook, a reversal) filters by
-- account first; the primary key (account_id, write_off_id) finds an account's write-offs.
DROP INDEX write_offs_book_idx;
-- UNIQUE (account_id, reverses_write_off_id) indexed every write-off, though only reversals have the column
-- (NULLs never conflict): the same rule as a partial unique index over reversals only.
ALTER TABLE write_offs DROP CONSTRAINT write_offs_account_id_reverses_write_off_id_key;
CREATE UNIQUE INDEX write_offs_reverses_idx ON write_offs (account_id, reverses_write_off_id) WHERE reverses_write_off_id IS NOT NULL;
-- recurring_charges (run_id): no statement reads the ledger by run alone (a re-run takes back its rows
-- through (subscriber_id, cycle, …) of recurring_charges_once_idx).
DROP INDEX recurring_charges_run_idx;
