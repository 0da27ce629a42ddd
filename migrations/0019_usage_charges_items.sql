-- R-BIL-1: usage_charges.item_code is one of the five usage bill items rating produces (rules.ts itemOf,
-- the rating statement's CASE). Its foreign key to bill_items looked up and share-locked a bill_items row
-- for every upserted row — 30–80 ms of each 50,000-record rating chunk (about a third of the upsert);
-- a CHECK of the closed set says the same for the price of a comparison. The five items stay in
-- bill_items (0004), which the bill lines the bill run makes from these totals reference.
ALTER TABLE usage_charges DROP CONSTRAINT usage_charges_item_code_fkey;
ALTER TABLE usage_charges ADD CONSTRAINT usage_charges_item_code_check CHECK (item_code IN ('VOICE_LOCAL', 'VOICE_LD', 'VOICE_ROAM', 'SMS', 'DATA'));
