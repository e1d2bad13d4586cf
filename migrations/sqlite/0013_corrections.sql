-- Staff corrections of routing: "wrong intent" (from what routing read to what the customer
-- needed) and "didn't need a person", who made them and when. They label the case's traffic
-- for `casebot train --export-corrections`.
CREATE TABLE case_corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('intent', 'no_person')),
    from_intent TEXT,
    to_intent TEXT,
    staff_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK ((kind = 'intent') = (to_intent IS NOT NULL))
);
CREATE INDEX case_corrections_by_case ON case_corrections (case_id, id);
CREATE INDEX case_corrections_by_kind ON case_corrections (kind);
-- Once staff set a case's intent, routing no longer overwrites it with each new message.
ALTER TABLE cases ADD COLUMN intent_corrected BIGINT NOT NULL DEFAULT 0;
