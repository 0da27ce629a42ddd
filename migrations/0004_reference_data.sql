-- Reference configuration every installation starts with; carriers edit it as data.

INSERT INTO departments (department_id, parent_id, name, kind) VALUES ('HQ', NULL, '总公司', 'company');

-- R-ACC-1 default consumption order (lowest first). R-X-6: gift/allocation books never pay earlier cycles.
INSERT INTO book_types (code, name_zh, name_en, priority, pays_earlier_cycles) VALUES
  ('discount',        '优惠',       'discount / grant',        1,  false),
  ('restricted_fund', '专款预存',   'restricted prepaid fund', 2,  true),
  ('ota_topup',       '空中充值预存', 'over-the-air top-up',   3,  true),
  ('bank_collection', '银行托收',   'bank collection',         4,  true),
  ('scratch_card',    '刮刮通',     'scratch card',            5,  true),
  ('recharge_card',   '手机充值卡', 'recharge card',           6,  true),
  ('prepaid',         '预存',       'prepaid',                 7,  true),
  ('cash',            '现金',       'cash',                    8,  true),
  ('prestore_gift',   '预存优惠',   'prestore gift',           9,  false),
  ('bank_deduction',  '银行代扣',   'bank deduction',          10, true);

-- SPEC §4.1 bill items; R-X-5 item priority within a cycle.
INSERT INTO bill_items (code, name_zh, name_en, priority) VALUES
  ('RENT_PLAN',   '套餐月租',     'plan monthly rent',          10),
  ('RENT_BB',     '宽带月租',     'broadband monthly rent',     20),
  ('ADDON_FEE',   '加装包功能费', 'add-on pack fee',            30),
  ('RENT_BB_ADJ', '宽带调整月租', 'broadband rent adjustment',  40),
  ('FUNC_FEE',    '功能费',       'feature fee',                50),
  ('VOICE_LOCAL', '本地通话',     'local calls',                60),
  ('VOICE_LD',    '长途',         'long-distance calls',        70),
  ('VOICE_ROAM',  '漫游',         'roaming calls',              80),
  ('SMS',         '短信',         'SMS',                        90),
  ('DATA',        '流量',         'data',                       100),
  ('VAS',         '增值业务',     'value-added services',       110),
  ('ONE_OFF',     '一次性费用',   'one-off fees',               120),
  ('LATE_FEE',    '滞纳金',       'late fee',                   130);

INSERT INTO roles (role_code, name_zh, name_en, permissions) VALUES
  ('admin', '系统管理员', 'administrator', '{*}'),
  ('front_desk', '营业员', 'front-desk operator',
    '{customer.read,customer.create,customer.pii,account.read,account.create,subscriber.create,payment.create,payment.reverse,relation.read}'),
  ('accounting', '帐务室', 'accounting room',
    '{customer.read,account.read,bill.manual,payment.create,payment.reverse,payment.reverse_any,grant.create,relation.read,audit.read,conservation.read}'),
  ('key_account', '大客户室', 'key-account room',
    '{customer.read,customer.create,customer.pii,account.read,account.create,relation.read,relation.manage}'),
  ('auditor', '稽核', 'auditor', '{customer.read,account.read,relation.read,audit.read,conservation.read}');
