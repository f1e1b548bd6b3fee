-- The violation reporting line (issue 16, item 4): reports of a violation, or a sign of one,
-- of the security measures — filed by staff or raised by a detector over the audit ledger —
-- and the events that acknowledge and resolve them. Append-only: a report row plus event
-- rows, nothing edited or deleted. A detector's finding key is unique, so the same finding
-- is never filed twice. Timestamps are microseconds.
-- Same tables and guards as PostgreSQL's `0015_violations`.

CREATE TABLE violation_reports (
    id           TEXT PRIMARY KEY,
    detector     TEXT,
    principal    TEXT NOT NULL,
    measure      INTEGER NOT NULL CHECK (measure BETWEEN 1 AND 7),
    text         TEXT NOT NULL,
    dedupe_key   TEXT UNIQUE,
    reported_by  TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    ack_due      INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE violation_events (
    number       INTEGER PRIMARY KEY,
    report       TEXT NOT NULL REFERENCES violation_reports (id),
    kind         TEXT NOT NULL CHECK (kind IN ('acknowledged', 'resolved_none', 'resolved_violation')),
    text         TEXT,
    incident     TEXT,
    by_principal TEXT NOT NULL,
    at           INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
);
CREATE INDEX violation_events_report ON violation_events (report, number);

CREATE TRIGGER violation_reports_no_update BEFORE UPDATE ON violation_reports
BEGIN SELECT RAISE(ABORT, 'violation records are append-only'); END;
CREATE TRIGGER violation_reports_no_delete BEFORE DELETE ON violation_reports
BEGIN SELECT RAISE(ABORT, 'violation records are append-only'); END;
CREATE TRIGGER violation_events_no_update BEFORE UPDATE ON violation_events
BEGIN SELECT RAISE(ABORT, 'violation records are append-only'); END;
CREATE TRIGGER violation_events_no_delete BEFORE DELETE ON violation_events
BEGIN SELECT RAISE(ABORT, 'violation records are append-only'); END;
