-- casebot's native schema: every case carries a version (changes are compare-and-set on it), the
-- audit log is kept as one hash chain per case (and per staff member, and one for casebot)
-- tied together by sealed checkpoints, and where a case shows on Discord is kept apart from the
-- case itself. SQLite keeps times as UTC epoch milliseconds and booleans as 0/1.

-- Cases.
ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN customer_messages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN waiting_on_customer_since INTEGER;
ALTER TABLE cases ADD COLUMN reminded_at INTEGER;
ALTER TABLE cases ADD COLUMN staff_answered_at INTEGER;
ALTER TABLE cases ADD COLUMN merged_into INTEGER REFERENCES cases (id);
ALTER TABLE cases ADD COLUMN last_mention_at INTEGER;
UPDATE cases SET
    customer_messages = (SELECT COUNT(*) FROM messages m
        WHERE m.case_id = cases.id AND m.author_kind = 'customer'),
    last_mention_at = (SELECT MAX(m.received_at) FROM messages m
        WHERE m.case_id = cases.id AND m.author_kind = 'customer' AND m.channel_kind = 'public');

-- Where a case shows on Discord: its card, its private thread, who was added to the thread, and
-- whether the customer's DMs are closed. The adapter records these after posting; they are
-- projections of the case and are posted again when deleted.
CREATE TABLE case_projections (
    case_id INTEGER PRIMARY KEY REFERENCES cases (id),
    card_message_id TEXT,
    thread_id TEXT,
    dm_closed INTEGER NOT NULL DEFAULT 0,
    thread_members TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO case_projections (case_id, card_message_id, thread_id, dm_closed)
    SELECT id, card_message_id, thread_id, dm_closed FROM cases
    WHERE card_message_id IS NOT NULL OR thread_id IS NOT NULL OR dm_closed <> 0;
CREATE INDEX case_projections_by_thread ON case_projections (thread_id);
CREATE INDEX case_projections_by_card ON case_projections (card_message_id);
DROP INDEX cases_by_thread;
ALTER TABLE cases DROP COLUMN card_message_id;
ALTER TABLE cases DROP COLUMN thread_id;
ALTER TABLE cases DROP COLUMN dm_closed;

-- Messages: which staff member wrote one, and edits and deletions by their authors. Every message
-- is now routed in the transaction that stores it, so nothing marks "routed" any more.
ALTER TABLE messages ADD COLUMN author_id TEXT;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
ALTER TABLE messages DROP COLUMN routed_at;

-- The audit log. The single chain of earlier releases is kept aside until casebot has verified
-- it and re-sealed its events onto the new chains (see the store's upgrade step).
DROP INDEX audit_events_by_case;
ALTER TABLE audit_events RENAME TO legacy_audit_events;
ALTER TABLE audit_head RENAME TO legacy_audit_head;

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chain TEXT NOT NULL,
    seq INTEGER NOT NULL,
    -- The time exactly as hashed.
    at_ms INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    case_id INTEGER,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (chain, seq)
);

-- The head of each chain; appending locks only the heads of the chains it touches.
CREATE TABLE audit_chains (
    chain TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    -- How far the latest checkpoint sealed this chain.
    sealed_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_chains_unsealed ON audit_chains (chain) WHERE seq > sealed_seq;

-- Checkpoints: the heads of the chains changed since the checkpoint before, hashed together and
-- linked to it.
CREATE TABLE audit_checkpoints (
    number INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE TABLE audit_checkpoint_heads (
    number INTEGER NOT NULL REFERENCES audit_checkpoints (number),
    chain TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (number, chain)
);
