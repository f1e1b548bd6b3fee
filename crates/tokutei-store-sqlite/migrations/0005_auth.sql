-- Console sign-in: password hashes (argon2id PHC strings), TOTP secrets, failed attempts and
-- lockout per person; sessions by the SHA-256 of their id. Timestamps are microseconds.

CREATE TABLE auth_credentials (
    principal        TEXT PRIMARY KEY REFERENCES staff_principals (id),
    password_hash    TEXT NOT NULL,
    totp_secret      BLOB,
    must_change      INTEGER NOT NULL CHECK (must_change IN (0, 1)),
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER
) WITHOUT ROWID;

CREATE TABLE auth_sessions (
    id_hash     BLOB PRIMARY KEY,
    principal   TEXT NOT NULL REFERENCES staff_principals (id),
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX auth_sessions_principal ON auth_sessions (principal);
