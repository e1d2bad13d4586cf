-- casebot's native schema: PostgreSQL's own types (timestamptz, boolean, text[]) replace the epoch
-- milliseconds and integers of earlier releases; every case carries a version (changes are
-- compare-and-set on it); the audit log is kept as one hash chain per case (and per staff
-- member, and one for casebot) tied together by sealed checkpoints; and where a case shows on
-- Discord is kept apart from the case itself.

CREATE FUNCTION pg_temp.ms(bigint) RETURNS timestamptz
    AS $$ SELECT TIMESTAMPTZ 'epoch' + $1 * INTERVAL '1 millisecond' $$ LANGUAGE sql IMMUTABLE;

-- Customers.
ALTER TABLE customers ALTER COLUMN blocked DROP DEFAULT;
ALTER TABLE customers
    ALTER COLUMN blocked TYPE boolean USING blocked <> 0,
    ALTER COLUMN created_at TYPE timestamptz USING pg_temp.ms(created_at);
ALTER TABLE customers ALTER COLUMN blocked SET DEFAULT false;

-- Cases.
DROP INDEX cases_by_thread;
ALTER TABLE cases ALTER COLUMN dm_closed DROP DEFAULT, ALTER COLUMN frustrated DROP DEFAULT;
ALTER TABLE cases
    ALTER COLUMN created_at TYPE timestamptz USING pg_temp.ms(created_at),
    ALTER COLUMN updated_at TYPE timestamptz USING pg_temp.ms(updated_at),
    ALTER COLUMN escalated_at TYPE timestamptz USING pg_temp.ms(escalated_at),
    ALTER COLUMN claimed_at TYPE timestamptz USING pg_temp.ms(claimed_at),
    ALTER COLUMN resolved_at TYPE timestamptz USING pg_temp.ms(resolved_at),
    ALTER COLUMN closed_at TYPE timestamptz USING pg_temp.ms(closed_at),
    ALTER COLUMN waiting_until TYPE timestamptz USING pg_temp.ms(waiting_until),
    ALTER COLUMN first_response_at TYPE timestamptz USING pg_temp.ms(first_response_at),
    ALTER COLUMN first_response_breached_at TYPE timestamptz
        USING pg_temp.ms(first_response_breached_at),
    ALTER COLUMN resolution_breached_at TYPE timestamptz USING pg_temp.ms(resolution_breached_at),
    ALTER COLUMN frustrated TYPE boolean USING frustrated <> 0,
    ALTER COLUMN dm_closed TYPE boolean USING dm_closed <> 0,
    ADD COLUMN version BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN customer_messages BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN waiting_on_customer_since timestamptz,
    ADD COLUMN reminded_at timestamptz,
    ADD COLUMN staff_answered_at timestamptz,
    ADD COLUMN merged_into BIGINT REFERENCES cases (id),
    ADD COLUMN last_mention_at timestamptz;
ALTER TABLE cases ALTER COLUMN frustrated SET DEFAULT false;
UPDATE cases SET
    customer_messages = (SELECT COUNT(*) FROM messages m
        WHERE m.case_id = cases.id AND m.author_kind = 'customer'),
    last_mention_at = (SELECT pg_temp.ms(MAX(m.received_at)) FROM messages m
        WHERE m.case_id = cases.id AND m.author_kind = 'customer' AND m.channel_kind = 'public');

-- Where a case shows on Discord: its card, its private thread, who was added to the thread, and
-- whether the customer's DMs are closed. The adapter records these after posting; they are
-- projections of the case and are posted again when deleted.
CREATE TABLE case_projections (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    card_message_id TEXT,
    thread_id TEXT,
    dm_closed BOOLEAN NOT NULL DEFAULT false,
    thread_members TEXT[] NOT NULL DEFAULT '{}'
);
INSERT INTO case_projections (case_id, card_message_id, thread_id, dm_closed)
    SELECT id, card_message_id, thread_id, dm_closed FROM cases
    WHERE card_message_id IS NOT NULL OR thread_id IS NOT NULL OR dm_closed;
CREATE INDEX case_projections_by_thread ON case_projections (thread_id);
CREATE INDEX case_projections_by_card ON case_projections (card_message_id);
ALTER TABLE cases DROP COLUMN card_message_id, DROP COLUMN thread_id, DROP COLUMN dm_closed;

-- Messages: which staff member wrote one, and edits and deletions by their authors. Every message
-- is now routed in the transaction that stores it, so nothing marks "routed" any more.
ALTER TABLE messages
    ALTER COLUMN sent_at TYPE timestamptz USING pg_temp.ms(sent_at),
    ALTER COLUMN received_at TYPE timestamptz USING pg_temp.ms(received_at),
    ADD COLUMN author_id TEXT,
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN deleted_at timestamptz,
    DROP COLUMN routed_at;

-- Staff, notes, callbacks and the outbox.
ALTER TABLE staff_members ALTER COLUMN added_at TYPE timestamptz USING pg_temp.ms(added_at);
ALTER TABLE case_notes ALTER COLUMN created_at TYPE timestamptz USING pg_temp.ms(created_at);
ALTER TABLE callbacks
    ALTER COLUMN requested_at TYPE timestamptz USING pg_temp.ms(requested_at),
    ALTER COLUMN due_at TYPE timestamptz USING pg_temp.ms(due_at),
    ALTER COLUMN breached_at TYPE timestamptz USING pg_temp.ms(breached_at),
    ALTER COLUMN done_at TYPE timestamptz USING pg_temp.ms(done_at);
ALTER TABLE outbox
    ALTER COLUMN next_attempt_at TYPE timestamptz USING pg_temp.ms(next_attempt_at),
    ALTER COLUMN created_at TYPE timestamptz USING pg_temp.ms(created_at),
    ALTER COLUMN sent_at TYPE timestamptz USING pg_temp.ms(sent_at);

-- The built-in order system.
ALTER TABLE orders
    ALTER COLUMN last_scan_at TYPE timestamptz USING pg_temp.ms(last_scan_at),
    ALTER COLUMN promised_by TYPE timestamptz USING pg_temp.ms(promised_by),
    ALTER COLUMN estimated_by TYPE timestamptz USING pg_temp.ms(estimated_by),
    ALTER COLUMN delivered_at TYPE timestamptz USING pg_temp.ms(delivered_at),
    ALTER COLUMN refunded_at TYPE timestamptz USING pg_temp.ms(refunded_at);
ALTER TABLE subscriptions
    ALTER COLUMN cancelled_at TYPE timestamptz USING pg_temp.ms(cancelled_at);
ALTER TABLE charges
    ALTER COLUMN charged_at TYPE timestamptz USING pg_temp.ms(charged_at),
    ALTER COLUMN refunded_at TYPE timestamptz USING pg_temp.ms(refunded_at);
ALTER TABLE order_actions ALTER COLUMN at TYPE timestamptz USING pg_temp.ms(at);

-- The audit log. The single chain of earlier releases is kept aside until casebot has verified
-- it and re-sealed its events onto the new chains (see the store's upgrade step).
ALTER INDEX audit_events_by_case RENAME TO legacy_audit_events_by_case;
ALTER TABLE audit_events RENAME TO legacy_audit_events;
ALTER TABLE audit_head RENAME TO legacy_audit_head;

CREATE TABLE audit_events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    -- The time exactly as hashed (milliseconds since the epoch): the log's own record of it.
    at_ms BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    case_id BIGINT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (chain, seq)
);

-- The head of each chain; appending locks only the heads of the chains it touches, so writers on
-- different cases never wait for each other, in one process or many.
CREATE TABLE audit_chains (
    chain TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    -- How far the latest checkpoint sealed this chain.
    sealed_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_chains_unsealed ON audit_chains (chain) WHERE seq > sealed_seq;

-- Checkpoints: the heads of the chains changed since the checkpoint before, hashed together and
-- linked to it.
CREATE TABLE audit_checkpoints (
    number BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE TABLE audit_checkpoint_heads (
    number BIGINT NOT NULL REFERENCES audit_checkpoints (number),
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (number, chain)
);
