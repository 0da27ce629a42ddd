-- Credit control (信控, SPEC §6, R-CC-1..4, R-X-1..4) and notification templates (R-INT-3).

-- The bill run adds the due date of a published bill; credit control reads it (R-CC-4: a monthly
-- account's line counts as arrears after its due date). IF NOT EXISTS: the bill-run migration owns it.
ALTER TABLE bills ADD COLUMN IF NOT EXISTS due_at timestamptz;

-- Where each subscriber stands in credit control: reminded, exempt, specially reopened, stopped
-- one-way / two-way, or stopped / about to be stopped because a linked member is (R-CC-4, R-X-3).
-- The stop itself is the subscriber's stop reasons (R-X-1); this row says since when and why.
CREATE TABLE credit_states (
  subscriber_id   bigint PRIMARY KEY REFERENCES subscribers (subscriber_id),
  account_id      bigint NOT NULL REFERENCES accounts (account_id),
  state           text NOT NULL CHECK (state IN ('ok', 'reminded', 'exempt', 'reopened', 'stopped_one_way', 'stopped_two_way', 'linked_pending', 'linked_stopped')),
  since           timestamptz NOT NULL,
  -- the rule that put it here and the figures it saw (balance, arrears, threshold)
  rule            text NOT NULL,
  balance_fen     bigint,
  arrears_fen     bigint,
  reminded_at     timestamptz,
  stopped_at      timestamptz,
  -- R-X-2: VIP exemption and special credit reopen (信用特殊开机) end at these instants
  exempt_until    timestamptz,
  reopen_until    timestamptz,
  reopened_by     bigint REFERENCES operators (operator_id),
  -- R-CC-4 linkage: the member whose arrears stop this one follows, and when it will stop (next_cycle_if_funded)
  linked_to       bigint REFERENCES subscribers (subscriber_id),
  linked_stop_at  timestamptz,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX credit_states_state_idx ON credit_states (state, since);
CREATE INDEX credit_states_account_idx ON credit_states (account_id);
CREATE INDEX credit_states_linked_idx ON credit_states (linked_to) WHERE linked_to IS NOT NULL;

-- R-X-2: the VIP levels exempt from arrears stops until the 1st of next month (data a carrier edits).
CREATE TABLE credit_vip_exemptions (
  vip_level text PRIMARY KEY
);
INSERT INTO credit_vip_exemptions (vip_level) VALUES ('gold'), ('diamond');

-- R-INT-3 / R-CC-3: SMS texts with {placeholders}, Chinese first.
CREATE TABLE notification_templates (
  template_code text PRIMARY KEY CHECK (template_code ~ '^[A-Z][A-Z0-9_]{1,40}$'),
  channel       text NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms')),
  text_zh       text NOT NULL,
  description   text NOT NULL
);
INSERT INTO notification_templates (template_code, text_zh, description) VALUES
  ('CREDIT_REMINDER', '尊敬的客户，您的号码{号码}实时结余为{结余}元，已低于{阈值}元，为避免停机请及时缴费。详询10010。', '余额不足提醒 (R-CC-3)'),
  ('CREDIT_STOP_ONE_WAY', '尊敬的客户，您的号码{号码}已欠费{欠费}元，现已停机（单向），请尽快缴费恢复通话。详询10010。', '欠费单停通知 (R-CC-1, R-X-2)'),
  ('CREDIT_STOP_TWO_WAY', '尊敬的客户，您的号码{号码}欠费{欠费}元未缴，现已双向停机，缴费后即可恢复。详询10010。', '欠费双停通知 (R-X-2)'),
  ('CREDIT_RESUME', '尊敬的客户，您的号码{号码}已缴费，服务已恢复。感谢您的使用！', '缴费开机通知 (R-CC-2)'),
  ('CREDIT_LINKED_STOP', '尊敬的客户，因关联号码{关联号码}欠费停机，您的{号码}已随之停机，缴清欠费后立即恢复。详询10010。', '关联停机通知 (R-CC-4, R-E9-4)'),
  ('BUNDLE_MOBILE_ARREARS', '您的手机已经欠费，若未及时缴费，您的宽带将于{月}月{日}日停机，为方便您的使用，请尽快缴纳手机欠费！详询10010。', '手机欠费宽带停机预告 (R-BND-13)'),
  ('CREDIT_REOPEN', '尊敬的客户，您的号码{号码}已办理信用特殊开机，有效期至{截止}，请在此前缴清欠费。', '信用特殊开机 (R-X-2)');

-- R-CC-1 / R-X-2 business parameters (demo values; amounts in fen, times in minutes)
INSERT INTO business_parameters (key, value, description) VALUES
  ('credit_reminder_threshold_fen', 1000, '实时结余低于此额发送余额提醒 (R-CC-1, R-CC-3)'),
  ('credit_two_way_after_minutes',  1440, '欠费单停后转双停的时长 24 小时 (R-X-2)'),
  ('credit_reopen_max_minutes',     10080, '信用特殊开机最长时长 7 天 (R-X-2)')
ON CONFLICT (key) DO NOTHING;

INSERT INTO roles (role_code, name_zh, name_en, permissions) VALUES
  ('credit_controller', '信控专员', 'credit controller', '{credit.read,credit.reopen,credit.run,account.read,customer.read}')
ON CONFLICT (role_code) DO NOTHING;
UPDATE roles SET permissions = permissions || '{credit.read}'::text[] WHERE role_code IN ('front_desk', 'accounting', 'key_account', 'auditor');
UPDATE roles SET permissions = permissions || '{credit.reopen}'::text[] WHERE role_code IN ('key_account', 'hall_manager');

-- credit control looks up the subscribers an account pays by relation (creditRepo.paidBy)
CREATE INDEX payment_relations_payer_idx ON payment_relations (payer_account_id) WHERE revoked_at IS NULL;
