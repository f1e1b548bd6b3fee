-- The leak-incident register (issue 14): incidents as append-only versions of their fields
-- (JSON), the reports each regime owes with their submission records, impacts computed from
-- the audit ledger, notices to the persons and alternative measures, and the public entry as
-- append-only versions with its withdrawal. Timestamps are microseconds, dates `YYYY-MM-DD`.
-- Same tables, guards and messages as PostgreSQL's `0012_incidents`.
--
-- "Today" in the guards is the date in Japan: UTC + 9 hours (Asia/Tokyo has kept +09:00 with
-- no daylight saving time since 1951).

CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL
);

CREATE TABLE incident_versions (
    incident    TEXT NOT NULL REFERENCES incidents (id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    fields      TEXT NOT NULL,
    change      TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  INTEGER NOT NULL,
    audit_index INTEGER NOT NULL,
    PRIMARY KEY (incident, version)
);

CREATE TABLE incident_obligations (
    incident    TEXT NOT NULL REFERENCES incidents (id),
    regime      TEXT NOT NULL CHECK (regime IN ('secrecy', 'tokutei', 'appi')),
    report      TEXT NOT NULL CHECK (report IN ('first', 'detailed', 'preliminary', 'final')),
    due         TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    unconfirmed INTEGER NOT NULL,
    PRIMARY KEY (incident, regime, report)
);
CREATE INDEX incident_obligations_due ON incident_obligations (due);

CREATE TABLE incident_submissions (
    incident     TEXT NOT NULL,
    regime       TEXT NOT NULL,
    report       TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    recipient    TEXT NOT NULL,
    reference    TEXT,
    digest       BLOB NOT NULL CHECK (length(digest) = 32),
    submitted_by TEXT NOT NULL,
    audit_index  INTEGER NOT NULL,
    PRIMARY KEY (incident, regime, report),
    FOREIGN KEY (incident, regime, report) REFERENCES incident_obligations (incident, regime, report)
);

CREATE TABLE incident_impacts (
    incident    TEXT NOT NULL REFERENCES incidents (id),
    number      INTEGER NOT NULL CHECK (number >= 1),
    scope       TEXT NOT NULL,
    tree_size   INTEGER NOT NULL,
    computed_by TEXT NOT NULL,
    computed_at INTEGER NOT NULL,
    audit_index INTEGER NOT NULL,
    PRIMARY KEY (incident, number)
);

-- Each count is the number of ledger indexes backing it (a JSON array).
CREATE TABLE incident_impact_items (
    incident    TEXT NOT NULL,
    number      INTEGER NOT NULL,
    subscriber  TEXT NOT NULL,
    category    TEXT NOT NULL,
    reads       INTEGER NOT NULL CHECK (reads >= 1),
    indexes     TEXT NOT NULL CHECK (json_array_length(indexes) = reads),
    PRIMARY KEY (incident, number, subscriber, category),
    FOREIGN KEY (incident, number) REFERENCES incident_impacts (incident, number)
);

CREATE TABLE incident_notices (
    id          INTEGER PRIMARY KEY,
    incident    TEXT NOT NULL REFERENCES incidents (id),
    subscriber  TEXT NOT NULL,
    method      TEXT NOT NULL,
    sent_at     INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    audit_index INTEGER NOT NULL
);
CREATE INDEX incident_notices_incident ON incident_notices (incident, id);

CREATE TABLE incident_alternatives (
    id          INTEGER PRIMARY KEY,
    incident    TEXT NOT NULL REFERENCES incidents (id),
    measure     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    audit_index INTEGER NOT NULL
);
CREATE INDEX incident_alternatives_incident ON incident_alternatives (incident, id);

-- The public entry: one row per version (a correction is a new version); each carries the
-- last day it is listed, `listed_until`, the end of the window inside which it cannot go.
CREATE TABLE incident_publications (
    incident     TEXT NOT NULL REFERENCES incidents (id),
    version      INTEGER NOT NULL CHECK (version >= 1),
    occurred     TEXT NOT NULL,
    summary_ja   TEXT NOT NULL,
    summary_en   TEXT,
    published_at INTEGER NOT NULL,
    published_on TEXT NOT NULL,
    listed_until TEXT NOT NULL,
    published_by TEXT NOT NULL,
    audit_index  INTEGER NOT NULL,
    PRIMARY KEY (incident, version)
);

CREATE TABLE incident_withdrawals (
    incident     TEXT PRIMARY KEY REFERENCES incidents (id),
    withdrawn_at INTEGER NOT NULL,
    withdrawn_on TEXT NOT NULL,
    reason       TEXT NOT NULL,
    withdrawn_by TEXT NOT NULL,
    audit_index  INTEGER NOT NULL
);

-- Records stay records. (SQLite has no TRUNCATE: a DELETE without WHERE runs the row triggers.)
CREATE TRIGGER incidents_no_update BEFORE UPDATE ON incidents
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;

CREATE TRIGGER incident_versions_no_update BEFORE UPDATE ON incident_versions
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_versions_no_delete BEFORE DELETE ON incident_versions
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_versions_in_order BEFORE INSERT ON incident_versions
WHEN NEW.version <> COALESCE((SELECT MAX(version) FROM incident_versions WHERE incident = NEW.incident), 0) + 1
BEGIN SELECT RAISE(ABORT, 'incident versions follow one another'); END;

-- An obligation is replaced (deleted, then inserted anew) only while nothing was submitted for
-- it; it is never edited.
CREATE TRIGGER incident_obligations_no_update BEFORE UPDATE ON incident_obligations
BEGIN SELECT RAISE(ABORT, 'an obligation is replaced, never edited'); END;
CREATE TRIGGER incident_obligations_submitted BEFORE DELETE ON incident_obligations
WHEN EXISTS (SELECT 1 FROM incident_submissions s WHERE s.incident = OLD.incident
             AND s.regime = OLD.regime AND s.report = OLD.report)
BEGIN SELECT RAISE(ABORT, 'an obligation is replaced only while nothing was submitted for it'); END;

CREATE TRIGGER incident_submissions_no_update BEFORE UPDATE ON incident_submissions
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_submissions_no_delete BEFORE DELETE ON incident_submissions
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;

CREATE TRIGGER incident_impacts_no_update BEFORE UPDATE ON incident_impacts
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_impacts_no_delete BEFORE DELETE ON incident_impacts
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_impacts_in_order BEFORE INSERT ON incident_impacts
WHEN NEW.number <> COALESCE((SELECT MAX(number) FROM incident_impacts WHERE incident = NEW.incident), 0) + 1
BEGIN SELECT RAISE(ABORT, 'incident impacts follow one another'); END;
CREATE TRIGGER incident_impact_items_no_update BEFORE UPDATE ON incident_impact_items
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_impact_items_no_delete BEFORE DELETE ON incident_impact_items
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;

CREATE TRIGGER incident_notices_no_update BEFORE UPDATE ON incident_notices
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_notices_no_delete BEFORE DELETE ON incident_notices
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_alternatives_no_update BEFORE UPDATE ON incident_alternatives
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_alternatives_no_delete BEFORE DELETE ON incident_alternatives
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;

-- The public entry: never edited; a version goes only once its window has ended; versions
-- follow one another; a withdrawn entry is not published again.
CREATE TRIGGER incident_publications_no_update BEFORE UPDATE ON incident_publications
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_publications_kept BEFORE DELETE ON incident_publications
WHEN OLD.listed_until >= date('now', '+9 hours')
BEGIN SELECT RAISE(ABORT, 'a publication cannot be deleted inside its publication window'); END;
CREATE TRIGGER incident_publications_in_order BEFORE INSERT ON incident_publications
WHEN NEW.version <> COALESCE((SELECT MAX(version) FROM incident_publications WHERE incident = NEW.incident), 0) + 1
BEGIN SELECT RAISE(ABORT, 'incident publications follow one another'); END;
CREATE TRIGGER incident_publications_not_withdrawn BEFORE INSERT ON incident_publications
WHEN EXISTS (SELECT 1 FROM incident_withdrawals w WHERE w.incident = NEW.incident)
BEGIN SELECT RAISE(ABORT, 'a withdrawn incident is not published again'); END;

-- The withdrawal: refused while any publication of the incident is inside its window, by the
-- database's own date or by the date the withdrawal says.
CREATE TRIGGER incident_withdrawals_outside_window BEFORE INSERT ON incident_withdrawals
WHEN EXISTS (SELECT 1 FROM incident_publications p WHERE p.incident = NEW.incident
             AND (p.listed_until >= date('now', '+9 hours') OR p.listed_until >= NEW.withdrawn_on))
BEGIN SELECT RAISE(ABORT, 'a published incident cannot be withdrawn inside its publication window'); END;
CREATE TRIGGER incident_withdrawals_no_update BEFORE UPDATE ON incident_withdrawals
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
CREATE TRIGGER incident_withdrawals_no_delete BEFORE DELETE ON incident_withdrawals
BEGIN SELECT RAISE(ABORT, 'incident records are append-only'); END;
