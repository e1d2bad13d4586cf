-- The built-in order system: orders, subscriptions and charges imported with `casebot orders
-- import`, for the demo, the tests and shops without an order API of their own.

CREATE TABLE orders (
    number TEXT PRIMARY KEY,
    customer_ref TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('placed', 'shipped', 'in_transit', 'out_for_delivery', 'delivered', 'cancelled')),
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
    carrier TEXT,
    last_scan TEXT,
    last_scan_at BIGINT,
    promised_by BIGINT,
    estimated_by BIGINT,
    delivered_at BIGINT,
    delivery_photo TEXT,
    return_window_days BIGINT NOT NULL DEFAULT 30,
    refunded_at BIGINT,
    shipping_address TEXT
);
CREATE INDEX orders_by_customer ON orders (customer_ref);

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    customer_ref TEXT NOT NULL,
    name TEXT NOT NULL,
    cancelled_at BIGINT
);
CREATE INDEX subscriptions_by_customer ON subscriptions (customer_ref);

CREATE TABLE charges (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    charged_at BIGINT NOT NULL,
    refunded_at BIGINT
);
CREATE INDEX charges_by_subscription ON charges (subscription_id);

-- Writes to the order system carry an idempotency key; a key seen before is not applied again.
CREATE TABLE order_actions (
    idempotency_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    at BIGINT NOT NULL
);
