-- Inquiries from the public: receipt number, category, deadline, status; the contents and the
-- status note are sealed under the inquiry's own data key (stored wrapped), never plaintext.
-- Settings of the privacy office as key/value text. Timestamps are microseconds.
-- Same tables as SQLite's `0006_inquiries`.

CREATE TABLE inquiries (
    receipt      TEXT COLLATE "C" PRIMARY KEY,
    category     TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    deadline     TEXT NOT NULL,
    kek_id       TEXT NOT NULL,
    wrapped_key  BYTEA NOT NULL,
    sealed       BYTEA NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
    note         BYTEA,
    updated_by   TEXT,
    updated_at   BIGINT
);
CREATE INDEX inquiries_received ON inquiries (received_at);
CREATE INDEX inquiries_status ON inquiries (status, received_at);

CREATE TABLE settings (
    key         TEXT COLLATE "C" PRIMARY KEY,
    value       TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  BIGINT NOT NULL
);
