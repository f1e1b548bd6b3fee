-- Console sign-in: password hashes (argon2id PHC strings), TOTP secrets, failed attempts and
-- lockout per person; sessions by the SHA-256 of their id. Timestamps are microseconds.
-- Same tables as SQLite's `0005_auth`.

CREATE TABLE auth_credentials (
    principal        TEXT COLLATE "C" PRIMARY KEY REFERENCES staff_principals (id),
    password_hash    TEXT NOT NULL,
    totp_secret      BYTEA,
    must_change      BIGINT NOT NULL CHECK (must_change IN (0, 1)),
    failed_attempts  BIGINT NOT NULL DEFAULT 0,
    locked_until     BIGINT
);

CREATE TABLE auth_sessions (
    id_hash     BYTEA PRIMARY KEY,
    principal   TEXT COLLATE "C" NOT NULL REFERENCES staff_principals (id),
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX auth_sessions_principal ON auth_sessions (principal);
