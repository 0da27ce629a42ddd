-- R-ORD-5: the subjects a passed check found the order would hold; the submission takes their in-transit
-- holds in the statement that locks the order (the subjects its facts give then are taken as well).
ALTER TABLE orders ADD COLUMN hold_subjects text[];
