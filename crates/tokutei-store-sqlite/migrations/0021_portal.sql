-- The subscriber's own page (issue 17): one-time links (only the token's SHA-256 is kept) and
-- the sessions they open (likewise hashed). A link is used once: `used_at` is set only from
-- NULL (a trigger), and links and sessions are never deleted by tokutei, so each opening is
-- evidence beside its ledger entry. Same tables and guards as PostgreSQL's `0021_portal`.

CREATE TABLE portal_links (
    token_hash  TEXT PRIMARY KEY,
    subscriber  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL CHECK (expires_at > created_at),
    issued_by   TEXT NOT NULL,
    audit_index INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE TRIGGER portal_links_used_once BEFORE UPDATE ON portal_links
WHEN OLD.used_at IS NOT NULL
    OR NEW.token_hash IS NOT OLD.token_hash OR NEW.subscriber IS NOT OLD.subscriber
    OR NEW.created_at IS NOT OLD.created_at OR NEW.expires_at IS NOT OLD.expires_at
    OR NEW.issued_by IS NOT OLD.issued_by OR NEW.audit_index IS NOT OLD.audit_index
BEGIN SELECT RAISE(ABORT, 'a portal link is used once and never changed otherwise'); END;
CREATE TRIGGER portal_links_no_delete BEFORE DELETE ON portal_links
BEGIN SELECT RAISE(ABORT, 'portal links are kept'); END;

CREATE TABLE portal_sessions (
    session_hash TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE REFERENCES portal_links (token_hash),
    subscriber   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL CHECK (expires_at > created_at),
    ended_at     INTEGER
);
