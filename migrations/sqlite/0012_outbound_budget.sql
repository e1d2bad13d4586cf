-- One budget of outbound requests per bot token, shared by every process that sends with it
-- (Discord's limit counts per token, not per process): a token bucket, refilled by time.
CREATE TABLE outbound_budget (
    name TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_at INTEGER NOT NULL
);
