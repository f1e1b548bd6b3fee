-- The 情報取扱規程 (issue 16, item 3): each version of the internal rules as written (the file's
-- text and its digest), numbered 1, 2, 3…, and the filing of a version with the ministry
-- (`oversight_filings.rules_version`; NULL for a notification, and for a filing of the rules
-- recorded before the rules were versioned). Append-only like every oversight record. Same
-- tables and guards as PostgreSQL's `0019_internal_rules`.

CREATE TABLE internal_rules (
    version       INTEGER PRIMARY KEY CHECK (version >= 1),
    source        TEXT NOT NULL,
    digest        TEXT NOT NULL,
    effective     TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    audit_index   INTEGER NOT NULL
);

-- Versions have no gap: each is the next number.
CREATE TRIGGER internal_rules_next BEFORE INSERT ON internal_rules
WHEN NEW.version <> (SELECT COALESCE(MAX(version), 0) + 1 FROM internal_rules)
BEGIN SELECT RAISE(ABORT, 'a rules version is the next number'); END;
CREATE TRIGGER internal_rules_no_update BEFORE UPDATE ON internal_rules
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
CREATE TRIGGER internal_rules_no_delete BEFORE DELETE ON internal_rules
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;

ALTER TABLE oversight_filings ADD COLUMN rules_version INTEGER REFERENCES internal_rules (version);

CREATE TRIGGER oversight_filings_rules_version BEFORE INSERT ON oversight_filings
WHEN NEW.rules_version IS NOT NULL
    AND (NEW.kind <> 'rules' OR NOT EXISTS (SELECT 1 FROM internal_rules WHERE version = NEW.rules_version))
BEGIN SELECT RAISE(ABORT, 'a filing of the rules names a known version, and only it names one'); END;
