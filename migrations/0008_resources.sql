-- Resources (SPEC §10): number levels (R-X-10), the number pool, SIM cards and gift handsets.
-- Warehouses, transfers and agent picks (R-RES-1..4) come later: the SIM columns they need
-- (warehouse, department, picking channel) are here already and nullable.

-- R-X-10: a number's level is derived from patterns kept as data; the lowest priority that matches
-- wins. Pattern kinds (rules.ts): tail_shape {shape: "AABB"}, tail_run {length, step: 1|-1},
-- suffix {values: ["888"]}, regex {pattern}, any {}.
CREATE TABLE number_levels (
  code              text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
  name_zh           text NOT NULL,
  name_en           text NOT NULL,
  patterns          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(patterns) = 'array'),
  priority          int NOT NULL UNIQUE,
  price_fen         bigint NOT NULL DEFAULT 0 CHECK (price_fen >= 0),
  requires_approval boolean NOT NULL DEFAULT false,
  requires_campaign boolean NOT NULL DEFAULT false,
  agent_allowed     boolean NOT NULL DEFAULT true
);

-- demo levels: prices are demo configuration; every 靓号 level is closed to agent channels (R-X-10)
INSERT INTO number_levels (code, name_zh, name_en, patterns, priority, price_fen, requires_approval, agent_allowed) VALUES
  ('luxury_a', '靓号A级', 'premium A',
    '[{"kind":"tail_shape","shape":"AAAA"},{"kind":"tail_run","length":5,"step":1},{"kind":"tail_run","length":5,"step":-1},{"kind":"suffix","values":["888","666","999"]}]',
    10, 200000, true, false),
  ('luxury_b', '靓号B级', 'premium B',
    '[{"kind":"tail_shape","shape":"AAA"},{"kind":"tail_run","length":4,"step":1},{"kind":"tail_run","length":4,"step":-1},{"kind":"tail_shape","shape":"AABB"},{"kind":"tail_shape","shape":"ABAB"}]',
    20, 50000, true, false),
  ('luxury_c', '靓号C级', 'premium C',
    '[{"kind":"suffix","values":["88","66","99","168","518"]},{"kind":"tail_run","length":3,"step":1}]',
    30, 10000, false, false),
  ('ordinary', '普通号码', 'ordinary', '[{"kind":"any"}]', 1000, 0, false, true);

-- R-X-10: how long holds last, and the cooling of a cancelled number (demo configuration).
CREATE TABLE number_policy (
  id                      int PRIMARY KEY CHECK (id = 1),
  online_hold_hours       int NOT NULL CHECK (online_hold_hours > 0),
  card_writing_hold_hours int NOT NULL CHECK (card_writing_hold_hours > 0),
  order_hold_hours        int NOT NULL CHECK (order_hold_hours > 0),
  -- frozen after cancellation → recycled once this has passed
  cooling_days            int NOT NULL CHECK (cooling_days >= 0),
  -- recycled → free (back on sale) once this has passed
  recycled_hold_hours     int NOT NULL CHECK (recycled_hold_hours >= 0)
);
INSERT INTO number_policy VALUES (1, 72, 12, 24, 90, 0);

-- The number pool: free → reserved → in_use → frozen → recycled → free.
CREATE TABLE numbers (
  service_number       text PRIMARY KEY CHECK (service_number ~ '^[0-9]{5,20}$'),
  number_class         text NOT NULL CHECK (number_class IN ('mobile', 'fixed')),
  level_code           text NOT NULL REFERENCES number_levels (code),
  state                text NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'reserved', 'in_use', 'frozen', 'recycled')),
  -- the pool owner (a branch or hall)
  department_id        text REFERENCES departments (department_id),
  -- a hold: who (an order, a customer, or just the operator) and until when
  reservation_kind     text CHECK (reservation_kind IN ('online', 'card_writing', 'order')),
  reserved_order_id    bigint,
  reserved_customer_id bigint REFERENCES customers (customer_id),
  reserved_operator_id bigint REFERENCES operators (operator_id),
  reserved_at          timestamptz,
  reserved_until       timestamptz,
  subscriber_id        bigint REFERENCES subscribers (subscriber_id),
  state_changed_at     timestamptz NOT NULL,
  cooling_until        timestamptz,
  created_at           timestamptz NOT NULL,
  CHECK ((state = 'reserved') = (reservation_kind IS NOT NULL AND reserved_until IS NOT NULL)),
  CHECK (state <> 'in_use' OR subscriber_id IS NOT NULL),
  CHECK (state <> 'frozen' OR cooling_until IS NOT NULL)
);
CREATE INDEX numbers_state_level_idx ON numbers (state, level_code, service_number);
CREATE INDEX numbers_department_idx ON numbers (department_id, state);
-- prefix and suffix searches (选号: "ends with 88")
CREATE INDEX numbers_prefix_idx ON numbers (service_number text_pattern_ops);
CREATE INDEX numbers_suffix_idx ON numbers (reverse(service_number) text_pattern_ops);
-- the release job's two sweeps
CREATE INDEX numbers_reserved_until_idx ON numbers (reserved_until) WHERE state = 'reserved';
CREATE INDEX numbers_cooling_idx ON numbers (cooling_until) WHERE state = 'frozen';
CREATE INDEX numbers_reserved_order_idx ON numbers (reserved_order_id) WHERE reserved_order_id IS NOT NULL;
CREATE UNIQUE INDEX numbers_subscriber_idx ON numbers (subscriber_id) WHERE state = 'in_use';

-- SIM cards: blank (白卡, 128K and 128K micro) get their IMSI when written; finished cards (成卡)
-- come with it, and may come paired with a number.
CREATE TABLE sim_cards (
  iccid                   text PRIMARY KEY CHECK (iccid ~ '^89[0-9]{17,18}$'),
  imsi                    text UNIQUE CHECK (imsi ~ '^[0-9]{15}$'),
  card_type               text NOT NULL CHECK (card_type IN ('blank_128k', 'blank_128k_micro', 'finished')),
  state                   text NOT NULL DEFAULT 'in_stock'
                            CHECK (state IN ('in_stock', 'reserved', 'picked', 'written', 'activated', 'returned', 'retired')),
  warehouse_code          text,
  department_id           text REFERENCES departments (department_id),
  -- R-RES-2/3: the social channel that picked the card
  picked_by_department_id text REFERENCES departments (department_id),
  picked_at               timestamptz,
  reserved_order_id       bigint,
  service_number          text,
  subscriber_id           bigint REFERENCES subscribers (subscriber_id),
  state_changed_at        timestamptz NOT NULL,
  activated_at            timestamptz,
  created_at              timestamptz NOT NULL,
  CHECK (card_type <> 'finished' OR imsi IS NOT NULL),
  CHECK (state NOT IN ('written', 'activated') OR (imsi IS NOT NULL AND service_number IS NOT NULL)),
  CHECK (state <> 'activated' OR subscriber_id IS NOT NULL)
);
CREATE INDEX sim_cards_state_type_idx ON sim_cards (state, card_type, iccid);
CREATE INDEX sim_cards_warehouse_idx ON sim_cards (warehouse_code, state);
CREATE INDEX sim_cards_number_idx ON sim_cards (service_number) WHERE service_number IS NOT NULL;
CREATE UNIQUE INDEX sim_cards_active_subscriber_idx ON sim_cards (subscriber_id) WHERE state = 'activated';

-- Gift handsets (赠机), by IMEI, linked to the order that gave them.
CREATE TABLE handsets (
  imei          text PRIMARY KEY CHECK (imei ~ '^[0-9]{15}$'),
  model         text NOT NULL,
  price_fen     bigint NOT NULL CHECK (price_fen >= 0),
  order_id      bigint,
  subscriber_id bigint REFERENCES subscribers (subscriber_id),
  customer_id   bigint REFERENCES customers (customer_id),
  campaign_code text,
  recorded_at   timestamptz NOT NULL
);
CREATE INDEX handsets_order_idx ON handsets (order_id);
CREATE INDEX handsets_subscriber_idx ON handsets (subscriber_id);

UPDATE roles SET permissions = permissions || '{resource.read,resource.reserve}'::text[] WHERE role_code = 'front_desk';
UPDATE roles SET permissions = permissions || '{resource.read}'::text[] WHERE role_code IN ('key_account', 'auditor');
