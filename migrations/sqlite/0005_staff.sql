-- Who may act on cases from the command line: support staff and leads. (On Discord the server's
-- staff and lead roles decide; this table is the same directory for the other adapters.)
CREATE TABLE staff_members (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('staff', 'lead')),
    added_at BIGINT NOT NULL
);
