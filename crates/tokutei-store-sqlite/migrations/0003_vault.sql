-- The subscriber vault. Only ciphertext, wrapped data keys and keyed blind-index tokens are
-- stored: no plaintext personal data. Timestamps are microseconds since the Unix epoch;
-- dates are `YYYY-MM-DD` text.

CREATE TABLE vault_subscribers (
    id            TEXT PRIMARY KEY,
    service       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'terminated')),
    started_on    TEXT NOT NULL,
    suspended_on  TEXT,
    terminated_on TEXT,
    created_at    INTEGER NOT NULL,
    erased_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX vault_subscribers_terminated ON vault_subscribers (terminated_on) WHERE terminated_on IS NOT NULL;

-- One data key per subscriber, wrapped by a key-encryption key kept outside the database.
-- Deleting the row crypto-shreds the subscriber.
CREATE TABLE vault_data_keys (
    subscriber TEXT PRIMARY KEY REFERENCES vault_subscribers (id),
    kek_id     TEXT NOT NULL,
    wrapped    BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX vault_data_keys_kek ON vault_data_keys (kek_id);

-- Encrypted binary values (call recordings, scans), by the SHA-256 of their ciphertext.
CREATE TABLE vault_blobs (
    id         INTEGER PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    ciphertext BLOB NOT NULL
);

-- Versioned values with provenance. Exactly one of `ciphertext` and `blob_hash` is set.
CREATE TABLE vault_values (
    subscriber              TEXT NOT NULL REFERENCES vault_subscribers (id),
    category                TEXT NOT NULL,
    version                 INTEGER NOT NULL CHECK (version >= 1),
    ciphertext              BLOB,
    blob_hash               BLOB REFERENCES vault_blobs (hash),
    method                  TEXT NOT NULL,
    indirect                INTEGER NOT NULL CHECK (indirect IN (0, 1)),
    provider_name           TEXT,
    provider_address        TEXT,
    provider_representative TEXT,
    provider_obtained_by    TEXT,
    collected_at            INTEGER NOT NULL,
    collected_by            TEXT NOT NULL,
    notice_version          INTEGER NOT NULL,
    valid_from              INTEGER NOT NULL,
    valid_until             INTEGER,
    PRIMARY KEY (subscriber, category, version),
    CHECK ((ciphertext IS NULL) <> (blob_hash IS NULL)),
    CHECK (indirect = 0 OR (provider_name IS NOT NULL AND provider_address IS NOT NULL
        AND provider_representative IS NOT NULL AND provider_obtained_by IS NOT NULL))
) WITHOUT ROWID;
CREATE INDEX vault_values_collected ON vault_values (category, collected_at);

-- Keyed blind-index tokens of searchable values.
CREATE TABLE vault_blind_index (
    category   TEXT NOT NULL,
    token      BLOB NOT NULL,
    subscriber TEXT NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (category, token, subscriber, version)
) WITHOUT ROWID;
CREATE INDEX vault_blind_index_subscriber ON vault_blind_index (subscriber);

-- Import batches, by source key: a batch is applied once.
CREATE TABLE vault_import_batches (
    source_key    TEXT PRIMARY KEY,
    rows          INTEGER NOT NULL,
    subscribers   INTEGER NOT NULL,
    value_count   INTEGER NOT NULL,
    imported_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- Retention purges: one record per destroyed value, append-only.
CREATE TABLE vault_purges (
    id             INTEGER PRIMARY KEY,
    subscriber     TEXT NOT NULL,
    category       TEXT NOT NULL,
    version        INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    purged_at      INTEGER NOT NULL
);
CREATE TRIGGER vault_purges_no_update BEFORE UPDATE ON vault_purges
BEGIN SELECT RAISE(ABORT, 'purge records are append-only'); END;
CREATE TRIGGER vault_purges_no_delete BEFORE DELETE ON vault_purges
BEGIN SELECT RAISE(ABORT, 'purge records are append-only'); END;
