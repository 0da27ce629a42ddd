-- R-BND-18 宽带手机一号通 (seed 000 §2): a new broadband installation names its measurement room
-- (测量室, the exchange test room that dispatches and tests the line); the installation work order
-- carries it to the installer, beside the install address.
ALTER TABLE work_orders ADD COLUMN measurement_room text CHECK (measurement_room IS NULL OR length(measurement_room) BETWEEN 1 AND 64);
