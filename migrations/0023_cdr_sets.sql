-- Rated CDRs as compact sets (docs/decisions/0002, last section): the records a file brings for one
-- account, subscriber and cycle, rated, in one row whose body holds them in a compact binary layout
-- (src/domains/usage/sets.ts). A row of cdrs cost PostgreSQL ~4.7 µs a record (its heap tuple, primary
-- key and itemised index); a set costs it 0.5–0.9 µs a record and a fifth of the space (44.8 bytes a
-- record in the bench against ~310 with indexes). The rating in TypeScript stores every record it rates
-- here; cdrs keeps what the rating statement stores (an account of more records in one file than fit
-- in memory, records stored unrated) and every record stored before this migration.
--
-- Readers: usage_records (below) shows both as rows of cdrs' columns; reports and checks that need only
-- totals read the sets' `records` and `charge_fen`, which need no decoding.
--
-- R-BIL-3 (a record id counts once per account): `hashes` holds 8 bytes a record (two 32-bit hashes of
-- its record id, in the body's order). The rating reads the hashes of the sets of the accounts it rates
-- (one range of the primary key) and confirms a hash that matches against the body's record ids, so a
-- collision never drops a record.
--
-- Distributed by account_id like the other money tables (a future Citus): a chunk writes one account's
-- rows at a time.
CREATE TABLE cdr_sets (
  account_id    bigint NOT NULL,
  subscriber_id bigint NOT NULL,
  cycle         text COLLATE "C" NOT NULL,
  file_id       bigint NOT NULL,
  -- several sets of one account, subscriber, cycle and file (the rating of an account held in pieces)
  part          int NOT NULL DEFAULT 0 CHECK (part >= 0),
  records       int NOT NULL CHECK (records > 0),
  charge_fen    bigint NOT NULL CHECK (charge_fen >= 0),
  imported_at   timestamptz NOT NULL,
  body          bytea NOT NULL,
  hashes        bytea NOT NULL CHECK (length(hashes) = 8 * records),
  PRIMARY KEY (account_id, subscriber_id, cycle, file_id, part)
) WITH (toast_tuple_target = 8160);
-- the bodies are varint-packed already: stored as they are (PostgreSQL's pglz would spend CPU for little)
ALTER TABLE cdr_sets ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN hashes SET STORAGE EXTERNAL;
CREATE INDEX cdr_sets_itemised_idx ON cdr_sets (subscriber_id, cycle);

-- An unsigned LEB128 varint of `body` at byte offset p (0-based): its value and the offset after it.
CREATE FUNCTION cdr_set_varint(body bytea, p int, OUT v bigint, OUT next int)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  b int;
  s int := 0;
BEGIN
  v := 0;
  LOOP
    b := get_byte(body, p);
    p := p + 1;
    v := v | ((b & 127)::bigint << s);
    EXIT WHEN b < 128;
    s := s + 7;
  END LOOP;
  next := p;
END $$;

-- The records of a set's body, in its order (ord from 1): the layout of src/domains/usage/sets.ts
-- (encodeSet). For one subscriber's itemised bill and engineers' queries; scanning a month of every
-- subscriber this way is slow (PL/pgSQL): totals are in cdr_sets.records and charge_fen, usage_charges.
CREATE FUNCTION cdr_set_records(body bytea)
RETURNS TABLE (ord int, record_id text, other_party text, started_at timestamptz, usage text, scope text, quantity bigint, area text,
               line bigint, item_code text, unit text, units bigint, free_units bigint, rate_fen bigint, charge_fen bigint, offer_code text, free_reason text)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  p int := 0;
  n int := length(body);
  x record;
  t bigint := 0;
  l bigint := 0;
  codes int;
BEGIN
  ord := 0;
  WHILE p < n LOOP
    ord := ord + 1;
    x := cdr_set_varint(body, p);
    record_id := convert_from(substring(body FROM x.next + 1 FOR x.v::int), 'UTF8');
    p := x.next + x.v::int;
    x := cdr_set_varint(body, p);
    other_party := convert_from(substring(body FROM x.next + 1 FOR x.v::int), 'UTF8');
    p := x.next + x.v::int;
    -- start: zigzag delta of the microseconds since the epoch from the record before
    x := cdr_set_varint(body, p);
    p := x.next;
    t := t + ((x.v >> 1) # (-(x.v & 1)));
    started_at := timestamptz 'epoch' + (t / 1000000) * interval '1 second' + (t % 1000000) * interval '1 microsecond';
    codes := get_byte(body, p);
    p := p + 1;
    usage := (ARRAY['voice', 'sms', 'data'])[(codes & 3) + 1];
    scope := (ARRAY['local', 'long_distance', 'roaming'])[((codes >> 2) & 3) + 1];
    unit := (ARRAY['minute', 'message', 'kb', 'mb'])[((codes >> 4) & 3) + 1];
    free_reason := (ARRAY[NULL, 'allowance', 'family', 'vpmn'])[((codes >> 6) & 3) + 1];
    item_code := CASE usage WHEN 'sms' THEN 'SMS' WHEN 'data' THEN 'DATA'
                   ELSE CASE scope WHEN 'local' THEN 'VOICE_LOCAL' WHEN 'long_distance' THEN 'VOICE_LD' ELSE 'VOICE_ROAM' END END;
    x := cdr_set_varint(body, p);
    quantity := x.v;
    p := x.next;
    -- area: length + 1, 0 for none
    x := cdr_set_varint(body, p);
    area := CASE WHEN x.v = 0 THEN NULL ELSE convert_from(substring(body FROM x.next + 1 FOR x.v::int - 1), 'UTF8') END;
    p := x.next + greatest(x.v::int - 1, 0);
    -- line: zigzag delta from the record before
    x := cdr_set_varint(body, p);
    p := x.next;
    l := l + ((x.v >> 1) # (-(x.v & 1)));
    line := l;
    x := cdr_set_varint(body, p);
    units := x.v;
    x := cdr_set_varint(body, x.next);
    free_units := x.v;
    x := cdr_set_varint(body, x.next);
    rate_fen := x.v;
    x := cdr_set_varint(body, x.next);
    charge_fen := x.v;
    x := cdr_set_varint(body, x.next);
    offer_code := CASE WHEN x.v = 0 THEN NULL ELSE convert_from(substring(body FROM x.next + 1 FOR x.v::int - 1), 'UTF8') END;
    p := x.next + greatest(x.v::int - 1, 0);
    RETURN NEXT;
  END LOOP;
END $$;

-- Every stored record as a row of cdrs' columns: cdrs' rows and the sets' records (rated when stored).
CREATE VIEW usage_records AS
  SELECT account_id, record_id, subscriber_id, cycle, usage, scope, other_party, started_at, quantity, area, file_id, line, imported_at,
         rated_at, item_code, unit, units, free_units, rate_fen, charge_fen, offer_code, free_reason
    FROM cdrs
  UNION ALL
  SELECT z.account_id, r.record_id COLLATE "C", z.subscriber_id, z.cycle, r.usage, r.scope, r.other_party, r.started_at, r.quantity, r.area, z.file_id, r.line, z.imported_at,
         z.imported_at, r.item_code, r.unit, r.units, r.free_units, r.rate_fen, r.charge_fen, r.offer_code, r.free_reason
    FROM cdr_sets z CROSS JOIN LATERAL cdr_set_records(z.body) r;
