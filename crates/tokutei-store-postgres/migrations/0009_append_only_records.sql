-- Records stay records (issue 13): consent records, value versions (with their APPI 30条
-- receipt provenance), import and purge records are never changed or deleted behind
-- tokutei's back, and each names the audit entry that wrote it, so `tokutei subscribers
-- verify` can check them against the ledger even if these guards are dropped.
-- Same name and meaning as SQLite's `0009_append_only_records`; TRUNCATE skips row
-- triggers, so every guarded table also refuses it with a statement trigger.

-- The audit entry that wrote each record (NULL for rows written before this migration).
ALTER TABLE vault_values ADD COLUMN audit_index BIGINT;
CREATE INDEX vault_values_audit ON vault_values (audit_index) WHERE audit_index IS NOT NULL;
ALTER TABLE vault_import_batches ADD COLUMN audit_index BIGINT;
ALTER TABLE consent_records ADD COLUMN audit_index BIGINT;
-- A purge names its own audit entry, the entry that had written the destroyed version, and
-- that version's leaf hash (so the writing entry still checks once the value is gone).
ALTER TABLE vault_purges ADD COLUMN audit_index BIGINT;
ALTER TABLE vault_purges ADD COLUMN written_by BIGINT;
ALTER TABLE vault_purges ADD COLUMN leaf BYTEA;
CREATE INDEX vault_purges_value ON vault_purges (subscriber, category, version);
CREATE INDEX vault_purges_written_by ON vault_purges (written_by) WHERE written_by IS NOT NULL;

-- Consent records: already refused an update (0004); never deleted or truncated either.
CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('consent records are append-only');
CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('consent records are append-only');

-- Value versions: every column but `valid_until` is fixed; `valid_until` is set once, from
-- NULL, and only when a newer version of the same value exists (a correction closes the
-- version before it). A version is deleted only after its purge was recorded.
CREATE FUNCTION vault_values_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM vault_purges p WHERE p.subscriber = OLD.subscriber
                       AND p.category = OLD.category AND p.version = OLD.version) THEN
            RAISE EXCEPTION 'a value version is deleted only by a recorded purge';
        END IF;
        RETURN OLD;
    END IF;
    IF (to_jsonb(OLD) - 'valid_until') IS DISTINCT FROM (to_jsonb(NEW) - 'valid_until') THEN
        RAISE EXCEPTION 'value versions are append-only';
    END IF;
    IF OLD.valid_until IS NOT NULL OR NEW.valid_until IS NULL
        OR NOT EXISTS (SELECT 1 FROM vault_values n WHERE n.subscriber = OLD.subscriber
                       AND n.category = OLD.category AND n.version > OLD.version) THEN
        RAISE EXCEPTION 'a value version is closed once, by a newer version';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER vault_values_guard BEFORE UPDATE OR DELETE ON vault_values
FOR EACH ROW EXECUTE FUNCTION vault_values_guard();
CREATE TRIGGER vault_values_no_truncate BEFORE TRUNCATE ON vault_values
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('a value version is deleted only by a recorded purge');

-- Blobs: content addressed, never rewritten (the foreign key keeps a referenced one).
CREATE TRIGGER vault_blobs_no_update BEFORE UPDATE ON vault_blobs
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('blobs are append-only');
CREATE TRIGGER vault_blobs_no_truncate BEFORE TRUNCATE ON vault_blobs
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('blobs are append-only');

-- Import records: what was imported, once.
CREATE TRIGGER vault_import_batches_no_update BEFORE UPDATE ON vault_import_batches
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('import records are append-only');
CREATE TRIGGER vault_import_batches_no_delete BEFORE DELETE ON vault_import_batches
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('import records are append-only');
CREATE TRIGGER vault_import_batches_no_truncate BEFORE TRUNCATE ON vault_import_batches
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('import records are append-only');

-- Subscribers are never deleted, and an erasure is final.
CREATE TRIGGER vault_subscribers_no_delete BEFORE DELETE ON vault_subscribers
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('subscribers are never deleted; erase one instead');
CREATE TRIGGER vault_subscribers_no_truncate BEFORE TRUNCATE ON vault_subscribers
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('subscribers are never deleted; erase one instead');
CREATE FUNCTION vault_subscribers_erasure_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.erased_at IS NOT NULL AND NEW.erased_at IS DISTINCT FROM OLD.erased_at THEN
        RAISE EXCEPTION 'an erasure is final';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER vault_subscribers_erasure_final BEFORE UPDATE OF erased_at ON vault_subscribers
FOR EACH ROW EXECUTE FUNCTION vault_subscribers_erasure_final();

-- A data key is destroyed only by erasing its subscriber.
CREATE FUNCTION vault_data_keys_erased_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vault_subscribers s WHERE s.id = OLD.subscriber AND s.erased_at IS NOT NULL) THEN
        RAISE EXCEPTION 'a data key is destroyed only by erasing its subscriber';
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER vault_data_keys_erased_only BEFORE DELETE ON vault_data_keys
FOR EACH ROW EXECUTE FUNCTION vault_data_keys_erased_only();
CREATE TRIGGER vault_data_keys_no_truncate BEFORE TRUNCATE ON vault_data_keys
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('a data key is destroyed only by erasing its subscriber');
