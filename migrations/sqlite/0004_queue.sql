-- The human queue: escalated cases ordered by priority, then by how long they have waited.
-- priority_rank mirrors priority (urgent 3 .. low 0) so the order is a plain index scan.
ALTER TABLE cases ADD COLUMN priority_rank BIGINT NOT NULL DEFAULT 1;
UPDATE cases SET priority_rank = CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END;
CREATE INDEX cases_queue ON cases (state, priority_rank DESC, escalated_at, id);
