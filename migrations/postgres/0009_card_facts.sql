-- What the case card shows besides the case itself: the linked order's value and how the
-- customer sounded in their latest message (as routing read them).
ALTER TABLE cases ADD COLUMN order_value_cents BIGINT;
ALTER TABLE cases ADD COLUMN sentiment DOUBLE PRECISION;
ALTER TABLE cases ADD COLUMN frustrated BIGINT NOT NULL DEFAULT 0;
