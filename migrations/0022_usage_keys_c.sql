-- The rating writes a row into cdrs for every CDR (20,000,000 a month at 1,000,000 subscribers) and
-- upserts the allowance and charge totals by their keys; what PostgreSQL does per row there is most of
-- the import's database time (bench/README.md, "2026-12-06"). Two costs of it served nothing:
--
-- 1. The text keys compared under the database's collation. Under any collation but "C"/"POSIX" (the C
--    library's C.UTF-8 included) PostgreSQL 15 calls strcoll for every comparison of two texts in a btree;
--    these columns hold ASCII codes (record ids, 'YYYY-MM' cycles, usages, scopes, items) that no screen
--    sorts by language (a C.UTF-8 database orders them the same; en_US may put punctuation and case
--    elsewhere, and the rating already orders record ids COLLATE "C"). A scratch insert of 1,000,000 CDRs
--    in random key order: the primary key of cdrs 0.5 µs a row cheaper in "C". Comparing one of these
--    columns with a column or value of the default collation uses "C" (an implicit collation wins over
--    the default), so no query changes.
-- 2. cdrs.cycle's CHECK (a regular expression, ~0.7 µs a row: a fifth of the row's cost). The only writer
--    of cdrs is the rating (storeRated and the rating statement), which takes the cycle from rules.ts
--    parseCdr: the Beijing month of the record's checked start time, never a field of the file.
--    usage_charges, which the bill run reads, never had this CHECK; the bills' cycle keeps its own (one
--    row per account and cycle).
ALTER TABLE cdrs DROP CONSTRAINT cdrs_cycle_check;
ALTER TABLE cdrs ALTER COLUMN record_id TYPE text COLLATE "C", ALTER COLUMN cycle TYPE text COLLATE "C";
ALTER TABLE usage_allowances ALTER COLUMN cycle TYPE text COLLATE "C", ALTER COLUMN usage TYPE text COLLATE "C", ALTER COLUMN scope TYPE text COLLATE "C";
ALTER TABLE usage_charges ALTER COLUMN cycle TYPE text COLLATE "C", ALTER COLUMN item_code TYPE text COLLATE "C";
