-- What routing keeps on a case: how often the customer asked for a person, a self-service
-- waiting window, why the case is stuck, and which flow answered last.
ALTER TABLE cases ADD COLUMN human_requests BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN waiting_until BIGINT;
ALTER TABLE cases ADD COLUMN stuck_reason TEXT;
ALTER TABLE cases ADD COLUMN flow TEXT;
