-- SLA clocks: when a person first took the case, and when each deadline was breached (each is
-- recorded once, which is what makes a breach notify staff once).
ALTER TABLE cases ADD COLUMN first_response_at BIGINT;
ALTER TABLE cases ADD COLUMN first_response_breached_at BIGINT;
ALTER TABLE cases ADD COLUMN resolution_breached_at BIGINT;
