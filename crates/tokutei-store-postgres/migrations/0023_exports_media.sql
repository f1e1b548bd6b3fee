-- Carrying information out (issue 18, security measure (5)): the artefacts of export requests
-- — the document already encrypted to its recipient, one per request — and the register of
-- exceptions to the ban on external media. An artefact changes once: from not downloaded to
-- downloaded, the ciphertext dropped in the same step (its digest and size stay); an exception
-- changes once: its revocation. Neither is ever deleted or truncated. Same tables and guards
-- as SQLite's `0023_exports_media`. Asia/Tokyo civil dates `YYYY-MM-DD`; timestamps are
-- microseconds.

CREATE TABLE export_artefacts (
    export                  TEXT COLLATE "C" PRIMARY KEY,
    produced_by             TEXT NOT NULL,
    produced_at             BIGINT NOT NULL,
    recipient_key           TEXT NOT NULL,
    sha256                  TEXT NOT NULL,
    bytes                   BIGINT NOT NULL CHECK (bytes >= 0),
    audit_index             BIGINT NOT NULL,
    ciphertext              BYTEA,
    downloaded_by           TEXT,
    downloaded_at           BIGINT,
    medium                  TEXT,
    exception               TEXT,
    download_audit_index    BIGINT,
    CHECK ((downloaded_at IS NULL) = (ciphertext IS NOT NULL)),
    CHECK ((downloaded_at IS NULL) = (downloaded_by IS NULL) AND (downloaded_at IS NULL) = (medium IS NULL)
        AND (downloaded_at IS NULL) = (download_audit_index IS NULL))
);
CREATE INDEX export_artefacts_produced ON export_artefacts (produced_at);

CREATE FUNCTION tokutei_export_artefact_downloaded_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.downloaded_at IS NOT NULL
        OR (NEW.export, NEW.produced_by, NEW.produced_at, NEW.recipient_key, NEW.sha256, NEW.bytes, NEW.audit_index)
           IS DISTINCT FROM (OLD.export, OLD.produced_by, OLD.produced_at, OLD.recipient_key, OLD.sha256, OLD.bytes, OLD.audit_index)
    THEN
        RAISE EXCEPTION 'an export artefact is downloaded once and never changed otherwise'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER export_artefacts_downloaded_once BEFORE UPDATE ON export_artefacts
FOR EACH ROW EXECUTE FUNCTION tokutei_export_artefact_downloaded_once();
CREATE TRIGGER export_artefacts_no_delete BEFORE DELETE ON export_artefacts
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('export artefacts are kept');
CREATE TRIGGER export_artefacts_no_truncate BEFORE TRUNCATE ON export_artefacts
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('export artefacts are kept');

CREATE TABLE media_exceptions (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    person              TEXT NOT NULL,
    medium              TEXT NOT NULL,
    reason              TEXT NOT NULL,
    approved_by         TEXT NOT NULL CHECK (approved_by <> person),
    valid_from          TEXT COLLATE "C" NOT NULL,
    valid_until         TEXT COLLATE "C" NOT NULL CHECK (valid_until >= valid_from),
    granted_at          BIGINT NOT NULL,
    audit_index         BIGINT NOT NULL,
    revoked_by          TEXT,
    revoked_at          BIGINT,
    revoke_audit_index  BIGINT,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revoke_audit_index IS NULL))
);
CREATE INDEX media_exceptions_granted ON media_exceptions (granted_at);

CREATE FUNCTION tokutei_media_exception_revoked_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL
        OR (NEW.id, NEW.person, NEW.medium, NEW.reason, NEW.approved_by, NEW.valid_from, NEW.valid_until,
            NEW.granted_at, NEW.audit_index)
           IS DISTINCT FROM (OLD.id, OLD.person, OLD.medium, OLD.reason, OLD.approved_by, OLD.valid_from,
            OLD.valid_until, OLD.granted_at, OLD.audit_index)
    THEN
        RAISE EXCEPTION 'a media exception is revoked once and never changed otherwise'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER media_exceptions_revoked_once BEFORE UPDATE ON media_exceptions
FOR EACH ROW EXECUTE FUNCTION tokutei_media_exception_revoked_once();
CREATE TRIGGER media_exceptions_no_delete BEFORE DELETE ON media_exceptions
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('media exceptions are kept');
CREATE TRIGGER media_exceptions_no_truncate BEFORE TRUNCATE ON media_exceptions
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('media exceptions are kept');
