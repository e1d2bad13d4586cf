-- When routing finished with a message. A message taken in but not routed (the process stopped
-- in between) is routed when it arrives again, so no customer is left without an answer.
ALTER TABLE messages ADD COLUMN routed_at BIGINT;
UPDATE messages SET routed_at = received_at;
