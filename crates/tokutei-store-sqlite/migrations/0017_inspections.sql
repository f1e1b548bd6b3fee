-- Self-inspection reports (issue 16, item 6): one document per Tokyo month and revision, made
-- from the audit ledger as a signed checkpoint covered it (canonical JSON, its SHA-256 digest
-- — the one the ledger entry that made it carries), and the findings raised from a report
-- with their closure (once). Append-only: nothing edited or deleted. Timestamps are
-- microseconds; dates are Tokyo `YYYY-MM-DD`.
-- Same tables and guards as PostgreSQL's `0017_inspections`.

CREATE TABLE inspections (
    id              TEXT PRIMARY KEY,
    period          TEXT NOT NULL,
    revision        INTEGER NOT NULL CHECK (revision >= 1),
    document        TEXT NOT NULL,
    digest          BLOB NOT NULL,
    checkpoint_size INTEGER NOT NULL,
    made_by         TEXT NOT NULL,
    made_at         INTEGER NOT NULL,
    audit_index     INTEGER NOT NULL,
    UNIQUE (period, revision)
) WITHOUT ROWID;

CREATE TABLE inspection_findings (
    number      INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    inspection  TEXT NOT NULL REFERENCES inspections (id),
    text        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    due         TEXT,
    added_by    TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    audit_index INTEGER NOT NULL
);

CREATE TABLE inspection_finding_closures (
    finding      TEXT PRIMARY KEY REFERENCES inspection_findings (id),
    text         TEXT NOT NULL,
    by_principal TEXT NOT NULL,
    at           INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER inspections_no_update BEFORE UPDATE ON inspections
BEGIN SELECT RAISE(ABORT, 'inspection records are append-only'); END;
CREATE TRIGGER inspections_no_delete BEFORE DELETE ON inspections
BEGIN SELECT RAISE(ABORT, 'inspection records are append-only'); END;
CREATE TRIGGER inspection_findings_no_update BEFORE UPDATE ON inspection_findings
BEGIN SELECT RAISE(ABORT, 'inspection records are append-only'); END;
CREATE TRIGGER inspection_findings_no_delete BEFORE DELETE ON inspection_findings
BEGIN SELECT RAISE(ABORT, 'inspection records are append-only'); END;
CREATE TRIGGER inspection_finding_closures_no_update BEFORE UPDATE ON inspection_finding_closures
BEGIN SELECT RAISE(ABORT, 'inspection records are append-only'); END;
CREATE TRIGGER inspection_finding_closures_no_delete BEFORE DELETE ON inspection_finding_closures
BEGIN SELECT RAISE(ABORT, 'inspection records are append-only'); END;
