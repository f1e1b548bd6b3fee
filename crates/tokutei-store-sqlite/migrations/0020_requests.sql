-- Data-subject requests (issue 15, 開示等の請求, APPI 32–35条): each request as received and
-- its events (opened, verified, paused, resumed, extended, outcome, notified, downloaded). Append-only; a request
-- has at most one outcome (a partial unique index). Event bodies are the application's JSON;
-- a subscriber appears only by id, identity evidence only by a reference. Timestamps are
-- microseconds. Same tables and guards as PostgreSQL's `0020_requests`.

CREATE TABLE subject_requests (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    inquiry      TEXT,
    received_at  INTEGER NOT NULL,
    opened_by    TEXT NOT NULL,
    audit_index  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE subject_request_events (
    number       INTEGER PRIMARY KEY,
    request      TEXT NOT NULL REFERENCES subject_requests (id),
    kind         TEXT NOT NULL CHECK (kind IN ('opened', 'verified', 'paused', 'resumed', 'extended', 'outcome', 'notified', 'downloaded')),
    body         TEXT NOT NULL,
    by_principal TEXT NOT NULL,
    at           INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
);
CREATE INDEX subject_request_events_request ON subject_request_events (request, number);
CREATE UNIQUE INDEX subject_request_one_outcome ON subject_request_events (request) WHERE kind = 'outcome';
CREATE UNIQUE INDEX subject_request_one_download ON subject_request_events (request) WHERE kind = 'downloaded';

-- The stops a request put in force (利用停止 35条1項, 第三者提供の停止 35条3項) and their lifting:
-- the latest row per (subscriber, kind, purpose) is in force; `purpose` is a purpose id or `*`.
-- The gateway reads them with every access (`use_stops_current`).
CREATE TABLE use_stops (
    number       INTEGER PRIMARY KEY,
    subscriber   TEXT NOT NULL REFERENCES vault_subscribers (id),
    kind         TEXT NOT NULL CHECK (kind IN ('use', 'provision')),
    purpose      TEXT NOT NULL,
    stopped      INTEGER NOT NULL CHECK (stopped IN (0, 1)),
    request      TEXT NOT NULL REFERENCES subject_requests (id),
    by_principal TEXT NOT NULL,
    at           INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
);
CREATE INDEX use_stops_current ON use_stops (subscriber, kind, purpose, number);

CREATE TRIGGER subject_requests_no_update BEFORE UPDATE ON subject_requests
BEGIN SELECT RAISE(ABORT, 'request records are append-only'); END;
CREATE TRIGGER subject_requests_no_delete BEFORE DELETE ON subject_requests
BEGIN SELECT RAISE(ABORT, 'request records are append-only'); END;
CREATE TRIGGER subject_request_events_no_update BEFORE UPDATE ON subject_request_events
BEGIN SELECT RAISE(ABORT, 'request records are append-only'); END;
CREATE TRIGGER subject_request_events_no_delete BEFORE DELETE ON subject_request_events
BEGIN SELECT RAISE(ABORT, 'request records are append-only'); END;
CREATE TRIGGER use_stops_no_update BEFORE UPDATE ON use_stops
BEGIN SELECT RAISE(ABORT, 'request records are append-only'); END;
CREATE TRIGGER use_stops_no_delete BEFORE DELETE ON use_stops
BEGIN SELECT RAISE(ABORT, 'request records are append-only'); END;
