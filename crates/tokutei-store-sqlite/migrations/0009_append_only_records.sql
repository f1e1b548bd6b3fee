-- Records stay records (issue 13): consent records, value versions (with their APPI 30条
-- receipt provenance), import and purge records are never changed or deleted behind
-- tokutei's back, and each names the audit entry that wrote it, so `tokutei subscribers
-- verify` can check them against the ledger even if these guards are dropped.
-- Same name and meaning as PostgreSQL's `0009_append_only_records`.

-- The audit entry that wrote each record (NULL for rows written before this migration).
ALTER TABLE vault_values ADD COLUMN audit_index INTEGER;
CREATE INDEX vault_values_audit ON vault_values (audit_index) WHERE audit_index IS NOT NULL;
ALTER TABLE vault_import_batches ADD COLUMN audit_index INTEGER;
ALTER TABLE consent_records ADD COLUMN audit_index INTEGER;
-- A purge names its own audit entry, the entry that had written the destroyed version, and
-- that version's leaf hash (so the writing entry still checks once the value is gone).
ALTER TABLE vault_purges ADD COLUMN audit_index INTEGER;
ALTER TABLE vault_purges ADD COLUMN written_by INTEGER;
ALTER TABLE vault_purges ADD COLUMN leaf BLOB;
CREATE INDEX vault_purges_value ON vault_purges (subscriber, category, version);
CREATE INDEX vault_purges_written_by ON vault_purges (written_by) WHERE written_by IS NOT NULL;

-- Consent records: already refused an update (0004); never deleted either. (SQLite has no
-- TRUNCATE: a DELETE without WHERE runs the row triggers when a table has any.)
CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
BEGIN SELECT RAISE(ABORT, 'consent records are append-only'); END;

-- Value versions: every column but `valid_until` is fixed; `valid_until` is set once, from
-- NULL, and only when a newer version of the same value exists (a correction closes the
-- version before it). A version is deleted only after its purge was recorded.
CREATE TRIGGER vault_values_fixed BEFORE UPDATE OF subscriber, category, version, ciphertext, blob_hash,
    method, indirect, provider_name, provider_address, provider_representative, provider_obtained_by,
    collected_at, collected_by, notice_version, valid_from, audit_index ON vault_values
BEGIN SELECT RAISE(ABORT, 'value versions are append-only'); END;
CREATE TRIGGER vault_values_closed_once BEFORE UPDATE OF valid_until ON vault_values
WHEN OLD.valid_until IS NOT NULL OR NEW.valid_until IS NULL
    OR NOT EXISTS (SELECT 1 FROM vault_values n WHERE n.subscriber = OLD.subscriber
                   AND n.category = OLD.category AND n.version > OLD.version)
BEGIN SELECT RAISE(ABORT, 'a value version is closed once, by a newer version'); END;
CREATE TRIGGER vault_values_purged_only BEFORE DELETE ON vault_values
WHEN NOT EXISTS (SELECT 1 FROM vault_purges p WHERE p.subscriber = OLD.subscriber
                 AND p.category = OLD.category AND p.version = OLD.version)
BEGIN SELECT RAISE(ABORT, 'a value version is deleted only by a recorded purge'); END;

-- Blobs: content addressed, never rewritten (the foreign key keeps a referenced one).
CREATE TRIGGER vault_blobs_no_update BEFORE UPDATE ON vault_blobs
BEGIN SELECT RAISE(ABORT, 'blobs are append-only'); END;

-- Import records: what was imported, once.
CREATE TRIGGER vault_import_batches_no_update BEFORE UPDATE ON vault_import_batches
BEGIN SELECT RAISE(ABORT, 'import records are append-only'); END;
CREATE TRIGGER vault_import_batches_no_delete BEFORE DELETE ON vault_import_batches
BEGIN SELECT RAISE(ABORT, 'import records are append-only'); END;

-- Subscribers are never deleted, and an erasure is final.
CREATE TRIGGER vault_subscribers_no_delete BEFORE DELETE ON vault_subscribers
BEGIN SELECT RAISE(ABORT, 'subscribers are never deleted; erase one instead'); END;
CREATE TRIGGER vault_subscribers_erasure_final BEFORE UPDATE OF erased_at ON vault_subscribers
WHEN OLD.erased_at IS NOT NULL AND NEW.erased_at IS NOT OLD.erased_at
BEGIN SELECT RAISE(ABORT, 'an erasure is final'); END;

-- A data key is destroyed only by erasing its subscriber.
CREATE TRIGGER vault_data_keys_erased_only BEFORE DELETE ON vault_data_keys
WHEN NOT EXISTS (SELECT 1 FROM vault_subscribers s WHERE s.id = OLD.subscriber AND s.erased_at IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'a data key is destroyed only by erasing its subscriber'); END;
