-- The subscriber index of the audit ledger is part of the ledger (issue 13): it was the one
-- ledger table without append-only guards, so deleting a subscriber's rows emptied
-- `tokutei audit query --subscriber` for them. Guarded like the other ledger tables, and
-- indexed by entry so `tokutei audit verify` can compare each entry's rows with the entry
-- (which it does even when these guards are dropped). Same name as PostgreSQL's
-- `0011_ledger_subjects_guard`.
CREATE TRIGGER ledger_subjects_no_update BEFORE UPDATE ON ledger_subjects
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER ledger_subjects_no_delete BEFORE DELETE ON ledger_subjects
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE INDEX ledger_subjects_entry ON ledger_subjects (idx);
