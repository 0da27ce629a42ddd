-- Bundles (捆绑业务, SPEC §8, seed 000): bundle offers with member roles and monthly grant items,
-- bound bundles (a `packages` row whose members point at it, so credit control's linkage R-CC-4
-- applies unchanged), their members, and the monthly grant ledger (R-BND-7..9).

-- A bundle is an offer of its own kind; like a package it names its member roles in `members`.
ALTER TABLE offers DROP CONSTRAINT offers_kind_check;
ALTER TABLE offers ADD CONSTRAINT offers_kind_check CHECK (kind IN ('plan', 'package', 'pack', 'feature', 'bundle'));
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'offers'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%members IS NOT NULL%'
  LOOP
    EXECUTE format('ALTER TABLE offers DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE offers ADD CONSTRAINT offers_members_check CHECK ((kind IN ('package', 'bundle')) = (members IS NOT NULL));

-- The terms of a bundle offer (§8.1–8.3).
CREATE TABLE bundle_offers (
  offer_code             text PRIMARY KEY REFERENCES offers (offer_code) ON DELETE CASCADE,
  -- §8.1 2G / §8.2 3G / §8.3 other (手机固话1+1, 随意打 1+1, 宽带手机一号通)
  generation             text NOT NULL CHECK (generation IN ('2G', '3G', 'other')),
  -- R-BND-4: the members pay from one joint account (2G types)
  requires_joint_account boolean NOT NULL DEFAULT false,
  -- R-BND-2: the broadband account number equals the mobile number
  requires_same_number   boolean NOT NULL DEFAULT true,
  -- R-BND-9: the two member roles set as mutual family numbers each month (NULL: none)
  family_roles           text[] CHECK (family_roles IS NULL OR cardinality(family_roles) = 2),
  -- §8.2: 3G contract plans (合约计划) may join
  allows_contract_plans  boolean NOT NULL DEFAULT false,
  -- R-BND-16: not accepted twice for the same subscriber in one month
  once_per_month         boolean NOT NULL DEFAULT false
);

-- R-BND-7: what one month of the bundle gives: money into a discount book of the member's account
-- valid for that month (restricted to items when set), or a function-fee pack (3G) for that month.
CREATE TABLE bundle_grant_items (
  offer_code       text NOT NULL REFERENCES bundle_offers (offer_code) ON DELETE CASCADE,
  seq              int NOT NULL,
  member_role      text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('money', 'pack')),
  amount_fen       bigint CHECK (amount_fen > 0),
  restricted_items text[],
  pack_offer_code  text REFERENCES offers (offer_code),
  name_zh          text NOT NULL,
  name_en          text NOT NULL,
  PRIMARY KEY (offer_code, seq),
  CHECK ((kind = 'money') = (amount_fen IS NOT NULL)),
  CHECK ((kind = 'pack') = (pack_offer_code IS NOT NULL))
);

-- A bound bundle is a `packages` row (linkage next_cycle_if_funded for §8.1/8.2); it ends on unbind.
ALTER TABLE packages
  ADD COLUMN ended_order_id bigint,
  ADD COLUMN ended_reason   text;
CREATE INDEX packages_offer_active_idx ON packages (offer_code) WHERE ended_at IS NULL;
CREATE INDEX packages_customer_idx ON packages (customer_id);

-- The members of a bundle with their roles (a package's members are its subscriber_offers rows; a
-- bundle adds no tariff, so its members are listed here). subscribers.package_id points at the
-- bundle while bound (R-BND-5: one bundle at a time).
CREATE TABLE bundle_members (
  package_id    bigint NOT NULL REFERENCES packages (package_id),
  subscriber_id bigint NOT NULL REFERENCES subscribers (subscriber_id),
  member_role   text NOT NULL,
  -- the member's paying account when bound (grants go to the receiving member's account of the day)
  account_id    bigint NOT NULL,
  joined_at     timestamptz NOT NULL,
  left_at       timestamptz,
  PRIMARY KEY (package_id, subscriber_id)
);
CREATE INDEX bundle_members_subscriber_idx ON bundle_members (subscriber_id, joined_at);

-- R-BND-7 / R-BND-8: one row per bundle and month — granted, or skipped with the reason (caught up
-- later when the reason was the broadband's arrears). Idempotent by its key.
CREATE TABLE bundle_grants (
  package_id  bigint NOT NULL REFERENCES packages (package_id),
  cycle       text NOT NULL CHECK (cycle ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  -- the account the money went to (the receiving member's paying account)
  account_id  bigint NOT NULL,
  status      text NOT NULL CHECK (status IN ('granted', 'skipped')),
  -- skipped: mobile_not_normal | broadband_arrears | broadband_no_fund | broadband_stopped
  reason      text,
  amount_fen  bigint NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),
  -- the grants (money) and subscriber_offers (packs) made, for the 360 view and audits
  grant_ids   bigint[] NOT NULL DEFAULT '{}',
  pack_ids    bigint[] NOT NULL DEFAULT '{}',
  checked_at  timestamptz NOT NULL,
  granted_at  timestamptz,
  caught_up   boolean NOT NULL DEFAULT false,
  PRIMARY KEY (package_id, cycle),
  CHECK ((status = 'granted') = (granted_at IS NOT NULL))
);
CREATE INDEX bundle_grants_cycle_idx ON bundle_grants (cycle, status);

-- family numbers of a bundle month are found by their source (R-BND-9, idempotent per month)
CREATE INDEX family_numbers_source_idx ON family_numbers (source, source_id);

-- bundle.read: the bundle panel and the grant report; bundle.grant: run or catch up a month's grants by hand
UPDATE roles SET permissions = permissions || '{bundle.read}'::text[] WHERE role_code IN ('front_desk', 'key_account', 'accounting', 'auditor', 'hall_manager');
UPDATE roles SET permissions = permissions || '{bundle.grant}'::text[] WHERE role_code = 'accounting';
