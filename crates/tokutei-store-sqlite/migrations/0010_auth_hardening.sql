-- Sign-in hardening (issue 13): TOTP secrets sealed under a key-encryption key (a data key
-- wrapped for `staff/<id>/totp`, the secret sealed by it) with the last accepted time step, so
-- a code is accepted once; and fixed-window rate-limit counters shared by every process on
-- this database. A secret enrolled before this migration stays in `totp_secret` until
-- `tokutei serve` seals it at start (SQL cannot seal: the keys live outside the database).
-- Same columns and table as PostgreSQL's `0010_auth_hardening`.

ALTER TABLE auth_credentials ADD COLUMN totp_kek_id TEXT;
ALTER TABLE auth_credentials ADD COLUMN totp_wrapped_key BLOB;
ALTER TABLE auth_credentials ADD COLUMN totp_sealed BLOB;
ALTER TABLE auth_credentials ADD COLUMN totp_last_step INTEGER;

CREATE TABLE auth_rate_limits (
    bucket        BLOB NOT NULL,
    window_start  INTEGER NOT NULL,
    hits          INTEGER NOT NULL CHECK (hits > 0),
    PRIMARY KEY (bucket, window_start)
) WITHOUT ROWID;
CREATE INDEX auth_rate_limits_window ON auth_rate_limits (window_start);
