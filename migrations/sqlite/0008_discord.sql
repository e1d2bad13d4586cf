-- Where a case shows on Discord: its card in the staff queue channel and its private thread.
-- These are projections of the case: when either is deleted, casebot posts them again.
ALTER TABLE cases ADD COLUMN card_message_id TEXT;
ALTER TABLE cases ADD COLUMN thread_id TEXT;
-- The customer's DMs were closed when casebot last tried to write (Discord error 50007).
ALTER TABLE cases ADD COLUMN dm_closed BIGINT NOT NULL DEFAULT 0;
-- The customer's satisfaction rating (1-5) after resolution.
ALTER TABLE cases ADD COLUMN rating BIGINT;
CREATE INDEX cases_by_thread ON cases (thread_id);
