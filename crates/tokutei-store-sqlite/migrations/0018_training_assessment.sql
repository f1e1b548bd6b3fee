-- The annual assessment (issue 16, items 5 and 7; training needs no table of its own: its
-- completions are the staff registry's training records). One assessment per business year
-- (the year is the primary key, so a second is refused whoever writes) and its events:
-- measures assessed, findings, remediation actions, the completion. Append-only; nothing is
-- added to an assessment after its completion, and it is completed once. Timestamps are
-- microseconds. Same tables and guards as PostgreSQL's `0018_training_assessment`.

CREATE TABLE assessments (
    fiscal_year  INTEGER PRIMARY KEY,
    opened_by    TEXT NOT NULL,
    opened_at    INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
);

CREATE TABLE assessment_events (
    number       INTEGER PRIMARY KEY,
    fiscal_year  INTEGER NOT NULL REFERENCES assessments (fiscal_year),
    kind         TEXT NOT NULL CHECK (kind IN ('assessed', 'finding', 'remediation', 'completed')),
    body         TEXT NOT NULL,
    by_principal TEXT NOT NULL,
    at           INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
);
CREATE INDEX assessment_events_year ON assessment_events (fiscal_year, number);
CREATE UNIQUE INDEX assessment_completed_once ON assessment_events (fiscal_year) WHERE kind = 'completed';

CREATE TRIGGER assessment_events_closed BEFORE INSERT ON assessment_events
WHEN EXISTS (SELECT 1 FROM assessment_events WHERE fiscal_year = NEW.fiscal_year AND kind = 'completed')
BEGIN SELECT RAISE(ABORT, 'the assessment is completed'); END;

CREATE TRIGGER assessments_no_update BEFORE UPDATE ON assessments
BEGIN SELECT RAISE(ABORT, 'assessment records are append-only'); END;
CREATE TRIGGER assessments_no_delete BEFORE DELETE ON assessments
BEGIN SELECT RAISE(ABORT, 'assessment records are append-only'); END;
CREATE TRIGGER assessment_events_no_update BEFORE UPDATE ON assessment_events
BEGIN SELECT RAISE(ABORT, 'assessment records are append-only'); END;
CREATE TRIGGER assessment_events_no_delete BEFORE DELETE ON assessment_events
BEGIN SELECT RAISE(ABORT, 'assessment records are append-only'); END;
