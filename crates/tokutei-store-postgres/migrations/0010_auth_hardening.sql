-- Sign-in hardening (issue 13): TOTP secrets sealed under a key-encryption key (a data key
-- wrapped for `staff/<id>/totp`, the secret sealed by it) with the last accepted time step, so
-- a code is accepted once — also across instances; and fixed-window rate-limit counters shared
-- by every instance on this database. A secret enrolled before this migration stays in
-- `totp_secret` until `tokutei serve` seals it at start (SQL cannot seal: the keys live outside
-- the database). Same columns and table as SQLite's `0010_auth_hardening`.

ALTER TABLE auth_credentials ADD COLUMN totp_kek_id TEXT;
ALTER TABLE auth_credentials ADD COLUMN totp_wrapped_key BYTEA;
ALTER TABLE auth_credentials ADD COLUMN totp_sealed BYTEA;
ALTER TABLE auth_credentials ADD COLUMN totp_last_step BIGINT;

-- Unlogged: counters need no crash safety or replication, and every API request writes one.
CREATE UNLOGGED TABLE auth_rate_limits (
    bucket        BYTEA NOT NULL,
    window_start  BIGINT NOT NULL,
    hits          BIGINT NOT NULL CHECK (hits > 0),
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX auth_rate_limits_window ON auth_rate_limits (window_start);
