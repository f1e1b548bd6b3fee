-- The staff registry, consent records and third-party provision records.
-- Timestamps are microseconds since the Unix epoch; dates are `YYYY-MM-DD` text.

-- Principals: people (kind = 'person', with a role) and internal systems (kind = 'system').
-- `grants` is JSON: {"data_range": [{"service", "categories"}], "purposes", "zones"}.
CREATE TABLE staff_principals (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('person', 'system')),
    role          TEXT,
    system_name   TEXT,
    grants        TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER,
    CHECK ((kind = 'person') = (role IS NOT NULL)),
    CHECK ((kind = 'system') = (system_name IS NOT NULL))
) WITHOUT ROWID;

CREATE TABLE staff_training (
    principal    TEXT NOT NULL REFERENCES staff_principals (id),
    course       TEXT NOT NULL,
    completed    TEXT NOT NULL,
    valid_until  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (principal, seq)
) WITHOUT ROWID;

-- API tokens: only the SHA-256 of the whole token is stored.
CREATE TABLE staff_tokens (
    id          TEXT PRIMARY KEY,
    principal   TEXT NOT NULL REFERENCES staff_principals (id),
    hash        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX staff_tokens_principal ON staff_tokens (principal);

-- One row: bumped by every change of the registry (principal caches compare it).
CREATE TABLE staff_generation (
    only_row    INTEGER PRIMARY KEY CHECK (only_row = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO staff_generation (only_row, generation) VALUES (1, 0);

-- Consent records, append-only; the latest per (subscriber, purpose) is the current choice.
CREATE TABLE consent_records (
    id              INTEGER PRIMARY KEY,
    subscriber      TEXT NOT NULL REFERENCES vault_subscribers (id),
    purpose         TEXT NOT NULL,
    choice          TEXT NOT NULL CHECK (choice IN ('opted_in', 'opted_out')),
    channel         TEXT NOT NULL,
    notice_version  INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    recorded_by     TEXT NOT NULL,
    evidence        TEXT
);
CREATE INDEX consent_records_current ON consent_records (subscriber, purpose, id);

CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
BEGIN SELECT RAISE(ABORT, 'consent records are append-only'); END;

-- APPI art. 29 provision records. `record_type` is JSON ({"type": "each"} …).
CREATE TABLE provision_records (
    id             INTEGER PRIMARY KEY,
    provided_at    INTEGER NOT NULL,
    recipient      TEXT NOT NULL,
    subscriber     TEXT NOT NULL,
    categories     TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    basis          TEXT NOT NULL CHECK (basis IN ('consent', 'opt_out')),
    consent_proof  INTEGER,
    record_type    TEXT NOT NULL,
    audit_index    INTEGER,
    keep_until     TEXT NOT NULL
);
CREATE INDEX provision_records_subscriber ON provision_records (subscriber, id);

CREATE TRIGGER provision_records_no_update BEFORE UPDATE ON provision_records
BEGIN SELECT RAISE(ABORT, 'provision records cannot be changed'); END;
-- A record may be deleted only once its retention has passed.
CREATE TRIGGER provision_records_kept BEFORE DELETE ON provision_records
WHEN OLD.keep_until >= date('now')
BEGIN SELECT RAISE(ABORT, 'a provision record cannot be deleted before its retention ends'); END;

-- Export requests (持出し申請) and their approval. `categories` and `subscribers` are JSON
-- arrays (`subscribers` NULL = every subscriber).
CREATE TABLE export_requests (
    id            TEXT PRIMARY KEY,
    requested_by  TEXT NOT NULL REFERENCES staff_principals (id),
    purpose       TEXT NOT NULL,
    categories    TEXT NOT NULL,
    subscribers   TEXT,
    reason        TEXT NOT NULL,
    recipient     TEXT,
    requested_at  INTEGER NOT NULL,
    valid_until   INTEGER NOT NULL,
    approved_by   TEXT REFERENCES staff_principals (id),
    approved_at   INTEGER,
    CHECK (approved_by IS NULL OR approved_by <> requested_by)
) WITHOUT ROWID;
