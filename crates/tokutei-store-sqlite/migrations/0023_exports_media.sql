-- Carrying information out (issue 18, security measure (5)): the artefacts of export requests
-- — the document already encrypted to its recipient, one per request — and the register of
-- exceptions to the ban on external media. An artefact changes once: from not downloaded to
-- downloaded, the ciphertext dropped in the same step (its digest and size stay); an exception
-- changes once: its revocation. Neither is ever deleted. Same tables and guards as
-- PostgreSQL's `0023_exports_media`. Asia/Tokyo civil dates `YYYY-MM-DD`; timestamps are
-- microseconds.

CREATE TABLE export_artefacts (
    export                  TEXT PRIMARY KEY,
    produced_by             TEXT NOT NULL,
    produced_at             INTEGER NOT NULL,
    recipient_key           TEXT NOT NULL,
    sha256                  TEXT NOT NULL,
    bytes                   INTEGER NOT NULL CHECK (bytes >= 0),
    audit_index             INTEGER NOT NULL,
    ciphertext              BLOB,
    downloaded_by           TEXT,
    downloaded_at           INTEGER,
    medium                  TEXT,
    exception               TEXT,
    download_audit_index    INTEGER,
    CHECK ((downloaded_at IS NULL) = (ciphertext IS NOT NULL)),
    CHECK ((downloaded_at IS NULL) = (downloaded_by IS NULL) AND (downloaded_at IS NULL) = (medium IS NULL)
        AND (downloaded_at IS NULL) = (download_audit_index IS NULL))
);
CREATE INDEX export_artefacts_produced ON export_artefacts (produced_at);

CREATE TRIGGER export_artefacts_downloaded_once BEFORE UPDATE ON export_artefacts
WHEN OLD.downloaded_at IS NOT NULL
    OR NEW.export IS NOT OLD.export OR NEW.produced_by IS NOT OLD.produced_by
    OR NEW.produced_at IS NOT OLD.produced_at OR NEW.recipient_key IS NOT OLD.recipient_key
    OR NEW.sha256 IS NOT OLD.sha256 OR NEW.bytes IS NOT OLD.bytes OR NEW.audit_index IS NOT OLD.audit_index
BEGIN SELECT RAISE(ABORT, 'an export artefact is downloaded once and never changed otherwise'); END;
CREATE TRIGGER export_artefacts_no_delete BEFORE DELETE ON export_artefacts
BEGIN SELECT RAISE(ABORT, 'export artefacts are kept'); END;

CREATE TABLE media_exceptions (
    id                  TEXT PRIMARY KEY,
    person              TEXT NOT NULL,
    medium              TEXT NOT NULL,
    reason              TEXT NOT NULL,
    approved_by         TEXT NOT NULL CHECK (approved_by <> person),
    valid_from          TEXT NOT NULL,
    valid_until         TEXT NOT NULL CHECK (valid_until >= valid_from),
    granted_at          INTEGER NOT NULL,
    audit_index         INTEGER NOT NULL,
    revoked_by          TEXT,
    revoked_at          INTEGER,
    revoke_audit_index  INTEGER,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revoke_audit_index IS NULL))
);
CREATE INDEX media_exceptions_granted ON media_exceptions (granted_at);

CREATE TRIGGER media_exceptions_revoked_once BEFORE UPDATE ON media_exceptions
WHEN OLD.revoked_at IS NOT NULL
    OR NEW.id IS NOT OLD.id OR NEW.person IS NOT OLD.person OR NEW.medium IS NOT OLD.medium
    OR NEW.reason IS NOT OLD.reason OR NEW.approved_by IS NOT OLD.approved_by
    OR NEW.valid_from IS NOT OLD.valid_from OR NEW.valid_until IS NOT OLD.valid_until
    OR NEW.granted_at IS NOT OLD.granted_at OR NEW.audit_index IS NOT OLD.audit_index
BEGIN SELECT RAISE(ABORT, 'a media exception is revoked once and never changed otherwise'); END;
CREATE TRIGGER media_exceptions_no_delete BEFORE DELETE ON media_exceptions
BEGIN SELECT RAISE(ABORT, 'media exceptions are kept'); END;
