-- The subscriber's own page (issue 17): one-time links (only the token's SHA-256 is kept) and
-- the sessions they open (likewise hashed). A link is used once: `used_at` is set only from
-- NULL (a trigger), and links are never deleted or truncated by tokutei, so each opening is
-- evidence beside its ledger entry. Same tables and guards as SQLite's `0021_portal`.

CREATE TABLE portal_links (
    token_hash  TEXT COLLATE "C" PRIMARY KEY,
    subscriber  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL CHECK (expires_at > created_at),
    issued_by   TEXT NOT NULL,
    audit_index BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE FUNCTION tokutei_portal_link_used_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.used_at IS NOT NULL
        OR (NEW.token_hash, NEW.subscriber, NEW.created_at, NEW.expires_at, NEW.issued_by, NEW.audit_index)
           IS DISTINCT FROM (OLD.token_hash, OLD.subscriber, OLD.created_at, OLD.expires_at, OLD.issued_by, OLD.audit_index)
    THEN
        RAISE EXCEPTION 'a portal link is used once and never changed otherwise'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER portal_links_used_once BEFORE UPDATE ON portal_links
FOR EACH ROW EXECUTE FUNCTION tokutei_portal_link_used_once();
CREATE TRIGGER portal_links_no_delete BEFORE DELETE ON portal_links
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('portal links are kept');
CREATE TRIGGER portal_links_no_truncate BEFORE TRUNCATE ON portal_links
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('portal links are kept');

CREATE TABLE portal_sessions (
    session_hash TEXT COLLATE "C" PRIMARY KEY,
    token_hash   TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES portal_links (token_hash),
    subscriber   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL CHECK (expires_at > created_at),
    ended_at     BIGINT
);
