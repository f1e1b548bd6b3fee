-- Inquiries from the public: receipt number, category, deadline, status; the contents and the
-- status note are sealed under the inquiry's own data key (stored wrapped), never plaintext.
-- Settings of the privacy office as key/value text. Timestamps are microseconds.

CREATE TABLE inquiries (
    receipt      TEXT PRIMARY KEY,
    category     TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    deadline     TEXT NOT NULL,
    kek_id       TEXT NOT NULL,
    wrapped_key  BLOB NOT NULL,
    sealed       BLOB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
    note         BLOB,
    updated_by   TEXT,
    updated_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX inquiries_received ON inquiries (received_at);
CREATE INDEX inquiries_status ON inquiries (status, received_at);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  INTEGER NOT NULL
) WITHOUT ROWID;
