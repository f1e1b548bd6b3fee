-- Published policy versions: immutable rows, numbered in publication order.
CREATE TABLE policy_versions (
    number        INTEGER PRIMARY KEY,
    digest        TEXT NOT NULL,
    source        TEXT NOT NULL,
    effective     TEXT NOT NULL,
    published_by  TEXT NOT NULL,
    published_at  TEXT NOT NULL
);
CREATE INDEX policy_versions_effective ON policy_versions (effective, number);

-- Versions are immutable once published.
CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
BEGIN SELECT RAISE(ABORT, 'policy versions are immutable'); END;
CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
BEGIN SELECT RAISE(ABORT, 'policy versions are immutable'); END;
