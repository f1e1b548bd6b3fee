-- Handling zones and the entry/exit log (issue 18). A zone is replaced whole when its register
-- entry changes (the ledger keeps every version); the log is append-only: its rows are never
-- changed or deleted (triggers), so each badge event stays evidence beside its ledger entry.
-- Same tables and guards as PostgreSQL's `0022_zones`.

CREATE TABLE handling_zones (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    site          TEXT NOT NULL,
    networks      TEXT NOT NULL,
    secrecy       INTEGER NOT NULL CHECK (secrecy IN (0, 1)),
    registered_at INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    audit_index   INTEGER NOT NULL
);

CREATE TABLE presence_events (
    id          INTEGER PRIMARY KEY,
    person      TEXT NOT NULL,
    zone        TEXT NOT NULL REFERENCES handling_zones (id),
    kind        TEXT NOT NULL CHECK (kind IN ('enter', 'exit')),
    at          INTEGER NOT NULL,
    source      TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    audit_index INTEGER NOT NULL
);
CREATE INDEX presence_events_person ON presence_events (person, zone, at, id);
CREATE INDEX presence_events_at ON presence_events (at, id);

CREATE TRIGGER presence_events_no_update BEFORE UPDATE ON presence_events
BEGIN SELECT RAISE(ABORT, 'the entry/exit log is append-only'); END;
CREATE TRIGGER presence_events_no_delete BEFORE DELETE ON presence_events
BEGIN SELECT RAISE(ABORT, 'the entry/exit log is append-only'); END;
