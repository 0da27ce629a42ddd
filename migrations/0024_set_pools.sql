-- R-BIL-1: what a set's records used of each allowance pool (usage × tariff scope) travels with the set
-- (docs/decisions/0004). The rating in TypeScript wrote a usage_allowances row per subscriber, cycle and
-- pool (357,600 rows for the bench's 100,000 subscribers, ≈ 0.7 µs of PostgreSQL a record); those rows
-- were read and written only by the rating. Now a set carries its pools' units and what a pool used
-- before a chunk is usage_allowances (the rating statement's, and every pool counted before this
-- migration) plus the pools of the sets of that subscriber and cycle.
--
-- `pools`: for each pool the set's records used, in code order, one byte (usage index × 4 + scope:
-- rules.ts USAGES; 0-2 rules.ts SCOPES, 3 'any') and the units as an unsigned varint (base units:
-- minutes, messages, KB). NULL when the set's records used no pool (family numbers, VPMN).
ALTER TABLE cdr_sets ADD COLUMN pools bytea;

-- The pools of a set: usage, scope and the base units its records used (3.6 a set in the bench: ROWS 4,
-- not the default 1,000, or a query over a few sets is planned as if it read millions of rows).
CREATE FUNCTION cdr_set_pools(pools bytea)
RETURNS TABLE (usage text, scope text, used_units bigint)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE ROWS 4 AS $$
DECLARE
  p int := 0;
  n int := length(pools);
  code int;
  x record;
BEGIN
  WHILE p < n LOOP
    code := get_byte(pools, p);
    usage := (ARRAY['voice', 'sms', 'data'])[(code >> 2) + 1];
    scope := (ARRAY['local', 'long_distance', 'roaming', 'any'])[(code & 3) + 1];
    x := cdr_set_varint(pools, p + 1);
    used_units := x.v;
    p := x.next;
    RETURN NEXT;
  END LOOP;
END $$;

-- What each pool used in a cycle, from both places (for reports, engineers and tests; the rating reads
-- the chunk's accounts' rows of both itself).
CREATE VIEW usage_pool_use AS
  SELECT account_id, subscriber_id, cycle, usage, scope, sum(used_units)::bigint AS used_units
    FROM (SELECT account_id, subscriber_id, cycle, usage, scope, used_units FROM usage_allowances
          UNION ALL
          SELECT z.account_id, z.subscriber_id, z.cycle, p.usage COLLATE "C", p.scope COLLATE "C", p.used_units
            FROM cdr_sets z CROSS JOIN LATERAL cdr_set_pools(z.pools) p WHERE z.pools IS NOT NULL) x
   GROUP BY account_id, subscriber_id, cycle, usage, scope;

-- usage_charges' partial index of unbilled rows: its readers (credit control's unbilled sum per account)
-- find an account's rows by the primary key's leading column, and the bill run finds a subscriber's by
-- usage_charges_subscriber_idx; keeping it cost a third index entry per new row (434,214 rows at 100,000
-- subscribers: COPY 0.83 s with the primary key alone, 1.8–2.1 s with both secondary indexes).
DROP INDEX usage_charges_unbilled_idx;
