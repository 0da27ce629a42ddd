-- Every money transaction bumps its account's money_version while holding the row lock. A payment
-- done in one statement compares the version its snapshot saw with the one it locked: equal means
-- nothing committed in between, so its checks (open lines, due books, the idempotency key) hold.
ALTER TABLE accounts ADD COLUMN money_version bigint NOT NULL DEFAULT 0;
