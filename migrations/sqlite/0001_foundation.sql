-- casebot foundation: customers, cases, messages and the hash-chained audit log.
-- Times are UTC milliseconds since the Unix epoch on both backends, so one set of queries serves both.

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    platform_user_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    external_customer_id TEXT,
    blocked INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (platform, platform_user_id)
);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    state TEXT NOT NULL CHECK (state IN ('open', 'escalated', 'claimed', 'resolved', 'closed')),
    intent TEXT,
    priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    origin TEXT NOT NULL CHECK (origin IN ('public_mention', 'dm')),
    order_number TEXT,
    assignee TEXT,
    escalation_reason TEXT,
    resolution_summary TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    escalated_at BIGINT,
    claimed_at BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT
);

-- The rule that matters most: at most one active case per customer, whoever is writing.
CREATE UNIQUE INDEX cases_one_active_per_customer
    ON cases (customer_id) WHERE state IN ('open', 'escalated', 'claimed');
CREATE INDEX cases_by_customer_resolved ON cases (customer_id, resolved_at);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    platform TEXT NOT NULL,
    platform_message_id TEXT NOT NULL,
    channel_kind TEXT NOT NULL CHECK (channel_kind IN ('public', 'dm')),
    channel_id TEXT NOT NULL,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('customer', 'staff', 'bot')),
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    -- Intake is idempotent on the platform's message id: a replay can never store twice.
    UNIQUE (platform, platform_message_id)
);
CREATE INDEX messages_by_case ON messages (case_id, id);

CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    case_id BIGINT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_by_case ON audit_events (case_id, seq);

-- The head of the chain: the last position and hash. Appending locks this one row, which is what
-- keeps the chain linear when several writers commit at once.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
