-- The outbox: every message casebot has to send (to a customer, to a public channel, to staff),
-- written in the same transaction as the change that causes it. A dispatcher delivers it, with
-- the entry's id as the platform nonce, so a crash or a retry can neither lose nor double a send.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT REFERENCES cases (id),
    kind TEXT NOT NULL,
    destination TEXT NOT NULL CHECK (destination IN ('customer_dm', 'channel', 'staff_queue', 'case_thread')),
    target TEXT,
    reply_to TEXT,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    platform_message_id TEXT,
    last_error TEXT
);
-- Only pending entries are ever looked for by time; delivered ones stay as the record of what was sent.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_by_case ON outbox (case_id, id);

-- Internal notes: staff-only, never relayed to the customer.
CREATE TABLE case_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_notes_by_case ON case_notes (case_id, id);

-- Callback requests: a validated E.164 number and its own deadline. Only the claimer reads the
-- number; everything else shows it masked.
CREATE TABLE callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    phone TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    breached_at BIGINT,
    done_at BIGINT
);
CREATE INDEX callbacks_by_case ON callbacks (case_id, id);
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE done_at IS NULL AND breached_at IS NULL;
