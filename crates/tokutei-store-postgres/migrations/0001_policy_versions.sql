-- Published policy versions: immutable rows, numbered in publication order.
-- Text that is compared or ordered uses the "C" collation, so every database orders it
-- byte for byte as SQLite does. Dates are `YYYY-MM-DD` text, as in SQLite.
CREATE TABLE policy_versions (
    number        BIGINT PRIMARY KEY,
    digest        TEXT NOT NULL,
    source        TEXT NOT NULL,
    effective     TEXT COLLATE "C" NOT NULL,
    published_by  TEXT NOT NULL,
    published_at  TEXT NOT NULL
);
CREATE INDEX policy_versions_effective ON policy_versions (effective, number);

-- The one trigger function of every append-only table: refuse the change with the message
-- given as the trigger's argument.
CREATE FUNCTION tokutei_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END;
$$;

-- Versions are immutable once published.
CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('policy versions are immutable');
CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('policy versions are immutable');
CREATE TRIGGER policy_versions_no_truncate BEFORE TRUNCATE ON policy_versions
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('policy versions are immutable');
