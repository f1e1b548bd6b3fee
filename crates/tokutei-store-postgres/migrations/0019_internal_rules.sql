-- The 情報取扱規程 (issue 16, item 3): each version of the internal rules as written (the file's
-- text and its digest), numbered 1, 2, 3…, and the filing of a version with the ministry
-- (`oversight_filings.rules_version`; NULL for a notification, and for a filing of the rules
-- recorded before the rules were versioned). Append-only like every oversight record, never
-- truncated. Same tables and guards as SQLite's `0019_internal_rules`.

CREATE TABLE internal_rules (
    version       BIGINT PRIMARY KEY CHECK (version >= 1),
    source        TEXT NOT NULL,
    digest        TEXT NOT NULL,
    effective     TEXT COLLATE "C" NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    audit_index   BIGINT NOT NULL
);

-- Versions have no gap: each is the next number (the store also locks the table).
CREATE FUNCTION tokutei_internal_rules_next() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version <> (SELECT COALESCE(MAX(version), 0) + 1 FROM internal_rules) THEN
        RAISE EXCEPTION 'a rules version is the next number' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER internal_rules_next BEFORE INSERT ON internal_rules
FOR EACH ROW EXECUTE FUNCTION tokutei_internal_rules_next();
CREATE TRIGGER internal_rules_no_change BEFORE UPDATE OR DELETE ON internal_rules
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('oversight records are append-only');
CREATE TRIGGER internal_rules_no_truncate BEFORE TRUNCATE ON internal_rules
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('oversight records are append-only');

ALTER TABLE oversight_filings ADD COLUMN rules_version BIGINT REFERENCES internal_rules (version);
ALTER TABLE oversight_filings ADD CONSTRAINT oversight_filings_rules_version
    CHECK (rules_version IS NULL OR kind = 'rules');
